package engine

import (
	"math"
	"net/netip"

	"github.com/hearsay-io/hearsay/codec"
)

// Each member is the authority on itself. Whatever the cluster holds about
// a member (its state, incarnation, generation, application state) may have
// been forged or replayed; the member can always supersede it, and does so
// as soon as it hears of it:
//
//   - a suspicion, or an incarnation above its own, by refuting with a
//     higher incarnation;
//   - a death, by refuting once it has proven its links (rejoin);
//   - a Left record of its generation (Left is final within a generation),
//     a later generation of its own ID, an incarnation it cannot exceed, or
//     application state it never wrote, by renewing: it starts a new
//     generation, which supersedes every record and every state entry of
//     the old one everywhere, and publishes its true state again.
//
// Counters saturate and are never wrapped; a record at a counter's maximum
// cannot be honest (no member can supersede it) and is refused, as is a
// generation further ahead of this node's wall clock than MaxClockSkew.
// Renewals are rate-limited to one per renewGap, so that a stream of
// forgeries costs the cluster a restart's worth of updates per renewGap at
// most; a renewal that must wait runs as soon as it may.

// maxIncarnation is the highest incarnation a record may honestly carry:
// one below the counter's maximum, so that it can still be refuted.
const maxIncarnation = math.MaxUint32 - 1

// maxStateVersion is the highest application-state version accepted.
const maxStateVersion = math.MaxUint64 - 1

// plausibleGen reports whether gen can be a member's honest generation: not
// at the counter's maximum and not further ahead of this node's wall clock
// than MaxClockSkew (generations default to the wall-clock time at start).
// Without a wall clock (Env.Wall zero) the node's own generation stands in
// for it.
func (c *Core) plausibleGen(gen uint64) bool {
	if gen == math.MaxUint64 {
		return false
	}
	base := max(c.wallNow(), c.gen)
	skew := uint64(c.cfg.MaxClockSkew)
	return base > math.MaxUint64-skew || gen <= base+skew
}

// wallNow is the driver's wall clock in Unix nanoseconds, advanced by the
// monotonic clock since the core started; zero when the driver gave none.
func (c *Core) wallNow() uint64 {
	if c.env.Wall == 0 {
		return 0
	}
	return c.env.Wall + uint64(max(0, int64(c.now-c.env.Now)))
}

// plausibleMember reports whether a member record's counters can be honest,
// counting the refusal if not.
func (c *Core) plausibleMember(m *codec.Member) bool {
	if m.Incarnation > maxIncarnation || !c.plausibleGen(m.Generation) || m.StateVersion > maxStateVersion {
		c.stats.RefusedImplausible++
		return false
	}
	return true
}

// renewGap is the least time between two renewals.
func (c *Core) renewGap() Time { return Time(2 * c.cfg.HeartbeatInterval) }

// renewAbove makes the node start a generation above gen: at once, or when
// renewGap since the last renewal has passed.
func (c *Core) renewAbove(now Time, gen uint64) {
	if gen == math.MaxUint64 {
		return // refused at the boundary; never reached
	}
	c.renewTo = max(c.renewTo, gen+1, c.gen+1)
	if due := c.lastRenew + c.renewGap(); c.lastRenew != 0 && now < due {
		if c.renewAt == 0 || c.renewAt > due {
			c.renewAt = due
		}
		return
	}
	c.renew(now)
}

// renew starts a new generation of this node: incarnation 0, alive, its
// application state published again under the new generation, announced
// to its observers and by gossip.
func (c *Core) renew(now Time) {
	// A random step on top, so that no one can predict the generation and
	// prepare datagrams of it in advance (see senderWins).
	gen := max(c.gen+1, c.renewTo) + uint64(c.rng.IntN(1<<16))
	c.renewTo, c.renewAt, c.lastRenew = 0, 0, now
	c.gen, c.inc, c.seq = gen, 0, 0
	c.refutations = 0
	r := c.selfRecord()
	rec := *r
	rec.gen, rec.inc, rec.state = gen, 0, StateAlive
	c.put(now, rec, r, 0)
	c.q.addMember(c.id, 0)
	if a := rec.app; a != nil {
		for i := range a.entries {
			e := &a.entries[i]
			c.q.addState(c.id, e.Key(), stateKeyHash(c.id, e.Key()))
		}
	}
	c.stats.Renewals++
	c.refreshTopology()
	c.announce(0)
}

