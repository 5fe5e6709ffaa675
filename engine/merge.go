package engine

import (
	"net/netip"

	"github.com/hearsay-io/hearsay/codec"
)

// fromSender uses what a datagram's header proves when it comes from the
// sender's own address: the sender was alive at its generation and
// incarnation when it sent. A header from elsewhere proves nothing about
// the sender (its ID is only a claim).
func (c *Core) fromSender(now Time, from netip.AddrPort, h *codec.Header) {
	id := ID(h.Sender)
	r := c.lookup(id)
	if r == nil || from != r.addr() || h.Generation > r.gen {
		return
	}
	if h.Generation == r.gen {
		c.heardFrom(now, id)
		if r.state == StateDead {
			c.deadTalks() // a partition healed, most likely: see heal.go
		}
	}
	if h.Generation == r.gen && h.Incarnation > r.inc && r.live() {
		// Only the member raises its incarnation, and only to refute: this
		// is a refutation we had not heard yet.
		rec := *r
		rec.inc = h.Incarnation
		rec.state = StateAlive
		rec.proven = false // not known from a header
		c.put(now, rec, r, 0)
		c.q.addMember(id, 0)
		return
	}
	if r.state != StateAlive || h.Generation < r.gen {
		// It talks to us while we hold it suspect, dead or left, or at a
		// later generation than its own: tell it, so that it can
		// supersede what we hold, once the datagram's own answers are
		// sent (they come first in the reply budget).
		c.reply.verdict = id
	}
}

// mergeMember applies a member record received from the network. gossip
// says whether a change it causes should be disseminated further.
func (c *Core) mergeMember(now Time, m *codec.Member, gossip bool) {
	id := ID(m.ID)
	st := State(m.State)
	if id == 0 || !st.valid() || !c.plausibleMember(m) {
		return
	}
	if id == c.id {
		c.aboutSelf(now, m)
		return
	}
	witness := ID(m.Witness)
	r := c.lookup(id)
	if r == nil {
		if c.reply.active && !c.reply.trusted {
			// A member we never heard of, from a source we do not
			// trust: it waits apart until it answers at its address.
			if st.Live() && m.Addr.IsValid() && m.Addr.Port() != 0 && !c.knownRefused(m) {
				c.hold(now, m)
			}
			return
		}
		if !st.Live() {
			// A tombstone for a member we never knew (or already reaped):
			// kept for what is left of its retention, so that old records
			// of the member cannot bring it back here.
			c.entomb(now, m, st)
			return
		}
		if c.tab.total >= c.cfg.MaxMembers {
			c.stats.RefusedMembers++
			return
		}
		if !m.Addr.IsValid() || m.Addr.Port() == 0 {
			return
		}
		if c.refusesRecord(m, nil) {
			return // see admit.go
		}
		if c.reply.active && !c.introduce() {
			c.hold(now, m) // over the source's budget of new members
			return
		}
		rec := newRecord(id, m.Addr, m.Generation, m.Incarnation, st)
		rec.lag = lagOf(m)
		c.put(now, rec, nil, witness)
		c.stats.UpdatesReceived++
		if gossip {
			c.q.addMember(id, witness)
		}
		return
	}
	if st == StateSuspect && r.state == StateSuspect && m.Generation == r.gen && m.Incarnation == r.inc {
		c.confirm(now, id, witness)
		return
	}
	if !supersedes(r, m.Generation, m.Incarnation, st) {
		if st == StateSuspect && r.state == StateAlive && m.Generation == r.gen && m.Incarnation < r.inc && c.reply.active && c.reply.trusted && c.reply.nstale < maxCorrections {
			c.reply.stale[c.reply.nstale] = id // the sender missed a refutation: see correct
			c.reply.nstale++
		}
		if st.Live() && r.live() && m.Generation == r.gen && m.Incarnation == r.inc &&
			(m.Flags&flagProven != 0 && !r.proven || lagOf(m) > r.lag) {
			// The same record, known now to follow a rejoin or to come
			// from a slow member (we had it from the member's header):
			// keep what it says to pass it on.
			rec := *r
			rec.proven = rec.proven || m.Flags&flagProven != 0
			rec.lag = max(rec.lag, lagOf(m))
			c.tab.set(rec)
		}
		return
	}
	if !c.admitsUpdate(r, m) {
		return // refused, and no longer held (admit.go)
	}
	if c.reply.active && m.Generation == r.gen {
		switch {
		case st == StateDead && r.state == StateAlive && c.doubtDeath(now, r, m, false):
			return // see doubt.go
		case st == StateDead && r.state == StateSuspect && !c.accused(r.id) && c.doubtDeath(now, r, m, true):
			return // see doubt.go
		case st.Live() && r.state == StateDead:
			c.holdRevival(now, r, m) // see revival.go
			return
		}
	}
	c.apply(now, r, m, witness, gossip)
}

