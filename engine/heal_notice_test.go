package engine_test

import (
	"net/netip"
	"testing"
	"time"

	"github.com/hearsay-io/hearsay/codec"
	"github.com/hearsay-io/hearsay/engine"
)

// noticePad is the least size of a heal notice in an open cluster: the
// ping, the dead record, and the member's answer (ack and own record).
const noticePad = codec.HeaderSize + codec.SectionHeaderSize + codec.PingSize +
	codec.SectionHeaderSize + codec.MemberSize +
	codec.HeaderSize + codec.SectionHeaderSize + codec.MemberSize

// TestHealNotices: once a member held dead has talked to a node (a heal),
// the node tells the members it still holds dead so, one a heartbeat
// interval, with a ping carrying the dead record, padded so that the
// member may answer with its own record within the reply budget of an
// address that has not proven itself; and it stops ten heartbeat
// intervals after the last such talk. A node that missed the rumour of a
// member's return otherwise held it dead until its periodic exchange: at
// 30% loss on every link, 300 nodes, a one-way cut healed, one node held
// one member dead 9 to 17 s after the heal while every other node saw
// every node alive after 5 s (TestOneWayHealUnderLoss, seeds 5 and 7).
// Without the notices, no such ping is sent.
func TestHealNotices(t *testing.T) {
	r, subj, claim := withSubject(t)
	r.send(t, codec.MsgGossip, claim(codec.StateDead))
	for step := 0; step < 400 && stateOf(r.core, subj.ID) != engine.StateDead; step++ {
		r.now = r.now.Add(10 * time.Millisecond)
		r.core.Outbox().Reset()
		r.core.Tick(r.now) // the doubt's pings go unanswered
	}
	if st := stateOf(r.core, subj.ID); st != engine.StateDead {
		t.Fatalf("the member is %v after its doubt, want dead", st)
	}
	// The member talks to the node from its address: a partition healed.
	r.core.Outbox().Reset()
	r.now = r.now.Add(time.Millisecond)
	r.core.Receive(r.now, subj.Addr, memberDatagram(t, subj.ID, codec.MsgPing, 1, func(b *codec.Builder) {
		b.AddPing(codec.Ping{Seq: 7, Target: 0x1})
	}))
	r.core.Outbox().Reset()
	talked := r.now
	var notices []time.Duration
	for r.now < talked.Add(15*time.Second) {
		r.now = r.now.Add(50 * time.Millisecond)
		r.core.Tick(r.now)
		for _, msg := range r.core.Outbox().Messages() {
			h, _, err := codec.Parse(msg.Buf)
			if err != nil || msg.Addr != subj.Addr || h.Type != codec.MsgPing {
				continue
			}
			if len(msg.Buf) < noticePad {
				t.Errorf("a notice of %d bytes, want at least %d (the answer it pays for)", len(msg.Buf), noticePad)
			}
		}
		r.collectClaims(subj, func(_ uint32, st codec.MemberState) {
			if st == codec.StateDead {
				notices = append(notices, r.now.Sub(talked))
			}
		})
	}
	hb := engine.DefaultLANConfig().HeartbeatInterval
	switch {
	case len(notices) < 8 || len(notices) > 11:
		t.Errorf("%d pings told the member it is held dead in the 15 s after it talked (at %v), want about one a heartbeat interval (%v) for 10 of them", len(notices), notices, hb)
	case notices[0] > hb+100*time.Millisecond:
		t.Errorf("the first notice went %v after the member talked, want within %v", notices[0], hb)
	case notices[len(notices)-1] > 10*hb+100*time.Millisecond:
		t.Errorf("a notice went %v after the member talked, want none after %v", notices[len(notices)-1], 10*hb)
	}
	t.Logf("notices at %v after the member talked", notices)
}

// TestNoticeAnswered: a member that refuted receives, from an address that
// has not proven itself, a ping carrying an older death of it, padded as
// heal notices are; it answers the ping and sends its own record. Not
// padded, the ping is answered but the record is not sent: it does not
// fit the reply budget.
func TestNoticeAnswered(t *testing.T) {
	r := newReceiver(t)
	// Suspected, it refutes: incarnation 1.
	r.send(t, codec.MsgGossip, func(b *codec.Builder) {
		b.AddMember(&codec.Member{ID: 0x1, Generation: 1, State: codec.StateSuspect, Addr: receiverAddr, Witness: senderID})
	})
	r.now = r.now.Add(2 * time.Second)
	r.core.Tick(r.now)
	const stranger = 0x99
	from := netip.AddrPortFrom(senderAddr.Addr(), senderAddr.Port()+1) // an address the node never sent to
	d := memberDatagram(t, stranger, codec.MsgPing, 1, func(b *codec.Builder) {
		b.AddPing(codec.Ping{Seq: 9, Target: 0x1})
		b.AddMember(&codec.Member{ID: 0x1, Generation: 1, Incarnation: 0, State: codec.StateDead, Addr: receiverAddr, Witness: stranger})
	})
	padded := append(d, make([]byte, noticePad-len(d))...)
	r.core.Outbox().Reset()
	r.now = r.now.Add(time.Millisecond)
	r.core.Receive(r.now, from, padded)
	acked, told := false, false
	for _, msg := range r.core.Outbox().Messages() {
		h, body, err := codec.Parse(msg.Buf)
		if err != nil || msg.Addr != from {
			continue
		}
		var rd codec.Reader
		rd.Reset(int(h.Sections), body)
		for rd.Next() {
			for i := 0; i < rd.Count(); i++ {
				switch rd.Type() {
				case codec.RecAck:
					if a, _, err := codec.ParseAck(rd.Record(i)); err == nil && a.Seq == 9 {
						acked = true
					}
				case codec.RecMember:
					if m, _, err := codec.ParseMember(rd.Record(i)); err == nil && m.ID == 0x1 && m.State == codec.StateAlive && m.Incarnation >= 1 {
						told = true
					}
				}
			}
		}
	}
	if !acked || !told {
		t.Errorf("answered the padded notice: ack %v, own record %v; want both", acked, told)
	}
}
