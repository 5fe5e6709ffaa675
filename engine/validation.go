package engine

import (
	"crypto/aes"
	"crypto/cipher"
	"encoding/binary"
	"net/netip"
	"time"

	"github.com/hearsay-io/hearsay/codec"
)

// Address validation and reply budgets.
//
// A datagram's source address can be forged, so whatever a node sends back
// to it may land on someone who never asked. Until an address has proven
// that it receives what is sent to it, a node answers a datagram from it
// with at most as many bytes as the datagram had, everything it sends to
// that address while handling the datagram counted (sealed size on both
// sides). An address proves itself by echoing a token (codec.Echo) that
// only this node can compute and that it sent only there, in a Retry;
// QUIC's Retry, DNS cookies and WireGuard's cookie reply work alike. The
// token is stateless for the issuer: a keyed hash (two AES blocks, a CBC-MAC
// over fixed-length input) of the address and an epoch, so the issuer keeps
// nothing per requester and tokens expire with the epoch.
//
// A node also trusts, for a short while, the addresses it sent a request to
// itself (expectations): the answers it then answers in turn go to a peer
// it chose, not to one a forger chose.
//
// Validated answers may exceed the request, within two token buckets: one
// per peer and one for the node, refilled at MaxReplyBytes per second for
// the node and an eighth of it per peer. A request whose answer would not
// fit is answered, within the datagram's own size, by a Retry: with a token
// to echo when the address is unvalidated, or with a wait when the node is
// out of budget. Every refusal is counted.

// tokenEpoch is how long a token epoch lasts; a token is accepted in the
// epoch it was made and the next, so it lives between one and two epochs.
const tokenEpoch = time.Minute

// expectWindow is how long an address a request was sent to stays trusted
// to be answered in turn.
const expectWindow = 4 * time.Second

// maxPeerStates bounds the per-address state a node keeps (tokens received,
// expectations, reply buckets).
const maxPeerStates = 256

// peerState is what a node keeps about one address it exchanges with.
type peerState struct {
	token     uint64 // the peer's token for our address, to echo
	epoch     uint32
	tokenAt   Time          // when the token was received; zero: none
	expect    Time          // until when answers from this address are expected
	retried   codec.MsgType // the last request a Retry was followed for
	retriedAt Time
	askedAt   [askTypes]Time // when a request of each message type last went there
	id        ID             // the member at this address, when a Retry from it named it
	bucket    float64        // reply bytes this peer may still be sent
	bucketAt  Time
	intro     float64 // new members this source may still introduce
	introAt   Time
	lastTouch Time
}

// replyState limits what is sent in answer to the datagram being handled.
type replyState struct {
	active    bool
	from      netip.AddrPort
	left      int                // bytes still allowed to from
	validated bool               // from echoed our token or was expected
	echoed    bool               // from echoed a valid token
	used      int                // bytes sent to from
	verdict   ID                 // a member to tell what we hold about it, when the budget allows
	self      bool               // the sender holds stale news about us: send it our record, when the budget allows
	selfFirst bool               // it holds us dead from before our refutation: our record goes in the ack (onPing)
	claimed   bool               // the datagram claims this node suspect or dead: a ping in it is answered with copies (onPing)
	stale     [maxCorrections]ID // members the sender holds accused while we hold their refutations: send them, when the budget allows
	nstale    int
	announce  bool // this node's record is to be announced (authority.go)
	accuser   ID   // and sent to this member too, when not 0
	sender    ID   // the datagram's sender, for whom the answers are sealed
	trusted   bool // new members the datagram names may enter the table (see admission.go)
	solicited bool // it answers a request of ours
	// asks holds, by message type, the requests sent to from while the
	// datagram is handled; they are expected from its end (see expect).
	asks uint16
}

// askTypes is how many message types the requests to a peer are noted
// for (peerState.askedAt, replyState.asks): every type that is a request.
const askTypes = 16

// validator holds the token key and the per-address state.
type validator struct {
	block cipher.Block
	buf   [32]byte // scratch for token; a field, so that it does not escape per call
	peers map[netip.AddrPort]peerState
	node  float64 // the node's reply bucket
	at    Time
	// selfTold rate-limits tellSelf per address, corrTold correct.
	selfTold, corrTold [64]struct {
		to netip.AddrPort
		at Time
	}
}

