package sim_test

import (
	"fmt"
	"testing"
	"time"
)

// TestSlowNodesWithLoss begins 30% loss on every link as 5% of 1,000 nodes
// turn slow (0.5 to 2 s each way), the nemesis mix's episode of slow nodes
// with uniform loss beside them: none may be declared dead, nor anyone
// else, over 90 s. At the onset no node's estimates show the loss, and the
// round trips measured say nothing of the slow members' links now. Seeds
// 1, 5 and 6 each declared a slow member dead (694, 98 and 1 dead events)
// before: confirmers kept a timer heard of when their round trip to the
// member was recent (TestConfirmGivesWholeMin in package engine), timers
// kept the stretch of the loss read when they were set, probes accused a
// member whose new heartbeat came while they were out
// (TestProbeOvertakenByHeartbeat), and heartbeats reordered on the slow
// links counted as lost (TestReorderedHeartbeatsNotLost). Seed 8 declared
// one when, after those, a node that held a slow member suspect on hearsay
// for 17 s, its refutation never reaching it, looked at it with four pings
// (checkOdds).
func TestSlowNodesWithLoss(t *testing.T) {
	skipLargeUnderRace(t)
	for _, seed := range []uint64{1, 5, 6, 8} {
		t.Run(fmt.Sprint("seed ", seed), func(t *testing.T) {
			s, rec, l := slowCluster(t, seed)
			l.Loss = 0.3
			s.Network().SetDefaultLink(l)
			s.RunFor(90 * time.Second)
			checkNoDeaths(t, rec, "50 of 1000 nodes slow, 30% loss, for 90 s")
		})
	}
}
