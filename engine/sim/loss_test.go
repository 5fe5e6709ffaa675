package sim_test

import (
	"testing"
	"time"

	"github.com/hearsay-io/hearsay/engine"
	"github.com/hearsay-io/hearsay/engine/sim"
)

// TestThirtyPercentLoss runs 1,000 nodes at 1% loss, then 30% loss on
// every link for 30 s: no one may be declared dead, and suspicions must
// stay rare, since every one of them and its refutation travel to every
// node (the bytes of a lossy cluster are mostly those). Before probes kept
// pinging directly while they waited on helpers, helpers pinged as often
// as loss calls for, and nodes kept a pool of verified helpers, seed 1
// gave 2 deaths and 29 suspicions per node-hour (110 updates sent per node
// per second, 9 KB/s).
func TestThirtyPercentLoss(t *testing.T) {
	n := 1000
	if testing.Short() {
		n = 300
	}
	l := lan()
	l.Loss = 0.01
	dead := 0
	s, err := sim.New(sim.Config{N: n, Seed: 1, Engine: openLAN(), Link: l, OnEvent: func(node int, e engine.Event) {
		if e.Type == engine.EventDead {
			dead++
			if dead <= 3 {
				t.Errorf("node %d declared %v dead at 30%% loss", node, e.Member.ID)
			}
		}
	}})
	if err != nil {
		t.Fatal(err)
	}
	s.RunFor(20 * time.Second)
	total := func() (st engine.Stats) {
		for _, nd := range s.Nodes() {
			x := nd.Core.Stats()
			st.Suspicions += x.Suspicions
			st.UpdatesSent += x.UpdatesSent
			st.BytesOut += x.BytesOut
		}
		return st
	}
	before := total()
	const lossy = 30 * time.Second
	l.Loss = 0.30
	s.Network().SetDefaultLink(l)
	s.RunFor(lossy)
	after := total()
	nodeSeconds := float64(n) * lossy.Seconds()
	susp := float64(after.Suspicions-before.Suspicions) / nodeSeconds * 3600
	updates := float64(after.UpdatesSent-before.UpdatesSent) / nodeSeconds
	bytes := float64(after.BytesOut-before.BytesOut) / nodeSeconds
	t.Logf("%d nodes, 30%% loss for %v: %d deaths, %.1f suspicions per node-hour, %.1f updates and %.0f bytes sent per node per second",
		n, lossy, dead, susp, updates, bytes)
	if dead > 0 {
		t.Errorf("%d dead events at 30%% loss, want 0", dead)
	}
	if susp > 10 {
		t.Errorf("%.1f suspicions per node-hour at 30%% loss, want at most 10", susp)
	}
}
