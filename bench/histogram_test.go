package bench_test

import (
	"math"
	"testing"
	"time"

	"github.com/hearsay-io/hearsay/bench"
)

func TestHistogram(t *testing.T) {
	var h bench.Histogram
	if !math.IsNaN(h.P50()) || h.Count() != 0 || h.Bins(10) != nil {
		t.Fatal("empty histogram: want NaN quantiles, no bins")
	}
	for i := 100; i >= 1; i-- {
		h.Add(float64(i))
	}
	h.Add(math.NaN())
	tests := []struct {
		name      string
		got, want float64
	}{
		{"Count", float64(h.Count()), 100},
		{"P50", h.P50(), 50},
		{"P99", h.P99(), 99},
		{"Max", h.Max(), 100},
		{"Min", h.Min(), 1},
		{"Mean", h.Mean(), 50.5},
		{"Quantile(0.001)", h.Quantile(0.001), 1},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("%s = %v, want %v", tt.name, tt.got, tt.want)
		}
	}
	h.AddDuration(1500 * time.Millisecond)
	if got := h.Min(); got != 1 {
		t.Errorf("Min after AddDuration(1.5s) = %v, want 1", got)
	}
	sum := 0.0
	for _, p := range h.Bins(7) {
		sum += p.Y
	}
	if math.Abs(sum-1) > 1e-9 {
		t.Errorf("Bins fractions sum to %v, want 1", sum)
	}
	cdf := h.CDF(10)
	if last := cdf[len(cdf)-1]; last.X != 100 || last.Y != 1 {
		t.Errorf("CDF ends at %+v, want (100, 1)", last)
	}
}

func TestFormatValue(t *testing.T) {
	tests := []struct {
		v    float64
		unit string
		want string
	}{
		{0.000623, "s", "623 µs"},
		{0.2009, "s", "201 ms"},
		{3.25, "s", "3.25 s"},
		{13.03, "s", "13.0 s"},
		{24, "count", "24"},
		{216.7, "B/s", "217 B/s"},
		{math.NaN(), "s", "n/a"},
	}
	for _, tt := range tests {
		if got := bench.FormatValue(tt.v, tt.unit); got != tt.want {
			t.Errorf("FormatValue(%v, %q) = %q, want %q", tt.v, tt.unit, got, tt.want)
		}
	}
}

func TestReferences(t *testing.T) {
	if got := bench.Log2(1024); got != 10 {
		t.Errorf("Log2(1024) = %v, want 10", got)
	}
	if got := bench.SWIMFirstDetection(); math.Abs(got-1.582) > 0.001 {
		t.Errorf("SWIMFirstDetection() = %v, want 1.582", got)
	}
	n := 10000
	if !(bench.PushPullRounds(n) < bench.PushRounds(n) && bench.PushFanoutRounds(n, 4) < bench.PushRounds(n)) {
		t.Errorf("want push-pull and push F=4 below push F=1 at N=%d: %v, %v, %v", n, bench.PushPullRounds(n), bench.PushFanoutRounds(n, 4), bench.PushRounds(n))
	}
}
