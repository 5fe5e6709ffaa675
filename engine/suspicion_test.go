package engine_test

import (
	"net/netip"
	"testing"
	"time"

	"github.com/hearsay-io/hearsay/codec"
	"github.com/hearsay-io/hearsay/engine"
)

// TestSuspicionTimerNotReused: a member suspected, refuted and suspected
// again gets a whole new timer. Timer entries were numbered per
// suspicion, from one, so an entry of the refuted suspicion still queued
// fired the new one: the member was checked and declared dead a probe
// timeout after the old suspicion's end, moments into the new one (in the
// simulator, 1,000 nodes with loss bursts of 80–90% every 15 s: live
// members declared dead; see TestFrequentLossBursts).
func TestSuspicionTimerNotReused(t *testing.T) {
	r, subj, claim := claimReceiver(t)
	beats := uint32(0)
	beat := func() {
		beats++
		r.core.Outbox().Reset()
		r.core.Receive(r.now, subj.Addr, memberDatagram(t, subj.ID, codec.MsgHeartbeat, beats, func(b *codec.Builder) {
			b.AddHeartbeat(codec.Heartbeat{Counter: uint64(beats), Members: 3})
		}))
	}
	run := func(d time.Duration, beating bool) {
		for end := r.now.Add(d); r.now < end; {
			r.now = r.now.Add(10 * time.Millisecond)
			if beating && r.now%engine.Time(time.Second) == 0 {
				beat()
			}
			r.core.Outbox().Reset()
			r.core.Tick(r.now)
		}
	}
	run(3*time.Second, true)
	max := engine.DefaultLANConfig().Suspicion.Max(3)
	start := r.now
	r.send(t, codec.MsgGossip, claim(codec.StateSuspect, 0))
	run(time.Second, true)
	r.send(t, codec.MsgGossip, claim(codec.StateAlive, 1)) // refuted
	if st := stateOf(r.core, subj.ID); st != engine.StateAlive {
		t.Fatalf("after the refutation the member is %v, want alive", st)
	}
	run(max-time.Second-500*time.Millisecond, true)
	again := r.now
	r.send(t, codec.MsgGossip, claim(codec.StateSuspect, 1))
	for r.now.Sub(start) < max+time.Second {
		run(10*time.Millisecond, false)
		if st := stateOf(r.core, subj.ID); st == engine.StateDead {
			t.Fatalf("suspected again %v before the first suspicion's timer (%v) would have run out, the member was declared dead %v into the new suspicion",
				max-again.Sub(start), max, r.now.Sub(again))
		}
	}
	if st := stateOf(r.core, subj.ID); st != engine.StateSuspect {
		t.Fatalf("the member is %v %v into the new suspicion, want suspect", st, r.now.Sub(again))
	}
}

// TestStaleAccusationCorrected: a member that tells us of a suspicion we
// hold refuted (the suspect's record at a later incarnation) is sent the
// refutation, so that it does not declare a live member dead on its stale
// timer. A stale death is not answered so: a member held dead comes back
// only with proof (revival.go). Before, nothing was sent: a refutation is gossiped a
// bounded number of times, and a member others rarely push to (a slow
// one) held its stale suspicion until anti-entropy, 26 s later, and
// declared the suspect dead (see TestSlowNodesFrequentBursts).
func TestStaleAccusationCorrected(t *testing.T) {
	for _, st := range []codec.MemberState{codec.StateSuspect, codec.StateDead} {
		want := 1
		if st == codec.StateDead {
			want = 0
		}
		r, subj, claim := claimReceiver(t)
		r.send(t, codec.MsgGossip, claim(codec.StateAlive, 3)) // the member refuted up to 3
		r.send(t, codec.MsgGossip, claim(st, 2))
		var told []codec.Member
		r.sentRecords(codec.RecMember, func(to netip.AddrPort, rec []byte) {
			if m, _, err := codec.ParseMember(rec); err == nil && to == senderAddr && m.ID == uint64(subj.ID) {
				told = append(told, m)
			}
		})
		if len(told) != want || want == 1 && (told[0].State != codec.StateAlive || told[0].Incarnation != 3) {
			t.Fatalf("told of a stale %v at incarnation 2 of a member held alive at 3, the node answered with %+v, want %d records alive at 3", st, told, want)
		}
		// Not again at once: corrections are rate-limited per address.
		r.send(t, codec.MsgGossip, claim(st, 2))
		told = told[:0]
		r.sentRecords(codec.RecMember, func(to netip.AddrPort, rec []byte) {
			if to == senderAddr {
				told = append(told, codec.Member{})
			}
		})
		if len(told) != 0 {
			t.Fatalf("told the same stale %v again at once, the node answered again (%d records)", st, len(told))
		}
		if got := r.core.Stats().Corrections; got != uint64(want) {
			t.Fatalf("Stats.Corrections = %d, want %d", got, want)
		}
	}
}

