package engine_test

import (
	"net/netip"
	"testing"
	"time"

	"github.com/hearsay-io/hearsay/codec"
	"github.com/hearsay-io/hearsay/engine"
)

// TestRejoinBackoff checks the rejoin check of a node declared dead: a try
// that loses more than one ping in eight fails and doubles the wait before
// the next, and a try that loses no more than that refutes.
func TestRejoinBackoff(t *testing.T) {
	r := newReceiver(t)
	cfg := engine.DefaultLANConfig()
	cfg.Open = true
	r.send(t, codec.MsgGossip, func(b *codec.Builder) {
		for i := range 8 {
			b.AddMember(&codec.Member{ID: uint64(0x10 + i), Generation: 1, State: codec.StateAlive,
				Addr: netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 0, 1, byte(i + 1)}), 7946)})
		}
	})
	// The cluster says this node is dead: the rejoin check starts.
	r.send(t, codec.MsgGossip, func(b *codec.Builder) {
		b.AddMember(&codec.Member{ID: 0x1, Generation: 1, State: codec.StateDead, Addr: receiverAddr, Witness: senderID})
	})

	// try ticks until the core sends its rejoin pings, answers all but
	// lose of them, and returns when the pings went out.
	const step = 10 * time.Millisecond
	try := func(lose int) engine.Time {
		t.Helper()
		for range 1000 {
			r.now = r.now.Add(step)
			r.core.Outbox().Reset()
			r.core.Tick(r.now)
			var pings []codec.Ping
			r.sentRecords(codec.RecPing, func(_ netip.AddrPort, rec []byte) {
				p, _, _ := codec.ParsePing(rec)
				pings = append(pings, p)
			})
			if len(pings) == 0 {
				continue
			}
			if len(pings) != cfg.RejoinProbes {
				t.Fatalf("a rejoin try sent %d pings, want RejoinProbes = %d", len(pings), cfg.RejoinProbes)
			}
			sent := r.now
			for _, p := range pings[lose:] {
				r.send(t, codec.MsgAck, func(b *codec.Builder) { b.AddAck(codec.Ack{Seq: p.Seq, Target: p.Target}) })
			}
			return sent
		}
		t.Fatal("no rejoin try within 10 s")
		return 0
	}
	base := cfg.HeartbeatInterval
	allowed := cfg.RejoinProbes / 8
	t0 := try(allowed + 1)
	t1 := try(allowed + 1)
	t2 := try(cfg.RejoinProbes)
	if r.core.Incarnation() != 0 {
		t.Fatalf("refuted (incarnation %d) although every try lost more than %d pings", r.core.Incarnation(), allowed)
	}
	t3 := try(allowed)
	if r.core.Incarnation() != 1 {
		t.Errorf("incarnation %d after a try that lost %d pings of %d, want 1 (refuted)", r.core.Incarnation(), allowed, cfg.RejoinProbes)
	}
	// Each wait runs from the failed probe's deadline: a try ends at most
	// ProbeTimeout after its pings (local health stays good: the answers
	// count as successes).
	slack := 2*cfg.ProbeTimeout + 2*step
	for _, w := range []struct {
		name     string
		from, to engine.Time
		min, max time.Duration
	}{
		{"after a failed try", t0, t1, base, base*3/2 + slack},
		{"after a second failed try (doubled)", t1, t2, 2 * base, 3*base + slack},
		{"after a try that lost every ping (doubled again)", t2, t3, 4 * base, 6*base + slack},
	} {
		if gap := time.Duration(w.to - w.from); gap < w.min || gap > w.max {
			t.Errorf("next try %v later %s; want %v to %v", gap, w.name, w.min, w.max)
		}
	}
}
