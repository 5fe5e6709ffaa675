package fuzz_test

import (
	"net/netip"
	"time"

	"github.com/hearsay-io/hearsay/codec"
	"github.com/hearsay-io/hearsay/engine"
)

// The checker's model of the node's exchanges with other addresses, built
// from what the node sends (its outbox) and what it is sent: the requests
// it made, which make answers from their address expected (address
// validation, engine/validation.go); the shard requests it has open; the
// Retry tokens it issued, which an Echo must return; and, in a sealed
// cluster, the replay window it keeps per sender (engine/replay.go).

// tri is a model's answer where the checker cannot always see the node's
// state: an answer sent but refused by the reply budget may still have
// noted a request, and a shard request may close early.
type tri int8

const (
	no tri = iota
	maybe
	yes
)

// expectWindow is how long an address the node sent a request to counts
// as validated (engine/validation.go).
const expectWindow = 4 * time.Second

type reqKey struct {
	addr netip.AddrPort
	typ  codec.MsgType
}

type shardKey struct {
	addr  netip.AddrPort
	shard uint32
}

type tokenKey struct {
	addr  netip.AddrPort
	epoch uint32
}

type retryMark struct {
	typ codec.MsgType
	at  engine.Time
}

// peers is the model.
type peers struct {
	sent   map[reqKey]engine.Time   // when the node last sent a request of a type to an address
	shards map[shardKey]engine.Time // when it last asked an address for a shard
	// blind: when an answer to the address was refused by the reply
	// budget; the node may have noted a request (and opened shard
	// requests) that it did not send.
	blind    map[netip.AddrPort]engine.Time
	tokens   map[tokenKey]uint64 // the tokens the node issued in Retry answers
	followed map[netip.AddrPort]retryMark
	windows  map[uint64]*senderWins
	lastTick engine.Time
}

func newPeers() peers {
	return peers{
		sent:     make(map[reqKey]engine.Time),
		shards:   make(map[shardKey]engine.Time),
		blind:    make(map[netip.AddrPort]engine.Time),
		tokens:   make(map[tokenKey]uint64),
		followed: make(map[netip.AddrPort]retryMark),
		windows:  make(map[uint64]*senderWins),
	}
}

// within reports whether t is set and now is before t+d.
func within(t, now engine.Time, d time.Duration) bool { return t != 0 && now < t.Add(d) }

// expected says whether the node counts answers from addr as expected: it
// sent a Sync, ShardRequest or Join there within expectWindow.
func (ck *checker) expected(addr netip.AddrPort) tri {
	p := &ck.peers
	for _, t := range []codec.MsgType{codec.MsgSync, codec.MsgShardRequest, codec.MsgJoin} {
		if within(p.sent[reqKey{addr, t}], ck.now, expectWindow) {
			return yes
		}
	}
	if within(p.blind[addr], ck.now, expectWindow) {
		return maybe
	}
	return no
}

// expectedFor says whether the node sent addr a request of type t within
// expectWindow, as a Retry for t must answer.
func (ck *checker) expectedFor(addr netip.AddrPort, t codec.MsgType) tri {
	p := &ck.peers
	switch {
	case within(p.sent[reqKey{addr, t}], ck.now, expectWindow):
		return yes
	case within(p.blind[addr], ck.now, expectWindow):
		return maybe
	}
	return no
}

// wantTimeout is how long a shard request stays open: until the first tick
// 4 × IndirectTimeout after it (engine/sync.go).
func (ck *checker) wantTimeout() time.Duration { return 4 * ck.cfg.IndirectTimeout }

// openUntilTick reports whether something begun at t may still be open:
// no tick has run at or after t + wantTimeout.
func (ck *checker) openUntilTick(t engine.Time) bool {
	return t != 0 && ck.peers.lastTick < t.Add(ck.wantTimeout())
}

// wantsFrom says whether the node may have a shard request open to addr.
// The node closes a request when the whole answer arrived, which the
// checker does not follow, so the answer is never yes.
func (ck *checker) wantsFrom(addr netip.AddrPort) tri {
	p := &ck.peers
	if ck.openUntilTick(p.sent[reqKey{addr, codec.MsgShardRequest}]) || ck.openUntilTick(p.blind[addr]) {
		return maybe
	}
	return no
}

