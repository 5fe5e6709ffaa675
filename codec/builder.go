package codec

// Builder packs records into a plain datagram within a size limit. It
// writes into the caller's buffer and never allocates: a record that does
// not fit is refused (its Add method returns false) and nothing is written.
// Consecutive records of one type share a section; a record of another type
// opens a new section.
//
// A Builder is reusable and not safe for concurrent use. The zero value
// refuses every record until [Builder.Reset] is called.
type Builder struct {
	buf      []byte
	limit    int
	sec      int     // offset of the open section's header; 0 when none is open
	typ      RecType // type of the open section
	count    int     // records in the open section
	sections int
	records  int
	ok       bool // the header fitted
}

const maxSectionRecords = 1<<16 - 1

// Reset starts a datagram with header h in dst[:0]. The builder writes
// [Version], clears [FlagSealed] and [FlagCompressed] (it builds plain
// datagrams) and fills in the section count and length at [Builder.Finish].
//
// limit is the largest datagram, header included, the builder may produce;
// a caller that will seal the datagram passes its size budget less
// [SealOverhead]. The builder never writes beyond cap(dst): if cap(dst) is
// smaller than limit, cap(dst) is the limit. The limit is also capped at
// [MaxDatagramSize]. If the limit is smaller than [HeaderSize], nothing is
// written, every Add returns false and Finish returns nil.
func (b *Builder) Reset(dst []byte, limit int, h Header) {
	limit = min(limit, cap(dst), MaxDatagramSize)
	*b = Builder{buf: dst[:0], limit: limit}
	if limit < HeaderSize {
		return
	}
	b.ok = true
	h.Flags &^= FlagSealed | FlagCompressed
	h.Sections = 0
	h.Length = 0
	b.buf = dst[:HeaderSize]
	h.put(b.buf)
}

// slot returns room for one record of type t and size bytes, opening a
// section if needed, or nil if it does not fit.
func (b *Builder) slot(t RecType, size int) []byte {
	if !b.ok {
		return nil
	}
	n := len(b.buf)
	if b.sec != 0 && t == b.typ && b.count < maxSectionRecords {
		if b.limit-n < size {
			return nil
		}
		b.buf = b.buf[:n+size]
		b.count++
		b.records++
		return b.buf[n:]
	}
	if b.sections == 255 || b.limit-n < SectionHeaderSize+size {
		return nil
	}
	b.closeSection()
	b.buf = b.buf[:n+SectionHeaderSize+size]
	s := b.buf[n:]
	s[0] = uint8(t)
	s[1] = uint8(size)
	s[2], s[3] = 0, 0
	b.sec, b.typ, b.count = n, t, 1
	b.sections++
	b.records++
	return b.buf[n+SectionHeaderSize:]
}

// closeSection writes the open section's record count.
func (b *Builder) closeSection() {
	if b.sec != 0 {
		be.PutUint16(b.buf[b.sec+2:], uint16(b.count))
	}
}

// AddHeartbeat adds a Heartbeat record and reports whether it fitted.
func (b *Builder) AddHeartbeat(x Heartbeat) bool {
	s := b.slot(RecHeartbeat, HeartbeatSize)
	if s == nil {
		return false
	}
	x.put(s)
	return true
}

// AddPing adds a Ping record and reports whether it fitted.
func (b *Builder) AddPing(x Ping) bool {
	s := b.slot(RecPing, PingSize)
	if s == nil {
		return false
	}
	putProbe(s, x.Seq, x.Target)
	return true
}

// AddAck adds an Ack record and reports whether it fitted.
func (b *Builder) AddAck(x Ack) bool {
	s := b.slot(RecAck, AckSize)
	if s == nil {
		return false
	}
	x.put(s)
	return true
}

// AddNack adds a Nack record and reports whether it fitted.
func (b *Builder) AddNack(x Nack) bool {
	s := b.slot(RecNack, NackSize)
	if s == nil {
		return false
	}
	putProbe(s, x.Seq, x.Target)
	return true
}

// AddPingReq adds a PingReq record and reports whether it fitted.
func (b *Builder) AddPingReq(x PingReq) bool {
	s := b.slot(RecPingReq, PingReqSize)
	if s == nil {
		return false
	}
	x.put(s)
	return true
}

// AddMember adds a Member record and reports whether it was added. It
// returns false, writing nothing, if the record does not fit or if
// [Member.Validate] fails.
func (b *Builder) AddMember(x *Member) bool {
	if !x.State.Valid() {
		return false
	}
	s := b.slot(RecMember, MemberSize)
	if s == nil {
		return false
	}
	x.put(s)
	return true
}

