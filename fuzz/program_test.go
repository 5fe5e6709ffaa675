package fuzz_test

import (
	"fmt"
	"net/netip"

	"github.com/hearsay-io/hearsay/codec"
	"github.com/hearsay-io/hearsay/codec/bulk"
	"github.com/hearsay-io/hearsay/engine"
)

// FuzzCoreSequence reads its input as a program whose every instruction
// builds something well formed, so that mutations reach the protocol
// rather than the decoder. A program is:
//
//	flags  1 byte: bit 0 gives the cluster keys (every datagram is sealed)
//	node   1 byte: which world node the target plays
//	ops    at most maxOps instructions, each an opcode byte and operands:
//
//	0x00-0x5f  datagram: type, source, sender, generation, incarnation,
//	           options (bit 0 compress, bits 1-3 sections, bit 4 echo
//	           the token the node issued to the source, bits 5-6 in a
//	           cluster with keys whom it is sealed for: 0 the node, as
//	           its peers seal, 1 no one, as a first Join or Sync to a
//	           seed is, 2 the world node after the node, 3 the sender),
//	           seq, then the sections: record type, count, records (a
//	           section of Fingerprint records after a ShardRef lists, as
//	           a shard request does, records of that ShardRef's shard)
//	0x60-0x8f  reply to one of the last datagrams the node sent (index,
//	           kind): an ack to its ping, echoing its sequence number,
//	           from the member pinged; an ack or nack to its ping-req;
//	           to its sync, shard request or join, a Retry with a token
//	           when kind has bit 7 (bit 6: a wait of kind&0x3f ms; bit 5:
//	           naming another request), else the sync reply, shard data
//	           or join reply; to its sync reply, the next sync; to a Retry
//	           it sent, the request it names again, with an Echo of the
//	           token; then options, seq and sections as for a datagram
//	0x90-0xbf  advance time by stepDuration(op & 0xf)
//	0xc0-0xd7  SetState(key, value)
//	0xd8-0xe7  DeleteState(key)
//	0xe8-0xef  Join(a world node)
//	0xf0-0xf3  Broadcast(payload)
//	0xf4-0xf7  Send(member, payload)
//	0xf8-0xff  Leave
//
// Records are of the types the codec defines: besides member records,
// state entries, probes, digests and shard transfers, an Echo (of a token
// the node issued, preferring the source's), a Verdict (what the sender
// holds about the node: generation and incarnation relative to the node's
// own, a state), a Retry (for a request type, a wait, a token) and a user
// message (flags: bit 0 a message for the node alone rather than a
// broadcast; origin, its generation relative to the node's view, a
// sequence number, a payload), which the Builder writes with its payload
// section. A section's record type byte below 0xe0 is the type less one,
// modulo 10 (the types of the first protocol, so that older programs keep
// their meaning); from 0xe0, Echo, Verdict, Retry and user message in
// turn. A message type byte is the type modulo 16 (0, and raw 16 and up,
// are unknown kinds).
//
// Operands are one-byte choices that mostly pick from what the node knows,
// with 0xff escaping to a raw value (see the sel* methods): IDs and
// addresses of world nodes, generations and incarnations relative to the
// node's current view of the member (one lower, equal, one to three
// higher; 0xfe: MaxClockSkew ahead, the highest plausible incarnation),
// state versions relative to the node's version of that key, sequence
// numbers the node used in its latest probes, shards that hold a given
// member, fingerprints of the records the node holds or has listed in its
// own shard requests, tokens the node issued. A record about the node
// itself (ID 0xfd) at a later generation, Left, at the highest
// incarnation, or state under a key it never wrote, is a claim that makes
// it renew. A program that runs out of bytes reads zeros.
const maxOps = 64

type progReader struct {
	b []byte
	i int
}

func (p *progReader) more() bool { return p.i < len(p.b) }

func (p *progReader) u8() byte {
	if p.i >= len(p.b) {
		return 0
	}
	v := p.b[p.i]
	p.i++
	return v
}

func (p *progReader) u16() uint16 { return uint16(p.u8())<<8 | uint16(p.u8()) }
func (p *progReader) u32() uint32 { return uint32(p.u16())<<16 | uint32(p.u16()) }
func (p *progReader) u64() uint64 { return uint64(p.u32())<<32 | uint64(p.u32()) }

