package detector_test

import (
	"math"
	"math/big"
	"math/rand/v2"
	"testing"

	"github.com/hearsay-io/hearsay/detector"
)

// The oracle for the normal tail: erfc in 400-bit arithmetic, by the Taylor
// series of erf for x ≤ 3 and by the continued fraction of erfc above, then
// phi = −log10(½·erfc(x)) with the logarithm taken from the big value's
// mantissa and exponent, so it stays exact where float64 erfc underflows.

const prec = 400

// piDigits is π to 100 decimal places.
const piDigits = "3.1415926535897932384626433832795028841971693993751058209749445923078164062862089986280348253421170679"

func bigf() *big.Float { return new(big.Float).SetPrec(prec) }

// bigLn returns ln(v) for v > 0 as a float64 accurate to about 1e-16
// relative: ln(m·2^e) = ln(m) + e·ln 2 with m in [0.5, 1).
func bigLn(v *big.Float) float64 {
	m := bigf()
	e := v.MantExp(m)
	mf, _ := m.Float64()
	return math.Log(mf) + float64(e)*math.Ln2
}

// oracleErfc returns erfc(x) for 0 ≤ x ≤ 3 by 1 − erf(x) from erf's Taylor
// series: erf(x) = 2/√π · Σ (−1)ⁿ x²ⁿ⁺¹ / (n!·(2n+1)).
func oracleErfc(x float64) *big.Float {
	bx := bigf().SetFloat64(x)
	x2 := bigf().Mul(bx, bx)
	term := bigf().Set(bx) // (−1)ⁿ x²ⁿ⁺¹ / n!
	sum := bigf()
	eps := bigf().SetMantExp(big.NewFloat(1), -prec-10)
	for n := 0; n < 10000; n++ {
		t := bigf().Quo(term, bigf().SetInt64(int64(2*n+1)))
		sum.Add(sum, t)
		if t.Abs(t).Cmp(eps) < 0 {
			break
		}
		term.Mul(term, x2)
		term.Quo(term, bigf().SetInt64(int64(-(n + 1))))
	}
	pi, _ := bigf().SetString(piDigits)
	sqrtPi := bigf().Sqrt(pi)
	erf := bigf().Quo(sum.Mul(sum, bigf().SetInt64(2)), sqrtPi)
	return bigf().Sub(bigf().SetInt64(1), erf)
}

// oracleLnErfcCF returns ln erfc(x) for x ≥ 2 from the continued fraction
// erfc(x) = e^(−x²)/√π · 1/(x + (1/2)/(x + (2/2)/(x + (3/2)/(x + …)))).
func oracleLnErfcCF(x float64) float64 {
	bx := bigf().SetFloat64(x)
	f := bigf().Set(bx)
	// The fraction converges faster as x grows; 3000/x terms (checked
	// against the series by TestOracleSelfConsistent at x = 2) are ample.
	for k := int(3000/x) + 100; k >= 1; k-- {
		num := bigf().Quo(bigf().SetInt64(int64(k)), bigf().SetInt64(2))
		f.Add(bx, num.Quo(num, f))
	}
	x2, _ := bigf().Mul(bx, bx).Float64() // x² is exact in 106 bits; one rounding
	// ln erfc = −x² − ln√π − ln f
	return -x2 - 0.5*math.Log(math.Pi) - bigLn(f)
}

// oraclePhi returns −log10(½·erfc(x)).
func oraclePhi(x float64) float64 {
	switch {
	case x < 0:
		// ½·erfc(x) = 1 − ½·erfc(−x); take the small part exactly.
		var a float64
		if -x <= 3 {
			a, _ = oracleErfc(-x).Float64()
		} else {
			a = math.Exp(oracleLnErfcCF(-x))
		}
		return -math.Log1p(-a/2) / math.Ln10
	case x <= 3:
		return -(bigLn(oracleErfc(x)) - math.Ln2) / math.Ln10
	}
	return -(oracleLnErfcCF(x) - math.Ln2) / math.Ln10
}

