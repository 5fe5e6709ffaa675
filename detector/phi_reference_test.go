package detector_test

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/hearsay-io/hearsay/detector"
)

// refPhi is the reference phi accrual detector: the plain definition,
// recomputed from scratch at every query from a slice of every accepted
// arrival, in float64 with a two-pass variance.
type refPhi struct {
	cfg      detector.PhiConfig // with defaults
	arrivals []detector.Time
}

func (r *refPhi) heartbeat(now detector.Time) {
	if n := len(r.arrivals); n > 0 && now < r.arrivals[n-1] {
		return // earlier than the last arrival: ignored, as documented
	}
	r.arrivals = append(r.arrivals, now)
}

// stats returns the window's mean and standard deviation in ns.
func (r *refPhi) stats() (mean, std float64, n int) {
	var ivs []float64
	for i := 1; i < len(r.arrivals); i++ {
		iv := float64(r.arrivals[i].Sub(r.arrivals[i-1]))
		ivs = append(ivs, min(iv, float64(r.cfg.MaxInterval)))
	}
	if len(ivs) > r.cfg.Window {
		ivs = ivs[len(ivs)-r.cfg.Window:]
	}
	if len(ivs) < 2 {
		f := float64(r.cfg.FirstInterval)
		return f, f / 4, len(ivs)
	}
	for _, v := range ivs {
		mean += v
	}
	mean /= float64(len(ivs))
	for _, v := range ivs {
		std += (v - mean) * (v - mean)
	}
	return mean, math.Sqrt(std / float64(len(ivs))), len(ivs)
}

// phi returns the reference phi at now from the window statistics, and
// whether the reference itself is accurate enough there to judge the fast
// detector: the textbook tail −log10(½·erfc(z/√2)) is exact only while
// ½·erfc is a normal float64 (phi below about 307), and when phi is tiny
// ½·erfc is 1−ε rounded to 2⁻⁵³, so the reference's own relative error is
// about 1e-16/(phi·ln 10): 5e-14 at phi = 1e-3, where comparison starts.
// (TestNormalPhiTail checks the fast tail everywhere against a 400-bit
// oracle instead.)
func (r *refPhi) phi(now detector.Time, mean, std float64) (float64, bool) {
	if len(r.arrivals) == 0 {
		return 0, true
	}
	elapsed := float64(now.Sub(r.arrivals[len(r.arrivals)-1]))
	pause := float64(r.cfg.AcceptablePause)
	floor := float64(r.cfg.MinStdDev)
	if r.cfg.Distribution == detector.Exponential {
		return max(0, elapsed-pause) / (max(mean, floor) * math.Ln10), true
	}
	z := (elapsed - (mean + pause)) / max(std, floor)
	q := 0.5 * math.Erfc(z/math.Sqrt2)
	phi := -math.Log10(q)
	return phi, q >= 0x1p-1022 && phi >= 1e-3
}

// randomConfig draws a configuration, including edge values.
func randomConfig(r *rand.Rand) detector.PhiConfig {
	cfg := detector.PhiConfig{
		Threshold:       []float64{0.5, 1, 3, 8, 8, 12, 50}[r.IntN(7)],
		Window:          []int{2, 3, 10, 100, 100, 257, detector.MaxWindow}[r.IntN(7)],
		MinStdDev:       []time.Duration{time.Nanosecond, time.Microsecond, 10 * time.Millisecond, 100 * time.Millisecond}[r.IntN(4)],
		AcceptablePause: []time.Duration{0, 0, time.Millisecond, 500 * time.Millisecond, 3 * time.Second}[r.IntN(5)],
		FirstInterval:   []time.Duration{time.Millisecond, time.Second, 5 * time.Second}[r.IntN(3)],
		Distribution:    detector.Distribution(r.IntN(2)),
	}
	if r.IntN(4) == 0 {
		cfg.MaxInterval = []time.Duration{5 * time.Second, time.Hour, detector.MaxIntervalLimit}[r.IntN(3)]
	}
	return cfg.WithDefaults()
}

// randomGap draws an inter-arrival gap: mostly around a period with
// jitter, sometimes zero, negative (a clock misuse), tiny, or enormous.
func randomGap(r *rand.Rand, period, jitter time.Duration) time.Duration {
	switch r.IntN(40) {
	case 0:
		return 0
	case 1:
		return -time.Duration(r.Int64N(int64(period) + 1))
	case 2:
		return time.Duration(r.Int64N(1000))
	case 3:
		return time.Duration(r.Int64N(int64(time.Hour)))
	case 4:
		return time.Duration(r.Int64N(1 << 55))
	case 5:
		return period * time.Duration(2+r.IntN(3)) // lost heartbeats
	}
	return period + time.Duration(r.Int64N(2*int64(jitter)+1)) - jitter
}

