package engine

// Heals. A partition that heals leaves each side holding the other dead,
// and a member held dead learns of it only when someone tells it: a node
// contacts one random dead member every two periods (reconnectDead), so
// that, cluster-wide, each member held dead is contacted about once an
// interval. After a split of N members that alone takes about
// 2·ln(N) periods to reach the last one (14 s at 1,000).
//
// A member held dead that talks to this node from its address, at the
// generation held, is the sign that a partition healed (a crashed process
// does not talk; a restarted one has a new generation). Then the node
// contacts healBurst more dead members at once, and again every half
// period while such members keep talking, so that contacts spread as
// the heal does rather than at the steady trickle: each contact makes the
// member refute and tells both sides what the other holds, and the
// members contacted talk to others in turn.
//
// For healNotice heartbeat intervals after a member held dead last talked
// to it, a node that still holds members dead also tells one of them,
// drawn at random among them all, every heartbeat interval, that it holds
// it dead: a ping carrying the dead record, which a member that is back
// answers with its own record in the ack (merge.go aboutSelf, probe.go
// onPing), within the reply budget of an address that has not proven
// itself; the record is then checked as any revival. The records that bring the other side back
// travel as rumours (revival.go), and a rumour misses a few nodes, more
// so under loss; the contacts above draw dead members among all members
// (a node holding one dead among 300 seldom draws it), and an exchange
// takes several round trips, each lost one time in two at 30% loss on
// every link. A node that missed one member's record was left holding it
// dead, alone of all nodes, until its periodic exchange brought it (300
// nodes, a one-way cut healed at 30% loss: not within 20 s and 18.25 s
// after the heal at two seeds of six, while every other node saw every
// node alive within about 6 s; with the notices, at most 8.5 s over the
// six).

// healBurst is how many dead members a node contacts when one of them
// talked to it.
const healBurst = 4

// healNotice is how many heartbeat intervals after a member held dead
// last talked to it a node holding members dead tells them so.
const healNotice = 10

// healState tracks the contacts a heal calls for.
type healState struct {
	heard bool // a member held dead talked to us since the last burst
	at    Time // the last burst
	last  Time // when a member held dead last talked to us
	next  Time // the next notice (healNoticeTick)
}

// deadTalks notes that a member held dead talked to us from its address.
//
// A node waiting to try its rejoin again (rejoin.go) tries at once: the
// cut or outage that failed its last try may be what just healed, and a
// back-off that grew through a long cut would otherwise hold it dead for
// up to one and a half back-offs after the heal. It does so at most once per
// RejoinBackoffMax, so that a node on a bad link, which hears from
// members it holds dead now and then, tries at most twice as often as
// its back-off allows.
func (c *Core) deadTalks() {
	c.heal.heard, c.heal.last = true, c.now
	c.hastenRejoin(&c.rejoin.hastened)
}

// hastenRejoin makes a rejoin that waits to try again try at once, at
// most once per RejoinBackoffMax for each kind of sign, whose last use
// last holds.
func (c *Core) hastenRejoin(last *Time) {
	rj := &c.rejoin
	if rj.active && !rj.inFlight && rj.next > c.now &&
		(*last == 0 || c.now >= last.Add(c.cfg.RejoinBackoffMax)) {
		*last = c.now
		rj.next = c.now
	}
}

// nextHeal is when the next burst may run, or 0 when none is due.
func (c *Core) nextHeal() Time {
	if !c.heal.heard {
		return 0
	}
	return max(c.now, c.heal.at.Add(c.cfg.HeartbeatInterval/2))
}

// healTick contacts up to healBurst random dead members when a member held
// dead talked to us, at most once every half period.
func (c *Core) healTick(now Time) {
	if !c.heal.heard || now < c.heal.at.Add(c.cfg.HeartbeatInterval/2) || c.leave.active {
		return
	}
	c.heal.heard, c.heal.at = false, now
	if c.tab.total == c.tab.live {
		return
	}
	sent := 0
	for try := 0; try < 8*healBurst && sent < healBurst; try++ {
		r := c.tab.randomAny(c.rng)
		if r != nil && r.state == StateDead && r.id != c.id {
			c.syncWith(now, r.addr(), r.id)
			sent++
		}
	}
	c.stats.HealContacts += uint64(sent)
}

// healNoticeTick tells a random member held dead that this node holds it
// dead, at most once a heartbeat interval, while a heal that a member held
// dead talking to us signalled may have left this node behind.
func (c *Core) healNoticeTick(now Time) {
	if !c.healNoticing(now) || now < c.heal.next {
		return
	}
	c.heal.next = now.Add(c.cfg.HeartbeatInterval)
	r := c.randomDead()
	if r == nil {
		return
	}
	if c.sidePing(r.addr(), c.newSeq(), r.id, r) {
		c.stats.HealContacts++
	}
}

// healNoticing reports whether healNoticeTick may send at now.
func (c *Core) healNoticing(now Time) bool {
	return c.heal.last != 0 && now < c.heal.last.Add(healNotice*c.cfg.HeartbeatInterval) && c.tab.total > c.tab.live && !c.leave.active
}

// nextHealNotice is when healNoticeTick sends next, or 0 when it does not.
func (c *Core) nextHealNotice() Time {
	if !c.healNoticing(c.now) {
		return 0
	}
	return max(c.now, c.heal.next)
}

// randomDead returns a member held dead, drawn uniformly among them all
// (the tombstones queued for reaping that are still current), or nil.
func (c *Core) randomDead() *record {
	var pick *record
	n := 0
	for _, g := range c.graves {
		r := c.lookup(g.id)
		if r == nil || r.state != StateDead || r.gen != g.gen || r.id == c.id {
			continue
		}
		if n++; c.rng.IntN(n) == 0 {
			pick = r
		}
	}
	return pick
}
