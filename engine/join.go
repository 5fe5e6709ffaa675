package engine

import (
	"errors"
	"net/netip"
	"slices"
	"time"

	"github.com/hearsay-io/hearsay/codec"
)

// ErrNoSeeds is returned by Join when no seed other than this node's own
// address was given.
var ErrNoSeeds = errors.New("hearsay: no seeds to join through")

// joinState tracks a join: contacting seeds until one answers, then fetching
// the full state shard by shard from the members the answers name.
type joinState struct {
	seeds   []netip.AddrPort
	next    Time
	backoff time.Duration
	replied bool
	done    bool
	pending []int32 // shards still to fetch
	busy    [joinBusyPeers]busyPeer
	// answeredSent is when the latest-sent request that was answered in
	// full was sent, and answeredAt when its answer completed (see
	// joinRefetch).
	answeredSent, answeredAt Time
}

// Join contacts the seeds. The first seed to answer announces this node and
// describes its table; the node then fetches every shard from random
// members, spreading the load. Join returns at once; Joined reports
// completion.
func (c *Core) Join(now Time, seeds []netip.AddrPort) error {
	if c.leave.active {
		return ErrLeft
	}
	if now > c.now {
		c.now = now
	}
	j := &joinState{backoff: c.cfg.IndirectTimeout}
	for _, s := range seeds {
		if s.IsValid() && s != c.addr {
			j.seeds = append(j.seeds, s)
		}
	}
	if len(j.seeds) == 0 {
		return ErrNoSeeds
	}
	c.joining = j
	c.sendJoins(now)
	c.updateDeadline()
	return nil
}

// Joined reports whether the last Join got an answer and fetched the full
// state. It is true for a node that never joined.
func (c *Core) Joined() bool { return c.joining == nil || c.joining.done }

// JoinAnswered reports whether a seed answered the last Join.
func (c *Core) JoinAnswered() bool { return c.joining == nil || c.joining.replied }

func (c *Core) sendJoins(now Time) {
	j := c.joining
	for _, s := range j.seeds {
		c.sendJoin(s)
	}
	j.next = now.Add(j.backoff)
	if j.backoff *= 2; j.backoff > c.cfg.SyncInterval {
		j.backoff = c.cfg.SyncInterval
	}
}

// sendJoin sends a Join to one seed, echoing its token if we hold one.
func (c *Core) sendJoin(to netip.AddrPort) {
	var m codec.Member
	c.selfRecord().wire(&m, 0)
	c.expect(to, codec.MsgJoin)
	c.begin(codec.MsgJoin)
	c.addEcho(to)
	c.bld.AddMember(&m)
	c.send(to, codec.MsgJoin)
}

// retryJoin sends the Join to a seed that answered with a Retry: at once
// with the token, or after the wait the seed asked for.
func (c *Core) retryJoin(now Time, seed netip.AddrPort, wait time.Duration) {
	j := c.joining
	if j == nil || j.replied || c.leave.active {
		return
	}
	c.stats.RetriesFollowed++
	if wait == 0 {
		c.sendJoin(seed)
		return
	}
	if at := now.Add(wait); at > j.next {
		j.next = at
	}
}

// onJoin answers a joiner (whose record applyFacts already merged and
// queued for gossip) with our digests and a few live members to fetch from.
// A joiner whose address is not validated gets a Retry instead, which is
// no larger than its Join and tells it nothing about the cluster.
func (c *Core) onJoin(now Time, from netip.AddrPort, h *codec.Header) {
	if c.leave.active {
		return
	}
	if !c.reply.validated {
		c.sendRetry(from, codec.MsgJoin, 0)
		return
	}
	c.beginTo(codec.MsgJoinReply, from)
	c.bld.AddDigest(codec.Digest{Count: uint32(c.tab.live), Sum: c.tab.root})
	// The groups' digests count records, tombstones included (digests
	// cover live records only): the joiner fetches every group that holds
	// any, so that it holds the tombstones everyone else holds.
	for i := 0; i < 16; i++ {
		s, _ := c.tab.digestAt(1, i)
		c.bld.AddDigest(codec.Digest{Level: 1, Index: uint16(i), Count: c.tab.recordsAt(1, i), Sum: s})
	}
	var self codec.Member
	c.selfRecord().wire(&self, 0)
	c.bld.AddMember(&self)
	for i := 0; i < 8; i++ {
		r := c.tab.randomLive(c.rng, func(r *record) bool { return r.id == c.id || r.id == ID(h.Sender) })
		if r == nil {
			break
		}
		var m codec.Member
		r.wire(&m, 0)
		if !c.bld.AddMember(&m) {
			break
		}
	}
	c.send(from, codec.MsgJoinReply)
}

// joinReplied starts fetching every shard of the groups that hold records.
func (c *Core) joinReplied(now Time, from netip.AddrPort, body []byte, sections int) {
	j := c.joining
	j.replied = true
	span := 1 << (c.tab.bits - 4)
	c.rd.Reset(sections, body)
	for c.rd.Next() {
		if c.rd.Type() != codec.RecDigest {
			continue
		}
		for i := 0; i < c.rd.Count(); i++ {
			d, _, _ := codec.ParseDigest(c.rd.Record(i))
			if d.Level != 1 || int(d.Index) >= 16 || d.Count == 0 {
				continue
			}
			for k := 0; k < span; k++ {
				j.pending = append(j.pending, int32(int(d.Index)*span+k))
			}
		}
	}
	// Shuffle, so that joiners spread over the cluster's shards and members.
	c.rng.Shuffle(len(j.pending), func(a, b int) { j.pending[a], j.pending[b] = j.pending[b], j.pending[a] })
	c.joinFetch(now)
}

