package engine

import (
	"math"
	"slices"
	"time"

	"github.com/hearsay-io/hearsay/codec"
)

// rttWindow keeps a node's latest round trips to anyone, so that a node
// whose own datagrams are slow (an overloaded host, a congested uplink)
// waits long enough for answers from members it never measured: the
// median of the last few, whoever answered, is what its links add.
type rttWindow struct {
	last [9]time.Duration
	n    int // samples kept, up to len(last)
	next int
}

func (w *rttWindow) add(d time.Duration) {
	w.last[w.next] = d
	w.next = (w.next + 1) % len(w.last)
	w.n = min(w.n+1, len(w.last))
}

// max returns the slowest of the samples kept, 0 without any.
func (w *rttWindow) max() time.Duration {
	var d time.Duration
	for _, v := range w.last[:w.n] {
		d = max(d, v)
	}
	return d
}

// median returns the median of the samples kept, 0 without any.
func (w *rttWindow) median() time.Duration {
	if w.n == 0 {
		return 0
	}
	s := w.last
	v := s[:w.n]
	slices.Sort(v)
	return v[w.n/2]
}

// Loss-aware detection. Each observer counts the heartbeats its subject
// numbered but it never received (the counter's gaps) into an estimate of
// the loss on that link (an exponentially weighted average over about
// lossMemory heartbeats), and uses it three ways:
//
//   - The detector records the per-period interval of a heartbeat that
//     follows lost ones (detector.Phi.HeartbeatAfter), so loss does not
//     widen its history and detection is as fast as before once loss ends.
//   - A subject is probed only after as many silent periods as make a
//     silence that long from loss alone unlikely (silentPeriods: the loss
//     rate to that power at most silenceOdds), and not before its detector
//     crosses its threshold either.
//   - A probe sends as many pings, and asks as many helpers, as make it
//     unlikely that all of them are lost (probePings, probeHelpers).
//
// The same estimate, averaged over a node's subjects, tells the node how
// good its own links are (linkLoss): a node that misses half its subjects'
// heartbeats stops refuting repeated suspicions (see MaxRefutations).
//
// The local health score (Lifeguard) rises with each sign that this node is
// the slow one and falls with each answered probe; it also decays by one
// every period once healthDecay has passed without a sign, so that a blip
// that ended leaves no lasting stretch of the node's timeouts.

const (
	lossMemory  = 8    // heartbeat periods the loss estimate mostly remembers
	silenceOdds = 0.01 // tolerated odds that loss alone explains a silence
	probeOdds   = 0.05 // tolerated odds that loss alone defeats a probe's pings
	healthDecay = 4    // periods without a sign of trouble before health decays
)

// noteBeats folds a heartbeat that arrived after missed lost ones into the
// monitor's loss estimate: the lost fraction of the periods seen, each
// period's weight decaying by 1/lossMemory per later period, so the
// estimate follows a change within a few lossMemory periods and is exact
// (not biased toward zero) from the first heartbeats on.
func (m *monitor) noteBeats(missed int) {
	periods := lossGap(missed) + 1
	m.lostW, m.seenW = decayCount(m.lostW, m.seenW, periods)
	m.loss = m.lostW / m.seenW
	m.samples += periods
}

// lossGap is how many of missed heartbeats in a row the short estimates
// count as lost: all of them up to lossMemory, none past it, as the long
// estimate counts no more than lossMemory of them. A silence longer than
// that is an outage, a cut, or a subject that held this node dead (or out
// of its observers) and sent its heartbeats elsewhere, which the detector
// and the suspicions deal with; counted as loss, it reads as links far
// worse than the network's right after a cut heals, when a rejoin
// compares this node's loss with the members' (rejoinLoss). At 30% loss
// begun with a 20 s one-way cut (300 nodes, seeds 9 to 20) every node saw
// every node alive within 10 s of the heal at 11 seeds of 12 with this,
// 10 without.
func lossGap(missed int) int {
	if missed > lossMemory {
		return 0
	}
	return missed
}

// countedAfter is a monitor's counted bits (monitor.counted) once a
// heartbeat step counters above the last has arrived, lost of those
// between them counted lost.
func countedAfter(counted, step uint64, lost int) uint64 {
	if step >= 64 {
		counted = 0
	} else {
		counted <<= step
	}
	for i := 1; i <= lost && i < 64; i++ {
		counted |= 1 << i
	}
	return counted
}

