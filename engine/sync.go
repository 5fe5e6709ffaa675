package engine

import (
	"net/netip"
	"slices"
	"time"

	"github.com/hearsay-io/hearsay/codec"
)

// Anti-entropy. Two members compare the digests of their tables top-down:
// the root, then the 16 children of every node that differs, down to the
// shards; then each asks the other for the records of the differing shards,
// listing the fingerprints of the records it holds there, and is answered
// with the records it does not list. Every message is self-describing and idempotent, so a lost datagram only
// delays the repair to the next exchange. In sync, an exchange is one
// datagram each way.

type syncState struct {
	// wants are the open shard requests in the order they were made, so
	// in order of deadline; wants[:head] and the entries marked done are
	// closed, and wantAt indexes the rest by peer and shard.
	wants  []want
	head   int
	open   int
	wantAt map[wantKey]int32
	served int
	window Time
	// dirty: an exchange found our view differs from a peer's, and none
	// has found it equal since. While dirty, the node starts an exchange
	// every HeartbeatInterval (at next), so that a lost datagram or a busy
	// peer does not leave it behind until the next SyncInterval.
	dirty     bool
	next      Time
	pullAt    Time // no overdue pull before then (pullOverdue)
	neighbour ID   // a subject to reconcile with at the next tick (onHeartbeat); 0: none
	reconnect Time
	told      [64]toldDead
	digests   []codec.Digest
	shards    []int32
	seen      []uint32                 // digest and shard references already handled in one request
	wantPeers map[netip.AddrPort]int32 // open requests per peer
	prints    []uint64                 // fingerprints of the shard request being served
	send      []bool                   // which records of a shard the answer carries
	empty     []codec.ShardRef         // answers with no records, sent together
	retry     []int32                  // requests closed by a Retry, to send again
	retryJoin []int32                  // the same, for a join
	// pack holds the shards being answered, in order, and packMask their
	// masks end to end (see sendPacked); packing says whether they share
	// datagrams (a request for at least packMin shards).
	pack     []packedShard
	packMask []bool
	packing  bool
}

// packMin is the fewest shards a request names for their answers to share
// datagrams. A join asks for many shards at once (joinBatch) and gains
// most; anti-entropy asks for the few that differ, each answered as soon
// as it is served.
const packMin = 8

// packedShard is a shard being answered: its index and the place of its
// mask in syncState.packMask (length -1: no mask, every record).
type packedShard struct {
	idx       int32
	off, mlen int32
	resume    [3]int32 // where its records continue (fillShard's mi, si, ei)
}

// want is a shard this node asked a peer for; only solicited shard data is
// accepted.
type want struct {
	peer     netip.AddrPort
	shard    int32
	need     uint32
	got      uint32
	join     bool
	done     bool
	deadline Time
	// heard is when the peer last completed a shard of a join's
	// requests while this one stayed open (see shardArrived); zero until
	// then.
	heard Time
}

type wantKey struct {
	peer  netip.AddrPort
	shard int32
}

type toldDead struct {
	id ID
	at Time
}

// wantTimeout is how long a shard request stays open.
func (c *Core) wantTimeout() Time { return Time(4 * c.cfg.IndirectTimeout) }

// startSync begins an exchange with a random live member.
func (c *Core) startSync(now Time) {
	if c.leave.active {
		return
	}
	r := c.tab.randomLive(c.rng, func(r *record) bool { return r.id == c.id })
	if r != nil {
		c.syncWith(now, r.addr(), r.id)
	}
}

// SyncWith starts an anti-entropy exchange with the node at addr now, as
// the periodic one does with a random member. Drivers and tests use it to
// reconcile on demand.
func (c *Core) SyncWith(now Time, addr netip.AddrPort) {
	if now > c.now {
		c.now = now
	}
	c.syncWith(now, addr, 0)
	c.updateDeadline()
}

// syncWith sends our root digest to addr. A member whose record carries no
// address (a tombstone learned without one, say) cannot be reached: it is
// skipped.
func (c *Core) syncWith(now Time, to netip.AddrPort, id ID) {
	if !to.IsValid() {
		return
	}
	c.expect(to, codec.MsgSync)
	if id != 0 {
		c.aim(to, id)
	}
	c.begin(codec.MsgSync)
	c.addEcho(to)
	c.bld.AddDigest(codec.Digest{Level: 0, Index: 0, Count: uint32(c.tab.live), Sum: c.tab.root})
	c.send(to, codec.MsgSync)
	c.stats.SyncsStarted++
}

