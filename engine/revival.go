package engine

import "github.com/hearsay-io/hearsay/codec"

// Revivals. A member this node holds dead comes back alive only once this
// node has seen for itself that it can reach it: a record saying it is
// alive again (a refutation, a rejoin) is held until the member answers a
// ping from this node. So a member behind a link too bad to be useful (a
// flaky node whose refutation got through once) stays removed at every
// node that cannot reach it, a forged "alive" record cannot raise a
// crashed member, and a member that is truly back (a partition healed, a
// refutation that crossed its death) returns after one round trip.
//
// A record of a new generation (a restart) is not a revival: the member
// joined through a seed that validated it.
//
// Revivals are bounded (maxRevivals; past it the record is refused, and the
// member's next refutation or anti-entropy brings it again), and so are
// their pings (maxRevivalChecks outstanding).

const (
	maxRevivals      = 1024
	maxRevivalChecks = 32
)

// revival is a live record held for a member this node holds dead, until
// it answers revivalAcks pings.
type revival struct {
	m       codec.Member
	witness ID
	gossip  bool
	seq     uint32 // the check ping's sequence; 0 until sent
	acks    int    // check pings answered so far
	until   Time
}

// revivalAcks is how many check pings, one after the other, a member must
// answer to come back: one lucky round trip through a link that loses most
// datagrams does not bring it back.
const revivalAcks = 2

// holdRevival holds the live record m of a member r this node holds dead,
// and pings the member.
func (c *Core) holdRevival(now Time, r *record, m *codec.Member, gossip bool) {
	for i := range c.revivals {
		v := &c.revivals[i]
		if v.m.ID == m.ID {
			if m.Generation == v.m.Generation && m.Incarnation > v.m.Incarnation {
				v.m = *m
			}
			return
		}
	}
	if len(c.revivals) >= maxRevivals {
		c.stats.RevivalsRefused++
		return
	}
	c.revivals = append(c.revivals, revival{m: *m, gossip: gossip, until: now.Add(c.cfg.Suspicion.Min(c.tab.live))})
	c.stats.Revivals++
	c.checkRevivals(now)
}

// checkRevivals pings held revivals, within maxRevivalChecks outstanding.
func (c *Core) checkRevivals(now Time) {
	checks := 0
	for i := range c.revivals {
		if c.revivals[i].seq != 0 {
			checks++
		}
	}
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
		// At the address we hold for it, not the one the record claims:
		// a record cannot aim our pings.
		seq := c.newSeq()
		if !c.sidePing(r.addr(), seq, r.id, nil) {
			return
		}
		v.seq = seq
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
		if v.acks++; v.acks < revivalAcks {
			v.seq = 0 // ping again
			c.checkRevivals(now)
			return true
		}
		held := *v
		c.revivals = append(c.revivals[:i], c.revivals[i+1:]...)
		if r := c.lookup(ID(held.m.ID)); r != nil && !r.live() && supersedes(r, held.m.Generation, held.m.Incarnation, State(held.m.State)) {
			c.apply(now, r, &held.m, held.witness, held.gossip)
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
	kept := c.revivals[:0]
	for _, v := range c.revivals {
		r := c.lookup(ID(v.m.ID))
		switch {
		case r == nil || r.live() || !supersedes(r, v.m.Generation, v.m.Incarnation, State(v.m.State)):
		case now >= v.until:
			c.stats.RevivalsRefused++
		default:
			kept = append(kept, v)
		}
	}
	clear(c.revivals[len(kept):])
	c.revivals = kept
	c.checkRevivals(now)
}

// nextRevival is when the earliest held revival runs out, or now when a
// check ping waits for a slot it has.
func (c *Core) nextRevival() Time {
	var t Time
	checks, waiting := 0, false
	for i := range c.revivals {
		v := &c.revivals[i]
		if v.seq != 0 {
			checks++
		} else {
			waiting = true
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
