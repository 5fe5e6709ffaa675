package ring

import (
	"encoding/binary"

	"github.com/cespare/xxhash/v2"
)

// Position returns id's place on the monitoring circle: the xxhash64 digest,
// seed 0, of the 8 big-endian bytes of id. It is a stable contract: the
// engine orders its membership table by Position and computes the observer
// relation over that order, so every version of Hearsay must compute the same
// value for the same id. Members are ordered on the circle by (Position, id),
// both compared as unsigned integers, so that two members whose positions
// collide still have a total order.
func Position(id uint64) uint64 {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], id)
	return xxhash.Sum64(b[:])
}

// KeyHash returns the xxhash64 digest, seed 0, of key: the 64-bit hash that
// Ring.Owner and Ring.Owners take, for callers whose keys are bytes.
func KeyHash(key []byte) uint64 {
	return xxhash.Sum64(key)
}

// tokenHash returns token i of member id on the key ring: the xxhash64
// digest, seed 0, of the 12 bytes formed by id (8 bytes, big-endian) followed
// by i (4 bytes, big-endian). The input length keeps tokens apart from
// Position, which hashes 8 bytes.
func tokenHash(id uint64, i int) uint64 {
	var b [12]byte
	binary.BigEndian.PutUint64(b[:8], id)
	binary.BigEndian.PutUint32(b[8:], uint32(i))
	return xxhash.Sum64(b[:])
}
