package codec

// UserMsg is the record of a user message: an opaque payload an
// application sends to one member (in a [MsgUser] datagram) or to every
// member (a broadcast, piggybacked on any datagram that carries membership
// updates and relayed by every member that receives it). Its payload
// travels in the [RecPayload] section that immediately follows the
// UserMsg's own section, one byte a record; [Builder.AddUser] writes the
// pair and [Reader.User] reads it.
//
// Origin, Generation and Seq name the message: the member that wrote it,
// that member's generation, and the member's count of user messages, so
// that a receiver delivers each message once, however many members relay
// it to it.
//
// Layout (24 bytes):
//
//	off len field
//	0   8   origin (ID of the member that wrote the message)
//	8   8   origin generation
//	16  4   seq (the origin's user-message counter, from 1)
//	20  1   flags (bit 0: broadcast; other bits reserved, zero)
//	21  1   reserved, zero
//	22  2   length (payload bytes: the record count of the Payload section)
type UserMsg struct {
	Origin     uint64 // ID of the member that wrote the message
	Generation uint64 // the origin's generation when it wrote it
	Seq        uint32 // the origin's user-message counter
	Broadcast  bool   // meant for every member, and relayed; else for the receiver only
	// Length is the payload's size in bytes. AddUser sets it from the
	// payload it is given; Reader.User checks it against the Payload
	// section.
	Length uint16
}

const userBroadcast = 1 << 0

// UserOverhead is what a user message adds to a datagram besides its
// payload: the UserMsg section and the header of the Payload section.
const UserOverhead = SectionHeaderSize + UserMsgSize + SectionHeaderSize

// Append appends the UserMsg record (without its payload) to dst and
// returns the extended slice. It allocates only if dst lacks capacity.
func (x *UserMsg) Append(dst []byte) []byte {
	dst, b := grow(dst, UserMsgSize)
	x.put(b)
	return dst
}

func (x *UserMsg) put(b []byte) {
	_ = b[UserMsgSize-1]
	be.PutUint64(b[0:], x.Origin)
	be.PutUint64(b[8:], x.Generation)
	be.PutUint32(b[16:], x.Seq)
	var f uint8
	if x.Broadcast {
		f |= userBroadcast
	}
	b[20] = f
	b[21] = 0
	be.PutUint16(b[22:], x.Length)
}

// ParseUserMsg decodes a UserMsg record from the start of b. It returns the
// record, the bytes consumed ([UserMsgSize]) and [ErrTruncated] if b is
// shorter. Trailing bytes, reserved bytes and reserved flag bits are
// ignored. It does not read the payload; see [Reader.User].
func ParseUserMsg(b []byte) (UserMsg, int, error) {
	var x UserMsg
	n, err := x.Decode(b)
	return x, n, err
}

// Decode decodes a UserMsg record from the start of b into x, as
// [ParseUserMsg] does. On error x is left unchanged.
func (x *UserMsg) Decode(b []byte) (int, error) {
	if len(b) < UserMsgSize {
		return 0, ErrTruncated
	}
	x.Origin = be.Uint64(b[0:])
	x.Generation = be.Uint64(b[8:])
	x.Seq = be.Uint32(b[16:])
	x.Broadcast = b[20]&userBroadcast != 0
	x.Length = be.Uint16(b[22:])
	return UserMsgSize, nil
}

// AddUser adds a user message: a section holding x, with Length set to
// len(payload), then a Payload section holding the payload. It reports
// whether both fitted; if not, nothing is written. A payload longer than
// 65,535 bytes never fits.
func (b *Builder) AddUser(x UserMsg, payload []byte) bool {
	if !b.ok || len(payload) > maxSectionRecords || b.sections > 253 {
		return false
	}
	n := len(b.buf)
	need := UserOverhead + len(payload)
	if b.limit-n < need {
		return false
	}
	b.closeSection()
	b.buf = b.buf[:n+need]
	s := b.buf[n:]
	s[0], s[1] = uint8(RecUser), UserMsgSize
	be.PutUint16(s[2:], 1)
	x.Length = uint16(len(payload))
	x.put(s[SectionHeaderSize:])
	p := s[SectionHeaderSize+UserMsgSize:]
	p[0], p[1] = uint8(RecPayload), 1
	be.PutUint16(p[2:], uint16(len(payload)))
	copy(p[SectionHeaderSize:], payload)
	// Both sections are complete; no section is left open.
	b.sec, b.typ, b.count = 0, 0, 0
	b.sections += 2
	b.records++ // a message counts as one record, its payload included
	return true
}

// UserRoom returns the size of the largest payload [Builder.AddUser] can
// add right now, or -1 if not even an empty one fits.
func (b *Builder) UserRoom() int {
	if !b.ok || b.sections > 253 {
		return -1
	}
	free := b.limit - len(b.buf) - UserOverhead
	if free < 0 {
		return -1
	}
	return min(free, maxSectionRecords)
}

// User reads the user message at the reader's current section, which must
// be a [RecUser] section, and moves the reader on to the [RecPayload]
// section after it, so that the next call to [Reader.Next] goes past both.
// It returns the record and the payload, which aliases the body (with its
// capacity capped, so appending to it cannot overwrite the body): copy it
// before the body is reused.
//
// The pair must be exact: a RecUser section of one record, followed at
// once by a RecPayload section of records of one byte whose count is the
// record's Length. Anything else is [ErrMalformed]; a body that ends
// before the Payload section is [ErrTruncated]. Either error also stops
// the reader: [Reader.Err] returns it. A RecPayload section reached by
// [Reader.Next] belongs to no UserMsg: [Validate] refuses it as
// [ErrMalformed].
func (r *Reader) User() (UserMsg, []byte, error) {
	var x UserMsg
	if r.err != nil {
		return x, nil, r.err
	}
	if r.typ != RecUser || r.count != 1 {
		return x, nil, r.fail(ErrMalformed)
	}
	if _, err := x.Decode(r.Record(0)); err != nil {
		return x, nil, r.fail(err)
	}
	if !r.Next() {
		if r.err == nil {
			r.err = ErrMalformed // the announced sections ended first
		}
		return UserMsg{}, nil, r.err
	}
	if r.typ != RecPayload || r.size != 1 || r.count != int(x.Length) {
		return UserMsg{}, nil, r.fail(ErrMalformed)
	}
	p := r.body[r.rec : r.rec+r.count : r.rec+r.count]
	return x, p, nil
}

// fail stops the reader with err and returns it.
func (r *Reader) fail(err error) error {
	r.err = err
	r.typ, r.size, r.count = 0, 0, 0
	return err
}
