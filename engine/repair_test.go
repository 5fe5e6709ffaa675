package engine

import (
	"math"
	"testing"
)

// TestRepairAtLoss pins how much more a node spreads its updates at the
// loss it sees: as many more times as the share of datagrams lost calls
// for. A node whose own links lose more than rejoinMaxLoss (a flaky or
// gray node) spreads them no harder: its verdicts are the ones to
// distrust.
func TestRepairAtLoss(t *testing.T) {
	cfg := DefaultLANConfig()
	base := cfg.retransmits(300) // 9
	for _, tc := range []struct {
		p       float64
		retrans int
	}{
		{0, base}, {0.01, base + 1}, {0.1, 10}, {0.2, 12},
		{0.3, 13}, {0.42, 16}, {0.5, base}, {0.9, base}, {math.NaN(), base},
	} {
		if got := cfg.retransmitsAt(300, tc.p); got != tc.retrans {
			t.Errorf("retransmitsAt(300, %v) = %d, want %d", tc.p, got, tc.retrans)
		}
	}
}
