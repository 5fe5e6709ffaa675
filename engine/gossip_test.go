package engine_test

import (
	"net/netip"
	"testing"
	"time"

	"github.com/hearsay-io/hearsay/codec"
	"github.com/hearsay-io/hearsay/engine"
)

// TestBacklogVerifiesQuietly: a gossip round widened by a backlog pushes
// only to members that answered this node at their address, and draws
// them from the few it verified. Such a round now also verifies more
// members with pings that carry nothing, so that the next rounds have as
// many distinct members to push to as the backlog calls for. Before, one
// member a round was verified (with the round's updates), and at 10,000
// nodes a round stopped widening at about 32 datagrams whatever the
// factor, with 3,000 deaths to spread (gossipbench nemesis-mass-crash).
// What the round sends to addresses that never answered stays bounded:
// one datagram of updates, and small empty pings.
func TestBacklogVerifiesQuietly(t *testing.T) {
	r := newReceiver(t)
	const n = 400
	members := make([]engine.Member, n)
	for i := range members {
		members[i] = engine.Member{ID: engine.ID(0x1000 + i), Generation: 1, State: engine.StateAlive,
			Addr: netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 1, byte(i / 200), byte(1 + i%200)}), 7946)}
	}
	r.core.Seed(r.now, members)
	// A backlog: the sender accuses 300 of them, 20 a datagram.
	for k := 0; k < 300; k += 20 {
		r.send(t, codec.MsgGossip, func(b *codec.Builder) {
			for _, m := range members[k : k+20] {
				b.AddMember(&codec.Member{ID: uint64(m.ID), Generation: 1, State: codec.StateSuspect, Addr: m.Addr, Witness: senderID})
			}
		})
	}
	addrs := map[netip.AddrPort]engine.ID{}
	for _, m := range members {
		addrs[m.Addr] = m.ID
	}
	// round runs the node for one gossip interval and returns what it sent
	// to members: empty pings (with their sequence numbers) and gossip
	// datagrams, by address. (Pings with updates go to a node's subjects
	// and helpers too, see monitor.go; they are not this test's.)
	type empty struct {
		addr netip.AddrPort
		seq  uint32
		size int
	}
	round := func() (quiet []empty, gossip map[netip.AddrPort]bool) {
		gossip = map[netip.AddrPort]bool{}
		end := r.now.Add(engine.DefaultLANConfig().GossipInterval)
		for r.now < end {
			r.now = r.now.Add(10 * time.Millisecond)
			r.core.Outbox().Reset()
			r.core.Tick(r.now)
			for _, msg := range r.core.Outbox().Messages() {
				if _, ok := addrs[msg.Addr]; !ok {
					continue
				}
				h, body, err := codec.Parse(msg.Buf)
				if err != nil {
					t.Fatal(err)
				}
				var rd codec.Reader
				rd.Reset(int(h.Sections), body)
				var seq uint32
				records := 0
				for rd.Next() {
					for i := 0; i < rd.Count(); i++ {
						if rd.Type() == codec.RecPing {
							p, _, _ := codec.ParsePing(rd.Record(i))
							seq = p.Seq
						} else {
							records++
						}
					}
				}
				switch {
				case h.Type == codec.MsgGossip:
					gossip[msg.Addr] = true
				case h.Type == codec.MsgPing && records == 0:
					quiet = append(quiet, empty{msg.Addr, seq, len(msg.Buf)})
				}
			}
		}
		return quiet, gossip
	}

	quiet, gossip := round()
	if len(gossip) != 0 {
		t.Errorf("gossip pushed to %d members that never answered", len(gossip))
	}
	if len(quiet) < 4 || len(quiet) > 32 {
		t.Fatalf("a round widened by 300 pending updates verified %d members with empty pings, want 4 to 32", len(quiet))
	}
	for _, q := range quiet {
		if q.size > 100 {
			t.Errorf("an empty verification ping of %d bytes, want a small one", q.size)
		}
	}
	// The members answer: the next rounds push to them.
	for _, q := range quiet {
		r.core.Outbox().Reset()
		r.now = r.now.Add(time.Millisecond)
		r.core.Receive(r.now, q.addr, memberDatagram(t, addrs[q.addr], codec.MsgAck, q.seq, func(b *codec.Builder) {
			b.AddAck(codec.Ack{Seq: q.seq, Target: uint64(addrs[q.addr])})
		}))
	}
	pushed := map[netip.AddrPort]bool{}
	for range 3 {
		_, g := round()
		for a := range g {
			pushed[a] = true
		}
	}
	answered := 0
	for _, q := range quiet {
		if pushed[q.addr] {
			answered++
		}
	}
	if answered < len(quiet)/2 {
		t.Errorf("of %d members verified by empty pings, %d were pushed to in the next rounds, want most", len(quiet), answered)
	}
}
