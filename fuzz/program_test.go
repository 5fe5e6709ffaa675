package fuzz_test

import (
	"encoding/binary"
	"fmt"
	"math"
	"net/netip"

	"github.com/cespare/xxhash/v2"
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
//	           options (bit 0 compress, bits 1-3 sections), seq, then
//	           the sections: record type, count, records (a section of
//	           Fingerprint records after a ShardRef lists, as a shard
//	           request does, records of that ShardRef's shard)
//	0x60-0x8f  reply to one of the last datagrams the node sent: an ack
//	           to its ping, an ack or nack to its ping-req, the shard it
//	           asked for, a sync reply, a join reply; then options, seq
//	           and sections as for a datagram
//	0x90-0xbf  advance time by stepDuration(op & 0xf)
//	0xc0-0xd7  SetState(key, value)
//	0xd8-0xe7  DeleteState(key)
//	0xe8-0xf7  Join(a world node)
//	0xf8-0xff  Leave
//
// Operands are one-byte choices that mostly pick from what the node knows,
// with 0xff escaping to a raw value (see the sel* methods): IDs and
// addresses of world nodes, generations and incarnations relative to the
// node's current view of the member (one lower, equal, one to three
// higher), state versions relative to the node's version of that key,
// sequence numbers the node used in its latest probes, shards that hold a
// given member, fingerprints of the records the node holds or has listed
// in its own shard requests. A program that runs out of bytes reads zeros.
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
}

// seqRun runs one program.
type seqRun struct {
	p      progReader
	t      *target
	outs   []outMsg        // the latest datagrams sent, oldest first
	seqs   []uint32        // sequence numbers of the latest pings and ping-reqs
	prints []listed        // the latest fingerprints the node listed in its shard requests
	shard  int             // shard of the last ShardRef of the datagram under construction, or -1
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
			t.chk.track(t.core.ID(), key)
			_ = t.core.SetState(t.now, key, value) // refusals are part of the contract
			s.afterCall()
		case op < 0xe8:
			key := s.selKey()
			_ = t.core.DeleteState(t.now, key)
			s.afterCall()
		case op < 0xf8:
			seed := worldAddrs[int(s.p.u8())%worldN]
			_ = t.core.Join(t.now, []netip.AddrPort{seed})
			s.afterCall()
		default:
			t.chk.leaving = true
			t.core.Leave(t.now)
			s.afterCall()
		}
		if traceInput != nil {
			traceStep(t, fmt.Sprintf("op %#02x", op), &before)
		}
	}
	return s, t.chk.err
}

// afterCall checks the node after a user call.
func (s *seqRun) afterCall() {
	s.t.chk.now = s.t.now
	s.t.chk.checkView(false)
	s.t.flush()
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
	if i := worldIndexOf(o.to); i >= 0 {
		sender = uint64(worldIDs[i])
	} else {
		sender = s.selID()
	}
	gen, inc := s.view(sender)
	h := codec.Header{Cluster: worldCluster, Sender: sender, Generation: gen, Incarnation: inc}
	var first func(b *codec.Builder)
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
		h.Type = codec.MsgShardData
		first = func(b *codec.Builder) {
			b.AddShardRef(codec.ShardRef{Shard: o.shard, Count: uint32(kind>>1) % 8})
		}
	case codec.MsgSync:
		h.Type = codec.MsgSyncReply
	case codec.MsgSyncReply:
		h.Type = codec.MsgSync
	case codec.MsgJoin:
		h.Type = codec.MsgJoinReply
	default:
		h.Type = codec.MsgGossip
	}
	s.finish(o.to, h, first)
}

// finish reads the options, seq and sections, then delivers the datagram.
func (s *seqRun) finish(from netip.AddrPort, h codec.Header, first func(*codec.Builder)) {
	opts := s.p.u8()
	h.Seq = s.selU32()
	compress := opts&1 != 0
	sections := int(opts>>1) % 8
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
		sealed, err := codec.Seal(s.seal[:0], b, s.t.sealer)
		if err != nil {
			return
		}
		s.seal = sealed[:0]
		b = sealed
	}
	s.t.receive(from, b)
}

