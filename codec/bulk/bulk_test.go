package bulk_test

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"testing"

	"github.com/hearsay-io/hearsay/codec"
	"github.com/hearsay-io/hearsay/codec/bulk"
)

func randomBytes(n int) []byte {
	rng := rand.New(rand.NewPCG(1, 2))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(rng.Uint32())
	}
	return b
}

var inputs = []struct {
	name string
	data []byte
}{
	{"empty", nil},
	{"one byte", []byte{7}},
	{"short", []byte("hearsay")},
	{"zeros", make([]byte, 5000)},
	{"random", randomBytes(3000)},
	{"members 48", fullState(48, 3)},
	{"members 10000", fullState(10000, 1)},
}

func TestRoundTrip(t *testing.T) {
	for _, in := range inputs {
		c := bulk.Compress([]byte("pre"), in.data)
		if string(c[:3]) != "pre" {
			t.Errorf("%s: Compress(pre, ...) lost the prefix", in.name)
		}
		if len(c)-3 > bulk.MaxCompressedLen(len(in.data)) {
			t.Errorf("%s: compressed to %d bytes, MaxCompressedLen = %d", in.name, len(c)-3, bulk.MaxCompressedLen(len(in.data)))
		}
		if n, err := bulk.DecodedLen(c[3:]); err != nil || n != len(in.data) {
			t.Errorf("%s: DecodedLen = %d, %v; want %d", in.name, n, err, len(in.data))
		}
		d, err := bulk.Decompress([]byte("x"), c[3:], len(in.data))
		if err != nil || string(d[:1]) != "x" || !bytes.Equal(d[1:], in.data) {
			t.Errorf("%s: Decompress(Compress) = %d bytes, %v; want x + %d bytes", in.name, len(d), err, len(in.data))
		}
	}
}

// TestRatio checks that realistic membership data compresses as doc.go
// says (the figures behind choosing s2).
func TestRatio(t *testing.T) {
	tests := []struct {
		name string
		data []byte
		min  float64
	}{
		{"full state of 10,000 members", fullState(10000, 1), 1.95},
		{"datagram body of 48 members", datagramBody(fullState(48, 1), 48), 1.75},
	}
	for _, tt := range tests {
		c := bulk.Compress(nil, tt.data)
		if r := float64(len(tt.data)) / float64(len(c)); r < tt.min {
			t.Errorf("%s: ratio %.3f, want at least %.2f", tt.name, r, tt.min)
		}
	}
}

func TestDecompressLimit(t *testing.T) {
	data := fullState(100, 1)
	c := bulk.Compress(nil, data)
	if _, err := bulk.Decompress(nil, c, len(data)); err != nil {
		t.Errorf("Decompress(max = size) = %v, want nil", err)
	}
	for _, max := range []int{len(data) - 1, 0, -1} {
		d, err := bulk.Decompress([]byte("x"), c, max)
		if !errors.Is(err, bulk.ErrTooLarge) || !errors.Is(err, codec.ErrTooLarge) || string(d) != "x" {
			t.Errorf("Decompress(max = %d) = %q, %v; want x, %v", max, d, err, bulk.ErrTooLarge)
		}
	}
	// A tiny block declaring 4 GiB is refused before anything is allocated.
	bomb := []byte{0xff, 0xff, 0xff, 0xff, 0x0f, 0}
	var err error
	allocs := testing.AllocsPerRun(10, func() { _, err = bulk.Decompress(nil, bomb, 1<<16) })
	if !errors.Is(err, bulk.ErrTooLarge) || allocs != 0 {
		t.Errorf("Decompress(4 GiB bomb) = %v with %v allocations; want %v, 0", err, allocs, bulk.ErrTooLarge)
	}
}

func TestDecompressCorrupt(t *testing.T) {
	c := bulk.Compress(nil, fullState(50, 1))
	tests := []struct {
		name string
		src  []byte
	}{
		{"empty", nil},
		{"varint too long", []byte{0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01}},
		{"varint over 32 bits", []byte{0xff, 0xff, 0xff, 0xff, 0x7f}},
		{"trailing garbage", append(bytes.Clone(c), 0xff, 0xff)},
		{"copy before start", []byte{10, 0x01 | 4<<2, 0x10}}, // copy-1 with offset 16 into empty output
	}
	for i := range c {
		tests = append(tests, struct {
			name string
			src  []byte
		}{"prefix", c[:i]})
	}
	for _, tt := range tests {
		d, err := bulk.Decompress([]byte("x"), tt.src, 1<<20)
		if !errors.Is(err, bulk.ErrCorrupt) || !errors.Is(err, codec.ErrMalformed) || string(d) != "x" {
			t.Errorf("Decompress(%s %x) = %d bytes, %v; want %v", tt.name, tt.src, len(d), err, bulk.ErrCorrupt)
		}
	}
	if _, err := bulk.DecodedLen(nil); !errors.Is(err, bulk.ErrCorrupt) {
		t.Errorf("DecodedLen(nil) = %v, want %v", err, bulk.ErrCorrupt)
	}
}
