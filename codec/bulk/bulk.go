package bulk

import (
	"fmt"

	"github.com/hearsay-io/hearsay/codec"
	"github.com/klauspost/compress/s2"
)

// Errors. Each wraps a codec sentinel, so a receiver that classifies
// rejected datagrams with the codec sentinels alone counts these too.
var (
	// ErrTooLarge reports a block whose declared decompressed size is over
	// the caller's limit. It wraps [codec.ErrTooLarge].
	ErrTooLarge = fmt.Errorf("bulk: decompressed size over the limit: %w", codec.ErrTooLarge)

	// ErrCorrupt reports input that is not a valid compressed block, or a
	// datagram that is not compressed. It wraps [codec.ErrMalformed].
	ErrCorrupt = fmt.Errorf("bulk: corrupt compressed block: %w", codec.ErrMalformed)
)

// MaxCompressedLen returns the largest size Compress can produce for n
// input bytes. A dst with that much free capacity spares Compress
// allocating its output; the encoder's own state is pooled, and what that
// costs is documented on [Compress].
func MaxCompressedLen(n int) int { return s2.MaxEncodedLen(n) }

// Compress appends the compressed form of src to dst, as one S2 block, and
// returns the extended slice. Incompressible input grows a little (see
// [MaxCompressedLen]); the caller decides whether compressing paid off. It
// panics if src is larger than 4 GiB less a few bytes, which no datagram
// comes near. dst's free capacity must not overlap src.
//
// # Allocation
//
// With cap(dst)-len(dst) >= MaxCompressedLen(len(src)) the output is not
// allocated. The encoder's hash table is another matter: on amd64 and
// arm64 (the klauspost/compress assembly encoder), each call takes a table
// from a sync.Pool of its size class and puts it back after. So Compress
// allocates nothing while that pool is warm, which is the steady state of
// a process that compresses more often than it collects garbage, and
// otherwise allocates at most three objects in a call:
//
//   - The table, when the pool is empty: 1 KiB for inputs of 32 to 511
//     bytes, 4 KiB up to 4 KiB-1, 16 KiB up to 16 KiB-1, 64 KiB from
//     16 KiB up. The pool is empty on the first call of a size class;
//     after two garbage collections with no call of the class between them
//     (a collection moves what a sync.Pool holds to its victim cache, the
//     next one drops it); while more calls run at once than tables were
//     put back; and, under the race detector, at random (sync.Pool drops a
//     quarter of the values put back).
//   - The pool's per-processor array (128 bytes per GOMAXPROCS) and its
//     entry in the runtime's list of pools, which sync.Pool rebuilds at its
//     first use after every garbage collection.
//
// Inputs under 32 bytes are stored as one literal, use no table and
// allocate nothing. On other architectures or compilers, and in builds
// with the noasm tag, the encoder keeps its table on the stack and
// Compress allocates nothing when dst has the capacity. TestAllocsAfterGC
// checks each of these figures.
func Compress(dst, src []byte) []byte {
	limit := s2.MaxEncodedLen(len(src))
	if limit < 0 {
		panic("bulk: Compress input too large")
	}
	l := len(dst)
	dst, tail := grow(dst, limit)
	n := len(s2.Encode(tail, src))
	return dst[:l+n]
}

// DecodedLen returns the decompressed size a block declares, or
// [ErrCorrupt] if its length prefix is invalid. It reads only the prefix.
func DecodedLen(src []byte) (int, error) {
	n, err := s2.DecodedLen(src)
	if err != nil {
		return 0, ErrCorrupt
	}
	return n, nil
}

// Decompress appends the decompressed form of the block src to dst and
// returns the extended slice. It first reads the size the block declares
// and fails with [ErrTooLarge] if it is over max, before allocating or
// decoding anything; so hostile input can make it allocate at most max
// bytes, and nothing when cap(dst)-len(dst) >= max. It fails with
// [ErrCorrupt] if src is not a valid block or does not decode to exactly
// its declared size. On error it returns dst unchanged (bytes past len(dst)
// may have been written). dst's free capacity must not overlap src.
func Decompress(dst, src []byte, max int) ([]byte, error) {
	n, err := s2.DecodedLen(src)
	if err != nil {
		return dst, ErrCorrupt
	}
	if n > max {
		return dst, ErrTooLarge
	}
	l := len(dst)
	out, tail := grow(dst, n)
	if _, err := s2.Decode(tail, src); err != nil {
		return dst, ErrCorrupt
	}
	return out[:l+n], nil
}

// grow extends dst by n bytes and returns the extended slice and the new n
// bytes. It allocates only if cap(dst) is too small.
func grow(dst []byte, n int) (whole, tail []byte) {
	l := len(dst)
	if cap(dst)-l < n {
		dst = append(dst, make([]byte, n)...)
	} else {
		dst = dst[:l+n]
	}
	return dst, dst[l:]
}
