package engine

import (
	"time"

	"github.com/hearsay-io/hearsay/codec"
	"github.com/hearsay-io/hearsay/detector"
)

// monitor is this node's watch over one subject: the members that precede it
// on the monitoring ring send it their heartbeats.
type monitor struct {
	id         ID
	gen        uint64
	phi        *detector.Phi
	quietUntil Time // no new probe before this, after an answered one
	due        Time // when the subject next needs a look: max(SuspectAt, quietUntil)
	mismatch   int  // consecutive heartbeats whose digest differed from ours
	lastDigest uint64
	// beat is the highest heartbeat counter accepted from generation gen.
	// A heartbeat that does not raise it is a duplicate, a late arrival or
	// a replay and says nothing about whether the subject still runs.
	beat uint64
	// counted has bit i set while heartbeat beat−i is counted lost in
	// the loss estimates: one that arrives after a later one (reordered)
	// is taken out of the count again (lateBeat).
	counted uint64
	// fresh: the subject just became ours; it is pinged at once, so that
	// a subject that died with its previous observers is not waited for.
	// unanswered: that ping went unanswered and no heartbeat came since,
	// so the subject is probed at once rather than once its detector,
	// which has no history yet, crosses.
	fresh, unanswered bool
	// quietFor is how long an answered probe quiets the subject: one
	// period, doubled after each answered probe while the subject sends
	// us no heartbeat (it does not count us among its observers yet: our
	// views differ), up to maxQuiet periods.
	quietFor time.Duration
	rttAt    Time // when the subject is next pinged for a round-trip sample
	// loss estimates the fraction of the subject's heartbeats lost on the
	// way (see loss.go), from samples heartbeats.
	loss         float64
	lostW, seenW float64 // decayed counts of lost and seen periods
	samples      int     // periods counted
}

// refreshTopology recomputes observers and subjects after the live set
// changed. Observers are the Observers live members that follow this node's
// ring position, subjects the ones that precede it; every member with the
// same view computes the same relation (see ring.Topology).
func (c *Core) refreshTopology() {
	if c.topoSeen == c.topoGen {
		return
	}
	c.topoSeen = c.topoGen
	// A member is watched by the Observers alive members that follow it
	// on the ring; suspects are passed over, since they may be dead, so
	// that a member whose observers failed with it (a rack, a mass crash)
	// gets new ones as soon as they are suspected, not once they are dead.
	// A suspect stays the subject of the members that watched it.
	k := c.cfg.Observers
	c.observers = c.observers[:0]
	c.tab.walk(c.pos, true, func(r *record) bool {
		if r.id != c.id && r.state == StateAlive {
			c.observers = append(c.observers, peer{r.id, r.addr()})
		}
		return len(c.observers) < k
	})
	var subjects [16]ID
	n, alive := 0, 0
	c.tab.walk(c.pos, false, func(r *record) bool {
		if r.id != c.id && r.live() {
			subjects[n] = r.id
			n++
			if r.state == StateAlive {
				alive++
			}
		}
		return alive < k && n < len(subjects)
	})
	// Keep the monitors of subjects that remain, recycle the others, and
	// start fresh ones for new subjects.
	kept := c.monitors[:0]
	for _, m := range c.monitors {
		if containsID(subjects[:n], m.id) {
			kept = append(kept, m)
		} else {
			c.spare = append(c.spare, m)
		}
	}
	c.monitors = kept
	for _, id := range subjects[:n] {
		if c.monitorOf(id) != nil {
			continue
		}
		m := c.newMonitor(id)
		c.monitors = append(c.monitors, m)
	}
}

func containsID(ids []ID, id ID) bool {
	for _, x := range ids {
		if x == id {
			return true
		}
	}
	return false
}

func (c *Core) newMonitor(id ID) *monitor {
	var m *monitor
	if n := len(c.spare); n > 0 {
		m = c.spare[n-1]
		c.spare = c.spare[:n-1]
		m.phi.Reset()
	} else {
		m = &monitor{phi: detector.NewPhi(c.cfg.Phi)}
	}
	phi := m.phi
	*m = monitor{id: id, phi: phi}
	if r := c.lookup(id); r != nil {
		m.gen = r.gen
	}
	// The subject may not know yet that it should send to us; count from
	// now, so that a subject that never sends is probed after the detector's
	// bootstrap interval rather than never.
	m.phi.Heartbeat(c.now)
	m.fresh = true
	m.due = c.now
	m.rttAt = c.now.Add(c.cfg.HeartbeatInterval*rttEvery/2 + c.jitter(c.cfg.HeartbeatInterval*rttEvery))
	return m
}

func (c *Core) monitorOf(id ID) *monitor {
	for _, m := range c.monitors {
		if m.id == id {
			return m
		}
	}
	return nil
}

// heartbeat sends this period's heartbeat to every observer.
func (c *Core) heartbeat(now Time) {
	// A node proving its links after being declared dead keeps beating:
	// observers that still hold it alive (behind a one-way cut, or whose
	// view the death has not reached) must not lose it for that.
	if c.leave.active {
		return
	}
	c.refreshTopology()
	c.decayHealth(now)
	c.beats++
	hb := codec.Heartbeat{Counter: c.beats, Digest: c.tab.root, Members: uint32(c.tab.live)}
	for _, o := range c.observers {
		c.begin(codec.MsgHeartbeat)
		c.bld.AddHeartbeat(hb)
		c.piggyback()
		c.aim(o.addr, o.id)
		c.send(o.addr, codec.MsgHeartbeat)
	}
	if c.rejoin.active {
		return // its own pings prove its links
	}
	// Now and then, ping each subject: its ack keeps it verified (a
	// helper we can ask) and measures its round trip.
	for _, m := range c.monitors {
		if now < m.rttAt || c.probing(m.id) || c.verifying(m.id) {
			continue
		}
		m.rttAt = now.Add(c.cfg.HeartbeatInterval * rttEvery)
		if r := c.lookup(m.id); r != nil && r.live() {
			c.startProbe(now, r, probeVerify)
		}
	}
	c.topUpHelpers(now)
}

