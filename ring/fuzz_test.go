package ring_test

import (
	"encoding/binary"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/hearsay-io/hearsay/ring"
)

// The fuzz targets below are differential: the input drives a sequence of
// joins, leaves and lookups applied both to the package's structures and to
// the O(n) references in reference_test.go, and every answer must agree.
//
// Input layout. Byte 0 and byte 1 configure (token count, leaf size, token
// or position placement); then each operation is an (op, arg) byte pair,
// where arg names a member from a pool of 32 small IDs or sizes a query. Some
// operations take the next 8 bytes as a key.

// ringOps are the operations of FuzzRing, by op%len(ringOps).
const (
	opAdd = iota
	opAdd2
	opRemove
	opOwnerKey       // Owner and Owners(key, arg%5) at the key in the next 8 bytes
	opOwnerNearToken // Owner at a token of member arg, plus -1, 0 or +1
	opOwners         // Owners at a token, n = arg%40
	opRanges         // Ranges(arg)
	opSnapshot       // full comparison, rebuild from the set, and recheck of old snapshots
	numRingOps
)

// ringSeeds are handwritten inputs, chosen to be nasty:
var ringSeeds = [][]byte{
	{},                    // no configuration at all
	{0},                   // half a configuration
	{0, 0, opOwnerKey, 0}, // lookup on an empty ring, no key bytes
	{7, 0, opOwnerKey, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff},                               // key 2^64-1 on an empty ring
	{0, 0, opAdd, 1, opOwnerKey, 3, 0, 0, 0, 0, 0, 0, 0, 0},                                             // one member, one token, key 0
	{0, 0, opAdd, 1, opRemove, 1, opOwnerKey, 0, opAdd, 1, opSnapshot, 0},                               // empty again, then refilled
	{7, 0x10, opAdd, 1, opAdd, 2, opAdd, 3, opRemove, 2, opRanges, 1, opRanges, 3, opSnapshot, 0},       // colliding tokens, leaf size 1
	{7, 0x21, opAdd, 5, opAdd, 6, opAdd, 7, opOwnerNearToken, 5, opOwnerNearToken, 0x46, opSnapshot, 0}, // tokens around zero
	{7, 0x32, opAdd, 1, opAdd, 2, opAdd, 3, opRanges, 1, opRanges, 2, opOwners, 39},                     // every token at one position
	{3, 5, opAdd, 0, opAdd, 31, opAdd, 9, opRemove, 31, opAdd, 31, opSnapshot, 0, opOwners, 7},          // rejoin of a member
	// Many joins then many leaves with tiny leaves: splits, then merges.
	append([]byte{7, 1}, slices.Repeat([]byte{opAdd, 1, opAdd, 2, opAdd, 3, opAdd, 4, opAdd, 5, opAdd, 6, opAdd, 7, opAdd, 8, opRemove, 1, opRemove, 3, opRemove, 5, opRemove, 7, opSnapshot, 0}, 3)...),
}

// ringTokenFuncs are the token placements FuzzRing picks from.
var ringTokenFuncs = []func(id uint64, i int) uint64{
	nil, // xxhash, as in production
	collidingTokens[0].fn,
	collidingTokens[1].fn,
	collidingTokens[2].fn,
	collidingTokens[3].fn,
}

func FuzzRing(f *testing.F) {
	for _, s := range ringSeeds {
		f.Add(s)
	}
	f.Fuzz(runRing)
}

func runRing(t *testing.T, data []byte) {
	if len(data) < 2 {
		return
	}
	tokens := 1 + int(data[0]%8)
	leafSize := 1 + int(data[1]%8)
	tokFn := ringTokenFuncs[int(data[1]>>4)%len(ringTokenFuncs)]
	data = data[2:]

	cfg := ring.WithLeafSize(ring.Config{Tokens: tokens}, leafSize)
	ref := newRefRing(tokens, nil)
	if tokFn != nil {
		cfg = ring.WithTokenFunc(cfg, tokFn)
		ref.tok = tokFn
	}
	r := ring.New(cfg, nil)
	type snap struct {
		r   *ring.Ring
		ref *refRing
	}
	var snaps []snap
	checks := 0
	rng := rand.New(rand.NewPCG(uint64(len(data)), 0))
	for ops := 0; len(data) >= 2 && ops < 300; ops++ {
		op, arg := int(data[0])%numRingOps, data[1]
		data = data[2:]
		id := uint64(arg % 32)
		switch op {
		case opAdd, opAdd2:
			r = r.Add(id)
			ref.add(id)
		case opRemove:
			r = r.Remove(id)
			ref.remove(id)
		case opOwnerKey:
			var key uint64
			if len(data) >= 8 {
				key = binary.BigEndian.Uint64(data)
				data = data[8:]
			}
			compareOwner(t, r, ref, key)
			n := int(arg % 5)
			if got, want := r.Owners(key, n, nil), ref.owners(key, n); !slices.Equal(got, want) {
				t.Fatalf("Owners(%#x, %d) = %x, want %x", key, n, got, want)
			}
		case opOwnerNearToken:
			key := ref.tok(id, int(arg>>5)%tokens) + uint64(int(arg>>5)%3-1)
			compareOwner(t, r, ref, key)
		case opOwners:
			key, n := ref.tok(id, 0), int(arg%40)
			if got, want := r.Owners(key, n, nil), ref.owners(key, n); !slices.Equal(got, want) {
				t.Fatalf("Owners(%#x, %d) = %x, want %x", key, n, got, want)
			}
		case opRanges:
			if got, want := r.Ranges(id, nil), ref.ranges(id); !slices.Equal(got, want) {
				t.Fatalf("Ranges(%#x) = %x, want %x", id, got, want)
			}
		case opSnapshot:
			// Comparisons cost O((members × tokens)²) in the
			// reference: a few per input, on a sample, keep the
			// fuzzer fast.
			if checks++; checks > 4 {
				continue
			}
			checkRingSample(t, rng, r, ref, 24)
			fresh := ring.New(cfg, ref.members)
			for _, key := range pick(rng, probeKeys(rng, ref, 10), 24) {
				got, _ := r.Owner(key)
				want, _ := fresh.Owner(key)
				if got != want {
					t.Fatalf("Owner(%#x) = %#x, but a ring built from the same members says %#x", key, got, want)
				}
			}
			for _, s := range snaps {
				checkRingSample(t, rng, s.r, s.ref, 8)
			}
			if len(snaps) < 4 {
				snaps = append(snaps, snap{r, ref.clone()})
			}
		}
	}
	if err := r.Check(); err != nil {
		t.Fatalf("Check() = %v", err)
	}
}

