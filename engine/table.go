package engine

import (
	"math/rand/v2"
	"sync/atomic"
)

// table is the membership table: 2^bits shards by ring position, each sorted
// by position, with incrementally maintained digests. One writer (the core)
// changes it; readers see published shard snapshots through atomic pointers.
//
// Writes are copy-on-write per shard and per publish epoch: the first change
// to a shard after publish copies it, later changes in the same epoch edit the
// private copy in place, and publish freezes every private copy again.
type table struct {
	bits   uint
	shift  uint
	shards []*shard
	owned  []bool  // shards[i] is a private copy, not yet published
	dirty  []int32 // shards changed since the last publish
	pub    []atomic.Pointer[shard]
	pool   *ShardPool
	fen    fenwick // record count per shard, for uniform random choice

	root  uint64 // sum of shard digests
	live  int
	total int
}

var emptyShard = &shard{}

func newTable(bits uint, publish bool, pool *ShardPool) *table {
	n := 1 << bits
	t := &table{
		bits:   bits,
		shift:  64 - bits,
		shards: make([]*shard, n),
		owned:  make([]bool, n),
		pool:   pool,
		fen:    newFenwick(n),
	}
	for i := range t.shards {
		t.shards[i] = emptyShard
	}
	if publish {
		t.pub = make([]atomic.Pointer[shard], n)
		for i := range t.pub {
			t.pub[i].Store(emptyShard)
		}
	}
	return t
}

func (t *table) shardOf(pos uint64) int { return int(pos >> t.shift) }

// get returns the record for id, or nil. The pointer is valid until the next
// change to the table.
func (t *table) get(id ID, pos uint64) *record {
	s := t.shards[t.shardOf(pos)]
	if i, ok := s.find(id, pos); ok {
		return &s.recs[i]
	}
	return nil
}

// mutable returns shard i as a private copy, copying it if it is shared.
func (t *table) mutable(i int) *shard {
	if !t.owned[i] {
		t.shards[i] = t.shards[i].clone()
		t.owned[i] = true
		t.dirty = append(t.dirty, int32(i))
	}
	return t.shards[i]
}

// set inserts r or replaces the record with the same id.
func (t *table) set(r record) {
	r.sum = r.hash()
	si := t.shardOf(r.pos)
	s := t.mutable(si)
	i, found := s.find(r.id, r.pos)
	if found {
		t.account(s, &s.recs[i], -1)
		s.recs[i] = r
	} else {
		s.recs = append(s.recs, record{})
		copy(s.recs[i+1:], s.recs[i:])
		s.recs[i] = r
		t.total++
		t.fen.add(si, 1)
	}
	t.account(s, &s.recs[i], +1)
}

// remove deletes the record for id, if present.
func (t *table) remove(id ID, pos uint64) bool {
	si := t.shardOf(pos)
	if _, ok := t.shards[si].find(id, pos); !ok {
		return false
	}
	s := t.mutable(si)
	i, _ := s.find(id, pos)
	t.account(s, &s.recs[i], -1)
	copy(s.recs[i:], s.recs[i+1:])
	s.recs[len(s.recs)-1] = record{}
	s.recs = s.recs[:len(s.recs)-1]
	t.total--
	t.fen.add(si, -1)
	return true
}

// account adds (sign +1) or removes (sign -1) r's share of the digests and
// counts.
func (t *table) account(s *shard, r *record, sign int) {
	if !r.live() {
		return
	}
	h := r.sum
	if sign > 0 {
		s.digest += h
		t.root += h
	} else {
		s.digest -= h
		t.root -= h
	}
	s.live += int32(sign)
	t.live += sign
}

// publish freezes every private shard and, when the table has readers, makes
// it visible to them. With a ShardPool, identical shards are shared.
func (t *table) publish() {
	for _, i := range t.dirty {
		s := t.shards[i]
		if t.pool != nil {
			s = t.pool.intern(int(i), s)
			t.shards[i] = s
		}
		t.owned[i] = false
		if t.pub != nil {
			t.pub[i].Store(s)
		}
	}
	t.dirty = t.dirty[:0]
}