// bytes returns the next n bytes, zero-padded past the end.
func (p *progReader) bytes(n int) []byte {
	out := make([]byte, n)
	k := copy(out, p.b[min(p.i, len(p.b)):])
	p.i += k
	return out
}

// outMsg is a datagram the node sent, as far as a reply needs it.
type outMsg struct {
	to     netip.AddrPort
	typ    codec.MsgType
	seq    uint32
	target uint64
	shard  uint32
	retry  codec.Retry // of a MsgRetry
}

// issued is a token the node issued in a Retry.
type issued struct {
	to   netip.AddrPort
	echo codec.Echo
}

// seqRun runs one program.
type seqRun struct {
	p      progReader
	t      *target
	outs   []outMsg        // the latest datagrams sent, oldest first
	seqs   []uint32        // sequence numbers of the latest pings and ping-reqs
	prints []listed        // the latest fingerprints the node listed in its shard requests
	tokens []issued        // the latest tokens the node issued
	shard  int             // shard of the last ShardRef of the datagram under construction, or -1
	from   netip.AddrPort  // source of the datagram under construction
	scan   []engine.Member // scratch for selPrint
	buf    []byte          // datagram under construction
	zip    []byte          // compressed datagram
	seal   []byte          // sealed datagram
	bld    codec.Builder
}

// listed is a fingerprint the node listed after a ShardRef of its own.
type listed struct {
	shard uint32
	sum   uint64
}

const (
	keepOuts   = 16
	keepPrints = 64
	keepTokens = 8
)

// runProgram runs a FuzzCoreSequence input and returns the first broken
// invariant.
func runProgram(in []byte) error {
	_, err := execProgram(in)
	return err
}

// execProgram runs a FuzzCoreSequence input and returns the run, for a
// test to inspect, with the first broken invariant.
func execProgram(in []byte) (*seqRun, error) {
	s := &seqRun{p: progReader{b: in}, shard: -1}
	flags := s.p.u8()
	node := s.p.u8()
	t, err := newTarget(int(node), flags&1 != 0)
	if err != nil {
		return nil, err
	}
	s.t = t
	t.seen = s.observe
	for ops := 0; s.p.more() && ops < maxOps && t.chk.err == nil; ops++ {
		op := s.p.u8()
		before := t.core.Stats()
		switch {
		case op < 0x60:
			s.datagram()
		case op < 0x90:
			s.reply()
		case op < 0xc0:
			t.advance(stepDuration(op & 0xf))
		case op < 0xd8:
			key, value := s.selKey(), s.selValue()
			t.setState(key, value)
		case op < 0xe8:
			t.deleteState(s.selKey())
		case op < 0xf0:
			seed := worldAddrs[int(s.p.u8())%worldN]
			t.call(func() { _ = t.core.Join(t.now, []netip.AddrPort{seed}) })
		case op < 0xf4:
			p := s.selPayload()
			t.call(func() { _ = t.core.Broadcast(t.now, p) })
		case op < 0xf8:
			to, p := engine.ID(s.selID()), s.selPayload()
			t.call(func() { _ = t.core.Send(t.now, to, p) })
		default:
			t.chk.leaving = true
			t.call(func() { t.core.Leave(t.now) })
		}
		if traceInput != nil {
			traceStep(t, fmt.Sprintf("op %#02x", op), &before)
		}
	}
	return s, t.chk.err
}

