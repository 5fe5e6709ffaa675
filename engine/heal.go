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

// healBurst is how many dead members a node contacts when one of them
// talked to it.
const healBurst = 4

// healState tracks the contacts a heal calls for.
type healState struct {
	heard bool // a member held dead talked to us since the last burst
	at    Time // the last burst
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
	c.heal.heard = true
	rj := &c.rejoin
	if rj.active && !rj.inFlight && rj.next > c.now &&
		(rj.hastened == 0 || c.now >= rj.hastened.Add(c.cfg.RejoinBackoffMax)) {
		rj.hastened = c.now
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
