package engine

import (
	"net/netip"

	"github.com/hearsay-io/hearsay/codec"
)

// Anti-entropy. Two members compare the digests of their tables top-down:
// the root, then the 16 children of every node that differs, down to the
// shards; then each asks the other for the records of the differing shards.
// Every message is self-describing and idempotent, so a lost datagram only
// delays the repair to the next exchange. In sync, an exchange is one
// datagram each way.

type syncState struct {
	wants  []want
	served int
	window Time
	// dirty: an exchange found our view differs from a peer's, and none
	// has found it equal since. While dirty, the node starts an exchange
	// every HeartbeatInterval (at next), so that a lost datagram or a busy
	// peer does not leave it behind until the next SyncInterval.
	dirty     bool
	next      Time
	reconnect Time
	told      [64]toldDead
	digests   []codec.Digest
	shards    []int32
}

// want is a shard this node asked a peer for; only solicited shard data is
// accepted.
type want struct {
	peer     netip.AddrPort
	shard    int32
	need     uint32
	got      uint32
	join     bool
	deadline Time
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
		c.syncWith(now, r.addr())
	}
}

// syncWith sends our root digest to addr. A member whose record carries no
// address (a tombstone learned without one, say) cannot be reached: it is
// skipped.
func (c *Core) syncWith(now Time, to netip.AddrPort) {
	if !to.IsValid() {
		return
	}
	c.begin(codec.MsgSync)
	c.bld.AddDigest(codec.Digest{Level: 0, Index: 0, Count: uint32(c.tab.live), Sum: c.tab.root})
	c.send(to, codec.MsgSync)
	c.stats.SyncsStarted++
}

// syncTick runs follow-up exchanges, reconnection attempts and expires shard
// requests.
func (c *Core) syncTick(now Time) {
	if c.sync.dirty && now >= c.sync.next {
		c.sync.next = now.Add(c.cfg.HeartbeatInterval)
		c.startSync(now)
	}
	if now >= c.sync.reconnect {
		c.sync.reconnect = now.Add(2 * c.cfg.HeartbeatInterval)
		c.reconnectDead(now)
	}
	if now >= c.sync.window.Add(c.cfg.HeartbeatInterval) {
		c.sync.window, c.sync.served = now, 0
	}
	for i := 0; i < len(c.sync.wants); {
		w := &c.sync.wants[i]
		if w.deadline > now {
			i++
			continue
		}
		if w.join && c.joining != nil {
			c.joining.pending = append(c.joining.pending, w.shard)
		}
		c.removeWant(i)
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
			c.syncWith(now, r.addr())
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
		c.syncWith(now, seeds[c.rng.IntN(n)])
	}
}

// onDigests compares received digests with ours: it answers differing inner
// nodes with their children and asks for differing shards.
func (c *Core) onDigests(now Time, from netip.AddrPort, h *codec.Header, body []byte) {
	if h.Type == codec.MsgJoinReply && c.joining != nil && !c.joining.replied {
		c.joinReplied(now, from, body, int(h.Sections))
		return
	}
	levels := c.tab.levels()
	children := c.sync.digests[:0]
	shards := c.sync.shards[:0]
	equal, sawRoot := true, false
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
	c.sync.digests, c.sync.shards = children, shards
	switch {
	case h.Type == codec.MsgSync && equal && sawRoot:
		// In sync: one datagram back says so.
		c.begin(codec.MsgSyncReply)
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
	case !equal && !c.sync.dirty:
		// Views differ: reconcile again soon, with someone else, until an
		// exchange finds nothing.
		c.sync.dirty = true
		c.sync.next = now.Add(c.cfg.HeartbeatInterval)
	case equal && sawRoot:
		c.sync.dirty = false
	}
}

