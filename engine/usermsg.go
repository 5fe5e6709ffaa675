package engine

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"net/netip"

	"github.com/hearsay-io/hearsay/codec"
)

// User messages. An application sends opaque payloads to every member
// (Broadcast) or to one (Send); they arrive as EventMessage.
//
// A broadcast is disseminated like a membership update: it waits in the
// dissemination queue's user lane (broadcast.go) and rides in the room the
// updates leave in every datagram that piggybacks them (heartbeats, pings,
// acks, ping-reqs, gossip), each member transmitting it
// ceil(λ·log₂(N+1)) times, least-sent first, after every update that fits.
// Anti-entropy does not carry broadcasts: what gossip misses is missed
// (see Core.Broadcast for the delivery probability). A member delivers a
// broadcast, and relays it, only if the member it names as origin is live
// in its table at the generation the message carries, and only from a
// live member writing from the address the table holds for it.
//
// A message to one member is a MsgUser datagram of its own, sealed for
// that member, sent only to an address that answered this node's ping
// (admission.go); to another address the message waits until a
// verification ping is answered, or is dropped. The receiver takes it only
// from the member itself, at its address, within MaxMessageRate, and never
// answers it: a user message causes no reply, so it cannot be turned into
// an amplifier.
//
// Every user message is named by (origin, origin generation, seq); each
// member counts its messages, both kinds, in one sequence. A receiver
// keeps a sliding window of the last msgWindow sequence numbers per
// origin (as replay.go does for datagrams) and delivers each message at
// most once; a message older than the window, or implausibly far ahead of
// it, is refused. Windows are kept for at most maxMsgWindows origins, the
// least recently heard forgotten first.

// Errors of Broadcast and Send; match with errors.Is.
var (
	// ErrMessageSize is wrapped by the error Broadcast and Send return for
	// a payload larger than Config.MaxMessageSize.
	ErrMessageSize = errors.New("hearsay: user message larger than Config.MaxMessageSize")
	// ErrNoMember is wrapped by the error Send returns for an ID that is
	// not a live member other than this node.
	ErrNoMember = errors.New("hearsay: not a live member")
)

// errMessageSeq is returned in the unlikely case that this node's count of
// user messages reaches its maximum before the renewal of its generation
// that starts a new count has run (at the next tick).
var errMessageSeq = errors.New("hearsay: user-message counter exhausted; retry after the node's next tick")

const (
	msgWindow     = 512  // sequence numbers remembered below the highest one seen, per origin
	maxMsgWindows = 4096 // origins whose windows are kept
	maxMsgSenders = 1024 // members whose send rate is tracked
	maxHeldSends  = 64   // sends waiting for their member's address to be verified

	// Sequence numbers a window accepts above its top: msgSeqJump plus
	// msgSeqRate a second since the top last rose (see replayWin).
	msgSeqJump = 1 << 16
	msgSeqRate = 1 << 17

	// msgSeqRenewAt is the count at which a node renews its generation,
	// so that its user-message numbers never wrap.
	msgSeqRenewAt = math.MaxUint32 - 1<<20
)

// MaxMessageSize returns the largest payload Broadcast and Send take:
// MaxDatagramSize less the seal (codec.SealOverhead, 32 bytes, counted
// whether or not the cluster has keys, so that the bound does not change
// with them), the header (codec.HeaderSize, 40) and what a user message
// costs besides its payload (codec.UserOverhead, 32): 1,296 bytes at the
// default MaxDatagramSize of 1,400.
func (c Config) MaxMessageSize() int {
	d := c.MaxDatagramSize
	if d == 0 {
		d = codec.DefaultDatagramSize
	}
	return max(0, d-codec.SealOverhead-codec.HeaderSize-codec.UserOverhead)
}

// userMsgDefaults fills in the user-message fields of c from d.
func (c *Config) userMsgDefaults(d *Config) {
	if c.MaxBroadcasts == 0 {
		c.MaxBroadcasts = d.MaxBroadcasts
	}
	if c.MaxBroadcastBytes == 0 {
		c.MaxBroadcastBytes = d.MaxBroadcastBytes
	}
	if c.MaxMessageRate == 0 {
		c.MaxMessageRate = d.MaxMessageRate
	}
}

