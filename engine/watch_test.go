package engine_test

import (
	"testing"
	"time"

	"github.com/hearsay-io/hearsay/codec"
	"github.com/hearsay-io/hearsay/engine"
)

// TestWatchPingsAhead: a node that heard a member suspected (it did not
// accuse it) pings it, the suspicion attached, before any death comes
// (engine/watch.go): not before half a Suspicion.Min, then half a probe
// timeout apart, at least three times; a member that answers is watched
// no more. When the member answers none, the death that comes later is
// still doubted, as before the watch: its pings carry the death.
func TestWatchPingsAhead(t *testing.T) {
	for _, answer := range []bool{true, false} {
		r, subj, claim := withSubject(t)
		r.send(t, codec.MsgGossip, claim(codec.StateSuspect))
		r.core.Outbox().Reset()
		start := r.now
		var first time.Duration
		pings, acked := 0, uint32(1)
		for step := 0; step < 600; step++ { // 3 s
			r.now = r.now.Add(5 * time.Millisecond)
			r.core.Tick(r.now)
			sent := int(r.core.Stats().WatchPings)
			r.collectClaims(subj, func(seq uint32, st codec.MemberState) {
				if st == codec.StateDead {
					t.Fatalf("a ping carried the death; none was heard")
				}
				if st != codec.StateSuspect || sent == pings {
					return // a probe: the member is this node's subject
				}
				pings = sent
				if first == 0 {
					first = r.now.Sub(start)
				}
				if !answer {
					return
				}
				acked++
				r.ack(t, subj, seq, acked)
				r.core.Outbox().Reset()
			})
		}
		st := r.core.Stats()
		t.Logf("answering: %v; %d watch pings, the first %v after the suspicion was heard; stats: %d watches, %d pings, %d late acks",
			answer, pings, first, st.Watches, st.WatchPings, st.LateAcks)
		half := engine.DefaultLANConfig().Suspicion.MinBase / 2
		switch {
		case pings == 0:
			t.Fatalf("no watch ping in 3 s")
		case first < half:
			t.Errorf("the first watch ping went %v after the suspicion was heard, want no sooner than %v", first, half)
		case answer && pings != 1:
			t.Errorf("the member answered the first watch ping, yet %d were sent", pings)
		case !answer && pings < 3:
			t.Errorf("%d watch pings went unanswered, want at least 3", pings)
		case st.LateAcks != 0:
			t.Errorf("acks to watch pings were taken for %d late acks", st.LateAcks)
		}
		if answer {
			continue
		}
		r.send(t, codec.MsgGossip, claim(codec.StateDead))
		if s := stateOf(r.core, subj.ID); s != engine.StateSuspect {
			t.Errorf("after the death was heard, the member is %v at once, want suspect while it is doubted", s)
		}
		checks := 0
		for step := 0; step < 200 && stateOf(r.core, subj.ID) != engine.StateDead; step++ {
			r.collect(subj, func(seq uint32, check bool) {
				if check {
					checks++
				}
			})
			r.now = r.now.Add(5 * time.Millisecond)
			r.core.Tick(r.now)
		}
		if checks < 3 || stateOf(r.core, subj.ID) != engine.StateDead {
			t.Errorf("the unanswered member's death: %d pings carried it, state %v; want at least 3 and dead", checks, stateOf(r.core, subj.ID))
		}
	}
}
