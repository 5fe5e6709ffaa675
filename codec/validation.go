package codec

// Echo returns to a node a token it issued in a [Retry], proving that the
// sender receives datagrams at the address it sends from: the token is a
// keyed hash of that address which only the issuer can compute, and it was
// sent only there. A node answers a datagram from an address that has not
// proven itself with at most as many bytes as the datagram had; with a
// valid Echo it may answer with more, within its reply budgets.
//
// Layout (16 bytes):
//
//	off len field
//	0   8   token
//	8   4   epoch (the issuer's token epoch; tokens expire with it)
//	12  4   reserved, zero
type Echo struct {
	Token uint64 // the issuer's token for the sender's address
	Epoch uint32 // the issuer's epoch the token was made in
}

// Retry tells the sender of a request that it was not answered in full and
// when to send it again. With a Token, the request lacked a valid [Echo]
// and its answer would have been larger than the request: the sender
// sends it again with an Echo of Token and Epoch. With After, the node was
// busy: the sender waits that long first.
//
// Layout (16 bytes):
//
//	off len field
//	0   1   for (the MsgType of the request to send again)
//	1   1   reserved, zero
//	2   2   after (milliseconds to wait before sending again)
//	4   4   epoch
//	8   8   token (0: none)
type Retry struct {
	For   MsgType // the request to send again
	After uint16  // milliseconds to wait first; 0 means at once
	Epoch uint32  // the token's epoch
	Token uint64  // the token to echo; 0 when the node was only busy
}

// Verdict tells the receiver what the sender holds about it: the
// receiver's generation, incarnation and state in the sender's table. A
// node tells a member it holds dead, left or suspect, when that member is
// heard from, so that it can supersede the claim (each member is the
// authority on its own record).
//
// Layout (16 bytes):
//
//	off len field
//	0   8   generation
//	8   4   incarnation
//	12  1   state (as in Member; anything else is ErrMalformed)
//	13  3   reserved, zero
type Verdict struct {
	Generation  uint64
	Incarnation uint32
	State       MemberState
}

// Append appends the record to dst and returns the extended slice. It
// allocates only if dst lacks capacity.
func (x *Echo) Append(dst []byte) []byte {
	dst, b := grow(dst, EchoSize)
	x.put(b)
	return dst
}

func (x *Echo) put(b []byte) {
	_ = b[EchoSize-1]
	be.PutUint64(b[0:], x.Token)
	be.PutUint32(b[8:], x.Epoch)
	be.PutUint32(b[12:], 0)
}

// ParseEcho decodes an Echo record from the start of b. It returns the
// record, the bytes consumed ([EchoSize]) and [ErrTruncated] if b is
// shorter. Trailing bytes and reserved bytes are ignored.
func ParseEcho(b []byte) (Echo, int, error) {
	var x Echo
	n, err := x.Decode(b)
	return x, n, err
}

// Decode decodes an Echo record from the start of b into x, as
// [ParseEcho] does. On error x is left unchanged.
func (x *Echo) Decode(b []byte) (int, error) {
	if len(b) < EchoSize {
		return 0, ErrTruncated
	}
	x.Token = be.Uint64(b[0:])
	x.Epoch = be.Uint32(b[8:])
	return EchoSize, nil
}

// Append appends the record to dst and returns the extended slice. It
// allocates only if dst lacks capacity.
func (x *Retry) Append(dst []byte) []byte {
	dst, b := grow(dst, RetrySize)
	x.put(b)
	return dst
}

func (x *Retry) put(b []byte) {
	_ = b[RetrySize-1]
	b[0] = uint8(x.For)
	b[1] = 0
	be.PutUint16(b[2:], x.After)
	be.PutUint32(b[4:], x.Epoch)
	be.PutUint64(b[8:], x.Token)
}

// ParseRetry decodes a Retry record from the start of b. It returns the
// record, the bytes consumed ([RetrySize]) and [ErrTruncated] if b is
// shorter. Trailing bytes and reserved bytes are ignored.
func ParseRetry(b []byte) (Retry, int, error) {
	var x Retry
	n, err := x.Decode(b)
	return x, n, err
}

// Decode decodes a Retry record from the start of b into x, as
// [ParseRetry] does. On error x is left unchanged.
func (x *Retry) Decode(b []byte) (int, error) {
	if len(b) < RetrySize {
		return 0, ErrTruncated
	}
	x.For = MsgType(b[0])
	x.After = be.Uint16(b[2:])
	x.Epoch = be.Uint32(b[4:])
	x.Token = be.Uint64(b[8:])
	return RetrySize, nil
}

// Append appends the record to dst and returns the extended slice. It
// allocates only if dst lacks capacity. It does not check State.
func (x *Verdict) Append(dst []byte) []byte {
	dst, b := grow(dst, VerdictSize)
	x.put(b)
	return dst
}

func (x *Verdict) put(b []byte) {
	_ = b[VerdictSize-1]
	be.PutUint64(b[0:], x.Generation)
	be.PutUint32(b[8:], x.Incarnation)
	b[12] = uint8(x.State)
	b[13], b[14], b[15] = 0, 0, 0
}

// ParseVerdict decodes a Verdict record from the start of b. It returns
// the record, the bytes consumed ([VerdictSize]), [ErrTruncated] if b is
// shorter and [ErrMalformed] for an invalid state. Trailing bytes and
// reserved bytes are ignored.
func ParseVerdict(b []byte) (Verdict, int, error) {
	var x Verdict
	n, err := x.Decode(b)
	return x, n, err
}

// Decode decodes a Verdict record from the start of b into x, as
// [ParseVerdict] does. On error x is left unchanged.
func (x *Verdict) Decode(b []byte) (int, error) {
	if len(b) < VerdictSize {
		return 0, ErrTruncated
	}
	st := MemberState(b[12])
	if !st.Valid() {
		return 0, ErrMalformed
	}
	x.Generation = be.Uint64(b[0:])
	x.Incarnation = be.Uint32(b[8:])
	x.State = st
	return VerdictSize, nil
}