func newValidator(key [16]byte) validator {
	b, err := aes.NewCipher(key[:])
	if err != nil {
		panic("hearsay: aes.NewCipher: " + err.Error()) // a 16-byte key cannot fail
	}
	return validator{block: b, peers: make(map[netip.AddrPort]peerState)}
}

// epochAt returns the token epoch at now.
func epochAt(now Time) uint32 { return uint32(int64(now) / int64(tokenEpoch)) }

// token computes this node's token for addr in epoch e.
func (v *validator) token(addr netip.AddrPort, e uint32) uint64 {
	b, x := v.buf[:16], v.buf[16:]
	a := addr.Addr().As16()
	copy(x, a[:])
	v.block.Encrypt(b, x)
	clear(x)
	binary.BigEndian.PutUint16(x[0:], addr.Port())
	binary.BigEndian.PutUint32(x[2:], e)
	for i := range b {
		b[i] ^= x[i]
	}
	v.block.Encrypt(b, b)
	t := binary.BigEndian.Uint64(b)
	if t == 0 {
		t = 1 // zero means no token on the wire
	}
	return t
}

// checkEcho reports whether e is a token this node issued for from, in the
// current or the previous epoch.
func (c *Core) checkEcho(from netip.AddrPort, e *codec.Echo) bool {
	now := epochAt(c.now)
	if e.Epoch != now && e.Epoch+1 != now {
		return false
	}
	return e.Token != 0 && c.val.token(from, e.Epoch) == e.Token
}

// peerState returns the state kept for addr, if any.
func (c *Core) peerState(addr netip.AddrPort) (peerState, bool) {
	p, ok := c.val.peers[addr]
	return p, ok
}

// setPeerState stores p for addr, evicting the least recently touched entry
// when the table is full.
func (c *Core) setPeerState(addr netip.AddrPort, p peerState) {
	p.lastTouch = c.now
	if _, ok := c.val.peers[addr]; !ok && len(c.val.peers) >= maxPeerStates {
		c.evictPeerState()
	}
	c.val.peers[addr] = p
}

// evictPeerState removes the entry touched longest ago, or one whose every
// part has expired.
func (c *Core) evictPeerState() {
	var oldest netip.AddrPort
	at := Time(-1)
	for a, p := range c.val.peers {
		if c.peerIdle(&p) {
			delete(c.val.peers, a)
			return
		}
		if at < 0 || p.lastTouch < at {
			oldest, at = a, p.lastTouch
		}
	}
	delete(c.val.peers, oldest)
}

// peerIdle reports whether p holds nothing that is still in force.
func (c *Core) peerIdle(p *peerState) bool {
	return (p.tokenAt == 0 || c.now.Sub(p.tokenAt) >= tokenEpoch) && c.now >= p.expect &&
		c.now.Sub(p.bucketAt) >= time.Second
}

// expect notes that a request of type t was sent to addr: its answers are
// answered in turn for expectWindow.
//
// A request to the address whose datagram is being handled (a sync its
// heartbeats asked for, a request a Retry in it asked again) is noted when
// the datagram's handling ends: the datagram cannot answer it, and what
// it holds must be judged by what was expected when it arrived.
func (c *Core) expect(addr netip.AddrPort, t codec.MsgType) {
	if addr == c.reply.from && addr.IsValid() && int(t) < askTypes {
		c.reply.asks |= 1 << t
		return
	}
	p, _ := c.peerState(addr)
	p.expect = c.now.Add(expectWindow)
	if int(t) < len(p.askedAt) {
		p.askedAt[t] = c.now
	}
	c.setPeerState(addr, p)
}

// expected reports whether addr is an address this node sent a request to
// within expectWindow.
func (c *Core) expected(addr netip.AddrPort) bool {
	p, ok := c.val.peers[addr]
	return ok && c.now < p.expect
}