// wantsShard says whether the node may have a request for shard open to
// addr.
func (ck *checker) wantsShard(addr netip.AddrPort, shard uint32) tri {
	p := &ck.peers
	if ck.openUntilTick(p.shards[shardKey{addr, shard}]) || ck.openUntilTick(p.blind[addr]) {
		return maybe
	}
	return no
}

// echoed reports whether the datagram carries a valid Echo for from: the
// first record of an Echo section returns a token the node issued to from
// in the current token epoch or the one before, and the datagram is sealed
// for the node (an unbound one proves nothing, whatever it echoes).
func (ck *checker) echoed(from netip.AddrPort, rd *reading) bool {
	if rd.unbound {
		return false
	}
	cur := epochAt(ck.now)
	var r codec.Reader
	r.Reset(rd.sections, rd.body)
	for r.Next() {
		if r.Type() != codec.RecEcho || r.Count() == 0 {
			continue
		}
		e, _, _ := codec.ParseEcho(r.Record(0))
		if e.Token != 0 && (e.Epoch == cur || e.Epoch+1 == cur) && ck.token(from, e.Epoch) == e.Token {
			return true
		}
	}
	return false
}

// token returns the token the node gives addr in epoch e: the one it
// issued in a Retry, or, when it issued none in this run, the one it would
// (tokens are stateless, a keyed hash of the address and epoch, so an
// input may carry one learnt from another run of the same node: the
// harness's tokens oracle), or 0 when unknown.
func (ck *checker) token(addr netip.AddrPort, e uint32) uint64 {
	if t, ok := ck.peers.tokens[tokenKey{addr, e}]; ok {
		return t
	}
	if ck.tokens != nil {
		return ck.tokens(addr, e)
	}
	return 0
}

// validated says whether the node may answer the datagram beyond its size:
// it carries a valid Echo or comes from an expected address.
func (ck *checker) validated(from netip.AddrPort, rd *reading) tri {
	if ck.echoed(from, rd) {
		return yes
	}
	return ck.expected(from)
}

// noteSent records a datagram the node sent, as far as the model needs it.
func (ck *checker) noteSent(to netip.AddrPort, h *codec.Header, body []byte) {
	p := &ck.peers
	switch h.Type {
	case codec.MsgSync, codec.MsgJoin:
		p.sent[reqKey{to, h.Type}] = ck.now
	case codec.MsgShardRequest:
		p.sent[reqKey{to, h.Type}] = ck.now
		var r codec.Reader
		r.Reset(int(h.Sections), body)
		for r.Next() {
			if r.Type() != codec.RecShardRef {
				continue
			}
			for i := 0; i < r.Count(); i++ {
				ref, _, _ := codec.ParseShardRef(r.Record(i))
				p.shards[shardKey{to, ref.Shard}] = ck.now
			}
		}
	case codec.MsgRetry:
		var r codec.Reader
		r.Reset(int(h.Sections), body)
		for r.Next() {
			if r.Type() != codec.RecRetry {
				continue
			}
			for i := 0; i < r.Count(); i++ {
				x, _, _ := codec.ParseRetry(r.Record(i))
				if x.Token == 0 {
					continue
				}
				k := tokenKey{to, x.Epoch}
				if old, ok := p.tokens[k]; ok && old != x.Token {
					ck.failf("the node issued two tokens for %v in epoch %d: %#x and %#x", to, x.Epoch, old, x.Token)
				}
				p.tokens[k] = x.Token
			}
		}
	}
}

// retryOf returns the Retry record the node acts on in a MsgRetry body:
// the first of the first section that holds any.
func retryOf(rd *reading) (codec.Retry, bool) {
	var r codec.Reader
	r.Reset(rd.sections, rd.body)
	for r.Next() {
		if r.Type() == codec.RecRetry && r.Count() > 0 {
			x, _, _ := codec.ParseRetry(r.Record(0))
			return x, true
		}
	}
	return codec.Retry{}, false
}

