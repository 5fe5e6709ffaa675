package engine

import (
	"math"

	"github.com/hearsay-io/hearsay/codec"
)

// Doubts. A death this node hears of for a member it holds alive (it never
// saw the suspicion) is second-hand and may be wrong: the other side of a
// healed partition declares dead the members it could not reach, a one-way
// cut makes one side declare the other dead while this side still hears
// it, a forger may claim anything. So the node does not take it at once.
// It pings the member with the death attached (a member that is alive then
// refutes it, and its higher incarnation supersedes the death everywhere)
// and takes the death only when its pings, half a probe timeout apart,
// went unanswered, the last for a probe timeout: as many as make loss
// alone an unlikely cause (doubtOdds at the loss this node sees,
// doubtPingsAt), at least doubtPings. Whoever declared
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
// nodes, seed 1); with three, 0. The pings that the loss calls for are
// sent ahead instead, while the suspicion runs (watch.go). And it is
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
	retry   Time   // when the check ping is sent again if unanswered, or the death taken after the last
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
		c.endWatch(r.id)                   // the doubt pings from here (watch.go)
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
	most := uint8(0)
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
		if most == 0 {
			most = uint8(c.doubtPings())
		}
		if !c.doubtPing(now, d, r, most) {
			c.dq.waiting = true // at the next tick (see sidePing)
			return
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

// doubtPings is how many check pings a doubt of a member held alive
// sends: as many as make losing every one of them (or its ack) at the
// round-trip loss this node sees no likelier than doubtOdds, at least
// doubtPings. The loss is checkLoss, which remembers more than the
// estimates detection uses: with those (the median of a few estimates of
// eight heartbeats each, which read 0 at 10% loss about half the time)
// doubts of a heal at 10% loss still took 87 false deaths (300 nodes,
// nemesis-one-way, seed 2).
func (c *Core) doubtPings() int {
	return doubtPingsAt(c.checkLoss())
}

// pingsAt is how many pings make losing every one of them or its answer
// at loss p on each way no likelier than odds: at least least, at most
// maxDoubtPings.
func pingsAt(p, odds float64, least int) int {
	fail := 1 - (1-p)*(1-p)
	if fail <= 0 {
		return least
	}
	if fail >= 1 {
		return maxDoubtPings
	}
	k := int(math.Ceil(math.Log(odds) / math.Log(fail)))
	return min(max(k, least), maxDoubtPings)
}

// doubtOdds is the chance a doubt of a member held alive may have of
// turning into a false death through loss alone. A healed partition or
// one-way cut makes every node doubt the death of every member on its own
// side that the other side declared: about N²/4 doubts, 250,000 at 1,000
// nodes. Three pings at 10% loss on each way lost 0.7% of them (1,000
// nodes, nemesis-one-way at 10% loss: 1,490 false deaths in the second
// after the heal; at 30% loss, 13% of them). A member that answers clears
// its doubt at its first answered ping, so the pings a doubt costs on
// average hardly grow with the count allowed: about 1/(1-f) at round-trip
// loss f.
const doubtOdds = 1e-6

// maxDoubtPings bounds doubtPingsAt: 21 pings reach doubtOdds at 30% loss
// on each way, and a link that loses more than that is a fault the
// removal of flaky nodes handles, not a reason to wait longer.
const maxDoubtPings = 24

// doubtPingsAt is doubtPings at loss p on each way.
func doubtPingsAt(p float64) int { return pingsAt(p, doubtOdds, doubtPings) }

// doubtPing sends d's check ping to r, with the death attached, and sets
// when the doubt is due again: half a probe timeout later for the next
// ping, and after its last ping, a probe timeout (half of one for a brief
// doubt) for the answers still on their way, whenever the tick that looks
// at the doubt runs. All of a doubt's pings carry one sequence, so that an
// ack to any of them (a slow member's, late) clears it.
func (c *Core) doubtPing(now Time, d *doubt, r *record, most uint8) bool {
	copies := 1
	if d.brief {
		// Each of a brief doubt's pings goes in as many copies, under
		// one sequence, each with the death attached, as a probe sends
		// at the loss the node expects (probePings), as revival checks
		// do; the pings stay three, and the doubt as long. Single pings
		// left a live member's death to loss: in a one-way cut with 30%
		// loss beside it, a node holding a member of its own side
		// suspect on hearsay, which had not yet heard the member's
		// refutation (gossip is slow there: every member of one side is
		// accused at once), took the other side's death of it when its
		// three pings went unanswered, about one time in eight (the
		// nemesis mix at 1,000 nodes, seed 2: 9 false deaths in its
		// first 8m40s, 2 with copies). Copies go from a tick, not within
		// a datagram's reply budget, which would refuse them.
		//
		// And the k-th ping goes in k copies at least: an unanswered
		// ping is itself a sign of loss, which the estimates see only
		// later when the loss has just begun. With the estimates alone,
		// a node 6 s into a one-way cut with 30% loss begun with it sent
		// single pings, and a watch's three and the doubt's three all
		// failed (TestOneWayHealUnderLoss, seed 1 of the case begun with
		// the cut; in a scratch run of that case over seeds 1 to 24, a
		// death on the node's own side at one seed before, none after).
		// A crashed member costs three pings more.
		copies = max(probePings(c.checkLoss()), min(int(d.pings)+1, maxProbePings))
		if copies > 1 && c.reply.active {
			return false // the copies go from the tick that follows
		}
	}
	claim := *r
	claim.state, claim.inc = StateDead, d.inc
	seq := d.seq
	if seq == 0 {
		seq = c.newSeq()
	}
	if !c.sidePing(r.addr(), seq, r.id, &claim) {
		return false
	}
	for range copies - 1 {
		c.sidePing(r.addr(), seq, r.id, &claim)
	}
	d.seq = seq
	d.pings++
	t := c.probeTimeout(r)
	switch {
	case d.pings < d.maxPings(most), d.brief:
		d.retry = now.Add(t / 2)
	default:
		d.retry = now.Add(t)
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
		if _, touched := c.dq.touched[d.id]; !touched && (d.seq == 0 || now < d.retry) {
			// Nothing changed for it, and nothing is due (a doubt
			// waiting for its first ping is looked up when it goes).
			if d.seq != 0 {
				c.dq.note(d.retry)
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
		case now < d.retry:
			c.dq.note(d.retry)
			kept = append(kept, d)
		case d.pings < d.maxPings(most):
			if !c.doubtPing(now, &d, r, most) {
				c.dq.waiting = true // at the next tick
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
