package detector_test

import (
	"errors"
	"math"
	"testing"
	"time"

	"github.com/hearsay-io/hearsay/detector"
)

func TestSuspicionConfigValidate(t *testing.T) {
	tests := []struct {
		name     string
		cfg      detector.SuspicionConfig
		problems int
	}{
		{"zero", detector.SuspicionConfig{}, 0},
		{"explicit", detector.SuspicionConfig{MinBase: 500 * time.Millisecond, MaxFactor: 1, Expected: detector.MaxWitnesses - 1}, 0},
		{"negative min", detector.SuspicionConfig{MinBase: -1}, 1},
		{"factor below 1", detector.SuspicionConfig{MaxFactor: 0.5}, 1},
		{"factor NaN", detector.SuspicionConfig{MaxFactor: math.NaN()}, 1},
		{"factor infinite", detector.SuspicionConfig{MaxFactor: math.Inf(1)}, 1},
		{"expected too many", detector.SuspicionConfig{Expected: detector.MaxWitnesses}, 1},
		{"expected negative", detector.SuspicionConfig{Expected: -1}, 1},
		{"all", detector.SuspicionConfig{MinBase: -1, MaxFactor: -1, Expected: -1}, 3},
	}
	for _, tt := range tests {
		err := tt.cfg.Validate()
		switch {
		case tt.problems == 0 && err != nil:
			t.Errorf("%s: Validate() = %v, want nil", tt.name, err)
		case tt.problems > 0 && !errors.Is(err, detector.ErrInvalidConfig):
			t.Errorf("%s: Validate() = %v, want ErrInvalidConfig", tt.name, err)
		case tt.problems > 0 && len(err.(interface{ Unwrap() []error }).Unwrap()) != tt.problems:
			t.Errorf("%s: Validate() = %v, want %d problems", tt.name, err, tt.problems)
		}
	}
	want := detector.SuspicionConfig{MinBase: time.Second, MaxFactor: 6, Expected: 2}
	if got := (detector.SuspicionConfig{}).WithDefaults(); got != want {
		t.Errorf("SuspicionConfig{}.WithDefaults() = %+v, want %+v", got, want)
	}
}

// TestSuspicionConfigSize checks the documented size formula
// Min = MinBase × max(1, log10(n)/4), Max = MaxFactor × Min.
func TestSuspicionConfigSize(t *testing.T) {
	var c detector.SuspicionConfig
	half := detector.SuspicionConfig{MinBase: 500 * time.Millisecond, MaxFactor: 4}
	tests := []struct {
		cfg      detector.SuspicionConfig
		n        int
		min, max time.Duration
	}{
		{c, -5, time.Second, 6 * time.Second},
		{c, 0, time.Second, 6 * time.Second},
		{c, 1, time.Second, 6 * time.Second},
		{c, 10, time.Second, 6 * time.Second},
		{c, 1000, time.Second, 6 * time.Second},
		{c, 10_000, time.Second, 6 * time.Second},
		{c, 100_000, 1250 * time.Millisecond, 7500 * time.Millisecond},
		{c, 1_000_000, 1500 * time.Millisecond, 9 * time.Second},
		{c, math.MaxInt, 4741 * time.Millisecond, 28447 * time.Millisecond}, // log10(2⁶³)/4 = 4.741
		{half, 100_000, 625 * time.Millisecond, 2500 * time.Millisecond},
		{detector.SuspicionConfig{MinBase: math.MaxInt64 / 2}, 100_000, math.MaxInt64 * 5 / 8, math.MaxInt64},
	}
	for _, tt := range tests {
		if got := tt.cfg.Min(tt.n); got.Round(time.Millisecond) != tt.min.Round(time.Millisecond) {
			t.Errorf("%+v.Min(%d) = %v, want %v", tt.cfg, tt.n, got, tt.min)
		}
		if got := tt.cfg.Max(tt.n); got.Round(time.Millisecond) != tt.max.Round(time.Millisecond) {
			t.Errorf("%+v.Max(%d) = %v, want %v", tt.cfg, tt.n, got, tt.max)
		}
	}
}