// apply replaces r by the received record m, which supersedes it.
func (c *Core) apply(now Time, r *record, m *codec.Member, witness ID, gossip bool) {
	rec := *r
	if m.Generation != r.gen {
		rec.app = nil // a new process publishes its state afresh
	}
	rec.gen, rec.inc, rec.state = m.Generation, m.Incarnation, State(m.State)
	rec.proven = rec.live() && m.Flags&flagProven != 0
	rec.lag = lagOf(m) // 0 for a record that is not live
	if m.Addr.IsValid() && m.Addr.Port() != 0 {
		rec.setAddr(m.Addr)
	}
	c.put(now, rec, r, witness)
	c.stats.UpdatesReceived++
	if gossip {
		c.q.addMember(rec.id, witness)
	}
}

// put stores rec, which replaces old (nil for a new member), and keeps
// everything derived from the table in step: the monitoring topology,
// suspicion timers, tombstones and events.
func (c *Core) put(now Time, rec record, old *record, witness ID) {
	var prev record
	if old != nil {
		prev = *old // old points into the table; copy before the table changes
	}
	wasLive := old != nil && prev.live()
	grave := rec.id != c.id && !rec.live() && (old == nil || wasLive || prev.gen != rec.gen)
	if grave {
		rec.buried = rec.inc
	} else if old != nil {
		rec.buried = prev.buried // still the same tombstone, or live
	}
	c.tab.set(rec)
	c.dq.touch(rec.id) // a doubt of it may be settled
	if wasLive != rec.live() || (old != nil && (prev.state != rec.state || prev.ip != rec.ip || prev.port != rec.port || prev.gen != rec.gen)) {
		c.topoGen++
	}
	if rec.id == c.id {
		return
	}
	// Suspicion timers follow the record.
	if rec.state == StateSuspect {
		if old == nil || prev.state != StateSuspect || prev.inc != rec.inc || prev.gen != rec.gen {
			c.startSuspicion(now, &rec, witness)
		}
	} else if old != nil && prev.state == StateSuspect {
		c.cancelSuspicion(rec.id)
	}
	if grave {
		c.bury(now, &rec)
	}
	if e, ok := transition(old != nil, &prev, &rec, witness); ok {
		c.emit(e)
	}
}

// transition names the event for a change from prev (if existed) to rec,
// if the change is one subscribers hear of: a change of state, or of the
// address or generation of a member that stays live (EventUpdate). A new
// incarnation in the same state, new application state (EventState,
// emitted apart) and a tombstone's new generation are not.
func transition(existed bool, prev, rec *record, witness ID) (Event, bool) {
	e := Event{Member: rec.member(), Witness: witness}
	switch {
	case !existed:
		e.Type = EventJoin
		if !rec.live() {
			e.Type = eventFor(rec.state)
		}
	case rec.state == prev.state:
		if !rec.live() || (prev.gen == rec.gen && prev.ip == rec.ip && prev.port == rec.port) {
			return Event{}, false
		}
		e.Type = EventUpdate
	case rec.state == StateAlive && prev.gen != rec.gen:
		e.Type = EventJoin
	default:
		e.Type = eventFor(rec.state)
	}
	return e, true
}

