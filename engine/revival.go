package engine

import (
	"time"

	"github.com/hearsay-io/hearsay/codec"
)

// Revivals. A member this node holds dead comes back alive only with proof
// that its links are good again, from two sides:
//
//   - The member proved them: the record is a refutation it made after a
//     rejoin (rejoin.go), which it marks flagProven. A refutation of a
//     mere suspicion that crossed its death in flight does not count: this
//     node tells the member that it holds it dead (a ping carrying the
//     dead record), so that the member rejoins and refutes with proof.
//   - This node saw it: the proven record is held until the member answers
//     revivalAcks pings from this node at the address this node holds.
//
// So a member behind a link too bad to be useful (a gray or flaky node
// that got a refutation through) stays removed at every node, however
// often it refutes suspicions, until its links pass a rejoin; a forged
// "alive" record cannot raise a crashed member; and a member that is truly
// back (a partition healed, a blip that ended) returns after its rejoin
// and one round trip.
//
// A member revived here is passed on as news (gossiped), even when its
// record came by anti-entropy, which starts no rumours otherwise: after a
// one-way cut heals, the side that could not hear the other learns the
// other's refutations, made during the cut and long done spreading, only
// from exchanges with the few members that have them, and at 30% loss on
// every link the last node saw every node alive 19 s after the heal (300
// nodes, TestOneWayHealUnderLoss); passed on, 5 s. Each node that gets
// the record still checks the member itself before taking it.
//
// A record of a new generation (a restart) is not a revival: the member
// joined through a seed that validated it.
//
// Revivals are bounded (maxRevivals; past it the record is refused, and the
// member's next refutation or anti-entropy brings it again), and so are
// their pings (maxRevivalChecks outstanding). A check ping unanswered
// after a probe timeout is sent again, up to revivalTries times, so that
// one lost datagram neither holds a slot nor refuses a member that is
// back; a member is told it is held dead at most once per suspicion's
// minimum timeout.

const (
	maxRevivals      = 1024
	maxRevivalChecks = 256
)

// revivalTries is how many times a revival's check ping is sent before
// the revival waits for its end, at least: more when loss calls for it.
const revivalTries = 4

// revivalPings is how many times a revival's check ping is sent for each
// of its acks: revivalTries, or as many as a doubt sends at the loss this
// node sees (doubtPings). At 30% loss on every link, four tries lost one
// ack in 15 and left members back from a heal dead at some nodes for good
// (300 nodes, nemesis-one-way, seed 2).
func (c *Core) revivalPings() uint8 {
	return uint8(max(revivalTries, c.doubtPings()))
}

// revivalTime is how long a revival is held: the suspicion's minimum
// timeout, or the time its pings take at a probe timeout each if longer.
func (c *Core) revivalTime() time.Duration {
	return max(c.cfg.Suspicion.Min(c.tab.live), c.cfg.ProbeTimeout*time.Duration(revivalAcks)*time.Duration(c.revivalPings()))
}

// flagProven, in codec.Member.Flags of a live record, says that the member
// raised its incarnation to this one after proving its links in a rejoin.
// (The flags of dead and left records carry tombstone wear: reap.go.)
const flagProven = 1

// revival is a live record held for a member this node holds dead, until
// it answers revivalAcks pings.
type revival struct {
	m       codec.Member
	witness ID
	notice  bool   // the record is unproven: the member was told it is held dead
	heard   bool   // a notice's ping was answered
	seq     uint32 // the check ping's sequence; 0 until sent
	acks    int    // check pings answered so far
	until   Time
	retry   Time  // when an unanswered check ping is sent again
	tries   uint8 // check pings sent for the current ack
}

// revivalAcks is how many check pings, one after the other, a member must
// answer to come back: one lucky round trip through a link that loses most
// datagrams does not bring it back.
const revivalAcks = 2

// holdRevival holds the live record m of a member r this node holds dead,
// and pings the member.
func (c *Core) holdRevival(now Time, r *record, m *codec.Member) {
	proven := m.Flags&flagProven != 0
	for i := range c.revivals {
		v := &c.revivals[i]
		if v.m.ID == m.ID {
			if m.Generation == v.m.Generation && (m.Incarnation > v.m.Incarnation || m.Incarnation == v.m.Incarnation && proven) {
				v.m = *m
				if v.notice && proven {
					// The proof we asked for: check it.
					v.notice, v.seq, v.acks = false, 0, 0
					c.checkRevivals(now)
				}
			}
			return
		}
	}
	if len(c.revivals) >= maxRevivals {
		c.stats.RevivalsRefused++
		return
	}
	c.revivals = append(c.revivals, revival{m: *m, notice: !proven, until: now.Add(c.revivalTime())})
	if proven {
		c.stats.Revivals++
	} else {
		c.stats.RevivalsUnproven++
	}
	c.checkRevivals(now)
}

