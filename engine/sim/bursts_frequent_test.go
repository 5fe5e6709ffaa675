package sim_test

import (
	"testing"
	"time"

	"github.com/hearsay-io/hearsay/engine/sim"
	"github.com/hearsay-io/hearsay/netio"
)

// TestFrequentLossBursts: every link loses 80% or 90% of its datagrams
// for 2 s every 15 s (six bursts, 1% loss otherwise), on 1,000 nodes. No
// one may be declared dead. Before suspicion timers were numbered across
// the node, a member suspected in one burst, refuted, and suspected again
// in the next had its new timer fired by the old one's entry: checked and
// declared dead moments into the new suspicion (seed 2: 5 dead events
// about 2 members; see also engine TestSuspicionTimerNotReused).
func TestFrequentLossBursts(t *testing.T) {
	skipLargeUnderRace(t)
	const n = 1000
	l := lan()
	l.Loss = 0.01
	rec := newRecorder()
	s := newSim(t, n, 2, l, rec)
	s.RunFor(10 * time.Second)
	lossBursts(s, l, 6, 15*time.Second)
	checkNoDeaths(t, rec, "1000 nodes, 6 bursts 15 s apart")
}

// TestSlowNodesFrequentBursts: as TestFrequentLossBursts, with 5% of the
// nodes slow (0.5 to 2 s each way) from 10 s on. Before a node told of an
// accusation it held refuted sent the refutation back, a slow node that
// heard of the suspicions raised when the slowness began, after their
// refutations had spread, held them (gossip seldom reaches slow members)
// and declared two slow members dead 17 s later (seed 7).
func TestSlowNodesFrequentBursts(t *testing.T) {
	skipLargeUnderRace(t)
	s, rec, l := slowCluster(t, 7)
	lossBursts(s, l, 6, 15*time.Second)
	checkNoDeaths(t, rec, "50 of 1000 nodes slow, 6 bursts 15 s apart")
}

// lossBursts runs s through n bursts of 80% or 90% loss on every link, 2 s
// each, one every period (the burst ends it), then one more period with
// the link l.
func lossBursts(s *sim.Sim, l netio.Link, n int, period time.Duration) {
	for k := 0; k < n; k++ {
		s.RunFor(period - 2*time.Second)
		b := l
		b.Loss = []float64{0.8, 0.9}[k%2]
		s.Network().SetDefaultLink(b)
		s.RunFor(2 * time.Second)
		s.Network().SetDefaultLink(l)
	}
	s.RunFor(period)
}
