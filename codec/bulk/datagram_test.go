package bulk_test

import (
	"bytes"
	"errors"
	"testing"

	"github.com/hearsay-io/hearsay/codec"
	"github.com/hearsay-io/hearsay/codec/bulk"
)

// shardData returns a plain shard-data datagram carrying the first k
// members of state, built with a limit large enough for all of them.
func shardData(state []byte, k int) []byte {
	var b codec.Builder
	b.Reset(make([]byte, 0, codec.MaxDatagramSize), codec.MaxDatagramSize, codec.Header{
		Type: codec.MsgShardData, Cluster: codec.ClusterID("test"), Sender: 1, Seq: 9,
	})
	for i := range k {
		m, _, err := codec.ParseMember(state[i*codec.MemberSize:])
		if err != nil {
			panic(err)
		}
		if !b.AddMember(&m) {
			panic("does not fit")
		}
	}
	b.AddShardRef(codec.ShardRef{Shard: 3, Count: uint32(k), Digest: 0xabc})
	return b.Finish()
}

func TestDatagramRoundTrip(t *testing.T) {
	state := fullState(1000, 1)
	for _, k := range []int{0, 1, 24, 48, 500, 1000} {
		plain := shardData(state, k)
		c, err := bulk.CompressDatagram([]byte("pre"), plain)
		if err != nil || string(c[:3]) != "pre" {
			t.Fatalf("CompressDatagram(%d members) = %v", k, err)
		}
		c = c[3:]
		h, err := codec.ParseHeader(c)
		if err != nil || h.Flags != codec.FlagCompressed || int(h.Length) != len(c)-codec.HeaderSize || h.Sections != plain[5] {
			t.Errorf("compressed header = %+v, %v", h, err)
		}
		if err := codec.Validate(c); !errors.Is(err, codec.ErrCompressed) {
			t.Errorf("Validate(compressed) = %v, want %v", err, codec.ErrCompressed)
		}
		if k >= 24 && len(c) >= len(plain) {
			t.Errorf("%d members: compressed %d bytes, plain %d", k, len(c), len(plain))
		}
		d, err := bulk.DecompressDatagram([]byte("x"), c, codec.MaxBodySize)
		if err != nil || string(d[:1]) != "x" || !bytes.Equal(d[1:], plain) {
			t.Errorf("DecompressDatagram(CompressDatagram(%d members)) = %v; differs: %v", k, err, !bytes.Equal(d[1:], plain))
		}
	}
}

// TestDatagramCompressThenSeal checks the order of the two transforms on
// the way out (compress, then seal) and back (open, then decompress).
func TestDatagramCompressThenSeal(t *testing.T) {
	k, err := codec.NewKeyring(bytes.Repeat([]byte{1}, 32))
	if err != nil {
		t.Fatal(err)
	}
	plain := shardData(fullState(100, 1), 100)
	c, _ := bulk.CompressDatagram(nil, plain)
	s, err := codec.Seal(nil, c, k)
	if err != nil {
		t.Fatalf("Seal(compressed) = %v", err)
	}
	if _, err := bulk.DecompressDatagram(nil, s, codec.MaxBodySize); !errors.Is(err, codec.ErrSealed) {
		t.Errorf("DecompressDatagram(sealed) = %v, want %v", err, codec.ErrSealed)
	}
	if _, err := bulk.CompressDatagram(nil, s); !errors.Is(err, codec.ErrSealed) {
		t.Errorf("CompressDatagram(sealed) = %v, want %v", err, codec.ErrSealed)
	}
	o, err := codec.Open(nil, s, k)
	if err != nil {
		t.Fatalf("Open = %v", err)
	}
	d, err := bulk.DecompressDatagram(nil, o, codec.MaxBodySize)
	if err != nil || !bytes.Equal(d, plain) {
		t.Errorf("DecompressDatagram(Open(Seal(CompressDatagram))) = %v, equal %v", err, bytes.Equal(d, plain))
	}
}

func TestDatagramErrors(t *testing.T) {
	plain := shardData(fullState(100, 1), 100)
	c, _ := bulk.CompressDatagram(nil, plain)
	badBlock := bytes.Clone(c)
	badBlock[len(badBlock)-1] ^= 0xff
	badBlock[codec.HeaderSize] ^= 0x40 // change the declared length
	tests := []struct {
		name string
		in   []byte
		max  int
		want error
	}{
		{"plain", plain, codec.MaxBodySize, bulk.ErrCorrupt},
		{"truncated", c[:len(c)-1], codec.MaxBodySize, codec.ErrTruncated},
		{"short", c[:10], codec.MaxBodySize, codec.ErrTruncated},
		{"bad magic", append([]byte("XX"), c[2:]...), codec.MaxBodySize, codec.ErrMagic},
		{"corrupt block", badBlock, codec.MaxBodySize, bulk.ErrCorrupt},
		{"over max", c, len(plain) - codec.HeaderSize - 1, bulk.ErrTooLarge},
		{"exactly max", c, len(plain) - codec.HeaderSize, nil},
		{"max over the length field", c, 1 << 30, nil},
	}
	for _, tt := range tests {
		d, err := bulk.DecompressDatagram([]byte("x"), tt.in, tt.max)
		if !errors.Is(err, tt.want) {
			t.Errorf("DecompressDatagram(%s) = %v, want %v", tt.name, err, tt.want)
		}
		if err != nil && string(d) != "x" {
			t.Errorf("DecompressDatagram(%s) failed but appended %d bytes", tt.name, len(d)-1)
		}
	}
	if _, err := bulk.CompressDatagram(nil, c); !errors.Is(err, codec.ErrCompressed) {
		t.Errorf("CompressDatagram(compressed) = %v, want %v", err, codec.ErrCompressed)
	}
	if _, err := bulk.CompressDatagram(nil, plain[:30]); !errors.Is(err, codec.ErrTruncated) {
		t.Errorf("CompressDatagram(short) = %v, want %v", err, codec.ErrTruncated)
	}
	// A block declaring more than the length field can describe.
	big := make([]byte, codec.MaxBodySize+1)
	h := codec.Header{Type: codec.MsgShardData}
	huge := h.Append(nil)
	huge = bulk.Compress(huge, big)
	codec.HeaderView(huge).SetFlags(codec.FlagCompressed)
	codec.HeaderView(huge).SetLength(uint16(len(huge) - codec.HeaderSize))
	if _, err := bulk.DecompressDatagram(nil, huge, 1<<30); !errors.Is(err, bulk.ErrTooLarge) {
		t.Errorf("DecompressDatagram(body of %d bytes) = %v, want %v", len(big), err, bulk.ErrTooLarge)
	}
}

// TestCompressDatagramTooLarge checks that an incompressible maximal body
// is refused rather than given a wrapped-around length.
func TestCompressDatagramTooLarge(t *testing.T) {
	h := codec.Header{Type: codec.MsgShardData, Length: codec.MaxBodySize}
	d := append(h.Append(nil), randomBytes(codec.MaxBodySize)...)
	got, err := bulk.CompressDatagram([]byte("x"), d)
	if !errors.Is(err, codec.ErrTooLarge) || string(got) != "x" {
		t.Errorf("CompressDatagram(incompressible 64 KiB) = %d bytes, %v; want %v", len(got), err, codec.ErrTooLarge)
	}
}
