package codec

// Limits of an application-state entry.
const (
	MaxKeySize   = 32 // bytes in a StateEntry key
	MaxValueSize = 64 // bytes in a StateEntry value
)

// StateEntry is one entry of a member's application state: a small
// versioned key/value pair owned by one member.
//
// Layout (128 bytes):
//
//	off len field
//	0   8   owner
//	8   8   generation
//	16  8   version
//	24  1   flags (bit 0: deleted; other bits reserved, zero)
//	25  1   key length (0..32)
//	26  1   value length (0..64)
//	27  5   reserved, zero
//	32  32  key, zero-padded
//	64  64  value, zero-padded
type StateEntry struct {
	Owner      uint64 // ID of the member that owns the entry
	Generation uint64 // the owner's generation when it wrote the entry
	Version    uint64 // raised by the owner at each change of the entry
	Deleted    bool   // the entry is a tombstone
	Key        []byte // at most MaxKeySize bytes
	Value      []byte // at most MaxValueSize bytes
}

const stateDeleted = 1 << 0

// Validate returns [ErrTooLarge] if the key is longer than [MaxKeySize]
// or the value longer than [MaxValueSize] bytes, and nil otherwise. The
// encoder never truncates: an entry that fails Validate is not encoded.
func (s *StateEntry) Validate() error {
	if len(s.Key) > MaxKeySize || len(s.Value) > MaxValueSize {
		return ErrTooLarge
	}
	return nil
}

// Append appends the record to dst and returns the extended slice. It
// allocates only if dst lacks capacity. If [StateEntry.Validate] fails,
// Append appends nothing.
func (s *StateEntry) Append(dst []byte) []byte {
	if s.Validate() != nil {
		return dst
	}
	dst, b := grow(dst, StateSize)
	s.put(b)
	return dst
}

func (s *StateEntry) put(b []byte) {
	_ = b[StateSize-1]
	be.PutUint64(b[0:], s.Owner)
	be.PutUint64(b[8:], s.Generation)
	be.PutUint64(b[16:], s.Version)
	var f uint8
	if s.Deleted {
		f |= stateDeleted
	}
	b[24] = f
	b[25] = uint8(len(s.Key))
	b[26] = uint8(len(s.Value))
	clear(b[27:32])
	k := copy(b[32:64], s.Key)
	clear(b[32+k : 64])
	v := copy(b[64:128], s.Value)
	clear(b[64+v : 128])
}

// ParseStateEntry decodes a StateEntry record from the start of b. It
// returns the record, the bytes consumed ([StateSize]), and [ErrTruncated]
// if b is shorter or [ErrMalformed] if the key or value length is over its
// maximum. Key and Value alias b (with their capacity capped, so appending
// to them cannot overwrite b): copy them before b is reused. Trailing
// bytes, reserved flag bits and the padding after the key and value are
// ignored.
func ParseStateEntry(b []byte) (StateEntry, int, error) {
	var x StateEntry
	n, err := x.Decode(b)
	return x, n, err
}

// Decode decodes a StateEntry record from the start of b into s, as
// [ParseStateEntry] does; s.Key and s.Value alias b. On error s is left
// unchanged.
func (s *StateEntry) Decode(b []byte) (int, error) {
	if len(b) < StateSize {
		return 0, ErrTruncated
	}
	kl, vl := int(b[25]), int(b[26])
	if kl > MaxKeySize || vl > MaxValueSize {
		return 0, ErrMalformed
	}
	s.Owner = be.Uint64(b[0:])
	s.Generation = be.Uint64(b[8:])
	s.Version = be.Uint64(b[16:])
	s.Deleted = b[24]&stateDeleted != 0
	s.Key = b[32 : 32+kl : 32+kl]
	s.Value = b[64 : 64+vl : 64+vl]
	return StateSize, nil
}
