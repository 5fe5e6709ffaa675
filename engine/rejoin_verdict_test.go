package engine

import (
	"testing"
	"time"

	"github.com/hearsay-io/hearsay/codec"
)

// TestRejoinHastenedByVerdict: a node whose rejoin waits to try again
// tries at once when a member that holds it dead tells it so in a verdict,
// which answers a datagram of this node's: that member hears it now. Its
// own count bounds it to once per RejoinBackoffMax, apart from deadTalks'.
// At 30% loss begun with a 20 s one-way cut (300 nodes, seed 1), a node of
// the side that could not be heard had used deadTalks' hastening 1.1 s
// before the heal, and its next try came 7 s after it while the other side
// held it dead; the last node saw every node alive 18.25 s after the heal.
func TestRejoinHastenedByVerdict(t *testing.T) {
	c := newTestCore(t)
	t0 := Time(time.Hour)
	c.now = t0
	c.beginRejoin(t0, 1)
	rj := &c.rejoin
	// A try failed; deadTalks cut the wait short a second ago.
	rj.inFlight, rj.next, rj.hastened = false, t0.Add(8*time.Second), t0.Add(-time.Second)
	dead := codec.Verdict{Generation: c.gen, Incarnation: 1, State: codec.StateDead}

	c.deadTalks()
	if rj.next != t0.Add(8*time.Second) {
		t.Fatalf("deadTalks hastened twice within RejoinBackoffMax")
	}
	c.onVerdict(t0, 9, &dead)
	if rj.next != t0 {
		t.Fatalf("after a verdict of death the next try is %v away, want now", rj.next.Sub(t0))
	}
	// The try fails again: more verdicts within RejoinBackoffMax do not
	// hasten it, one after does.
	rj.next = t0.Add(10 * time.Second)
	c.now = t0.Add(c.cfg.RejoinBackoffMax - time.Millisecond)
	c.onVerdict(c.now, 9, &dead)
	if rj.next != t0.Add(10*time.Second) {
		t.Errorf("a second verdict %v after the first hastened the rejoin", c.now.Sub(t0))
	}
	c.now = t0.Add(c.cfg.RejoinBackoffMax)
	c.onVerdict(c.now, 9, &dead)
	if rj.next != c.now {
		t.Errorf("a verdict RejoinBackoffMax after the last hastening did not hasten the rejoin")
	}
}