// validateUserMsgs checks the fields of names, user messages and
// admission; c has its defaults.
func (c *Config) validateUserMsgs(bad func(field, format string, args ...any)) {
	if err := checkName([]byte(c.Name)); err != nil {
		bad("Name", "%v", err)
	}
	if c.MaxBroadcasts < 1 || c.MaxBroadcasts > 1<<20 {
		bad("MaxBroadcasts", "must be in [1, %d], got %d", 1<<20, c.MaxBroadcasts)
	}
	if m := c.MaxMessageSize(); c.MaxBroadcastBytes < m {
		bad("MaxBroadcastBytes", "must be at least MaxMessageSize() (%d), got %d", m, c.MaxBroadcastBytes)
	}
	if c.MaxMessageRate < 1 {
		bad("MaxMessageRate", "must be positive, got %d", c.MaxMessageRate)
	}
	for i, p := range c.AllowedPrefixes {
		if !p.IsValid() {
			bad(fmt.Sprintf("AllowedPrefixes[%d]", i), "must be a valid prefix, got %v", p)
		}
	}
	if ps := allowedPrefixes(c.AllowedPrefixes); len(ps) > 0 {
		for i, s := range c.Seeds {
			if s.IsValid() && !prefixesContain(ps, s.Addr()) {
				bad(fmt.Sprintf("Seeds[%d]", i), "%v is outside AllowedPrefixes: its answers would be dropped", s)
			}
		}
	}
}

// userMsgs is the core's state for user messages.
type userMsgs struct {
	gen     uint64 // the generation seq counts in
	seq     uint32 // the last sequence number used
	wins    map[ID]*msgWin
	senders map[ID]*rateBucket
	total   rateBucket
	held    []heldSend
	ready   bool // a held send's member was verified: the next tick sends it
}

// msgWin is the window of one origin's user messages.
type msgWin struct {
	gen  uint64
	top  uint32
	at   Time // when top last rose
	used Time // when a message was last taken, for eviction
	bits [msgWindow / 64]uint64
}

// rateBucket is a token bucket of messages.
type rateBucket struct {
	tokens float64
	at     Time
}

// heldSend is a message to a member whose address is not verified yet.
type heldSend struct {
	to      ID
	expires Time
	payload []byte
}

// initUserMsgs sets up names, the user lane's bounds and the address
// allowlist when the core starts.
func (c *Core) initUserMsgs() {
	c.q.user.maxN, c.q.user.maxBytes = c.cfg.MaxBroadcasts, c.cfg.MaxBroadcastBytes
	c.allowed = allowedPrefixes(c.cfg.AllowedPrefixes)
	c.um.total = rateBucket{tokens: float64(c.cfg.MaxMessageRate), at: c.now}
	c.initName()
}

// nextMsgSeq returns the number of this node's next user message.
func (c *Core) nextMsgSeq() (uint32, error) {
	if c.um.gen != c.gen {
		c.um.gen, c.um.seq = c.gen, 0 // a new generation counts afresh
	}
	if c.um.seq >= msgSeqRenewAt && c.renewAt == 0 {
		c.renewAt = c.now
	}
	if c.um.seq == math.MaxUint32 {
		return 0, errMessageSeq
	}
	c.um.seq++
	return c.um.seq, nil
}

// checkMessage validates a user call's payload and the node's state.
func (c *Core) checkMessage(now Time, payload []byte) error {
	if c.leave.active {
		return ErrLeft
	}
	if limit := c.cfg.MaxMessageSize(); len(payload) > limit {
		return fmt.Errorf("%w: %d bytes, at most %d", ErrMessageSize, len(payload), limit)
	}
	if now > c.now {
		c.now = now
	}
	return nil
}

