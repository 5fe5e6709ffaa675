package bench_test

import (
	"context"
	"testing"
	"time"

	"github.com/hearsay-io/hearsay/bench"
)

// TestSteadyNodeOwnProcess runs the steady scenario over real UDP with node
// 0 in a child process (this test binary, started again) and checks that
// the child's figures are there and that it allocated nothing in its
// window.
func TestSteadyNodeOwnProcess(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	r, err := bench.RunSteady(ctx, bench.SteadyConfig{
		Options: bench.Options{N: 6, Preset: bench.Local, Driver: bench.UDPDriver{}, Duration: 2 * time.Second},
		Warmup:  time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{
		"CPU per node per second",
		"CPU per node per second, system (the kernel's cost of its datagrams)",
		"bytes allocated per node per second",
		"CPU per in-process node per second",
		"members known, own process",
	} {
		if _, ok := r.Figure(name); !ok {
			t.Errorf("figure %q missing", name)
		}
	}
	if f, ok := r.Figure("members known, own process"); ok && f.Value != 6 {
		t.Errorf("the child knows %v members, want 6", f.Value)
	}
	if f, ok := r.Figure("bytes allocated per node per second"); ok && f.Value != 0 && !raceEnabled {
		t.Errorf("the child allocated %v bytes per second in steady state, want 0", f.Value)
	}
	if !r.ChecksOK() && !raceEnabled {
		t.Errorf("checks failed: %+v", r.Checks)
	}
}
