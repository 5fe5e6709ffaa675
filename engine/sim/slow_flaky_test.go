package sim_test

import (
	"testing"
	"time"

	"github.com/hearsay-io/hearsay/engine/sim"
	"github.com/hearsay-io/hearsay/netio"
)

// TestSlowBesideFlaky runs slowCluster (every 20th of 1,000 nodes delayed
// 0.5 to 2 s each way) with every 20th node from the tenth flaky (80% loss
// each way) for 60 s, seed 1. Flaky observers accuse the slow members
// they watch, and their deaths reach nodes that check a slow member with
// pings that time out after 200 ms, long before its answers come: the
// nemesis mix's episode of flaky and slow nodes made thousands of false
// deaths so (2,927 at seed 2). A death of a slow node by a node that is not
// flaky fails the test; the flaky nodes may be removed.
func TestSlowBesideFlaky(t *testing.T) {
	skipLargeUnderRace(t)
	s, rec, _ := slowCluster(t, 1)
	const n = 1000
	for i := slowEvery / 2; i < n; i += slowEvery {
		s.Network().SetEndpointFaults(sim.Addr(i), netio.Faults{Loss: 0.8})
	}
	s.RunFor(60 * time.Second)
	deaths, subjects := 0, map[int]bool{}
	for k, c := range rec.deaths {
		obs, x := k[0], k[1]
		if x%slowEvery != 0 || obs%slowEvery == slowEvery/2 {
			continue
		}
		deaths += c
		subjects[x] = true
	}
	t.Logf("50 slow and 50 flaky of 1,000 nodes for 60 s: %d deaths of %d slow nodes by nodes that are not flaky", deaths, len(subjects))
	if deaths > 0 {
		t.Errorf("%d deaths of %d slow nodes, want 0", deaths, len(subjects))
	}
}