// syncTick runs follow-up exchanges, reconnection attempts and expires shard
// requests.
func (c *Core) syncTick(now Time) {
	if c.sync.dirty && now >= c.sync.next {
		c.sync.next = now.Add(c.cfg.HeartbeatInterval)
		if r := c.lookup(c.sync.neighbour); r != nil && r.live() {
			c.syncWith(now, r.addr(), r.id) // see onHeartbeat
		} else {
			c.startSync(now)
		}
		c.sync.neighbour = 0
	}
	if now >= c.sync.reconnect {
		c.sync.reconnect = now.Add(2 * c.cfg.HeartbeatInterval)
		c.reconnectDead(now)
	}
	c.healNoticeTick(now)
	if now >= c.sync.window.Add(c.cfg.HeartbeatInterval) {
		c.sync.window, c.sync.served = now, 0
	}
	for c.sync.open > 0 {
		w := &c.sync.wants[c.sync.head]
		if w.deadline > now {
			break
		}
		if w.join && c.joining != nil {
			c.joining.pending = append(c.joining.pending, w.shard)
		}
		c.removeWant(c.sync.head)
	}
}

// reconnectDead contacts a random dead member with a probability that keeps
// the whole cluster's attempts near one per dead member per interval. If the
// member is back (a partition healed), the exchange tells each side what the
// other believes, and both refute.
func (c *Core) reconnectDead(now Time) {
	dead := c.tab.total - c.tab.live
	if dead == 0 || c.tab.live == 0 {
		return
	}
	if q := float64(dead) / float64(c.tab.live); q < 1 && c.rng.Float64() >= q {
		return
	}
	for try := 0; try < 32; try++ {
		r := c.tab.randomAny(c.rng)
		if r != nil && r.state == StateDead {
			c.syncWith(now, r.addr(), r.id)
			return
		}
	}
}

// contactSeed re-contacts a random seed so that logical partitions cannot
// persist.
func (c *Core) contactSeed(now Time) {
	var seeds [16]netip.AddrPort
	n := 0
	for _, s := range c.cfg.Seeds {
		if s != c.addr && n < len(seeds) {
			seeds[n] = s
			n++
		}
	}
	if n > 0 {
		c.syncWith(now, seeds[c.rng.IntN(n)], 0)
	}
}

