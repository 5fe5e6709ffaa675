package fuzz_test

import (
	"encoding/binary"
	"math"
	"net/netip"

	"github.com/cespare/xxhash/v2"
	"github.com/hearsay-io/hearsay/codec"
	"github.com/hearsay-io/hearsay/engine"
)

// The operands of FuzzCoreSequence's instructions (see runProgram): each
// reads one byte that mostly picks from what the node knows, with 0xff
// escaping to a raw value.

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
	return codec.MsgType(b % 16) // 0 is an unknown kind, as are raw 16 and up
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

// selGen returns base-1 .. base+2, base+MaxClockSkew (0xfe), or a raw
// value.
func (s *seqRun) selGen(base uint64) uint64 {
	b := s.p.u8()
	switch b {
	case 0xff:
		return s.p.u64()
	case 0xfe:
		if skew := uint64(s.t.chk.cfg.MaxClockSkew); base <= math.MaxUint64-skew {
			return base + skew
		}
		return base
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

// selInc returns base-1 .. base+3, the highest plausible incarnation
// (0xfe), or a raw value.
func (s *seqRun) selInc(base uint32) uint32 {
	b := s.p.u8()
	switch b {
	case 0xff:
		return s.p.u32()
	case 0xfe:
		return maxIncarnation
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

// selMsgSeq returns a user-message sequence number: mostly small (1 to
// 240, so that programs repeat and reorder numbers), 0 (never valid), or a
// raw value.
func (s *seqRun) selMsgSeq() uint32 {
	b := s.p.u8()
	switch {
	case b == 0xff:
		return s.p.u32()
	case b == 0xfe:
		return 0
	}
	return uint32(b%240) + 1
}

// selPayload returns a user-message payload: a length byte times 6 (up to
// 1,524 bytes, past MaxMessageSize), or 0xff and a raw 2-byte length; then
// its bytes.
func (s *seqRun) selPayload() []byte {
	n := int(s.p.u8())
	if n == 0xff {
		n = int(s.p.u16())
	} else {
		n *= 6
	}
	return s.p.bytes(n)
}