// Broadcast sends payload to every live member: it is queued in this
// node's dissemination queue and spread by gossip, like a membership
// update, and each member that receives it delivers it once, as
// EventMessage with Broadcast set, and relays it. The payload is copied.
// It returns ErrMessageSize (wrapped) for a payload over
// Config.MaxMessageSize and ErrLeft after Leave. The node itself does not
// receive its own broadcast.
//
// Delivery is best effort. Every member that receives a broadcast
// transmits it r = ceil(λ·log₂(N+1)) times (RetransmitMult λ, N live
// members), mostly to random members; a transmission arrives with
// probability 1-p on links that lose p of their datagrams. As in a push
// epidemic in which every infected member makes r attempts, the fraction
// s of members a broadcast misses solves s = exp(-r·(1-p)·(1-s)): about
// exp(-r·(1-p)) when that is small. At the default λ = 1 and N = 200
// (r = 8) that is 3.4·10⁻⁴ at no loss and 7.5·10⁻⁴ at 10% loss; measured
// in the simulator (engine/sim TestBroadcastDelivery, 160 broadcasts):
// 3.8·10⁻⁴ and 8.5·10⁻⁴. So about one broadcast in 15 misses one member
// at no loss, one in 7 at 10% loss; each further unit of λ divides the
// miss rate by about (N+1)^(1-p). Broadcasts wait behind membership
// updates, so a burst of membership changes delays them, and when more
// arrive than the queue holds (MaxBroadcasts, MaxBroadcastBytes) the
// oldest are dropped and reach fewer members. Anti-entropy does not repair
// them.
func (c *Core) Broadcast(now Time, payload []byte) error {
	if err := c.checkMessage(now, payload); err != nil {
		return err
	}
	seq, err := c.nextMsgSeq()
	if err != nil {
		return err
	}
	c.q.user.add(c.id, c.gen, seq, bytes.Clone(payload))
	c.stats.BroadcastsSent++
	c.updateDeadline()
	return nil
}

// Send sends payload to the live member to, alone, in one datagram sealed
// for it: best effort, without acknowledgement or retry. It is delivered
// there as EventMessage. The payload is copied.
//
// It is sent at once to a member whose address answered this node's
// probes; for another, this node pings it first and sends when the ping is
// answered, or drops the message (Stats.SendsDropped) if it is not within
// three heartbeat intervals, or if maxHeldSends messages already wait. It
// returns ErrMessageSize (wrapped) for a payload over
// Config.MaxMessageSize, ErrNoMember (wrapped) when to is not a live
// member or is this node, and ErrLeft after Leave.
func (c *Core) Send(now Time, to ID, payload []byte) error {
	if err := c.checkMessage(now, payload); err != nil {
		return err
	}
	r := c.lookup(to)
	if to == c.id || r == nil || !r.live() {
		return fmt.Errorf("%w: %v", ErrNoMember, to)
	}
	if c.verified(r) {
		return c.sendUser(r, payload)
	}
	c.holdSend(now, r, bytes.Clone(payload))
	c.updateDeadline()
	return nil
}

// sendUser sends a MsgUser datagram to r.
func (c *Core) sendUser(r *record, payload []byte) error {
	seq, err := c.nextMsgSeq()
	if err != nil {
		return err
	}
	to := r.addr()
	c.begin(codec.MsgUser)
	if !c.bld.AddUser(codec.UserMsg{Origin: uint64(c.id), Generation: c.gen, Seq: seq}, payload) {
		c.seq-- // nothing was built; MaxMessageSize makes this unreachable
		c.stats.SendsDropped++
		return nil
	}
	c.aim(to, r.id)
	c.send(to, codec.MsgUser)
	c.stats.SendsSent++
	c.stats.MessageBytesOut += uint64(len(payload))
	return nil
}

// holdSend keeps a message for r until r's address is verified, pinging it
// to verify it.
func (c *Core) holdSend(now Time, r *record, payload []byte) {
	if len(c.um.held) >= maxHeldSends || c.failedRecently(r) {
		c.stats.SendsDropped++
		return
	}
	c.um.held = append(c.um.held, heldSend{to: r.id, expires: now.Add(c.pendingTTL()), payload: payload})
	if !c.verifying(r.id) {
		c.startProbe(now, r, probeVerify)
	}
}

// verifiedFor notes that a member was verified: held sends to it go at
// the next tick (not while a datagram is being answered, whose reply
// budget they are not part of).
func (c *Core) verifiedFor(id ID) {
	for i := range c.um.held {
		if c.um.held[i].to == id {
			c.um.ready = true
			return
		}
	}
}