// onDigests compares received digests with ours: it answers differing inner
// nodes with their children and asks for differing shards.
func (c *Core) onDigests(now Time, from netip.AddrPort, h *codec.Header, body []byte) {
	if h.Type != codec.MsgSync && !c.expected(from) {
		// A reply to an exchange we did not start with this address
		// (counted once, in applyFacts, for a join reply).
		if h.Type != codec.MsgJoinReply {
			c.stats.DropUnsolicited++
		}
		return
	}
	if h.Type == codec.MsgJoinReply && c.joining != nil {
		// The first seed to answer starts the fetch; the others' digests
		// describe the same table, which the fetch brings: walking them
		// too would ask for every shard twice more.
		if !c.joining.replied {
			c.joinReplied(now, from, body, int(h.Sections))
		}
		return
	}
	levels := c.tab.levels()
	children := c.sync.digests[:0]
	shards := c.sync.shards[:0]
	seen := c.sync.seen[:0]
	equal, sawRoot, deeper := true, false, false
	c.rd.Reset(int(h.Sections), body)
	for c.rd.Next() {
		if c.rd.Type() != codec.RecDigest {
			continue
		}
		for i := 0; i < c.rd.Count(); i++ {
			d, _, _ := codec.ParseDigest(c.rd.Record(i))
			level := int(d.Level)
			if level > levels || int(d.Index) >= 1<<(4*level) {
				continue
			}
			if key := uint32(level)<<24 | uint32(d.Index); slices.Contains(seen, key) {
				c.stats.DuplicateRefs++
				continue
			} else {
				seen = append(seen, key)
			}
			if level > 0 {
				deeper = true
			}
			if level == 0 {
				sawRoot = true
			}
			sum, n := c.tab.digestAt(level, int(d.Index))
			if sum == d.Sum && n == d.Count {
				continue
			}
			equal = false
			if level == levels {
				shards = append(shards, int32(d.Index))
				continue
			}
			for j := 0; j < 16; j++ {
				idx := int(d.Index)*16 + j
				s, cnt := c.tab.digestAt(level+1, idx)
				children = append(children, codec.Digest{Level: uint8(level + 1), Index: uint16(idx), Count: cnt, Sum: s})
			}
		}
	}
	c.sync.digests, c.sync.shards, c.sync.seen = children, shards, seen
	if h.Type == codec.MsgSync && !c.reply.validated && (deeper || !equal) {
		// Walking the trees answers with more than the request: only for
		// an address that proved itself. Our view may differ all the same.
		c.sendRetry(from, codec.MsgSync, 0)
		if !equal {
			c.markDirty(now)
		}
		return
	}
	switch {
	case h.Type == codec.MsgSync && equal && sawRoot:
		// In sync: one datagram back says so.
		c.beginTo(codec.MsgSyncReply, from)
		c.bld.AddDigest(codec.Digest{Count: uint32(c.tab.live), Sum: c.tab.root})
		c.send(from, codec.MsgSyncReply)
	case len(children) > 0:
		t := codec.MsgSync
		if h.Type == codec.MsgSync {
			t = codec.MsgSyncReply
		}
		c.sendDigests(from, t, children)
	}
	if len(shards) > 0 {
		c.requestShards(now, from, shards, false)
	}
	switch {
	case !equal:
		c.markDirty(now)
	case equal && sawRoot:
		c.sync.dirty = false
	}
}

// pullOverdue starts an exchange with a random live member now, when this
// node holds a suspicion on hearsay whose verdict is overdue (verdictDue):
// the exchange brings whatever the peer knows and this node does not, the
// death or the refutation among it, rather than waiting for the next
// periodic one (SyncInterval·log₁₀N apart, 16 s at 2,000 nodes). An
// exchange that finds a difference goes on every HeartbeatInterval until
// one finds none (markDirty). At most one is started a HeartbeatInterval:
// a mass failure makes many suspicions overdue at once, and one exchange
// repairs them all.
func (c *Core) pullOverdue(now Time) {
	if now < c.sync.pullAt {
		return
	}
	c.sync.pullAt = now.Add(c.cfg.HeartbeatInterval)
	c.startSync(now)
}

// markDirty notes that our view differs from a peer's: reconcile again
// soon, with someone else, until an exchange finds nothing.
func (c *Core) markDirty(now Time) {
	if !c.sync.dirty {
		c.sync.dirty = true
		c.sync.next = now.Add(c.cfg.HeartbeatInterval)
	}
}

func (c *Core) sendDigests(to netip.AddrPort, t codec.MsgType, ds []codec.Digest) {
	if t == codec.MsgSync {
		// A deeper level of an exchange this node began is a request too:
		// its answers, and a Retry for it, are expected for expectWindow
		// from now, not from the exchange's first Sync.
		c.expect(to, codec.MsgSync)
	}
	for len(ds) > 0 {
		c.beginTo(t, to)
		c.addEcho(to)
		n := 0
		for n < len(ds) && c.bld.AddDigest(ds[n]) {
			n++
		}
		if n == 0 {
			return
		}
		c.send(to, t)
		ds = ds[n:]
	}
}

// findWant returns the index in sync.wants of the open request to peer for
// shard, or -1.
func (c *Core) findWant(peer netip.AddrPort, shard int32) int {
	if i, ok := c.sync.wantAt[wantKey{peer, shard}]; ok {
		return int(i)
	}
	return -1
}

// addWant records an open shard request. Its deadline must be no earlier
// than any open request's, as now plus wantTimeout is.
func (c *Core) addWant(w want) {
	if c.sync.wantAt == nil {
		c.sync.wantAt = make(map[wantKey]int32)
	}
	c.sync.wantAt[wantKey{w.peer, w.shard}] = int32(len(c.sync.wants))
	c.sync.wants = append(c.sync.wants, w)
	c.sync.open++
	if c.sync.wantPeers == nil {
		c.sync.wantPeers = make(map[netip.AddrPort]int32)
	}
	c.sync.wantPeers[w.peer]++
}

