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
// way a real crash is learned, so the death is taken as soon as briefPings
// (three) pings half a probe timeout apart go unanswered, one and a half
// probe timeouts after the first. One or two lost round trips do not
// decide (at 1% loss on each way, two pings alone turned about one in
// 2,500 such doubts of a live member into a death: nemesis-one-way at
// 1,000 nodes, seed 3). Their count does not grow with the loss this node
// sees, as a doubt of a member held alive does: brief doubts that lasted
// several probe timeouts through loss bursts of 80-90% let the mix's
// episode of slow nodes with bursts declare 2,082 false deaths (1,000
// nodes, seed 1); with three, 0. And it is
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

// doubtIndex keeps expireDoubts from looking every doubt up at every
// tick: a mass crash gives each node up to maxDoubts of them, and the scan
// (a table lookup and a suspicion lookup each) took half the simulator's
// time at 3,000 nodes with 900 crashes. It knows the earliest time a
// doubt's ping or end is due (or a time before it), and the doubted
// members whose record changed, or who talked to us, since the last scan;
// the scan looks up only those and the doubts that are due. A doubt it
// misses is only settled later: each doubt is looked up again when due.
type doubtIndex struct {
	ids     map[ID]int32    // doubted members, with their count of doubts
	touched map[ID]struct{} // doubted members changed since the last scan
	next    Time            // earliest due time of a ping or an end; 0: none
	waiting bool            // a doubt waits for its first ping with a check slot free
}

// due reports whether expireDoubts has work at now.
func (x *doubtIndex) due(now Time) bool {
	return len(x.touched) != 0 || x.waiting || x.next != 0 && now >= x.next
}

// note lowers the earliest due time to t.
func (x *doubtIndex) note(t Time) {
	if t != 0 && (x.next == 0 || t < x.next) {
		x.next = t
	}
}

// touch marks a change to member id, which may settle a doubt of it.
func (x *doubtIndex) touch(id ID) {
	if len(x.ids) != 0 {
		if _, ok := x.ids[id]; ok {
			if x.touched == nil {
				x.touched = make(map[ID]struct{})
			}
			x.touched[id] = struct{}{}
		}
	}
}

func (x *doubtIndex) add(id ID) {
	if x.ids == nil {
		x.ids = make(map[ID]int32)
	}
	x.ids[id]++
}

func (x *doubtIndex) remove(id ID) {
	if n := x.ids[id]; n > 1 {
		x.ids[id] = n - 1
	} else {
		delete(x.ids, id)
	}
}

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
	brief   bool   // the member was held suspect: briefPings pings half a probe timeout apart
}

// briefPings is how many check pings a brief doubt sends.
const briefPings = 3

// maxPings is how many check pings d sends, most being doubtPings' answer.
func (d *doubt) maxPings(most uint8) uint8 {
	if d.brief {
		return briefPings
	}
	return most
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
	c.dq.add(r.id)
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
	c.dq.waiting = false
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
			c.dq.touch(d.id) // settled: the next scan drops it
			continue
		}
		if !c.doubtPing(now, d, r) {
			c.dq.waiting = true // at the next tick (see sidePing)
			return
		}
		if d.brief {
			d.until = now.Add(c.probeTimeout(r) * briefPings / 2)
		} else {
			d.until = now.Add(c.probeTimeout(r) * time.Duration(c.doubtPings()))
		}
		c.dq.note(d.until)
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

// doubtPings is how many check pings a doubt of a member held alive
// sends: doubtPings, or as many as a probe sends at the round-trip loss
// this node sees, if more.
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
	c.dq.note(d.retry)
	return true
}

// doubtAnswered ends the doubt whose check ping this ack answers: the
// member is alive, and the ping told it of the death to refute. It reports
// whether the ack was one.
func (c *Core) doubtAnswered(a *codec.Ack) bool {
	for i := range c.doubts {
		d := &c.doubts[i]
		if d.seq != 0 && d.seq == a.Seq && uint64(d.id) == a.Target {
			c.dq.remove(d.id)
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
	c.dq.next = 0
	if len(c.doubts) == 0 {
		c.dq.waiting = false
		clear(c.dq.touched)
		return
	}
	most := uint8(c.doubtPings())
	kept := c.doubts[:0]
	for _, d := range c.doubts {
		if _, touched := c.dq.touched[d.id]; !touched && (d.seq == 0 || now < d.until && (now < d.retry || d.pings >= d.maxPings(most))) {
			// Nothing changed for it, and nothing is due (a doubt
			// waiting for its first ping is looked up when it goes).
			if d.seq != 0 {
				c.dq.note(d.until)
				if d.pings < d.maxPings(most) {
					c.dq.note(d.retry)
				}
			}
			kept = append(kept, d)
			continue
		}
		r := c.lookup(d.id)
		switch {
		case r == nil || r.gen != d.gen || r.inc > d.inc || r.state != StateAlive && r.state != StateSuspect:
			c.stats.DoubtsCleared++ // settled by the member or by others
			c.dq.remove(d.id)
		case d.brief && c.heardSince(d.id, d.start):
			c.stats.DoubtsCleared++ // it talked to us since: it runs
			c.dq.remove(d.id)
		case d.seq == 0:
			kept = append(kept, d)
		case now < d.until:
			if now >= d.retry && d.pings < d.maxPings(most) {
				c.doubtPing(now, &d, r)
			}
			c.dq.note(d.until)
			if d.pings < d.maxPings(most) && d.retry < d.until {
				c.dq.note(d.retry)
			}
			kept = append(kept, d)
		default:
			c.dq.remove(d.id)
			rec := *r
			rec.state, rec.inc = StateDead, d.inc
			c.put(now, rec, r, d.witness)
			c.q.addMember(d.id, d.witness)
			c.stats.UpdatesReceived++
		}
	}
	clear(c.doubts[len(kept):])
	c.doubts = kept
	clear(c.dq.touched)
	c.checkDoubts(now)
}

// nextDoubt is when the earliest doubt's ping or end is due (or a time
// before it), or now when a check ping waits for a slot it has.
func (c *Core) nextDoubt() Time {
	switch {
	case len(c.doubts) == 0:
		return 0
	case c.dq.waiting:
		return c.now
	}
	return c.dq.next
}
