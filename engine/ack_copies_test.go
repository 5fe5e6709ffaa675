package engine_test

import (
	"net/netip"
	"testing"
	"time"

	"github.com/hearsay-io/hearsay/codec"
	"github.com/hearsay-io/hearsay/engine"
)

// TestAckCopiesForClaims: a ping that comes with a claim that this node
// is suspect or dead (a doubt's, watch's or revival's check) is answered
// with as many acks as a probe sends pings at the loss the node expects
// (two at the 10% assumed before an estimate), within the reply budget the
// ping pays for by its size; a ping without a claim, or one too small to
// pay for the copies, gets one ack. With one ack per ping, six acks to a
// member's checks were lost together at 30% loss and the member was
// declared dead (the nemesis mix at 1,000 nodes, seed 2).
func TestAckCopiesForClaims(t *testing.T) {
	ackSize := codec.HeaderSize + 2*codec.SectionHeaderSize + codec.MemberSize + codec.AckSize
	for _, tc := range []struct {
		name  string
		claim bool
		pad   int
		want  int
	}{
		{"claim, paid for", true, 2 * ackSize, 2},
		{"claim, not paid for", true, 0, 1},
		{"no claim, paid for", false, 2 * ackSize, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newReceiver(t)
			d := senderDatagram(t, codec.MsgPing, 1, func(b *codec.Builder) {
				b.AddPing(codec.Ping{Seq: 42, Target: 1})
				if tc.claim {
					b.AddMember(&codec.Member{ID: 1, Generation: 1, State: codec.StateSuspect, Addr: receiverAddr, Witness: senderID})
				}
			})
			d = append(d, make([]byte, max(0, tc.pad-len(d)))...)
			r.core.Outbox().Reset()
			r.now = r.now.Add(1)
			r.core.Receive(r.now, senderAddr, d)
			acks := 0
			r.sentRecords(codec.RecAck, func(to netip.AddrPort, rec []byte) {
				if a, _, err := codec.ParseAck(rec); err == nil && to == senderAddr && a.Seq == 42 && engine.ID(a.Target) == 1 {
					acks++
				}
			})
			if acks != tc.want {
				t.Errorf("%d acks to a ping of %d bytes, want %d", acks, len(d), tc.want)
			}
			if got := int(r.core.Stats().AckCopies); got != tc.want-1 {
				t.Errorf("Stats.AckCopies = %d, want %d", got, tc.want-1)
			}
		})
	}
}

// TestClaimPingsPayForCopies: a check ping that carries a claim against
// the member it goes to (here a brief doubt's three, with the death) is
// padded to pay, in the member's reply budget, for the copies of the ack
// it calls for (TestAckCopiesForClaims): two acks with the member's record
// at the 10% loss assumed before an estimate. (Other pings to the member,
// a probe's, carry the death only as gossip the doubt forwards; they are
// not padded.)
func TestClaimPingsPayForCopies(t *testing.T) {
	ackSize := codec.HeaderSize + 2*codec.SectionHeaderSize + codec.MemberSize + codec.AckSize
	r, subj, claim := withSubject(t)
	r.send(t, codec.MsgGossip, claim(codec.StateSuspect))
	r.send(t, codec.MsgGossip, claim(codec.StateDead))
	seqs := map[uint32]int{} // padded pings carrying the death, by sequence
	for step := 0; step < 100; step++ {
		for _, msg := range r.core.Outbox().Messages() {
			h, body, err := codec.Parse(msg.Buf)
			if err != nil || h.Type != codec.MsgPing || msg.Addr != subj.Addr || len(msg.Buf) < 2*ackSize {
				continue
			}
			var rd codec.Reader
			rd.Reset(int(h.Sections), body)
			var seq uint32
			claims := false
			for rd.Next() {
				for i := 0; i < rd.Count(); i++ {
					switch rd.Type() {
					case codec.RecPing:
						p, _, _ := codec.ParsePing(rd.Record(i))
						seq = p.Seq
					case codec.RecMember:
						m, _, err := codec.ParseMember(rd.Record(i))
						claims = claims || err == nil && engine.ID(m.ID) == subj.ID && m.State == codec.StateDead
					}
				}
			}
			if claims {
				seqs[seq]++
			}
		}
		r.now = r.now.Add(5 * time.Millisecond)
		r.core.Outbox().Reset()
		r.core.Tick(r.now)
	}
	n := 0
	for _, k := range seqs {
		n += k
	}
	if len(seqs) != 1 || n < 3 {
		t.Errorf("padded pings carrying the death: %d, under %d sequences; want the doubt's 3 pings (with copies), under one", n, len(seqs))
	}
}
