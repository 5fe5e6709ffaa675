package engine

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"time"

	"github.com/hearsay-io/hearsay/codec"
	"github.com/hearsay-io/hearsay/codec/bulk"
	"github.com/hearsay-io/hearsay/detector"
	"github.com/hearsay-io/hearsay/ring"
)

// Time is the engine's monotonic clock reading, in nanoseconds since an
// arbitrary epoch chosen by the driver.
type Time = detector.Time

// Env binds a Core to its driver.
type Env struct {
	// Addr is the address this node advertises to others. Required.
	Addr netip.AddrPort
	// Now is the driver's clock when the core is created.
	Now Time
	// Seed seeds the core's random choices (gossip targets, probe helpers).
	// The simulator derives it from the run's seed; the runtime draws it from
	// crypto/rand.
	Seed uint64
	// Outbox receives emitted datagrams. Nil means a private one. Drivers
	// that run many cores on one goroutine may share one.
	Outbox *Outbox
	// Pool, when set, shares identical table shards between cores in one
	// process (the simulator and the in-process UDP benchmark use it).
	Pool *ShardPool
	// Publish makes table snapshots available to concurrent readers through
	// Snapshot; the runtime sets it.
	Publish bool
	// OnEvent, when set, is called synchronously for every membership and
	// state event, before the core call that caused it returns.
	OnEvent func(Event)
	// Wall is the driver's wall clock, in Unix nanoseconds, at Now. The
	// core advances it with Now and refuses generations further ahead of
	// it than Config.MaxClockSkew. Zero means no wall clock: the core's
	// own generation stands in for it.
	Wall uint64
}

// ErrLeft is returned by calls on a core that has left the cluster.
var ErrLeft = errors.New("hearsay: node has left the cluster")

// Core is Hearsay's protocol as a deterministic state machine. It does no
// I/O, reads no clock and starts no goroutine: a driver calls Tick at
// Deadline, Receive for every datagram, and the user calls, then sends what
// the Outbox holds. Given the same inputs, a Core produces the same outputs.
//
// A Core is not safe for concurrent use; the runtime serialises calls.
type Core struct {
	cfg     Config
	env     Env
	id      ID
	pos     uint64
	gen     uint64
	inc     uint32
	addr    netip.AddrPort
	cluster uint64
	keys    *codec.Keyring
	rng     *rand.Rand
	tab     *table
	q       *queue
	out     *Outbox
	bld     codec.Builder
	rd      codec.Reader
	sealBuf []byte
	openBuf []byte
	zipBuf  []byte

	refutedAt   [maxRefutations]Time // ring of the latest refutation times
	refutations int                  // refutations ever; indexes refutedAt
	seq         uint32
	beats       uint64
	health      detector.Health
	healthAt    Time      // the last sign of trouble, or health decay
	lostW       float64   // decayed counts of the subjects' heartbeat periods lost and seen (loss.go)
	rtts        rttWindow // this node's latest round trips to anyone (loss.go)
	heal        healState // contacts a healed partition calls for (heal.go)
	seenW       float64
	longLoss    lossCount   // the same over about longMemory periods (loss.go)
	reports     lossReports // members' loss reports in the acks this node got (loss.go)
	now         Time

	observers []peer
	monitors  []*monitor
	spare     []*monitor
	topoGen   uint64 // bumped on every change of the live set
	topoSeen  uint64

	probes   []probe
	relays   []relay
	late     [lateAcks]expired // probes that ran out, for late acks
	lateNext int
	susp     map[ID]*suspicion
	sheap    suspHeap
	watches  [2]watchQueue // watch pings due (watch.go)
	suspVer  uint64        // last number given to a suspicion heap entry
	graves   graveHeap
	buriedAt map[ID]Time // when each tombstone held was buried

	nextBeat, nextGossip, nextSync, nextSeed Time
	deadline                                 Time
	wake                                     Time // the last deadline that lay ahead; 0: none

	joining *joinState
	leave   leaveState
	rejoin  rejoinState
	sync    syncState

	val      validator
	reply    replyState
	adm      admission
	aimed    peer // the member the next datagram is sealed for (see aim)
	pad      int  // the least size of the next datagram on the wire (claimPad)
	doubts   []doubt
	dq       doubtIndex // what expireDoubts needs to know between its scans (doubt.go)
	revivals []revival
	windows  map[ID]*senderWins // per-sender replay windows (sealed clusters)

	um      userMsgs       // user messages (usermsg.go)
	allowed []netip.Prefix // Config.AllowedPrefixes, normalised (admit.go)
	refused refusedSet     // members refused by Config.Admit (admit.go)

	renewAt   Time   // when a renewal that had to wait runs; 0: none
	renewTo   uint64 // the least generation the next renewal takes
	lastRenew Time

	stats Stats
}

