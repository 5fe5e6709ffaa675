package engine

import "time"

// rejoinState: a node that learns it was declared dead does not refute at
// once. It first pings RejoinProbes random members and refutes only if every
// one answers in time; otherwise it waits and tries again. The wait doubles,
// up to RejoinBackoffMax, when two or more probes of a try failed; when only
// one did (of three or more), it stays as it was: on a healthy link with 1%
// loss a try of five probes loses one about one time in ten, and doubling
// then left a few nodes of every healed partition out for ten seconds. A
// node behind a lossy link loses several probes of nearly every try, so it
// stays removed instead of flapping.
type rejoinState struct {
	active   bool
	inFlight bool
	deadInc  uint32
	next     Time
	backoff  time.Duration
	seqs     [32]uint32
	need     int
	answered int
	failed   int
}

func (c *Core) beginRejoin(now Time, inc uint32) {
	if inc > c.rejoin.deadInc || !c.rejoin.active {
		c.rejoin.deadInc = inc
	}
	if c.rejoin.active {
		return
	}
	c.rejoin.active = true
	c.rejoin.backoff = c.cfg.HeartbeatInterval
	c.rejoin.next = now
	c.emit(Event{Type: EventSelfDead, Member: c.selfRecord().member()})
}

func (c *Core) rejoinTick(now Time) {
	rj := &c.rejoin
	if !rj.active || rj.inFlight || now < rj.next {
		return
	}
	want := c.cfg.RejoinProbes
	if want > len(rj.seqs) {
		want = len(rj.seqs)
	}
	var chosen [32]peer
	n := 0
	for try := 0; n < want && try < 4*want; try++ {
		r := c.tab.randomLive(c.rng, func(r *record) bool { return r.id == c.id })
		if r == nil {
			break
		}
		if containsPeer(chosen[:n], r.id) {
			continue
		}
		chosen[n] = peer{r.id, r.addr()}
		n++
	}
	if n == 0 {
		c.rejoined(now)
		return
	}
	rj.inFlight, rj.need, rj.answered, rj.failed = true, n, 0, 0
	for i := 0; i < n; i++ {
		r := c.lookup(chosen[i].id)
		rj.seqs[i] = c.startProbe(now, r, probeRejoin)
	}
}

func (c *Core) rejoinAttempt(seq uint32) bool {
	for _, s := range c.rejoin.seqs[:c.rejoin.need] {
		if s == seq {
			return true
		}
	}
	return false
}

func (c *Core) rejoinAnswered(now Time, seq uint32) {
	rj := &c.rejoin
	if !rj.active || !rj.inFlight || !c.rejoinAttempt(seq) {
		return
	}
	rj.answered++
	c.rejoinSettle(now)
}

func (c *Core) rejoinFailed(now Time, seq uint32) {
	rj := &c.rejoin
	if !rj.active || !rj.inFlight || !c.rejoinAttempt(seq) {
		return
	}
	rj.failed++
	c.rejoinSettle(now)
}

// rejoinSettle ends a try once its outcome is known: every probe answered,
// two failed, or all done with one failed.
func (c *Core) rejoinSettle(now Time) {
	rj := &c.rejoin
	if rj.answered == rj.need {
		c.rejoined(now)
		return
	}
	oneMiss := rj.failed == 1 && rj.need >= 3
	if rj.failed == 0 || oneMiss && rj.answered+rj.failed < rj.need {
		return
	}
	rj.inFlight = false
	c.dropRejoinProbes()
	rj.next = now.Add(rj.backoff + c.jitter(rj.backoff/2))
	if oneMiss {
		return
	}
	if rj.backoff *= 2; rj.backoff > c.cfg.RejoinBackoffMax {
		rj.backoff = c.cfg.RejoinBackoffMax
	}
}

func (c *Core) dropRejoinProbes() {
	for i := 0; i < len(c.probes); {
		if c.probes[i].purpose == probeRejoin {
			c.removeProbe(i)
			continue
		}
		i++
	}
}

// rejoined refutes the death: the node proved it reaches the cluster.
func (c *Core) rejoined(now Time) {
	inc := c.rejoin.deadInc
	if c.inc > inc {
		inc = c.inc
	}
	c.dropRejoinProbes()
	c.rejoin = rejoinState{}
	c.refute(now, inc, 0)
	c.emit(Event{Type: EventSelfAlive, Member: c.selfRecord().member()})
}
