package engine_test

import (
	"net/netip"
	"testing"
	"time"

	"github.com/hearsay-io/hearsay/codec"
	"github.com/hearsay-io/hearsay/engine"
)

// TestStallDefersTimers checks that a core whose driver stalled does not
// take its own stall for silence: a probe sent before a stall is not given
// up when the first Tick after it comes late, so that its ack, read next,
// still resolves it.
func TestStallDefersTimers(t *testing.T) {
	r := newReceiver(t)
	// The core probes the sender when it stops hearing from it (after a
	// first ping that only verifies it); drive it until that probe is out.
	var seq uint32
	pings := 0
	for i := 0; i < 200 && pings < 2; i++ {
		r.now = r.now.Add(50 * time.Millisecond)
		r.core.Outbox().Reset()
		r.core.Tick(r.now)
		r.sentRecords(codec.RecPing, func(to netip.AddrPort, rec []byte) {
			if p, _, err := codec.ParsePing(rec); err == nil && to == senderAddr && p.Target == senderID && p.Seq != seq {
				seq = p.Seq
				pings++
			}
		})
	}
	if pings < 2 {
		t.Fatal("the core never probed the sender")
	}
	before := r.core.Stats()
	// The driver stalls for 2 s, then ticks before it reads the ack.
	r.now = r.now.Add(2 * time.Second)
	r.core.Outbox().Reset()
	r.core.Tick(r.now)
	after := r.core.Stats()
	if after.Stalls != before.Stalls+1 {
		t.Errorf("Stalls = %d, want %d", after.Stalls, before.Stalls+1)
	}
	if after.IndirectProbes != before.IndirectProbes || after.Suspicions != before.Suspicions || after.Inconclusive != before.Inconclusive {
		t.Errorf("after the stall the core gave up its probe: indirect probes %d → %d, inconclusive %d → %d, suspicions %d → %d",
			before.IndirectProbes, after.IndirectProbes, before.Inconclusive, after.Inconclusive, before.Suspicions, after.Suspicions)
	}
	// The ack that waited in the socket is read: the probe is answered.
	r.send(t, codec.MsgAck, func(b *codec.Builder) { b.AddAck(codec.Ack{Seq: seq, Target: senderID}) })
	if m, _ := r.core.Member(senderID); m.State != engine.StateAlive {
		t.Errorf("sender is %v after answering, want alive", m.State)
	}
	r.core.Outbox().Reset()
	r.now = r.now.Add(2 * time.Second)
	r.core.Tick(r.now)
	if s := r.core.Stats(); s.Suspicions != before.Suspicions {
		t.Errorf("the answered probe led to %d suspicions", s.Suspicions-before.Suspicions)
	}
}
