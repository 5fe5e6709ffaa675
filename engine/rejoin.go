package engine

import (
	"math"
	"slices"
	"time"
)

// rejoinState: a node that learns it was declared dead does not refute at
// once. It first proves that its links are good: each try sends one ping to
// each of RejoinProbes random live members (repeating members in a cluster
// smaller than that) and refutes when at most one in eight of them goes
// unanswered, or more when the members that answer report that loss on
// their own links too (rejoinMisses). A try that fails doubles the wait
// before the next, up to RejoinBackoffMax; a member held dead that talks
// to the node cuts a wait short (heal.go), as a partition that healed
// does. Meanwhile the node refutes suspicions as it would otherwise
// (aboutSelf): only its death waits for the proof.
//
// The count is what tells a bad link from a blip. A node back from an
// outage, with 1% loss on its links, loses three or more round trips of 16
// about one try in 270; a gray node losing half its datagrams each way
// answers a round trip one time in four and passes a try about once in
// four million, so it stays removed instead of flapping, while a node
// whose links recovered comes back at its next try.
//
// A node behind a one-way cut reaches some members not at all and the
// others well; its first round fails. When at least half of its pings were
// answered, a second round pings the members that answered again, and
// passes with at most one in eight of those unanswered: a consistent cut,
// not a bad link. A gray node answers half of a first round about one
// time in forty, and then all but one of a second about one time in 2,600.
type rejoinState struct {
	active   bool
	inFlight bool
	round    int // 1, or 2 for the second round of a try
	deadInc  uint32
	next     Time
	backoff  time.Duration
	seqs     [maxRejoinProbes]uint32
	peers    [maxRejoinProbes]peer
	ok       [maxRejoinProbes]bool
	loss     [maxRejoinProbes]uint16 // the answers' loss reports (codec.Ack.Loss)
	need     int
	answered int
	failed   int
	hastened Time // when a wait was last cut short by deadTalks (heal.go)
	verdict  Time // when a wait was last cut short by a verdict (onVerdict)
}

// maxRejoinProbes bounds Config.RejoinProbes.
const maxRejoinProbes = 64

// rejoinMisses is how many of a try's n pings may go unanswered: one in
// eight, or, when the loss is the network's (rejoinLoss), as many as that
// loss leaves unanswered but for odds of rejoinOdds. A node cut off from a
// one-way cut's other side is declared dead there at the heal and must
// rejoin; at 10% loss on every link one in eight passed about half of its
// tries, and the doubling backoff left about 2% of such nodes dead after
// 40 s (300 nodes, nemesis-one-way, seed 2).
func (c *Core) rejoinMisses(n int) int {
	strict := n / 8
	p, ok := c.rejoinLoss()
	if !ok {
		return strict
	}
	return max(strict, binomialTail(n, 1-(1-p)*(1-p), rejoinOdds))
}

// rejoinLoss returns the loss a rejoin forgives, and false when it keeps
// the strict count. The members that answer report the loss they see
// (codec.Ack.Loss): loss that every member sees is the network's, and a
// node should not be kept out for it, while a gray node's loss is its own
// links' and the members report little. So the forgiven loss is the lower
// quartile of the answers' reports (reported), up to rejoinMaxLoss, unless
// this node's links deliver less than rejoinGrayShare of what even the
// upper quartile's deliver (a gray node at 50% loss beside 30% on every
// link reads about 0.65 against their 0.3). Both sides use lossSeen,
// which follows a change of loss within a few periods; comparing with
// the upper quartile keeps a heal, which raises every node's estimate for
// a few periods (its monitors count the cut's silence as lost periods),
// from making a node look gray.
//
// This node's own estimate alone could not tell: at 30% loss on every
// link it read 0.40 to 0.43 around a heal (the cut's silences count), or
// had too few heartbeats to tell (a node behind a one-way cut hears few),
// and a rejoin that kept the strict count (one miss in eight, which a
// round trip losing half its datagrams never passes) withheld the node's
// refutations while its own side's suspicions of it ran out: 497 false
// deaths of one node in nemesis-one-way at 30% loss, seed 1. With fewer
// than rejoinReports reports (a try that few answered, or an older
// cluster), the node's long estimate is used as long as it is at most
// rejoinMaxLoss, as before the reports: its lossSeen there (the monitors'
// median, stale at a node the cluster removed) let flaky nodes back
// (TestFlakyRemovedEverySeed, 100 nodes: 8 seeds of 30 failed).
func (c *Core) rejoinLoss() (float64, bool) {
	self, selfOK := c.lossSeen()
	net, hi, netOK := c.rejoin.reported()
	switch {
	case !netOK:
		long, ok := c.longLoss.rate()
		return long, ok && long <= rejoinMaxLoss
	case selfOK && 1-self < (1-hi)*rejoinGrayShare:
		return 0, false
	}
	return min(net, rejoinMaxLoss), true
}

// reported returns the lower and upper quartiles of the loss reports of
// the current round's answers, and whether at least rejoinReports answers
// carried one.
// One report is not the network's word: a flaky node's try answered once,
// by a member reporting 0.70 (one whose subjects were mostly flaky nodes),
// forgave 15 misses of 16 and brought the flaky node back (nemesis-flaky,
// 200 nodes: 4 alive-again events). A few members that see more loss than
// the rest do not move the lower quartile.
func (rj *rejoinState) reported() (float64, float64, bool) {
	var ls [maxRejoinProbes]float64
	n := 0
	for i := range rj.need {
		if p, ok := reportedLoss(rj.loss[i]); ok && rj.ok[i] {
			ls[n] = p
			n++
		}
	}
	if n < rejoinReports {
		return 0, 0, false
	}
	slices.Sort(ls[:n])
	return ls[(n-1)/4], ls[n-1-(n-1)/4], true
}

