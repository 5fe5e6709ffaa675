package sim_test

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/hearsay-io/hearsay/engine"
	"github.com/hearsay-io/hearsay/engine/sim"
	"github.com/hearsay-io/hearsay/netio"
)

// TestOneWayHealUnderLoss cuts half of 300 nodes (A) off from the other
// half (B) in one direction for 20 s, with 10% loss on every link, and
// heals the cut. Each side declares the other dead during the cut
// (excused); at the heal A's deaths of B nodes reach B, whose nodes hear
// each other all along. Every B node then doubts about 150 deaths of
// members it holds alive, some 22,000 doubts: three check pings each, at
// the loss a short estimate gave (often none), turned 1,034 of them into
// false deaths in nemesis-one-way, and the members declared dead could
// not pass a rejoin that forgave one lost ping in eight, so the cluster
// did not converge. No node may declare a node of its own side dead, and
// every node must see every node alive within 15 s of the heal.
func TestOneWayHealUnderLoss(t *testing.T) {
	skipLargeUnderRace(t)
	const n = 300
	l := lan()
	l.Loss = 0.1
	side := make([]int, n)
	for _, v := range rand.New(rand.NewPCG(2, 3)).Perm(n)[n/2:] {
		side[v] = 1
	}
	idx := map[engine.ID]int{}
	cut := false
	same := 0
	var s *sim.Sim
	s, err := sim.New(sim.Config{N: n, Seed: 2, Engine: openLAN(), Link: l, OnEvent: func(node int, e engine.Event) {
		x, ok := idx[e.Member.ID]
		if !ok || !cut || e.Type != engine.EventDead || side[node] != side[x] {
			return
		}
		same++
		if same <= 3 {
			t.Errorf("%v: node %d (side %d) declared node %d, on its own side, dead (inc %d)", s.Now(), node, side[node], x, e.Member.Incarnation)
		}
	}})
	if err != nil {
		t.Fatal(err)
	}
	for i, nd := range s.Nodes() {
		idx[nd.ID] = i
	}
	s.RunFor(10 * time.Second)
	links := func(down bool) {
		for a := range n {
			for b := range n {
				if side[a] == 0 && side[b] == 1 {
					if down {
						s.Network().SetLink(sim.Addr(a), sim.Addr(b), netio.Link{Down: true})
					} else {
						s.Network().ClearLink(sim.Addr(a), sim.Addr(b))
					}
				}
			}
		}
	}
	links(true)
	cut = true
	s.RunFor(20 * time.Second)
	links(false)
	converged := time.Duration(-1)
	for k := 0; k < 60 && converged < 0; k++ {
		s.RunFor(250 * time.Millisecond)
		all := true
		for i := range n {
			if live, _ := s.Node(i).Core.NumMembers(); live != n {
				all = false
				break
			}
		}
		if all {
			converged = time.Duration(k+1) * 250 * time.Millisecond
		}
	}
	s.RunFor(10 * time.Second) // and no death after
	t.Logf("%d nodes, 10%% loss, one-way cut for 20 s: %d deaths within a side; all see all %v after the heal", n, same, converged)
	if same > 0 {
		t.Errorf("%d deaths of nodes by nodes on their own side, want 0", same)
	}
	if converged < 0 {
		t.Errorf("not every node sees every node alive 15 s after the heal")
	}
}
