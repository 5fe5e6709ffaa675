package bulk_test

import (
	"bytes"
	"errors"
	"testing"

	"github.com/hearsay-io/hearsay/codec"
	"github.com/hearsay-io/hearsay/codec/bulk"
)

// nastyBlocks are hand-written hostile inputs.
var nastyBlocks = [][]byte{
	nil,                                   // empty
	{0x00},                                // declares 0 bytes: valid, empty
	{0x80},                                // unterminated varint
	{0xff, 0xff, 0xff, 0xff, 0x0f, 0x00},  // declares 4 GiB (a bomb)
	{0xff, 0xff, 0xff, 0xff, 0xff, 0x01},  // varint over 32 bits
	{0x05, 0x10, 'a', 'b'},                // literal longer than the input
	{0x0a, 0x05, 0x10},                    // copy before the start of the output
	{0x0c, 0x00, 'a', 0x01 | 7<<2, 0x01},  // overlapping copy: "a" then 11 more (valid)
	{0x03, 0x08, 'a', 'b', 'c', 'd', 'e'}, // trailing bytes after the declared size
}

func FuzzDecompress(f *testing.F) {
	// Seeds are kept under 1 KiB: the fuzzer minimizes every input that
	// finds new coverage, and minimizing a large one stalls it for up to a
	// minute.
	for _, in := range inputs {
		data := in.data[:min(len(in.data), 1000)]
		f.Add(bulk.Compress(nil, data), uint32(len(data)))
	}
	for _, b := range nastyBlocks {
		f.Add(b, uint32(1<<16))
	}
	f.Fuzz(func(t *testing.T, src []byte, max uint32) {
		// Datagram bodies are at most 64 KiB; larger limits only slow the
		// fuzzer down (minimizing an input that decodes 1 MiB takes a minute).
		limit := int(max % (1 << 17))
		out, err := bulk.Decompress([]byte("x"), src, limit)
		if err != nil {
			if string(out) != "x" || (!errors.Is(err, bulk.ErrCorrupt) && !errors.Is(err, bulk.ErrTooLarge)) {
				t.Fatalf("Decompress = %d bytes, %v; want x and a sentinel", len(out), err)
			}
			return
		}
		plain := out[1:]
		if len(plain) > limit {
			t.Fatalf("Decompress gave %d bytes over max %d", len(plain), limit)
		}
		if n, err := bulk.DecodedLen(src); err != nil || n != len(plain) {
			t.Fatalf("DecodedLen = %d, %v; decoded %d", n, err, len(plain))
		}
		again, err := bulk.Decompress(nil, bulk.Compress(nil, plain), len(plain))
		if err != nil || !bytes.Equal(again, plain) {
			t.Fatalf("round trip of %d bytes failed: %v", len(plain), err)
		}
	})
}

func FuzzDecompressDatagram(f *testing.F) {
	state := fullState(10, 1)
	for _, k := range []int{0, 1, 10} { // small seeds: see FuzzDecompress
		c, err := bulk.CompressDatagram(nil, shardData(state, k))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(c)
	}
	h := codec.Header{Type: codec.MsgShardData, Flags: codec.FlagCompressed, Sections: 1}
	for _, b := range nastyBlocks {
		hb := h
		hb.Length = uint16(len(b))
		f.Add(append(hb.Append(nil), b...))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		out, err := bulk.DecompressDatagram(nil, b, codec.MaxBodySize)
		if err != nil {
			if out != nil {
				t.Fatalf("DecompressDatagram failed but appended %d bytes", len(out))
			}
			return
		}
		hdr, err := codec.ParseHeader(out)
		if err != nil || hdr.Flags&codec.FlagCompressed != 0 || len(out) != codec.HeaderSize+int(hdr.Length) {
			t.Fatalf("DecompressDatagram returned header %+v, %v for %d bytes", hdr, err, len(out))
		}
		c, err := bulk.CompressDatagram(nil, out)
		if err != nil {
			t.Fatalf("CompressDatagram(decompressed) = %v", err)
		}
		again, err := bulk.DecompressDatagram(nil, c, codec.MaxBodySize)
		if err != nil || !bytes.Equal(again, out) {
			t.Fatalf("round trip failed: %v", err)
		}
	})
}
