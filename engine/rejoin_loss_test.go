package engine

import (
	"math"
	"net/netip"
	"testing"

	"github.com/hearsay-io/hearsay/codec"
)

// TestRejoinLoss pins the loss a rejoin forgives: the lower quartile of
// the answers' reports when three or more report, up to rejoinMaxLoss,
// unless this node's own links deliver much less than the upper quartile's
// (a gray node); with fewer reports, its long estimate up to
// rejoinMaxLoss.
func TestRejoinLoss(t *testing.T) {
	c := newTestCore(t)
	const none = -1.0
	for _, tc := range []struct {
		self    float64   // this node's long estimate, none: too few periods
		reports []float64 // the answers' reports, none: no estimate
		want    float64   // none: the strict count
	}{
		{none, []float64{0.3, 0.31, 0.29}, 0.29}, // behind a cut: the members tell
		{0.43, []float64{0.3, 0.31, 0.29}, 0.29}, // a heal's inflated estimate
		{0.65, []float64{0.3, 0.31, 0.29}, none}, // gray at 50% beside 30% on every link
		{0.5, []float64{0.01, 0, 0.02}, none},    // gray in a clean cluster
		{none, []float64{0.6, 0.7, 0.6}, rejoinMaxLoss},
		{0.3, []float64{none, none}, 0.3}, // older members: own estimate
		{0.45, nil, none},
		{none, nil, none},
		{0.2, []float64{0.3, none, 0.1, 0.2}, 0.1},          // the lower quartile of those that report
		{0.56, []float64{0.7, none, none}, none},            // one report (a flaky node's try): own estimate, too high
		{none, []float64{0.7, 0.7, 0.02, 0.01, 0.01}, 0.01}, // a few members that see more loss do not count
		{0.6, []float64{0.3, 0.3, 0.5, 0.5}, 0.3},           // a heal raised estimates unevenly: not gray
	} {
		c.longLoss = lossCount{}
		if tc.self != none {
			c.longLoss = lossCount{lost: tc.self * longMemory, seen: longMemory}
		}
		c.rejoin = rejoinState{need: len(tc.reports)}
		for i, p := range tc.reports {
			c.rejoin.ok[i] = true
			if p != none {
				c.rejoin.loss[i] = 1 + uint16(math.Round(p*codec.LossScale))
			}
		}
		got, ok := c.rejoinLoss()
		if !ok {
			got = none
		}
		if math.Abs(got-tc.want) > 1e-9 {
			t.Errorf("self %v, reports %v: rejoinLoss = %v, %v; want %v", tc.self, tc.reports, got, ok, tc.want)
		}
	}
	c.longLoss, c.rejoin = lossCount{}, rejoinState{}
	if n := c.rejoinMisses(16); n != 2 {
		t.Errorf("rejoinMisses(16) with no estimate = %d, want 2 (one in eight)", n)
	}
}

// TestLossReport checks that an ack's loss report decodes to the estimate
// sent, and that none is sent before the estimate has enough periods.
func TestLossReport(t *testing.T) {
	c := newTestCore(t)
	if v := c.lossReport(); v != 0 {
		t.Errorf("lossReport without periods = %d, want 0", v)
	}
	for _, p := range []float64{0, 0.3, 1} {
		c.longLoss = lossCount{lost: p * longMemory, seen: longMemory}
		got, ok := reportedLoss(c.lossReport())
		if !ok || math.Abs(got-p) > 1e-4 {
			t.Errorf("reportedLoss(lossReport()) at %v = %v, %v", p, got, ok)
		}
	}
	// The long estimate lags a change of loss: the monitors' median, when
	// higher, is what the node reports.
	c.longLoss = lossCount{lost: 0.05 * longMemory, seen: longMemory}
	for _, l := range []float64{0.3, 0.28, 0.35, 0.9} {
		c.monitors = append(c.monitors, &monitor{loss: l, samples: lossMemory})
	}
	c.monitors = append(c.monitors, &monitor{loss: 1, samples: 1}) // too few periods
	if got, _ := reportedLoss(c.lossReport()); math.Abs(got-0.35) > 1e-4 {
		t.Errorf("report with a long estimate of 0.05 and monitors at 0.28-0.9 = %v, want their median 0.35", got)
	}
	if p, ok := reportedLoss(0xffff); !ok || p != 1 {
		t.Errorf("reportedLoss(0xffff) = %v, %v; want 1, true", p, ok)
	}
}

func newTestCore(t *testing.T) *Core {
	t.Helper()
	cfg := DefaultLANConfig()
	cfg.Open = true
	cfg.ID, cfg.Generation = 1, 1
	c, err := NewCore(cfg, Env{Addr: netip.MustParseAddrPort("10.0.0.1:7946"), Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	return c
}