func eventFor(s State) EventType {
	switch s {
	case StateAlive:
		return EventAlive
	case StateSuspect:
		return EventSuspect
	case StateDead:
		return EventDead
	default:
		return EventLeft
	}
}

// aboutSelf handles a record about this node: refute suspicion, start the
// rejoin check when declared dead, and supersede whatever else is claimed
// (see authority.go).
func (c *Core) aboutSelf(now Time, m *codec.Member) {
	switch {
	case c.leave.active:
		return // our Left travels
	case m.Generation > c.gen:
		// A later generation of our ID: forged, replayed, or another
		// process started with our ID. We are the authority on our
		// record: supersede it.
		c.stats.IDConflicts++
		c.renewAbove(now, m.Generation)
		return
	case m.Generation < c.gen:
		// Someone still talks about our previous life; make sure our
		// current generation travels.
		if _, queued := c.q.members[c.id]; !queued {
			c.q.addMember(c.id, 0)
		}
		return
	}
	st := State(m.State)
	if st == StateSuspect || st == StateDead {
		c.reply.claimed = c.reply.active // a ping with it gets copies of its ack (onPing)
	}
	if (st == StateSuspect || st == StateDead) && m.Incarnation < c.inc {
		// The sender holds news about us older than our last refutation:
		// tell it our record rather than wait for the refutation to reach
		// it (a one-way cut or a backlog can hold it up for seconds).
		c.reply.self = c.reply.active
	}
	if st == StateDead && m.Incarnation < c.inc {
		c.reply.selfFirst = c.reply.active
		// Someone still holds us dead from before our last refutation. If
		// that refutation followed a rejoin, it carries the proof others
		// need to take us back: make sure it travels. If it only refuted a
		// suspicion, they will not take it (see revival.go): prove our
		// links and refute again.
		if c.selfRecord().proven {
			if _, queued := c.q.members[c.id]; !queued {
				c.q.addMember(c.id, 0)
			}
		} else if !c.rejoin.active {
			c.beginRejoin(now, c.inc)
		}
		return
	}
	if m.Incarnation < c.inc || (m.Incarnation == c.inc && st == StateAlive) {
		return
	}
	switch st {
	case StateLeft:
		// Left is final within a generation, and we did not leave.
		c.renewAbove(now, c.gen)
	case StateDead:
		c.beginRejoin(now, m.Incarnation)
	default:
		// Suspected (or told of an incarnation we never had): refute at
		// once, unless we have refuted too often lately on links that
		// look bad (mayRefute). Then we accept removal and come back only
		// through the rejoin probes, so that a bad link removes us once
		// instead of flapping. A node already proving its links before
		// coming back refutes the same way: the suspicion comes from
		// members that reach it, and the refutation, unproven, does not
		// bring it back where it is held dead (revival.go). Withheld, it
		// let a node's own side declare it dead while its tries failed
		// against the other side of a one-way cut, which had declared it
		// dead (the nemesis mix at 1,000 nodes and 30% loss, seed 2: 110
		// false deaths of one node).
		switch {
		case c.mayRefute(now):
			c.refute(now, m.Incarnation, ID(m.Witness), false)
		case c.rejoin.active:
			c.rejoin.deadInc = max(c.rejoin.deadInc, m.Incarnation)
		default:
			c.stats.RefutationsWithheld++
			c.beginRejoin(now, m.Incarnation)
		}
	}
}

// maxRefutations bounds Config.MaxRefutations: the refutation times kept.
const maxRefutations = 16

// flakyLoss is the fraction of its subjects' heartbeats a node must be
// missing for it to count its own links as bad (see MaxRefutations).
const flakyLoss = 0.5