func (c *Core) sendDigests(to netip.AddrPort, t codec.MsgType, ds []codec.Digest) {
	for len(ds) > 0 {
		c.begin(t)
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

func (c *Core) hasWant(peer netip.AddrPort, shard int32) bool {
	for i := range c.sync.wants {
		if c.sync.wants[i].shard == shard && c.sync.wants[i].peer == peer {
			return true
		}
	}
	return false
}

func (c *Core) removeWant(i int) {
	c.sync.wants = append(c.sync.wants[:i], c.sync.wants[i+1:]...)
}

// maxWants bounds open shard requests.
func (c *Core) maxWants() int { return 4 * c.cfg.MaxTransfers }

// requestShards asks peer for the records of the given shards.
func (c *Core) requestShards(now Time, peer netip.AddrPort, shards []int32, join bool) int {
	sent := 0
	for len(shards) > 0 {
		c.begin(codec.MsgShardRequest)
		n, added := 0, 0
		for ; n < len(shards); n++ {
			s := shards[n]
			if c.hasWant(peer, s) {
				continue
			}
			if len(c.sync.wants) >= c.maxWants() {
				shards = nil
				break
			}
			sh := c.tab.shards[s]
			if !c.bld.AddShardRef(codec.ShardRef{Shard: uint32(s), Count: shardRecords(sh), Digest: sh.digest}) {
				break
			}
			c.sync.wants = append(c.sync.wants, want{peer: peer, shard: s, join: join, deadline: now + c.wantTimeout()})
			added++
		}
		if added > 0 {
			c.send(peer, codec.MsgShardRequest)
			sent += added
		}
		if shards == nil || n >= len(shards) {
			break
		}
		shards = shards[n:]
	}
	return sent
}

// onShardRequest serves the requested shards, and asks for the requester's
// copy of any shard whose digest differs from ours.
func (c *Core) onShardRequest(now Time, from netip.AddrPort, h *codec.Header, body []byte) {
	levels := c.tab.levels()
	theirs := c.sync.shards[:0]
	c.rd.Reset(int(h.Sections), body)
	for c.rd.Next() {
		if c.rd.Type() != codec.RecShardRef {
			continue
		}
		for i := 0; i < c.rd.Count(); i++ {
			ref, _, _ := codec.ParseShardRef(c.rd.Record(i))
			if int(ref.Shard) >= 1<<(4*levels) {
				continue
			}
			if c.sync.served >= c.cfg.MaxTransfers {
				c.stats.DropBusy++
				continue
			}
			c.sync.served++
			c.sendShard(from, int32(ref.Shard))
			if ref.Digest != c.tab.shards[ref.Shard].digest && ref.Count > 0 {
				theirs = append(theirs, int32(ref.Shard))
			}
		}
	}
	c.sync.shards = theirs
	if len(theirs) > 0 && !c.leave.active {
		c.requestShards(now, from, theirs, false)
	}
}

// sendShard sends every record of one shard, tombstones included, then the
// application state of its members, in as many datagrams as needed. Each
// datagram starts with a ShardRef naming the shard and its record count.
func (c *Core) sendShard(to netip.AddrPort, idx int32) {
	sh := c.tab.shards[idx]
	ref := codec.ShardRef{Shard: uint32(idx), Count: shardRecords(sh), Digest: sh.digest}
	mi, si, ei := 0, 0, 0 // next member record; next member and entry for state
	for {
		// Try a compressed datagram of up to bulkFactor datagrams' worth of
		// records; if it does not compress enough, resend the same records
		// from the same place in a plain datagram.
		m0, s0, e0 := mi, si, ei
		c.beginBulk(codec.MsgShardData)
		c.bld.AddShardRef(ref)
		added := c.fillShard(sh, &mi, &si, &ei)
		if !c.sendBulk(to, codec.MsgShardData) {
			mi, si, ei = m0, s0, e0
			c.begin(codec.MsgShardData)
			c.bld.AddShardRef(ref)
			added = c.fillShard(sh, &mi, &si, &ei)
			c.send(to, codec.MsgShardData)
		}
		c.stats.ShardsSent++
		if mi == len(sh.recs) && si == len(sh.recs) || added == 0 {
			return
		}
	}
}

// fillShard adds to the datagram being built the records of sh from member
// record *mi, then the state entries from member *si, entry *ei, until the
// datagram is full, advancing the positions. It returns how many records it
// added.
func (c *Core) fillShard(sh *shard, mi, si, ei *int) int {
	added := 0
	for *mi < len(sh.recs) {
		var m codec.Member
		c.wire(&sh.recs[*mi], &m, 0)
		if !c.bld.AddMember(&m) {
			return added
		}
		*mi++
		added++
	}
	for ; *si < len(sh.recs); *si, *ei = *si+1, 0 {
		r := &sh.recs[*si]
		if r.app == nil || !r.live() {
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

// shardRecords is the number of records a transfer of sh carries: every
// member record, then the state entries of its live members.
func shardRecords(sh *shard) uint32 {
	n := uint32(len(sh.recs))
	for i := range sh.recs {
		if r := &sh.recs[i]; r.app != nil && r.live() {
			n += uint32(len(r.app.entries))
		}
	}
	return n
}

// solicited reports whether a shard-data datagram answers one of our
// requests, and counts its member records toward the request.
func (c *Core) solicited(now Time, from netip.AddrPort, sections uint8, body []byte) bool {
	var ref codec.ShardRef
	found := false
	members := uint32(0)
	c.rd.Reset(int(sections), body)
	for c.rd.Next() {
		switch c.rd.Type() {
		case codec.RecShardRef:
			if !found && c.rd.Count() > 0 {
				ref, _, _ = codec.ParseShardRef(c.rd.Record(0))
				found = true
			}
		case codec.RecMember, codec.RecState:
			members += uint32(c.rd.Count())
		}
	}
	if !found {
		return false
	}
	for i := range c.sync.wants {
		w := &c.sync.wants[i]
		if w.peer == from && w.shard == int32(ref.Shard) {
			w.need = ref.Count
			w.got += members
			return true
		}
	}
	return false
}

// shardArrived closes a request once all of the shard's records came.
func (c *Core) shardArrived(now Time, from netip.AddrPort, ref *codec.ShardRef) {
	for i := range c.sync.wants {
		w := &c.sync.wants[i]
		if w.peer == from && w.shard == int32(ref.Shard) {
			if w.got >= w.need {
				c.stats.ShardsReceived++
				c.removeWant(i)
			}
			return
		}
	}
}