// section adds records of one type.
func (s *seqRun) section() {
	rt := codec.RecType(s.p.u8()%10 + 1)
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
	}
	return false
}

// view returns the node's generation and incarnation for id, or 1 and 0.
func (s *seqRun) view(id uint64) (uint64, uint32) {
	if m, ok := s.t.core.Member(engine.ID(id)); ok {
		return m.Generation, m.Incarnation
	}
	return 1, 0
}

// Operand choices. Each reads one byte; 0xff escapes to a raw value.

func (s *seqRun) selType() codec.MsgType {
	b := s.p.u8()
	if b == 0xff {
		return codec.MsgType(s.p.u8())
	}
	return codec.MsgType(b % 15) // 0 and 14 are unknown kinds
}

func (s *seqRun) selID() uint64 {
	b := s.p.u8()
	switch {
	case b < 0xf0:
		return uint64(worldIDs[int(b)%worldN])
	case b <= 0xfc:
		return uint64(foreignIDs[b-0xf0])
	case b == 0xfd:
		return uint64(s.t.core.ID())
	case b == 0xfe:
		return 0
	}
	return s.p.u64()
}

func (s *seqRun) selAddr() netip.AddrPort {
	b := s.p.u8()
	switch {
	case b < 0xf0:
		return worldAddrs[int(b)%worldN]
	case b < 0xfc:
		return foreignAddrs[b-0xf0]
	case b == 0xfc:
		return netip.AddrPortFrom(worldAddrs[0].Addr(), 0)
	case b == 0xfd:
		return netip.AddrPortFrom(netip.AddrFrom16(worldAddrs[1].Addr().As16()), 7946) // v4-mapped
	case b == 0xfe:
		return netip.AddrPort{}
	}
	ip := netip.AddrFrom16([16]byte(s.p.bytes(16))).Unmap()
	return netip.AddrPortFrom(ip, s.p.u16())
}

// selFrom returns a datagram's source: as selAddr, but always a valid
// address, since no socket delivers from the zero address.
func (s *seqRun) selFrom() netip.AddrPort {
	if a := s.selAddr(); a.IsValid() {
		return a
	}
	return foreignAddrs[0]
}

// selGen returns base-1 .. base+2, or a raw value.
func (s *seqRun) selGen(base uint64) uint64 {
	b := s.p.u8()
	if b == 0xff {
		return s.p.u64()
	}
	d := uint64(b % 4)
	if base == 0 && d == 0 {
		return 0
	}
	if base > math.MaxUint64-2 {
		return base
	}
	return base + d - 1
}

// selInc returns base-1 .. base+3, or a raw value.
func (s *seqRun) selInc(base uint32) uint32 {
	b := s.p.u8()
	if b == 0xff {
		return s.p.u32()
	}
	d := uint32(b % 5)
	if base == 0 && d == 0 {
		return 0
	}
	if base > math.MaxUint32-3 {
		return base
	}
	return base + d - 1
}

func (s *seqRun) selU64() uint64 {
	if b := s.p.u8(); b != 0xff {
		return uint64(b)
	}
	return s.p.u64()
}

// selU32 returns a small count, the node's live member count (0xfe), or
// a raw value.
func (s *seqRun) selU32() uint32 {
	switch b := s.p.u8(); b {
	case 0xff:
		return s.p.u32()
	case 0xfe:
		live, _ := s.t.core.NumMembers()
		return uint32(live)
	default:
		return uint32(b)
	}
}

// selSeq returns one of the node's latest probe numbers, a small number,
// or a raw value.
func (s *seqRun) selSeq() uint32 {
	b := s.p.u8()
	switch {
	case b == 0xff:
		return s.p.u32()
	case b < 0xc0 && len(s.seqs) > 0:
		return s.seqs[len(s.seqs)-1-int(b)%len(s.seqs)]
	}
	return uint32(b)
}

// selSum returns the node's root digest, zero, its digest plus one, or a
// raw value.
func (s *seqRun) selSum() uint64 {
	switch s.p.u8() % 4 {
	case 0:
		return s.t.core.Digest()
	case 1:
		return 0
	case 2:
		return s.p.u64()
	}
	return s.t.core.Digest() + 1
}

