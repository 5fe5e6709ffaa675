package ring_test

import (
	"flag"
	"fmt"
	"math/rand/v2"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/hearsay-io/hearsay/ring"
)

// Benchmarks sweep the member count. Rings are built once per size and
// cached, since a 100,000-member ring takes seconds to build.
//
//	go test ./ring -run '^$' -bench . -count 6 | tee new.txt
//	go run golang.org/x/perf/cmd/benchstat@latest new.txt
//
// -bench.sizes narrows the sweep, for example -bench.sizes 10000.
var benchSizes = flag.String("bench.sizes", "10,1000,10000,100000", "member counts the benchmarks sweep")

type benchFixture struct {
	ids     []uint64 // members
	joiners []uint64 // IDs that are not members
	keys    []uint64 // random keys
	ring    *ring.Ring
	bytes   float64 // heap bytes the ring holds
	topo    *ring.Topology
	flat    *flatRing
	classic *classicRing
}

var fixtures = map[int]*benchFixture{}

// heapAfter runs build and returns its result with the growth of the live
// heap it caused.
func heapAfter[T any](build func() T) (T, float64) {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	v := build()
	runtime.GC()
	runtime.ReadMemStats(&after)
	return v, float64(after.HeapAlloc) - float64(before.HeapAlloc)
}

func fixture(n int) *benchFixture {
	if f, ok := fixtures[n]; ok {
		return f
	}
	rng := rand.New(rand.NewPCG(99, uint64(n)))
	all := randomIDs(rng, n+1024)
	f := &benchFixture{ids: all[:n], joiners: all[n:]}
	f.keys = make([]uint64, 1<<16)
	for i := range f.keys {
		f.keys[i] = rng.Uint64()
	}
	f.ring, f.bytes = heapAfter(func() *ring.Ring { return ring.New(ring.Config{}, f.ids) })
	f.topo = ring.NewTopology(f.ids)
	fixtures[n] = f
	return f
}

func eachSize(b *testing.B, fn func(b *testing.B, f *benchFixture)) {
	for _, f := range strings.Split(*benchSizes, ",") {
		n, err := strconv.Atoi(f)
		if err != nil {
			b.Fatalf("-bench.sizes: %v", err)
		}
		b.Run(fmt.Sprintf("n=%d", n), func(b *testing.B) {
			f := fixture(n)
			b.ReportAllocs()
			fn(b, f)
		})
	}
}

func BenchmarkOwner(b *testing.B) {
	eachSize(b, func(b *testing.B, f *benchFixture) {
		for i := 0; b.Loop(); i++ {
			sinkID, sinkOK = f.ring.Owner(f.keys[i&(len(f.keys)-1)])
		}
		b.ReportMetric(f.bytes/float64(len(f.ids)), "B/member")
	})
}

func BenchmarkOwners3(b *testing.B) {
	eachSize(b, func(b *testing.B, f *benchFixture) {
		dst := make([]uint64, 0, 3)
		for i := 0; b.Loop(); i++ {
			sinkIDs = f.ring.Owners(f.keys[i&(len(f.keys)-1)], 3, dst[:0])
		}
	})
}

func BenchmarkRanges(b *testing.B) {
	eachSize(b, func(b *testing.B, f *benchFixture) {
		dst := make([]ring.Range, 0, ring.DefaultTokens)
		for i := 0; b.Loop(); i++ {
			sinkRanges = f.ring.Ranges(f.ids[i%len(f.ids)], dst[:0])
		}
	})
}

// BenchmarkAdd measures the incremental join of one member.
func BenchmarkAdd(b *testing.B) {
	eachSize(b, func(b *testing.B, f *benchFixture) {
		for i := 0; b.Loop(); i++ {
			sinkRing = f.ring.Add(f.joiners[i%len(f.joiners)])
		}
	})
}

