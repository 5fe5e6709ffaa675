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
	if c.tab.bits != other.tab.bits {
		panic("hearsay: AdoptView between cores with different ShardBits")
	}
	other.Publish()
	c.adoptShards(other.tab.shards)
}

// adoptShards makes the table hold exactly the given published (immutable)
// shards of a table with the same ShardBits, plus this core's own record.
// It takes O(shards).
func (c *Core) adoptShards(shards []*shard) {
	c.Publish()
	c.tab.adopt(shards)
	if r := c.selfRecord(); r == nil || r.gen != c.gen || r.addr() != c.addr || r.inc != c.inc || r.state != StateAlive {
		c.tab.set(newRecord(c.id, c.addr, c.gen, c.inc, StateAlive))
	}
	c.topoGen++
	c.updateDeadline()
}
