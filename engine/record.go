package engine

import (
	"encoding/binary"
	"net/netip"

	"github.com/cespare/xxhash/v2"
	"github.com/hearsay-io/hearsay/codec"
	"github.com/hearsay-io/hearsay/ring"
)

// record is one member in the membership table. Records are stored by value
// in shard slices sorted by pos; a record in a published shard is immutable.
// Everything in a record is authored by the member itself (generation,
// incarnation, address, application state) or agreed by the merge rule
// (state); node-local observations live elsewhere, so two nodes with the same
// view hold byte-identical records and can share them.
type record struct {
	id    ID
	pos   uint64 // ring.Position(id): the table's order and the monitoring ring
	gen   uint64
	inc   uint32
	state State
	// proven is set on a live record whose incarnation the member raised
	// after proving its links in a rejoin (see revival.go). It fits in
	// padding.
	proven bool
	port   uint16
	// buried is the incarnation the record had when it was last buried
	// (stopped being live, or died under a new generation): its grave
	// carries the same, so that a tombstone whose incarnation rises while
	// it stays dead is still reaped, TombstoneRetention after it died.
	buried uint32
	// lag is how slow the member said its own round trips were when it
	// raised its incarnation to this one (see lag.go). It fits in padding.
	lag uint8
	ip  [16]byte  // IPv4-mapped IPv6
	app *appState // immutable; nil when the member published nothing
	// sum is hash(), computed by table.set when the record is stored: the
	// record's share of its shard's digest and its fingerprint in shard
	// requests.
	sum uint64
}

func newRecord(id ID, addr netip.AddrPort, gen uint64, inc uint32, st State) record {
	r := record{id: id, pos: ring.Position(uint64(id)), gen: gen, inc: inc, state: st}
	r.setAddr(addr)
	return r
}

func (r *record) setAddr(a netip.AddrPort) {
	r.ip = a.Addr().As16()
	r.port = a.Port()
}

func (r *record) addr() netip.AddrPort {
	if r.port == 0 && r.ip == ([16]byte{}) {
		return netip.AddrPort{}
	}
	return netip.AddrPortFrom(netip.AddrFrom16(r.ip).Unmap(), r.port)
}

func (r *record) live() bool { return r.state.Live() }

// stateVersion is the highest application-state version held for the member.
func (r *record) stateVersion() uint64 {
	if r.app == nil {
		return 0
	}
	return r.app.version
}

// hash is the record's contribution to its shard's digest: the member's
// identity, versions, state and address, plus its application state. The sum
// of hashes is order-independent, so shards are compared without sorting.
func (r *record) hash() uint64 {
	var b [40]byte
	binary.BigEndian.PutUint64(b[0:], uint64(r.id))
	binary.BigEndian.PutUint64(b[8:], r.gen)
	binary.BigEndian.PutUint32(b[16:], r.inc)
	b[20] = byte(r.state)
	if r.proven {
		b[21] = 1
	}
	b[21] |= r.lag << 1
	binary.BigEndian.PutUint16(b[22:], r.port)
	copy(b[24:], r.ip[:])
	h := xxhash.Sum64(b[:])
	if r.app != nil {
		h += r.app.hash
	}
	return h
}

// member returns the public value snapshot of r.
func (r *record) member() Member {
	return Member{
		ID:           r.id,
		Addr:         r.addr(),
		Generation:   r.gen,
		Incarnation:  r.inc,
		State:        r.state,
		StateVersion: r.stateVersion(),
		Name:         r.app.memberName(),
	}
}

// wire fills m with r's wire form.
func (r *record) wire(m *codec.Member, witness ID) {
	*m = codec.Member{
		ID:           uint64(r.id),
		Generation:   r.gen,
		Incarnation:  r.inc,
		State:        codec.MemberState(r.state),
		Addr:         r.addr(),
		StateVersion: r.stateVersion(),
		Witness:      uint64(witness),
	}
	if r.live() {
		m.Flags = liveFlags(r.proven, r.lag)
	}
}

// precedence orders states for the same generation and incarnation.
func precedence(s State) int { return int(s) }

// supersedes reports whether an update (gen, inc, st) replaces the record r
// under the merge rule: higher generation wins; within a generation, Left is
// final; then higher incarnation wins; then the state with higher precedence.
// Wall-clock time never takes part.
func supersedes(r *record, gen uint64, inc uint32, st State) bool {
	switch {
	case gen != r.gen:
		return gen > r.gen
	case r.state == StateLeft:
		return false
	case inc != r.inc:
		return inc > r.inc
	default:
		return precedence(st) > precedence(r.state)
	}
}
