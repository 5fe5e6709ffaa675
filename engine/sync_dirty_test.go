package engine_test

import (
	"testing"
	"time"

	"github.com/hearsay-io/hearsay/codec"
	"github.com/hearsay-io/hearsay/engine"
)

// TestDirtySyncSkipsALevel checks that a node that knows its view differs
// lists the root's 16 children in its Sync, and that a peer answers such a
// Sync with the shard digests under the children that differ only: the
// exchange reaches the shards a round trip sooner, which under loss is a
// datagram fewer that can be lost.
func TestDirtySyncSkipsALevel(t *testing.T) {
	cfg := engine.DefaultLANConfig()
	cfg.Open = true
	p := newPair(t, cfg) // 256 shards: two levels under the root
	p.seedMembers(64)
	p.exchange() // each learns the other's own record
	p.tell(codec.MsgGossip, func(b *codec.Builder) { b.AddState(deltaState(7, 2)) }, 0)

	// A third member's root digest differs from core 1's: it is dirty, and
	// its next exchange lists the root and its children.
	p.tell(codec.MsgSync, func(b *codec.Builder) { b.AddDigest(codec.Digest{Count: 3, Sum: 0xbad}) }, 1)
	var sync []byte
	for range 30 {
		p.now = p.now.Add(100 * time.Millisecond)
		p.core[1].Outbox().Reset()
		p.core[1].Tick(p.now)
		for _, m := range p.core[1].Outbox().Messages() {
			if h, err := codec.ParseHeader(m.Buf); err == nil && h.Type == codec.MsgSync {
				sync = append([]byte(nil), m.Buf...)
			}
		}
		if sync != nil {
			break
		}
	}
	if sync == nil {
		t.Fatal("a node whose view differs started no exchange within 3 s")
	}
	levels := digestLevels(t, sync)
	if levels[0] != 1 || levels[1] != 16 || len(levels) != 2 {
		t.Fatalf("a dirty node's Sync lists digests by level %v, want the root and its 16 children", levels)
	}

	// Core 0, which sent core 1 a request (so its answers may exceed the
	// Sync), answers with the 16 shard digests under the one child that
	// differs (member 7's state), not with the children again.
	p.core[0].SyncWith(p.now, p.addr[1])
	p.core[0].Outbox().Reset()
	p.now = p.now.Add(time.Millisecond)
	p.core[0].Receive(p.now, p.addr[1], sync)
	got := map[int]int{}
	replies := 0
	for _, m := range p.core[0].Outbox().Messages() {
		if h, err := codec.ParseHeader(m.Buf); err != nil || h.Type != codec.MsgSyncReply || m.Addr != p.addr[1] {
			continue
		}
		replies++
		for l, n := range digestLevels(t, m.Buf) {
			got[l] += n
		}
	}
	if replies == 0 || len(got) != 1 || got[2] != 16 {
		t.Errorf("the answer to a Sync listing the root's children holds digests by level %v in %d datagrams, want 16 of level 2", got, replies)
	}
}

// digestLevels counts the digests of a datagram by level.
func digestLevels(t *testing.T, d []byte) map[int]int {
	t.Helper()
	h, body, err := codec.Parse(d)
	if err != nil {
		t.Fatalf("a datagram does not parse: %v", err)
	}
	n := map[int]int{}
	var rd codec.Reader
	rd.Reset(int(h.Sections), body)
	for rd.Next() {
		if rd.Type() != codec.RecDigest {
			continue
		}
		for i := 0; i < rd.Count(); i++ {
			dg, _, _ := codec.ParseDigest(rd.Record(i))
			n[int(dg.Level)]++
		}
	}
	return n
}