// BenchmarkRemove measures the incremental leave of one member.
func BenchmarkRemove(b *testing.B) {
	eachSize(b, func(b *testing.B, f *benchFixture) {
		for i := 0; b.Loop(); i++ {
			sinkRing = f.ring.Remove(f.ids[i%len(f.ids)])
		}
	})
}

// BenchmarkRebuild measures the alternative to Add: building the ring with
// the new member from scratch.
func BenchmarkRebuild(b *testing.B) {
	eachSize(b, func(b *testing.B, f *benchFixture) {
		ids := append(slices.Clone(f.ids), f.joiners[0])
		for b.Loop() {
			sinkRing = ring.New(ring.Config{}, ids)
		}
	})
}

// BenchmarkFlatAdd measures the other incremental layout: one sorted token
// array, copied and merged with the new member's tokens.
func BenchmarkFlatAdd(b *testing.B) {
	eachSize(b, func(b *testing.B, f *benchFixture) {
		if f.flat == nil {
			f.flat = newFlatRing(ring.DefaultTokens, f.ids)
		}
		for i := 0; b.Loop(); i++ {
			sinkFlat = f.flat.add(f.joiners[i%len(f.joiners)])
		}
	})
}

// BenchmarkFlatOwner measures lookups in the flat layout.
func BenchmarkFlatOwner(b *testing.B) {
	eachSize(b, func(b *testing.B, f *benchFixture) {
		if f.flat == nil {
			f.flat = newFlatRing(ring.DefaultTokens, f.ids)
		}
		for i := 0; b.Loop(); i++ {
			sinkID = f.flat.owner(f.keys[i&(len(f.keys)-1)])
		}
	})
}

// BenchmarkClassicOwner is the baseline: the groupcache-shaped ring, a sorted
// slice of token hashes, a map from hash to member and sort.Search.
func BenchmarkClassicOwner(b *testing.B) {
	eachSize(b, func(b *testing.B, f *benchFixture) {
		if f.classic == nil {
			f.classic = newClassicRing(ring.DefaultTokens, f.ids)
		}
		for i := 0; b.Loop(); i++ {
			sinkID = f.classic.owner(f.keys[i&(len(f.keys)-1)])
		}
	})
}

func BenchmarkObservers(b *testing.B) {
	eachSize(b, func(b *testing.B, f *benchFixture) {
		dst := make([]uint64, 0, 3)
		for i := 0; b.Loop(); i++ {
			sinkIDs = f.topo.Observers(f.ids[i%len(f.ids)], 3, dst[:0])
		}
	})
}

func BenchmarkSubjects(b *testing.B) {
	eachSize(b, func(b *testing.B, f *benchFixture) {
		dst := make([]uint64, 0, 3)
		for i := 0; b.Loop(); i++ {
			sinkIDs = f.topo.Subjects(f.ids[i%len(f.ids)], 3, dst[:0])
		}
	})
}

func BenchmarkTopologyAdd(b *testing.B) {
	eachSize(b, func(b *testing.B, f *benchFixture) {
		for i := 0; b.Loop(); i++ {
			sinkTopo = f.topo.Add(f.joiners[i%len(f.joiners)])
		}
	})
}

func BenchmarkTopologyRemove(b *testing.B) {
	eachSize(b, func(b *testing.B, f *benchFixture) {
		for i := 0; b.Loop(); i++ {
			sinkTopo = f.topo.Remove(f.ids[i%len(f.ids)])
		}
	})
}

func BenchmarkNewTopology(b *testing.B) {
	eachSize(b, func(b *testing.B, f *benchFixture) {
		for b.Loop() {
			sinkTopo = ring.NewTopology(f.ids)
		}
	})
}

var (
	sinkRing *ring.Ring
	sinkTopo *ring.Topology
	sinkFlat *flatRing
)

// flatRing is the layout Ring does not use: every token in one sorted array.
// Adding a member copies the whole array, merging in the new tokens.
type flatRing struct {
	tokens int
	hash   []uint64
	slot   []uint32
	ids    []uint64 // by slot
}

