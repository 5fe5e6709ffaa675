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
// The pool shares members' application state the same way: when a core
// merges a state update, it keeps the copy another core already built for
// the same member, generation and entries. While a cluster's views still
// differ, shards are rarely shared, but every holder of a member's latest
// state holds the same copy of it.
//
// Sharing is exact: shards are compared record by record and states entry
// by entry, never by hash alone. The pool holds both weakly; what no core
// uses any more is collected. A ShardPool is safe for concurrent use.
type ShardPool struct {
	mu      sync.Mutex
	m       map[poolKey][]weak.Pointer[shard]
	adds    int
	shared  uint64
	interns uint64

	appMu   sync.Mutex // guards apps and appAdds
	apps    map[appKey]weak.Pointer[appState]
	appAdds int
}

type appKey struct {
	owner ID
	gen   uint64
	hash  uint64
}

type poolKey struct {
	index int32
	hash  uint64
}

// NewShardPool returns an empty pool.
func NewShardPool() *ShardPool {
	return &ShardPool{
		m:    make(map[poolKey][]weak.Pointer[shard]),
		apps: make(map[appKey]weak.Pointer[appState]),
	}
}

// PoolStats reports how often publishing found a shard to share.
type PoolStats struct {
	Interns uint64 // shards offered
	Shared  uint64 // shards replaced by an existing copy
	Entries int    // distinct shards the pool tracks
}

// Stats returns the pool's counters.
func (p *ShardPool) Stats() PoolStats {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := 0
	for _, l := range p.m {
		n += len(l)
	}
	return PoolStats{Interns: p.interns, Shared: p.shared, Entries: n}
}

// intern returns the pooled shard equal to s, adding s if there is none.
func (p *ShardPool) intern(index int, s *shard) *shard {
	if len(s.recs) == 0 {
		return emptyShard
	}
	k := poolKey{int32(index), s.contentHash()}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.interns++
	list := p.m[k]
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
		p.m[k] = live
		p.shared++
		return found
	}
	// Trim the private copy's spare capacity before it becomes shared.
	if cap(s.recs) > len(s.recs) {
		recs := make([]record, len(s.recs))
		copy(recs, s.recs)
		s.recs = recs
	}
	p.m[k] = append(live, weak.Make(s))
	if p.adds++; p.adds >= 1<<16 {
		p.adds = 0
		p.sweep()
	}
	return s
}

// sweep forgets collected shards.
func (p *ShardPool) sweep() {
	for k, list := range p.m {
		live := list[:0]
		for _, w := range list {
			if w.Value() != nil {
				live = append(live, w)
			}
		}
		if len(live) == 0 {
			delete(p.m, k)
		} else {
			p.m[k] = live
		}
	}
}

// internApp returns the pooled state equal to a for the member's generation,
// adding a if there is none. The pool keeps one state per member,
// generation and hash: in the rare case of two different states with one
// hash, the second is simply not shared.
func (p *ShardPool) internApp(owner ID, gen uint64, a *appState) *appState {
	if a == nil {
		return nil
	}
	k := appKey{owner, gen, a.hash}
	p.appMu.Lock()
	defer p.appMu.Unlock()
	if w, ok := p.apps[k]; ok {
		if c := w.Value(); c != nil {
			if c.equal(a) {
				return c
			}
			return a
		}
	}
	p.apps[k] = weak.Make(a)
	// Forget collected states once as many were added as the map holds,
	// so that the sweeps cost O(1) per add.
	if p.appAdds++; p.appAdds >= 1<<12 && p.appAdds >= 2*len(p.apps) {
		p.appAdds = 0
		for k, w := range p.apps {
			if w.Value() == nil {
				delete(p.apps, k)
			}
		}
	}
	return a
}
