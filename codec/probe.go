package codec

import "net/netip"

// Ping asks the receiver to answer with an [Ack]. The prober sends it when
// the receiver's failure detector crosses its threshold, and an
// intermediary sends it on behalf of a [PingReq].
//
// Ping, Ack and Nack share one layout (16 bytes):
//
//	off len field
//	0   4   seq
//	4   2   loss (Ack only; reserved, zero, in Ping and Nack)
//	6   2   reserved, zero
//	8   8   target
type Ping struct {
	Seq    uint32 // probe number, echoed by the Ack
	Target uint64 // ID of the member being probed (the receiver)
}

// Ack answers a [Ping]: the member Target is alive.
//
// Loss reports the loss the sender sees on its own links, so that a
// prober can tell loss that every member sees (the network's) from loss
// that only it sees (its own bad link). It is the fraction of datagrams
// lost in 1/[LossScale] units plus one, at most LossScale+1; zero means
// that the sender reports no estimate (an older sender wrote zero there).
// Decode clamps larger values to LossScale+1.
type Ack struct {
	Seq    uint32 // the Ping's Seq
	Target uint64 // ID of the member that was probed
	Loss   uint16 // the sender's loss estimate: 0 none, else 1 + lost fraction × LossScale
}

// LossScale is the resolution of [Ack.Loss]: a lost fraction f is sent as
// 1 + round(f × LossScale).
const LossScale = 10000

// Nack is sent by an intermediary of a [PingReq] when its ping to Target
// got no ack in time. It tells the requester that the intermediary is
// alive and that the missing ack is not the requester's own fault, which
// feeds the requester's local-health score (Lifeguard).
type Nack struct {
	Seq    uint32 // the PingReq's Seq
	Target uint64 // ID of the member that did not answer
}

// PingReq asks the receiver to ping Target at Addr and to relay the Ack,
// or send a [Nack] if none comes (SWIM's indirect probe).
//
// Layout (40 bytes):
//
//	off len field
//	0   4   seq
//	4   4   reserved, zero
//	8   8   target
//	16  16  target address (IPv6, IPv4-mapped for IPv4)
//	32  2   target port
//	34  6   reserved, zero
type PingReq struct {
	Seq    uint32         // probe number, echoed by the Ack or Nack
	Target uint64         // ID of the member to probe
	Addr   netip.AddrPort // where to probe it
}

func putProbe(b []byte, seq uint32, target uint64) {
	_ = b[15]
	be.PutUint32(b[0:], seq)
	be.PutUint32(b[4:], 0)
	be.PutUint64(b[8:], target)
}

// Append appends the record to dst and returns the extended slice. It
// allocates only if dst lacks capacity.
func (x *Ping) Append(dst []byte) []byte {
	dst, b := grow(dst, PingSize)
	putProbe(b, x.Seq, x.Target)
	return dst
}

// Append appends the record to dst and returns the extended slice. It
// allocates only if dst lacks capacity.
func (x *Ack) Append(dst []byte) []byte {
	dst, b := grow(dst, AckSize)
	x.put(b)
	return dst
}

func (x *Ack) put(b []byte) {
	putProbe(b, x.Seq, x.Target)
	be.PutUint16(b[4:], x.Loss)
}

// Append appends the record to dst and returns the extended slice. It
// allocates only if dst lacks capacity.
func (x *Nack) Append(dst []byte) []byte {
	dst, b := grow(dst, NackSize)
	putProbe(b, x.Seq, x.Target)
	return dst
}

// Append appends the record to dst and returns the extended slice. It
// allocates only if dst lacks capacity.
func (x *PingReq) Append(dst []byte) []byte {
	dst, b := grow(dst, PingReqSize)
	x.put(b)
	return dst
}

func (x *PingReq) put(b []byte) {
	_ = b[PingReqSize-1]
	putProbe(b, x.Seq, x.Target)
	putIP(b[16:32], x.Addr.Addr())
	putPort(b[32:34], x.Addr)
	clear(b[34:40])
}

// ParsePing decodes a Ping record from the start of b. It returns the
// record, the bytes consumed ([PingSize]) and [ErrTruncated] if b is
// shorter. Trailing bytes and reserved bytes are ignored.
func ParsePing(b []byte) (Ping, int, error) {
	var x Ping
	n, err := x.Decode(b)
	return x, n, err
}

// Decode decodes a Ping record from the start of b into x, as
// [ParsePing] does. On error x is left unchanged.
func (x *Ping) Decode(b []byte) (int, error) {
	if len(b) < PingSize {
		return 0, ErrTruncated
	}
	x.Seq = be.Uint32(b[0:])
	x.Target = be.Uint64(b[8:])
	return PingSize, nil
}

// ParseAck decodes an Ack record from the start of b. It returns the
// record, the bytes consumed ([AckSize]) and [ErrTruncated] if b is
// shorter. Trailing bytes and reserved bytes are ignored; a loss above
// LossScale+1 reads as LossScale+1.
func ParseAck(b []byte) (Ack, int, error) {
	var x Ack
	n, err := x.Decode(b)
	return x, n, err
}

// Decode decodes an Ack record from the start of b into x, as
// [ParseAck] does. On error x is left unchanged.
func (x *Ack) Decode(b []byte) (int, error) {
	if len(b) < AckSize {
		return 0, ErrTruncated
	}
	x.Seq = be.Uint32(b[0:])
	x.Target = be.Uint64(b[8:])
	x.Loss = min(be.Uint16(b[4:]), LossScale+1)
	return AckSize, nil
}

// ParseNack decodes a Nack record from the start of b. It returns the
// record, the bytes consumed ([NackSize]) and [ErrTruncated] if b is
// shorter. Trailing bytes and reserved bytes are ignored.
func ParseNack(b []byte) (Nack, int, error) {
	var x Nack
	n, err := x.Decode(b)
	return x, n, err
}

// Decode decodes a Nack record from the start of b into x, as
// [ParseNack] does. On error x is left unchanged.
func (x *Nack) Decode(b []byte) (int, error) {
	if len(b) < NackSize {
		return 0, ErrTruncated
	}
	x.Seq = be.Uint32(b[0:])
	x.Target = be.Uint64(b[8:])
	return NackSize, nil
}

// ParsePingReq decodes a PingReq record from the start of b. It returns
// the record, the bytes consumed ([PingReqSize]) and [ErrTruncated] if b
// is shorter. Trailing bytes and reserved bytes are ignored.
func ParsePingReq(b []byte) (PingReq, int, error) {
	var x PingReq
	n, err := x.Decode(b)
	return x, n, err
}

// Decode decodes a PingReq record from the start of b into x, as
// [ParsePingReq] does. On error x is left unchanged.
func (x *PingReq) Decode(b []byte) (int, error) {
	if len(b) < PingReqSize {
		return 0, ErrTruncated
	}
	x.Seq = be.Uint32(b[0:])
	x.Target = be.Uint64(b[8:])
	x.Addr = getAddrPort(b[16:32], be.Uint16(b[32:]))
	return PingReqSize, nil
}
