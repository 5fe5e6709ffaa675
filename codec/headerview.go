package codec

// HeaderView reads and writes a datagram header in place.
//
// Obtain one from [NewHeaderView], which validates the bytes. The accessors
// never panic: on a view shorter than [HeaderSize] (made by converting a
// slice directly, bypassing the constructor) getters return zero values
// and setters do nothing.
type HeaderView []byte

// NewHeaderView validates the header at the start of b exactly as
// [ParseHeader] does and returns a view of the datagram: the header and the
// body its length field announces, b[:HeaderSize+Length]. The view aliases
// b; setters write into b.
func NewHeaderView(b []byte) (HeaderView, error) {
	if err := checkHeader(b); err != nil {
		return nil, err
	}
	return HeaderView(b[:HeaderSize+int(be.Uint16(b[offLength:]))]), nil
}

func (v HeaderView) ok() bool { return len(v) >= HeaderSize }

// Version returns the protocol version.
func (v HeaderView) Version() uint8 {
	if !v.ok() {
		return 0
	}
	return v[offVersion]
}

// Type returns the datagram kind.
func (v HeaderView) Type() MsgType {
	if !v.ok() {
		return 0
	}
	return MsgType(v[offType])
}

// Flags returns the flags byte.
func (v HeaderView) Flags() Flags {
	if !v.ok() {
		return 0
	}
	return Flags(v[offFlags])
}

// Sections returns the number of sections in the body.
func (v HeaderView) Sections() int {
	if !v.ok() {
		return 0
	}
	return int(v[offSections])
}

// Length returns the body length from the length field.
func (v HeaderView) Length() int {
	if !v.ok() {
		return 0
	}
	return int(be.Uint16(v[offLength:]))
}

// Cluster returns the cluster ID.
func (v HeaderView) Cluster() uint64 {
	if !v.ok() {
		return 0
	}
	return be.Uint64(v[offCluster:])
}

// Sender returns the sender's member ID.
func (v HeaderView) Sender() uint64 {
	if !v.ok() {
		return 0
	}
	return be.Uint64(v[offSender:])
}

// Generation returns the sender's generation.
func (v HeaderView) Generation() uint64 {
	if !v.ok() {
		return 0
	}
	return be.Uint64(v[offGeneration:])
}

// Incarnation returns the sender's incarnation.
func (v HeaderView) Incarnation() uint32 {
	if !v.ok() {
		return 0
	}
	return be.Uint32(v[offIncarnation:])
}

// Seq returns the sender's datagram sequence number.
func (v HeaderView) Seq() uint32 {
	if !v.ok() {
		return 0
	}
	return be.Uint32(v[offSeq:])
}

// Body returns the body: the bytes after the header, up to the length field
// or the end of the view, whichever comes first. It aliases the view.
func (v HeaderView) Body() []byte {
	if !v.ok() {
		return nil
	}
	n := min(v.Length(), len(v)-HeaderSize)
	return v[HeaderSize : HeaderSize+n]
}

// Header returns the decoded header.
func (v HeaderView) Header() Header {
	if !v.ok() {
		return Header{}
	}
	return Header{
		Version:     v.Version(),
		Type:        v.Type(),
		Flags:       v.Flags(),
		Sections:    uint8(v.Sections()),
		Length:      uint16(v.Length()),
		Cluster:     v.Cluster(),
		Sender:      v.Sender(),
		Generation:  v.Generation(),
		Incarnation: v.Incarnation(),
		Seq:         v.Seq(),
	}
}

// SetFlags writes the flags byte.
func (v HeaderView) SetFlags(f Flags) {
	if v.ok() {
		v[offFlags] = uint8(f)
	}
}

// SetSections writes the section count.
func (v HeaderView) SetSections(n uint8) {
	if v.ok() {
		v[offSections] = n
	}
}

// SetLength writes the body length field. It does not resize the view.
func (v HeaderView) SetLength(n uint16) {
	if v.ok() {
		be.PutUint16(v[offLength:], n)
	}
}

// SetSeq writes the sequence number.
func (v HeaderView) SetSeq(seq uint32) {
	if v.ok() {
		be.PutUint32(v[offSeq:], seq)
	}
}
