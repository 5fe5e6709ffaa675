package engine

import "github.com/hearsay-io/hearsay/codec"

// Doubts. A death this node hears of for a member it holds alive (it never
// saw the suspicion) is second-hand and may be wrong: the other side of a
// healed partition declares dead the members it could not reach, a one-way
// cut makes one side declare the other dead while this side still hears
// it, a forger may claim anything. So the node does not take it at once.
// It pings the member with the death attached (a member that is alive then
// refutes it, and its higher incarnation supersedes the death everywhere)
// and takes the death only if the member has not refuted it, nor answered,
// when Suspicion.Min(N) has passed: the least time any node gives a suspect
// to refute. A member this node holds suspect already (the usual way a real
// crash is learned) is declared dead at once.
//
// Doubts are bounded (maxDoubts; past it, a death is taken at once), and
// so are their pings (maxDoubtChecks outstanding).

const (
	maxDoubts      = 1024
	maxDoubtChecks = 32
)

// doubt is a death heard of for a member held alive.
type doubt struct {
	id      ID
	gen     uint64
	inc     uint32
	witness ID
	wear    uint8
	until   Time   // when the death is taken; set when the check ping goes out
	retry   Time   // when the check ping is sent again if unanswered
	seq     uint32 // the check ping's sequence; 0 until sent
	pings   uint8  // check pings sent
}

// doubtPings is how many check pings a doubt sends, one per probe timeout,
// before it takes the death: one lost ping or ack must not turn a death the
// member would refute into a false one.
const doubtPings = 3

// doubtDeath starts or updates a doubt about the death m of the live
// record r. It reports false when the death should be taken at once.
func (c *Core) doubtDeath(now Time, r *record, m *codec.Member) bool {
	for i := range c.doubts {
		d := &c.doubts[i]
		if d.id == r.id && d.gen == m.Generation {
			if m.Incarnation > d.inc {
				d.inc, d.witness = m.Incarnation, ID(m.Witness)
			}
			return true
		}
	}
	if len(c.doubts) >= maxDoubts {
		return false
	}
	c.doubts = append(c.doubts, doubt{id: r.id, gen: m.Generation, inc: m.Incarnation, witness: ID(m.Witness), wear: m.Flags})
	c.stats.Doubts++
	c.checkDoubts(now)
	return true
}

// checkDoubts pings the members of doubts not checked yet, within
// maxDoubtChecks outstanding; a doubt's time runs from its ping, so that a
// burst of deaths (a healed partition) is checked at the pace of the pings
// rather than taken for want of a slot.
func (c *Core) checkDoubts(now Time) {
	checks := 0
	for i := range c.doubts {
		if c.doubts[i].seq != 0 {
			checks++
		}
	}
	for i := range c.doubts {
		if checks >= maxDoubtChecks {
			return
		}
		d := &c.doubts[i]
		if d.seq != 0 {
			continue
		}
		r := c.lookup(d.id)
		if r == nil || r.gen != d.gen {
			continue // settled; expireDoubts drops it
		}
		if !c.doubtPing(now, d, r) {
			return
		}
		d.until = now.Add(c.cfg.Suspicion.Min(c.tab.live))
		checks++
	}
}

// doubtPing sends d's check ping to r, with the death attached.
func (c *Core) doubtPing(now Time, d *doubt, r *record) bool {
	claim := *r
	claim.state, claim.inc = StateDead, d.inc
	seq := c.newSeq()
	if !c.sidePing(r.addr(), seq, r.id, &claim) {
		return false
	}
	d.seq = seq
	d.pings++
	d.retry = now.Add(c.probeTimeout(r))
	return true
}

// doubtAnswered ends the doubt whose check ping this ack answers: the
// member is alive, and the ping told it of the death to refute. It reports
// whether the ack was one.
func (c *Core) doubtAnswered(a *codec.Ack) bool {
	for i := range c.doubts {
		d := &c.doubts[i]
		if d.seq != 0 && d.seq == a.Seq && uint64(d.id) == a.Target {
			c.doubts = append(c.doubts[:i], c.doubts[i+1:]...)
			c.stats.DoubtsCleared++
			c.checkDoubts(c.now)
			return true
		}
	}
	return false
}

// expireDoubts takes the deaths whose member neither refuted nor answered
// in time, and forgets the doubts a refutation or a newer record settled.
func (c *Core) expireDoubts(now Time) {
	if len(c.doubts) == 0 {
		return
	}
	kept := c.doubts[:0]
	for _, d := range c.doubts {
		r := c.lookup(d.id)
		switch {
		case r == nil || r.gen != d.gen || r.inc > d.inc || r.state != StateAlive && r.state != StateSuspect:
			c.stats.DoubtsCleared++ // settled by the member or by others
		case d.seq == 0:
			kept = append(kept, d)
		case now < d.until:
			if now >= d.retry && d.pings < doubtPings {
				c.doubtPing(now, &d, r)
			}
			kept = append(kept, d)
		default:
			rec := *r
			rec.state, rec.inc = StateDead, d.inc
			c.put(now, rec, r, d.witness)
			c.q.addMember(d.id, d.witness)
			c.stats.UpdatesReceived++
		}
	}
	clear(c.doubts[len(kept):])
	c.doubts = kept
	c.checkDoubts(now)
}

// nextDoubt is when the earliest doubt runs out, or now when a check ping
// waits for a slot it has.
func (c *Core) nextDoubt() Time {
	var t Time
	checks, waiting := 0, false
	for i := range c.doubts {
		d := &c.doubts[i]
		if d.seq != 0 {
			checks++
		} else {
			waiting = true
		}
		if u := d.until; u != 0 && (t == 0 || u < t) {
			t = u
		}
		if u := d.retry; d.seq != 0 && d.pings < doubtPings && u < d.until && (t == 0 || u < t) {
			t = u
		}
	}
	if waiting && checks < maxDoubtChecks {
		return c.now
	}
	return t
}