// maxKeptWants is the capacity of open shard requests kept once none is
// open: enough for steady anti-entropy, so that it allocates nothing.
const maxKeptWants = 64

// removeWant closes the open request at index i. Closed entries are dropped
// from the front as they come and compacted away once they are the most;
// once none is open, a burst's bookkeeping is let go.
func (c *Core) removeWant(i int) {
	y := &c.sync
	w := &y.wants[i]
	delete(y.wantAt, wantKey{w.peer, w.shard})
	if y.wantPeers[w.peer]--; y.wantPeers[w.peer] <= 0 {
		delete(y.wantPeers, w.peer)
	}
	w.done = true
	y.open--
	for y.head < len(y.wants) && y.wants[y.head].done {
		y.head++
	}
	switch {
	case y.open == 0 && cap(y.wants) > maxKeptWants:
		// The last of a burst (a join asks for every shard at once): let
		// go of its bookkeeping rather than hold it for the node's life.
		y.wants, y.head, y.wantAt, y.wantPeers = nil, 0, nil, nil
	case y.open == 0:
		clear(y.wants)
		y.wants, y.head = y.wants[:0], 0
	case len(y.wants) >= 64 && 2*y.open < len(y.wants):
		kept := y.wants[:0]
		for _, w := range y.wants[y.head:] {
			if !w.done {
				y.wantAt[wantKey{w.peer, w.shard}] = int32(len(kept))
				kept = append(kept, w)
			}
		}
		clear(y.wants[len(kept):])
		y.wants, y.head = kept, 0
	}
}

// wantsFrom reports whether a shard request to peer is open.
func (c *Core) wantsFrom(peer netip.AddrPort) bool { return c.sync.wantPeers[peer] > 0 }

// retryWants handles a Retry of our shard requests to peer. With no wait
// (peer gave us a token) they are closed and sent again at once with the
// token. With a wait (peer was busy) the requests it has not answered at
// all are closed: the shards a join still needs go back on its list, to be
// asked of other members at once, and peer is left alone for the wait; the
// others wait for the next exchange. A request partly answered stays open:
// peer served it before it ran out, and sends the rest.
func (c *Core) retryWants(now Time, peer netip.AddrPort, wait time.Duration) {
	shards, joins := c.sync.retry[:0], c.sync.retryJoin[:0]
	for i := c.sync.head; i < len(c.sync.wants); i++ {
		w := &c.sync.wants[i]
		if w.done || w.peer != peer || wait > 0 && w.got > 0 {
			continue
		}
		if w.join {
			joins = append(joins, w.shard)
		} else {
			shards = append(shards, w.shard)
		}
	}
	for _, s := range shards {
		c.removeWant(c.findWant(peer, s))
	}
	for _, s := range joins {
		c.removeWant(c.findWant(peer, s))
	}
	c.sync.retry, c.sync.retryJoin = shards, joins
	c.stats.RetriesFollowed++
	if wait > 0 {
		if j := c.joining; j != nil && !j.done {
			j.pending = append(j.pending, joins...)
			j.joinBusy(peer, now.Add(wait))
			if j.replied {
				c.joinFetch(now)
			}
		}
		return
	}
	c.requestShards(now, peer, shards, false)
	c.requestShards(now, peer, joins, true)
}

// maxWants bounds open shard requests.
func (c *Core) maxWants() int { return 4 * c.cfg.MaxTransfers }

