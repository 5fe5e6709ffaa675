package engine_test

import (
	"net/netip"
	"testing"
	"time"

	"github.com/hearsay-io/hearsay/codec"
	"github.com/hearsay-io/hearsay/engine"
	"github.com/hearsay-io/hearsay/ring"
)

// TestTombstoneOfUnknownMember checks what a node does with the tombstone
// of a member it does not hold: it keeps it, silently, for what is left of
// the retention the sender's wear says, so that an old live record of the
// member cannot bring it back; and it refuses one that is worn out.
func TestTombstoneOfUnknownMember(t *testing.T) {
	r := newReceiver(t)
	retention := engine.DefaultLANConfig().TombstoneRetention
	const dead, wornOut = 0x77, 0x78
	addr := netip.MustParseAddrPort("10.0.0.7:7946")
	before := r.core.Stats()
	r.send(t, codec.MsgGossip, func(b *codec.Builder) {
		b.AddMember(&codec.Member{ID: dead, Generation: 3, Incarnation: 2, State: codec.StateDead, Addr: addr, Flags: 128})
		b.AddMember(&codec.Member{ID: wornOut, Generation: 1, State: codec.StateDead, Addr: addr, Flags: 255})
	})
	after := r.core.Stats()
	if m, ok := r.core.Member(dead); !ok || m.State != engine.StateDead || m.Generation != 3 || m.Incarnation != 2 {
		t.Fatalf("member %#x = %+v, %v; want its tombstone, dead at generation 3, incarnation 2", dead, m, ok)
	}
	if _, ok := r.core.Member(wornOut); ok {
		t.Errorf("a worn-out tombstone (wear 255) was kept")
	}
	if got := after.TombstonesAdopted - before.TombstonesAdopted; got != 1 {
		t.Errorf("TombstonesAdopted rose by %d, want 1", got)
	}
	if after.Events != before.Events {
		t.Errorf("adopting a tombstone emitted %d events; it is not news", after.Events-before.Events)
	}
	if after.QueueDepth != before.QueueDepth {
		t.Errorf("adopting a tombstone queued %d updates for gossip", after.QueueDepth-before.QueueDepth)
	}

	// An old live record of the member, replayed, changes nothing.
	r.send(t, codec.MsgGossip, func(b *codec.Builder) {
		b.AddMember(&codec.Member{ID: dead, Generation: 3, Incarnation: 2, State: codec.StateAlive, Addr: addr})
		b.AddMember(&codec.Member{ID: dead, Generation: 3, Incarnation: 1, State: codec.StateSuspect, Addr: addr})
	})
	if m, _ := r.core.Member(dead); m.State != engine.StateDead {
		t.Errorf("after an old ALIVE and SUSPECT record, member is %v, want dead", m.State)
	}

	// Wear 128 of 255: about half the retention is left. The tombstone is
	// reaped then, not a whole retention after it arrived.
	left := time.Duration(int64(retention) * (255 - 128) / 255)
	arrived := r.now
	r.core.Tick(arrived.Add(left - time.Second))
	if _, ok := r.core.Member(dead); !ok {
		t.Fatalf("tombstone reaped before what was left of its retention (%v)", left)
	}
	r.core.Tick(arrived.Add(left + time.Second))
	if _, ok := r.core.Member(dead); ok {
		t.Errorf("tombstone still held %v after it arrived with %v of its retention left", left+time.Second, left)
	}
}

// TestTombstoneWearOnTheWire checks that a node tells a tombstone's wear
// as it grows, so that tombstones cannot outlive their retention by
// travelling from node to node: a node that believes the sender dead tells
// it so (a Verdict), and the tombstone it serves in a shard transfer
// carries at least the wear it was given, plus the time it held it.
func TestTombstoneWearOnTheWire(t *testing.T) {
	r := newReceiver(t)
	retention := engine.DefaultLANConfig().TombstoneRetention
	// The sender tells of a member the receiver never held, dead, with a
	// tombstone worn 100/255.
	const dead = 0xdead
	deadAddr := netip.MustParseAddrPort("10.0.0.9:7946")
	r.send(t, codec.MsgGossip, func(b *codec.Builder) {
		b.AddMember(&codec.Member{ID: dead, Generation: 1, State: codec.StateDead, Addr: deadAddr, Flags: 100})
	})
	// A quarter of the retention later, the "dead" member talks: the
	// receiver tells it what it believes.
	r.now = r.now.Add(retention / 4)
	r.core.Tick(r.now)
	var b codec.Builder
	b.Reset(make([]byte, 0, codec.MaxDatagramSize), 1400, codec.Header{
		Type: codec.MsgGossip, Cluster: codec.ClusterID(engine.DefaultLANConfig().ClusterName),
		Sender: dead, Generation: 1, Seq: 1,
	})
	b.AddHeartbeat(codec.Heartbeat{Counter: 1})
	r.core.Outbox().Reset()
	r.now = r.now.Add(time.Millisecond)
	r.core.Receive(r.now, deadAddr, b.Finish())
	told := false
	r.sentRecords(codec.RecVerdict, func(to netip.AddrPort, rec []byte) {
		if v, _, err := codec.ParseVerdict(rec); err == nil && to == deadAddr && v.State == codec.StateDead && v.Generation == 1 {
			told = true
		}
	})
	if !told {
		t.Error("the receiver did not tell the member it believes it dead")
	}
	// The sender asks for the shard that holds the tombstone (proving its
	// address first if the receiver asks it to).
	shard := uint32(ring.Position(dead) >> (64 - engine.DefaultLANConfig().ShardBits))
	r.sendValidated(t, codec.MsgShardRequest, func(b *codec.Builder) {
		b.AddShardRef(codec.ShardRef{Shard: shard})
	})
	var got *codec.Member
	r.sentRecords(codec.RecMember, func(to netip.AddrPort, rec []byte) {
		if m, _, err := codec.ParseMember(rec); err == nil && to == senderAddr && m.ID == dead {
			got = &m
		}
	})
	if got == nil {
		t.Fatal("the shard answer did not carry the tombstone")
	}
	// 100/255 + 1/4 of the retention, rounded up: 164.
	if want := uint8(100 + (255+3)/4); got.State != codec.StateDead || got.Flags < want-1 || got.Flags > want+1 {
		t.Errorf("served %v with wear %d, want dead with wear %d±1", got.State, got.Flags, want)
	}
}
