package engine

import "github.com/hearsay-io/hearsay/codec"

type leaveState struct {
	active bool
	done   bool
}

// Leave announces that this node leaves the cluster: its record becomes Left,
// which no record of the same generation can override, and is sent to its
// observers and gossiped. Keep driving the core until Left reports true, then
// stop it.
func (c *Core) Leave(now Time) {
	if c.leave.active {
		return
	}
	if now > c.now {
		c.now = now
	}
	c.leave.active = true
	c.rejoin = rejoinState{}
	r := c.selfRecord()
	rec := *r
	rec.state = StateLeft
	c.put(now, rec, r, 0)
	c.q.addMember(c.id, 0)
	var m codec.Member
	rec.wire(&m, 0)
	c.refreshTopology()
	sent := 0
	for _, o := range c.observers {
		c.begin(codec.MsgLeave)
		c.bld.AddMember(&m)
		c.aim(o.addr, o.id)
		c.send(o.addr, codec.MsgLeave)
		sent++
	}
	c.nextGossip = now
	c.updateDeadline()
}

// Left reports whether a leave has spread: the Left record has been
// transmitted as many times as any update is.
func (c *Core) Left() bool {
	if !c.leave.active {
		return false
	}
	// With no live member left there is nobody to tell: the leave is done.
	if _, pending := c.q.members[c.id]; pending && c.tab.live > 0 {
		return false
	}
	c.leave.done = true
	return true
}

// Leaving reports whether Leave was called.
func (c *Core) Leaving() bool { return c.leave.active }
