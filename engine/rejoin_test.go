package engine_test

import (
	"net/netip"
	"testing"
	"time"

	"github.com/hearsay-io/hearsay/codec"
	"github.com/hearsay-io/hearsay/engine"
)

// TestRejoinBackoff checks the rejoin check of a node declared dead: a try
// that loses more than one ping in eight, and fewer than half, pings the
// members that answered again and refutes only if nearly all of those
// answer; a try that loses half or more fails at once; each failed try
// doubles the wait before the next.
func TestRejoinBackoff(t *testing.T) {
	r := newReceiver(t)
	cfg := engine.DefaultLANConfig()
	cfg.Open = true
	r.send(t, codec.MsgGossip, addPeers)
	r.tellDead(t)

	pings := func() []codec.Ping {
		var ps []codec.Ping
		r.sentRecords(codec.RecPing, func(_ netip.AddrPort, rec []byte) {
			p, _, _ := codec.ParsePing(rec)
			ps = append(ps, p)
		})
		return ps
	}
	// answer acks ps, and returns the pings the last ack set off (a
	// second round).
	answer := func(ps []codec.Ping) []codec.Ping {
		var next []codec.Ping
		for _, p := range ps {
			r.send(t, codec.MsgAck, func(b *codec.Builder) { b.AddAck(codec.Ack{Seq: p.Seq, Target: p.Target}) })
			next = append(next, pings()...)
		}
		return next
	}
	const step = 10 * time.Millisecond
	// settle ticks past the probe timeout, so that unanswered pings fail,
	// and returns the pings the ticks sent.
	settle := func() []codec.Ping {
		var ps []codec.Ping
		for range 2 * int(cfg.ProbeTimeout/step) {
			r.now = r.now.Add(step)
			r.core.Outbox().Reset()
			r.core.Tick(r.now)
			if ps = pings(); len(ps) > 0 {
				return ps // a second round: answered by the caller
			}
		}
		return nil
	}
	// try ticks until the core sends a round of rejoin pings, answers all
	// but lose of them, and returns when the pings went out and what the
	// answers set off.
	try := func(lose int) (engine.Time, []codec.Ping) {
		t.Helper()
		for range 1000 {
			r.now = r.now.Add(step)
			r.core.Outbox().Reset()
			r.core.Tick(r.now)
			ps := pings()
			if len(ps) == 0 {
				continue
			}
			if len(ps) != cfg.RejoinProbes {
				t.Fatalf("a rejoin try sent %d pings, want RejoinProbes = %d", len(ps), cfg.RejoinProbes)
			}
			sent := r.now
			next := answer(ps[lose:])
			if lose > 0 {
				next = append(next, settle()...)
			}
			return sent, next
		}
		t.Fatal("no rejoin try within 10 s")
		return 0, nil
	}

	n := cfg.RejoinProbes
	t0, again := try(n/2 + 1)
	if len(again) != 0 {
		t.Fatalf("a try that lost %d of %d pings pinged %d members again, want none", n/2+1, n, len(again))
	}
	t1, _ := try(n)
	t2, again := try(3)
	if len(again) != n-3 {
		t.Fatalf("a try that lost 3 of %d pings pinged %d members again, want the %d that answered", n, len(again), n-3)
	}
	answer(again[2:]) // two of 13 lost: more than one in eight
	if ps := settle(); len(ps) != 0 {
		t.Fatalf("a failed second round sent %d more pings", len(ps))
	}
	if r.core.Incarnation() != 0 {
		t.Fatalf("refuted (incarnation %d) although every try failed", r.core.Incarnation())
	}
	t3, again := try(3)
	answer(again)
	if r.core.Incarnation() != 1 {
		t.Errorf("incarnation %d after a try whose second round all answered, want 1 (refuted)", r.core.Incarnation())
	}
	base := cfg.HeartbeatInterval
	// Each wait runs from the failed probe's deadline: a round ends at
	// most ProbeTimeout after its pings (local health stays good: the
	// answers count as successes).
	slack := 4*cfg.ProbeTimeout + 2*step
	for _, w := range []struct {
		name     string
		from, to engine.Time
		min, max time.Duration
	}{
		{"after a failed try", t0, t1, base, base*3/2 + slack},
		{"after a second failed try (doubled)", t1, t2, 2 * base, 3*base + slack},
		{"after a try whose second round failed (doubled again)", t2, t3, 4 * base, 6*base + slack},
	} {
		if gap := time.Duration(w.to - w.from); gap < w.min || gap > w.max {
			t.Errorf("next try %v later %s; want %v to %v", gap, w.name, w.min, w.max)
		}
	}
}

// addPeers adds eight live members to b: 0x10 to 0x17, at 10.0.1.1 to
// 10.0.1.8.
func addPeers(b *codec.Builder) {
	for i := range 8 {
		b.AddMember(&codec.Member{ID: uint64(0x10 + i), Generation: 1, State: codec.StateAlive,
			Addr: netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 0, 1, byte(i + 1)}), 7946)})
	}
}

// tellDead tells r's core, from the sender, that the cluster holds it
// dead: its rejoin check starts.
func (r *receiver) tellDead(t *testing.T) {
	t.Helper()
	r.send(t, codec.MsgGossip, func(b *codec.Builder) {
		b.AddMember(&codec.Member{ID: 0x1, Generation: 1, State: codec.StateDead, Addr: receiverAddr, Witness: senderID})
	})
}

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

// TestRejoinForgivesNetworkLoss checks that a rejoin forgives the loss the
// members that answer report on their own links: a try in which 7 of its
// 16 pings are answered refutes when the answers report 30% loss (the
// network's: a round trip then fails about one time in two), and fails
// when they report 1% or nothing (the loss is then this node's own, and
// one miss in eight is the most allowed).
func TestRejoinForgivesNetworkLoss(t *testing.T) {
	for _, tc := range []struct {
		name    string
		loss    uint16
		refutes bool
	}{
		{"answers report 30% loss", 1 + 3000, true},
		{"answers report 1% loss", 1 + 100, false},
		{"answers report no estimate", 0, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newReceiver(t)
			cfg := engine.DefaultLANConfig()
			r.send(t, codec.MsgGossip, addPeers)
			r.tellDead(t)
			const step = 10 * time.Millisecond
			var ps []codec.Ping
			for range 1000 {
				r.now = r.now.Add(step)
				r.core.Outbox().Reset()
				r.core.Tick(r.now)
				r.sentRecords(codec.RecPing, func(_ netip.AddrPort, rec []byte) {
					p, _, _ := codec.ParsePing(rec)
					ps = append(ps, p)
				})
				if len(ps) > 0 {
					break
				}
			}
			if len(ps) != cfg.RejoinProbes {
				t.Fatalf("a rejoin try sent %d pings, want %d", len(ps), cfg.RejoinProbes)
			}
			for _, p := range ps[:7] {
				r.send(t, codec.MsgAck, func(b *codec.Builder) {
					b.AddAck(codec.Ack{Seq: p.Seq, Target: p.Target, Loss: tc.loss})
				})
			}
			for range 2 * int(cfg.ProbeTimeout/step) {
				r.now = r.now.Add(step)
				r.core.Tick(r.now)
			}
			if refuted := r.core.Incarnation() == 1; refuted != tc.refutes {
				t.Errorf("incarnation %d after 7 of %d pings answered; refuted = %v, want %v",
					r.core.Incarnation(), len(ps), refuted, tc.refutes)
			}
		})
	}
}
