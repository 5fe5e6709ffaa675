package bulk

import "github.com/hearsay-io/hearsay/codec"

// CompressDatagram compresses the body of a plain datagram and appends the
// compressed datagram to dst: the same header with [codec.FlagCompressed]
// set and the length of the compressed body, then the body as one block.
// The section count is unchanged; it counts the sections of the
// decompressed body.
//
// It fails, appending nothing, with the errors of [codec.ParseHeader],
// with [codec.ErrSealed] or [codec.ErrCompressed] if the datagram is not
// plain, and with [codec.ErrTooLarge] if the compressed body does not fit
// the 16-bit length field. The result may be larger than the input
// (incompressible bodies) and may still be over the caller's datagram size
// limit: the caller checks both. With cap(dst)-len(dst) >=
// codec.HeaderSize + MaxCompressedLen(body length) it allocates only what
// [Compress] allocates for the body: nothing while the encoder's pool is
// warm. dst's free capacity must not overlap datagram.
func CompressDatagram(dst, datagram []byte) ([]byte, error) {
	h, body, err := codec.Parse(datagram)
	if err != nil {
		return dst, err
	}
	l := len(dst)
	out := append(dst, datagram[:codec.HeaderSize]...)
	out = Compress(out, body)
	n := len(out) - l - codec.HeaderSize
	if n > codec.MaxBodySize {
		return dst, codec.ErrTooLarge
	}
	v := codec.HeaderView(out[l:])
	v.SetFlags(h.Flags | codec.FlagCompressed)
	v.SetLength(uint16(n))
	return out, nil
}

// DecompressDatagram decompresses the body of a compressed, unsealed
// datagram and appends the plain datagram to dst: the same header with
// [codec.FlagCompressed] cleared and the length of the plain body, then the
// body. max caps the plain body's size; it is also capped at
// [codec.MaxBodySize], the most the length field can describe. The cap is
// checked against the size the block declares, before anything is
// allocated or decoded.
//
// It fails, appending nothing, with the errors of [codec.ParseHeader],
// with [codec.ErrSealed] if the datagram must be opened first, with
// [ErrCorrupt] if it is not compressed or its block is invalid, and with
// [ErrTooLarge]. It allocates nothing when cap(dst)-len(dst) >=
// codec.HeaderSize + min(max, codec.MaxBodySize). dst's free capacity must
// not overlap datagram.
func DecompressDatagram(dst, datagram []byte, max int) ([]byte, error) {
	v, err := codec.NewHeaderView(datagram)
	if err != nil {
		return dst, err
	}
	f := v.Flags()
	if f&codec.FlagSealed != 0 {
		return dst, codec.ErrSealed
	}
	if f&codec.FlagCompressed == 0 {
		return dst, ErrCorrupt
	}
	max = min(max, codec.MaxBodySize)
	l := len(dst)
	out := append(dst, datagram[:codec.HeaderSize]...)
	out, err = Decompress(out, v.Body(), max)
	if err != nil {
		return dst, err
	}
	w := codec.HeaderView(out[l:])
	w.SetFlags(f &^ codec.FlagCompressed)
	w.SetLength(uint16(len(out) - l - codec.HeaderSize))
	return out, nil
}
