package engine_test

import (
	"bytes"
	"errors"
	"net/netip"
	"testing"
	"time"

	"github.com/hearsay-io/hearsay/codec"
	"github.com/hearsay-io/hearsay/engine"
)

// msgCore is a core fed hand-built datagrams, recording its events.
type msgCore struct {
	core   *engine.Core
	now    engine.Time
	seq    uint32
	events []engine.Event
}

func newMsgCore(t *testing.T, tweak func(*engine.Config)) *msgCore {
	t.Helper()
	cfg := engine.DefaultLANConfig()
	cfg.Open = true
	cfg.ID = 0x1
	cfg.Generation = 1
	if tweak != nil {
		tweak(&cfg)
	}
	m := &msgCore{now: engine.Time(time.Hour)}
	c, err := engine.NewCore(cfg, engine.Env{Addr: receiverAddr, Now: m.now, Seed: 1,
		OnEvent: func(e engine.Event) { m.events = append(m.events, e) }})
	if err != nil {
		t.Fatal(err)
	}
	c.Seed(m.now, []engine.Member{senderMember, otherMember})
	m.core = c
	return m
}

var (
	otherAddr   = netip.MustParseAddrPort("10.0.0.3:7946")
	otherMember = engine.Member{ID: 0x0123, Addr: otherAddr, Generation: 1, State: engine.StateAlive}
	strangeAddr = netip.MustParseAddrPort("192.0.2.9:7946")
)

// receive delivers a datagram of type typ from the sender's ID at from.
func (m *msgCore) receive(t *testing.T, from netip.AddrPort, typ codec.MsgType, add func(b *codec.Builder)) {
	t.Helper()
	m.seq++
	d := senderDatagram(t, typ, m.seq, add)
	m.core.Outbox().Reset()
	m.now = m.now.Add(time.Millisecond)
	m.core.Receive(m.now, from, d)
}

// messages returns the payloads of the EventMessage events so far.
func (m *msgCore) messages() []string {
	var out []string
	for _, e := range m.events {
		if e.Type == engine.EventMessage {
			out = append(out, string(e.Payload))
		}
	}
	return out
}

func sendFrom(seq uint32, p string) func(b *codec.Builder) {
	return func(b *codec.Builder) {
		b.AddUser(codec.UserMsg{Origin: senderID, Generation: 1, Seq: seq}, []byte(p))
	}
}

