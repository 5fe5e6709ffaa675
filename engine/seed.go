package engine

// Seed puts members straight into the table, as if learned from the network
// long ago: no events, no gossip. Simulators and tests use it to start a
// cluster converged.
func (c *Core) Seed(now Time, members []Member) {
	for _, m := range members {
		if m.ID == c.id || m.ID == 0 || !m.State.valid() {
			continue
		}
		c.tab.set(newRecord(m.ID, m.Addr, m.Generation, m.Incarnation, m.State))
	}
	c.topoGen++
	c.updateDeadline()
}

// AdoptView makes this core's table equal to other's, sharing other's
// published shards rather than copying them. Both cores must have the same
// ShardBits and must be driven by the same goroutine. Simulators use it to
// start thousands of nodes converged in O(shards) each.
func (c *Core) AdoptView(other *Core) {
	other.Publish()
	if c.tab.bits != other.tab.bits {
		panic("hearsay: AdoptView between cores with different ShardBits")
	}
	c.adoptShards(other.tab.shards)
}

// adoptShards makes the table hold exactly the given shards, which must be
// published (immutable) shards of a table with the same ShardBits, then
// makes sure it holds this core's own record. It takes O(shards).
func (c *Core) adoptShards(shards []*shard) {
	c.Publish()
	t := c.tab
	copy(t.shards, shards)
	clear(t.owned)
	t.fen = newFenwick(len(t.shards))
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
	if r := c.selfRecord(); r == nil || r.gen != c.gen || r.addr() != c.addr || r.inc != c.inc || r.state != StateAlive {
		c.tab.set(newRecord(c.id, c.addr, c.gen, c.inc, StateAlive))
	}
	c.topoGen++
	c.updateDeadline()
}
