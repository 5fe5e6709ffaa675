package bench_test

import (
	"context"
	"testing"

	"github.com/hearsay-io/hearsay/bench"
)

// TestFlakyRemovedEverySeed runs the short flaky-node scenario (5 of 100
// nodes at 80% loss each way) under thirty seeds: in every one, every
// flaky node must end removed by every healthy node, with no alive-again
// event and no false death. Before a member's unproven refutation raised
// its tombstone (engine/revival.go), a flaky node whose refutation outran
// its death stayed alive at most nodes while its observers held it dead,
// so that no one watched it: seed 5 failed, and seed 1 once refutations
// were sent back to members holding stale suspicions.
func TestFlakyRemovedEverySeed(t *testing.T) {
	var flaky bench.Scenario
	for _, s := range bench.NemesisShortScenarios() {
		if s.Name == "nemesis-flaky" {
			flaky = s
		}
	}
	if flaky.Name == "" {
		t.Fatal("no nemesis-flaky in the short suite")
	}
	for seed := uint64(1); seed <= 30; seed++ {
		r, err := flaky.Run(context.Background(), bench.Options{N: nemesisN, Seed: seed, Loss: 0.01}, bench.Knobs{})
		if err != nil {
			t.Fatalf("seed %d: %v", seed, err)
		}
		for _, c := range r.Checks {
			if !c.OK {
				t.Errorf("seed %d: %s: %s", seed, c.Name, c.Detail)
			}
		}
	}
}
