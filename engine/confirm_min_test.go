package engine

import (
	"net/netip"
	"testing"
	"time"
)

// TestConfirmGivesWholeMin: a node that heard a member suspected and then
// confirms the suspicion by its own failed probe gives the suspect a whole
// Suspicion.Min from that probe to refute, however lately it measured the
// member's round trip. Traced in the nemesis mix at 1,000 nodes, seed 2,
// where slow nodes (0.5 to 2 s each way) followed the heal of a one-way
// cut: a node took a member that had just turned slow on as a subject,
// its probe failed, and it confirmed the suspicion it had heard of 1.9 s
// earlier and declared the member dead 0.12 s later, while the member's
// refutation was on its way. A round trip measured 3 s before the member
// turned slow did no better: with 30% loss begun as 50 of 1,000 nodes
// turned slow, such a node declared a slow member dead 0.63 s after its
// confirmation, 0.7 s after the member refuted (engine/sim,
// TestSlowNodesWithLoss).
func TestConfirmGivesWholeMin(t *testing.T) {
	for _, tc := range []struct {
		name   string
		age    time.Duration // how long before the suspicion the round trip was measured
		failed bool          // whether a verification ping failed after it
	}{
		{"measured lately", 3 * time.Second, false},
		{"measured long ago", 40 * time.Second, false},
		{"measured lately, verification failed since", 5 * time.Second, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newTestCore(t)
			const id = ID(7)
			addr := netip.MustParseAddrPort("10.0.0.7:7946")
			t0 := Time(time.Hour)
			c.now = t0
			c.Seed(t0, []Member{{ID: id, Addr: addr, Generation: 1, State: StateAlive}})
			c.probeAnsweredBy(t0, id, addr, t0.Add(-20*time.Millisecond))
			if _, ok := c.RTT(id); !ok {
				t.Fatal("no round trip measured")
			}
			if tc.failed {
				c.adm.trust[id].failed = t0.Add(tc.age / 2)
			}
			// The suspicion, heard of.
			start := t0.Add(tc.age)
			c.now = start
			r := c.lookup(id)
			rec := *r
			rec.state = StateSuspect
			c.put(start, rec, r, 2)
			s := c.susp[id]
			if s == nil || s.mine {
				t.Fatal("no suspicion on hearsay")
			}
			// Confirmed by others too: the timer runs Min from its start.
			c.confirm(start, id, 3)
			c.confirm(start, id, 4)
			// This node's own probe fails 1.8 s later and confirms it.
			probed := start.Add(1800 * time.Millisecond)
			c.now = probed
			r = c.lookup(id)
			c.accuse(probed, &probe{target: id, addr: addr, gen: r.gen, inc: r.inc})
			if !s.mine {
				t.Fatal("the failed probe did not confirm the suspicion")
			}
			min := c.suspicionConfig().Min(c.tab.live)
			got := c.suspicionDeadline(s)
			if got < probed.Add(min) {
				t.Errorf("deadline %v after the probe, want at least Min (%v)", got.Sub(probed), min)
			}
		})
	}
}
