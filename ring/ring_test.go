package ring_test

import (
	"errors"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/hearsay-io/hearsay/ring"
)

// probeKeys returns keys worth looking up in a ring with the given members:
// both ends of the circle, every token and its neighbours, and random keys.
func probeKeys(rng *rand.Rand, ref *refRing, random int) []uint64 {
	keys := []uint64{0, 1, math.MaxUint64}
	for _, id := range ref.members {
		for i := range ref.tokens {
			h := ref.tok(id, i)
			keys = append(keys, h-1, h, h+1)
		}
	}
	for range random {
		keys = append(keys, rng.Uint64())
	}
	return keys
}

// pick returns n elements of s chosen at random.
func pick(rng *rand.Rand, s []uint64, n int) []uint64 {
	out := make([]uint64, n)
	for i := range out {
		out[i] = s[rng.IntN(len(s))]
	}
	return out
}

// randomIDs returns n distinct random member IDs.
func randomIDs(rng *rand.Rand, n int) []uint64 {
	seen := make(map[uint64]bool, n)
	ids := make([]uint64, 0, n)
	for len(ids) < n {
		id := rng.Uint64()
		if !seen[id] {
			seen[id] = true
			ids = append(ids, id)
		}
	}
	return ids
}

// checkRing compares every query of r with the reference ref.
func checkRing(t testing.TB, rng *rand.Rand, r *ring.Ring, ref *refRing) {
	t.Helper()
	checkRingSample(t, rng, r, ref, math.MaxInt)
}

// checkRingSample is checkRing with at most sample members and keys probed,
// picked at random.
func checkRingSample(t testing.TB, rng *rand.Rand, r *ring.Ring, ref *refRing, sample int) {
	t.Helper()
	if err := r.Check(); err != nil {
		t.Fatalf("Check() = %v", err)
	}
	if got, want := r.Len(), len(ref.members); got != want {
		t.Fatalf("Len() = %d, want %d", got, want)
	}
	if got := r.Members(nil); !slices.Equal(got, ref.members) {
		t.Fatalf("Members() = %x, want %x", got, ref.members)
	}
	members, keys := ref.members, probeKeys(rng, ref, 50)
	if len(members) > sample {
		members = pick(rng, members, sample)
	}
	if len(keys) > sample {
		keys = pick(rng, keys, sample)
	}
	for _, id := range members {
		if !r.Contains(id) {
			t.Fatalf("Contains(%#x) = false, want true", id)
		}
		if got, want := r.Ranges(id, nil), ref.ranges(id); !slices.Equal(got, want) {
			t.Fatalf("Ranges(%#x) = %x, want %x", id, got, want)
		}
	}
	for _, key := range keys {
		got, ok := r.Owner(key)
		want, wantOK := ref.owner(key)
		if got != want || ok != wantOK {
			t.Fatalf("Owner(%#x) = %#x, %v, want %#x, %v", key, got, ok, want, wantOK)
		}
	}
	for range min(10, sample) {
		key, n := rng.Uint64(), rng.IntN(len(ref.members)+3)
		if got, want := r.Owners(key, n, nil), ref.owners(key, n); !slices.Equal(got, want) {
			t.Fatalf("Owners(%#x, %d) = %x, want %x", key, n, got, want)
		}
	}
}

func TestRingMatchesReference(t *testing.T) {
	tests := []struct {
		name     string
		tokens   int
		leafSize int // 0: the default
		members  int
	}{
		{"empty", 4, 0, 0},
		{"one member one token", 1, 0, 1},
		{"one member", 8, 0, 1},
		{"two members", 8, 0, 2},
		{"ten members", 16, 0, 10},
		{"tiny leaves", 8, 2, 40},
		{"default leaves", 64, 0, 50},
		{"default tokens", 0, 0, 5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(1, uint64(tt.members)))
			cfg := ring.WithLeafSize(ring.Config{Tokens: tt.tokens}, tt.leafSize)
			tokens := tt.tokens
			if tokens == 0 {
				tokens = ring.DefaultTokens
			}
			ids := randomIDs(rng, tt.members)
			checkRing(t, rng, ring.New(cfg, ids), newRefRing(tokens, ids))
		})
	}
}

// TestRingChurn drives a ring through random joins and leaves and checks
// every snapshot against the reference, and that earlier snapshots stay
// unchanged.
func TestRingChurn(t *testing.T) {
	for _, leaf := range []int{1, 2, 3, 8, 0} {
		rng := rand.New(rand.NewPCG(2, uint64(leaf)))
		cfg := ring.WithLeafSize(ring.Config{Tokens: 12}, leaf)
		pool := randomIDs(rng, 40)
		r, ref := ring.New(cfg, nil), newRefRing(12, nil)
		type snap struct {
			r   *ring.Ring
			ref *refRing
		}
		var snaps []snap
		for step := range 300 {
			id := pool[rng.IntN(len(pool))]
			if rng.IntN(3) == 0 || r.Len() > 30 {
				r = r.Remove(id)
				ref.remove(id)
			} else {
				r = r.Add(id)
				ref.add(id)
			}
			if step%10 == 0 {
				checkRing(t, rng, r, ref)
				snaps = append(snaps, snap{r, ref.clone()})
			}
		}
		for _, s := range snaps {
			checkRing(t, rng, s.r, s.ref)
		}
	}
}