// observe remembers what a reply may answer, and the fingerprints the node
// lists in its shard requests.
func (s *seqRun) observe(to netip.AddrPort, h *codec.Header, body []byte) {
	o := outMsg{to: to, typ: h.Type}
	var r codec.Reader
	if h.Type == codec.MsgShardRequest {
		r.Reset(int(h.Sections), body)
		var ref codec.ShardRef
		for r.Next() {
			for i := 0; i < r.Count(); i++ {
				switch r.Type() {
				case codec.RecShardRef:
					ref, _, _ = codec.ParseShardRef(r.Record(i))
				case codec.RecPrint:
					p, _, _ := codec.ParseFingerprint(r.Record(i))
					s.prints = appendBounded(s.prints, listed{ref.Shard, p.Sum}, keepPrints)
				}
			}
		}
	}
	r.Reset(int(h.Sections), body)
	for r.Next() && r.Count() > 0 {
		rec := r.Record(0)
		switch r.Type() {
		case codec.RecPing:
			p, _, _ := codec.ParsePing(rec)
			o.seq, o.target = p.Seq, p.Target
			s.seqs = appendBounded(s.seqs, p.Seq, 8)
		case codec.RecPingReq:
			p, _, _ := codec.ParsePingReq(rec)
			o.seq, o.target = p.Seq, p.Target
			s.seqs = appendBounded(s.seqs, p.Seq, 8)
		case codec.RecShardRef:
			ref, _, _ := codec.ParseShardRef(rec)
			o.shard = ref.Shard
		case codec.RecRetry:
			o.retry, _, _ = codec.ParseRetry(rec)
			if o.retry.Token != 0 {
				s.tokens = appendBounded(s.tokens, issued{to, codec.Echo{Token: o.retry.Token, Epoch: o.retry.Epoch}}, keepTokens)
			}
		default:
			continue
		}
		break
	}
	s.outs = appendBounded(s.outs, o, keepOuts)
}

func appendBounded[T any](s []T, v T, n int) []T {
	if len(s) == n {
		copy(s, s[1:])
		s = s[:n-1]
	}
	return append(s, v)
}

// datagram builds a datagram from the program and delivers it.
func (s *seqRun) datagram() {
	typ := s.selType()
	from := s.selFrom()
	sender := s.selID()
	gen, inc := s.view(sender)
	h := codec.Header{Type: typ, Cluster: worldCluster, Sender: sender, Generation: s.selGen(gen), Incarnation: s.selInc(inc)}
	s.finish(from, h, nil)
}

// reply answers one of the node's latest datagrams.
func (s *seqRun) reply() {
	if len(s.outs) == 0 {
		s.datagram()
		return
	}
	o := s.outs[len(s.outs)-1-int(s.p.u8())%len(s.outs)]
	kind := s.p.u8()
	var sender uint64
	switch i := worldIndexOf(o.to); {
	case o.typ == codec.MsgPing:
		sender = o.target // the member pinged answers
	case i >= 0:
		sender = uint64(worldIDs[i])
	default:
		sender = s.selID()
	}
	gen, inc := s.view(sender)
	h := codec.Header{Cluster: worldCluster, Sender: sender, Generation: gen, Incarnation: inc}
	var first func(b *codec.Builder)
	echo := func(b *codec.Builder) {
		if e, ok := s.tokenFor(o.to); ok {
			b.AddEcho(e)
		}
	}
	retry := func(t codec.MsgType) {
		if kind&0x20 != 0 {
			// A Retry naming a request the node did not send here.
			t = map[codec.MsgType]codec.MsgType{codec.MsgSync: codec.MsgJoin, codec.MsgShardRequest: codec.MsgSync, codec.MsgJoin: codec.MsgShardRequest}[t]
		}
		h.Type = codec.MsgRetry
		r := codec.Retry{For: t, Epoch: epochAt(s.t.now), Token: uint64(kind)<<32 | uint64(o.seq) | 1}
		if kind&0x40 != 0 {
			r.After = uint16(kind & 0x3f)
		}
		first = func(b *codec.Builder) { b.AddRetry(r) }
	}
	switch o.typ {
	case codec.MsgPing:
		h.Type = codec.MsgAck
		first = func(b *codec.Builder) { b.AddAck(codec.Ack{Seq: o.seq, Target: o.target}) }
	case codec.MsgPingReq:
		if kind&1 == 0 {
			h.Type = codec.MsgAck
			first = func(b *codec.Builder) { b.AddAck(codec.Ack{Seq: o.seq, Target: o.target}) }
		} else {
			h.Type = codec.MsgNack
			first = func(b *codec.Builder) { b.AddNack(codec.Nack{Seq: o.seq, Target: o.target}) }
		}
	case codec.MsgShardRequest:
		if kind&0x80 != 0 {
			retry(o.typ)
			break
		}
		h.Type = codec.MsgShardData
		first = func(b *codec.Builder) {
			b.AddShardRef(codec.ShardRef{Shard: o.shard, Count: uint32(kind>>1) % 8})
		}
	case codec.MsgSync:
		if kind&0x80 != 0 {
			retry(o.typ)
			break
		}
		h.Type = codec.MsgSyncReply
	case codec.MsgSyncReply:
		h.Type = codec.MsgSync
		first = echo
	case codec.MsgJoin:
		if kind&0x80 != 0 {
			retry(o.typ)
			break
		}
		h.Type = codec.MsgJoinReply
	case codec.MsgRetry:
		// The node asked for the request again with an Echo of its token.
		h.Type = o.retry.For
		if !h.Type.Known() {
			h.Type = codec.MsgSync
		}
		first = func(b *codec.Builder) { b.AddEcho(codec.Echo{Token: o.retry.Token, Epoch: o.retry.Epoch}) }
	default:
		h.Type = codec.MsgGossip
	}
	s.finish(o.to, h, first)
}

