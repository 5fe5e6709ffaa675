package bulk_test

import (
	"errors"
	"runtime"
	"testing"

	"github.com/hearsay-io/hearsay/codec"
	"github.com/hearsay-io/hearsay/codec/bulk"
)

var (
	sinkBytes []byte
	sinkErr   error
)

// allocs returns the exact number of allocations of runs calls of fn, in
// total and the fewest and most in one call. testing.AllocsPerRun rounds
// its average down (19 allocations in 20 runs read as 0), so each call is
// measured on its own; each measurement also makes one warm-up call, which
// is not counted.
func allocs(runs int, fn func()) (total, least, most int) {
	least = int(^uint(0) >> 1)
	for range runs {
		n := int(testing.AllocsPerRun(1, fn))
		total += n
		least = min(least, n)
		most = max(most, n)
	}
	return total, least, most
}

// maxPoolAllocs is what Compress may allocate in one call when its
// encoder's pool is cold (see Compress): the hash table, and the pool's
// per-processor array and registration, re-created after a collection.
const maxPoolAllocs = 3

// TestNoAllocs checks that, in steady state (dst with the capacity, no
// garbage collection between calls), nothing allocates. The exception is
// documented on Compress: under the race detector sync.Pool drops pooled
// values at random, so a compression may allocate its encoder's table.
func TestNoAllocs(t *testing.T) {
	state := fullState(10000, 1)
	comp := bulk.Compress(nil, state)
	plain := shardData(state, 48)
	cdg, _ := bulk.CompressDatagram(nil, plain)
	buf := make([]byte, 0, bulk.MaxCompressedLen(len(state)))
	out := make([]byte, 0, len(state))
	dgBuf := make([]byte, 0, codec.HeaderSize+bulk.MaxCompressedLen(codec.MaxBodySize))
	bomb := []byte{0xff, 0xff, 0xff, 0xff, 0x0f, 0}
	tests := []struct {
		name   string
		fn     func()
		err    error
		pooled bool // compresses: may allocate its table under the race detector
	}{
		{"Compress/full state", func() { sinkBytes = bulk.Compress(buf[:0], state) }, nil, true},
		{"Decompress/full state", func() { sinkBytes, sinkErr = bulk.Decompress(out[:0], comp, len(state)) }, nil, false},
		{"Decompress/bomb", func() { sinkBytes, sinkErr = bulk.Decompress(nil, bomb, codec.MaxBodySize) }, bulk.ErrTooLarge, false},
		{"Decompress/corrupt", func() { sinkBytes, sinkErr = bulk.Decompress(out[:0], comp[:100], len(state)) }, bulk.ErrCorrupt, false},
		{"CompressDatagram", func() { sinkBytes, sinkErr = bulk.CompressDatagram(dgBuf[:0], plain) }, nil, true},
		{"DecompressDatagram", func() { sinkBytes, sinkErr = bulk.DecompressDatagram(dgBuf[:0], cdg, codec.MaxBodySize) }, nil, false},
	}
	const runs = 50
	for _, tt := range tests {
		sinkErr = nil
		total, _, most := allocs(runs, tt.fn)
		switch {
		case tt.pooled && raceEnabled:
			if most > maxPoolAllocs {
				t.Errorf("%s (race detector): %d allocations in one call, want at most %d", tt.name, most, maxPoolAllocs)
			}
		case total != 0:
			t.Errorf("%s: %d allocations in %d calls, want 0", tt.name, total, runs)
		}
		if !errors.Is(sinkErr, tt.err) {
			t.Errorf("%s: error %v, want %v", tt.name, sinkErr, tt.err)
		}
	}
}

// TestAllocsAfterGC checks what Compress documents it allocates when
// garbage collection has emptied the S2 encoder's pools: a call after two
// collections (the first moves pooled values to the victim cache, the
// second drops them) allocates its size class's hash table and the pool's
// bookkeeping, at most maxPoolAllocs objects, and nothing for inputs too
// short for a table. Decompression keeps no pooled state and allocates
// nothing after a collection either.
func TestAllocsAfterGC(t *testing.T) {
	state := fullState(10000, 1)
	buf := make([]byte, 0, bulk.MaxCompressedLen(len(state)))
	out := make([]byte, 0, len(state))

	tests := []struct {
		n     int // input length
		table int // bytes of the encoder's table; 0: none
	}{
		{31, 0},
		{32, 1 << 10},
		{511, 1 << 10},
		{512, 4 << 10},
		{4<<10 - 1, 4 << 10},
		{4 << 10, 16 << 10},
		{16<<10 - 1, 16 << 10},
		{16 << 10, 64 << 10},
		{len(state), 64 << 10},
	}
	if !encoderPools {
		t.Logf("this build's S2 encoder keeps its table on the stack: nothing is allocated")
	}
	const runs = 3
	for _, tt := range tests {
		src := state[:tt.n]
		compress := func() { sinkBytes = bulk.Compress(buf[:0], src) }
		_, least, most := allocs(runs, afterGC(compress))
		bytes := allocBytes(compress, collect)
		t.Logf("Compress(%d bytes) after two collections: %d to %d allocations, %d bytes", tt.n, least, most, bytes)
		switch {
		case tt.table == 0 || !encoderPools:
			if most != 0 || bytes != 0 {
				t.Errorf("Compress(%d bytes) after a collection: up to %d allocations, %d bytes; want none", tt.n, most, bytes)
			}
		case least < 1 || most > maxPoolAllocs:
			t.Errorf("Compress(%d bytes) after a collection: %d to %d allocations, want 1 (the %d-byte table) to %d",
				tt.n, least, most, tt.table, maxPoolAllocs)
		default:
			// The table, the pool's per-processor array (128 bytes per
			// P; allocBytes runs with one) and its registration (a
			// slice of pointers).
			const bookkeeping = 128 + 64
			if bytes < uint64(tt.table) || bytes > uint64(tt.table+bookkeeping) {
				t.Errorf("Compress(%d bytes) after a collection: %d bytes allocated, want the %d-byte table and at most %d of bookkeeping",
					tt.n, bytes, tt.table, bookkeeping)
			}
		}
	}

	comp := bulk.Compress(nil, state)
	decompress := func() { sinkBytes, sinkErr = bulk.Decompress(out[:0], comp, len(state)) }
	if total, _, _ := allocs(runs, afterGC(decompress)); total != 0 || sinkErr != nil {
		t.Errorf("Decompress after a collection: %d allocations in %d calls (error %v), want 0", total, runs, sinkErr)
	}
}

// collect runs two garbage collections, which empty every sync.Pool.
func collect() { runtime.GC(); runtime.GC() }

// afterGC returns a function for allocs, which calls it twice per
// testing.AllocsPerRun(1, f): first as the warm-up, not measured, then
// measured. The calls alternate between collecting and fn, so fn is
// measured right after a collection and the collector's own work is not.
func afterGC(fn func()) func() {
	measured := false
	return func() {
		if measured {
			fn()
		} else {
			collect()
		}
		measured = !measured
	}
}

// allocBytes returns the fewest bytes allocated by fn over three calls,
// each made right after prepare. The process's other goroutines may
// allocate meanwhile; the least of three keeps that noise out.
func allocBytes(fn, prepare func()) uint64 {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	least := ^uint64(0)
	var before, after runtime.MemStats
	for range 3 {
		prepare()
		runtime.ReadMemStats(&before)
		fn()
		runtime.ReadMemStats(&after)
		least = min(least, after.TotalAlloc-before.TotalAlloc)
	}
	return least
}
