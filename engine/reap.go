package engine

import (
	"container/heap"

	"github.com/hearsay-io/hearsay/codec"
)

// grave is a tombstone's place in the reaping queue: dead and left members
// are removed TombstoneRetention after they were buried, unless they came
// back meanwhile. A member is buried when this node learns of its death,
// or, for a tombstone of a member this node never held, when the node that
// told it buried it (see wear).
type grave struct {
	id  ID
	pos uint64
	gen uint64
	inc uint32
	at  Time
}

func (g grave) due() Time { return g.at }

// graveHeap orders graves by burial time, the earliest first.
type graveHeap = dueHeap[grave]

func (c *Core) bury(now Time, r *record) { c.buryAt(r, now) }

// buryAt queues r's tombstone for reaping TombstoneRetention after at.
func (c *Core) buryAt(r *record, at Time) {
	heap.Push(&c.graves, grave{id: r.id, pos: r.pos, gen: r.gen, inc: r.inc, at: at})
	c.buriedAt[r.id] = at
}

// reap removes tombstones whose retention ran out.
func (c *Core) reap(now Time) {
	for len(c.graves) > 0 && c.graves[0].at.Add(c.cfg.TombstoneRetention) <= now {
		g := heap.Pop(&c.graves).(grave)
		r := c.tab.get(g.id, g.pos)
		if r == nil || r.live() || r.gen != g.gen || r.buried != g.inc {
			if r == nil || r.live() {
				delete(c.buriedAt, g.id)
			}
			continue
		}
		c.tab.remove(g.id, g.pos)
		delete(c.buriedAt, g.id)
		c.q.forget(g.id)
		c.cancelSuspicion(g.id)
		c.stats.Reaped++
	}
}

// Tombstone wear. A dead or left record on the wire carries in
// codec.Member.Flags how much of its retention the sender's tombstone has
// used, in 255ths rounded up; wearOut means used up. A node that is told of
// the tombstone of a member it does not hold (a joiner fetching the table,
// or a node that reaped it earlier than the sender) keeps it for what is
// left of the retention only. So every node holds the same tombstones, a
// replayed live record of a member that died before the receiver joined
// cannot bring it back, and tombstones never outlive their retention by
// travelling between nodes.
const wearOut = 255

// wear returns the wear of a tombstone held by this node: 0 for a live
// record.
func (c *Core) wear(r *record) uint8 {
	if r.live() {
		return 0
	}
	at, ok := c.buriedAt[r.id]
	if !ok || c.now <= at {
		return 0
	}
	age, keep := int64(c.now-at), int64(c.cfg.TombstoneRetention)
	if age >= keep {
		return wearOut
	}
	return uint8((age*wearOut + keep - 1) / keep)
}

// wire fills m with r's wire form, with its tombstone wear.
func (c *Core) wire(r *record, m *codec.Member, witness ID) {
	r.wire(m, witness)
	if !r.live() {
		m.Flags = c.wear(r)
	}
}

// entomb stores the tombstone m of a member this node does not hold,
// buried when its sender buried it. It is not news: it is neither gossiped
// nor reported as an event. A tombstone worn out, or one that would exceed
// MaxMembers, is refused.
func (c *Core) entomb(now Time, m *codec.Member, st State) {
	if m.Flags >= wearOut {
		return
	}
	if c.tab.total >= c.cfg.MaxMembers {
		c.stats.RefusedMembers++
		return
	}
	rec := newRecord(ID(m.ID), m.Addr, m.Generation, m.Incarnation, st)
	rec.buried = rec.inc
	c.tab.set(rec)
	age := Time(int64(c.cfg.TombstoneRetention) * int64(m.Flags) / wearOut)
	c.buryAt(&rec, now-age)
	c.stats.TombstonesAdopted++
}