// echoFor returns the token addr gave this node, if it holds a fresh one.
func (c *Core) echoFor(addr netip.AddrPort) (codec.Echo, bool) {
	p, ok := c.val.peers[addr]
	if !ok || p.tokenAt == 0 || c.now.Sub(p.tokenAt) >= tokenEpoch {
		return codec.Echo{}, false
	}
	return codec.Echo{Token: p.token, Epoch: p.epoch}, true
}

// addEcho adds to the datagram being built the token to's node gave us, if
// any, so that its answer may exceed the request.
func (c *Core) addEcho(to netip.AddrPort) {
	if e, ok := c.echoFor(to); ok {
		c.bld.AddEcho(e)
	}
}

// startReply begins handling a datagram of size bytes (as received) from
// from; echoed says whether it carried a valid Echo of our token.
func (c *Core) startReply(from netip.AddrPort, size int, echoed bool) {
	r := replyState{active: true, from: from, left: size, echoed: echoed}
	if echoed || c.expected(from) {
		r.validated = true
		c.refillReplyBudgets()
		c.refillPeer(from)
		p := c.val.peers[from]
		r.left = max(size, int(min(p.bucket, c.val.node)))
	}
	c.reply = r
}

// endReply sends an announcement the datagram called for and a verdict
// owed to the sender if the budget still allows, charges what was sent to
// the reply buckets and stops counting.
func (c *Core) endReply(now Time) {
	r := &c.reply
	if r.announce {
		r.announce = false
		c.announceNow(r.accuser)
	}
	if r.verdict != 0 {
		if m := c.lookup(r.verdict); m != nil && r.left >= c.probeSize() {
			c.tellVerdict(now, r.from, m)
		}
	}
	if r.self && r.left >= c.selfSize() {
		c.tellSelf(now, r.from)
	}
	if r.nstale > 0 && r.left >= c.selfSize() {
		c.correct(now, r.from, r.stale[:r.nstale])
	}
	if r.active && r.validated && r.used > 0 {
		c.val.node -= float64(r.used)
		if p, ok := c.val.peers[r.from]; ok {
			p.bucket -= float64(r.used)
			c.val.peers[r.from] = p
		}
	}
	from, asks := r.from, r.asks
	*r = replyState{}
	for t := codec.MsgType(0); asks != 0; t, asks = t+1, asks>>1 {
		if asks&1 != 0 {
			c.expect(from, t)
		}
	}
}

// refillReplyBudgets tops up the node's bucket and, lazily, the answering
// peer's.
func (c *Core) refillReplyBudgets() {
	rate := float64(c.cfg.MaxReplyBytes)
	if dt := c.now.Sub(c.val.at); dt > 0 {
		c.val.node = min(rate, c.val.node+rate*dt.Seconds())
		c.val.at = c.now
	}
}

// refillPeer tops up addr's bucket; it creates the state only for an
// address that proved itself.
func (c *Core) refillPeer(addr netip.AddrPort) {
	p, ok := c.val.peers[addr]
	if !ok {
		p = peerState{bucket: float64(c.cfg.MaxReplyBytes) / 4, bucketAt: c.now}
	}
	rate := float64(c.cfg.MaxReplyBytes) / 8
	if dt := c.now.Sub(p.bucketAt); dt > 0 {
		p.bucket = min(float64(c.cfg.MaxReplyBytes)/4, p.bucket+rate*dt.Seconds())
		p.bucketAt = c.now
	}
	c.setPeerState(addr, p)
}

// replyRoom returns how many bytes may still be sent to to while a
// datagram is handled: the budget when to is the datagram's source, else
// the datagram size limit.
func (c *Core) replyRoom(to netip.AddrPort) int {
	if c.reply.active && to == c.reply.from {
		return c.reply.left
	}
	return c.cfg.MaxDatagramSize
}

// charge counts n bytes sent to to against the reply budget. It reports
// false, counting the refusal, when they do not fit.
func (c *Core) charge(to netip.AddrPort, n int) bool {
	if !c.reply.active || to != c.reply.from {
		return true
	}
	if n > c.reply.left {
		c.stats.RefusedReplies++
		c.stats.RefusedReplyBytes += uint64(n)
		return false
	}
	c.reply.left -= n
	c.reply.used += n
	return true
}