// lateBeat takes out of the loss counts a heartbeat of m's subject, back
// counters below the highest, that was counted lost and arrived after
// all: reordered, not lost. Slow links reorder: at 0.5 to 2 s of delay
// each way a heartbeat overtakes the one before about one time in 18, and
// counted lost, that read as loss on top of the link's own; with 50 of
// 1,000 nodes slow so and 30% loss on every link, the slow nodes' reading
// of their own links (linkLoss, which decides whether a node still
// refutes) had a median of 0.371 30 s in, 0.337 with this. Only a heartbeat
// still counted lost is taken out, and once: a duplicate or a replay of
// one that arrived changes nothing, and one captured and played back can
// at worst undo a loss that happened.
func (c *Core) lateBeat(m *monitor, back uint64) {
	if back == 0 || back >= 64 || m.counted&(1<<back) == 0 {
		return
	}
	m.counted &^= 1 << back
	// Counted when the next heartbeat after it came, and decayed since.
	w := math.Pow(1-1.0/lossMemory, float64(back-1))
	m.lostW = max(0, m.lostW-w)
	if m.seenW > 0 {
		m.loss = m.lostW / m.seenW
	}
	c.lostW = max(0, c.lostW-w)
	c.longLoss.lost = max(0, c.longLoss.lost-1)
}

// decayCount adds periods seen, all but the last lost, to decayed counts.
func decayCount(lost, seen float64, periods int) (float64, float64) {
	const keep = 1 - 1.0/lossMemory
	d := math.Pow(keep, float64(periods))
	return lost*d + float64(periods-1), seen*d + float64(periods)
}

// noteNodeBeats folds the same into the node's own estimate over all its
// subjects, which outlives the monitors (the topology changes).
func (c *Core) noteNodeBeats(missed int) {
	periods := lossGap(missed) + 1
	// The node hears from about Observers subjects a period: its counts
	// decay per subject period, so over a few lossMemory periods too.
	c.lostW, c.seenW = decayCount(c.lostW, c.seenW, periods)
	// A silence longer than lossMemory periods is an outage or a cut, not
	// loss: the long estimate counts no more of it.
	c.longLoss.add(min(missed, lossMemory) + 1)
}

// longMemory is how many subject periods the node's long loss estimate
// mostly remembers. The estimates above follow a change within seconds,
// but eight periods are few: at 10% loss one reads 0 about four times in
// ten, and a heal, which renews most monitors at once, leaves only such
// estimates. A check that decides a death by counting lost pings needs the
// loss it may meet, not the loss of the last seconds (doubtPings).
const longMemory = 256

// lossCount is a decayed count of heartbeat periods seen and lost.
type lossCount struct{ lost, seen float64 }

func (l *lossCount) add(periods int) {
	d := math.Pow(1-1.0/longMemory, float64(periods))
	l.lost = l.lost*d + float64(periods-1)
	l.seen = l.seen*d + float64(periods)
}

// rate returns the lost fraction and whether enough periods were seen
// to tell.
func (l *lossCount) rate() (float64, bool) {
	if l.seen < longMemory/8 {
		return 0, false
	}
	return l.lost / l.seen, true
}

// lossReport is the loss the node sees (lossSeen) as its acks carry it
// (codec.Ack.Loss): 0 while it has too few periods to tell. A node that
// checks its own links (a rejoin) compares its loss with the members'.
func (c *Core) lossReport() uint16 {
	p, ok := c.lossSeen()
	if !ok {
		return 0
	}
	return 1 + uint16(math.Round(min(max(p, 0), 1)*codec.LossScale))
}

// reportedLoss decodes an ack's loss report, and whether it holds one.
func reportedLoss(v uint16) (float64, bool) {
	if v == 0 {
		return 0, false
	}
	return float64(min(v, codec.LossScale+1)-1) / codec.LossScale, true
}

// nodeLoss is the node's loss estimate over all its subjects' heartbeats.
func (c *Core) nodeLoss() float64 {
	if c.seenW < lossMemory/2 {
		return 0
	}
	return c.lostW / c.seenW
}

// silentPeriods is how many heartbeat periods of silence make loss at rate
// p an unlikely explanation: the least k ≥ 1 with p^k ≤ silenceOdds.
func silentPeriods(p float64) int {
	if p <= silenceOdds {
		return 1
	}
	if p >= 0.9 {
		return 44
	}
	return int(math.Ceil(math.Log(silenceOdds) / math.Log(p)))
}