// peer is a member chosen as a destination.
type peer struct {
	id   ID
	addr netip.AddrPort
}

// NewCore returns a core for cfg, bound to env. The core starts alone: call
// Join to contact seeds, or let others contact it.
func NewCore(cfg Config, env Env) (*Core, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	if !env.Addr.IsValid() || env.Addr.Port() == 0 {
		return nil, fmt.Errorf("%w: Env.Addr must be a specific address and port, got %v", ErrInvalidConfig, env.Addr)
	}
	if cfg.ID == 0 {
		cfg.ID = NewID()
	}
	if cfg.Generation == 0 {
		return nil, fmt.Errorf("%w: Generation must be set by the driver", ErrInvalidConfig)
	}
	c := &Core{
		cfg:      cfg,
		env:      env,
		id:       cfg.ID,
		pos:      ring.Position(uint64(cfg.ID)),
		gen:      cfg.Generation,
		addr:     env.Addr,
		cluster:  codec.ClusterID(cfg.ClusterName),
		rng:      rand.New(rand.NewPCG(env.Seed, uint64(cfg.ID))),
		tab:      newTable(uint(cfg.ShardBits), env.Publish, env.Pool),
		q:        newQueue(cfg.MaxPendingUpdates),
		out:      env.Outbox,
		health:   detector.NewHealth(cfg.MaxLocalHealth),
		susp:     make(map[ID]*suspicion),
		buriedAt: make(map[ID]Time),
		now:      env.Now,
	}
	if c.out == nil {
		c.out = new(Outbox)
	}
	var tokenKey [16]byte
	binary.LittleEndian.PutUint64(tokenKey[0:], c.rng.Uint64())
	binary.LittleEndian.PutUint64(tokenKey[8:], c.rng.Uint64())
	c.val = newValidator(tokenKey)
	if len(cfg.Keys) > 0 {
		kr, err := codec.NewKeyring(cfg.Keys[0], cfg.Keys[1:]...)
		if err != nil {
			return nil, fmt.Errorf("%w: Keys: %v", ErrInvalidConfig, err)
		}
		c.keys = kr
		c.sealBuf = make([]byte, 0, cfg.MaxDatagramSize)
	}
	c.tab.set(newRecord(c.id, c.addr, c.gen, 0, StateAlive))
	c.initUserMsgs()
	c.tab.publish()
	c.topoGen++
	now := env.Now
	// Spread periodic work over the period so that nodes started together
	// do not act in lockstep.
	c.nextBeat = now.Add(c.jitter(cfg.HeartbeatInterval))
	c.nextGossip = now.Add(c.jitter(cfg.GossipInterval))
	c.nextSync = now.Add(c.jitter(cfg.syncInterval(1)))
	c.nextSeed = now.Add(cfg.SeedInterval + c.jitter(cfg.SeedInterval))
	c.updateDeadline()
	return c, nil
}

// jitter returns a uniformly random duration in [0, d).
func (c *Core) jitter(d time.Duration) time.Duration {
	if d <= 0 {
		return 0
	}
	return time.Duration(c.rng.Int64N(int64(d)))
}

// ID returns the node's ID.
func (c *Core) ID() ID { return c.id }

