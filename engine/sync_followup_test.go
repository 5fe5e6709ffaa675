package engine_test

import (
	"net/netip"
	"testing"
	"time"

	"github.com/hearsay-io/hearsay/codec"
	"github.com/hearsay-io/hearsay/engine"
)

// TestSyncFollowUpUntilEqual checks that a node that found its view
// differs from a peer's keeps starting an exchange every heartbeat
// interval, even when no one answers, and stops once an exchange finds the
// views equal.
func TestSyncFollowUpUntilEqual(t *testing.T) {
	r := newReceiver(t)
	r.send(t, codec.MsgGossip, addPeers)
	// syncs ticks for d in steps of 100 ms and counts the exchanges the
	// node starts.
	var last netip.AddrPort // where the last exchange went
	syncs := func(d time.Duration) int {
		n := 0
		for end := r.now.Add(d); r.now < end; {
			r.now = r.now.Add(100 * time.Millisecond)
			r.core.Outbox().Reset()
			r.core.Tick(r.now)
			for _, m := range r.core.Outbox().Messages() {
				if h, err := codec.ParseHeader(m.Buf); err == nil && h.Type == codec.MsgSync && !toDead(r.core, m.Addr) {
					n++
					last = m.Addr
				}
			}
		}
		return n
	}
	syncs(6 * time.Second) // past the first periodic exchange

	// A peer's root digest differs: the views differ.
	r.send(t, codec.MsgSync, func(b *codec.Builder) {
		b.AddDigest(codec.Digest{Count: 3, Sum: 0xbad})
	})
	if got := syncs(4500 * time.Millisecond); got < 4 {
		t.Errorf("%d exchanges started in 4.5 s after views were found to differ, with no answers; want at least 4 (one per second)", got)
	}

	// An exchange finds the views equal: the follow-ups stop. The answer
	// comes from the member the last exchange went to (a reply from
	// anywhere else is not taken).
	live, _ := r.core.NumMembers()
	peer := uint64(0x10 + int(last.Addr().As4()[3]) - 1)
	if last == senderAddr {
		peer = senderID
	}
	var b codec.Builder
	b.Reset(make([]byte, 0, codec.MaxDatagramSize), 1400, codec.Header{
		Type: codec.MsgSyncReply, Cluster: codec.ClusterID(engine.DefaultLANConfig().ClusterName),
		Sender: peer, Generation: 1, Seq: 1,
	})
	b.AddDigest(codec.Digest{Count: uint32(live), Sum: r.core.Digest()})
	r.now = r.now.Add(time.Millisecond)
	r.core.Receive(r.now, last, b.Finish())
	if got := syncs(3 * time.Second); got > 1 {
		t.Errorf("%d exchanges started in 3 s after one found the views equal; want at most the periodic one", got)
	}
}

// toDead reports whether addr is the address of a member c holds dead:
// exchanges with those are reconnection attempts, not follow-ups.
func toDead(c *engine.Core, addr netip.AddrPort) bool {
	for _, m := range c.Members(nil) {
		if m.Addr == addr && !m.State.Live() {
			return true
		}
	}
	return false
}