// probePings is how many pings a probe sends at once when round trips are
// lost at rate 1-(1-p)²: the least r ≥ 1 with that to the r-th at most
// probeOdds, at most 4.
func probePings(p float64) int {
	fail := 1 - (1-p)*(1-p)
	if fail <= probeOdds {
		return 1
	}
	return min(maxProbePings, int(math.Ceil(math.Log(probeOdds)/math.Log(fail))))
}

// maxProbePings bounds probePings.
const maxProbePings = 4

// probeHelpers is how many helpers an indirect probe asks at loss p: the
// configured IndirectProbes, plus one for every 10% of loss, at most 16.
func (c *Core) probeHelpers(p float64) int {
	if c.cfg.IndirectProbes == 0 {
		return 0
	}
	return min(16, c.cfg.IndirectProbes+int(math.Ceil(p*10)))
}

// subjectLoss returns the loss estimate for the link from id, or, when
// this node does not monitor id, the loss on its own links; both from the
// heartbeats received, so that a subject's current silence does not
// delay suspecting it.
func (c *Core) subjectLoss(id ID) float64 {
	own := max(c.meanLoss(false), c.nodeLoss())
	if m := c.monitorOf(id); m != nil && m.samples >= lossMemory/2 {
		return max(m.loss, own)
	}
	return own
}

// lossUnknown is the loss a check assumes on its round trips while this
// node has too few heartbeats to estimate it (checkLoss).
const lossUnknown = 0.1

// checkLoss is the loss a check of a member's liveness (a doubt's pings)
// must expect on its round trips: the most of the node's estimates, the
// long one included, or lossUnknown while that one has too few periods,
// and of what the members that answered it lately report (lossReports).
func (c *Core) checkLoss() float64 {
	long, ok := c.longLoss.rate()
	if !ok {
		long = lossUnknown
	}
	return max(c.meanLoss(false), c.nodeLoss(), long, c.reports.median(c.now, c.reportsFor()))
}

// lossReports keeps the latest loss reports (codec.Ack.Loss) in the acks
// that answered this node's own pings, with when each came.
//
// A node's estimates come from the heartbeats of its few subjects, and one
// node's may read no loss where every other reads plenty: at 10% loss on
// every link (300 nodes, TestOneWayHealUnderLoss, seed 2) one node had
// counted none lost in 94 heartbeats, its long estimate included, while
// the others read 0.03 to 0.26, and at the heal of a one-way cut it took
// a live member's death after three check pings that loss alone defeats
// about once in 150 tries. What the members that answer it see is a check
// on its own: the checks of liveness expect the median of their reports
// when it is higher. A report counts only from an ack that matched one of
// this node's outstanding pings, and the median of many needs most of
// them forged to move; at worst more check pings are sent, within the
// doubts' bounds.
type lossReports struct {
	loss [9]uint16 // codec.Ack.Loss, non-zero
	at   [9]Time
	next int
}

// add keeps report v, received at now, when it holds one.
func (r *lossReports) add(now Time, v uint16) {
	if _, ok := reportedLoss(v); !ok {
		return
	}
	r.loss[r.next], r.at[r.next] = v, now
	r.next = (r.next + 1) % len(r.loss)
}

// minReports is how many recent reports make a median worth taking.
const minReports = 3

// median returns the median of the reports received within maxAge before
// now, 0 with fewer than minReports.
func (r *lossReports) median(now Time, maxAge time.Duration) float64 {
	var v [len(r.loss)]uint16
	n := 0
	for i, l := range r.loss {
		if l != 0 && now.Sub(r.at[i]) <= maxAge {
			v[n] = l
			n++
		}
	}
	if n < minReports {
		return 0
	}
	slices.Sort(v[:n])
	p, _ := reportedLoss(v[n/2])
	return p
}

// reportsFor is how long a loss report counts: lossMemory heartbeat
// periods, as the short estimates remember, so that reports of a loss
// that ended stop counting as soon.
func (c *Core) reportsFor() time.Duration {
	return lossMemory * c.cfg.HeartbeatInterval
}

// repairLoss is the loss the spread of updates must make up for: the
// node's long estimate, or, until it has enough periods, the median of its
// monitors' (uniformLoss). The short estimates swing too much for it: at
// 30% loss on every link they read from 0.15 to 0.6 at the heal of a
// one-way cut (300 nodes), and above rejoinMaxLoss a node takes its own
// links for the fault and spreads no harder (repairShare).
func (c *Core) repairLoss() float64 {
	if long, ok := c.longLoss.rate(); ok {
		return long
	}
	return c.uniformLoss()
}

// linkLoss is the loss this node sees on its own links, its subjects'
// current silences counted as lost: what tells a node its links are bad.
func (c *Core) linkLoss() float64 { return c.meanLoss(true) }