func compareOwner(t *testing.T, r *ring.Ring, ref *refRing, key uint64) {
	t.Helper()
	got, ok := r.Owner(key)
	want, wantOK := ref.owner(key)
	if got != want || ok != wantOK {
		t.Fatalf("Owner(%#x) = %#x, %v, want %#x, %v", key, got, ok, want, wantOK)
	}
}

// topologyPositions are the placements FuzzTopology picks from.
var topologyPositions = []func(id uint64) uint64{
	nil, // Position, as in production
	func(id uint64) uint64 { return id % 3 },
	func(id uint64) uint64 { return id%4 - 2 },
}

// Topology operations, by op%numTopologyOps.
const (
	topoAdd = iota
	topoRemove
	topoObservers // Observers(arg%32, arg>>5)
	topoSubjects  // Subjects(arg%32, arg>>5)
	topoSnapshot  // full comparison and recheck of old snapshots
	numTopologyOps
)

// topologySeeds are handwritten inputs, chosen to be nasty:
var topologySeeds = [][]byte{
	{}, // nothing
	{0, topoObservers, 0xe0, topoSubjects, 0xe0},                                                      // lookups on an empty topology, k = 7
	{0, topoAdd, 1, topoObservers, 0xe1, topoSubjects, 0x21},                                          // one member asks about itself
	{1, topoAdd, 3, topoAdd, 6, topoAdd, 9, topoObservers, 0x43, topoSubjects, 0x49, topoSnapshot, 0}, // one position shared by all
	{2, topoAdd, 1, topoAdd, 5, topoRemove, 1, topoAdd, 1, topoSnapshot, 0, topoObservers, 0xff},      // rejoin, around zero
}

func FuzzTopology(f *testing.F) {
	for _, s := range topologySeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) < 1 {
			return
		}
		pos := topologyPositions[int(data[0])%len(topologyPositions)]
		data = data[1:]
		tp, ref := ring.NewTopologyWith(pos, nil), &refTopology{pos: pos}
		var snaps []*ring.Topology
		var refs []*refTopology
		checks := 0
		rng := rand.New(rand.NewPCG(uint64(len(data)), 1))
		for ops := 0; len(data) >= 2 && ops < 300; ops++ {
			op, arg := int(data[0])%numTopologyOps, data[1]
			data = data[2:]
			id, k := uint64(arg%32), int(arg>>5)
			switch op {
			case topoAdd:
				tp = tp.Add(id)
				ref.add(id)
			case topoRemove:
				tp = tp.Remove(id)
				ref.remove(id)
			case topoObservers:
				if got, want := tp.Observers(id, k, nil), ref.observers(id, k); !slices.Equal(got, want) {
					t.Fatalf("Observers(%d, %d) = %v, want %v", id, k, got, want)
				}
			case topoSubjects:
				if got, want := tp.Subjects(id, k, nil), ref.subjects(id, k); !slices.Equal(got, want) {
					t.Fatalf("Subjects(%d, %d) = %v, want %v", id, k, got, want)
				}
			case topoSnapshot:
				if checks++; checks > 4 {
					continue
				}
				checkTopology(t, rng, tp, ref)
				for i := range snaps {
					checkTopology(t, rng, snaps[i], refs[i])
				}
				if len(snaps) < 4 {
					snaps = append(snaps, tp)
					refs = append(refs, &refTopology{members: slices.Clone(ref.members), pos: pos})
				}
			}
		}
	})
}
