package engine_test

import (
	"net/netip"
	"testing"
	"time"

	"github.com/hearsay-io/hearsay/codec"
	"github.com/hearsay-io/hearsay/engine"
)

// receiver is one core fed hand-built datagrams.
type receiver struct {
	core *engine.Core
	now  engine.Time
	seq  uint32
}

var (
	receiverAddr = netip.MustParseAddrPort("10.0.0.1:7946")
	senderAddr   = netip.MustParseAddrPort("10.0.0.2:7946")
)

const senderID = 0x5eed

func newReceiver(t *testing.T) *receiver {
	t.Helper()
	cfg := engine.DefaultLANConfig()
	cfg.Open = true
	cfg.ID = 0x1
	cfg.Generation = 1
	r := &receiver{now: engine.Time(time.Hour)}
	c, err := engine.NewCore(cfg, engine.Env{Addr: receiverAddr, Now: r.now, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	// The sender is a member the core knows at its address, so that what
	// it tells is taken first-hand (see engine/admission.go).
	c.Seed(r.now, []engine.Member{senderMember})
	r.core = c
	return r
}

// senderMember is the sender as the receiver knows it.
var senderMember = engine.Member{ID: senderID, Addr: senderAddr, Generation: 1, State: engine.StateAlive}

// send delivers a datagram of type typ from the sender, with the records
// add writes.
func (r *receiver) send(t *testing.T, typ codec.MsgType, add func(b *codec.Builder)) {
	t.Helper()
	r.seq++
	d := senderDatagram(t, typ, r.seq, add)
	r.core.Outbox().Reset()
	r.now = r.now.Add(time.Millisecond)
	r.core.Receive(r.now, senderAddr, d)
}

// TestUnknownTypeIgnored checks the codec's contract that a receiver
// ignores, and counts, datagrams of kinds it does not know, even when they
// carry records it would otherwise apply.
func TestUnknownTypeIgnored(t *testing.T) {
	r := newReceiver(t)
	before := r.core.Stats()
	r.send(t, codec.MsgType(200), func(b *codec.Builder) {
		b.AddMember(&codec.Member{ID: 0x77, Generation: 1, State: codec.StateAlive,
			Addr: netip.MustParseAddrPort("10.0.0.7:7946")})
		b.AddPing(codec.Ping{Seq: 1, Target: 0x1})
	})
	st := r.core.Stats()
	if st.DropUnknownType != before.DropUnknownType+1 {
		t.Errorf("DropUnknownType = %d, want %d", st.DropUnknownType, before.DropUnknownType+1)
	}
	if _, ok := r.core.Member(0x77); ok {
		t.Error("a member announced in a datagram of unknown type was added")
	}
	if n := r.core.Outbox().Len(); n != 0 {
		t.Errorf("%d datagrams sent in answer to an unknown type", n)
	}
}

// TestOnePingAnsweredPerDatagram checks that a datagram of many pings is
// answered by one ack, so that a spoofed source cannot turn a node into an
// amplifier, and that the ignored pings are counted.
func TestOnePingAnsweredPerDatagram(t *testing.T) {
	r := newReceiver(t)
	const pings = 40
	r.send(t, codec.MsgPing, func(b *codec.Builder) {
		for i := range pings {
			if !b.AddPing(codec.Ping{Seq: uint32(i + 1), Target: 0x1}) {
				t.Fatalf("ping %d did not fit", i)
			}
		}
	})
	acks := 0
	for _, m := range r.core.Outbox().Messages() {
		h, err := codec.ParseHeader(m.Buf)
		if err != nil {
			t.Fatal(err)
		}
		if h.Type == codec.MsgAck {
			acks++
		}
	}
	if acks != 1 {
		t.Errorf("%d acks for one datagram of %d pings, want 1", acks, pings)
	}
	if got := r.core.Stats().RefusedRequests; got != pings-1 {
		t.Errorf("RefusedRequests = %d, want %d", got, pings-1)
	}
}

// sendValidated delivers a request from the sender like send, and, if the
// core answers with a Retry carrying a token, delivers it again with an
// Echo of the token.
func (r *receiver) sendValidated(t *testing.T, typ codec.MsgType, add func(b *codec.Builder)) {
	t.Helper()
	r.send(t, typ, add)
	var e codec.Echo
	r.sentRecords(codec.RecRetry, func(to netip.AddrPort, rec []byte) {
		if x, _, err := codec.ParseRetry(rec); err == nil && to == senderAddr && x.Token != 0 {
			e = codec.Echo{Token: x.Token, Epoch: x.Epoch}
		}
	})
	if e.Token != 0 {
		r.send(t, typ, func(b *codec.Builder) { b.AddEcho(e); add(b) })
	}
}

// sentRecords calls f with every record of type rt in the datagrams in the
// core's outbox, and the address each datagram goes to.
func (r *receiver) sentRecords(rt codec.RecType, f func(to netip.AddrPort, rec []byte)) {
	for _, msg := range r.core.Outbox().Messages() {
		h, body, err := codec.Parse(msg.Buf)
		if err != nil {
			continue
		}
		var rd codec.Reader
		rd.Reset(int(h.Sections), body)
		for rd.Next() {
			if rd.Type() != rt {
				continue
			}
			for i := 0; i < rd.Count(); i++ {
				f(msg.Addr, rd.Record(i))
			}
		}
	}
}

// senderDatagram builds a datagram of type typ from the sender, with the
// records add writes.
func senderDatagram(t testing.TB, typ codec.MsgType, seq uint32, add func(b *codec.Builder)) []byte {
	t.Helper()
	return memberDatagram(t, senderID, typ, seq, add)
}
