package sim_test

import (
	"testing"
	"time"
)

// TestSlowNodesThroughBursts combines two faults: 5% of the nodes delay
// every datagram by 0.5 to 2 s each way, and every link loses 80% or 90%
// of its datagrams for 2 s every 30 s, for 2 minutes (1% loss otherwise).
// No one may be declared dead. Before a node that confirmed a suspicion by
// a probe of a member it had measured no round trip to gave the suspect a
// whole Suspicion.Min from that probe, such a node (an observer that took
// a slow member on during a burst, as its observer was passed over)
// declared it dead 0.4 s after its probe, on a timer begun 1.6 s before,
// while the slow refutation was on its way (seed 1: 1 dead event).
func TestSlowNodesThroughBursts(t *testing.T) {
	skipLargeUnderRace(t)
	s, rec, l := slowCluster(t, 1)
	lossBursts(s, l, 4, 30*time.Second)
	checkNoDeaths(t, rec, "50 of 1000 nodes slow, 4 bursts")
}
