package engine

import (
	"container/heap"
	"time"

	"github.com/hearsay-io/hearsay/codec"
	"github.com/hearsay-io/hearsay/detector"
)

// suspicion is this node's timer on a suspect member: it declares the member
// dead when the timer expires without a refutation. The timer starts at
// Suspicion.Max(N) and shrinks toward Suspicion.Min(N) as independent
// witnesses confirm (Lifeguard).
type suspicion struct {
	s    detector.Suspicion
	gen  uint64
	inc  uint32
	ver  uint64 // of this timer's live heap entry, unique in the core
	mine bool   // this node accused the member itself
	// checked is set once this node, which only heard of the suspicion,
	// has pinged the suspect itself at the timer's end (see
	// expireSuspicions).
	checked bool
	// overdue is set once this node, which only heard of the suspicion,
	// has held it past the time the accusers' verdict should have
	// reached it (see pullOverdue).
	overdue bool
	// heard is when this node last heard from the suspect first-hand: a
	// heartbeat as its observer, or any datagram from its address.
	heard Time
	// minedAt is when this node, which heard of the suspicion, confirmed
	// it by a failed probe of its own; zero otherwise.
	minedAt Time
	// slow is the smoothed round trip this node measured to the suspect
	// when the suspicion began; zero for a member never measured.
	slow time.Duration
	// wver is the version of the watch's live heap entry (watch.go), 0
	// when the suspect is not watched; w is what the watch did.
	wver uint64
	w    watch
}

type suspAt struct {
	at  Time
	id  ID
	ver uint64
}

func (s suspAt) due() Time { return s.at }

type suspHeap = dueHeap[suspAt]

func (c *Core) startSuspicion(now Time, r *record, witness ID) {
	s := c.susp[r.id]
	if s == nil {
		s = &suspicion{}
		c.susp[r.id] = s
	}
	s.ver = c.nextSuspVer()
	s.gen, s.inc = r.gen, r.inc
	s.mine = witness == c.id
	s.heard, s.minedAt, s.checked, s.overdue = 0, 0, false, false
	s.slow, _ = c.RTT(r.id)
	s.wver, s.w = 0, watch{}
	s.s.Start(now, c.tab.live, uint64(witness), c.suspicionConfig())
	heap.Push(&c.sheap, suspAt{at: c.suspicionDeadline(s), id: r.id, ver: s.ver})
	if !s.mine {
		c.watchSuspect(now, r.id, witness, s)
	}
}

// nextSuspVer numbers a new heap entry of a suspicion timer. Numbers are
// unique in the core, not per suspicion: a suspicion ended (refuted,
// declared) and begun again for the same member is a new value, and a
// number reused by it would let an entry of the old timer, still in the
// heap, fire the new one early.
func (c *Core) nextSuspVer() uint64 {
	c.suspVer++
	return c.suspVer
}

// suspicionDeadline is when this node's timer on s runs out. A node that
// accused the suspect, or confirmed the accusation, declares it dead when
// the Lifeguard timer runs out (Max shrinking toward Min as witnesses
// confirm): it probed the suspect itself. A node that only heard of the
// suspicion waits the full Max: the accusers' declaration normally comes
// long before, and a suspect that answers its observers slowly but surely
// (a slow link, see expireSuspicions) has the time to refute.
//
// An accuser's deadline is never sooner than Min plus the smoothed round
// trip it measured to the suspect when the suspicion began: the message
// telling a slow suspect of the suspicion and its refutation each take half
// such a round trip, and a timer that ignores them declares a slow member
// dead while its refutation is on the way. A crashed member answered as
// fast as any, so this costs its detection nothing. (The smoothed round
// trip, not srtt + 4·rttvar as probeTimeout uses: the variance term of
// members measured a few times delayed every crash's detection, 9.41 s
// instead of 8.14 s for every crash of TestMassCrash to be known.)
func (c *Core) suspicionDeadline(s *suspicion) Time {
	if s.mine {
		lo := c.suspicionConfig().Min(c.tab.live)
		d := max(s.s.Deadline(), s.s.StartTime().Add(lo+s.slow))
		if s.minedAt != 0 {
			d = max(d, s.minedAt.Add(lo+s.slow))
		}
		return d
	}
	sc := c.suspicionConfig()
	if !s.overdue {
		return s.s.StartTime().Add(min(c.verdictDue(sc), sc.Max(c.tab.live)))
	}
	return s.s.StartTime().Add(sc.Max(c.tab.live))
}

