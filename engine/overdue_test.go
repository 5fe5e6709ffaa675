package engine_test

import (
	"testing"
	"time"

	"github.com/hearsay-io/hearsay/codec"
	"github.com/hearsay-io/hearsay/engine"
)

// TestOverduePull: a node that heard a member suspected and got neither
// its death nor its refutation in time asks a peer for what it missed
// (an anti-entropy exchange) once the verdict is overdue: not before
// Suspicion.Min, and well before Max. A suspicion refuted in time makes no
// such exchange. Without the pull, the first exchange is the periodic one,
// seconds later.
func TestOverduePull(t *testing.T) {
	lo := engine.DefaultLANConfig().Suspicion.MinBase
	for _, refuted := range []bool{false, true} {
		r, subj, claim := withSubject(t)
		// Past the first periodic exchange (jittered, within one
		// SyncInterval): the next is a whole SyncInterval (5 s) later.
		for step := 0; step < 600 && r.core.Stats().SyncsStarted == 0; step++ {
			r.now = r.now.Add(10 * time.Millisecond)
			r.core.Tick(r.now)
		}
		r.core.Outbox().Reset()
		r.send(t, codec.MsgGossip, claim(codec.StateSuspect))
		if refuted {
			r.send(t, codec.MsgGossip, func(b *codec.Builder) {
				b.AddMember(&codec.Member{ID: uint64(subj.ID), Generation: 1, Incarnation: 1, State: codec.StateAlive, Addr: subj.Addr, Witness: uint64(subj.ID)})
			})
		}
		start, syncs := r.now, r.core.Stats().SyncsStarted
		var first time.Duration
		for step := 0; step < 400 && first == 0; step++ { // Min + 2 s
			r.now = r.now.Add(10 * time.Millisecond)
			r.core.Tick(r.now)
			r.core.Outbox().Reset()
			if r.core.Stats().SyncsStarted > syncs {
				first = r.now.Sub(start)
			}
		}
		if first == 0 {
			t.Logf("refuted: %v; no exchange in %v", refuted, lo+2*time.Second)
		} else {
			t.Logf("refuted: %v; first exchange %v after the suspicion was heard", refuted, first)
		}
		switch {
		case refuted && first != 0:
			t.Errorf("an exchange %v after a suspicion refuted in time, want none in %v", first, lo+2*time.Second)
		case !refuted && first == 0:
			t.Errorf("no exchange within %v of a suspicion whose verdict never came", lo+2*time.Second)
		case !refuted && first < lo:
			t.Errorf("an exchange %v after the suspicion was heard, want none before Suspicion.Min (%v)", first, lo)
		}
	}
}
