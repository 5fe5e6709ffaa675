package detector_test

import (
	"math"
	"testing"
	"time"

	"github.com/hearsay-io/hearsay/detector"
)

func TestHealth(t *testing.T) {
	h := detector.NewHealth(0)
	type op int
	const (
		fail op = iota
		ok
	)
	steps := []struct {
		op    op
		times int
		score int
		scale time.Duration // Scale(200ms)
	}{
		{ok, 3, 0, 200 * time.Millisecond}, // floored at 0
		{fail, 1, 1, 400 * time.Millisecond},
		{fail, 2, 3, 800 * time.Millisecond},
		{fail, 20, 8, 1800 * time.Millisecond}, // bounded at Max
		{ok, 1, 7, 1600 * time.Millisecond},
		{ok, 10, 0, 200 * time.Millisecond},
	}
	for i, st := range steps {
		for range st.times {
			if st.op == fail {
				h.Failure()
			} else {
				h.Success()
			}
		}
		if got := h.Score(); got != st.score {
			t.Errorf("step %d: Score() = %d, want %d", i, got, st.score)
		}
		if got := h.Scale(200 * time.Millisecond); got != st.scale {
			t.Errorf("step %d: Scale(200ms) = %v, want %v", i, got, st.scale)
		}
	}
	if got := h.Max(); got != detector.DefaultHealthMax {
		t.Errorf("NewHealth(0).Max() = %d, want %d", got, detector.DefaultHealthMax)
	}
}

func TestHealthBounds(t *testing.T) {
	var zero detector.Health
	for range 100 {
		zero.Failure()
	}
	if got := zero.Score(); got != detector.DefaultHealthMax {
		t.Errorf("zero Health after 100 failures: Score() = %d, want %d", got, detector.DefaultHealthMax)
	}
	if got := zero.Scale(math.MaxInt64 / 2); got != math.MaxInt64 {
		t.Errorf("Scale(MaxInt64/2) at score 8 = %v, want saturation at MaxInt64", got)
	}
	if got := zero.Scale(math.MinInt64 / 3); got != math.MinInt64 {
		t.Errorf("Scale(MinInt64/3) at score 8 = %v, want saturation at MinInt64", got)
	}
	zero.Reset()
	if got := zero.Score(); got != 0 {
		t.Errorf("after Reset: Score() = %d, want 0", got)
	}
	h := detector.NewHealth(2)
	for range 5 {
		h.Failure()
	}
	if got := h.Score(); got != 2 {
		t.Errorf("NewHealth(2) after 5 failures: Score() = %d, want 2", got)
	}
	if got := h.Scale(time.Second); got != 3*time.Second {
		t.Errorf("NewHealth(2) at score 2: Scale(1s) = %v, want 3s", got)
	}
}