// requestShards asks peer for the records of the given shards. After each
// shard's ShardRef it lists the fingerprints of our records in that shard,
// so that the answer carries only the records we lack or hold in another
// version; a shard with more records than one datagram can list is asked
// for whole.
func (c *Core) requestShards(now Time, peer netip.AddrPort, shards []int32, join bool) int {
	sent, added := 0, 0
	id := c.destID(peer) // every datagram of the request is sealed for it
	c.expect(peer, codec.MsgShardRequest)
	c.begin(codec.MsgShardRequest)
	c.addEcho(peer)
	for _, s := range shards {
		if c.findWant(peer, s) >= 0 {
			continue
		}
		if c.sync.open >= c.maxWants() {
			break
		}
		sh := c.tab.shards[s]
		prints := len(sh.recs)
		if prints > c.maxPrints() {
			prints = 0
		}
		// A ShardRef and its fingerprints need two section headers, the
		// ShardRef and the fingerprints: room for prints+3 fingerprints.
		if added > 0 && c.bld.Room(codec.RecPrint) < prints+3 {
			c.aim(peer, id)
			c.send(peer, codec.MsgShardRequest)
			sent, added = sent+added, 0
			c.begin(codec.MsgShardRequest)
			c.addEcho(peer)
		}
		// The count is of our member records only: the server needs to
		// know whether we hold any, not how much a transfer would carry.
		if !c.bld.AddShardRef(codec.ShardRef{Shard: uint32(s), Count: uint32(len(sh.recs)), Digest: sh.digest}) {
			break // the datagram is too small for even one ShardRef
		}
		for i := 0; i < prints; i++ {
			c.bld.AddFingerprint(codec.Fingerprint{Sum: sh.recs[i].sum})
		}
		c.addWant(want{peer: peer, shard: s, join: join, deadline: now + c.wantTimeout()})
		added++
	}
	if added > 0 {
		c.aim(peer, id)
		c.send(peer, codec.MsgShardRequest)
		sent += added
	}
	return sent
}

// maxPrints is how many fingerprints fit in a shard request with one
// ShardRef.
func (c *Core) maxPrints() int {
	limit := c.cfg.MaxDatagramSize - codec.HeaderSize - 2*codec.SectionHeaderSize - codec.ShardRefSize
	if c.keys != nil {
		limit -= codec.SealOverhead
	}
	return limit / codec.PrintSize
}

// onShardRequest serves the requested shards, each as the records the
// requester's fingerprints show it lacks, and asks for the requester's copy
// of the shards serveShard says to.
func (c *Core) onShardRequest(now Time, from netip.AddrPort, h *codec.Header, body []byte) {
	levels := c.tab.levels()
	theirs := c.sync.shards[:0]
	seen := c.sync.seen[:0]
	c.sync.empty = c.sync.empty[:0]
	var ref codec.ShardRef
	pending, busy := false, false
	empties := 0 // seen[:empties] are the shards we hold nothing of
	refs := 0    // ShardRefs in the request
	serve := func() {
		if !pending {
			return
		}
		pending = false
		if int(ref.Shard) >= 1<<(4*levels) {
			return
		}
		if len(c.tab.shards[ref.Shard].recs) == 0 {
			return // answered first, with the other empty ones
		}
		if slices.Contains(seen[empties:], ref.Shard) {
			c.stats.DuplicateRefs++
			return
		}
		seen = append(seen, ref.Shard)
		if c.sync.served >= c.cfg.MaxTransfers || c.reply.left-c.packedBytes() < c.cfg.MaxDatagramSize {
			c.stats.DropBusy++
			busy = true
			return
		}
		c.sync.served++
		more := c.serveShard(from, &ref)
		if more && ref.Count > 0 {
			theirs = append(theirs, int32(ref.Shard))
		}
	}
	// The shards we hold nothing of are answered first, together, so that
	// the answers come in the order the requester can check (shardArrived).
	c.rd.Reset(int(h.Sections), body)
	for c.rd.Next() {
		if c.rd.Type() != codec.RecShardRef {
			continue
		}
		refs += c.rd.Count()
		for i := 0; i < c.rd.Count(); i++ {
			r, _, _ := codec.ParseShardRef(c.rd.Record(i))
			if int(r.Shard) >= 1<<(4*levels) || len(c.tab.shards[r.Shard].recs) > 0 || slices.Contains(seen, r.Shard) {
				continue
			}
			seen = append(seen, r.Shard)
			// Nothing to send, at no transfer's cost. Ask for the
			// requester's records if it holds any.
			c.sync.empty = append(c.sync.empty, codec.ShardRef{Shard: r.Shard})
			if r.Count > 0 {
				theirs = append(theirs, int32(r.Shard))
			}
		}
	}
	c.sendEmptyShards(from)
	empties = len(seen)
	c.sync.packing = refs-empties >= packMin
	c.rd.Reset(int(h.Sections), body)
	for c.rd.Next() {
		switch c.rd.Type() {
		case codec.RecShardRef:
			for i := 0; i < c.rd.Count(); i++ {
				serve()
				ref, _, _ = codec.ParseShardRef(c.rd.Record(i))
				pending = true
				c.sync.prints = c.sync.prints[:0]
			}
		case codec.RecPrint:
			if pending {
				for i := 0; i < c.rd.Count(); i++ {
					p, _, _ := codec.ParseFingerprint(c.rd.Record(i))
					c.sync.prints = append(c.sync.prints, p.Sum)
				}
			}
		}
	}
	serve()
	c.sync.seen = seen
	c.sendPacked(from, true)
	c.sendEmptyShards(from) // serveShard's: the requester holds all we do
	if busy {
		// Say when to ask again, rather than leave the requester to time
		// out: when the transfer window turns, or the reply budget refills.
		wait := c.sync.window.Add(c.cfg.HeartbeatInterval).Sub(now)
		if c.sync.served < c.cfg.MaxTransfers {
			wait = c.replyRefill(from)
		}
		c.sendRetry(from, codec.MsgShardRequest, wait)
	}
	c.sync.shards = theirs
	if len(theirs) > 0 && !c.leave.active {
		c.requestShards(now, from, theirs, false)
	}
}

