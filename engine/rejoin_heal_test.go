package engine_test

import (
	"net/netip"
	"testing"
	"time"

	"github.com/hearsay-io/hearsay/codec"
	"github.com/hearsay-io/hearsay/engine"
)

// TestRejoinTriesWhenDeadTalks checks that a node waiting to try its
// rejoin again tries at once when a member it holds dead talks to it (a
// partition that failed its tries may just have healed), and that it does
// so at most once per RejoinBackoffMax: a node on a bad link, which hears
// from members it holds dead now and then, keeps its back-off.
func TestRejoinTriesWhenDeadTalks(t *testing.T) {
	r := newReceiver(t)
	cfg := engine.DefaultLANConfig()
	ghost := netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 0, 2, 1}), 7946)
	r.send(t, codec.MsgGossip, func(b *codec.Builder) {
		addPeers(b)
		// A member held dead, from before this node knew it.
		b.AddMember(&codec.Member{ID: 0x30, Generation: 1, State: codec.StateDead, Addr: ghost, Witness: senderID})
	})
	r.tellDead(t)
	if m, ok := r.core.Member(0x30); !ok || m.State != engine.StateDead {
		t.Fatalf("member 0x30 held as %+v, %v; want dead", m, ok)
	}

	const step = 10 * time.Millisecond
	// tick advances d in steps and returns when the first rejoin try in
	// it sent its pings (none answered), or 0.
	tick := func(d time.Duration) engine.Time {
		for end := r.now.Add(d); r.now < end; {
			r.now = r.now.Add(step)
			r.core.Outbox().Reset()
			r.core.Tick(r.now)
			n := 0
			r.sentRecords(codec.RecPing, func(netip.AddrPort, []byte) { n++ })
			if n >= cfg.RejoinProbes {
				return r.now
			}
		}
		return 0
	}
	talk := func() {
		r.seq++
		r.core.Outbox().Reset()
		r.now = r.now.Add(time.Millisecond)
		r.core.Receive(r.now, ghost, memberDatagram(t, 0x30, codec.MsgGossip, r.seq, func(*codec.Builder) {}))
	}

	// Three tries fail: the wait before the fourth is 4 s at least.
	for i := range 3 {
		if tick(10*time.Second) == 0 {
			t.Fatalf("rejoin try %d did not come within 10 s", i+1)
		}
	}
	tick(2 * cfg.ProbeTimeout) // the third try fails
	talk()
	if at := tick(100 * time.Millisecond); at == 0 {
		t.Fatal("no rejoin try within 100 ms after a member held dead talked, in a wait of 4 s or more")
	}
	tick(2 * cfg.ProbeTimeout) // that try fails too
	talk()
	talked := r.now
	if at := tick(time.Second); at != 0 {
		t.Errorf("a rejoin try %v after a second talk within RejoinBackoffMax; want the back-off kept", time.Duration(at-talked))
	}
	if r.core.Incarnation() != 0 {
		t.Errorf("refuted (incarnation %d) although no try was answered", r.core.Incarnation())
	}
}