func TestZeroRing(t *testing.T) {
	var z ring.Ring
	if _, ok := z.Owner(1); ok {
		t.Errorf("zero Ring: Owner(1) reports a member")
	}
	if got := z.Remove(1); got != &z {
		t.Errorf("zero Ring: Remove(1) returned a new ring")
	}
	r := z.Add(7)
	want := ring.New(ring.Config{}, []uint64{7})
	for _, key := range []uint64{0, 1 << 63, math.MaxUint64} {
		if got, _ := r.Owner(key); got != 7 {
			t.Errorf("zero Ring Add(7): Owner(%#x) = %#x, want 7", key, got)
		}
	}
	if got, want := r.Ranges(7, nil), want.Ranges(7, nil); !slices.Equal(got, want) {
		t.Errorf("zero Ring Add(7): Ranges(7) = %x, want %x", got, want)
	}
}

// TestRingOrderIndependent checks that the answers depend only on the member
// set: rings built from a permutation, or reached by different sequences of
// Add and Remove, agree on every lookup.
func TestRingOrderIndependent(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 3))
	cfg := ring.WithLeafSize(ring.Config{Tokens: 32}, 8)
	ids := randomIDs(rng, 60)
	extra := randomIDs(rng, 20)
	base := ring.New(cfg, ids)

	shuffled := slices.Clone(ids)
	rng.Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
	viaAdd := ring.New(cfg, nil)
	for _, id := range shuffled {
		viaAdd = viaAdd.Add(id)
	}
	viaChurn := ring.New(cfg, append(slices.Clone(ids[:30]), extra...))
	for _, id := range extra {
		viaChurn = viaChurn.Remove(id)
	}
	rest := slices.Clone(ids[30:])
	rng.Shuffle(len(rest), func(i, j int) { rest[i], rest[j] = rest[j], rest[i] })
	for _, id := range rest {
		viaChurn = viaChurn.Add(id)
	}
	withDups := ring.New(cfg, append(slices.Clone(shuffled), ids...))

	keys := probeKeys(rng, newRefRing(32, ids), 2000)
	for name, r := range map[string]*ring.Ring{"shuffled adds": viaAdd, "churn": viaChurn, "duplicates": withDups} {
		if err := r.Check(); err != nil {
			t.Fatalf("%s: Check() = %v", name, err)
		}
		for _, key := range keys {
			got, _ := r.Owner(key)
			want, _ := base.Owner(key)
			if got != want {
				t.Fatalf("%s: Owner(%#x) = %#x, want %#x", name, key, got, want)
			}
			if got, want := r.Owners(key, 3, nil), base.Owners(key, 3, nil); !slices.Equal(got, want) {
				t.Fatalf("%s: Owners(%#x, 3) = %x, want %x", name, key, got, want)
			}
		}
		for _, id := range ids {
			if got, want := r.Ranges(id, nil), base.Ranges(id, nil); !slices.Equal(got, want) {
				t.Fatalf("%s: Ranges(%#x) = %x, want %x", name, id, got, want)
			}
		}
	}
}

// TestRangesPartition checks that the ranges of all members tile the circle:
// disjoint, summing to 2^64, each owned by its member at both ends.
func TestRangesPartition(t *testing.T) {
	for _, n := range []int{1, 2, 3, 17, 200} {
		rng := rand.New(rand.NewPCG(4, uint64(n)))
		r := ring.New(ring.Config{Tokens: 16}, randomIDs(rng, n))
		var total uint64
		count := 0
		for _, id := range r.Members(nil) {
			rs := r.Ranges(id, nil)
			if len(rs) == 0 {
				t.Fatalf("n=%d: Ranges(%#x) is empty", n, id)
			}
			for i, g := range rs {
				if i > 0 && g.End <= rs[i-1].End {
					t.Fatalf("n=%d: Ranges(%#x) not ordered by End: %x", n, id, rs)
				}
				for _, key := range []uint64{g.Start + 1, g.End} {
					if got, _ := r.Owner(key); got != id {
						t.Fatalf("n=%d: Owner(%#x) = %#x, want %#x (range %x)", n, key, got, id, g)
					}
				}
				if got, _ := r.Owner(g.Start); got == id && n > 1 {
					t.Fatalf("n=%d: Owner(%#x) = %#x at the open end of its range %x: ranges not maximal", n, g.Start, got, g)
				}
				total += g.Size()
				count++
			}
		}
		// Sizes are modulo 2^64: the whole circle sums to zero, and only a
		// single member may own it in one range.
		if total != 0 {
			t.Errorf("n=%d: sizes of all ranges sum to %#x, want 2^64 (0 mod 2^64)", n, total)
		}
		if n == 1 && count != 1 {
			t.Errorf("n=1: %d ranges, want one covering the circle", count)
		}
	}
}