// AddState adds a StateEntry record and reports whether it was added. It
// returns false, writing nothing, if the record does not fit or if
// [StateEntry.Validate] fails; it never truncates a key or value.
func (b *Builder) AddState(x *StateEntry) bool {
	if x.Validate() != nil {
		return false
	}
	s := b.slot(RecState, StateSize)
	if s == nil {
		return false
	}
	x.put(s)
	return true
}

// AddDigest adds a Digest record and reports whether it fitted.
func (b *Builder) AddDigest(x Digest) bool {
	s := b.slot(RecDigest, DigestSize)
	if s == nil {
		return false
	}
	x.put(s)
	return true
}

// AddShardRef adds a ShardRef record and reports whether it fitted.
func (b *Builder) AddShardRef(x ShardRef) bool {
	s := b.slot(RecShardRef, ShardRefSize)
	if s == nil {
		return false
	}
	x.put(s)
	return true
}

// AddFingerprint adds a Fingerprint record and reports whether it fitted.
func (b *Builder) AddFingerprint(x Fingerprint) bool {
	s := b.slot(RecPrint, PrintSize)
	if s == nil {
		return false
	}
	be.PutUint64(s, x.Sum)
	return true
}

// AddEcho adds an Echo record and reports whether it fitted.
func (b *Builder) AddEcho(x Echo) bool {
	s := b.slot(RecEcho, EchoSize)
	if s == nil {
		return false
	}
	x.put(s)
	return true
}

// AddVerdict adds a Verdict record and reports whether it was added. It
// returns false, writing nothing, if the record does not fit or its State
// is invalid.
func (b *Builder) AddVerdict(x Verdict) bool {
	if !x.State.Valid() {
		return false
	}
	s := b.slot(RecVerdict, VerdictSize)
	if s == nil {
		return false
	}
	x.put(s)
	return true
}

// AddRetry adds a Retry record and reports whether it fitted.
func (b *Builder) AddRetry(x Retry) bool {
	s := b.slot(RecRetry, RetrySize)
	if s == nil {
		return false
	}
	x.put(s)
	return true
}

// Room returns how many more records of type t fit right now: exactly the
// number of consecutive Add calls for t that would succeed. It accounts for
// the section header a new section needs, the limit of 255 sections and of
// 65,535 records per section. It returns 0 for an unknown type. For
// [RecUser] it counts user messages with an empty payload (two sections
// each; see [Builder.UserRoom] for the room for a payload), and for
// [RecPayload] it returns 0: payloads are added with their UserMsg.
func (b *Builder) Room(t RecType) int {
	switch t {
	case RecUser:
		// Messages with an empty payload, each two sections; see UserRoom
		// for a payload.
		if !b.ok {
			return 0
		}
		return max(0, min((b.limit-len(b.buf))/UserOverhead, (255-b.sections)/2))
	case RecPayload:
		return 0 // written only with its UserMsg, by AddUser
	}
	size := t.Size()
	if !b.ok || size == 0 {
		return 0
	}
	free := b.limit - len(b.buf)
	n := 0
	if b.sec != 0 && t == b.typ {
		k := min(free/size, maxSectionRecords-b.count)
		n += k
		free -= k * size
		if k < maxSectionRecords-b.count {
			return n
		}
	}
	for s := b.sections; s < 255 && free >= SectionHeaderSize+size; s++ {
		k := min((free-SectionHeaderSize)/size, maxSectionRecords)
		n += k
		free -= SectionHeaderSize + k*size
		if k < maxSectionRecords {
			break
		}
	}
	return n
}

// Len returns the datagram's size so far, header included.
func (b *Builder) Len() int { return len(b.buf) }

// Records returns the number of records added since Reset. A user message
// ([Builder.AddUser]) counts as one, whatever its payload.
func (b *Builder) Records() int { return b.records }

// Finish writes the section count, the body length and the open section's
// record count, and returns the datagram, which aliases the dst given to
// Reset. Records may still be added after Finish; call Finish again then.
// It returns nil if the limit given to Reset was smaller than the header.
func (b *Builder) Finish() []byte {
	if !b.ok {
		return nil
	}
	b.closeSection()
	b.buf[offSections] = uint8(b.sections)
	be.PutUint16(b.buf[offLength:], uint16(len(b.buf)-HeaderSize))
	return b.buf
}