// A joiner asks each member it fetches from for up to joinBatch shards in
// one request, packed into as few datagrams as their references and
// fingerprints need, and keeps up to joinWindow shards in flight: a table
// of 256 shards is asked for in about 8 requests, at once, from 8 members,
// so that a join takes a few round trips rather than one per shard.
const (
	joinBatch  = 32
	joinWindow = 256
)

// joinBusyPeers bounds the members a joiner remembers as busy.
const joinBusyPeers = 8

// busyPeer is a member that answered a join's shard request with a wait.
type busyPeer struct {
	addr  netip.AddrPort
	until Time
}

// joinBusy notes that peer asked this joiner to wait until until: joinFetch
// asks other members meanwhile.
func (j *joinState) joinBusy(peer netip.AddrPort, until Time) {
	k := 0
	for i := range j.busy {
		if j.busy[i].addr == peer {
			k = i
			break
		}
		if j.busy[i].until < j.busy[k].until {
			k = i
		}
	}
	j.busy[k] = busyPeer{peer, until}
}

// isBusy reports whether peer asked this joiner to wait past now.
func (j *joinState) isBusy(peer netip.AddrPort, now Time) bool {
	for i := range j.busy {
		if j.busy[i].addr == peer && now < j.busy[i].until {
			return true
		}
	}
	return false
}

// joinFetch keeps up to joinWindow shards in flight, in requests of up to
// joinBatch shards, each to a random live member that has not asked to
// wait.
func (c *Core) joinFetch(now Time) {
	j := c.joining
	inFlight := 0
	for i := c.sync.head; i < len(c.sync.wants); i++ {
		if w := &c.sync.wants[i]; w.join && !w.done {
			inFlight++
		}
	}
	for len(j.pending) > 0 {
		// A request goes out full, or not at all while others are in
		// flight: their answers make room for it.
		k := min(joinBatch, joinWindow-inFlight, c.maxWants()-c.sync.open, len(j.pending))
		if k <= 0 || k < min(joinBatch, len(j.pending)) && inFlight > 0 {
			break
		}
		// Seeds answer every joiner's Join: the shards are asked of the
		// other members, unless the joiner knows no other yet.
		r := c.tab.randomLive(c.rng, func(r *record) bool {
			return r.id == c.id || j.isBusy(r.addr(), now) || slices.Contains(j.seeds, r.addr())
		})
		if r == nil {
			r = c.tab.randomLive(c.rng, func(r *record) bool { return r.id == c.id || j.isBusy(r.addr(), now) })
		}
		if r == nil {
			break
		}
		peer := r.addr()
		batch := append(c.sync.shards[:0], j.pending[len(j.pending)-k:]...)
		j.pending = j.pending[:len(j.pending)-k]
		c.aim(peer, r.id)
		sent := c.requestShards(now, peer, batch, true)
		// Shards not asked for (already asked of this peer, or over
		// maxWants) go back on the list.
		for _, s := range batch {
			if c.findWant(peer, s) < 0 {
				j.pending = append(j.pending, s)
			}
		}
		c.sync.shards = batch
		if sent == 0 {
			break
		}
		inFlight += sent
	}
	if inFlight == 0 && len(j.pending) == 0 {
		j.done = true
	}
}

func (c *Core) joinTick(now Time) {
	j := c.joining
	if j == nil || j.done {
		return
	}
	if !j.replied {
		if now >= j.next {
			c.sendJoins(now)
		}
		return
	}
	c.joinRefetch(now)
	c.joinFetch(now)
	j.next = now.Add(c.cfg.ProbeTimeout)
}

// joinGrace is how long a join's request stays open after its peer
// answered others (see shardArrived) before another member is asked: a
// margin for an answer's datagrams to arrive, reordered or handled late.
func (c *Core) joinGrace() time.Duration { return c.cfg.IndirectTimeout / 4 }

// joinRefetch closes the join's requests that most likely lost a
// datagram and puts their shards back on the join's list: those whose
// peer answered other shards (heard) at least joinGrace ago, and those
// whose peer answered nothing while a request sent no earlier to another
// member was answered at least twice joinGrace ago (the request or the
// whole answer was lost). The rest wait out wantTimeout.
func (c *Core) joinRefetch(now Time) {
	j := c.joining
	grace := c.joinGrace()
	for i := c.sync.head; i < len(c.sync.wants); i++ {
		w := &c.sync.wants[i]
		if w.done || !w.join {
			continue
		}
		sent := w.deadline - c.wantTimeout()
		lost := w.heard != 0 && now >= w.heard.Add(grace) ||
			w.heard == 0 && w.got == 0 && j.answeredAt != 0 && sent <= j.answeredSent && now >= j.answeredAt.Add(2*grace)
		if !lost {
			continue
		}
		j.pending = append(j.pending, w.shard)
		c.removeWant(i)
		i = c.sync.head - 1 // removeWant may compact the list: start over
	}
}
