package ring_test

import (
	"math/rand/v2"
	"testing"

	"github.com/hearsay-io/hearsay/ring"
)

// Sinks keep the compiler from discarding the calls under test.
var (
	sinkID     uint64
	sinkOK     bool
	sinkIDs    []uint64
	sinkRanges []ring.Range
	sinkInt    int
)

// TestNoAllocs checks that lookups allocate nothing when dst has room.
func TestNoAllocs(t *testing.T) {
	rng := rand.New(rand.NewPCG(20, 20))
	ids := randomIDs(rng, 1000)
	r := ring.New(ring.Config{}, ids)
	tp := ring.NewTopology(ids)
	ids8 := make([]uint64, 0, 8)
	ids1k := make([]uint64, 0, 1000)
	ranges := make([]ring.Range, 0, ring.DefaultTokens)
	key := []byte("some key")
	member, outsider := ids[17], rng.Uint64()
	tests := []struct {
		name string
		fn   func()
	}{
		{"Position", func() { sinkID = ring.Position(member) }},
		{"KeyHash", func() { sinkID = ring.KeyHash(key) }},
		{"Ring.Owner", func() { sinkID, sinkOK = r.Owner(rng.Uint64()) }},
		{"Ring.Owners/3", func() { sinkIDs = r.Owners(rng.Uint64(), 3, ids8[:0]) }},
		{"Ring.Owners/8", func() { sinkIDs = r.Owners(rng.Uint64(), 8, ids8[:0]) }},
		{"Ring.Contains", func() { sinkOK = r.Contains(member) }},
		{"Ring.Len", func() { sinkInt = r.Len() }},
		{"Ring.Members", func() { sinkIDs = r.Members(ids1k[:0]) }},
		{"Ring.Ranges", func() { sinkRanges = r.Ranges(member, ranges[:0]) }},
		{"Range.Contains", func() { sinkOK = ring.Range{Start: 5, End: 1}.Contains(rng.Uint64()) }},
		{"Topology.Observers", func() { sinkIDs = tp.Observers(member, 3, ids8[:0]) }},
		{"Topology.Observers/outsider", func() { sinkIDs = tp.Observers(outsider, 8, ids8[:0]) }},
		{"Topology.Subjects", func() { sinkIDs = tp.Subjects(member, 3, ids8[:0]) }},
		{"Topology.Subjects/outsider", func() { sinkIDs = tp.Subjects(outsider, 8, ids8[:0]) }},
		{"Topology.Contains", func() { sinkOK = tp.Contains(member) }},
		{"Topology.Members", func() { sinkIDs = tp.Members(ids1k[:0]) }},
	}
	for _, tt := range tests {
		if got := testing.AllocsPerRun(100, tt.fn); got != 0 {
			t.Errorf("%s: %v allocations, want 0", tt.name, got)
		}
	}
}