// TestSendReceived checks what a node takes from a Send: a message from the
// member itself at its address, once, within its rate; and that it never
// answers one, not even with a Verdict to a member it holds suspect.
func TestSendReceived(t *testing.T) {
	m := newMsgCore(t, func(c *engine.Config) { c.MaxMessageRate = 16 }) // two a second from one member
	m.receive(t, senderAddr, codec.MsgUser, sendFrom(1, "one"))
	if got := m.messages(); len(got) != 1 || got[0] != "one" {
		t.Fatalf("messages = %q, want [one]", got)
	}
	e := m.events[len(m.events)-1]
	if e.Broadcast || e.Member.ID != senderID || e.Member.Addr != senderAddr {
		t.Errorf("event = %+v, want a message (not a broadcast) from %v", e, senderMember)
	}
	if n := m.core.Outbox().Len(); n != 0 {
		t.Errorf("%d datagrams sent in answer to a user message", n)
	}
	refused := func() uint64 { return m.core.Stats().SendsRefused }
	for _, c := range []struct {
		name string
		from netip.AddrPort
		typ  codec.MsgType
		add  func(b *codec.Builder)
	}{
		{"from another address", strangeAddr, codec.MsgUser, sendFrom(2, "x")},
		{"written by another member", senderAddr, codec.MsgUser, func(b *codec.Builder) {
			b.AddUser(codec.UserMsg{Origin: uint64(otherMember.ID), Generation: 1, Seq: 2}, []byte("x"))
		}},
		{"of another generation", senderAddr, codec.MsgUser, func(b *codec.Builder) {
			b.AddUser(codec.UserMsg{Origin: senderID, Generation: 2, Seq: 2}, []byte("x"))
		}},
		{"in a gossip datagram", senderAddr, codec.MsgGossip, sendFrom(2, "x")},
		{"second in its datagram", senderAddr, codec.MsgUser, func(b *codec.Builder) {
			b.AddUser(codec.UserMsg{Origin: senderID, Generation: 1, Seq: 2}, []byte("y"))
			b.AddUser(codec.UserMsg{Origin: senderID, Generation: 1, Seq: 3}, []byte("x"))
		}},
	} {
		before, n := refused(), len(m.messages())
		m.receive(t, c.from, c.typ, c.add)
		if got := m.messages(); len(got) > n && got[len(got)-1] == "x" || refused() == before {
			t.Errorf("%s: delivered %q, SendsRefused %d -> %d; want refused and counted", c.name, got[n:], before, refused())
		}
	}
	// A duplicate is delivered once.
	dups := m.core.Stats().MessageDuplicates
	n := len(m.messages())
	m.receive(t, senderAddr, codec.MsgUser, sendFrom(1, "one"))
	if len(m.messages()) != n || m.core.Stats().MessageDuplicates != dups+1 {
		t.Errorf("a duplicate was delivered, or not counted")
	}
	// Over the member's rate (2 a second, a burst of 2): refused.
	m.now = m.now.Add(10 * time.Second)
	before := refused()
	for s := uint32(10); s < 14; s++ {
		m.receive(t, senderAddr, codec.MsgUser, sendFrom(s, "burst"))
	}
	if got := refused() - before; got != 2 {
		t.Errorf("a burst of 4 at a rate of 2: %d refused, want 2", got)
	}
	// No answer, not even a Verdict, to a member held suspect.
	m.receive(t, senderAddr, codec.MsgGossip, func(b *codec.Builder) {
		b.AddMember(&codec.Member{ID: senderID, Generation: 1, State: codec.StateSuspect, Addr: senderAddr, Witness: 0x77})
	})
	if mm, _ := m.core.Member(senderID); mm.State != engine.StateSuspect {
		t.Fatalf("the sender is %v, want suspect", mm.State)
	}
	m.now = m.now.Add(10 * time.Second)
	m.receive(t, senderAddr, codec.MsgUser, sendFrom(20, "still"))
	if n := m.core.Outbox().Len(); n != 0 {
		t.Errorf("%d datagrams sent in answer to a user message from a suspect", n)
	}
}

// TestBroadcastRelayed checks that a broadcast from a trusted source is
// delivered once and queued to be relayed, and one from elsewhere refused.
func TestBroadcastRelayed(t *testing.T) {
	m := newMsgCore(t, nil)
	bcast := func(seq uint32, p string) func(b *codec.Builder) {
		return func(b *codec.Builder) {
			b.AddUser(codec.UserMsg{Origin: uint64(otherMember.ID), Generation: 1, Seq: seq, Broadcast: true}, []byte(p))
		}
	}
	m.receive(t, senderAddr, codec.MsgGossip, bcast(1, "all"))
	if got := m.messages(); len(got) != 1 || got[0] != "all" || !m.events[len(m.events)-1].Broadcast ||
		m.events[len(m.events)-1].Member.ID != otherMember.ID {
		t.Fatalf("messages = %q (last event %+v), want [all], a broadcast from %v", got, m.events[len(m.events)-1], otherMember.ID)
	}
	if st := m.core.Stats(); st.BroadcastQueue != 1 || st.BroadcastQueueBytes != 3 {
		t.Errorf("queue %d broadcasts, %d bytes; want 1, 3: a broadcast is relayed", st.BroadcastQueue, st.BroadcastQueueBytes)
	}
	m.receive(t, senderAddr, codec.MsgHeartbeat, bcast(1, "all"))
	if len(m.messages()) != 1 {
		t.Errorf("a broadcast was delivered twice")
	}
	before := m.core.Stats().BroadcastsRefused
	m.receive(t, strangeAddr, codec.MsgGossip, bcast(2, "forged"))
	m.receive(t, senderAddr, codec.MsgGossip, func(b *codec.Builder) {
		b.AddUser(codec.UserMsg{Origin: 0xbad, Generation: 1, Seq: 1, Broadcast: true}, []byte("forged"))
	})
	m.receive(t, senderAddr, codec.MsgGossip, bcast(1+1<<20, "forged")) // far ahead of the window
	if got := m.messages(); len(got) != 1 || m.core.Stats().BroadcastsRefused != before+3 {
		t.Errorf("messages %q, BroadcastsRefused +%d; want only [all], 3 refused", got, m.core.Stats().BroadcastsRefused-before)
	}
	// A payload section without its user message is malformed.
	malformed := m.core.Stats().DropMalformed
	d := senderDatagram(t, codec.MsgGossip, 99, func(b *codec.Builder) { b.AddUser(codec.UserMsg{Origin: 1, Seq: 1, Broadcast: true}, []byte("x")) })
	d[codec.HeaderSize] = byte(codec.RecMember) // the UserMsg section's type
	d[codec.HeaderSize+1] = codec.UserMsgSize
	m.core.Receive(m.now, senderAddr, d)
	if m.core.Stats().DropMalformed != malformed+1 {
		t.Errorf("an orphan payload section was not dropped as malformed")
	}
}

