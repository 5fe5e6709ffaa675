package sim_test

import (
	"testing"
	"time"

	"github.com/hearsay-io/hearsay/engine/sim"
	"github.com/hearsay-io/hearsay/netio"
)

// TestSlowNodesStay delays every datagram to and from 5 of 100 nodes by 0.5
// to 1.5 s (round trips of 1 to 3 s) for 90 s and checks that they stay
// members: no one declares them dead, and their observers measure their
// round-trip times.
func TestSlowNodesStay(t *testing.T) {
	const n = 100
	rec := newRecorder()
	s := newSim(t, n, 71, lan(), rec)
	s.RunFor(10 * time.Second)
	slow := []int{3, 27, 51, 75, 99}
	for _, i := range slow {
		s.Network().SetEndpointFaults(sim.Addr(i), netio.Faults{Delay: netio.Latency{Base: 500 * time.Millisecond, Jitter: time.Second}})
	}
	s.RunFor(90 * time.Second)
	if d := rec.deadSubjects(); len(d) != 0 {
		t.Errorf("declared dead: %v", d)
	}
	for _, i := range slow {
		measured, maxRTT := 0, time.Duration(0)
		for _, j := range s.Running() {
			if d, ok := s.Node(j).Core.RTT(s.Node(i).ID); ok {
				measured++
				maxRTT = max(maxRTT, d)
			}
		}
		if measured == 0 || maxRTT < 500*time.Millisecond {
			t.Errorf("slow node %d: %d members measured its round trip, longest %v; want some, over 500 ms", i, measured, maxRTT)
		}
		t.Logf("slow node %d: %d suspect events, %d members measured its round trip, longest %v", i, rec.susp[i], measured, maxRTT)
	}
}