// Addr returns the node's advertised address.
func (c *Core) Addr() netip.AddrPort { return c.addr }

// Generation returns the node's generation.
func (c *Core) Generation() uint64 { return c.gen }

// Incarnation returns the node's current incarnation.
func (c *Core) Incarnation() uint32 { return c.inc }

// Outbox returns where the core puts datagrams to send.
func (c *Core) Outbox() *Outbox { return c.out }

// Deadline returns when the core next needs Tick.
func (c *Core) Deadline() Time { return c.deadline }

// Publish makes every table change so far visible to Snapshot readers and,
// with a ShardPool, shares shards identical to other cores'. The runtime
// calls it after each batch of calls; the simulator after each tick.
func (c *Core) Publish() { c.tab.publish() }

// updateDeadline caches when Tick next has work. It must name only timers
// that Tick services and advances, or a driver would spin.
func (c *Core) updateDeadline() {
	d := detector.MaxTime
	min := func(t Time) {
		if t != 0 && t < d {
			d = t
		}
	}
	switch {
	case c.leave.done:
	case c.leave.active:
		min(c.nextGossip)
		for i := range c.relays {
			min(c.relays[i].deadline)
		}
	default:
		min(c.nextBeat)
		if !c.rejoin.active { // checkSubjects rests while rejoining
			min(c.nextCheck())
		}
		if c.q.pending() > 0 {
			min(c.nextGossip)
		}
		min(c.nextUserMsg())
		min(c.nextSync)
		if len(c.cfg.Seeds) > 0 {
			min(c.nextSeed)
		}
		if len(c.graves) > 0 {
			min(c.graves[0].at.Add(c.cfg.TombstoneRetention))
		}
		for i := range c.probes {
			min(c.probes[i].deadline)
		}
		for i := range c.relays {
			min(c.relays[i].deadline)
		}
		if len(c.sheap) > 0 {
			min(c.sheap[0].at)
		}
		if c.joining != nil && !c.joining.done {
			min(c.joining.next)
		}
		if c.rejoin.active && !c.rejoin.inFlight {
			min(c.rejoin.next)
		}
		if c.sync.dirty {
			min(c.sync.next)
		}
		min(c.renewAt)
		min(c.nextPending())
		min(c.nextDoubt())
		min(c.nextWatch())
		min(c.nextRevival())
		min(c.sync.reconnect)
		if t := c.nextHeal(); t != 0 {
			min(t)
		}
		if t := c.nextHealNotice(); t != 0 {
			min(t)
		}
		if c.sync.open > 0 {
			min(c.sync.wants[c.sync.head].deadline) // the earliest
		}
	}
	c.deadline = d
	if d > c.now && d < detector.MaxTime {
		c.wake = d // when a driver that keeps up calls next (see catchUp)
	} else {
		c.wake = 0
	}
}

