package engine

// Snapshot is a consistent-per-shard, lock-free view of the membership table
// for readers on other goroutines. It reads the shards the core last
// published; it never blocks the core and the core never blocks it.
type Snapshot struct {
	t *table
}

// Snapshot returns a reader over the published table. It needs Env.Publish.
func (c *Core) Snapshot() Snapshot { return Snapshot{c.tab} }

// Members appends every member (tombstones included) to dst.
func (s Snapshot) Members(dst []Member) []Member {
	if s.t == nil || s.t.pub == nil {
		return dst
	}
	for i := range s.t.pub {
		sh := s.t.pub[i].Load()
		for j := range sh.recs {
			dst = append(dst, sh.recs[j].member())
		}
	}
	return dst
}

// Member returns one member by ID.
func (s Snapshot) Member(id ID, pos uint64) (Member, bool) {
	if s.t == nil || s.t.pub == nil {
		return Member{}, false
	}
	sh := s.t.pub[s.t.shardOf(pos)].Load()
	if i, ok := sh.find(id, pos); ok {
		return sh.recs[i].member(), true
	}
	return Member{}, false
}

// Members appends every member the core holds (tombstones included) to dst,
// read directly from the core's table. Like every Core method it must be
// called from the core's goroutine.
func (c *Core) Members(dst []Member) []Member {
	for _, sh := range c.tab.shards {
		for j := range sh.recs {
			dst = append(dst, sh.recs[j].member())
		}
	}
	return dst
}

// Member returns one member by ID from the core's table.
func (c *Core) Member(id ID) (Member, bool) {
	r := c.lookup(id)
	if r == nil {
		return Member{}, false
	}
	return r.member(), true
}

// NumMembers returns the live members (alive and suspect) and all members
// (tombstones included) in the core's table.
func (c *Core) NumMembers() (live, total int) { return c.tab.live, c.tab.total }

// Digest returns the root digest of the core's table: equal digests mean
// equal views of the live members and their application state.
func (c *Core) Digest() uint64 { return c.tab.root }
