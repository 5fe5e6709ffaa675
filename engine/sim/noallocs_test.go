package sim_test

import (
	"testing"
	"time"

	"github.com/hearsay-io/hearsay/engine/sim"
)

// steadyPair runs a converged cluster for a while and returns a node a and
// one of its subjects b: b's heartbeats go to a.
func steadyPair(t testing.TB, n int) (s *sim.Sim, a, b *sim.Node) {
	s, err := sim.New(sim.Config{N: n, Seed: 9, Engine: openLAN(), Link: lan()})
	if err != nil {
		t.Fatal(err)
	}
	s.RunFor(20 * time.Second)
	a = s.Node(0)
	for _, nd := range s.Nodes()[1:] {
		nd.Core.Tick(nd.Core.Deadline())
		for _, m := range nd.Core.Outbox().Messages() {
			if m.Addr == a.Addr {
				b = nd
			}
		}
		nd.Core.Outbox().Reset()
		if b != nil {
			return s, a, b
		}
	}
	t.Fatal("no node sends heartbeats to node 0")
	return
}

// datagramsTo lets b run its timers k times and collects what it sends to a.
func datagramsTo(a, b *sim.Node, k int) [][]byte {
	var out [][]byte
	for len(out) < k {
		b.Core.Tick(b.Core.Deadline())
		for _, m := range b.Core.Outbox().Messages() {
			if m.Addr == a.Addr {
				out = append(out, append([]byte(nil), m.Buf[:m.N]...))
			}
		}
		b.Core.Outbox().Reset()
	}
	return out
}

func TestNoAllocs(t *testing.T) {
	_, a, b := steadyPair(t, 200)
	dgs := datagramsTo(a, b, 300)
	i := 0
	now := a.Core.Deadline()
	// Warm up the receive path (first use sizes reusable buffers).
	for ; i < 50; i++ {
		a.Core.Receive(now, b.Addr, dgs[i])
		a.Core.Outbox().Reset()
	}
	if got := testing.AllocsPerRun(200, func() {
		a.Core.Receive(now, b.Addr, dgs[i])
		a.Core.Outbox().Reset()
		i++
	}); got != 0 {
		t.Errorf("Receive of a steady-state datagram: %v allocations, want 0", got)
	}
	for range 50 {
		a.Core.Tick(a.Core.Deadline())
		a.Core.Outbox().Reset()
	}
	if got := testing.AllocsPerRun(200, func() {
		a.Core.Tick(a.Core.Deadline())
		a.Core.Outbox().Reset()
	}); got != 0 {
		t.Errorf("Tick in steady state: %v allocations, want 0", got)
	}
}