// serveShard answers one shard request: with the whole shard when the
// request lists no fingerprints, else with the records whose fingerprints it
// does not list. An answer with no records is queued for sendEmptyShards.
// It reports whether to ask the requester for its copy in turn: when its
// digest of the shard differs from ours, or it lists records we do not
// hold. While a shard keeps changing, the two sides so keep exchanging what
// changed until their digests agree.
func (c *Core) serveShard(to netip.AddrPort, ref *codec.ShardRef) bool {
	idx := int32(ref.Shard)
	sh := c.tab.shards[idx]
	if len(c.sync.prints) == 0 {
		c.packShard(to, idx, nil)
		return ref.Digest != sh.digest
	}
	slices.Sort(c.sync.prints)
	c.sync.prints = slices.Compact(c.sync.prints)
	send := c.sync.send[:0]
	matched, differ := 0, false
	for i := range sh.recs {
		_, held := slices.BinarySearch(c.sync.prints, sh.recs[i].sum)
		if held {
			matched++
		}
		send = append(send, !held)
		differ = differ || !held
	}
	c.sync.send = send
	if differ {
		c.packShard(to, idx, send)
	} else {
		c.sync.empty = append(c.sync.empty, codec.ShardRef{Shard: ref.Shard, Digest: sh.digest})
	}
	return ref.Digest != sh.digest || matched < len(c.sync.prints)
}

// sendEmptyShards answers, in as few datagrams as they fit, the shard
// requests for which the requester already holds every record we do, so
// that it closes them at once.
func (c *Core) sendEmptyShards(to netip.AddrPort) {
	refs := c.sync.empty
	for len(refs) > 0 {
		c.beginTo(codec.MsgShardData, to)
		n := 0
		for n < len(refs) && c.bld.AddShardRef(refs[n]) {
			n++
		}
		if n == 0 {
			return
		}
		c.send(to, codec.MsgShardData)
		refs = refs[n:]
	}
	c.sync.empty = c.sync.empty[:0]
}

// Shard data is packed: the answers to the shards of one request share
// datagrams, each shard's records after a ShardRef naming the shard and the
// number of records its whole answer carries, a shard too large for the
// rest of a datagram continuing in the next after the same ShardRef. A
// join of a 2,000-member table so takes about 40 datagrams rather than one
// per shard (256); at 10,000 members the shards fill datagrams anyway.

// packShard queues the records of shard idx for to (with a non-nil mask,
// those whose mask entry is true) and sends the datagrams the queue fills.
func (c *Core) packShard(to netip.AddrPort, idx int32, mask []bool) {
	ps := packedShard{idx: idx, off: int32(len(c.sync.packMask)), mlen: -1}
	if mask != nil {
		ps.mlen = int32(len(mask))
		c.sync.packMask = append(c.sync.packMask, mask...)
	}
	c.sync.pack = append(c.sync.pack, ps)
	c.sendPacked(to, !c.sync.packing)
}

