package engine

import (
	"time"

	"github.com/hearsay-io/hearsay/codec"
)

// Doubts. A death this node hears of for a member it holds alive (it never
// saw the suspicion) is second-hand and may be wrong: the other side of a
// healed partition declares dead the members it could not reach, a one-way
// cut makes one side declare the other dead while this side still hears
// it, a forger may claim anything. So the node does not take it at once.
// It pings the member with the death attached (a member that is alive then
// refutes it, and its higher incarnation supersedes the death everywhere)
// and takes the death only when its pings, one a probe timeout, went
// unanswered: doubtPings of them, or more when this node sees round trips
// lost (probePings, so that loss alone rarely decides). Whoever declared
// the death has already given the member a suspicion timeout to refute;
// what is left to check is whether it answers this node now. A member
// that answers is kept; one that cannot reach this node (across a one-way
// cut) is taken, as its accusers took it.
//
// A member this node holds suspect only because it heard of the suspicion
// (it did not accuse nor confirm it) is doubted briefly: that is the usual
// way a real crash is learned, so the death is taken as soon as its pings
// (as many as a doubt of a member held alive sends, see doubtPings) go
// unanswered, half a probe timeout apart, the last given half a probe
// timeout too: one and a half probe timeouts after the first with three
// pings. One or two lost round trips do not decide (at 1% loss on each
// way, two pings alone turned about one in 2,500 such doubts of a live
// member into a death: nemesis-one-way at 1,000 nodes, seed 3); and it is
// passed on meanwhile (the member's queued record goes out dead, see
// forwardDoubted), so that the check adds no delay to the death's spread;
// but a member cut off from its accusers only (a one-way cut), whose
// refutation has not reached this node yet, answers and is kept. A
// suspicion this node raised or confirmed itself ends in death at once.
//
// Doubts are bounded (maxDoubts; past it, a death is taken at once), and
// so are their pings (maxDoubtChecks outstanding): a doubt that finds no
// free check waits for one, so that a burst of deaths (a healed partition
// names a whole group dead at once) is checked, not taken; brief doubts
// pass their deaths on while they wait.

const (
	maxDoubts      = 1024
	maxDoubtChecks = 256
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
	start   Time   // when the doubt began
	brief   bool   // the member was held suspect: its pings go half a probe timeout apart
}

// forwardDoubted turns m, the wire form of the suspect record r about to
// be gossiped, into the death this node is briefly doubting, so that the
// death spreads at the pace it would if this node had taken it.
func (c *Core) forwardDoubted(r *record, m *codec.Member) {
	if r.state != StateSuspect || len(c.doubts) == 0 {
		return
	}
	for i := range c.doubts {
		d := &c.doubts[i]
		if d.id == r.id && d.brief && d.gen == r.gen && d.inc >= r.inc {
			m.State, m.Incarnation, m.Witness, m.Flags = codec.StateDead, d.inc, uint64(d.witness), d.wear
			return
		}
	}
}

// doubtPings is how many check pings a doubt sends, one per probe timeout,
// before it takes the death: one lost ping or ack must not turn a death the
// member would refute into a false one.
const doubtPings = 3

// doubtDeath starts or updates a doubt about the death m of the live
// record r. It reports false when the death should be taken at once.
func (c *Core) doubtDeath(now Time, r *record, m *codec.Member, brief bool) bool {
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
	c.doubts = append(c.doubts, doubt{id: r.id, gen: m.Generation, inc: m.Incarnation, witness: ID(m.Witness), wear: m.Flags, brief: brief, start: now})
	if brief {
		c.q.addMember(r.id, ID(m.Witness)) // passed on meanwhile: forwardDoubted
	}
	c.stats.Doubts++
	c.checkDoubts(now)
	return true
}

// checkDoubts pings the members of doubts not checked yet, within
// maxDoubtChecks outstanding; a doubt's time runs from its ping, so that a
// burst of deaths (a healed partition) is checked at the pace of the pings
// rather than taken for want of a slot.
func (c *Core) checkDoubts(now Time) {
	checks := c.doubtChecks()
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
		if d.brief {
			d.until = now.Add(c.probeTimeout(r) * time.Duration(c.doubtPings()) / 2)
		} else {
			d.until = now.Add(c.probeTimeout(r) * time.Duration(c.doubtPings()))
		}
		checks++
	}
}

// doubtChecks is the number of doubts whose check ping is out.
func (c *Core) doubtChecks() int {
	n := 0
	for i := range c.doubts {
		if c.doubts[i].seq != 0 {
			n++
		}
	}
	return n
}

// doubtPings is how many check pings a doubt sends: doubtPings, or as
// many as a probe sends at the round-trip loss this node sees, if more.
func (c *Core) doubtPings() int {
	return max(doubtPings, probePings(c.uniformLoss()))
}

// doubtPing sends d's check ping to r, with the death attached. A brief
// doubt pings again after half a probe timeout.
func (c *Core) doubtPing(now Time, d *doubt, r *record) bool {
	claim := *r
	claim.state, claim.inc = StateDead, d.inc
	seq := c.newSeq()
	if !c.sidePing(r.addr(), seq, r.id, &claim) {
		return false
	}
	d.seq = seq
	d.pings++
	if d.brief {
		d.retry = now.Add(c.probeTimeout(r) / 2)
	} else {
		d.retry = now.Add(c.probeTimeout(r))
	}
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
	most := uint8(c.doubtPings())
	kept := c.doubts[:0]
	for _, d := range c.doubts {
		r := c.lookup(d.id)
		switch {
		case r == nil || r.gen != d.gen || r.inc > d.inc || r.state != StateAlive && r.state != StateSuspect:
			c.stats.DoubtsCleared++ // settled by the member or by others
		case d.brief && c.heardSince(d.id, d.start):
			c.stats.DoubtsCleared++ // it talked to us since: it runs
		case d.seq == 0:
			kept = append(kept, d)
		case now < d.until:
			if now >= d.retry && d.pings < most {
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
	most := uint8(0)
	if len(c.doubts) > 0 {
		most = uint8(c.doubtPings())
	}
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
		if u := d.retry; d.seq != 0 && d.pings < most && u < d.until && (t == 0 || u < t) {
			t = u
		}
	}
	if waiting && checks < maxDoubtChecks {
		return c.now
	}
	return t
}
