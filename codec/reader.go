package codec

// Parse decodes the header of a plain datagram and returns it with the
// body, b[HeaderSize:HeaderSize+Length], which aliases b. It fails as
// [ParseHeader] does, and with [ErrSealed] or [ErrCompressed] if the body
// must first be opened ([Open]) or decompressed (codec/bulk).
func Parse(b []byte) (Header, []byte, error) {
	h, err := ParseHeader(b)
	if err != nil {
		return Header{}, nil, err
	}
	if h.Flags&FlagSealed != 0 {
		return Header{}, nil, ErrSealed
	}
	if h.Flags&FlagCompressed != 0 {
		return Header{}, nil, ErrCompressed
	}
	return h, b[HeaderSize : HeaderSize+int(h.Length)], nil
}

// Reader iterates over the sections of a datagram body. It checks the
// framing of each section as it reaches it; it does not decode records,
// which the caller does with the Parse function or Decode method of the
// section's type.
// Sections of unknown record types are returned like any other, so the
// caller can skip them. Bytes after the last section are ignored.
//
// A Reader does not allocate. The zero value is an empty reader; reuse one
// with [Reader.Reset]. It is not safe for concurrent use.
//
//	var r codec.Reader
//	r.Reset(int(h.Sections), body)
//	for r.Next() {
//		switch r.Type() {
//		case codec.RecMember:
//			for i := range r.Count() {
//				m, _, err := codec.ParseMember(r.Record(i))
//				...
//			}
//		}
//	}
//	if err := r.Err(); err != nil { ... }
type Reader struct {
	body  []byte
	next  int // offset of the next section header
	left  int // sections not yet read
	typ   RecType
	size  int
	count int
	rec   int // offset of the current section's first record
	err   error
}

// Reset starts reading sections sections from body. It keeps no reference
// to a previous body.
func (r *Reader) Reset(sections int, body []byte) {
	*r = Reader{body: body, left: max(sections, 0)}
}

// Next advances to the next section and reports whether there is one. It
// returns false after the last section and on error; [Reader.Err] tells
// which. A section that runs past the body is [ErrTruncated]; a zero record
// size, or a known record type whose record size is smaller than its
// known size, is [ErrMalformed].
func (r *Reader) Next() bool {
	r.typ, r.size, r.count = 0, 0, 0
	if r.err != nil || r.left == 0 {
		return false
	}
	r.left--
	rest := r.body[r.next:]
	if len(rest) < SectionHeaderSize {
		r.err = ErrTruncated
		return false
	}
	t, size, count := RecType(rest[0]), int(rest[1]), int(be.Uint16(rest[2:]))
	if size == 0 || size < t.Size() {
		r.err = ErrMalformed
		return false
	}
	if count*size > len(rest)-SectionHeaderSize {
		r.err = ErrTruncated
		return false
	}
	r.typ, r.size, r.count = t, size, count
	r.rec = r.next + SectionHeaderSize
	r.next = r.rec + count*size
	return true
}

// Type returns the record type of the current section.
func (r *Reader) Type() RecType { return r.typ }

// Size returns the record size of the current section. For a known type it
// is at least [RecType.Size]; the bytes past that are fields of a newer
// version, which the Parse functions ignore.
func (r *Reader) Size() int { return r.size }

// Count returns the number of records in the current section.
func (r *Reader) Count() int { return r.count }

// Record returns the i-th record of the current section, Size bytes that
// alias the body, or nil if i is out of range.
func (r *Reader) Record(i int) []byte {
	if i < 0 || i >= r.count {
		return nil
	}
	off := r.rec + i*r.size
	return r.body[off : off+r.size : off+r.size]
}

// Err returns the error that stopped Next: nil at a clean end,
// [ErrTruncated] or [ErrMalformed].
func (r *Reader) Err() error { return r.err }

// Validate checks a whole plain datagram: its header, the framing of every
// section, the content of every record of a known type, and that every
// UserMsg is followed by its payload and every payload follows a UserMsg
// (see [Reader.User]). It returns nil
// or the first error, as [Parse], [Reader] and the Parse functions report
// it. Every proper prefix of a valid datagram fails with [ErrTruncated].
func Validate(b []byte) error {
	h, body, err := Parse(b)
	if err != nil {
		return err
	}
	var r Reader
	r.Reset(int(h.Sections), body)
	for r.Next() {
		switch r.Type() {
		case RecUser:
			if _, _, err := r.User(); err != nil {
				return err
			}
			continue
		case RecPayload:
			return ErrMalformed // a payload with no UserMsg before it
		}
		for i := range r.Count() {
			if err := parseKnown(r.Type(), r.Record(i)); err != nil {
				return err
			}
		}
	}
	return r.Err()
}

// parseKnown decodes one record of type t and returns its error; records
// of unknown types are accepted.
func parseKnown(t RecType, rec []byte) error {
	var err error
	switch t {
	case RecHeartbeat:
		_, _, err = ParseHeartbeat(rec)
	case RecPing:
		_, _, err = ParsePing(rec)
	case RecAck:
		_, _, err = ParseAck(rec)
	case RecPingReq:
		_, _, err = ParsePingReq(rec)
	case RecNack:
		_, _, err = ParseNack(rec)
	case RecMember:
		_, _, err = ParseMember(rec)
	case RecState:
		_, _, err = ParseStateEntry(rec)
	case RecDigest:
		_, _, err = ParseDigest(rec)
	case RecShardRef:
		_, _, err = ParseShardRef(rec)
	case RecPrint:
		_, _, err = ParseFingerprint(rec)
	case RecEcho:
		_, _, err = ParseEcho(rec)
	case RecVerdict:
		_, _, err = ParseVerdict(rec)
	case RecRetry:
		_, _, err = ParseRetry(rec)
	}
	return err
}
