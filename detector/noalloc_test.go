package detector_test

import (
	"testing"
	"time"

	"github.com/hearsay-io/hearsay/detector"
)

// Sinks keep the compiler from discarding the calls under test.
var (
	sinkFloat    float64
	sinkBool     bool
	sinkTime     detector.Time
	sinkDuration time.Duration
	sinkInt      int
)

// TestNoAllocs checks the zero-allocation contract of every hot-path call:
// a heartbeat arrival, a phi query, the suspicion timer, local health.
func TestNoAllocs(t *testing.T) {
	phi := detector.NewPhi(detector.PhiConfig{})
	exp := detector.NewPhi(detector.PhiConfig{Distribution: detector.Exponential})
	var embedded struct {
		id  uint64
		phi detector.Phi
	}
	embedded.phi.Init(detector.PhiConfig{Window: 50})
	to := detector.NewTimeout(3 * time.Second)
	var iface detector.Detector = phi
	now := detector.Time(0)
	for range 200 { // fill the windows: steady state, evicting on each arrival
		now = now.Add(time.Second)
		phi.Heartbeat(now)
		exp.Heartbeat(now)
		embedded.phi.Heartbeat(now)
	}
	step := func() detector.Time {
		now = now.Add(time.Second + time.Duration(now%7)*time.Millisecond)
		return now
	}
	q := now.Add(1500 * time.Millisecond)
	far := now.Add(time.Minute) // asymptotic tail

	var s detector.Suspicion
	scfg := detector.SuspicionConfig{}
	s.Start(now, 10_000, 1, scfg)
	var w uint64
	h := detector.NewHealth(8)

	tests := []struct {
		name string
		fn   func()
	}{
		{"Phi.Heartbeat", func() { phi.Heartbeat(step()) }},
		{"Phi.Heartbeat/exponential", func() { exp.Heartbeat(step()) }},
		{"Phi.Heartbeat/embedded", func() { embedded.phi.Heartbeat(step()) }},
		{"Phi.Heartbeat/via Detector", func() { iface.Heartbeat(step()) }},
		{"Phi.Phi", func() { sinkFloat = phi.Phi(q) }},
		{"Phi.Phi/tail", func() { sinkFloat = phi.Phi(far) }},
		{"Phi.Phi/exponential", func() { sinkFloat = exp.Phi(q) }},
		{"Phi.Level/via Detector", func() { sinkFloat = iface.Level(q) }},
		{"Phi.Suspicious", func() { sinkBool = phi.Suspicious(q) }},
		{"Phi.SuspectAt", func() { sinkTime = phi.SuspectAt() }},
		{"Phi.Stats", func() {
			sinkDuration = phi.Mean() + phi.StdDev()
			sinkInt = phi.Samples()
			sinkTime = phi.Last()
		}},
		{"Phi.Reset", func() { embedded.phi.Reset() }},
		{"Phi.Init/same window", func() { embedded.phi.Init(detector.PhiConfig{Window: 50}) }},
		{"Timeout.Heartbeat", func() { to.Heartbeat(step()) }},
		{"Timeout.Level", func() { sinkFloat = to.Level(q) }},
		{"Timeout.Suspicious", func() { sinkBool = to.Suspicious(q) }},
		{"SuspicionConfig.Timeout", func() { sinkDuration = scfg.Timeout(10_000, 1) }},
		{"Suspicion.Start", func() { s.Start(now, 10_000, 1, scfg) }},
		{"Suspicion.Confirm", func() { w++; sinkBool = s.Confirm(w % 16) }},
		{"Suspicion.Deadline", func() { sinkTime = s.Deadline() }},
		{"Suspicion.Expired", func() { sinkBool = s.Expired(q) }},
		{"Health.Failure", func() { h.Failure() }},
		{"Health.Success", func() { h.Success() }},
		{"Health.Scale", func() { sinkDuration = h.Scale(200 * time.Millisecond) }},
	}
	for _, tt := range tests {
		if got := testing.AllocsPerRun(1000, tt.fn); got != 0 {
			t.Errorf("%s: %v allocations per call, want 0", tt.name, got)
		}
	}
}
