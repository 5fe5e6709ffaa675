package engine

import (
	"container/heap"
	"time"

	"github.com/hearsay-io/hearsay/codec"
)

// Watches. A member this node holds suspect on hearsay (it did not accuse
// nor confirm it) is normally declared dead by its accusers a suspicion
// timeout after they began; the death then reaches this node, which
// doubts it briefly (doubt.go): three pings over one and a half probe
// timeouts. Three pings at 30% loss on each way all fail one time in
// eight, and a live member whose refutation had not reached this node
// when its accusers' death did (the other side of a one-way cut accused
// it) was taken dead: the nemesis mix's one-way cut with 30% loss beside
// it (1,000 nodes, seed 2) made 77 false deaths in its first 8m40s, 76
// of them such. More pings in the doubt delay every crash's spread; so
// they are sent ahead. Half a
// Suspicion.Min after this node heard of the suspicion, if no refutation
// came and the suspect did not talk to it meanwhile, it pings the
// suspect with the suspicion attached, half a probe timeout apart, as
// many times as make losing them all at the loss it sees no likelier
// than watchOdds (watchPings). A live suspect refutes in its answer, or
// answers with the refutation it already made (tellSelf); a crashed one
// answers none, and its death, when it comes, is doubted as before.
//
// The watch does not shorten the doubt: a death taken at once, on the
// watch's unanswered pings, spread more slowly (the doubt passes the
// death on while it runs and queues it afresh when it ends), and the last
// survivor of 300 crashes among 1,000 nodes learned of them 2-3 s later.
// Nor does it start sooner: from a quarter of Suspicion.Min, the same mix
// made 1,001 false deaths (the suspects' refutations had less time to
// spread, and far more watches pinged them).
//
// The watch lives in the suspicion (suspicion.go) and is timed by its own
// heap, so that a mass failure, which gives each node a suspicion for
// every victim, costs a heap operation per ping. Watches are bounded
// (maxWatches heap entries): a suspect not watched is doubted at its
// death as before.
const maxWatches = 512

// watchOdds is the chance a watch of a live suspect may have of losing
// every ping or its answer.
const watchOdds = 1e-5

// watchPings is how many pings a watch sends: as many as make losing them
// all at the loss this node sees no likelier than watchOdds, at least
// doubtPings. Unlike checkLoss, a node with too few heartbeats for its
// long estimate (one that just joined) counts no loss it has not seen.
func (c *Core) watchPings() int {
	long, _ := c.longLoss.rate()
	return pingsAt(max(c.meanLoss(false), c.nodeLoss(), long), watchOdds, doubtPings)
}

// watch is what a watch has done: its pings' sequence (0 until the
// first), and how many went out.
type watch struct {
	seq   uint32
	pings uint8
}

// watchSuspect starts the watch of s, this node's suspicion of id, heard
// of from accuser.
func (c *Core) watchSuspect(now Time, id, accuser ID, s *suspicion) {
	q := &c.watches[0]
	if a := c.lookup(accuser); a == nil || a.state != StateAlive {
		q = &c.watches[1] // see watchQueue
	}
	if len(q.due) >= maxWatches {
		return
	}
	s.wver, s.w = c.nextSuspVer(), watch{}
	heap.Push(&q.due, suspAt{at: now.Add(c.suspicionConfig().Min(c.tab.live) / 2), id: id, ver: s.wver})
	c.stats.Watches++
}

// endWatch ends the watch of id's suspicion, if any.
func (c *Core) endWatch(id ID) {
	if s := c.susp[id]; s != nil {
		s.wver = 0
	}
}

// watchQueue holds the watches due, and the token bucket that bounds their
// pings: a partition makes every node hold every member of the other side
// suspect on hearsay, and watching them all sent 300 pings a second from
// each of 1,000 nodes (a one-way cut at 30% loss), which took live nodes
// dead through the load they made (the mix above, first 8m40s: 499 false
// deaths; at 20 pings a second per queue, 46; at 60, 9; at 120, 6). There
// are two queues, each with its own bucket: watches of suspicions whose
// accuser this node did not hold alive when it heard of them go in the
// second. An accuser this node cannot reach accuses across a cut, the
// false suspicions watches are for; the other side's members that this
// node's own side accuses fill the first queue and do not delay them.
type watchQueue struct {
	due    suspHeap
	tokens float64 // pings it may send now
	at     Time    // when tokens was last brought up to date
	wait   Time    // no ping before then: out of tokens
}

// watchRate and watchBurst are each watch queue's pings a second and
// burst.
const (
	watchRate  = 60
	watchBurst = 60
)

// take takes one of q's pings, reporting false when none is left.
func (q *watchQueue) take(now Time) bool {
	if q.at != 0 {
		q.tokens = min(watchBurst, q.tokens+now.Sub(q.at).Seconds()*watchRate)
	} else {
		q.tokens = watchBurst
	}
	q.at = now
	if q.tokens < 1 {
		q.wait = now.Add(time.Second / watchRate)
		return false
	}
	q.tokens--
	return true
}

// next is when q's earliest ping is due, 0 if none.
func (q *watchQueue) next() Time {
	if len(q.due) == 0 {
		return 0
	}
	return max(q.due[0].at, q.wait)
}

// expireWatches sends the watch pings that are due.
func (c *Core) expireWatches(now Time) {
	need := -1
	for i := range c.watches {
		q := &c.watches[i]
		if now < q.wait {
			continue
		}
		for len(q.due) > 0 && q.due[0].at <= now {
			e := heap.Pop(&q.due).(suspAt)
			s := c.susp[e.id]
			if s == nil || s.wver != e.ver || s.mine || s.heard != 0 {
				continue // over: ended, confirmed by this node, or the suspect talked
			}
			r := c.lookup(e.id)
			if r == nil || r.state != StateSuspect || r.gen != s.gen || r.inc != s.inc {
				continue
			}
			if need < 0 {
				need = c.watchPings()
			}
			if int(s.w.pings) >= need {
				continue // waits for the death
			}
			if !q.take(now) {
				heap.Push(&q.due, e) // it and the rest wait for a token
				break
			}
			seq := s.w.seq
			if seq == 0 {
				seq = c.newSeq()
			}
			if !c.sidePing(r.addr(), seq, r.id, r) { // the suspicion attached
				continue
			}
			s.w.seq = seq
			s.w.pings++
			c.stats.WatchPings++
			heap.Push(&q.due, suspAt{at: now.Add(c.probeTimeout(r) / 2), id: e.id, ver: s.wver})
		}
	}
}

// watchAnswered reports whether the ack a answers a watch's ping. The
// suspect, heard from (fromSender), is watched no more.
func (c *Core) watchAnswered(a *codec.Ack) bool {
	s := c.susp[ID(a.Target)]
	return s != nil && s.w.seq != 0 && s.w.seq == a.Seq
}

// nextWatch is when the earliest watch ping is due, 0 if none.
func (c *Core) nextWatch() Time {
	t := c.watches[0].next()
	if u := c.watches[1].next(); u != 0 && (t == 0 || u < t) {
		t = u
	}
	return t
}
