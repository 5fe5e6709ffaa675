package netio_test

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/hearsay-io/hearsay/netio"
)

func TestLatencySample(t *testing.T) {
	const (
		base   = time.Millisecond
		jitter = 2 * time.Millisecond
		n      = 200000
	)
	tests := []struct {
		name       string
		l          netio.Latency
		wantMean   time.Duration // 0: not checked
		wantMedian time.Duration // 0: not checked
		max        time.Duration // exclusive upper bound; 0: none
	}{
		{"constant", netio.Latency{Base: base}, base, base, base + 1},
		{"uniform", netio.Latency{Base: base, Jitter: jitter}, base + jitter/2, base + jitter/2, base + jitter},
		{"normal", netio.Latency{Base: base, Jitter: jitter, Shape: netio.Normal}, base + scale(jitter, math.Sqrt(2/math.Pi)), base + scale(jitter, 0.6745), 0},
		{"exponential", netio.Latency{Base: base, Jitter: jitter, Shape: netio.Exponential}, base + jitter, base + scale(jitter, math.Ln2), 0},
		{"lognormal", netio.Latency{Base: base, Jitter: jitter, Shape: netio.LogNormal, Sigma: 1}, base + scale(jitter, math.Exp(0.5)), base + jitter, 0},
		{"lognormal default sigma", netio.Latency{Base: base, Jitter: jitter, Shape: netio.LogNormal}, base + scale(jitter, math.Exp(0.125)), base + jitter, 0},
		{"capped", netio.Latency{Base: base, Jitter: jitter, Shape: netio.Exponential, Max: 2 * time.Millisecond}, 0, 0, 2*time.Millisecond + 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(1, 2))
			samples := make([]time.Duration, n)
			var sum float64
			for i := range samples {
				d := tt.l.Sample(rng)
				if d < base || (tt.max > 0 && d >= tt.max) {
					t.Fatalf("%+v.Sample() = %v, want in [%v, %v)", tt.l, d, base, tt.max)
				}
				samples[i] = d
				sum += float64(d)
			}
			slices.Sort(samples)
			mean, median := time.Duration(sum/n), samples[n/2]
			if tt.wantMean > 0 && !near(mean, tt.wantMean) {
				t.Errorf("mean of %d samples = %v, want %v ±2%%", n, mean, tt.wantMean)
			}
			if tt.wantMedian > 0 && !near(median, tt.wantMedian) {
				t.Errorf("median of %d samples = %v, want %v ±2%%", n, median, tt.wantMedian)
			}
		})
	}
}

// scale returns d·f.
func scale(d time.Duration, f float64) time.Duration { return time.Duration(float64(d) * f) }

// near reports whether got is within 2% of want.
func near(got, want time.Duration) bool {
	return math.Abs(float64(got-want)) <= 0.02*float64(want)
}

// A constant latency draws nothing, so adding one does not change the
// random sequence of anything else.
func TestLatencyConstantDrawsNothing(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	if d := (netio.Latency{Base: 5 * time.Millisecond, Shape: netio.LogNormal}).Sample(rng); d != 5*time.Millisecond {
		t.Errorf("Sample() = %v, want 5ms", d)
	}
	if got, want := rng.Uint64(), rand.New(rand.NewPCG(1, 2)).Uint64(); got != want {
		t.Errorf("after a constant Sample the generator moved: next value %d, want %d", got, want)
	}
}

func TestLatencyExtremes(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	tests := []struct {
		name     string
		l        netio.Latency
		min, max time.Duration
	}{
		{"negative", netio.Latency{Base: -time.Second, Jitter: -time.Second}, 0, 0},
		{"saturates", netio.Latency{Base: math.MaxInt64 - 10, Jitter: math.MaxInt64, Shape: netio.Exponential}, math.MaxInt64 - 10, math.MaxInt64},
		{"huge lognormal", netio.Latency{Jitter: math.MaxInt64, Shape: netio.LogNormal, Sigma: 50}, 0, math.MaxInt64},
	}
	for _, tt := range tests {
		for range 1000 {
			if d := tt.l.Sample(rng); d < tt.min || d > tt.max {
				t.Fatalf("%s: %+v.Sample() = %v, want in [%v, %v]", tt.name, tt.l, d, tt.min, tt.max)
			}
		}
	}
}

// FuzzLatency samples arbitrary distributions: never below Base (or 0),
// never above Max when set, never negative.
func FuzzLatency(f *testing.F) {
	f.Add(int64(time.Millisecond), int64(time.Millisecond), uint8(0), 0.5, int64(0), uint64(1))
	f.Add(int64(0), int64(math.MaxInt64), uint8(netio.LogNormal), 100.0, int64(0), uint64(2))
	// Nasty inputs: negative everything, NaN and infinite sigma, unknown
	// shape, a Max below Base.
	f.Add(int64(-1), int64(-1), uint8(255), math.NaN(), int64(-5), uint64(3))
	f.Add(int64(10), int64(10), uint8(netio.LogNormal), math.Inf(1), int64(0), uint64(4))
	f.Add(int64(10), int64(10), uint8(netio.LogNormal), math.NaN(), int64(0), uint64(4))
	f.Add(int64(100), int64(10), uint8(netio.Exponential), 0.0, int64(50), uint64(5))
	f.Fuzz(func(t *testing.T, base, jitter int64, shape uint8, sigma float64, max int64, seed uint64) {
		l := netio.Latency{Base: time.Duration(base), Jitter: time.Duration(jitter), Shape: netio.Shape(shape), Sigma: sigma, Max: time.Duration(max)}
		d := l.Sample(rand.New(rand.NewPCG(seed, seed)))
		if d < 0 {
			t.Fatalf("%+v.Sample() = %v < 0", l, d)
		}
		if l.Max > 0 && d > l.Max {
			t.Fatalf("%+v.Sample() = %v > Max", l, d)
		}
		if l.Max <= 0 && d < l.Base {
			t.Fatalf("%+v.Sample() = %v < Base", l, d)
		}
	})
}
