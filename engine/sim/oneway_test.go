package sim_test

import (
	"math/rand/v2"
	"testing"
	"time"
)

// TestOneWayCut cuts half the nodes (A) off from the other half (B) in one
// direction: A's datagrams to B are lost, B's reach A. B then declares
// every A node dead (excused: it cannot hear them), and its suspicions and
// deaths of A nodes reach A. No A node may declare another A node dead,
// nor a B node a B node: each side hears its own. Before a death heard of
// for a member held suspect on hearsay was checked with a ping (and passed
// on meanwhile), A nodes took B's deaths of A nodes whose refutation had
// not reached them yet (1,000 nodes, seed 1: 2,126 deaths within a side).
func TestOneWayCut(t *testing.T) {
	skipLargeUnderRace(t)
	n := 1000
	if testing.Short() {
		n = 400 // also fails before the fix
	}
	l := lan()
	l.Loss = 0.01
	h := newHalves(t, n, 1, rand.New(rand.NewPCG(1, 2)), l)
	h.s.RunFor(5 * time.Second)
	h.cutAToB(true)
	h.counting = true
	h.s.RunFor(20 * time.Second)
	same := h.same
	t.Logf("%d nodes, one-way cut for 20 s: %d deaths within a side", n, same)
	if same > 0 {
		t.Errorf("%d deaths of nodes by nodes on their own side, want 0", same)
	}
}
