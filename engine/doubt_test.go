package engine_test

import (
	"net/netip"
	"testing"
	"time"

	"github.com/hearsay-io/hearsay/codec"
	"github.com/hearsay-io/hearsay/engine"
)

// TestBriefDoubtSurvivesTwoLostPings: a node that heard a member suspected
// (it did not accuse it) and then hears it declared dead pings it before
// taking the death (engine/doubt.go). With every ping to the member lost
// for 150 ms (the first two check pings, half a probe timeout apart), the
// member, which answers the third, stays alive; with all of them lost the
// death is taken within two probe timeouts. Before a brief
// doubt sent as many pings as any doubt (three), it sent two, and one lost
// round trip in about 2,500 at 1% loss per way made a live member dead on
// a node of its own side of a one-way cut (nemesis-one-way, 1,000 nodes,
// seed 3).
func TestBriefDoubtSurvivesTwoLostPings(t *testing.T) {
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
		r.send(t, codec.MsgGossip, claim(codec.StateDead))
		if st := stateOf(r.core, subj.ID); st != engine.StateSuspect {
			t.Fatalf("after the death was heard, the member is %v at once, want suspect while it is doubted", st)
		}
		start, checks, acked := r.now, 0, uint32(1)
		var deadAt time.Duration
		for step := 0; step < 400 && deadAt == 0; step++ {
			r.collect(subj, func(seq uint32, check bool) {
				if check {
					checks++
				}
				if !answer || r.now.Sub(start) < 150*time.Millisecond {
					return // lost
				}
				acked++
				r.core.Outbox().Reset()
				r.now = r.now.Add(time.Millisecond)
				r.core.Receive(r.now, subj.Addr, memberDatagram(t, subj.ID, codec.MsgAck, acked, func(b *codec.Builder) {
					b.AddAck(codec.Ack{Seq: seq, Target: uint64(subj.ID)})
				}))
			})
			if stateOf(r.core, subj.ID) == engine.StateDead {
				deadAt = r.now.Sub(start)
				break
			}
			r.now = r.now.Add(5 * time.Millisecond)
			r.core.Outbox().Reset()
			r.core.Tick(r.now)
		}
		pt := engine.DefaultLANConfig().ProbeTimeout
		switch {
		case answer && deadAt != 0:
			t.Errorf("the member answered pings from 150 ms on, yet was taken dead %v after the death was heard (%d pings carried the death)", deadAt, checks)
		case answer && checks < 3:
			t.Errorf("%d pings carried the death to the member, want at least 3", checks)
		case !answer && deadAt == 0:
			t.Errorf("the member answered no ping (%d carried the death), yet is not dead after 2 s", checks)
		case !answer && deadAt > 2*pt+50*time.Millisecond:
			t.Errorf("the member answered no ping, and was taken dead only %v after the death was heard (probe timeout %v)", deadAt, pt)
		}
		t.Logf("answering from 150 ms on: %v; %d pings carried the death; dead after %v", answer, checks, deadAt)
	}
}