// Tick runs every timer due at now.
func (c *Core) Tick(now Time) {
	if now < c.now {
		now = c.now // the clock is monotonic; tolerate a driver that is not
	}
	c.now = now
	if c.leave.done {
		c.updateDeadline()
		return
	}
	if c.leave.active {
		// Leaving: only spread the Left record and answer what is pending.
		c.expireRelays(now)
		if now >= c.nextGossip {
			c.gossip(now)
			c.nextGossip = now.Add(c.cfg.GossipInterval)
		}
		c.Left()
		c.updateDeadline()
		return
	}
	c.catchUp(now)
	c.refreshTopology() // before the timers, so that a new subject's first look is not due at this very tick
	c.expireProbes(now)
	c.expireRelays(now)
	c.expirePending(now)
	c.tickUserMsgs(now)
	if c.dq.due(now) {
		c.expireDoubts(now)
	}
	c.expireRevivals(now)
	c.expireSuspicions(now)
	c.expireWatches(now)
	if now >= c.nextCheck() {
		c.checkSubjects(now)
	}
	if now >= c.nextBeat {
		c.heartbeat(now)
		c.nextBeat = c.nextBeat.Add(c.cfg.HeartbeatInterval)
		if c.nextBeat <= now {
			c.nextBeat = now.Add(c.cfg.HeartbeatInterval)
		}
	}
	if now >= c.nextGossip {
		if c.q.pending() > 0 {
			c.gossip(now)
		}
		c.nextGossip = now.Add(c.cfg.GossipInterval)
	}
	if now >= c.nextSync {
		c.startSync(now)
		c.nextSync = now.Add(c.cfg.syncInterval(c.tab.live))
	}
	if len(c.cfg.Seeds) > 0 && now >= c.nextSeed {
		c.contactSeed(now)
		c.nextSeed = now.Add(c.cfg.SeedInterval)
	}
	c.renewTick(now)
	c.syncTick(now)
	c.healTick(now)
	c.joinTick(now)
	c.rejoinTick(now)
	c.reap(now)
	if now >= c.nextCheck() {
		// Something after the checks above made a subject due (a rejoin
		// that ended, a topology change, a probe dropped): check it
		// now, so that the deadline lies ahead.
		c.checkSubjects(now)
	}
	c.updateDeadline()
}

// Receive handles one datagram that arrived from the given address.
func (c *Core) Receive(now Time, from netip.AddrPort, b []byte) {
	if now < c.now {
		now = c.now
	}
	c.now = now
	c.stats.DatagramsIn++
	c.stats.BytesIn += uint64(len(b))
	c.receive(now, from, b)
	c.updateDeadline()
}

func (c *Core) receive(now Time, from netip.AddrPort, b []byte) {
	wire := len(b)
	unbound := false
	c.aimed = peer{}
	if !c.sourceAllowed(from) {
		return // before any work, opening included (admit.go)
	}
	hv, err := codec.NewHeaderView(b)
	if err != nil {
		c.drop(err)
		return
	}
	if hv.Cluster() != c.cluster {
		c.stats.DropCluster++
		return
	}
	if hv.Flags()&codec.FlagCompressed != 0 {
		// Only shard data carries bulk state, and only a peer asked for it
		// may send it: anything else is refused before the work of
		// decompressing it.
		switch {
		case hv.Type() != codec.MsgShardData:
			c.stats.DropCompressed++
			return
		case !c.wantsFrom(from):
			c.stats.DropUnsolicited++
			return
		}
	}
	if hv.Flags()&codec.FlagSealed != 0 {
		if c.keys == nil {
			c.stats.DropSealed++
			return
		}
		sealed := b
		b, err = codec.OpenFor(c.openBuf[:0], sealed, c.keys, uint64(c.id))
		if errors.Is(err, codec.ErrAuth) && unboundAllowed(hv.Type()) {
			// The first contact with an address whose member ID the sender
			// did not know (a seed): sealed for no one in particular.
			b, err = codec.OpenFor(c.openBuf[:0], sealed, c.keys, 0)
			unbound = err == nil
		}
		if err != nil {
			c.drop(err)
			return
		}
		c.openBuf = b[:0]
	} else if c.keys != nil {
		c.stats.DropUnsealed++
		return
	}
	h, err := codec.ParseHeader(b)
	if err != nil {
		c.drop(err)
		return
	}
	if !h.Type.Known() {
		// A kind from a later protocol version: ignore it, as the codec's
		// contract says, but count it.
		c.stats.DropUnknownType++
		return
	}
	if ID(h.Sender) == c.id {
		c.stats.DropSelf++
		return
	}
	if h.Incarnation > maxIncarnation || !c.plausibleGen(h.Generation) {
		c.stats.RefusedImplausible++
		return
	}
	if c.keys != nil && !c.fresh(now, &h) {
		return // a replay, or too old to tell: dropped before any work
	}
	h, body, err := codec.Parse(b)
	if err != nil && errors.Is(err, codec.ErrCompressed) {
		h, body, err = c.decompress(b)
	}
	if err != nil {
		c.drop(err)
		return
	}
	if c.leave.done {
		return
	}
	// Validate every section before acting on any, so that a malformed
	// datagram changes nothing.
	echoed, ok := c.validate(from, int(h.Sections), body)
	if !ok {
		return
	}
	c.stats.countIn(h.Type)
	c.startReply(from, wire, echoed && !unbound)
	c.reply.sender = ID(h.Sender)
	c.reply.trusted = c.trustedSource(h.Type, from, ID(h.Sender))
	c.reply.solicited = c.reply.trusted && (h.Type == codec.MsgShardData || h.Type == codec.MsgJoinReply)
	c.fromSender(now, from, &h)
	// Facts first (records, heartbeats), then requests: a reply built for a
	// request then carries the consequences of the facts, such as a
	// refutation of a suspicion that arrived in the same datagram.
	c.applyFacts(now, from, &h, body)
	c.handleRequests(now, from, &h, body)
	c.endReply(now)
	if h.Type == codec.MsgShardData && c.joining != nil && c.joining.replied && !c.joining.done {
		// Keep the join's window full as transfers complete, rather than
		// refilling it only at the next tick.
		c.joinFetch(now)
	}
}

