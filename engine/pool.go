package engine

import (
	"sync"
	"weak"
)

// ShardPool lets cores in one process share identical membership shards.
// When a core publishes a shard whose records equal one another core
// published, it keeps the existing copy and drops its own. Nodes that agree
// on the cluster's state then hold one copy of it between them, which is what
// lets one process simulate 100,000 members that each know 100,000 members.
//
// Sharing is exact: shards are compared record by record, never by hash
// alone. The pool holds shards weakly; a shard no core uses any more is
// collected. A ShardPool is safe for concurrent use: it is split by shard
// index into parts with a lock each, so that thousands of nodes publishing
// on their own goroutines rarely wait for one another.
type ShardPool struct {
	parts [poolParts]poolPart
}

// poolParts is the number of independently locked parts of a ShardPool.
// Shard i lives in part i mod poolParts; at the default ShardBits every
// shard index has a part to itself.
const poolParts = 256

type poolPart struct {
	mu      sync.Mutex
	m       map[poolKey][]weak.Pointer[shard]
	adds    int
	shared  uint64
	interns uint64
	_       [64]byte // keep parts' locks on separate cache lines
}

type poolKey struct {
	index int32
	hash  uint64
}

// NewShardPool returns an empty pool.
func NewShardPool() *ShardPool {
	p := &ShardPool{}
	for i := range p.parts {
		p.parts[i].m = make(map[poolKey][]weak.Pointer[shard])
	}
	return p
}

// PoolStats reports how often publishing found a shard to share.
type PoolStats struct {
	Interns uint64 // shards offered
	Shared  uint64 // shards replaced by an existing copy
	Entries int    // distinct shards the pool tracks
}

// Stats returns the pool's counters.
func (p *ShardPool) Stats() PoolStats {
	var s PoolStats
	for i := range p.parts {
		pt := &p.parts[i]
		pt.mu.Lock()
		s.Interns += pt.interns
		s.Shared += pt.shared
		for _, l := range pt.m {
			s.Entries += len(l)
		}
		pt.mu.Unlock()
	}
	return s
}

// intern returns the pooled shard equal to s, adding s if there is none.
func (p *ShardPool) intern(index int, s *shard) *shard {
	if len(s.recs) == 0 {
		return emptyShard
	}
	k := poolKey{int32(index), s.contentHash()}
	pt := &p.parts[uint(index)%poolParts]
	pt.mu.Lock()
	defer pt.mu.Unlock()
	pt.interns++
	list := pt.m[k]
	live := list[:0]
	var found *shard
	for _, w := range list {
		c := w.Value()
		if c == nil {
			continue
		}
		live = append(live, w)
		if found == nil && c.sameContent(s) {
			found = c
		}
	}
	if found != nil {
		pt.m[k] = live
		pt.shared++
		return found
	}
	// Trim the private copy's spare capacity before it becomes shared.
	if cap(s.recs) > len(s.recs) {
		recs := make([]record, len(s.recs))
		copy(recs, s.recs)
		s.recs = recs
	}
	pt.m[k] = append(live, weak.Make(s))
	if pt.adds++; pt.adds >= 1<<16/poolParts {
		pt.adds = 0
		pt.sweep()
	}
	return s
}

// sweep forgets collected shards.
func (pt *poolPart) sweep() {
	for k, list := range pt.m {
		live := list[:0]
		for _, w := range list {
			if w.Value() != nil {
				live = append(live, w)
			}
		}
		if len(live) == 0 {
			delete(pt.m, k)
		} else {
			pt.m[k] = live
		}
	}
}
