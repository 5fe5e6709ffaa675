package engine

import (
	"net/netip"
	"slices"
)

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

// SetSeeds replaces the addresses the core re-contacts every SeedInterval
// (Config.Seeds): one at random among the first 16 that are not its own.
// The schedule of re-contacts is kept; one that fell due while there were
// no seeds waits a full SeedInterval from now. The runtime calls it with
// the addresses of the seeds it resolved. The core copies seeds.
func (c *Core) SetSeeds(now Time, seeds []netip.AddrPort) {
	if now > c.now {
		c.now = now
	}
	c.cfg.Seeds = slices.Clone(seeds)
	if c.nextSeed <= c.now {
		c.nextSeed = c.now.Add(c.cfg.SeedInterval)
	}
	c.updateDeadline()
}

// SeedContactDue returns when the core next re-contacts a seed, if it has
// seeds then.
func (c *Core) SeedContactDue() Time { return c.nextSeed }
