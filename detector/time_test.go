package detector_test

import (
	"math"
	"testing"
	"time"

	"github.com/hearsay-io/hearsay/detector"
)

func TestTimeAdd(t *testing.T) {
	tests := []struct {
		t    detector.Time
		d    time.Duration
		want detector.Time
	}{
		{0, time.Second, sec},
		{sec, -2 * time.Second, -sec},
		{detector.MaxTime - 1, 1, detector.MaxTime},
		{detector.MaxTime - 1, 2, detector.MaxTime},
		{detector.MaxTime, math.MaxInt64, detector.MaxTime},
		{detector.MinTime + 1, -2, detector.MinTime},
		{detector.MinTime, math.MinInt64, detector.MinTime},
		{detector.MinTime, math.MaxInt64, -1},
	}
	for _, tt := range tests {
		if got := tt.t.Add(tt.d); got != tt.want {
			t.Errorf("Time(%d).Add(%d) = %d, want %d", tt.t, tt.d, got, tt.want)
		}
	}
}

func TestTimeSub(t *testing.T) {
	tests := []struct {
		t, u detector.Time
		want time.Duration
	}{
		{sec, 0, time.Second},
		{0, sec, -time.Second},
		{detector.MaxTime, -1, math.MaxInt64},
		{detector.MaxTime, detector.MinTime, math.MaxInt64},
		{detector.MinTime, detector.MaxTime, math.MinInt64},
		{detector.MinTime, 1, math.MinInt64},
		{-1, detector.MaxTime, math.MinInt64},
		{detector.MaxTime, detector.MaxTime, 0},
	}
	for _, tt := range tests {
		if got := tt.t.Sub(tt.u); got != tt.want {
			t.Errorf("Time(%d).Sub(%d) = %d, want %d", tt.t, tt.u, got, tt.want)
		}
	}
}

func TestTimeOrder(t *testing.T) {
	a, b := detector.Time(-5), detector.Time(7)
	if !a.Before(b) || a.After(b) || !b.After(a) || b.Before(a) || a.Before(a) || a.After(a) {
		t.Errorf("Before/After disagree with the order of %d and %d", a, b)
	}
	if got := (sec + sec/2).String(); got != "1.5s" {
		t.Errorf("Time(1.5s).String() = %q, want %q", got, "1.5s")
	}
}