// drop counts a datagram rejected by the codec.
func (c *Core) drop(err error) {
	switch {
	case errors.Is(err, codec.ErrTruncated):
		c.stats.DropTruncated++
	case errors.Is(err, codec.ErrMagic), errors.Is(err, codec.ErrVersion):
		c.stats.DropForeign++
	case errors.Is(err, codec.ErrUnknownKey):
		c.stats.DropUnknownKey++
	case errors.Is(err, codec.ErrAuth):
		c.stats.DropAuth++
	case errors.Is(err, codec.ErrTooLarge):
		c.stats.DropTooLarge++
	default:
		c.stats.DropMalformed++
	}
}

// validate walks every section and parses every known record. It also
// reports whether the datagram carries a valid Echo of this node's token
// for from.
func (c *Core) validate(from netip.AddrPort, sections int, body []byte) (echoed, ok bool) {
	c.rd.Reset(sections, body)
	for c.rd.Next() {
		t := c.rd.Type()
		switch t {
		case codec.RecUser:
			// A user message and its payload section, read together.
			if _, _, err := c.rd.User(); err != nil {
				c.drop(err)
				return false, false
			}
			continue
		case codec.RecPayload:
			c.drop(codec.ErrMalformed) // a payload with no user message
			return false, false
		}
		if t.Size() == 0 {
			continue
		}
		for i := 0; i < c.rd.Count(); i++ {
			if err := parseCheck(t, c.rd.Record(i)); err != nil {
				c.drop(err)
				return false, false
			}
		}
		if t == codec.RecEcho && !echoed {
			e, _, _ := codec.ParseEcho(c.rd.Record(0))
			echoed = c.checkEcho(from, &e)
		}
	}
	if err := c.rd.Err(); err != nil {
		c.drop(err)
		return false, false
	}
	return echoed, true
}

func parseCheck(t codec.RecType, b []byte) error {
	var err error
	switch t {
	case codec.RecHeartbeat:
		_, _, err = codec.ParseHeartbeat(b)
	case codec.RecPing:
		_, _, err = codec.ParsePing(b)
	case codec.RecAck:
		_, _, err = codec.ParseAck(b)
	case codec.RecNack:
		_, _, err = codec.ParseNack(b)
	case codec.RecPingReq:
		_, _, err = codec.ParsePingReq(b)
	case codec.RecMember:
		_, _, err = codec.ParseMember(b)
	case codec.RecState:
		_, _, err = codec.ParseStateEntry(b)
	case codec.RecDigest:
		_, _, err = codec.ParseDigest(b)
	case codec.RecShardRef:
		_, _, err = codec.ParseShardRef(b)
	case codec.RecPrint:
		_, _, err = codec.ParseFingerprint(b)
	case codec.RecEcho:
		_, _, err = codec.ParseEcho(b)
	case codec.RecVerdict:
		_, _, err = codec.ParseVerdict(b)
	case codec.RecRetry:
		_, _, err = codec.ParseRetry(b)
	}
	return err
}