// verdictDue is how long after hearing of a suspicion this node may
// expect its accusers' verdict, a death or the suspect's refutation: the
// accusers declare the death Min after they began (the suspicion reached
// this node after that), and a rumour is passed on by each holder for
// retransmits gossip rounds, half of which are allowed for it to arrive.
// Past it, the verdict was most likely lost on its way here: in a mass
// crash of 900 of 3,000 nodes, one survivor learned of one crash by
// anti-entropy 2.5 s after every other had (TestMassCrash3000), while it
// held the suspicion on hearsay. See pullOverdue.
func (c *Core) verdictDue(sc detector.SuspicionConfig) time.Duration {
	n := c.tab.live
	return sc.Min(n) + time.Duration(c.cfg.retransmits(n))*c.cfg.GossipInterval/2
}

// accused reports whether this node accused id, or confirmed the
// accusation by a probe of its own.
func (c *Core) accused(id ID) bool {
	s := c.susp[id]
	return s != nil && s.mine
}

// heardSince reports whether this node, which holds id suspect, heard from
// it first-hand at or after t.
func (c *Core) heardSince(id ID, t Time) bool {
	s := c.susp[id]
	return s != nil && s.heard != 0 && s.heard >= t
}

// heardFrom notes first-hand evidence that id is running: a heartbeat from
// it, or a datagram from its address.
func (c *Core) heardFrom(now Time, id ID) {
	if s := c.susp[id]; s != nil {
		s.heard = now
		c.dq.touch(id) // a brief doubt of it is settled
	}
}

// suspicionConfig is Config.Suspicion with its timeouts stretched by the
// loss this node sees (1 + 4p at loss p): rumours, refutations among them,
// take longer to reach everyone when datagrams are lost, and a suspect must
// have the time to refute.
func (c *Core) suspicionConfig() detector.SuspicionConfig {
	sc := c.cfg.Suspicion
	if p := c.uniformLoss(); p > 0.02 {
		sc.MinBase = time.Duration(float64(sc.MinBase) * (1 + 4*min(p, 0.5)))
	}
	return sc
}

// confirm counts witness as another independent accuser of id.
func (c *Core) confirm(now Time, id, witness ID) {
	s := c.susp[id]
	if s == nil || witness == 0 {
		return
	}
	if witness == c.id {
		s.mine = true
	}
	if s.s.Confirm(uint64(witness)) || witness == c.id {
		s.ver = c.nextSuspVer()
		heap.Push(&c.sheap, suspAt{at: c.suspicionDeadline(s), id: id, ver: s.ver})
	}
}

func (c *Core) cancelSuspicion(id ID) {
	delete(c.susp, id)
}

// expireSuspicions declares dead every suspect whose timer ran out.
func (c *Core) expireSuspicions(now Time) {
	for len(c.sheap) > 0 && c.sheap[0].at <= now {
		e := heap.Pop(&c.sheap).(suspAt)
		s := c.susp[e.id]
		if s == nil || s.ver != e.ver {
			continue
		}
		r := c.lookup(e.id)
		if r == nil || r.state != StateSuspect || r.gen != s.gen || r.inc != s.inc {
			delete(c.susp, e.id)
			continue
		}
		if d := c.suspicionDeadline(s); s.mine && d > now {
			// Min stretches with the loss this node sees now
			// (suspicionConfig), not with what it saw when the timer
			// was set: a loss that began with the suspicion reads as
			// none at first. With 30% loss begun as 50 of 1,000 nodes
			// turned slow (0.5 to 2 s each way), an accuser set its
			// timer reading no loss and declared a slow member dead at
			// its end, reading 0.26 then, with a Min of 4.1 s.
			s.ver = c.nextSuspVer()
			heap.Push(&c.sheap, suspAt{at: d, id: e.id, ver: s.ver})
			continue
		}
		if !s.mine && !s.overdue {
			// The accusers' verdict, death or refutation, is overdue
			// here: ask a peer for it (pullOverdue), and wait the rest
			// of Max as before.
			s.overdue = true
			s.ver = c.nextSuspVer()
			c.pullOverdue(now)
			heap.Push(&c.sheap, suspAt{at: c.suspicionDeadline(s), id: e.id, ver: s.ver})
			continue
		}
		if s.heard != 0 && now.Sub(s.heard) < 2*c.cfg.HeartbeatInterval {
			// We heard from the suspect in the last two periods: it runs,
			// slowly or after a blip. Remind it (it refutes once it hears)
			// and look again one Min later; a suspect that goes quiet, or
			// that only gets a datagram through now and then (a flaky
			// link), runs out at a later look.
			s.ver = c.nextSuspVer()
			c.tellVerdict(now, r.addr(), r)
			heap.Push(&c.sheap, suspAt{at: now.Add(c.suspicionConfig().Min(c.tab.live)), id: e.id, ver: s.ver})
			c.stats.SuspicionsHeld++
			continue
		}
		if !s.mine && !s.checked {
			// We only heard of this suspicion. Before declaring death on
			// hearsay, ping the suspect once with the suspicion attached:
			// a live suspect that missed the rumour refutes in its ack,
			// and a refutation still spreading toward us arrives with
			// it. The timer fires for good if nothing at all comes from
			// the suspect within the longest round trip a slow member is
			// allowed (maxSlowRTT heartbeat intervals): this node never
			// measured the suspect, and a slow one's answer, whether the
			// ack, a refutation or any datagram, is what is waited for
			// (a late datagram counts as heard, above). The wait is
			// rare: a crashed member's death reaches hearsay holders
			// from its accusers long before Max.
			s.checked = true
			s.ver = c.nextSuspVer()
			c.startProbe(now, r, probeCheck)
			heap.Push(&c.sheap, suspAt{at: now.Add(max(c.probeTimeout(r), maxSlowRTT*c.cfg.HeartbeatInterval)), id: e.id, ver: s.ver})
			continue
		}
		delete(c.susp, e.id)
		rec := *r
		rec.state = StateDead
		c.put(now, rec, r, c.id)
		c.q.addMember(e.id, c.id)
		c.stats.Deaths++
	}
	// Drop stale heap entries left by confirmations and cancellations.
	if len(c.sheap) > 64 && len(c.sheap) > 4*len(c.susp) {
		live := c.sheap[:0]
		for _, e := range c.sheap {
			if s := c.susp[e.id]; s != nil && s.ver == e.ver {
				live = append(live, e)
			}
		}
		c.sheap = live
		heap.Init(&c.sheap)
	}
}