// tickUserMsgs sends the held messages whose member was verified and drops
// those that waited too long or whose member is gone.
func (c *Core) tickUserMsgs(now Time) {
	if len(c.um.held) == 0 {
		return
	}
	c.um.ready = false
	kept := c.um.held[:0]
	for _, h := range c.um.held {
		r := c.lookup(h.to)
		switch {
		case r == nil || !r.live():
			c.stats.SendsDropped++
		case c.verified(r):
			if c.sendUser(r, h.payload) != nil {
				c.stats.SendsDropped++
			}
		case now >= h.expires:
			c.stats.SendsDropped++
		default:
			kept = append(kept, h)
		}
	}
	clear(c.um.held[len(kept):])
	c.um.held = kept
}

// nextUserMsg is when tickUserMsgs next has work: now when a held message
// can go, else when the first one expires.
func (c *Core) nextUserMsg() Time {
	if len(c.um.held) == 0 {
		return 0
	}
	if c.um.ready {
		return c.now
	}
	d := c.um.held[0].expires
	for i := range c.um.held {
		d = min(d, c.um.held[i].expires)
	}
	return d
}

// onUser handles a user message x with payload p in a datagram of type t
// from from, sent by the member the header h names. first says whether it
// is the datagram's first user message; relay whether a broadcast may be
// relayed (it came by gossip, not by a bulk transfer).
func (c *Core) onUser(now Time, from netip.AddrPort, h *codec.Header, x *codec.UserMsg, p []byte, first, relay bool) {
	if x.Broadcast {
		c.onBroadcast(now, x, p, relay)
		return
	}
	origin := ID(x.Origin)
	// A message to this node alone comes in a MsgUser datagram, one a
	// datagram, from the member that wrote it, at the address this node
	// holds for it.
	r := c.lookup(origin)
	if h.Type != codec.MsgUser || !first || origin != ID(h.Sender) || x.Generation != h.Generation ||
		r == nil || !r.live() || r.gen != x.Generation || r.addr() != from || origin == c.id {
		c.stats.SendsRefused++
		return
	}
	switch c.msgFresh(now, origin, x.Generation, x.Seq) {
	case msgDuplicate:
		c.stats.MessageDuplicates++
		return
	case msgRefused:
		c.stats.SendsRefused++
		return
	}
	if !c.takeRate(now, origin) {
		c.stats.SendsRefused++
		return
	}
	c.stats.SendsReceived++
	c.stats.MessageBytesIn += uint64(len(p))
	c.deliver(r, p, false)
}

// onBroadcast handles a broadcast: it delivers and relays one it has not
// seen, from an origin it holds live at the message's generation.
func (c *Core) onBroadcast(now Time, x *codec.UserMsg, p []byte, relay bool) {
	origin := ID(x.Origin)
	if origin == c.id {
		c.stats.MessageDuplicates++ // our own, relayed back to us
		return
	}
	r := c.lookup(origin)
	if !c.reply.trusted || r == nil || !r.live() || r.gen != x.Generation {
		c.stats.BroadcastsRefused++
		return
	}
	switch c.msgFresh(now, origin, x.Generation, x.Seq) {
	case msgDuplicate:
		c.stats.MessageDuplicates++
		return
	case msgRefused:
		c.stats.BroadcastsRefused++
		return
	}
	c.stats.BroadcastsReceived++
	c.stats.MessageBytesIn += uint64(len(p))
	c.deliver(r, p, true)
	if relay && len(p) <= c.cfg.MaxMessageSize() {
		c.q.user.add(origin, x.Generation, x.Seq, bytes.Clone(p))
	}
}

// deliver emits a message from r.
func (c *Core) deliver(r *record, p []byte, broadcast bool) {
	e := Event{Type: EventMessage, Member: r.member(), Broadcast: broadcast}
	if c.env.OnEvent != nil {
		e.Payload = bytes.Clone(p)
		if e.Payload == nil {
			e.Payload = []byte{}
		}
	}
	c.emit(e)
}

