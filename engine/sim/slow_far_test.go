package sim_test

import (
	"testing"
	"time"

	"github.com/hearsay-io/hearsay/engine/sim"
	"github.com/hearsay-io/hearsay/netio"
)

// TestSlowNodesTwoSeconds delays every datagram to and from 5% of the
// nodes by 0.5 to 2 s each way (round trips up to 4 s) for 90 s: none may
// be declared dead, nor anyone else. Before probe timeouts followed the
// round trips of recent probes, a slow node's probes of healthy members
// timed out against round trips it could not meet, and it was declared
// dead (1,000 nodes, 1% loss, seed 5: 998 dead events).
func TestSlowNodesTwoSeconds(t *testing.T) {
	const n = 1000
	l := lan()
	l.Loss = 0.01
	rec := newRecorder()
	s := newSim(t, n, 5, l, rec)
	s.RunFor(10 * time.Second)
	for i := 0; i < n; i += 20 {
		s.Network().SetEndpointFaults(sim.Addr(i), netio.Faults{Delay: netio.Latency{Base: 500 * time.Millisecond, Jitter: 1500 * time.Millisecond, Shape: netio.Uniform}})
	}
	s.RunFor(90 * time.Second)
	deaths := 0
	for _, c := range rec.deaths {
		deaths += c
	}
	t.Logf("%d nodes, %d slow for 90 s: %d dead events, %d subjects", n, n/20, deaths, len(rec.deadSubjects()))
	if d := rec.deadSubjects(); len(d) != 0 {
		t.Errorf("declared dead: %v", d)
	}
}