// sendRetry answers a request of type t that is not served in full with a
// Retry: with a token when from is not validated, with a wait (after) when
// the node is out of budget. It fits the reply budget or is not sent.
func (c *Core) sendRetry(to netip.AddrPort, t codec.MsgType, after time.Duration) {
	r := codec.Retry{For: t}
	if !c.reply.validated {
		r.Epoch = epochAt(c.now)
		r.Token = c.val.token(to, r.Epoch)
		c.stats.RetriesSent++
	} else {
		ms := after.Milliseconds()
		r.After = uint16(min(max(ms, 1), 1<<16-1))
		c.stats.BusySent++
	}
	c.beginTo(codec.MsgRetry, to)
	c.bld.AddRetry(r)
	c.send(to, codec.MsgRetry)
}

// onRetry handles a Retry from an address this node sent the named request
// to: it keeps the token and sends the request again, at once or after the
// wait. A Retry from anywhere else, or a second token for the same request,
// is ignored. A wait is always taken: it answers a request sent with the
// token (busy after a token), sends nothing at once, and so cannot loop.
func (c *Core) onRetry(now Time, from netip.AddrPort, r *codec.Retry) {
	p, ok := c.val.peers[from]
	asked := int(r.For) < len(p.askedAt) && p.askedAt[r.For] != 0 && now < p.askedAt[r.For].Add(expectWindow)
	if !ok || !asked || r.After == 0 && p.retried == r.For && now < p.retriedAt.Add(expectWindow) {
		c.stats.DropUnsolicited++
		return
	}
	if r.After == 0 {
		p.retried, p.retriedAt = r.For, now
	}
	p.id = c.reply.sender // so that what we send again is sealed for it
	if r.Token != 0 {
		p.token, p.epoch, p.tokenAt = r.Token, r.Epoch, now
	}
	c.setPeerState(from, p)
	wait := time.Duration(r.After) * time.Millisecond
	switch r.For {
	case codec.MsgJoin:
		c.retryJoin(now, from, wait)
	case codec.MsgSync:
		if wait == 0 {
			c.syncWith(now, from, c.reply.sender)
		}
	case codec.MsgShardRequest:
		c.retryWants(now, from, wait)
	}
}

// replyRefill returns how long until addr's reply bucket and the node's hold
// a full datagram again.
func (c *Core) replyRefill(addr netip.AddrPort) time.Duration {
	need := float64(c.cfg.MaxDatagramSize)
	p := c.val.peers[addr]
	rate := float64(c.cfg.MaxReplyBytes)
	wait := 0.0
	if p.bucket < need {
		wait = (need - p.bucket) / (rate / 8)
	}
	if c.val.node < need {
		wait = max(wait, (need-c.val.node)/rate)
	}
	return time.Duration(wait*float64(time.Second)) + time.Millisecond
}

// sidePing sends a ping with no piggybacked updates to to (an admission,
// doubt or revival check) and reports whether it went. While a datagram is
// handled, the ping is part of the answer to it wherever it goes: it must
// fit the datagram's reply budget, or it waits for the next tick.
func (c *Core) sidePing(to netip.AddrPort, seq uint32, target ID, about *record) bool {
	size := c.probeSize()
	pad := 0
	if about != nil {
		size += codec.SectionHeaderSize + codec.MemberSize
		if about.id == target {
			pad = c.claimPad()
			size = max(size, pad)
		}
	}
	active := c.reply.active
	if active {
		if size > c.reply.left {
			c.stats.RefusedReplies++
			return false
		}
		c.reply.left -= size
		c.reply.used += size
		c.reply.active = false // charged here, wherever it goes
	}
	c.begin(codec.MsgPing)
	c.bld.AddPing(codec.Ping{Seq: seq, Target: uint64(target)})
	if about != nil {
		var m codec.Member
		c.wire(about, &m, c.id)
		c.bld.AddMember(&m)
	}
	c.aim(to, target)
	c.pad = pad
	c.send(to, codec.MsgPing)
	c.pad = 0
	c.reply.active = active
	return true
}