// TestPhiMatchesReference compares the incremental detector with the
// reference over thousands of random series, querying after every arrival
// at several elapsed times, and reports the worst relative error.
func TestPhiMatchesReference(t *testing.T) {
	const series = 5000
	r := rand.New(rand.NewPCG(42, 4242))
	var (
		queries, compared int
		worstPhi, worstSD float64
	)
	for s := range series {
		cfg := randomConfig(r)
		p := detector.NewPhi(cfg)
		ref := &refPhi{cfg: cfg}
		period := []time.Duration{10 * time.Millisecond, time.Second, 5 * time.Second}[r.IntN(3)]
		jitter := time.Duration(r.Int64N(int64(period)/2 + 1))
		now := detector.Time(r.Int64N(1<<62) - 1<<61)
		arrivals := r.IntN(min(2*cfg.Window, 300) + 1)
		for i := range arrivals {
			if i > 0 {
				now = now.Add(randomGap(r, period, jitter))
			}
			p.Heartbeat(now)
			ref.heartbeat(now)

			mean, std, n := ref.stats()
			if got := p.Samples(); got != n {
				t.Fatalf("series %d arrival %d: Samples() = %d, want %d", s, i, got, n)
			}
			if got := float64(p.Mean()); math.Abs(got-mean) > 0.5+1e-12*mean {
				t.Fatalf("series %d arrival %d: Mean() = %v, want %v", s, i, got, mean)
			}
			// The reference's two-pass variance carries rounding of
			// order 1e-16 × mean; compare σ relative to the mean.
			if d := math.Abs(float64(p.StdDev())-std) - 0.5; d > 0 {
				worstSD = max(worstSD, d/mean)
				if d > 1e-12*mean {
					t.Fatalf("series %d arrival %d: StdDev() = %v, want %v", s, i, p.StdDev(), std)
				}
			}

			last := p.Last()
			for range 4 {
				elapsed := time.Duration(r.Float64() * 3 * float64(mean+float64(cfg.AcceptablePause)+10*max(std, float64(cfg.MinStdDev))))
				q := last.Add(elapsed)
				got := p.Phi(q)
				want, ok := ref.phi(q, mean, std)
				queries++
				if !ok {
					continue
				}
				compared++
				rel := math.Abs(got-want) / want
				if want == 0 {
					rel = math.Abs(got)
				}
				worstPhi = max(worstPhi, rel)
				if rel > 1e-9 {
					t.Fatalf("series %d (%+v) arrival %d: Phi(last+%v) = %.17g, want %.17g (rel err %.3g)",
						s, cfg, i, elapsed, got, want, rel)
				}
				if gotS, wantS := p.Suspicious(q), got >= cfg.Threshold; gotS != wantS {
					t.Fatalf("Suspicious(last+%v) = %v with phi %v, threshold %v", elapsed, gotS, got, cfg.Threshold)
				}
			}
			checkSuspectAt(t, p, cfg.Threshold)
		}
	}
	t.Logf("%d series, %d queries, %d compared: max relative error of phi %.3g; of σ (relative to the mean) %.3g",
		series, queries, compared, worstPhi, worstSD)
}

// checkSuspectAt checks that SuspectAt is the exact first instant of
// suspicion: suspicious there, not one nanosecond before (unless that is
// before the last heartbeat).
func checkSuspectAt(t *testing.T, p *detector.Phi, threshold float64) {
	t.Helper()
	at := p.SuspectAt()
	if at == detector.MaxTime {
		// Never, or not before MaxTime.
		if p.Last() < detector.MaxTime && p.Suspicious(detector.MaxTime-1) {
			t.Fatalf("SuspectAt() = MaxTime but Suspicious(MaxTime−1) = true")
		}
		return
	}
	if !p.Suspicious(at) {
		t.Fatalf("SuspectAt() = last+%v but Suspicious there = false (phi %v, threshold %v)", at.Sub(p.Last()), p.Phi(at), threshold)
	}
	if at > p.Last() && p.Suspicious(at-1) {
		t.Fatalf("SuspectAt() = last+%v but Suspicious one ns earlier = true", at.Sub(p.Last()))
	}
	if at < p.Last() {
		t.Fatalf("SuspectAt() = %v, before the last heartbeat %v", at, p.Last())
	}
}