// renewTick runs a renewal that had to wait.
func (c *Core) renewTick(now Time) {
	if c.renewAt != 0 && now >= c.renewAt && !c.leave.active {
		c.renew(now)
	}
}

// announce sends this node's own record to its observers, and to the
// accuser when given, piggybacking pending updates. While a datagram is
// handled it is sent when the handling ends (endReply), to the members
// and addresses the table holds then: a later record of the same datagram
// may move an observer or the accuser again, and an address held only
// for part of a datagram is no member's.
func (c *Core) announce(accuser ID) {
	if c.reply.active {
		c.reply.announce = true
		if accuser != 0 {
			c.reply.accuser = accuser
		}
		return
	}
	c.announceNow(accuser)
}

// announceNow sends what announce describes at once.
func (c *Core) announceNow(accuser ID) {
	c.refreshTopology()
	var m codec.Member
	c.selfRecord().wire(&m, 0)
	sendTo := func(to peer) {
		c.begin(codec.MsgGossip)
		c.bld.AddMember(&m)
		c.piggyback()
		c.aim(to.addr, to.id)
		c.send(to.addr, codec.MsgGossip)
	}
	if a := c.lookup(accuser); a != nil && accuser != c.id && a.live() {
		sendTo(peer{a.id, a.addr()})
	}
	for _, o := range c.observers {
		if o.id != accuser {
			sendTo(o)
		}
	}
}

// stateAboutSelf handles an application-state entry about this node that
// arrived from the network: an entry the node never wrote, or a version
// above its own, is superseded at once.
func (c *Core) stateAboutSelf(now Time, w *codec.StateEntry) {
	switch {
	case c.leave.active || w.Generation < c.gen:
		return // our leave, or our previous life, travels already
	case w.Generation > c.gen:
		c.stats.IDConflicts++
		c.renewAbove(now, w.Generation)
		return
	}
	r := c.selfRecord()
	e := r.app.get(w.Key)
	switch {
	case e == nil:
		// A key this node never wrote, at its generation: withdraw every
		// entry of the generation by starting a new one.
		c.stats.ForgedState++
		c.renewAbove(now, c.gen)
	case w.Version < e.version:
		// An older version of ours; the current one travels.
	case w.Version == e.version && e.sameAs(w):
		// Ours.
	case w.Version >= maxStateVersion-1 || r.stateVersion() >= maxStateVersion-1:
		c.stats.ForgedState++
		c.renewAbove(now, c.gen)
	default:
		// A version above ours, or ours with another value: publish the
		// true value above it.
		c.stats.ForgedState++
		n := *e
		n.version = max(w.Version, r.stateVersion()) + 1
		rec := *r
		rec.app = r.app.with(&n)
		c.put(now, rec, r, 0)
		c.q.addState(c.id, n.Key(), stateKeyHash(c.id, n.Key()))
	}
}

// onVerdict handles what another node says it holds about this node.
func (c *Core) onVerdict(now Time, sender ID, v *codec.Verdict) {
	m := codec.Member{
		ID:          uint64(c.id),
		Generation:  v.Generation,
		Incarnation: v.Incarnation,
		State:       v.State,
		Witness:     uint64(sender),
	}
	if !c.plausibleMember(&m) {
		return
	}
	c.aboutSelf(now, &m)
	if v.State == codec.StateDead && v.Generation == c.gen {
		// A verdict answers a datagram of ours: its sender, which holds
		// us dead, now hears us. A rejoin whose tries failed across a
		// one-way cut waits up to one and a half RejoinBackoffMax to try
		// again, and nothing else may tell it that the cut healed: the
		// members it held alive all along do not call deadTalks, and
		// those it held dead may have used deadTalks' hastening just
		// before. So a verdict hastens on its own count (at most once
		// per RejoinBackoffMax: a node on a bad link, or a forger, makes
		// the node try at most that much more often). At 30% loss begun
		// with a 20 s one-way cut (300 nodes, seed 1), two members of the
		// side that could not be heard stayed dead on the other side for
		// up to 17.6 s after the heal (TestRejoinHastenedByVerdict).
		c.hastenRejoin(&c.rejoin.verdict)
	}
}

