package engine

import (
	"net/netip"
	"time"

	"github.com/hearsay-io/hearsay/codec"
)

// Admission. A member record can be forged, and so can its address, so a
// node trusts members by what it has seen for itself:
//
//   - A new member enters the table only from a source the node trusts: the
//     member itself in a Join whose address is validated, a peer the node
//     asked (shard data, a join reply), or a live member of the table
//     writing from the address the table holds for it, within a budget of
//     new members per source (newPerSource a second, a burst of four
//     times that). Anything else is held apart, in a short pending list
//     (maxPending, pendingTTL), and admitted only once it answers a ping at
//     the address it claims; the pings go out at most verifyRate a heartbeat
//     interval, at most one to an address at a time.
//   - Only members that answered this node's own probe at their address
//     (verified) are used as ping-req helpers. A gossip target that was
//     never verified is sent its updates in a ping, so that its ack verifies
//     it; one that did not answer one is skipped for failedTTL.
//   - Each node pings a new subject at once, and every subject every
//     rttEvery periods: the answers verify it and measure its round-trip
//     time, which stretches the probe timeouts of slow members.
//
// What is kept per member is bounded (maxTrust entries), the least recently
// used forgotten first.

const (
	maxPending   = 256
	newPerSource = 256 // new members a second a trusted source may introduce
	verifyRate   = 16  // admission pings a heartbeat interval
	maxTrust     = 256
	failedTTL    = 30 * time.Second
	rttEvery     = 16 // periods between round-trip probes of a subject
)

// pendingTTL is how long a member heard of from an untrusted source waits
// to answer its admission ping.
func (c *Core) pendingTTL() time.Duration { return 3 * c.cfg.HeartbeatInterval }

// trust is what this node has seen for itself of one member.
type trust struct {
	gen      uint64
	addr     netip.AddrPort
	verified Time // when it last answered our probe at addr; 0: never
	failed   Time // when it last failed to answer a verification ping
	used     Time
	srtt     time.Duration // smoothed round-trip time (RFC 6298)
	rttvar   time.Duration
	vidx     int // 1 + its index in admission.vlist when verified, else 0
}

// pendingMember is a member heard of from an untrusted source.
type pendingMember struct {
	m       codec.Member
	from    netip.AddrPort
	seq     uint32 // the admission ping's sequence; 0 until sent
	expires Time
}

type admission struct {
	trust   map[ID]*trust
	vlist   []ID // the verified members, for choosing among them
	spare   []*trust
	pending []pendingMember
	sent    int  // admission pings sent this interval
	window  Time // start of the interval
}

// trustOf returns what is known of id, or nil.
func (c *Core) trustOf(id ID) *trust { return c.adm.trust[id] }

// verified reports whether r answered this node's probe at its current
// address and generation.
func (c *Core) verified(r *record) bool {
	t := c.adm.trust[r.id]
	return t != nil && t.verified != 0 && t.gen == r.gen && t.addr == r.addr()
}

// failedRecently reports whether r did not answer a verification ping in
// the last failedTTL.
func (c *Core) failedRecently(r *record) bool {
	t := c.adm.trust[r.id]
	return t != nil && t.failed != 0 && c.now.Sub(t.failed) < failedTTL && t.gen == r.gen && t.addr == r.addr()
}

// trustEntry returns the entry for id at gen and addr, creating or
// resetting it; it evicts the least recently used entry when full.
func (c *Core) trustEntry(id ID, gen uint64, addr netip.AddrPort) *trust {
	if c.adm.trust == nil {
		c.adm.trust = make(map[ID]*trust)
	}
	t := c.adm.trust[id]
	if t == nil {
		if len(c.adm.trust) >= maxTrust {
			c.evictTrust()
		}
		if n := len(c.adm.spare); n > 0 {
			t = c.adm.spare[n-1]
			c.adm.spare = c.adm.spare[:n-1]
		} else {
			t = new(trust)
		}
		*t = trust{}
		c.adm.trust[id] = t
	}
	if t.gen != gen || t.addr != addr {
		c.unverify(id, t)
		*t = trust{gen: gen, addr: addr}
	}
	t.used = c.now
	return t
}

// markVerified notes that id answered at t.addr now.
func (c *Core) markVerified(id ID, t *trust, now Time) {
	t.verified, t.failed = now, 0
	if len(c.um.held) > 0 {
		c.verifiedFor(id) // a message waits for it (usermsg.go)
	}
	if t.vidx == 0 {
		c.adm.vlist = append(c.adm.vlist, id)
		t.vidx = len(c.adm.vlist)
	}
}

