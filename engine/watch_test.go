package engine_test

import (
	"net/netip"
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
		r := newReceiver(t)
		subj := engine.Member{ID: 0x77, Addr: netip.MustParseAddrPort("10.0.0.3:7946"), Generation: 1, State: engine.StateAlive}
		r.core.Seed(r.now, []engine.Member{subj})
		claim := func(st codec.MemberState) func(b *codec.Builder) {
			return func(b *codec.Builder) {
				b.AddMember(&codec.Member{ID: uint64(subj.ID), Generation: 1, State: st, Addr: subj.Addr, Witness: senderID})
			}
		}
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
				r.now = r.now.Add(time.Millisecond)
				r.core.Receive(r.now, subj.Addr, memberDatagram(t, subj.ID, codec.MsgAck, acked, func(b *codec.Builder) {
					b.AddAck(codec.Ack{Seq: seq, Target: uint64(subj.ID)})
				}))
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

// collectClaims calls f with the sequence number of every ping in the
// core's outbox to m's address and the state of m's record it carries (0
// for none); then empties the outbox.
func (r *receiver) collectClaims(m engine.Member, f func(seq uint32, st codec.MemberState)) {
	type ping struct {
		seq uint32
		st  codec.MemberState
	}
	var pings []ping
	for _, msg := range r.core.Outbox().Messages() {
		h, body, err := codec.Parse(msg.Buf)
		if err != nil || msg.Addr != m.Addr || h.Type != codec.MsgPing {
			continue
		}
		var p ping
		var rd codec.Reader
		rd.Reset(int(h.Sections), body)
		for rd.Next() {
			for i := 0; i < rd.Count(); i++ {
				switch rd.Type() {
				case codec.RecPing:
					if x, _, err := codec.ParsePing(rd.Record(i)); err == nil && x.Target == uint64(m.ID) {
						p.seq = x.Seq
					}
				case codec.RecMember:
					if x, _, err := codec.ParseMember(rd.Record(i)); err == nil && x.ID == uint64(m.ID) {
						p.st = x.State
					}
				}
			}
		}
		if p.seq != 0 {
			pings = append(pings, p)
		}
	}
	r.core.Outbox().Reset()
	for _, p := range pings {
		f(p.seq, p.st)
	}
}