// tokenFor returns the latest token the node issued to addr.
func (s *seqRun) tokenFor(addr netip.AddrPort) (codec.Echo, bool) {
	for i := len(s.tokens) - 1; i >= 0; i-- {
		if s.tokens[i].to == addr {
			return s.tokens[i].echo, true
		}
	}
	return codec.Echo{}, false
}

// finish reads the options, seq and sections, then delivers the datagram.
func (s *seqRun) finish(from netip.AddrPort, h codec.Header, first func(*codec.Builder)) {
	opts := s.p.u8()
	h.Seq = s.selU32()
	compress := opts&1 != 0
	sections := int(opts>>1) % 8
	s.from = from
	limit := s.t.chk.cfg.MaxDatagramSize
	if s.t.chk.keys != nil {
		limit -= codec.SealOverhead
	}
	if compress {
		limit *= 2
	}
	if cap(s.buf) < limit {
		s.buf = make([]byte, 0, 2*codec.DefaultDatagramSize)
	}
	s.bld.Reset(s.buf[:0], limit, h)
	s.shard = -1
	if opts&0x10 != 0 {
		if e, ok := s.tokenFor(from); ok {
			s.bld.AddEcho(e)
		}
	}
	if first != nil {
		first(&s.bld)
	}
	for i := 0; i < sections; i++ {
		s.section()
	}
	b := s.bld.Finish()
	if compress {
		if z, err := bulk.CompressDatagram(s.zip[:0], b); err == nil {
			s.zip = z[:0]
			b = z
		}
	}
	if s.t.chk.keys != nil {
		sealed, err := codec.SealFor(s.seal[:0], b, s.t.sealer, s.receiver(opts, h.Sender))
		if err != nil {
			return
		}
		s.seal = sealed[:0]
		b = sealed
	}
	s.t.receive(from, b)
}

// Whom a datagram is sealed for: bits 5-6 of its options.
const (
	optSealUnbound = 1 << 5 // for no one (receiver 0)
	optSealOther   = 2 << 5 // for the world node after the node
	optSealSender  = 3 << 5 // for its own sender
	optSealMask    = 3 << 5
)

// receiver returns the member ID a datagram with options opts and the
// given sender is sealed for.
func (s *seqRun) receiver(opts byte, sender uint64) uint64 {
	switch opts & optSealMask {
	case optSealUnbound:
		return 0
	case optSealOther:
		return uint64(worldIDs[(s.t.node+1)%worldN])
	case optSealSender:
		return sender
	}
	return uint64(s.t.core.ID())
}

// section adds records of one type.
func (s *seqRun) section() {
	// Below 0xe0 the ten record types of the first protocol, so that the
	// programs written for it keep their meaning; from 0xe0 Echo, Verdict,
	// Retry and user message.
	b := s.p.u8()
	rt := codec.RecType(b%10 + 1)
	if b >= 0xe0 {
		rt = codec.RecType(11 + (b-0xe0)%4)
	}
	c := s.p.u8()
	var n int
	switch {
	case c == 0xff:
		n = int(s.p.u8())
	case c >= 0xf8:
		n = 90 // fill the datagram
	default:
		n = int(c%6) + 1
	}
	for i := 0; i < n; i++ {
		if !s.record(rt) {
			return
		}
	}
}

