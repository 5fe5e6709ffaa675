package codec

import (
	"net/netip"
	"strconv"
)

// MemberState is a member's state in the membership protocol. The zero
// value is invalid and never appears on the wire.
type MemberState uint8

// Member states. When two records about the same member and generation
// carry the same incarnation, the higher state wins (alive < suspect <
// dead < left); the numbers are chosen so that comparing them gives that
// precedence.
const (
	StateAlive   MemberState = 1 // the member is believed alive
	StateSuspect MemberState = 2 // an observer failed to reach it; it may refute
	StateDead    MemberState = 3 // confirmed failed
	StateLeft    MemberState = 4 // left the cluster on purpose
)

// String returns the state's name, or "state(N)" if it is out of range.
func (s MemberState) String() string {
	switch s {
	case StateAlive:
		return "alive"
	case StateSuspect:
		return "suspect"
	case StateDead:
		return "dead"
	case StateLeft:
		return "left"
	}
	return "state(" + strconv.Itoa(int(s)) + ")"
}

// Valid reports whether s is one of the four defined states.
func (s MemberState) Valid() bool { return s >= StateAlive && s <= StateLeft }

// Member is a membership update: everything a node needs to know about
// one member, and the unit of gossip, anti-entropy and join transfers.
//
// Layout (56 bytes):
//
//	off len field
//	0   8   id
//	8   8   generation
//	16  4   incarnation
//	20  1   state (1 alive, 2 suspect, 3 dead, 4 left)
//	21  1   flags
//	22  2   port
//	24  16  address (IPv6, IPv4-mapped for IPv4)
//	40  8   state version
//	48  8   witness
type Member struct {
	ID           uint64         // member ID
	Generation   uint64         // raised by the member at each restart
	Incarnation  uint32         // raised by the member to refute suspicion
	State        MemberState    // alive, suspect, dead or left
	Flags        uint8          // carried verbatim; meaning defined by the engine
	Addr         netip.AddrPort // where the member listens
	StateVersion uint64         // version of the member's application state
	Witness      uint64         // for suspect and dead: ID of the accuser; else 0
}

// Validate returns [ErrMalformed] if m.State is not one of the four
// defined states, and nil otherwise.
func (m *Member) Validate() error {
	if !m.State.Valid() {
		return ErrMalformed
	}
	return nil
}

// Append appends the record to dst and returns the extended slice. It
// allocates only if dst lacks capacity. If [Member.Validate] fails, Append
// appends nothing: it never writes a record a receiver would reject.
func (m *Member) Append(dst []byte) []byte {
	if !m.State.Valid() {
		return dst
	}
	dst, b := grow(dst, MemberSize)
	m.put(b)
	return dst
}

func (m *Member) put(b []byte) {
	_ = b[MemberSize-1]
	be.PutUint64(b[0:], m.ID)
	be.PutUint64(b[8:], m.Generation)
	be.PutUint32(b[16:], m.Incarnation)
	b[20] = uint8(m.State)
	b[21] = m.Flags
	putPort(b[22:24], m.Addr)
	putIP(b[24:40], m.Addr.Addr())
	be.PutUint64(b[40:], m.StateVersion)
	be.PutUint64(b[48:], m.Witness)
}

// ParseMember decodes a Member record from the start of b. It returns the
// record, the bytes consumed ([MemberSize]), and [ErrTruncated] if b is
// shorter or [ErrMalformed] if the state is not one of the four defined
// states. Trailing bytes are ignored.
func ParseMember(b []byte) (Member, int, error) {
	// A thin wrapper, small enough to be inlined, so that the record is
	// decoded straight into the caller's variable instead of being returned
	// through memory (which costs more than decoding it).
	var m Member
	n, err := m.Decode(b)
	return m, n, err
}

// Decode decodes a Member record from the start of b into m, as
// [ParseMember] does. On error m is left unchanged.
func (m *Member) Decode(b []byte) (int, error) {
	if len(b) < MemberSize {
		return 0, ErrTruncated
	}
	s := MemberState(b[20])
	if !s.Valid() {
		return 0, ErrMalformed
	}
	m.ID = be.Uint64(b[0:])
	m.Generation = be.Uint64(b[8:])
	m.Incarnation = be.Uint32(b[16:])
	m.State = s
	m.Flags = b[21]
	m.Addr = getAddrPort(b[24:40], be.Uint16(b[22:]))
	m.StateVersion = be.Uint64(b[40:])
	m.Witness = be.Uint64(b[48:])
	return MemberSize, nil
}