// piggybackUser adds queued broadcasts to the datagram being built, in the
// room membership updates left, least-sent first; it returns how many it
// added. One that does not fit is skipped for smaller ones, a few times.
func (c *Core) piggybackUser() int {
	l := &c.q.user
	n := 0
	for misses := 0; l.n > 0 && misses < 4; {
		room := c.bld.UserRoom()
		if room < 0 {
			break
		}
		i := l.take()
		if i < 0 {
			break
		}
		it := &l.items[i]
		if len(it.payload) > room {
			misses++ // goes back unchanged at finish
			continue
		}
		c.bld.AddUser(codec.UserMsg{Origin: uint64(it.origin), Generation: it.gen, Seq: it.seq, Broadcast: true}, it.payload)
		l.markSent()
		n++
		c.stats.BroadcastsRelayed++
		c.stats.MessageBytesOut += uint64(len(it.payload))
	}
	return n
}

// Verdicts of msgFresh.
const (
	msgNew = iota
	msgDuplicate
	msgRefused
)

// msgFresh records message seq of origin at gen in its window and says
// whether it is new, a duplicate, or refused (older than the window, or
// implausibly far ahead of it).
func (c *Core) msgFresh(now Time, origin ID, gen uint64, seq uint32) int {
	if seq == 0 {
		return msgRefused // numbers start at 1
	}
	if c.um.wins == nil {
		c.um.wins = make(map[ID]*msgWin)
	}
	w := c.um.wins[origin]
	if w == nil {
		if len(c.um.wins) >= maxMsgWindows {
			c.evictMsgWindow()
		}
		w = new(msgWin)
		c.um.wins[origin] = w
	}
	switch {
	case w.gen == 0 || gen > w.gen:
		*w = msgWin{gen: gen, top: seq, at: now, used: now}
		w.bits[0] = 1
		return msgNew
	case gen < w.gen:
		return msgRefused
	}
	if seq > w.top {
		jump := uint64(seq - w.top)
		if limit := msgSeqJump + uint64(max(0, now.Sub(w.at).Seconds()))*msgSeqRate; jump > limit {
			return msgRefused
		}
		w.shift(seq - w.top)
		w.top, w.at, w.used = seq, now, now
		w.bits[0] |= 1
		return msgNew
	}
	d := w.top - seq
	if d >= msgWindow {
		return msgRefused
	}
	word, bit := d/64, d%64
	if w.bits[word]&(1<<bit) != 0 {
		return msgDuplicate
	}
	w.bits[word] |= 1 << bit
	w.used = now
	return msgNew
}

// shift moves the window up by n sequence numbers (see shiftWindow).
func (w *msgWin) shift(n uint32) { shiftWindow(w.bits[:], n) }

// evictMsgWindow forgets the window used longest ago (the lowest ID among
// equals, so that the choice does not depend on map order).
func (c *Core) evictMsgWindow() {
	var victim ID
	at := Time(-1)
	for id, w := range c.um.wins {
		if at < 0 || w.used < at || w.used == at && id < victim {
			victim, at = id, w.used
		}
	}
	delete(c.um.wins, victim)
}

// takeRate takes one message from sender's rate and the node's, reporting
// false when either is spent.
func (c *Core) takeRate(now Time, sender ID) bool {
	rate := float64(c.cfg.MaxMessageRate)
	per := max(1, rate/8)
	c.um.total.refill(now, rate, rate)
	if c.um.senders == nil {
		c.um.senders = make(map[ID]*rateBucket)
	}
	b := c.um.senders[sender]
	if b == nil {
		if len(c.um.senders) >= maxMsgSenders {
			c.evictSender()
		}
		b = &rateBucket{tokens: per, at: now}
		c.um.senders[sender] = b
	}
	b.refill(now, per, per)
	if b.tokens < 1 || c.um.total.tokens < 1 {
		return false
	}
	b.tokens--
	c.um.total.tokens--
	return true
}

func (b *rateBucket) refill(now Time, rate, burst float64) {
	if dt := now.Sub(b.at); dt > 0 {
		b.tokens = min(burst, b.tokens+rate*dt.Seconds())
		b.at = now
	}
}

// evictSender forgets the sender whose bucket was refilled longest ago
// (the lowest ID among equals).
func (c *Core) evictSender() {
	var victim ID
	at := Time(-1)
	for id, b := range c.um.senders {
		if at < 0 || b.at < at || b.at == at && id < victim {
			victim, at = id, b.at
		}
	}
	delete(c.um.senders, victim)
}