// shardsAnswered says whether a shard-data body from addr answers shards
// the node asked addr for, as engine/sync.go's solicited reads it: no
// when a member or state record comes before its first ShardRef or none
// of its ShardRefs names a shard that may be asked, maybe when one does
// (the checker does not follow when a request closes).
func (ck *checker) shardsAnswered(addr netip.AddrPort, rd *reading) tri {
	var r codec.Reader
	r.Reset(rd.sections, rd.body)
	named, asked := false, no
	for r.Next() {
		switch r.Type() {
		case codec.RecShardRef:
			named = true
			for i := 0; i < r.Count() && asked == no; i++ {
				ref, _, _ := codec.ParseShardRef(r.Record(i))
				asked = ck.wantsShard(addr, ref.Shard)
			}
		case codec.RecMember, codec.RecState:
			if !named {
				return no
			}
		}
	}
	return asked
}

// The replay window (RFC 6479), as engine/replay.go describes it: per
// sender, the highest sequence number seen in its current generation and
// which of the 128 below it were seen; a sequence number implausibly far
// above the top (more than maxSeqJump, plus maxSeqRate per whole second
// since the top last rose) is refused as implausible; a datagram of a later
// generation than the node holds for the sender goes to a second window,
// which becomes the current one once the node holds that generation.
const (
	replayWindow = 128
	maxSeqJump   = 1 << 16
	maxSeqRate   = 1 << 20
)

type replayWin struct {
	gen  uint64
	top  uint32
	at   engine.Time // when top last rose
	seen map[uint32]bool
}

func newWin(h *codec.Header, now engine.Time) *replayWin {
	return &replayWin{gen: h.Generation, top: h.Seq, at: now, seen: map[uint32]bool{h.Seq: true}}
}

// senderWins are a sender's windows: for the generation the node holds,
// and for a later one it has not learned yet (nil when none).
type senderWins struct{ cur, next *replayWin }

// fresh says whether the sealed datagram with header h is new from its
// sender: "" if so, else why not ("a replay", or "an implausible
// sequence number"). It returns the function that records what the node
// records of it (the datagram, if fresh, and a window promoted on the way);
// the caller runs it once it knows the gate got that far. A sender the
// node has no window for must not be at a generation older than the node's
// record of it.
func (ck *checker) fresh(h *codec.Header) (string, func()) {
	p := &ck.peers
	id, now, hdr := h.Sender, ck.now, *h
	held, inTable := memberIn(ck.before, engine.ID(id))
	sw, ok := p.windows[id]
	if !ok {
		if inTable && h.Generation < held.Generation {
			return "a replay", nil
		}
		return "", func() { p.windows[id] = &senderWins{cur: newWin(&hdr, now)} }
	}
	// Work on a copy, committed by the returned function.
	cur, next := *sw.cur, (*replayWin)(nil)
	if sw.next != nil {
		n := *sw.next
		next = &n
	}
	cur.seen, next = copySeen(cur.seen), copyWin(next)
	if next != nil && inTable && held.Generation >= next.gen {
		cur, next = *next, nil // the node learned the sender restarted
	}
	commit := func() { p.windows[id] = &senderWins{cur: &cur, next: next} }
	w := &cur
	switch {
	case h.Generation < cur.gen:
		return "a replay", commit
	case h.Generation > cur.gen:
		if inTable && held.Generation >= h.Generation {
			cur, next = *newWin(&hdr, now), nil
			return "", commit
		}
		if next == nil || h.Generation != next.gen {
			next = newWin(&hdr, now)
			return "", commit
		}
		w = next
	}
	if h.Seq > w.top {
		secs := int64(0)
		if now > w.at {
			secs = int64(time.Duration(now-w.at) / time.Second)
		}
		if uint64(h.Seq-w.top) > maxSeqJump+uint64(secs)*maxSeqRate {
			return "an implausible sequence number", commit
		}
		w.top, w.at = h.Seq, now
		w.seen[h.Seq] = true
		return "", commit
	}
	if w.top-h.Seq >= replayWindow || w.seen[h.Seq] {
		return "a replay", commit
	}
	w.seen[h.Seq] = true
	return "", commit
}

func copySeen(m map[uint32]bool) map[uint32]bool {
	c := make(map[uint32]bool, len(m))
	for k, v := range m {
		c[k] = v
	}
	return c
}

func copyWin(w *replayWin) *replayWin {
	if w == nil {
		return nil
	}
	c := *w
	c.seen = copySeen(w.seen)
	return &c
}

// memberIn returns the member id of ms.
func memberIn(ms []engine.Member, id engine.ID) (engine.Member, bool) {
	for _, m := range ms {
		if m.ID == id {
			return m, true
		}
	}
	return engine.Member{}, false
}
