package detector_test

import (
	"testing"
	"time"

	"github.com/hearsay-io/hearsay/detector"
)

func TestTimeout(t *testing.T) {
	d := detector.NewTimeout(2 * time.Second)
	if d.Suspicious(100*sec) || d.Level(100*sec) != 0 || d.SuspectAt() != detector.MaxTime {
		t.Errorf("before any heartbeat: Suspicious, Level, SuspectAt = %v, %v, %v; want false, 0, MaxTime",
			d.Suspicious(100*sec), d.Level(100*sec), d.SuspectAt())
	}
	d.Heartbeat(10 * sec)
	d.Heartbeat(9 * sec) // earlier: ignored
	tests := []struct {
		now     detector.Time
		level   float64
		suspect bool
	}{
		{9 * sec, 0, false},
		{10 * sec, 0, false},
		{11 * sec, 0.5, false},
		{12*sec - 1, 0.9999999995, false},
		{12 * sec, 1, true},
		{16 * sec, 3, true},
	}
	for _, tt := range tests {
		if got := d.Level(tt.now); got != tt.level {
			t.Errorf("Level(%v) = %v, want %v", tt.now, got, tt.level)
		}
		if got := d.Suspicious(tt.now); got != tt.suspect {
			t.Errorf("Suspicious(%v) = %v, want %v", tt.now, got, tt.suspect)
		}
	}
	if got := d.SuspectAt(); got != 12*sec {
		t.Errorf("SuspectAt() = %v, want 12s", got)
	}
	if got := d.Last(); got != 10*sec {
		t.Errorf("Last() = %v, want 10s", got)
	}
	d.Reset()
	if d.Suspicious(100 * sec) {
		t.Errorf("after Reset: Suspicious(100s) = true, want false")
	}
	d.Heartbeat(-5 * sec) // any time is accepted after Reset
	if got := d.Last(); got != -5*sec {
		t.Errorf("after Reset and Heartbeat(-5s): Last() = %v, want -5s", got)
	}
}

func TestTimeoutDefault(t *testing.T) {
	for _, d := range []*detector.Timeout{new(detector.Timeout), detector.NewTimeout(0), detector.NewTimeout(-time.Second)} {
		if got := d.Duration(); got != detector.DefaultTimeout {
			t.Errorf("Duration() = %v, want DefaultTimeout %v", got, detector.DefaultTimeout)
		}
		d.Heartbeat(0)
		if d.Suspicious(detector.Time(detector.DefaultTimeout-1)) || !d.Suspicious(detector.Time(detector.DefaultTimeout)) {
			t.Errorf("default timeout: suspicion does not start exactly at %v", detector.DefaultTimeout)
		}
	}
	var d detector.Timeout
	d.Heartbeat(detector.MaxTime - 1)
	if got := d.SuspectAt(); got != detector.MaxTime {
		t.Errorf("heartbeat at MaxTime−1: SuspectAt() = %v, want MaxTime (saturated)", got)
	}
}