// TestUnprovenRefutationRaisesTombstone: a member held dead at incarnation
// 1 refutes at 2 without proof (a suspicion's refutation that crossed its
// death). The node tells it that it is held dead (a notice ping); when the
// notice goes unanswered and no proof comes within Suspicion.Min, the node
// keeps it dead at 2 and gossips that death, so that members that took the
// refutation instead hear that it is dead until it proves its links. A
// member that answers the notice is not raised. Before, the death stayed at
// 1 and was not gossiped again: a flaky member whose refutation outran its
// death stayed alive at most nodes and dead at its observers, and no one
// watched it (bench TestFlakyRemovedEverySeed).
func TestUnprovenRefutationRaisesTombstone(t *testing.T) {
	for _, answer := range []bool{false, true} {
		r := newReceiver(t)
		subj := engine.Member{ID: 0x77, Addr: netip.MustParseAddrPort("10.0.0.3:7946"), Generation: 1, Incarnation: 1, State: engine.StateDead}
		r.core.Seed(r.now, []engine.Member{subj})
		r.send(t, codec.MsgGossip, func(b *codec.Builder) {
			b.AddMember(&codec.Member{ID: uint64(subj.ID), Generation: 1, Incarnation: 2, State: codec.StateAlive, Addr: subj.Addr})
		})
		var sent []codec.Member
		for i := 0; i < 100; i++ {
			if answer {
				r.collect(subj, func(seq uint32, _ bool) {
					r.core.Outbox().Reset()
					r.now = r.now.Add(time.Millisecond)
					r.core.Receive(r.now, subj.Addr, memberDatagram(t, subj.ID, codec.MsgAck, seq, func(b *codec.Builder) {
						b.AddAck(codec.Ack{Seq: seq, Target: uint64(subj.ID)})
					}))
				})
			}
			r.sentRecords(codec.RecMember, func(_ netip.AddrPort, rec []byte) {
				if x, _, err := codec.ParseMember(rec); err == nil && x.ID == uint64(subj.ID) && x.Incarnation == 2 {
					sent = append(sent, x)
				}
			})
			r.core.Outbox().Reset()
			r.now = r.now.Add(100 * time.Millisecond)
			r.core.Tick(r.now)
		}
		var m engine.Member
		for _, x := range r.core.Members(nil) {
			if x.ID == subj.ID {
				m = x
			}
		}
		switch {
		case m.State != engine.StateDead:
			t.Fatalf("answering the notice %v: after an unproven refutation the member is %v, want dead until it proves its links", answer, m.State)
		case !answer && (m.Incarnation != 2 || len(sent) == 0 || sent[0].State != codec.StateDead):
			t.Fatalf("notice unanswered: the member is dead at %d and the node gossiped %+v at 2, want its death raised to 2 and gossiped", m.Incarnation, sent)
		case answer && (m.Incarnation != 1 || len(sent) != 0):
			t.Fatalf("notice answered: the member is dead at %d and the node gossiped %+v at 2, want it left at 1", m.Incarnation, sent)
		}
		if got, want := r.core.Stats().TombstonesRaised, map[bool]uint64{false: 1, true: 0}[answer]; got != want {
			t.Fatalf("answering the notice %v: Stats.TombstonesRaised = %d, want %d", answer, got, want)
		}
	}
}

// claimReceiver returns a receiver that knows member 0x77 alive at
// generation 1, the member, and a builder of the sender's claims about it
// (a record of the member in a state at an incarnation, witnessed by the
// sender).
func claimReceiver(t *testing.T) (*receiver, engine.Member, func(codec.MemberState, uint32) func(*codec.Builder)) {
	t.Helper()
	r := newReceiver(t)
	subj := engine.Member{ID: 0x77, Addr: netip.MustParseAddrPort("10.0.0.3:7946"), Generation: 1, State: engine.StateAlive}
	r.core.Seed(r.now, []engine.Member{subj})
	claim := func(st codec.MemberState, inc uint32) func(b *codec.Builder) {
		return func(b *codec.Builder) {
			b.AddMember(&codec.Member{ID: uint64(subj.ID), Generation: 1, Incarnation: inc, State: st, Addr: subj.Addr, Witness: senderID})
		}
	}
	return r, subj, claim
}
