package engine

import (
	"container/heap"
	"time"
)

// Stalls. A node whose process stops running for a while (a long garbage
// collection, a stopped VM, cores busy with other work) finds, when it runs
// again, that its timers are late: its probes' deadlines have passed while
// their acks, and its suspects' refutations, may be waiting unread in its
// socket. Taking those timers as they stand would accuse members for this
// node's own stall. So when a Tick comes more than stallGrace after the
// deadline the core last asked for (one that lay ahead when it asked), the
// core moves every deadline that was
// waiting on an answer (probes, relays, suspicion timers, doubts, revivals,
// pending members) later by the lag plus stallGrace, and counts the stall:
// the answers that arrived meanwhile are read first.

// stallGrace is how late a Tick may be before the core counts a stall.
func (c *Core) stallGrace() time.Duration { return c.cfg.ProbeTimeout / 2 }

// catchUp moves the waiting deadlines later by how late this Tick is.
func (c *Core) catchUp(now Time) {
	if c.wake == 0 || now <= c.wake.Add(c.stallGrace()) {
		return
	}
	// Each waiting deadline keeps what it had left when the stall began,
	// plus stallGrace for the answers still on their way in.
	lag := now.Sub(c.wake) + c.stallGrace()
	c.stats.Stalls++
	for i := range c.probes {
		c.probes[i].deadline = c.probes[i].deadline.Add(lag)
	}
	for i := range c.relays {
		c.relays[i].deadline = c.relays[i].deadline.Add(lag)
	}
	for i := range c.sheap {
		c.sheap[i].at = c.sheap[i].at.Add(lag)
	}
	heap.Init(&c.sheap)
	for i := range c.watches {
		q := &c.watches[i]
		for j := range q.due {
			q.due[j].at = q.due[j].at.Add(lag)
		}
		heap.Init(&q.due)
	}
	for i := range c.doubts {
		if c.doubts[i].seq != 0 {
			c.doubts[i].retry = c.doubts[i].retry.Add(lag)
		}
	}
	for i := range c.revivals {
		c.revivals[i].until = c.revivals[i].until.Add(lag)
	}
	for i := range c.adm.pending {
		c.adm.pending[i].expires = c.adm.pending[i].expires.Add(lag)
	}
}