// TestSuspicionConfigTimeout checks Lifeguard's curve
// Max − (Max−Min)·ln(c+1)/ln(k+1), clamped.
func TestSuspicionConfigTimeout(t *testing.T) {
	c := detector.SuspicionConfig{}
	k3 := detector.SuspicionConfig{Expected: 3}
	tests := []struct {
		cfg          detector.SuspicionConfig
		n, confirmed int
		want         time.Duration
	}{
		{c, 10, -1, 6 * time.Second},
		{c, 10, 0, 6 * time.Second},
		{c, 10, 1, 2845351232},               // 6 − 5·ln2/ln3
		{c, 10, 2, time.Second},              // k reached
		{c, 10, 50, time.Second},             // clamped
		{k3, 10, 1, 3500 * time.Millisecond}, // 6 − 5·ln2/ln4 = 3.5
		{k3, 10, 2, 2037594000},              // 6 − 5·ln3/ln4
		{c, 100_000, 1, 3556689040},          // 7.5 − 6.25·ln2/ln3
		{detector.SuspicionConfig{MaxFactor: 1}, 10, 1, time.Second},
		{detector.SuspicionConfig{Expected: -4}, 10, 1, 2845351232}, // invalid → default
	}
	for _, tt := range tests {
		got := tt.cfg.Timeout(tt.n, tt.confirmed)
		if d := got - tt.want; d < -time.Microsecond || d > time.Microsecond {
			t.Errorf("%+v.Timeout(%d, %d) = %v, want %v", tt.cfg, tt.n, tt.confirmed, got, tt.want)
		}
	}
	// Monotone: more confirmations never lengthen the timeout.
	for n := 1; n < 1e7; n *= 7 {
		prev := time.Duration(math.MaxInt64)
		for conf := range 10 {
			got := c.Timeout(n, conf)
			if got > prev || got < c.Min(n) || got > c.Max(n) {
				t.Errorf("Timeout(%d, %d) = %v: not within [Min, Max] = [%v, %v] or above Timeout(%d, %d) = %v",
					n, conf, got, c.Min(n), c.Max(n), n, conf-1, prev)
			}
			prev = got
		}
	}
}

func TestSuspicion(t *testing.T) {
	var s detector.Suspicion
	if s.Started() || s.Confirm(1) || s.Expired(detector.MaxTime) || s.Deadline() != detector.MaxTime || s.Timeout() != 0 {
		t.Errorf("zero Suspicion: Started, Confirm, Expired, Deadline, Timeout = %v, %v, %v, %v, %v; want false, false, false, MaxTime, 0",
			s.Started(), s.Confirm(1), s.Expired(detector.MaxTime), s.Deadline(), s.Timeout())
	}
	cfg := detector.SuspicionConfig{}
	start := 100 * sec
	s.Start(start, 10_000, 7, cfg)
	steps := []struct {
		witness       uint64
		counted       bool
		confirmations int
	}{
		{7, false, 0}, // the accuser again
		{8, true, 1},
		{8, false, 1}, // duplicate
		{0, true, 2},  // ID 0 is an ordinary witness
		{9, true, 3},
		{10, true, 4},
		{11, true, 5},
		{12, true, 6},
		{13, true, 7},
		{14, false, 7}, // full: MaxWitnesses recorded
		{9, false, 7},
	}
	if got, want := s.Deadline(), start.Add(6*time.Second); got != want {
		t.Errorf("after Start: Deadline() = %v, want %v", got, want)
	}
	for _, st := range steps {
		if got := s.Confirm(st.witness); got != st.counted {
			t.Errorf("Confirm(%d) = %v, want %v", st.witness, got, st.counted)
		}
		if got := s.Confirmations(); got != st.confirmations {
			t.Errorf("after Confirm(%d): Confirmations() = %d, want %d", st.witness, got, st.confirmations)
		}
		want := start.Add(cfg.Timeout(10_000, st.confirmations))
		if got := s.Deadline(); got != want {
			t.Errorf("after Confirm(%d): Deadline() = %v, want %v", st.witness, got, want)
		}
		if got := s.Timeout(); got != want.Sub(start) {
			t.Errorf("after Confirm(%d): Timeout() = %v, want %v", st.witness, got, want.Sub(start))
		}
	}
	if s.Expired(start.Add(time.Second-1)) || !s.Expired(start.Add(time.Second)) {
		t.Errorf("fully confirmed: Expired does not switch exactly at start+Min")
	}
	if got := s.StartTime(); got != start {
		t.Errorf("StartTime() = %v, want %v", got, start)
	}
	// Restart forgets the witnesses.
	s.Start(200*sec, 10, 8, cfg)
	if s.Confirmations() != 0 || !s.Confirm(7) || s.Deadline() != (200*sec).Add(cfg.Timeout(10, 1)) {
		t.Errorf("after restart: Confirmations %d, Deadline %v", s.Confirmations(), s.Deadline())
	}
}