// minHelpers is how many verified members a node keeps at hand, so that a
// probe finds as many helpers as loss calls for (up to 16, probeHelpers)
// even when no update has been gossiped for a while (gossip rounds verify
// new members only when they have updates to push).
const minHelpers = 24

// topUpHelpers verifies one random live member a period while fewer than
// minHelpers are verified: a ping and its ack, until the pool is full.
func (c *Core) topUpHelpers(now Time) {
	if len(c.adm.vlist) >= minHelpers || c.tab.live <= 2 {
		return
	}
	for range 4 {
		r := c.tab.randomLive(c.rng, nil)
		if r != nil && r.id != c.id && !c.verified(r) && !c.failedRecently(r) && !c.verifying(r.id) && !c.probing(r.id) {
			c.startProbe(now, r, probeVerify)
			return
		}
	}
}

// onHeartbeat feeds a subject's detector.
func (c *Core) onHeartbeat(now Time, h *codec.Header, hb *codec.Heartbeat) {
	m := c.monitorOf(ID(h.Sender))
	if m == nil {
		return
	}
	switch {
	case h.Generation < m.gen:
		// From a process the subject has since replaced: stale or replayed.
		c.stats.StaleHeartbeats++
		return
	case h.Generation > m.gen:
		// The subject restarted: its old rhythm says nothing about the new.
		m.gen = h.Generation
		m.beat, m.counted = 0, 0
		m.phi.Reset()
	case hb.Counter <= m.beat:
		// The counter rises by one per period in a process; one that does
		// not rise was seen already (duplicate, reordering, or a captured
		// datagram played back) and must not count as a sign of life.
		c.stats.StaleHeartbeats++
		c.lateBeat(m, m.beat-hb.Counter)
		return
	}
	missed := 0
	if m.beat > 0 {
		missed = int(min(hb.Counter-m.beat-1, 1<<20))
		m.noteBeats(missed)
		c.noteNodeBeats(missed)
		m.counted = countedAfter(m.counted, hb.Counter-m.beat, lossGap(missed))
	}
	m.beat = hb.Counter
	m.unanswered = false
	c.heardFrom(now, m.id)
	c.overtaken(m.id)
	m.quietFor = 0
	c.stats.Heartbeats++
	m.phi.HeartbeatAfter(now, missed)
	if s := c.susp[m.id]; s == nil || !s.mine {
		// An accused subject keeps its reminder schedule: its heartbeats
		// carry the incarnation we accused until it hears of the
		// suspicion and refutes.
		m.due = c.checkAt(m)
	}
	// A neighbour whose digest stays different from ours, at the same value,
	// holds something we lack or lacks something we hold: reconcile with it.
	if hb.Digest != c.tab.root && hb.Digest == m.lastDigest {
		m.mismatch++
		if m.mismatch >= 3 {
			m.mismatch = 0
			switch r := c.lookup(m.id); {
			case r == nil:
			case c.reply.active && !c.reply.validated:
				// The heartbeat came from an address that has not
				// proven itself: a sync is not an answer it may get
				// (see validation.go). The exchange starts at the next
				// tick (syncTick).
				c.sync.neighbour = m.id
				c.sync.dirty, c.sync.next = true, now
			default:
				c.syncWith(now, r.addr(), r.id)
			}
		}
	} else {
		m.mismatch = 0
	}
	m.lastDigest = hb.Digest
}

// checkSubjects probes every subject whose detector crossed its threshold.
// Each monitor knows when its detector will cross (SuspectAt), so the core
// looks only then rather than polling.
func (c *Core) checkSubjects(now Time) {
	if c.rejoin.active || c.leave.active {
		return
	}
	c.refreshTopology()
	for _, m := range c.monitors {
		if now < m.due || c.probing(m.id) {
			continue
		}
		r := c.lookup(m.id)
		if r == nil || !r.live() {
			m.due = now.Add(c.cfg.HeartbeatInterval)
			continue
		}
		if m.fresh {
			// A new subject: ping it now rather than wait for its
			// detector, which has no history yet. An unanswered ping
			// alone accuses no one (see unanswered).
			m.fresh = false
			if !c.verifying(m.id) {
				c.startProbe(now, r, probeVerify)
			}
			// Look again once that ping (or one already out) is decided,
			// never at once: a due time not after now would have a
			// driver tick again at the same instant.
			m.due = max(c.checkAt(m), now.Add(c.cfg.ProbeTimeout))
			continue
		}
		if s := c.susp[m.id]; s != nil && s.mine {
			// Already accused: remind the suspect so that it can refute.
			c.remind(now, m, r)
			m.due = m.quietUntil
			continue
		}
		if at := c.checkAt(m); now >= at {
			c.startProbe(now, r, probeMonitor)
			m.due = detector.MaxTime // until the probe is decided
		} else {
			m.due = at
		}
	}
}

// nextCheck is the earliest time a monitor needs a look.
func (c *Core) nextCheck() Time {
	d := detector.MaxTime
	for _, m := range c.monitors {
		if m.due < d && !c.probing(m.id) {
			d = m.due
		}
	}
	return d
}