func newFlatRing(tokens int, ids []uint64) *flatRing {
	f := &flatRing{tokens: tokens, ids: slices.Clone(ids)}
	type tok struct {
		hash uint64
		slot uint32
	}
	ts := make([]tok, 0, len(ids)*tokens)
	for s, id := range f.ids {
		for i := range tokens {
			ts = append(ts, tok{refToken(id, i), uint32(s)})
		}
	}
	slices.SortFunc(ts, func(a, b tok) int {
		switch {
		case a.hash < b.hash:
			return -1
		case a.hash > b.hash:
			return 1
		}
		return 0
	})
	f.hash, f.slot = make([]uint64, len(ts)), make([]uint32, len(ts))
	for i, t := range ts {
		f.hash[i], f.slot[i] = t.hash, t.slot
	}
	return f
}

func (f *flatRing) add(id uint64) *flatRing {
	slot := uint32(len(f.ids))
	toks := make([]uint64, f.tokens)
	for i := range toks {
		toks[i] = refToken(id, i)
	}
	slices.Sort(toks)
	m := len(f.hash) + len(toks)
	nf := &flatRing{tokens: f.tokens, hash: make([]uint64, 0, m), slot: make([]uint32, 0, m), ids: append(slices.Clip(f.ids), id)}
	prev := 0
	for _, h := range toks {
		j := prev + sort.Search(len(f.hash)-prev, func(k int) bool { return f.hash[prev+k] >= h })
		nf.hash = append(append(nf.hash, f.hash[prev:j]...), h)
		nf.slot = append(append(nf.slot, f.slot[prev:j]...), slot)
		prev = j
	}
	nf.hash = append(nf.hash, f.hash[prev:]...)
	nf.slot = append(nf.slot, f.slot[prev:]...)
	return nf
}

func (f *flatRing) owner(key uint64) uint64 {
	lo, hi := 0, len(f.hash)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if f.hash[m] < key {
			lo = m + 1
		} else {
			hi = m
		}
	}
	if lo == len(f.hash) {
		lo = 0
	}
	return f.ids[f.slot[lo]]
}

// classicRing is the classic consistent-hash ring as groupcache's
// consistenthash package shapes it: sorted token hashes, a map from hash to
// member, and sort.Search. (Written for this comparison; no code taken.)
type classicRing struct {
	hashes []uint64
	member map[uint64]uint64
}

func newClassicRing(tokens int, ids []uint64) *classicRing {
	c := &classicRing{member: make(map[uint64]uint64, len(ids)*tokens)}
	for _, id := range ids {
		for i := range tokens {
			h := refToken(id, i)
			c.hashes = append(c.hashes, h)
			c.member[h] = id
		}
	}
	slices.Sort(c.hashes)
	return c
}

func (c *classicRing) owner(key uint64) uint64 {
	i := sort.Search(len(c.hashes), func(i int) bool { return c.hashes[i] >= key })
	if i == len(c.hashes) {
		i = 0
	}
	return c.member[c.hashes[i]]
}

// TestBenchmarkLayouts checks that the layouts the benchmarks compare agree
// with Ring, so that the comparison is between equals.
func TestBenchmarkLayouts(t *testing.T) {
	rng := rand.New(rand.NewPCG(30, 30))
	ids := randomIDs(rng, 50)
	r := ring.New(ring.Config{Tokens: 16}, ids[:49])
	flat := newFlatRing(16, ids[:48]).add(ids[48])
	classic := newClassicRing(16, ids[:49])
	for range 2000 {
		key := rng.Uint64()
		want, _ := r.Owner(key)
		if got := flat.owner(key); got != want {
			t.Fatalf("flatRing.owner(%#x) = %#x, want %#x", key, got, want)
		}
		if got := classic.owner(key); got != want {
			t.Fatalf("classicRing.owner(%#x) = %#x, want %#x", key, got, want)
		}
	}
}