// packRaw is how many raw bytes of records one packed datagram takes: the
// bulk limit (bulkFactor datagrams), less room for the section headers.
func (c *Core) packRaw() int {
	return min(bulkFactor*c.cfg.MaxDatagramSize, codec.HeaderSize+codec.MaxBodySize) - codec.HeaderSize - 16*codec.SectionHeaderSize
}

// sendPacked sends the queued shards to to in as few datagrams as they fill,
// compressed when that fits; unless all is set it keeps back what does not
// fill a datagram, for the next shard of the request to share.
func (c *Core) sendPacked(to netip.AddrPort, all bool) {
	y := &c.sync
	for len(y.pack) > 0 {
		if !all && c.packedBytes() < c.packRaw() {
			return
		}
		// Try a compressed datagram of up to bulkFactor datagrams' worth
		// of records; if it does not compress enough, resend the same
		// records from the same place in a plain datagram.
		k, mi, si, ei := c.fillPacked(true)
		if !c.sendBulk(to, codec.MsgShardData) {
			k, mi, si, ei = c.fillPacked(false)
			c.send(to, codec.MsgShardData)
		}
		c.stats.ShardsSent += uint64(k)
		// Drop the shards sent in full; the one cut short keeps its
		// place.
		y.pack = y.pack[:copy(y.pack, y.pack[k:])]
		if len(y.pack) > 0 {
			y.pack[0].resume = [3]int32{int32(mi), int32(si), int32(ei)}
		}
		if k == 0 && mi == 0 && si == 0 && ei == 0 {
			break // not even one record fits: give up rather than spin
		}
	}
	if all || len(y.pack) == 0 {
		y.pack, y.packMask = y.pack[:0], y.packMask[:0]
	}
}

// packedBytes is the raw bytes the queued shards take, section headers
// included.
func (c *Core) packedBytes() int {
	n := 0
	for i, ps := range c.sync.pack {
		sh, mask := c.tab.shards[ps.idx], c.packedMask(ps)
		n += 3*codec.SectionHeaderSize + codec.ShardRefSize
		for j := range sh.recs {
			if i == 0 && j < int(ps.resume[0]) || mask != nil && !mask[j] {
				continue
			}
			n += codec.MemberSize
			if r := &sh.recs[j]; r.app != nil && r.live() {
				n += len(r.app.entries) * codec.StateSize
			}
		}
	}
	return n
}

func (c *Core) packedMask(ps packedShard) []bool {
	if ps.mlen < 0 {
		return nil
	}
	return c.sync.packMask[ps.off : ps.off+ps.mlen]
}

// fillPacked begins a datagram (bulk or plain) and fills it with the queued
// shards from the first one's resume point. It returns how many shards it
// completed and where the next one stopped.
func (c *Core) fillPacked(bulk bool) (k, mi, si, ei int) {
	if bulk {
		c.beginBulk(codec.MsgShardData)
	} else {
		c.begin(codec.MsgShardData)
	}
	for k < len(c.sync.pack) {
		ps := c.sync.pack[k]
		sh := c.tab.shards[ps.idx]
		mask := c.packedMask(ps)
		mi, si, ei = 0, 0, 0
		if k == 0 {
			mi, si, ei = int(ps.resume[0]), int(ps.resume[1]), int(ps.resume[2])
		}
		// A ShardRef needs room for at least one record after it.
		if c.bld.Room(codec.RecState) < 2 {
			return k, mi, si, ei
		}
		c.bld.AddShardRef(codec.ShardRef{Shard: uint32(ps.idx), Count: maskedRecords(sh, mask), Digest: sh.digest})
		c.fillShard(sh, mask, &mi, &si, &ei)
		if mi < len(sh.recs) || si < len(sh.recs) {
			return k, mi, si, ei // full: the shard continues in the next
		}
		k++
	}
	return k, 0, 0, 0
}