// selIndex returns a digest index for level: 0 for the root, a group for
// level 1, for level 2 the shard of a world node or any shard; 0xff
// escapes to a raw (possibly out of range) index.
func (s *seqRun) selIndex(level uint8) uint16 {
	b := s.p.u8()
	switch {
	case b == 0xff:
		return s.p.u16()
	case level == 0:
		return 0
	case level == 1:
		return uint16(b % 16)
	case b < 0x80:
		return uint16(shardOf(worldIDs[int(b)%worldN]))
	}
	return uint16(b)
}

// selPrint returns a fingerprint for the shard of the datagram's last
// ShardRef (any shard before the first): below 0x80 the fingerprint of one
// of the node's records in it, below 0xc0 one the node listed itself in a
// shard request, from 0xc0 that of one of its records at an incarnation
// the node does not hold; 0xff escapes to a raw value.
func (s *seqRun) selPrint() uint64 {
	b := s.p.u8()
	switch {
	case b == 0xff:
		return s.p.u64()
	case b >= 0x80 && b < 0xc0:
		if p, ok := s.listedPrint(int(b)); ok {
			return p
		}
	}
	s.scan = s.t.core.Members(s.scan[:0])
	in := s.scan[:0]
	for _, m := range s.scan {
		if s.shard < 0 || shardOf(m.ID) == uint32(s.shard) {
			in = append(in, m)
		}
	}
	if len(in) == 0 {
		return uint64(b)
	}
	m := in[int(b)%len(in)]
	if b >= 0xc0 {
		m.Incarnation++
	}
	return printOf(s.t.core, m)
}

// listedPrint returns one of the fingerprints the node listed lately,
// preferring those of the current shard.
func (s *seqRun) listedPrint(k int) (uint64, bool) {
	var same []uint64
	for _, p := range s.prints {
		if s.shard < 0 || p.shard == uint32(s.shard) {
			same = append(same, p.sum)
		}
	}
	switch {
	case len(same) > 0:
		return same[k%len(same)], true
	case len(s.prints) > 0:
		return s.prints[k%len(s.prints)].sum, true
	}
	return 0, false
}

// printOf is a reference for the fingerprint c gives its record of m:
// xxhash64 of its ID, generation, incarnation, state, port and 16-byte
// address, plus the sum of the xxhash64 of each application-state entry
// (version, key and value lengths, deleted flag, key, value). The
// core's API shows only the entries of live keys, and this reads those of
// stateKeys: for a member with deleted or other keys the sum is plausible
// but does not match. TestPrintReference checks it against a node's own
// shard requests.
func printOf(c *engine.Core, m engine.Member) uint64 {
	sum := memberPrint(m)
	for _, k := range stateKeys {
		v, version, ok := c.State(m.ID, []byte(k))
		if !ok {
			continue
		}
		e := binary.BigEndian.AppendUint64(nil, version)
		e = append(e, byte(len(k)), byte(len(v)), 0)
		e = append(append(e, k...), v...)
		sum += xxhash.Sum64(e)
	}
	return sum
}

// memberPrint is printOf for a member with no application state.
func memberPrint(m engine.Member) uint64 {
	var b [40]byte
	binary.BigEndian.PutUint64(b[0:], uint64(m.ID))
	binary.BigEndian.PutUint64(b[8:], m.Generation)
	binary.BigEndian.PutUint32(b[16:], m.Incarnation)
	b[20] = byte(m.State)
	binary.BigEndian.PutUint16(b[22:], m.Addr.Port())
	ip := m.Addr.Addr().As16()
	copy(b[24:], ip[:])
	return xxhash.Sum64(b[:])
}

func (s *seqRun) selKey() []byte {
	b := s.p.u8()
	if b == 0xff {
		return s.p.bytes(int(s.p.u8()) % (codec.MaxKeySize + 1))
	}
	return []byte(stateKeys[int(b)%len(stateKeys)])
}

func (s *seqRun) selValue() []byte {
	return s.p.bytes(int(s.p.u8()) % (codec.MaxValueSize + 1))
}