// adopt makes the table hold exactly the given published shards, which it
// then shares, and recounts from them. The table must have been published
// (no private copies).
func (t *table) adopt(shards []*shard) {
	copy(t.shards, shards)
	clear(t.fen)
	t.root, t.live, t.total = 0, 0, 0
	for i, s := range t.shards {
		t.fen.add(i, int32(len(s.recs)))
		t.root += s.digest
		t.live += int(s.live)
		t.total += len(s.recs)
	}
	if t.pub != nil {
		for i := range t.pub {
			t.pub[i].Store(t.shards[i])
		}
	}
}

// levels is the number of digest levels below the root: each level splits a
// node into 16 children, and the last level is the shards.
func (t *table) levels() int { return int(t.bits / 4) }

// digestAt returns the digest and live count of node index at level (0 is the
// root, levels() the shards).
func (t *table) digestAt(level, index int) (uint64, uint32) {
	if level == 0 {
		return t.root, uint32(t.live)
	}
	span := 1 << (t.bits - 4*uint(level))
	lo := index * span
	if lo < 0 || lo+span > len(t.shards) {
		return 0, 0
	}
	var sum uint64
	var n int32
	for _, s := range t.shards[lo : lo+span] {
		sum += s.digest
		n += s.live
	}
	return sum, uint32(n)
}

// recordsAt returns the number of records, tombstones included, under
// node index at level (see digestAt).
func (t *table) recordsAt(level, index int) uint32 {
	span := 1 << (t.bits - 4*uint(level))
	lo := index * span
	if lo < 0 || lo+span > len(t.shards) {
		return 0
	}
	n := 0
	for _, s := range t.shards[lo : lo+span] {
		n += len(s.recs)
	}
	return uint32(n)
}

// randomLive returns a uniformly chosen live record for which skip returns
// false, or nil after a bounded number of tries.
func (t *table) randomLive(rng *rand.Rand, skip func(*record) bool) *record {
	if t.total == 0 {
		return nil
	}
	for try := 0; try < 32; try++ {
		k := rng.IntN(t.total)
		si, off := t.fen.find(k)
		r := &t.shards[si].recs[off]
		if r.live() && (skip == nil || !skip(r)) {
			return r
		}
	}
	return nil
}

// randomAny returns a uniformly chosen record of any state, or nil.
func (t *table) randomAny(rng *rand.Rand) *record {
	if t.total == 0 {
		return nil
	}
	si, off := t.fen.find(rng.IntN(t.total))
	return &t.shards[si].recs[off]
}

// walk visits records clockwise after pos (forward) or counter-clockwise
// before it, wrapping around the circle once, until visit returns false.
func (t *table) walk(pos uint64, forward bool, visit func(*record) bool) {
	n := len(t.shards)
	si := t.shardOf(pos)
	s := t.shards[si]
	i := s.after(pos)
	if !forward {
		i = s.search(pos, 0) - 1
	}
	for seen := 0; seen < t.total; {
		if forward {
			if i >= len(s.recs) {
				si = (si + 1) % n
				s, i = t.shards[si], 0
				continue
			}
		} else if i < 0 {
			si = (si - 1 + n) % n
			s = t.shards[si]
			i = len(s.recs) - 1
			continue
		}
		seen++
		if !visit(&s.recs[i]) {
			return
		}
		if forward {
			i++
		} else {
			i--
		}
	}
}

// fenwick is a binary indexed tree of per-shard record counts.
type fenwick []int32

func newFenwick(n int) fenwick { return make(fenwick, n+1) }

func (f fenwick) add(i int, d int32) {
	for i++; i < len(f); i += i & -i {
		f[i] += d
	}
}

// find returns the shard holding the k-th record (0-based) and its offset.
func (f fenwick) find(k int) (int, int) {
	pos := 0
	rem := int32(k)
	step := 1
	for step*2 < len(f) {
		step *= 2
	}
	for ; step > 0; step /= 2 {
		if next := pos + step; next < len(f) && f[next] <= rem {
			pos = next
			rem -= f[next]
		}
	}
	return pos, int(rem)
}
