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
// input bytes. A dst with that much free capacity makes Compress
// allocation-free.
func MaxCompressedLen(n int) int { return s2.MaxEncodedLen(n) }

// Compress appends the compressed form of src to dst, as one S2 block, and
// returns the extended slice. Incompressible input grows a little (see
// [MaxCompressedLen]); the caller decides whether compressing paid off. It
// allocates nothing when cap(dst)-len(dst) >= MaxCompressedLen(len(src)),
// and panics if src is larger than 4 GiB less a few bytes, which no
// datagram comes near. dst's free capacity must not overlap src.
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