// TestOracleSelfConsistent checks the two oracle methods against each
// other where both apply, so a mistake in either shows.
func TestOracleSelfConsistent(t *testing.T) {
	for _, x := range []float64{2, 2.5, 3} {
		a := bigLn(oracleErfc(x))
		b := oracleLnErfcCF(x)
		if d := math.Abs(a-b) / math.Abs(a); d > 1e-15 {
			t.Errorf("x=%v: ln erfc by series = %v, by continued fraction = %v (rel diff %g)", x, a, b, d)
		}
	}
}

// TestNormalPhiTail compares normalPhi with the oracle from deep below the
// mean to far beyond float64 erfc's underflow, and reports the worst
// relative error.
func TestNormalPhiTail(t *testing.T) {
	xs := []float64{-30, -10, -6, -4, -3, -2, -1, -0.5, -1e-9, 0, 1e-9, 0.5, 0.84375, 1, 1.25,
		2, 1 / 0.35, 3, 4, 5, 6, 10, 20, 25.9, detector.AsymptoticFrom, 26.1, 27, 27.5, 30, 50, 100, 1e3, 1e4, 1e6}
	r := rand.New(rand.NewPCG(1, 2))
	for range 500 {
		xs = append(xs, r.Float64()*60-20)
	}
	// The region that decides suspicion (x ≥ 0, phi ≥ log10 2) and the
	// deep lower tail, where phi is tiny and math.Erfc's own relative
	// error in erfc(−x) dominates, are reported separately.
	worstHi, worstLo, worstX := 0.0, 0.0, 0.0
	for _, x := range xs {
		got := detector.NormalPhi(x)
		want := oraclePhi(x)
		if math.IsNaN(got) || math.IsInf(got, 0) || got < 0 {
			t.Errorf("normalPhi(%v) = %v, want finite and ≥ 0", x, got)
			continue
		}
		if want < 1e-300 {
			continue // x ≤ −37.5: phi underflows to 0 in both
		}
		rel := math.Abs(got-want) / want
		if x >= 0 {
			if rel > worstHi {
				worstHi, worstX = rel, x
			}
		} else {
			worstLo = max(worstLo, rel)
		}
		if rel > 1e-13 {
			t.Errorf("normalPhi(%v) = %.17g, want %.17g (rel err %.3g)", x, got, want, rel)
		}
	}
	t.Logf("normalPhi max relative error over %d points against a %d-bit oracle: x ≥ 0: %.3g (at x=%v); x < 0: %.3g",
		len(xs), prec, worstHi, worstX, worstLo)
}

// TestNormalPhiMonotone scans normalPhi ulp by ulp around every switch
// point of math.Erfc's piecewise approximation and of normalPhi itself,
// and on a fine grid elsewhere, for any decrease.
func TestNormalPhiMonotone(t *testing.T) {
	breaks := []float64{0, 0.84375, 1.25, 1 / 0.35, 6, detector.AsymptoticFrom, 28}
	for _, b := range breaks {
		for _, s := range []float64{b, -b} {
			x := s
			for range 20000 {
				x = math.Nextafter(x, math.Inf(-1))
			}
			prev := detector.NormalPhi(x)
			for range 40000 {
				x = math.Nextafter(x, math.Inf(1))
				got := detector.NormalPhi(x)
				if got < prev {
					t.Errorf("normalPhi(%v) = %.17g < normalPhi(previous float) = %.17g", x, got, prev)
					break
				}
				prev = got
			}
		}
	}
	prev := detector.NormalPhi(-40)
	for x := -40.0; x < 60; x += 1e-5 {
		got := detector.NormalPhi(x)
		if got < prev {
			t.Errorf("normalPhi(%v) = %.17g < %.17g just below", x, got, prev)
		}
		prev = got
	}
}

// TestInvNormalPhi checks that the inverse lands close to the crossing, so
// SuspectAt's search stays short.
func TestInvNormalPhi(t *testing.T) {
	for _, phi := range []float64{0.01, 0.3, 1, 3, 8, 16, 100, 299, 301, 500, 1e4} {
		x := detector.InvNormalPhi(phi)
		if got := detector.NormalPhi(x); math.Abs(got-phi) > 1e-9*phi {
			t.Errorf("normalPhi(invNormalPhi(%v)) = %v, want %v", phi, got, phi)
		}
	}
}
