package engine

import (
	"testing"

	"github.com/hearsay-io/hearsay/codec"
	"github.com/hearsay-io/hearsay/detector"
)

// TestRefuteWhileRejoining: a node told it is dead, checking its links
// before it comes back, still refutes a suspicion while its links look
// fine (mayRefute): the suspicion comes from members that reach it, and
// its unproven refutation does not bring it back where it is held dead
// (revival.go). Withholding it let the node's own side declare it dead: in
// a one-way cut at 30% loss, a node declared dead by the other side failed
// its tries (half its pings go there) while its own side's suspicions of
// it ran out (the nemesis mix at 1,000 nodes, seed 2: 110 false deaths of
// one node). A node whose links are bad and that refuted often lately
// still withholds, as it does outside a rejoin.
func TestRefuteWhileRejoining(t *testing.T) {
	c := newTestCore(t)
	c.beginRejoin(c.now, c.inc)
	suspect := func() {
		c.aboutSelf(c.now, &codec.Member{ID: uint64(c.id), Generation: c.gen, Incarnation: c.inc,
			State: codec.StateSuspect, Witness: 2})
	}
	inc := c.inc
	suspect()
	if c.inc != inc+1 || !c.rejoin.active {
		t.Fatalf("suspected while rejoining with good links: incarnation %d (was %d), rejoining %v; want refuted and still rejoining", c.inc, inc, c.rejoin.active)
	}
	// Bad links, and MaxRefutations refutations within the window.
	c.monitors = append(c.monitors, &monitor{phi: detector.NewPhi(c.cfg.Phi), loss: 0.8, lostW: 0.8 * lossMemory, seenW: lossMemory, samples: lossMemory})
	for c.refutations < c.cfg.MaxRefutations {
		suspect()
	}
	inc = c.inc
	suspect()
	if c.inc != inc || !c.rejoin.active || c.rejoin.deadInc < inc {
		t.Errorf("suspected while rejoining on a bad link after %d refutations: incarnation %d (was %d), rejoining %v, dead incarnation %d; want withheld", c.refutations, c.inc, inc, c.rejoin.active, c.rejoin.deadInc)
	}
}
