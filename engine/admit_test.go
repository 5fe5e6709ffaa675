package engine_test

import (
	"errors"
	"net/netip"
	"testing"

	"github.com/hearsay-io/hearsay/codec"
	"github.com/hearsay-io/hearsay/engine"
)

// gossipMember delivers, from the trusted sender, a record of member id at
// addr, generation gen, incarnation inc, alive.
func (m *msgCore) gossipMember(t *testing.T, id uint64, addr netip.AddrPort, gen uint64, inc uint32) {
	t.Helper()
	m.receive(t, senderAddr, codec.MsgGossip, func(b *codec.Builder) {
		b.AddMember(&codec.Member{ID: id, Generation: gen, Incarnation: inc, State: codec.StateAlive, Addr: addr})
	})
}

// lastEvent returns the last event of type typ, and whether there is one.
func (m *msgCore) lastEvent(typ engine.EventType) (engine.Event, bool) {
	for i := len(m.events) - 1; i >= 0; i-- {
		if m.events[i].Type == typ {
			return m.events[i], true
		}
	}
	return engine.Event{}, false
}

// TestAllowedPrefixesCore checks the allowlist at the gate and on records:
// a datagram from outside is dropped before anything else; a new member
// outside is refused; a held member that moves outside is removed from
// this node's view, not declared dead.
func TestAllowedPrefixesCore(t *testing.T) {
	m := newMsgCore(t, func(c *engine.Config) {
		c.AllowedPrefixes = []netip.Prefix{netip.MustParsePrefix("::ffff:10.0.0.0/120")} // 10.0.0.0/24, mapped
	})
	before := m.core.Stats()
	m.receive(t, strangeAddr, codec.MsgGossip, func(b *codec.Builder) {
		b.AddMember(&codec.Member{ID: 0x77, Generation: 1, State: codec.StateAlive, Addr: strangeAddr})
	})
	st := m.core.Stats()
	if st.DropAddr != before.DropAddr+1 || st.DatagramsIn != before.DatagramsIn+1 || st.DropMalformed != before.DropMalformed || st.In != before.In {
		t.Errorf("a datagram from outside: DropAddr +%d, counted by type %v; want DropAddr +1 only", st.DropAddr-before.DropAddr, st.In != before.In)
	}
	m.gossipMember(t, 0x78, netip.MustParseAddrPort("192.0.2.78:7946"), 1, 0)
	if _, ok := m.core.Member(0x78); ok || m.core.Stats().RefusedAddr != before.RefusedAddr+1 {
		t.Errorf("a new member outside was added, or not counted")
	}
	m.gossipMember(t, uint64(otherMember.ID), netip.MustParseAddrPort("192.0.2.3:7946"), 1, 1)
	if _, ok := m.core.Member(otherMember.ID); ok {
		t.Fatalf("a member that moved outside is still held")
	}
	e, ok := m.lastEvent(engine.EventRefused)
	if !ok || e.Member.ID != otherMember.ID || e.Member.State != engine.StateLeft || e.Member.Addr.Addr() != netip.MustParseAddr("192.0.2.3") {
		t.Errorf("EventRefused = %+v, %v; want the member at its refused address, left", e, ok)
	}
	if _, ok := m.lastEvent(engine.EventDead); ok {
		t.Errorf("a refused member was declared dead")
	}
	// An address refusal is not remembered: back inside, it is a member.
	m.gossipMember(t, uint64(otherMember.ID), otherAddr, 1, 2)
	if mm, ok := m.core.Member(otherMember.ID); !ok || mm.Addr != otherAddr {
		t.Errorf("a member back inside the allowed prefixes is not held: %+v, %v", mm, ok)
	}
}

// TestAdmitHookCore checks Config.Admit at the core: it sees a member's
// state, a refusal removes the member and is remembered for its
// generation, and a new generation is asked again.
func TestAdmitHookCore(t *testing.T) {
	var asked []engine.Member
	m := newMsgCore(t, func(c *engine.Config) {
		c.Admit = func(mm engine.Member, st engine.StateView) error {
			asked = append(asked, mm)
			if v, ok := st.Get([]byte("role")); ok && string(v) == "bad" {
				return errors.New("bad role")
			}
			return nil
		}
	})
	m.gossipMember(t, 0x91, netip.MustParseAddrPort("10.0.0.91:7946"), 1, 0)
	if _, ok := m.core.Member(0x91); !ok || len(asked) != 1 || asked[0].ID != 0x91 {
		t.Fatalf("a new member: held %v, asked %+v; want held, asked once", ok, asked)
	}
	state := func(owner uint64, gen, version uint64, role string) func(b *codec.Builder) {
		return func(b *codec.Builder) {
			b.AddState(&codec.StateEntry{Owner: owner, Generation: gen, Version: version, Key: []byte("role"), Value: []byte(role)})
		}
	}
	m.receive(t, senderAddr, codec.MsgGossip, state(0x91, 1, 1, "good"))
	if v, _, ok := m.core.State(0x91, []byte("role")); !ok || string(v) != "good" || len(asked) != 2 {
		t.Fatalf("state change: role %q, asked %d times; want good, twice", v, len(asked))
	}
	m.receive(t, senderAddr, codec.MsgGossip, state(0x91, 1, 2, "bad"))
	if _, ok := m.core.Member(0x91); ok {
		t.Fatalf("a member whose state the hook refuses is still held")
	}
	st := m.core.Stats()
	if st.RefusedByAdmit != 1 || st.RefusedHeld != 1 {
		t.Errorf("RefusedByAdmit %d, RefusedHeld %d; want 1, 1", st.RefusedByAdmit, st.RefusedHeld)
	}
	// Remembered: its records at that generation are dropped unasked.
	n := len(asked)
	m.gossipMember(t, 0x91, netip.MustParseAddrPort("10.0.0.91:7946"), 1, 5)
	if _, ok := m.core.Member(0x91); ok || len(asked) != n || m.core.Stats().RefusedRecords == 0 {
		t.Errorf("a refused member's record: held %v, asked %d more times, RefusedRecords %d; want dropped unasked, counted",
			ok, len(asked)-n, m.core.Stats().RefusedRecords)
	}
	// A restart is a new member to ask about.
	m.gossipMember(t, 0x91, netip.MustParseAddrPort("10.0.0.91:7946"), 2, 0)
	if _, ok := m.core.Member(0x91); !ok || len(asked) != n+1 {
		t.Errorf("a new generation: held %v, asked %d more times; want held, asked once", ok, len(asked)-n)
	}
	m.receive(t, senderAddr, codec.MsgGossip, state(0x91, 2, 1, "bad"))
	if _, ok := m.core.Member(0x91); ok {
		t.Fatalf("the new generation with a refused state is still held")
	}
	// A refused member gets nothing of the table: its sync is not
	// answered, not even with the Retry a stranger's would get.
	sync := func(sender uint64) int {
		var b codec.Builder
		b.Reset(make([]byte, 0, 1400), 1400, codec.Header{Type: codec.MsgSync, Cluster: codec.ClusterID("hearsay"), Sender: sender, Generation: 2, Seq: 1})
		b.AddDigest(codec.Digest{Count: 9, Sum: 0x1234})
		m.core.Outbox().Reset()
		m.core.Receive(m.now, netip.MustParseAddrPort("10.0.0.91:7946"), b.Finish())
		return m.core.Outbox().Len()
	}
	if n := sync(0x91); n != 0 {
		t.Errorf("a refused member's sync was answered with %d datagrams", n)
	}
	if n := sync(0x92); n != 1 {
		t.Errorf("a stranger's sync was answered with %d datagrams, want a Retry", n)
	}
}