// mayRefute reports whether this node may refute one more suspicion: its
// links look fine, or it has refuted fewer than MaxRefutations within the
// last RefutationWindow.
func (c *Core) mayRefute(now Time) bool {
	if c.linkLoss() < flakyLoss {
		return true
	}
	n := c.cfg.MaxRefutations
	if c.refutations < n {
		return true
	}
	oldest := c.refutedAt[(c.refutations-n)%maxRefutations]
	return now.Sub(oldest) >= c.cfg.RefutationWindow
}

// refute raises the incarnation above inc and announces that this node is
// alive, directly to the accuser and to its observers, and by gossip. An
// incarnation that cannot be raised further is superseded by renewing.
// proven marks a refutation that follows a rejoin: members that hold this
// node dead take only such a one (see revival.go).
func (c *Core) refute(now Time, inc uint32, accuser ID, proven bool) {
	if inc >= maxIncarnation {
		c.renewAbove(now, c.gen)
		return
	}
	c.inc = inc + 1
	c.refutedAt[c.refutations%maxRefutations] = now
	// Being suspected is evidence against our own links too (Lifeguard).
	c.healthFailure(now)
	c.refutations++
	r := c.selfRecord()
	rec := *r
	rec.inc, rec.state, rec.proven, rec.lag = c.inc, StateAlive, proven, c.ownLag()
	c.put(now, rec, r, 0)
	c.q.addMember(c.id, 0)
	c.stats.Refutations++
	c.refreshTopology()
	c.announce(accuser)
}

// mergeState applies an application-state entry received from the network.
func (c *Core) mergeState(now Time, w *codec.StateEntry, gossip bool) {
	owner := ID(w.Owner)
	if owner == 0 {
		return
	}
	if w.Version > maxStateVersion || !c.plausibleGen(w.Generation) {
		c.stats.RefusedImplausible++
		return
	}
	if owner == c.id {
		c.stateAboutSelf(now, w)
		return
	}
	r := c.lookup(owner)
	if r == nil || w.Generation != r.gen || r.state == StateLeft {
		if r == nil || w.Generation > r.gen {
			c.stats.StateEarly++
		}
		return
	}
	old := r.app.get(w.Key)
	if old != nil && old.version >= w.Version {
		return
	}
	var e appEntry
	entryFromWire(&e, w)
	if !c.stateFits(r.app, &e, old) {
		c.stats.RefusedState++
		return
	}
	rec := *r
	rec.app = r.app.with(&e)
	if c.tab.pool != nil {
		rec.app = c.tab.pool.internApp(owner, rec.gen, rec.app)
	}
	if c.refusesState(&rec) {
		c.dropRefused(r, &rec) // see admit.go
		return
	}
	c.put(now, rec, r, 0)
	c.stats.UpdatesReceived++
	c.emitState(&rec, &e)
	if gossip {
		c.q.addState(owner, e.Key(), stateKeyHash(owner, e.Key()))
	}
}

// stateFits checks the per-member bounds for setting e over old.
func (c *Core) stateFits(a *appState, e, old *appEntry) bool {
	keys := 0
	bytes := 0
	if a != nil {
		keys = len(a.entries)
		bytes = a.bytes
	}
	if old == nil {
		keys++
	} else if !old.deleted {
		bytes -= int(old.keyLen) + int(old.valLen)
	}
	if !e.deleted {
		bytes += int(e.keyLen) + int(e.valLen)
	}
	return keys <= c.cfg.MaxStateKeys && bytes <= c.cfg.MaxStateBytes
}

func (c *Core) emitState(rec *record, e *appEntry) {
	c.emit(Event{
		Type:    EventState,
		Member:  rec.member(),
		Key:     e.Key(),
		Value:   e.Value(),
		Version: e.version,
		Deleted: e.deleted,
	})
}
