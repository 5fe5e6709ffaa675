package engine

// grave is a tombstone's place in the reaping queue: dead and left members
// are removed TombstoneRetention after this node learned of it, unless they
// came back meanwhile.
type grave struct {
	id  ID
	pos uint64
	gen uint64
	inc uint32
	at  Time
}

func (c *Core) bury(now Time, r *record) {
	c.graves = append(c.graves, grave{id: r.id, pos: r.pos, gen: r.gen, inc: r.inc, at: now})
}

// reap removes tombstones whose retention ran out.
func (c *Core) reap(now Time) {
	n := 0
	for n < len(c.graves) && c.graves[n].at.Add(c.cfg.TombstoneRetention) <= now {
		g := &c.graves[n]
		n++
		r := c.tab.get(g.id, g.pos)
		if r == nil || r.live() || r.gen != g.gen || r.buried != g.inc {
			continue
		}
		c.tab.remove(g.id, g.pos)
		c.q.forget(g.id)
		c.cancelSuspicion(g.id)
		c.stats.Reaped++
	}
	if n > 0 {
		c.graves = append(c.graves[:0], c.graves[n:]...)
	}
}