// unverify takes id out of the verified list.
func (c *Core) unverify(id ID, t *trust) {
	if t.vidx == 0 {
		return
	}
	i, last := t.vidx-1, len(c.adm.vlist)-1
	if i != last {
		moved := c.adm.vlist[last]
		c.adm.vlist[i] = moved
		c.adm.trust[moved].vidx = i + 1
	}
	c.adm.vlist = c.adm.vlist[:last]
	t.vidx = 0
	t.verified = 0
}

// randomVerified returns a uniformly chosen live member that answered our
// probe at its current address, or nil after a bounded number of tries.
func (c *Core) randomVerified() *record {
	for try := 0; try < 8 && len(c.adm.vlist) > 0; try++ {
		id := c.adm.vlist[c.rng.IntN(len(c.adm.vlist))]
		if r := c.lookup(id); r != nil && r.live() && c.verified(r) {
			return r
		}
	}
	return nil
}

// evictTrust forgets the least recently used entry that is not a current
// monitor's subject (the lowest ID among equals, so that the choice does
// not depend on map order).
func (c *Core) evictTrust() {
	var victim ID
	at := Time(-1)
	for id, t := range c.adm.trust {
		if c.monitorOf(id) != nil {
			continue
		}
		if at < 0 || t.used < at || t.used == at && id < victim {
			victim, at = id, t.used
		}
	}
	if t := c.adm.trust[victim]; t != nil {
		c.unverify(victim, t)
		c.adm.spare = append(c.adm.spare, t)
		delete(c.adm.trust, victim)
	}
}

// probeAnsweredBy records that target answered a probe sent to addr at
// sent: it is verified, and the round trip is a sample of its RTT.
func (c *Core) probeAnsweredBy(now Time, target ID, addr netip.AddrPort, sent Time) {
	r := c.lookup(target)
	if r == nil || r.addr() != addr {
		return
	}
	t := c.trustEntry(target, r.gen, addr)
	c.markVerified(target, t, now)
	if sent == 0 || now < sent {
		return
	}
	rtt := now.Sub(sent)
	c.stats.ProbeRTT.Observe(rtt)
	c.rtts.add(rtt)
	if t.srtt == 0 {
		t.srtt, t.rttvar = rtt, rtt/2
		return
	}
	d := t.srtt - rtt
	if d < 0 {
		d = -d
	}
	t.rttvar += (d - t.rttvar) / 4
	t.srtt += (rtt - t.srtt) / 8
}

// probeTimeout is how long to wait for r's ack: ProbeTimeout stretched by
// local health, or longer for a member whose measured round trips are
// slower (srtt + 4·rttvar, as TCP's retransmission timeout), or when this
// node's own round trips to anyone are (twice their median: this node is
// the slow one), up to maxSlowRTT heartbeat intervals: a member that
// answers late but steadily is slow, not dead.
func (c *Core) probeTimeout(r *record) time.Duration {
	d := max(c.health.Scale(c.cfg.ProbeTimeout), min(2*c.rtts.median(), maxSlowRTT*c.cfg.HeartbeatInterval))
	return max(d, c.lateness(r), c.saidLate(r))
}

// lateness is how late r's answers may come to this node by the round
// trips measured to it (srtt + 4·rttvar, up to maxSlowRTT heartbeat
// intervals), or zero when none was measured.
func (c *Core) lateness(r *record) time.Duration {
	t := c.adm.trust[r.id]
	if t == nil || t.srtt == 0 || t.gen != r.gen {
		return 0
	}
	return min(t.srtt+4*t.rttvar, maxSlowRTT*c.cfg.HeartbeatInterval)
}

// maxSlowRTT bounds, in heartbeat intervals, how far a slow member's
// measured round trips stretch its probe timeout.
const maxSlowRTT = 5

// RTT returns the smoothed round-trip time this node measured to member id
// by its probes, and whether it has a measurement.
func (c *Core) RTT(id ID) (time.Duration, bool) {
	r := c.lookup(id)
	t := c.adm.trust[id]
	if r == nil || t == nil || t.srtt == 0 || t.gen != r.gen {
		return 0, false
	}
	return t.srtt, true
}

// trustedSource reports whether new members named in a datagram of type t
// from from, sent by sender, may enter the table: the datagram answers a
// request of ours, or comes from a live member at the address we hold for
// it, or is a validated joiner speaking for itself.
func (c *Core) trustedSource(t codec.MsgType, from netip.AddrPort, sender ID) bool {
	switch t {
	case codec.MsgShardData, codec.MsgJoinReply:
		return c.expected(from)
	case codec.MsgJoin:
		return c.reply.validated
	}
	r := c.lookup(sender)
	return r != nil && r.live() && r.addr() == from
}