// rejoinMaxLoss is the most loss on every link that a rejoin forgives (see
// rejoinMisses): above 30% on every link (the most the uniform
// loss asks for; estimates read 0.35-0.43 there around a heal) and below a
// gray node's 50%. rejoinGrayShare is the least share of the members'
// delivery this node's links may show for its loss to count as the
// network's (rejoinLoss). rejoinOdds is the chance a node at the loss it
// sees may have of failing a try for loss alone.
const (
	rejoinReports   = 3
	rejoinMaxLoss   = 0.42
	rejoinGrayShare = 0.65
	rejoinOdds      = 0.01
)

// binomialTail returns the least m with P(X > m) ≤ odds for X the number of
// failures in n trials that fail with probability f each.
func binomialTail(n int, f, odds float64) int {
	if f <= 0 {
		return 0
	}
	if f >= 1 {
		return n
	}
	// P(X = k) by the recurrence from P(X = 0) = (1-f)^n.
	pk := math.Pow(1-f, float64(n))
	cum := pk
	for m := 0; m < n; m++ {
		if 1-cum <= odds {
			return m
		}
		pk *= float64(n-m) / float64(m+1) * f / (1 - f)
		cum += pk
	}
	return n
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
	want := min(c.cfg.RejoinProbes, len(rj.seqs))
	var chosen [maxRejoinProbes]peer
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
	// A cluster with fewer live members than pings: ping them again, so
	// that the try measures as many round trips.
	for i := n; i < want; i++ {
		chosen[i] = chosen[i%n]
	}
	rj.round = 1
	c.rejoinPing(now, chosen[:want])
}

// rejoinPing starts a round of the rejoin check: one ping to each peer.
func (c *Core) rejoinPing(now Time, peers []peer) {
	rj := &c.rejoin
	rj.inFlight, rj.need, rj.answered, rj.failed = true, len(peers), 0, 0
	for i, p := range peers {
		rj.peers[i], rj.ok[i], rj.loss[i] = p, false, 0
		rj.seqs[i] = 0
		if r := c.lookup(p.id); r != nil {
			rj.seqs[i] = c.startProbe(now, r, probeRejoin)
		}
	}
}

// rejoinAttempt returns the index of the current round's ping seq, or -1.
func (c *Core) rejoinAttempt(seq uint32) int {
	for i, s := range c.rejoin.seqs[:c.rejoin.need] {
		if s == seq && seq != 0 {
			return i
		}
	}
	return -1
}

func (c *Core) rejoinAnswered(now Time, seq uint32, loss uint16) {
	rj := &c.rejoin
	i := c.rejoinAttempt(seq)
	if !rj.active || !rj.inFlight || i < 0 {
		return
	}
	rj.ok[i], rj.loss[i] = true, loss
	rj.answered++
	c.rejoinSettle(now)
}

func (c *Core) rejoinFailed(now Time, seq uint32) {
	rj := &c.rejoin
	if !rj.active || !rj.inFlight || c.rejoinAttempt(seq) < 0 {
		return
	}
	rj.failed++
	c.rejoinSettle(now)
}

// rejoinSettle ends a try once its outcome is known: enough answered, or
// too many failed.
//
// A try passes only once rejoinReports members answered (all of them in a
// round of fewer pings), however much loss it forgives: the forgiven loss
// is read from the answers' reports, and before there are enough of them
// from this node's long estimate, which lags its links. A flaky node at
// 80% loss whose long estimate read 0.416 (rising) forgave 15 misses of 16
// and passed at its first answer, before a second could show its loss to
// be its own (TestFlakyRemovedEverySeed, seed 14, after brief doubts' pings
// went in copies changed its draw); at 80% loss each way three answers of
// sixteen come about one try in forty, and their reports then put the
// node through the gray test (rejoinLoss).
func (c *Core) rejoinSettle(now Time) {
	rj := &c.rejoin
	allowed := c.rejoinMisses(rj.need)
	pending := rj.need - rj.answered - rj.failed
	if rj.answered >= rj.need-allowed && rj.answered >= min(rejoinReports, rj.need) {
		c.rejoined(now)
		return
	}
	if rj.failed <= allowed && pending > 0 {
		return
	}
	if rj.round == 1 {
		// Too many lost for one round: a bad link, or a cut. Wait for the
		// round to end while half of it may still answer.
		if pending > 0 && 2*(rj.answered+pending) >= rj.need {
			return
		}
		if 2*rj.answered >= rj.need {
			var again [maxRejoinProbes]peer
			n := 0
			for i := range rj.need {
				if rj.ok[i] {
					again[n] = rj.peers[i]
					n++
				}
			}
			rj.round = 2
			c.rejoinPing(now, again[:n])
			return
		}
	}
	rj.inFlight = false
	c.dropRejoinProbes()
	rj.next = now.Add(rj.backoff + c.jitter(rj.backoff/2))
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
	c.refute(now, inc, 0, true)
	c.emit(Event{Type: EventSelfAlive, Member: c.selfRecord().member()})
}