// meanLoss is the mean of the monitors' loss estimates (those with enough
// periods to tell), each counting the periods of its subject's current
// silence as lost when silence is set.
func (c *Core) meanLoss(silence bool) float64 {
	sum, n := 0.0, 0
	for _, m := range c.monitors {
		silent := 0.0
		if last := m.phi.Last(); silence && last != 0 && c.now > last {
			silent = math.Floor(float64(c.now-last) / float64(c.cfg.HeartbeatInterval))
		}
		if m.samples+int(silent) >= lossMemory/2 && m.seenW+silent > 0 {
			sum += (m.lostW + silent) / (m.seenW + silent)
			n++
		}
	}
	if n == 0 {
		return 0
	}
	return sum / float64(n)
}

// uniformLoss is the loss this node sees on most of its links: the median
// of its monitors' estimates (those with enough periods to tell), or its
// estimate over all their heartbeats. A subject whose own link loses far
// more than that (a flaky or gray node) is not waited for longer: its
// silence is its link's fault, not the network's.
func (c *Core) uniformLoss() float64 {
	if p, ok := c.monitorsLoss(); ok {
		return p
	}
	return c.nodeLoss()
}

// monitorsLoss returns the median of the estimates of the monitors with
// enough periods to tell, and whether there is one.
func (c *Core) monitorsLoss() (float64, bool) {
	var ls [16]float64
	n := 0
	for _, m := range c.monitors {
		if m.samples >= lossMemory/2 && n < len(ls) {
			ls[n] = m.loss
			n++
		}
	}
	if n == 0 {
		return 0, false
	}
	slices.Sort(ls[:n])
	return ls[n/2], true
}

// lossSeen is the loss this node sees on most of its links now: its long
// estimate, or the median of its monitors' when that is higher, and
// whether either has enough periods to tell. The long estimate lags a
// change by hundreds of periods: 23 s into 30% loss on every link (a
// one-way cut beside it, 1,000 nodes, the nemesis mix at seed 2) the
// members read 0.04 to 0.06 there, and a rejoin that forgave that much
// loss failed three tries while its node's own side declared it dead. The
// monitors' follow within a few periods.
func (c *Core) lossSeen() (float64, bool) {
	long, ok := c.longLoss.rate()
	if !ok {
		long = 0
	}
	if m, mok := c.monitorsLoss(); mok {
		return max(long, m), true
	}
	return long, ok
}

// quietUntilLoss returns when the subject's silence becomes long enough,
// at the loss the network shows, to probe it.
func (c *Core) quietUntilLoss(m *monitor) Time {
	k := silentPeriods(c.uniformLoss())
	if k <= 1 {
		return 0
	}
	return m.phi.Last().Add(time.Duration(k)*c.cfg.HeartbeatInterval + c.cfg.HeartbeatInterval/2)
}

// checkAt returns when the monitor's subject next needs a look: when its
// detector crosses, and its silence is long enough for the loss it sees,
// and not before quietUntil.
func (c *Core) checkAt(m *monitor) Time {
	cross := m.phi.SuspectAt()
	if m.unanswered {
		// A new subject that did not answer our ping and never sent us
		// a heartbeat: probe it now (helpers check it too before anyone
		// is accused), so that a subject that died with its previous
		// observers is not waited for.
		cross = m.phi.Last()
	}
	return max(cross, c.quietUntilLoss(m), m.quietUntil)
}

// healthFailure raises the local health score.
func (c *Core) healthFailure(now Time) {
	c.health.Failure()
	c.healthAt = now
}

// decayHealth lowers the local health score by one when healthDecay
// periods have passed since the last sign of trouble or decay.
func (c *Core) decayHealth(now Time) {
	if c.health.Score() > 0 && now.Sub(c.healthAt) >= time.Duration(healthDecay)*c.cfg.HeartbeatInterval {
		c.health.Success()
		c.healthAt = now.Add(-time.Duration(healthDecay-1) * c.cfg.HeartbeatInterval)
	}
}

// retransmits is how many times this node sends each update: the
// configured ceil(λ·log₂(N+1)), divided by the share of its datagrams that
// arrive (repairLoss, through repairShare), so that loss does not
// leave members that never heard an update for anti-entropy to find one
// by one. At 30% loss on every link, the refutations of a healed one-way
// cut missed about one member in a hundred without it (300 nodes).
func (c *Core) retransmits() int { return c.cfg.retransmitsAt(c.tab.live, c.repairLoss()) }