// tellSelf sends our own record to a node that told us stale news about
// us (a suspicion or a death we already refuted), so that it learns the
// refutation at once instead of waiting for it to spread to it. It is
// rate-limited per address and fits the reply budget.
func (c *Core) tellSelf(now Time, to netip.AddrPort) {
	k := int(to.Addr().As16()[15]^byte(to.Port())^byte(to.Port()>>8)) % len(c.val.selfTold)
	if t := &c.val.selfTold[k]; t.to == to && now < t.at.Add(c.cfg.HeartbeatInterval) {
		return
	} else {
		t.to, t.at = to, now
	}
	var m codec.Member
	c.wire(c.selfRecord(), &m, 0)
	c.beginTo(codec.MsgGossip, to)
	c.bld.AddMember(&m)
	c.send(to, codec.MsgGossip)
}

// correct sends members' records to a member that told us accusations of
// them (suspect or dead) that the records supersede: the members refuted,
// and the teller missed the refutations. Without it the teller holds its
// stale accusation until anti-entropy, and declares a live member dead
// when its timer runs out: a refutation is gossiped a bounded number of
// times, and a member few others push to (a slow one, which fails the
// pings that make it a gossip target) can miss every copy. It is
// rate-limited per address, sends one datagram and fits the reply budget.
func (c *Core) correct(now Time, to netip.AddrPort, ids []ID) {
	k := int(to.Addr().As16()[15]^byte(to.Port())^byte(to.Port()>>8)) % len(c.val.corrTold)
	if t := &c.val.corrTold[k]; t.to == to && now < t.at.Add(c.cfg.ProbeTimeout) {
		return
	} else {
		t.to, t.at = to, now
	}
	room := 1 + (c.reply.left-c.selfSize())/codec.MemberSize
	began := false
	for _, id := range ids[:min(len(ids), room)] {
		r := c.lookup(id)
		if r == nil {
			continue
		}
		if !began {
			c.beginTo(codec.MsgGossip, to)
			began = true
		}
		var m codec.Member
		c.wire(r, &m, 0)
		c.bld.AddMember(&m)
		c.stats.Corrections++
	}
	if began {
		c.send(to, codec.MsgGossip)
	}
}

// maxCorrections bounds the records correct sends in one datagram.
const maxCorrections = 32

// selfSize is the size on the wire of a datagram holding our record alone.
func (c *Core) selfSize() int {
	n := codec.HeaderSize + codec.SectionHeaderSize + codec.MemberSize
	if c.keys != nil {
		n += codec.SealOverhead
	}
	return n
}

// tellVerdict tells a member that is talking to us what we hold about it
// when that is not "alive at the version you claim", so that it can
// supersede it. It is rate-limited per member and fits the reply budget.
func (c *Core) tellVerdict(now Time, to netip.AddrPort, r *record) {
	k := int(uint64(r.id) % uint64(len(c.sync.told)))
	if t := &c.sync.told[k]; t.id == r.id && now < t.at.Add(c.cfg.HeartbeatInterval) {
		return
	} else {
		t.id, t.at = r.id, now
	}
	c.beginTo(codec.MsgGossip, to)
	c.bld.AddVerdict(codec.Verdict{Generation: r.gen, Incarnation: r.inc, State: codec.MemberState(r.state)})
	c.aim(to, r.id)
	c.send(to, codec.MsgGossip)
}
