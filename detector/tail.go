package detector

import "math"

// asymptoticFrom is where normalPhi switches from math.Erfc to the
// asymptotic expansion of erfc: erfc(26) ≈ 5.7e-296 is still a normal
// float64, while erfc(26.6) is subnormal and loses digits, and erfc(27.3)
// underflows to zero (which would make phi +Inf). At 26 the expansion's
// seventh term is below 1e-17, so the two agree to rounding.
const asymptoticFrom = 26.0

const (
	sqrtPi   = 1.772453850905516027298167483341145182798 // √π
	lnSqrtPi = 0.5723649429247000870717136756012478164   // ln(√π)
)

// normalPhi returns −log10(½·erfc(x)): the phi of a standard normal
// deviate z = x·√2, that is −log10 P(Z > z). It is finite, non-negative
// and non-decreasing for every finite x, and accurate to a few units in
// the last place:
//
//   - x < 0 (z below the mean): P(Z > z) = 1 − ½·erfc(−x) is above ½, and
//     log1p keeps the small phi exact instead of rounding 1−ε to 1;
//   - 0 ≤ x < 26: math.Erfc is accurate in relative terms deep into the
//     tail (no 1 − CDF cancellation), so phi is exact up to about 296;
//   - x ≥ 26: erfc(x) = e^(−x²)/(x√π)·S(x) with the asymptotic series
//     S(x) = 1 − 1/(2x²) + 3/(2x²)² − 15/(2x²)³ + …, taken in logarithms,
//     so phi keeps growing like x²/ln 10 with no cap and no overflow for
//     any x whose square is finite.
func normalPhi(x float64) float64 {
	switch {
	case x < 0:
		return -math.Log1p(-0.5*math.Erfc(-x)) / math.Ln10
	case x < asymptoticFrom:
		return -math.Log10(0.5 * math.Erfc(x))
	}
	t := 1 / (2 * x * x)
	// S = 1 − t + 3t² − 15t³ + 105t⁴ − 945t⁵ + 10395t⁶, by Horner.
	s := 1 - t*(1-3*t*(1-5*t*(1-7*t*(1-9*t*(1-11*t)))))
	return (x*x + math.Log(x) + lnSqrtPi - math.Log(s) + math.Ln2) / math.Ln10
}

// invNormalPhi returns an x with normalPhi(x) close to phi, for phi > 0.
// It is a starting point for an exact integer search, so a few units of
// error are harmless. math.Erfcinv computes Erfinv(1−y) and so loses all
// precision for y below about 1e-16; it serves only up to phi 10, beyond
// which the asymptotic relation x² + ln(2x√π) ≈ phi·ln 10 gives the start.
// Newton steps on normalPhi itself then polish either start; its
// derivative is exp(phi(x)·ln 10 − x²)/(√π·ln 10).
func invNormalPhi(phi float64) float64 {
	var x float64
	if phi <= 10 {
		x = math.Erfcinv(2 * math.Pow(10, -phi))
	} else {
		l := phi * math.Ln10
		x = math.Sqrt(l)
		for range 3 {
			x = math.Sqrt(l - math.Log(2*sqrtPi*x))
		}
	}
	for range 3 {
		f := normalPhi(x)
		d := math.Exp(f*math.Ln10-x*x) / (sqrtPi * math.Ln10)
		if !(d > 0) || math.IsInf(d, 1) {
			break
		}
		dx := (f - phi) / d
		x -= dx
		if math.Abs(dx) <= 1e-15*math.Abs(x) {
			break
		}
	}
	return x
}
