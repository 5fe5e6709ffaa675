package engine

import (
	"math"
	"testing"
)

// TestRepairAtLoss pins how much more a node repairs at the loss it sees:
// updates spread as many more times as the share of datagrams lost calls
// for, and a node whose view differs starts as many exchanges per period
// as make up for the ones loss defeats, each needing about four datagrams
// through. A node whose own links lose more than rejoinMaxLoss (a flaky
// or gray node) repairs no harder: its verdicts are the ones to distrust.
func TestRepairAtLoss(t *testing.T) {
	cfg := DefaultLANConfig()
	base := cfg.retransmits(300) // 9
	for _, tc := range []struct {
		p       float64
		retrans int
		syncs   int
	}{
		{0, base, 1}, {0.01, base + 1, 1}, {0.1, 10, 2}, {0.2, 12, 2},
		{0.3, 13, 4}, {0.42, 16, 4}, {0.5, base, 1}, {0.9, base, 1}, {math.NaN(), base, 1},
	} {
		if got := cfg.retransmitsAt(300, tc.p); got != tc.retrans {
			t.Errorf("retransmitsAt(300, %v) = %d, want %d", tc.p, got, tc.retrans)
		}
		if got := dirtySyncsAt(tc.p); got != tc.syncs {
			t.Errorf("dirtySyncsAt(%v) = %d, want %d", tc.p, got, tc.syncs)
		}
	}
}
