package sim_test

import (
	"math/rand/v2"
	"testing"

	"github.com/hearsay-io/hearsay/engine"
	"github.com/hearsay-io/hearsay/engine/sim"
	"github.com/hearsay-io/hearsay/netio"
)

// halves is a simulated cluster split at random into two sides, A (side 0)
// and B (side 1), that counts the deaths a node declares of a node on its
// own side once counting is set: the false deaths of a cut between sides.
type halves struct {
	s        *sim.Sim
	n        int
	side     []int
	idx      map[engine.ID]int
	counting bool
	same     int // deaths within a side while counting
}

// newHalves builds n nodes with the given seed and link, sides drawn by
// perm. The first three deaths within a side are reported as errors.
func newHalves(t *testing.T, n int, seed uint64, perm *rand.Rand, link netio.Link) *halves {
	t.Helper()
	h := &halves{n: n, side: make([]int, n), idx: make(map[engine.ID]int, n)}
	for _, v := range perm.Perm(n)[n/2:] {
		h.side[v] = 1
	}
	s, err := sim.New(sim.Config{N: n, Seed: seed, Engine: openLAN(), Link: link, OnEvent: func(node int, e engine.Event) {
		x, ok := h.idx[e.Member.ID]
		if !ok || !h.counting || e.Type != engine.EventDead || h.side[node] != h.side[x] {
			return
		}
		h.same++
		if h.same <= 3 {
			w := h.idx[e.Witness]
			t.Errorf("%v: node %d (side %d) declared node %d, on its own side, dead (witness %d side %d, inc %d)",
				h.s.Now(), node, h.side[node], x, w, h.side[w], e.Member.Incarnation)
		}
	}})
	if err != nil {
		t.Fatal(err)
	}
	h.s = s
	for i, nd := range s.Nodes() {
		h.idx[nd.ID] = i
	}
	return h
}

// cutAToB drops (down) or restores every datagram from side A to side B.
func (h *halves) cutAToB(down bool) {
	for a := range h.n {
		for b := range h.n {
			if h.side[a] == 0 && h.side[b] == 1 {
				if down {
					h.s.Network().SetLink(sim.Addr(a), sim.Addr(b), netio.Link{Down: true})
				} else {
					h.s.Network().ClearLink(sim.Addr(a), sim.Addr(b))
				}
			}
		}
	}
}
