package bench

import (
	"testing"
	"time"
)

// TestOracleClassify checks the definition of a false death case by case.
func TestOracleClassify(t *testing.T) {
	s := time.Second
	o := &oracle{
		grace:    10 * s,
		gen:      []uint64{1, 1, 1, 1, 2},
		downAt:   []time.Duration{-1, -1, -1, 50 * s, -1},
		upSince:  make([]time.Duration, 5),
		impaired: make([][]span, 5),
	}
	// Nodes 0, 1 in group 0, node 2 in group 1 (node 3, 4 in group 2):
	// a one-way cut of group 0's datagrams, from 10 s to 20 s.
	c := o.addCut([]int8{0, 0, 1, 2, 2}, 0, 10*s)
	c.until = 20 * s
	o.impair(4, 100*s)
	o.heal(4, 110*s)
	for _, tc := range []struct {
		obs, x int
		gen    uint64
		t      time.Duration
		want   verdict
	}{
		{2, 0, 1, 5 * s, verdictFalse},    // before the cut
		{2, 0, 1, 15 * s, verdictCut},     // 2 cannot hear 0
		{2, 0, 1, 29 * s, verdictCut},     // within the grace
		{2, 0, 1, 31 * s, verdictFalse},   // after it
		{0, 2, 1, 15 * s, verdictCut},     // 0 hears 2, but 2 cannot hear 0's pings
		{1, 0, 1, 15 * s, verdictFalse},   // same side
		{0, 3, 1, 49 * s, verdictFalse},   // running until 50 s
		{0, 3, 1, 50 * s, verdictCrashed}, // crashed
		{0, 4, 1, 15 * s, verdictCrashed}, // an older generation
		{0, 4, 2, 105 * s, verdictImpaired},
		{4, 0, 1, 119 * s, verdictImpaired}, // as observer, within the grace
		{4, 0, 1, 121 * s, verdictFalse},
	} {
		if got := o.classify(tc.obs, tc.x, tc.gen, tc.t); got != tc.want {
			t.Errorf("classify(obs %d, x %d, gen %d, %v) = %v, want %v", tc.obs, tc.x, tc.gen, tc.t, got, tc.want)
		}
	}
}

func TestOracleNodeHours(t *testing.T) {
	h := time.Hour
	o := &oracle{gen: []uint64{1, 1}, downAt: []time.Duration{-1, -1}, upSince: []time.Duration{0, 0}, impaired: make([][]span, 2)}
	o.crashed(1, h)
	o.restarted(1, 2, 2*h)
	if got := o.nodeHours(3 * h); got != 5 {
		t.Errorf("nodeHours = %v, want 5", got)
	}
}
