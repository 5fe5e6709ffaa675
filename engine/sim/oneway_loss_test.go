package sim_test

import (
	"math/rand/v2"
	"testing"
	"time"
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
	h := newHalves(t, n, 2, rand.New(rand.NewPCG(2, 3)), l)
	s := h.s
	s.RunFor(10 * time.Second)
	h.cutAToB(true)
	h.counting = true
	s.RunFor(20 * time.Second)
	h.cutAToB(false)
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
	same := h.same
	t.Logf("%d nodes, 10%% loss, one-way cut for 20 s: %d deaths within a side; all see all %v after the heal", n, same, converged)
	if same > 0 {
		t.Errorf("%d deaths of nodes by nodes on their own side, want 0", same)
	}
	if converged < 0 {
		t.Errorf("not every node sees every node alive 15 s after the heal")
	}
}