// record adds one record of type rt and reports whether it fitted.
func (s *seqRun) record(rt codec.RecType) bool {
	b := &s.bld
	switch rt {
	case codec.RecHeartbeat:
		return b.AddHeartbeat(codec.Heartbeat{Counter: s.selU64(), Digest: s.selSum(), Members: s.selU32()})
	case codec.RecPing:
		return b.AddPing(codec.Ping{Seq: s.selSeq(), Target: s.selID()})
	case codec.RecAck:
		return b.AddAck(codec.Ack{Seq: s.selSeq(), Target: s.selID()})
	case codec.RecNack:
		return b.AddNack(codec.Nack{Seq: s.selSeq(), Target: s.selID()})
	case codec.RecPingReq:
		return b.AddPingReq(codec.PingReq{Seq: s.selSeq(), Target: s.selID(), Addr: s.selAddr()})
	case codec.RecMember:
		id := s.selID()
		gen, inc := s.view(id)
		m := codec.Member{
			ID:          id,
			Generation:  s.selGen(gen),
			Incarnation: s.selInc(inc),
			State:       codec.MemberState(s.p.u8()%4 + 1),
		}
		m.Addr = s.selAddr()
		m.StateVersion = s.selU64()
		m.Witness = s.selID()
		return b.AddMember(&m)
	case codec.RecState:
		owner := s.selID()
		gen, _ := s.view(owner)
		key := s.selKey()
		var version uint64
		if _, v, ok := s.t.core.State(engine.ID(owner), key); ok {
			version = v
		} else if m, ok := s.t.core.Member(engine.ID(owner)); ok {
			version = m.StateVersion
		}
		e := codec.StateEntry{Owner: owner, Generation: s.selGen(gen), Version: s.selGen(version)}
		e.Deleted = s.p.u8()&1 != 0
		e.Key = key
		e.Value = s.selValue()
		return b.AddState(&e)
	case codec.RecDigest:
		level := s.p.u8() % 3
		return b.AddDigest(codec.Digest{Level: level, Index: s.selIndex(level), Count: s.selU32(), Sum: s.selSum()})
	case codec.RecShardRef:
		ref := codec.ShardRef{Shard: uint32(s.selIndex(2)), Count: s.selU32(), Digest: s.selSum()}
		s.shard = int(ref.Shard)
		return b.AddShardRef(ref)
	case codec.RecPrint:
		return b.AddFingerprint(codec.Fingerprint{Sum: s.selPrint()})
	case codec.RecEcho:
		return b.AddEcho(s.selEcho())
	case codec.RecVerdict:
		v := codec.Verdict{
			Generation:  s.selGen(s.t.core.Generation()),
			Incarnation: s.selInc(s.t.core.Incarnation()),
			State:       codec.MemberState(s.p.u8()%4 + 1),
		}
		return b.AddVerdict(v)
	case codec.RecRetry:
		r := codec.Retry{For: s.selType(), After: uint16(s.selU32())}
		e := s.selEcho()
		r.Token, r.Epoch = e.Token, e.Epoch
		return b.AddRetry(r)
	case codec.RecUser:
		flags := s.p.u8()
		origin := s.selID()
		gen, _ := s.view(origin)
		x := codec.UserMsg{Origin: origin, Generation: s.selGen(gen), Seq: s.selMsgSeq(), Broadcast: flags&1 == 0}
		return b.AddUser(x, s.selPayload())
	}
	return false
}

// selEcho returns a token the node issued (below 0x80 the latest for the
// datagram's source, else the k-th latest), or a raw token and epoch.
func (s *seqRun) selEcho() codec.Echo {
	b := s.p.u8()
	switch {
	case b == 0xff:
		return codec.Echo{Token: s.p.u64(), Epoch: s.p.u32()}
	case b < 0x80:
		if e, ok := s.tokenFor(s.from); ok {
			return e
		}
	}
	if len(s.tokens) == 0 {
		return codec.Echo{Token: uint64(b), Epoch: epochAt(s.t.now)}
	}
	return s.tokens[len(s.tokens)-1-int(b)%len(s.tokens)].echo
}