// introduce reports whether the datagram being handled may add one more
// new member to the table, charging the source's budget.
func (c *Core) introduce() bool {
	if !c.reply.trusted {
		return false
	}
	if c.reply.solicited {
		return true // we asked for it: bounded by what we asked
	}
	p, _ := c.peerState(c.reply.from)
	rate := float64(newPerSource)
	if dt := c.now.Sub(p.introAt); dt > 0 {
		p.intro = min(4*rate, p.intro+rate*dt.Seconds())
		p.introAt = c.now
	}
	if p.intro < 1 {
		c.setPeerState(c.reply.from, p)
		return false
	}
	p.intro--
	c.setPeerState(c.reply.from, p)
	return true
}

// hold puts a live member heard of from an untrusted source in the pending
// list, to be admitted once it answers a ping at its address.
func (c *Core) hold(now Time, m *codec.Member) {
	for i := range c.adm.pending {
		p := &c.adm.pending[i]
		if p.m.ID == m.ID {
			if m.Generation > p.m.Generation || m.Generation == p.m.Generation && m.Incarnation > p.m.Incarnation {
				if p.m.Addr != m.Addr {
					p.seq = 0 // a new address needs its own ping
				}
				p.m = *m
			}
			return
		}
		if p.m.Addr == m.Addr {
			c.stats.RefusedPending++
			return // one claim per address at a time
		}
	}
	if len(c.adm.pending) >= maxPending {
		c.stats.RefusedPending++
		return
	}
	c.adm.pending = append(c.adm.pending, pendingMember{m: *m, from: c.reply.from, expires: now.Add(c.pendingTTL())})
	c.stats.Pending++
	c.verifyPending(now)
}

// verifyPending sends admission pings to pending members, within
// verifyRate per heartbeat interval.
func (c *Core) verifyPending(now Time) {
	if now >= c.adm.window.Add(c.cfg.HeartbeatInterval) {
		c.adm.window, c.adm.sent = now, 0
	}
	for i := range c.adm.pending {
		p := &c.adm.pending[i]
		if p.seq != 0 {
			continue
		}
		if c.adm.sent >= verifyRate {
			return
		}
		seq := c.newSeq()
		if !c.sidePing(p.m.Addr, seq, ID(p.m.ID), nil) {
			return
		}
		c.adm.sent++
		p.seq = seq
		c.stats.AdmissionPings++
	}
}

// admitAck admits the pending member whose ping this ack answers. It
// reports whether the ack was one.
func (c *Core) admitAck(now Time, a *codec.Ack) bool {
	for i := range c.adm.pending {
		p := &c.adm.pending[i]
		if p.seq == 0 || p.seq != a.Seq || p.m.ID != a.Target {
			continue
		}
		m := p.m
		c.adm.pending = append(c.adm.pending[:i], c.adm.pending[i+1:]...)
		if c.lookup(ID(m.ID)) == nil && c.tab.total < c.cfg.MaxMembers && !c.refusesRecord(&m, nil) {
			rec := newRecord(ID(m.ID), m.Addr, m.Generation, m.Incarnation, State(m.State))
			rec.lag = lagOf(&m)
			c.put(now, rec, nil, 0)
			c.q.addMember(rec.id, 0)
			c.stats.UpdatesReceived++
			c.stats.Admitted++
			c.markVerified(rec.id, c.trustEntry(rec.id, rec.gen, m.Addr), now)
		}
		return true
	}
	return false
}

// expirePending drops pending members whose ping went unanswered and
// pings those still waiting.
func (c *Core) expirePending(now Time) {
	if len(c.adm.pending) == 0 {
		return
	}
	kept := c.adm.pending[:0]
	for _, p := range c.adm.pending {
		if now >= p.expires {
			c.stats.PendingExpired++
			continue
		}
		kept = append(kept, p)
	}
	clear(c.adm.pending[len(kept):])
	c.adm.pending = kept
	c.verifyPending(now)
}

// nextPending is when the pending list next needs a look.
func (c *Core) nextPending() Time {
	if len(c.adm.pending) == 0 {
		return 0
	}
	d := c.adm.pending[0].expires
	for i := range c.adm.pending {
		p := &c.adm.pending[i]
		d = min(d, p.expires)
		if p.seq == 0 {
			d = min(d, c.adm.window.Add(c.cfg.HeartbeatInterval))
		}
	}
	return d
}