// accuse suspects the target of a failed probe: it gossips the suspicion
// and tells the suspect (so that it can refute) and the suspect's other
// observers (so that they can confirm).
func (c *Core) accuse(now Time, p *probe) {
	r := c.lookup(p.target)
	if r == nil || !r.live() || r.gen != p.gen || r.inc != p.inc {
		return // gone, or refuted while we probed
	}
	c.stats.Suspicions++
	if r.state == StateAlive {
		rec := *r
		rec.state = StateSuspect
		c.put(now, rec, r, c.id)
		r = c.lookup(p.target)
	} else {
		if s := c.susp[r.id]; s != nil && !s.mine {
			// A probe times out on a member that turned slow as on a
			// dead one, and the round trip this node measured before
			// says nothing of the member's links now. The suspect gets a
			// whole Min from this probe to refute, not what is left of a
			// timer that began before it: the message telling it of the
			// suspicion and its refutation each take a slow link's time.
			// A confirmer's death is rarely the first: the accuser's own
			// timer runs Min from the accusation. Traced twice: in the
			// nemesis mix at 1,000 nodes (seed 2), a node took a member
			// that had just turned slow on as a subject and declared it
			// dead 0.12 s after its probe failed, its refutation on the
			// way; with 30% loss begun as 50 of 1,000 nodes turned slow
			// (0.5 to 2 s each way), a node whose round trip to a slow
			// member was measured 3 s earlier confirmed the suspicion
			// 1.4 s after hearing of it and declared the member dead
			// 0.63 s later, 0.7 s after the member refuted.
			s.minedAt = now
		}
		c.confirm(now, p.target, c.id)
	}
	c.q.addMember(p.target, c.id)
	var m codec.Member
	c.wire(r, &m, c.id)
	tell := func(to peer) {
		c.begin(codec.MsgGossip)
		c.bld.AddMember(&m)
		c.piggyback()
		c.aim(to.addr, to.id)
		c.send(to.addr, codec.MsgGossip)
	}
	tell(peer{r.id, r.addr()})
	var obs [16]peer
	for _, o := range c.observersOf(r, obs[:0]) {
		if o.id != c.id {
			tell(o)
		}
	}
}

// remind pings a suspect we accused, with the suspicion attached, at most
// once per probe timeout, so that a suspect that missed the first message
// can still refute before the timer runs out.
func (c *Core) remind(now Time, m *monitor, r *record) {
	if now < m.quietUntil {
		return
	}
	m.quietUntil = now.Add(c.cfg.ProbeTimeout)
	c.ping(r.addr(), c.newSeq(), r.id, r)
}

// observersOf returns the members that watch r: the live members that
// follow it on the monitoring ring up to its Observers alive ones. Suspects
// are passed over in the count, as refreshTopology passes them over, so
// that when r's observers failed with it (a mass crash) the members that
// took r on in their place hear of the accusation and can confirm it; the
// suspects are told too, since they may still run.
func (c *Core) observersOf(r *record, dst []peer) []peer {
	k := c.cfg.Observers
	alive := 0
	c.tab.walk(r.pos, true, func(o *record) bool {
		if o.id != r.id && o.live() {
			dst = append(dst, peer{o.id, o.addr()})
			if o.state == StateAlive {
				alive++
			}
		}
		return alive < k && len(dst) < cap(dst)
	})
	return dst
}