// TestBroadcastQueueBounds checks that the user lane drops its oldest
// broadcasts when full, counted, and that membership updates go first.
func TestBroadcastQueueBounds(t *testing.T) {
	m := newMsgCore(t, func(c *engine.Config) { c.MaxBroadcasts = 4 })
	for i := range 6 {
		if err := m.core.Broadcast(m.now, []byte{byte(i)}); err != nil {
			t.Fatal(err)
		}
	}
	st := m.core.Stats()
	if st.BroadcastQueue != 4 || st.BroadcastsDropped != 2 || st.BroadcastsSent != 6 {
		t.Errorf("queue %d, dropped %d, sent %d; want 4, 2, 6", st.BroadcastQueue, st.BroadcastsDropped, st.BroadcastsSent)
	}
	big := make([]byte, engine.DefaultLANConfig().MaxMessageSize())
	if err := m.core.Broadcast(m.now, append(big, 0)); !errors.Is(err, engine.ErrMessageSize) {
		t.Errorf("Broadcast(MaxMessageSize+1 bytes) = %v, want %v", err, engine.ErrMessageSize)
	}
	if err := m.core.Broadcast(m.now, big); err != nil {
		t.Errorf("Broadcast(MaxMessageSize bytes) = %v", err)
	}
	if err := m.core.Send(m.now, 0x999, []byte("x")); !errors.Is(err, engine.ErrNoMember) {
		t.Errorf("Send(unknown) = %v, want %v", err, engine.ErrNoMember)
	}
	if err := m.core.Send(m.now, m.core.ID(), []byte("x")); !errors.Is(err, engine.ErrNoMember) {
		t.Errorf("Send(self) = %v, want %v", err, engine.ErrNoMember)
	}
}

// TestBroadcastAfterUpdates checks that a datagram carries user broadcasts
// only in the room membership updates leave.
func TestBroadcastAfterUpdates(t *testing.T) {
	m := newMsgCore(t, nil)
	m.core.Broadcast(m.now, bytes.Repeat([]byte("b"), 600))
	// Forty new members by gossip from the trusted sender: 40 updates to
	// relay, more than one datagram holds.
	m.receive(t, senderAddr, codec.MsgGossip, func(b *codec.Builder) {
		for i := range 20 {
			b.AddMember(&codec.Member{ID: uint64(0x1000 + i), Generation: 1, State: codec.StateAlive,
				Addr: netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 1, 0, byte(i)}), 7946)})
		}
	})
	m.receive(t, senderAddr, codec.MsgGossip, func(b *codec.Builder) {
		for i := range 20 {
			b.AddMember(&codec.Member{ID: uint64(0x2000 + i), Generation: 1, State: codec.StateAlive,
				Addr: netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 2, 0, byte(i)}), 7946)})
		}
	})
	m.core.Outbox().Reset()
	m.now = m.now.Add(time.Second)
	m.core.Tick(m.now) // a heartbeat, pings and a gossip round, all piggybacking
	full := 0
	for _, msg := range m.core.Outbox().Messages() {
		h, body, err := codec.Parse(msg.Buf[:msg.N])
		if err != nil {
			t.Fatal(err)
		}
		var r codec.Reader
		r.Reset(int(h.Sections), body)
		members, user := 0, false
		for r.Next() {
			switch r.Type() {
			case codec.RecMember:
				members += r.Count()
			case codec.RecUser:
				user = true
				r.User()
			}
		}
		if members >= 20 {
			full++
			if user {
				t.Errorf("a %v datagram holds %d member updates and a 600-byte broadcast, which cannot both fit", h.Type, members)
			}
		}
	}
	if full == 0 {
		t.Fatal("no datagram full of member updates")
	}
}