// checkRevivals pings held revivals, within maxRevivalChecks outstanding.
// While a datagram is handled it sends nothing: the tick that follows
// (nextRevival returns now for a revival waiting to be pinged) sends the
// pings and their copies, which would not fit that datagram's reply budget.
func (c *Core) checkRevivals(now Time) {
	if c.reply.active {
		return
	}
	checks := 0
	for i := range c.revivals {
		if c.revivals[i].seq != 0 && !c.revivals[i].notice {
			checks++
		}
	}
	copies := 0
	for i := range c.revivals {
		v := &c.revivals[i]
		if checks >= maxRevivalChecks {
			return
		}
		if v.seq != 0 {
			continue
		}
		r := c.lookup(ID(v.m.ID))
		if r == nil {
			continue
		}
		if copies == 0 {
			// A try sends as many copies of its check ping, under one
			// sequence, as a probe sends at the loss the node expects
			// (probePings). A revival needs revivalAcks answered tries,
			// and a heal revives about N²/4 pairs at once (250,000 at
			// 1,000 nodes): at 30% loss on every link a try with one
			// ping fails one time in two, and among so many pairs the
			// unluckiest went 15 to 19 tries (3 to 4 s) without an
			// answer, outlived its revival and waited for the next
			// notice (nemesis-one-way at 1,000 nodes, seed 1: the last
			// node saw every node alive 12.25 s after the heal). Four
			// copies fail together about one time in 15.
			copies = probePings(c.checkLoss())
		}
		// At the address we hold for it, not the one the record claims:
		// a record cannot aim our pings. A notice carries our dead record.
		var about *record
		if v.notice {
			about = r
		}
		seq := c.newSeq()
		if !c.sidePing(r.addr(), seq, r.id, about) {
			return
		}
		if !v.notice {
			for range copies - 1 {
				c.sidePing(r.addr(), seq, r.id, nil)
			}
		}
		v.seq = seq
		v.tries++
		v.retry = now.Add(c.probeTimeout(r))
		checks++
	}
}

// revivalAnswered applies the held record whose check ping this ack
// answers. It reports whether the ack was one.
func (c *Core) revivalAnswered(now Time, a *codec.Ack) bool {
	for i := range c.revivals {
		v := &c.revivals[i]
		if v.seq == 0 || v.seq != a.Seq || v.m.ID != a.Target {
			continue
		}
		if v.notice {
			v.heard = true
			return true // it heard us; its proof, if any, comes as a record
		}
		if v.acks++; v.acks < revivalAcks {
			v.seq, v.tries = 0, 0 // ping again
			c.checkRevivals(now)
			return true
		}
		held := *v
		c.revivals = append(c.revivals[:i], c.revivals[i+1:]...)
		if r := c.lookup(ID(held.m.ID)); r != nil && !r.live() && supersedes(r, held.m.Generation, held.m.Incarnation, State(held.m.State)) {
			c.apply(now, r, &held.m, held.witness, true) // news, however it came: see above
		}
		c.checkRevivals(now)
		return true
	}
	return false
}

// expireRevivals drops held records whose member did not answer in time or
// that a newer record settled.
func (c *Core) expireRevivals(now Time) {
	if len(c.revivals) == 0 {
		return
	}
	tries := c.revivalPings()
	kept := c.revivals[:0]
	for _, v := range c.revivals {
		r := c.lookup(ID(v.m.ID))
		switch {
		case r == nil || r.live() || !supersedes(r, v.m.Generation, v.m.Incarnation, State(v.m.State)):
		case now >= v.until:
			if !v.notice {
				c.stats.RevivalsRefused++
			} else if !v.heard {
				c.raiseTombstone(now, r, &v.m)
			}
		default:
			if !v.notice && v.seq != 0 && now >= v.retry && v.tries < tries {
				v.seq = 0 // unanswered: checkRevivals pings again
			}
			kept = append(kept, v)
		}
	}
	clear(c.revivals[len(kept):])
	c.revivals = kept
	c.checkRevivals(now)
}

// raiseTombstone raises the death of r, a member this node holds dead, to
// the incarnation of m, an unproven live record of it whose notice went
// unanswered and brought no proof, and gossips the raised death. The
// member refuted a suspicion that crossed its death, and nodes that took
// the refutation instead of the death (they held a suspicion, not the
// death) hold it alive, while its observers hold it dead and so watch it
// no more: without the raise, a flaky member whose refutation outran its
// death stayed a member at most nodes for good (bench nemesis-flaky at 100
// nodes: 1 of 30 seeds). Those nodes doubt the raised death (doubt.go): a
// member that answers them stays. A member that answered the notice is
// back, or about to prove it, and is not raised: after a partition heals,
// raising every healed member's death on an unproven refutation made the
// refutations and raised deaths chase each other (nemesis-split at 1,000
// nodes did not finish).
func (c *Core) raiseTombstone(now Time, r *record, m *codec.Member) {
	if r.state != StateDead || m.Generation != r.gen || m.Incarnation <= r.inc {
		return
	}
	rec := *r
	rec.inc = m.Incarnation
	c.put(now, rec, r, c.id)
	c.q.addMember(r.id, c.id)
	c.stats.TombstonesRaised++
}

// nextRevival is when the earliest held revival runs out, or now when a
// check ping waits for a slot it has.
func (c *Core) nextRevival() Time {
	var t Time
	checks, waiting := 0, false
	tries := c.revivalPings()
	for i := range c.revivals {
		v := &c.revivals[i]
		if v.seq == 0 {
			waiting = true
		} else if !v.notice {
			checks++
			if v.tries < tries && v.retry < v.until && (t == 0 || v.retry < t) {
				t = v.retry
			}
		}
		if t == 0 || v.until < t {
			t = v.until
		}
	}
	if waiting && checks < maxRevivalChecks {
		return c.now
	}
	return t
}
