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
	skipLargeUnderRace(t)
	s, rec, _ := slowCluster(t, 5)
	s.RunFor(90 * time.Second)
	checkNoDeaths(t, rec, "50 of 1000 nodes slow for 90 s")
}

// slowEvery: one node in this many is slow in slowCluster.
const slowEvery = 20

// slowCluster starts 1,000 nodes with 1% loss under seed, runs 10 s, then
// delays every datagram to and from every 20th node by 0.5 to 2 s each way.
// It returns the link it set, for tests that change it and set it back.
func slowCluster(t *testing.T, seed uint64) (*sim.Sim, *recorder, netio.Link) {
	t.Helper()
	const n = 1000
	l := lan()
	l.Loss = 0.01
	rec := newRecorder()
	s := newSim(t, n, seed, l, rec)
	s.RunFor(10 * time.Second)
	for i := 0; i < n; i += slowEvery {
		s.Network().SetEndpointFaults(sim.Addr(i), netio.Faults{Delay: netio.Latency{Base: 500 * time.Millisecond, Jitter: 1500 * time.Millisecond, Shape: netio.Uniform}})
	}
	return s, rec, l
}

// checkNoDeaths fails the test if any node declared any member dead.
func checkNoDeaths(t *testing.T, rec *recorder, what string) {
	t.Helper()
	deaths := 0
	for _, c := range rec.deaths {
		deaths += c
	}
	t.Logf("%s: %d dead events about %d members", what, deaths, len(rec.deadSubjects()))
	if d := rec.deadSubjects(); len(d) != 0 {
		t.Errorf("declared dead: %v", d)
	}
}