// fillShard adds to the datagram being built the records of sh from member
// record *mi, then the state entries from member *si, entry *ei, until the
// datagram is full, advancing the positions. Records whose mask entry is
// false are skipped (a nil mask skips none). It returns how many records it
// added.
func (c *Core) fillShard(sh *shard, mask []bool, mi, si, ei *int) int {
	added := 0
	for ; *mi < len(sh.recs); *mi++ {
		if mask != nil && !mask[*mi] {
			continue
		}
		var m codec.Member
		c.wire(&sh.recs[*mi], &m, 0)
		if !c.bld.AddMember(&m) {
			return added
		}
		added++
	}
	for ; *si < len(sh.recs); *si, *ei = *si+1, 0 {
		r := &sh.recs[*si]
		if r.app == nil || !r.live() || mask != nil && !mask[*si] {
			continue
		}
		for ; *ei < len(r.app.entries); *ei++ {
			var w codec.StateEntry
			r.app.entries[*ei].wire(&w, r.id, r.gen)
			if !c.bld.AddState(&w) {
				return added
			}
			added++
		}
	}
	return added
}

// maskedRecords is the number of records a transfer of sh carries: every
// member record, then the state entries of its live members; with a non-nil
// mask, of those whose mask entry is true (see sendShard).
func maskedRecords(sh *shard, mask []bool) uint32 {
	n := uint32(0)
	for i := range sh.recs {
		if mask != nil && !mask[i] {
			continue
		}
		n++
		if r := &sh.recs[i]; r.app != nil && r.live() {
			n += uint32(len(r.app.entries))
		}
	}
	return n
}

// solicited reports whether a shard-data datagram answers one of our
// requests, and counts its member and state records toward the requests
// they answer: those after a ShardRef belong to the shard it names (see
// packShard). It is solicited when any shard it names was asked of its
// sender and is still open, and no record comes before a ShardRef. The
// records of a shard it shares the datagram with whose request closed
// meanwhile (on a busy answer, say, the network having reordered it
// before the data) come from a peer this node asked all the same, and are
// taken.
func (c *Core) solicited(now Time, from netip.AddrPort, sections uint8, body []byte) bool {
	named, wanted := false, false
	c.rd.Reset(int(sections), body)
	for c.rd.Next() {
		switch c.rd.Type() {
		case codec.RecShardRef:
			named = true
			for k := 0; k < c.rd.Count() && !wanted; k++ {
				r, _, _ := codec.ParseShardRef(c.rd.Record(k))
				wanted = c.findWant(from, int32(r.Shard)) >= 0
			}
		case codec.RecMember, codec.RecState:
			if !named {
				return false
			}
		}
	}
	if !wanted {
		return false
	}
	cur := -1
	c.rd.Reset(int(sections), body)
	for c.rd.Next() {
		switch c.rd.Type() {
		case codec.RecShardRef:
			for k := 0; k < c.rd.Count(); k++ {
				r, _, _ := codec.ParseShardRef(c.rd.Record(k))
				if cur = c.findWant(from, int32(r.Shard)); cur >= 0 {
					c.sync.wants[cur].need = r.Count
				}
			}
		case codec.RecMember, codec.RecState:
			if cur >= 0 {
				c.sync.wants[cur].got += uint32(c.rd.Count())
			}
		}
	}
	return true
}

// shardArrived closes a request once all of the shard's records came.
//
// A peer answers the shards of a request together, in one burst of
// datagrams (those it holds nothing of first, in one datagram), and a Retry
// for those it refuses last. So once a peer has answered part of a join's
// requests, the shards of them still open after joinGrace have most likely
// lost a datagram: each completed shard marks the join's other open
// requests to the same peer as heard, and joinRefetch asks another member
// for them after joinGrace rather than waiting out wantTimeout.
func (c *Core) shardArrived(now Time, from netip.AddrPort, ref *codec.ShardRef) {
	i := c.findWant(from, int32(ref.Shard))
	if i < 0 || c.sync.wants[i].got < c.sync.wants[i].need {
		return
	}
	c.stats.ShardsReceived++
	if j := c.joining; j != nil && c.sync.wants[i].join && !j.done {
		sent := c.sync.wants[i].deadline - c.wantTimeout()
		if sent >= j.answeredSent {
			j.answeredSent, j.answeredAt = sent, now
		}
		for k := c.sync.head; k < len(c.sync.wants); k++ {
			if w := &c.sync.wants[k]; k != i && !w.done && w.join && w.peer == from {
				w.heard = now
			}
		}
		if at := now.Add(c.joinGrace()); j.next == 0 || at < j.next {
			j.next = at
		}
	}
	c.removeWant(i)
}