// begin starts a datagram of type t.
func (c *Core) begin(t codec.MsgType) { c.beginLimit(t, c.cfg.MaxDatagramSize) }

// beginTo starts a datagram of type t to to, no larger than what the reply
// budget still allows to send there.
func (c *Core) beginTo(t codec.MsgType, to netip.AddrPort) {
	c.beginLimit(t, min(c.cfg.MaxDatagramSize, c.replyRoom(to)))
}

// beginLimit starts a datagram of type t of at most limit bytes on the wire.
func (c *Core) beginLimit(t codec.MsgType, limit int) {
	var buf []byte
	if c.keys != nil {
		limit -= codec.SealOverhead
		buf = c.sealBuf[:0]
	} else {
		buf = c.out.buffer(max(limit, 0))
	}
	c.nextSeq()
	c.bld.Reset(buf, limit, codec.Header{
		Type:        t,
		Cluster:     c.cluster,
		Sender:      uint64(c.id),
		Generation:  c.gen,
		Incarnation: c.inc,
		Seq:         c.seq,
	})
}

// bulkFactor is how many datagrams' worth of records beginBulk lets a
// datagram hold before compression. Member records compress to about half
// their size (see BenchmarkShardCompression), so twice the datagram size
// usually fits once compressed.
const bulkFactor = 2

// beginBulk starts a datagram that sendBulk may compress: records are added
// up to bulkFactor times the datagram size.
func (c *Core) beginBulk(t codec.MsgType) {
	limit := min(bulkFactor*c.cfg.MaxDatagramSize, codec.HeaderSize+codec.MaxBodySize)
	c.nextSeq()
	c.bld.Reset(c.out.scratchBuffer(limit), limit, codec.Header{
		Type:        t,
		Cluster:     c.cluster,
		Sender:      uint64(c.id),
		Generation:  c.gen,
		Incarnation: c.inc,
		Seq:         c.seq,
	})
}

// sendBulk finishes a datagram begun with beginBulk and queues it to addr:
// as it is if it fits the datagram size, compressed if that fits. It
// reports false, queuing nothing, when neither fits; the caller then
// rebuilds the datagram with begin.
func (c *Core) sendBulk(to netip.AddrPort, t codec.MsgType) bool {
	b := c.bld.Finish()
	limit := c.cfg.MaxDatagramSize
	if c.keys != nil {
		limit -= codec.SealOverhead
	}
	if len(b) > limit {
		need := codec.HeaderSize + bulk.MaxCompressedLen(len(b)-codec.HeaderSize)
		var dst []byte
		if c.keys != nil {
			if cap(c.sealBuf) < need {
				c.sealBuf = make([]byte, 0, need)
			}
			dst = c.sealBuf[:0]
		} else {
			dst = c.out.buffer(need)
		}
		z, err := bulk.CompressDatagram(dst, b)
		if err != nil || len(z) > limit {
			c.seq--
			c.stats.CompressMisses++
			return false
		}
		c.stats.Compressed++
		b = z
	} else if c.keys == nil {
		b = append(c.out.buffer(len(b)), b...)
	}
	c.queue(to, t, b)
	return true
}

// send finishes the datagram begun last and queues it to addr.
func (c *Core) send(to netip.AddrPort, t codec.MsgType) {
	b := c.bld.Finish()
	if b == nil {
		// The reply budget did not leave room for even the header.
		c.stats.RefusedReplies++
		return
	}
	c.queue(to, t, b)
}

// aim names the member the next datagram to to is for, so that it is
// sealed for that member alone (codec.SealFor); the aim holds for that one
// datagram. A datagram to the source of the datagram being handled is for
// its sender without aiming.
func (c *Core) aim(to netip.AddrPort, id ID) { c.aimed = peer{id, to} }