func TestOwners(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 5))
	r := ring.New(ring.Config{Tokens: 8}, randomIDs(rng, 10))
	prefix := []uint64{42, 43}
	tests := []struct {
		n, want int
	}{
		{-1, 0}, {0, 0}, {1, 1}, {3, 3}, {10, 10}, {11, 10}, {1000, 10},
	}
	for _, tt := range tests {
		key := rng.Uint64()
		got := r.Owners(key, tt.n, slices.Clone(prefix))
		if !slices.Equal(got[:2], prefix) {
			t.Errorf("Owners(%#x, %d, dst) overwrote dst: %x", key, tt.n, got)
		}
		got = got[2:]
		if len(got) != tt.want {
			t.Errorf("Owners(%#x, %d) returned %d members, want %d", key, tt.n, len(got), tt.want)
		}
		if owner, _ := r.Owner(key); len(got) > 0 && got[0] != owner {
			t.Errorf("Owners(%#x, %d)[0] = %#x, want Owner = %#x", key, tt.n, got[0], owner)
		}
		seen := map[uint64]bool{}
		for _, id := range got {
			if seen[id] || !r.Contains(id) {
				t.Errorf("Owners(%#x, %d) = %x: not distinct members", key, tt.n, got)
			}
			seen[id] = true
		}
	}
}

func TestAddRemoveNoop(t *testing.T) {
	r := ring.New(ring.Config{Tokens: 4}, []uint64{1, 2, 3})
	if got := r.Add(2); got != r {
		t.Errorf("Add(member) returned a new ring")
	}
	if got := r.Remove(9); got != r {
		t.Errorf("Remove(non-member) returned a new ring")
	}
	if got := r.Ranges(9, nil); len(got) != 0 {
		t.Errorf("Ranges(non-member) = %x, want none", got)
	}
	e := r.Remove(1).Remove(2).Remove(3)
	if _, ok := e.Owner(5); ok || e.Len() != 0 {
		t.Errorf("emptied ring: Owner(5) ok = %v, Len() = %d; want false, 0", ok, e.Len())
	}
	if err := e.Check(); err != nil {
		t.Errorf("emptied ring: Check() = %v", err)
	}
	if got, _ := e.Add(4).Owner(5); got != 4 {
		t.Errorf("emptied ring, Add(4): Owner(5) = %#x, want 4", got)
	}
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		tokens int
		ok     bool
	}{
		{-1, false}, {0, true}, {1, true}, {ring.MaxTokens, true}, {ring.MaxTokens + 1, false},
	}
	for _, tt := range tests {
		err := ring.Config{Tokens: tt.tokens}.Validate()
		if (err == nil) != tt.ok {
			t.Errorf("Config{Tokens: %d}.Validate() = %v, want ok = %v", tt.tokens, err, tt.ok)
		}
		if err != nil && !errors.Is(err, ring.ErrConfig) {
			t.Errorf("Config{Tokens: %d}.Validate() = %v, want ErrConfig", tt.tokens, err)
		}
	}
	// New normalizes what Validate rejects.
	for _, tt := range []struct{ tokens, want int }{{-5, ring.DefaultTokens}, {ring.MaxTokens + 7, ring.MaxTokens}} {
		r := ring.New(ring.Config{Tokens: tt.tokens}, []uint64{1, 2})
		if got := len(r.Ranges(1, nil)) + len(r.Ranges(2, nil)); got > 2*tt.want || got < tt.want/2 {
			t.Errorf("New(Config{Tokens: %d}): %d ranges, want about %d", tt.tokens, got, tt.want)
		}
	}
}

// collidingTokens are token placements that make tokens of different members,
// and of one member, share positions, so that ties are broken by member ID.
var collidingTokens = []struct {
	name string
	fn   func(id uint64, i int) uint64
}{
	{"eight positions", func(id uint64, i int) uint64 { return refToken(id, i) % 8 << 61 }},
	{"around zero", func(id uint64, i int) uint64 { return refToken(id, i)%16 - 8 }},
	{"one position", func(id uint64, i int) uint64 { return 42 }},
	{"one per member", func(id uint64, i int) uint64 { return refPosition(id) }},
}

// TestRingCollisions checks the tie-breaking rules against the reference
// with token placements that collide, through joins and leaves.
func TestRingCollisions(t *testing.T) {
	for _, tc := range collidingTokens {
		for _, leaf := range []int{1, 2, 5} {
			rng := rand.New(rand.NewPCG(6, uint64(leaf)))
			cfg := ring.WithTokenFunc(ring.WithLeafSize(ring.Config{Tokens: 6}, leaf), tc.fn)
			pool := []uint64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}
			r := ring.New(cfg, pool[:4])
			ref := newRefRing(6, pool[:4])
			ref.tok = tc.fn
			for range 60 {
				id := pool[rng.IntN(len(pool))]
				if rng.IntN(2) == 0 {
					r = r.Remove(id)
					ref.remove(id)
				} else {
					r = r.Add(id)
					ref.add(id)
				}
				checkRing(t, rng, r, ref)
			}
		}
	}
}
