package codec

import (
	"crypto/sha256"
	"encoding/binary"
)

// Wire constants.
const (
	// Version is the protocol version this package writes. A receiver
	// accepts any version from 1 up and reads the parts it knows.
	Version = 1

	// HeaderSize is the size of the datagram header. Its layout is frozen
	// for the magic "HS".
	HeaderSize = 40

	// SectionHeaderSize is the size of the header of each body section.
	SectionHeaderSize = 4

	// DefaultDatagramSize is the default maximum size of a datagram on the
	// wire, sealed or not: small enough to cross common paths (MTU 1,500
	// less IPv6 and UDP headers, tunnels) without IP fragmentation.
	DefaultDatagramSize = 1400

	// MaxBodySize is the largest body the 16-bit length field can describe.
	MaxBodySize = 1<<16 - 1

	// MaxDatagramSize is the largest datagram this format can describe.
	MaxDatagramSize = HeaderSize + MaxBodySize
)

const (
	magic0 = 'H'
	magic1 = 'S'

	offMagic       = 0
	offVersion     = 2
	offType        = 3
	offFlags       = 4
	offSections    = 5
	offLength      = 6
	offCluster     = 8
	offSender      = 16
	offGeneration  = 24
	offIncarnation = 32
	offSeq         = 36
)

var be = binary.BigEndian

// Header is the decoded form of a datagram header. See the package
// documentation for its layout.
type Header struct {
	Version     uint8   // protocol version; Append always writes [Version]
	Type        MsgType // datagram kind
	Flags       Flags   // how to read the body
	Sections    uint8   // number of sections in the body
	Length      uint16  // body length in bytes, after the header
	Cluster     uint64  // cluster ID; see [ClusterID]
	Sender      uint64  // sender's member ID
	Generation  uint64  // sender's generation, raised at each restart
	Incarnation uint32  // sender's incarnation
	Seq         uint32  // per-sender datagram counter
}

// Append appends the 40-byte encoding of h to dst and returns the extended
// slice. It writes [Version] whatever h.Version holds, and every other field
// as it is. It allocates only if dst lacks capacity.
func (h *Header) Append(dst []byte) []byte {
	dst, b := grow(dst, HeaderSize)
	h.put(b)
	return dst
}

// put writes h into b, which holds at least HeaderSize bytes.
func (h *Header) put(b []byte) {
	_ = b[HeaderSize-1]
	b[offMagic] = magic0
	b[offMagic+1] = magic1
	b[offVersion] = Version
	b[offType] = uint8(h.Type)
	b[offFlags] = uint8(h.Flags)
	b[offSections] = h.Sections
	be.PutUint16(b[offLength:], h.Length)
	be.PutUint64(b[offCluster:], h.Cluster)
	be.PutUint64(b[offSender:], h.Sender)
	be.PutUint64(b[offGeneration:], h.Generation)
	be.PutUint32(b[offIncarnation:], h.Incarnation)
	be.PutUint32(b[offSeq:], h.Seq)
}

// ParseHeader decodes the header at the start of b. It checks, in order:
// that b holds a header ([ErrTruncated]), the magic ([ErrMagic]), the
// version ([ErrVersion] for 0; higher versions are accepted), the flags
// ([ErrMalformed] for an unknown bit, or a sealed body shorter than
// [SealOverhead]) and that b holds the whole body the length field
// announces ([ErrTruncated]). Bytes after the body are ignored.
func ParseHeader(b []byte) (Header, error) {
	if err := checkHeader(b); err != nil {
		return Header{}, err
	}
	return Header{
		Version:     b[offVersion],
		Type:        MsgType(b[offType]),
		Flags:       Flags(b[offFlags]),
		Sections:    b[offSections],
		Length:      be.Uint16(b[offLength:]),
		Cluster:     be.Uint64(b[offCluster:]),
		Sender:      be.Uint64(b[offSender:]),
		Generation:  be.Uint64(b[offGeneration:]),
		Incarnation: be.Uint32(b[offIncarnation:]),
		Seq:         be.Uint32(b[offSeq:]),
	}, nil
}

// checkHeader validates the header at the start of b; see ParseHeader.
func checkHeader(b []byte) error {
	if len(b) < HeaderSize {
		return ErrTruncated
	}
	if b[offMagic] != magic0 || b[offMagic+1] != magic1 {
		return ErrMagic
	}
	if b[offVersion] == 0 {
		return ErrVersion
	}
	f := Flags(b[offFlags])
	if f&^knownFlags != 0 {
		return ErrMalformed
	}
	n := int(be.Uint16(b[offLength:]))
	if f&FlagSealed != 0 && n < SealOverhead {
		return ErrMalformed
	}
	if n > len(b)-HeaderSize {
		return ErrTruncated
	}
	return nil
}

// CheckCluster returns [ErrCluster] if h comes from a cluster other than
// cluster, and nil otherwise. A receiver calls it before opening a sealed
// datagram, so foreign traffic costs no AES work.
func (h *Header) CheckCluster(cluster uint64) error {
	if h.Cluster != cluster {
		return ErrCluster
	}
	return nil
}

// ClusterID returns the 64-bit cluster ID for a cluster name: the first 8
// bytes, big-endian, of SHA-256("hearsay cluster id\x00" || name). The
// function is fixed forever, so every process and every version agrees.
// The ID separates clusters that share a network by mistake; it is not a
// secret and not an authenticator (use a [Keyring] for that).
func ClusterID(name string) uint64 {
	h := sha256.New()
	h.Write([]byte(clusterDomain))
	h.Write([]byte(name))
	var sum [sha256.Size]byte
	return be.Uint64(h.Sum(sum[:0]))
}

const clusterDomain = "hearsay cluster id\x00"

// grow extends dst by n bytes and returns the extended slice and the new
// n bytes, which hold arbitrary data. It allocates only if cap(dst) is too
// small.
func grow(dst []byte, n int) (whole, tail []byte) {
	l := len(dst)
	if cap(dst)-l < n {
		dst = append(dst, make([]byte, n)...)
	} else {
		dst = dst[:l+n]
	}
	return dst, dst[l:]
}