// destID returns the member a datagram to to is sealed for: the one aimed
// at, or the sender of the datagram being handled when to is its source,
// or none (0) when the sender does not know who is there.
func (c *Core) destID(to netip.AddrPort) ID {
	if a := c.aimed; a.addr == to && a.id != 0 {
		return a.id
	}
	if c.reply.active && to == c.reply.from {
		return c.reply.sender
	}
	if p, ok := c.val.peers[to]; ok {
		return p.id
	}
	return 0
}

// unboundAllowed reports whether a sealed datagram of type t may be sealed
// for no receiver: the first contact with a seed, whose ID the sender does
// not know. It is answered as from an address that has not proven itself,
// however it is made.
func unboundAllowed(t codec.MsgType) bool { return t == codec.MsgJoin || t == codec.MsgSync }

// queue seals b if the cluster has keys and queues it to addr. Unsealed, b
// must have been built in the outbox's current buffer.
func (c *Core) queue(to netip.AddrPort, t codec.MsgType, b []byte) {
	pad := c.pad
	if t == codec.MsgPingReq {
		pad = max(pad, c.pingReqPad())
	}
	if c.keys != nil {
		sealed, err := codec.SealFor(c.out.buffer(max(len(b)+codec.SealOverhead, pad)), b, c.keys, uint64(c.destID(to)))
		c.aimed = peer{} // an aim holds for one datagram
		if err != nil {
			c.stats.SealErrors++
			return
		}
		b = sealed
	}
	if len(b) < pad {
		// Bytes after the body are ignored by receivers; they pay for the
		// answers this datagram asks for (see pingReqPad).
		n := len(b)
		b = b[:pad]
		clear(b[n:])
	}
	if !c.charge(to, len(b)) {
		return
	}
	c.out.commit(to, b)
	c.stats.DatagramsOut++
	c.stats.BytesOut += uint64(len(b))
	c.stats.countOut(t, len(b))
}

// piggybackFree fills the datagram being built with pending updates like
// piggyback, without counting them as transmissions: an ack's updates go
// back to a member that chose us, not to a random one, so they are a pull
// on top of the counted pushes.
func (c *Core) piggybackFree() int {
	c.q.uncounted = true
	n := c.piggyback()
	c.q.uncounted = false
	return n
}

// piggyback fills the datagram being built with pending updates, least-sent
// first, and returns how many it added.
func (c *Core) piggyback() int {
	if c.q.pending() == 0 {
		return 0
	}
	n := 0
	for {
		i := c.q.take()
		if i < 0 {
			break
		}
		it := &c.q.items[i]
		var ok bool
		switch it.kind {
		case itemMember:
			r := c.lookup(it.id)
			if r == nil {
				c.q.markDropped()
				continue
			}
			var m codec.Member
			c.wire(r, &m, it.witness)
			c.forwardDoubted(r, &m)
			ok = c.bld.AddMember(&m)
		case itemState:
			r := c.lookup(it.id)
			var e *appEntry
			if r != nil {
				e = r.app.get(it.key[:it.keyLen])
			}
			if e == nil {
				c.q.markDropped()
				continue
			}
			var w codec.StateEntry
			e.wire(&w, r.id, r.gen)
			ok = c.bld.AddState(&w)
		}
		if !ok {
			break
		}
		c.q.markSent()
		n++
	}
	u := c.piggybackUser() // user broadcasts only in the room left (usermsg.go)
	c.q.finish(c.retransmits())
	c.stats.UpdatesSent += uint64(n)
	return n + u
}

// lookup returns id's record, or nil. The pointer is valid until the table
// changes.
func (c *Core) lookup(id ID) *record {
	return c.tab.get(id, ring.Position(uint64(id)))
}

// selfRecord returns the node's own record.
func (c *Core) selfRecord() *record { return c.tab.get(c.id, c.pos) }

// emit delivers an event to the driver's hook.
func (c *Core) emit(e Event) {
	c.stats.Events++
	if c.env.OnEvent != nil {
		e.At = c.now
		c.env.OnEvent(e)
	}
}
