package codec

// Heartbeat is the record a node sends to its observers every protocol
// period. Each arrival feeds the observer's failure detector for the
// sender; the digest lets the observer notice cheaply that its view of the
// membership differs from the sender's.
//
// Layout (24 bytes):
//
//	off len field
//	0   8   counter
//	8   8   digest
//	16  4   members
//	20  4   reserved, zero
type Heartbeat struct {
	Counter uint64 // raised by one every period by the sender
	Digest  uint64 // the sender's root membership digest
	Members uint32 // how many members the sender knows
}

// Append appends the record to dst and returns the extended slice. It
// allocates only if dst lacks capacity.
func (x *Heartbeat) Append(dst []byte) []byte {
	dst, b := grow(dst, HeartbeatSize)
	x.put(b)
	return dst
}

func (x *Heartbeat) put(b []byte) {
	_ = b[HeartbeatSize-1]
	be.PutUint64(b[0:], x.Counter)
	be.PutUint64(b[8:], x.Digest)
	be.PutUint32(b[16:], x.Members)
	be.PutUint32(b[20:], 0)
}

// ParseHeartbeat decodes a Heartbeat record from the start of b. It returns
// the record, the bytes consumed ([HeartbeatSize]) and [ErrTruncated] if b
// is shorter. Trailing bytes and reserved bytes are ignored.
func ParseHeartbeat(b []byte) (Heartbeat, int, error) {
	var x Heartbeat
	n, err := x.Decode(b)
	return x, n, err
}

// Decode decodes a Heartbeat record from the start of b into x, as
// [ParseHeartbeat] does. On error x is left unchanged.
func (x *Heartbeat) Decode(b []byte) (int, error) {
	if len(b) < HeartbeatSize {
		return 0, ErrTruncated
	}
	x.Counter = be.Uint64(b[0:])
	x.Digest = be.Uint64(b[8:])
	x.Members = be.Uint32(b[16:])
	return HeartbeatSize, nil
}
