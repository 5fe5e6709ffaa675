package codec

// Digest summarizes part of a membership table for anti-entropy: the root
// (level 0, index 0) or one shard at a level of the shard tree. Two nodes
// whose digests agree hold the same records for that part.
//
// Layout (16 bytes):
//
//	off len field
//	0   1   level
//	1   1   reserved, zero
//	2   2   index
//	4   4   count
//	8   8   sum
type Digest struct {
	Level uint8  // 0 for the root, then deeper levels of the shard tree
	Index uint16 // which shard at this level
	Count uint32 // number of records covered
	Sum   uint64 // order-independent hash of the records covered
}

// ShardRef names one shard in a transfer: in a shard request, a shard
// wanted, with the number of member records in the requester's copy and its
// digest; in shard data,
// the shard the datagram's records belong to, with the number of records
// the whole answer carries and the sender's digest of the shard.
//
// Layout (16 bytes):
//
//	off len field
//	0   4   shard
//	4   4   count
//	8   8   digest
type ShardRef struct {
	Shard  uint32 // shard number
	Count  uint32 // number of records in the shard
	Digest uint64 // digest of the shard
}

// Append appends the record to dst and returns the extended slice. It
// allocates only if dst lacks capacity.
func (x *Digest) Append(dst []byte) []byte {
	dst, b := grow(dst, DigestSize)
	x.put(b)
	return dst
}

func (x *Digest) put(b []byte) {
	_ = b[DigestSize-1]
	b[0] = x.Level
	b[1] = 0
	be.PutUint16(b[2:], x.Index)
	be.PutUint32(b[4:], x.Count)
	be.PutUint64(b[8:], x.Sum)
}

// ParseDigest decodes a Digest record from the start of b. It returns the
// record, the bytes consumed ([DigestSize]) and [ErrTruncated] if b is
// shorter. Trailing bytes and reserved bytes are ignored.
func ParseDigest(b []byte) (Digest, int, error) {
	var x Digest
	n, err := x.Decode(b)
	return x, n, err
}

// Decode decodes a Digest record from the start of b into x, as
// [ParseDigest] does. On error x is left unchanged.
func (x *Digest) Decode(b []byte) (int, error) {
	if len(b) < DigestSize {
		return 0, ErrTruncated
	}
	x.Level = b[0]
	x.Index = be.Uint16(b[2:])
	x.Count = be.Uint32(b[4:])
	x.Sum = be.Uint64(b[8:])
	return DigestSize, nil
}

// Append appends the record to dst and returns the extended slice. It
// allocates only if dst lacks capacity.
func (x *ShardRef) Append(dst []byte) []byte {
	dst, b := grow(dst, ShardRefSize)
	x.put(b)
	return dst
}

func (x *ShardRef) put(b []byte) {
	_ = b[ShardRefSize-1]
	be.PutUint32(b[0:], x.Shard)
	be.PutUint32(b[4:], x.Count)
	be.PutUint64(b[8:], x.Digest)
}

// ParseShardRef decodes a ShardRef record from the start of b. It returns
// the record, the bytes consumed ([ShardRefSize]) and [ErrTruncated] if b
// is shorter. Trailing bytes are ignored.
func ParseShardRef(b []byte) (ShardRef, int, error) {
	var x ShardRef
	n, err := x.Decode(b)
	return x, n, err
}

// Decode decodes a ShardRef record from the start of b into x, as
// [ParseShardRef] does. On error x is left unchanged.
func (x *ShardRef) Decode(b []byte) (int, error) {
	if len(b) < ShardRefSize {
		return 0, ErrTruncated
	}
	x.Shard = be.Uint32(b[0:])
	x.Count = be.Uint32(b[4:])
	x.Digest = be.Uint64(b[8:])
	return ShardRefSize, nil
}

// Fingerprint is the hash of one record of a shard as its holder has it. In
// a shard request, the Fingerprint records that follow a ShardRef list
// every record the requester holds in that shard, so that the answer can
// leave out the records the requester already holds in the same version. A
// ShardRef with no Fingerprint records after it asks for the whole shard.
//
// Layout (8 bytes):
//
//	off len field
//	0   8   sum
type Fingerprint struct {
	Sum uint64 // the record's hash
}

// Append appends the record to dst and returns the extended slice. It
// allocates only if dst lacks capacity.
func (x *Fingerprint) Append(dst []byte) []byte {
	dst, b := grow(dst, PrintSize)
	be.PutUint64(b, x.Sum)
	return dst
}

// ParseFingerprint decodes a Fingerprint record from the start of b. It
// returns the record, the bytes consumed ([PrintSize]) and [ErrTruncated]
// if b is shorter. Trailing bytes are ignored.
func ParseFingerprint(b []byte) (Fingerprint, int, error) {
	var x Fingerprint
	n, err := x.Decode(b)
	return x, n, err
}

// Decode decodes a Fingerprint record from the start of b into x, as
// [ParseFingerprint] does. On error x is left unchanged.
func (x *Fingerprint) Decode(b []byte) (int, error) {
	if len(b) < PrintSize {
		return 0, ErrTruncated
	}
	x.Sum = be.Uint64(b)
	return PrintSize, nil
}