// collect calls f with the sequence number of every ping in the core's
// outbox to m's address, and whether it carried m's death (a doubt's check
// ping); then empties the outbox.
func (r *receiver) collect(m engine.Member, f func(seq uint32, check bool)) {
	type ping struct {
		seq   uint32
		check bool
	}
	var pings []ping
	for _, msg := range r.core.Outbox().Messages() {
		if msg.Addr != m.Addr {
			continue
		}
		h, body, err := codec.Parse(msg.Buf)
		if err != nil || h.Type != codec.MsgPing {
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
					if x, _, err := codec.ParseMember(rd.Record(i)); err == nil && x.ID == uint64(m.ID) && x.State == codec.StateDead {
						p.check = true
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
		f(p.seq, p.check)
	}
}

// stateOf returns the state in which c holds id (0 if not at all).
func stateOf(c *engine.Core, id engine.ID) engine.State {
	for _, m := range c.Members(nil) {
		if m.ID == id {
			return m.State
		}
	}
	return 0
}

// memberDatagram builds a datagram of type typ from member id.
func memberDatagram(t testing.TB, id engine.ID, typ codec.MsgType, seq uint32, add func(b *codec.Builder)) []byte {
	t.Helper()
	var b codec.Builder
	b.Reset(make([]byte, 0, codec.MaxDatagramSize), 1400, codec.Header{
		Type:       typ,
		Cluster:    codec.ClusterID(engine.DefaultLANConfig().ClusterName),
		Sender:     uint64(id),
		Generation: 1,
		Seq:        seq,
	})
	add(&b)
	d := b.Finish()
	if d == nil {
		t.Fatal("datagram did not build")
	}
	return d
}

// TestDoubtWaitsForSlowMember: a node that holds a member alive and hears
// it declared dead pings it before taking the death (engine/doubt.go). A
// death declared across a one-way cut keeps coming back by anti-entropy
// until the member refutes; the member answered the first doubt of it, and
// its links then turned slow: it answers every ping of the next doubt, but
// 1.5 s late, and must stay alive. If it answers nothing, that death is
// taken once the last ping waited maxSlowRTT heartbeat intervals; a death
// the member never answered (a crash) is taken a probe timeout after the
// last ping, as before. The same holds when the member was suspected
// first (its slowness gets it suspected), where the doubt would otherwise
// be brief. When every doubt waited one probe timeout, the
// slow member was taken dead about a second after the death came back: in
// the nemesis mix (1,000 nodes, seed 2) one member's stale death, meeting
// its slowness, made 475 false deaths.
func TestDoubtWaitsForSlowMember(t *testing.T) {
	const late = 1500 * time.Millisecond
	cfg := engine.DefaultLANConfig()
	subj := engine.Member{ID: 0x78, Addr: netip.MustParseAddrPort("10.0.0.4:7946"), Generation: 1, State: engine.StateAlive}
	death := func(b *codec.Builder) {
		b.AddMember(&codec.Member{ID: uint64(subj.ID), Generation: 1, State: codec.StateDead, Addr: subj.Addr, Witness: senderID})
	}
	// doubt hears the death and answers its check pings after delay
	// (never when negative); it returns when the member was taken dead
	// (0: not within 10 s) and how many pings carried the death.
	acked := uint32(1)
	doubt := func(r *receiver, delay time.Duration, suspected bool) (deadAt time.Duration, checks int) {
		held := engine.StateAlive
		if suspected {
			r.send(t, codec.MsgGossip, func(b *codec.Builder) {
				b.AddMember(&codec.Member{ID: uint64(subj.ID), Generation: 1, State: codec.StateSuspect, Addr: subj.Addr, Witness: senderID})
			})
			held = engine.StateSuspect
		}
		r.send(t, codec.MsgGossip, death)
		if st := stateOf(r.core, subj.ID); st != held {
			t.Fatalf("after the death was heard, the member is %v at once, want %v while it is doubted", st, held)
		}
		start := r.now
		type due struct {
			at  engine.Time
			seq uint32
		}
		var acks []due
		for step := 0; step < 2000; step++ {
			r.collect(subj, func(seq uint32, check bool) {
				if check {
					checks++
					if delay >= 0 {
						acks = append(acks, due{r.now.Add(delay), seq})
					}
				}
			})
			for len(acks) > 0 && acks[0].at <= r.now {
				acked++
				r.core.Receive(r.now, subj.Addr, memberDatagram(t, subj.ID, codec.MsgAck, acked, func(b *codec.Builder) {
					b.AddAck(codec.Ack{Seq: acks[0].seq, Target: uint64(subj.ID)})
				}))
				acks = acks[1:]
			}
			if stateOf(r.core, subj.ID) == engine.StateDead {
				return r.now.Sub(start), checks
			}
			if delay >= 0 && len(acks) == 0 && checks > 0 {
				return 0, checks // answered, and nothing more on its way
			}
			r.now = r.now.Add(5 * time.Millisecond)
			r.core.Outbox().Reset()
			r.core.Tick(r.now)
		}
		return 0, checks
	}
	wait := 5 * cfg.HeartbeatInterval // maxSlowRTT heartbeat intervals
	for _, tc := range []struct{ answer, suspected bool }{{true, false}, {false, false}, {true, true}, {false, true}} {
		answer := tc.answer
		r := newReceiver(t)
		r.core.Seed(r.now, []engine.Member{subj})
		if dead, _ := doubt(r, 10*time.Millisecond, false); dead != 0 {
			t.Fatalf("the member answered at once, yet was taken dead after %v", dead)
		}
		r.now = r.now.Add(time.Second)
		delay := late
		if !answer {
			delay = -1
		}
		deadAt, checks := doubt(r, delay, tc.suspected)
		switch {
		case answer && deadAt != 0:
			t.Errorf("the member answered the death before and now answers every ping %v late, yet was taken dead %v after the death came back (%d pings carried it)", late, deadAt, checks)
		case answer && !stateOf(r.core, subj.ID).Live():
			t.Errorf("the member answered every ping %v late and is %v, want alive or suspect", late, stateOf(r.core, subj.ID))
		case !answer && deadAt == 0:
			t.Errorf("the member answered no ping of the death that came back (%d carried it), yet is not dead after 10 s", checks)
		case !answer && (deadAt < wait || deadAt > wait+2*time.Second):
			t.Errorf("the member answered no ping of the death that came back, and was taken dead %v after it, want %v to %v", deadAt, wait, wait+2*time.Second)
		}
		t.Logf("death back (suspected first: %v), answering %v late: %v; %d pings carried it; dead after %v", tc.suspected, late, answer, checks, deadAt)
	}
	// A death the member never answered: taken a probe timeout after the
	// last ping.
	r := newReceiver(t)
	r.core.Seed(r.now, []engine.Member{subj})
	for _, suspected := range []bool{false, true} {
		deadAt, checks := doubt(r, -1, suspected)
		if deadAt == 0 || deadAt > 2*time.Second {
			t.Errorf("a death the member never answered (suspected first: %v, %d pings) was taken after %v, want within 2 s", suspected, checks, deadAt)
		}
		t.Logf("first death (suspected first: %v), no answer: %d pings; dead after %v", suspected, checks, deadAt)
		r = newReceiver(t)
		r.core.Seed(r.now, []engine.Member{subj})
	}
}
