package codec_test

import (
	"errors"
	"testing"

	"github.com/hearsay-io/hearsay/codec"
)

func TestHeaderRoundTrip(t *testing.T) {
	h := codec.Header{
		Version:     7, // Append writes Version whatever this says
		Type:        codec.MsgShardData,
		Flags:       codec.FlagCompressed,
		Sections:    3,
		Length:      0,
		Cluster:     1<<64 - 1,
		Sender:      0x0102030405060708,
		Generation:  42,
		Incarnation: 1<<32 - 1,
		Seq:         99,
	}
	b := h.Append([]byte("prefix"))
	if string(b[:6]) != "prefix" || len(b) != 6+codec.HeaderSize {
		t.Fatalf("Append(prefix) = %x, want prefix then %d bytes", b, codec.HeaderSize)
	}
	got, err := codec.ParseHeader(b[6:])
	want := h
	want.Version = codec.Version
	if err != nil || got != want {
		t.Errorf("ParseHeader(Append(h)) = %+v, %v; want %+v, nil", got, err, want)
	}
}

// header returns a valid plain header with the given body length, followed
// by that many body bytes.
func header(length int) []byte {
	h := testHeader(codec.MsgGossip)
	h.Length = uint16(length)
	return h.Append(nil)[:codec.HeaderSize:codec.HeaderSize]
}

func TestParseHeaderErrors(t *testing.T) {
	plain := append(header(4), 1, 2, 3, 4)
	tests := []struct {
		name string
		edit func(b []byte) []byte
		want error
	}{
		{"valid", func(b []byte) []byte { return b }, nil},
		{"trailing bytes ignored", func(b []byte) []byte { return append(b, 9, 9, 9) }, nil},
		{"newer version", func(b []byte) []byte { b[2] = 200; return b }, nil},
		{"empty", func(b []byte) []byte { return b[:0] }, codec.ErrTruncated},
		{"short header", func(b []byte) []byte { return b[:codec.HeaderSize-1] }, codec.ErrTruncated},
		{"short body", func(b []byte) []byte { return b[:len(b)-1] }, codec.ErrTruncated},
		{"length past end", func(b []byte) []byte { b[6], b[7] = 0xff, 0xff; return b }, codec.ErrTruncated},
		{"magic 0", func(b []byte) []byte { b[0] = 'h'; return b }, codec.ErrMagic},
		{"magic 1", func(b []byte) []byte { b[1] = 's'; return b }, codec.ErrMagic},
		{"version 0", func(b []byte) []byte { b[2] = 0; return b }, codec.ErrVersion},
		{"unknown flag", func(b []byte) []byte { b[4] = 1 << 2; return b }, codec.ErrMalformed},
		{"top flag", func(b []byte) []byte { b[4] = 1 << 7; return b }, codec.ErrMalformed},
		{"sealed too short", func(b []byte) []byte { b[4] = byte(codec.FlagSealed); return b }, codec.ErrMalformed},
		{"compressed", func(b []byte) []byte { b[4] = byte(codec.FlagCompressed); return b }, nil},
	}
	for _, tt := range tests {
		b := tt.edit(append([]byte(nil), plain...))
		_, err := codec.ParseHeader(b)
		if !errors.Is(err, tt.want) {
			t.Errorf("%s: ParseHeader(%x) = %v, want %v", tt.name, b, err, tt.want)
		}
		v, err := codec.NewHeaderView(b)
		if !errors.Is(err, tt.want) {
			t.Errorf("%s: NewHeaderView(%x) = %v, want %v", tt.name, b, err, tt.want)
		}
		if err == nil && len(v) != codec.HeaderSize+4 {
			t.Errorf("%s: len(NewHeaderView(%x)) = %d, want %d", tt.name, b, len(v), codec.HeaderSize+4)
		}
	}
}

func TestHeaderView(t *testing.T) {
	h := testHeader(codec.MsgPing)
	h.Flags = codec.FlagCompressed
	h.Sections = 2
	h.Length = 3
	b := append(h.Append(nil), 'a', 'b', 'c', 'x') // 'x' is past the body
	v, err := codec.NewHeaderView(b)
	if err != nil {
		t.Fatalf("NewHeaderView(%x) = %v", b, err)
	}
	want := h
	want.Version = codec.Version
	if got := v.Header(); got != want {
		t.Errorf("Header() = %+v, want %+v", got, want)
	}
	checks := []struct {
		name      string
		got, want any
	}{
		{"Version", v.Version(), uint8(codec.Version)},
		{"Type", v.Type(), h.Type},
		{"Flags", v.Flags(), h.Flags},
		{"Sections", v.Sections(), 2},
		{"Length", v.Length(), 3},
		{"Cluster", v.Cluster(), h.Cluster},
		{"Sender", v.Sender(), h.Sender},
		{"Generation", v.Generation(), h.Generation},
		{"Incarnation", v.Incarnation(), h.Incarnation},
		{"Seq", v.Seq(), h.Seq},
		{"Body", string(v.Body()), "abc"},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s() = %v, want %v", c.name, c.got, c.want)
		}
	}

	v.SetFlags(0)
	v.SetSections(9)
	v.SetSeq(77)
	v.SetLength(2)
	got, err := codec.ParseHeader(b)
	if err != nil || got.Flags != 0 || got.Sections != 9 || got.Seq != 77 || got.Length != 2 {
		t.Errorf("after setters ParseHeader = %+v, %v; want flags 0, sections 9, seq 77, length 2", got, err)
	}
	if string(v.Body()) != "ab" {
		t.Errorf("Body() after SetLength(2) = %q, want %q", v.Body(), "ab")
	}
	v.SetLength(1000) // past the view: Body stops at the end of the view
	if string(v.Body()) != "abc" {
		t.Errorf("Body() after SetLength(1000) = %q, want %q", v.Body(), "abc")
	}
}

// TestHeaderViewShort checks that a view made by conversion, bypassing the
// constructor, never panics.
func TestHeaderViewShort(t *testing.T) {
	for _, v := range []codec.HeaderView{nil, {}, codec.HeaderView(make([]byte, codec.HeaderSize-1))} {
		v.SetFlags(1)
		v.SetSections(1)
		v.SetLength(1)
		v.SetSeq(1)
		if h := v.Header(); h != (codec.Header{}) {
			t.Errorf("HeaderView(%x).Header() = %+v, want zero", []byte(v), h)
		}
		if v.Type() != 0 || v.Flags() != 0 || v.Sections() != 0 || v.Length() != 0 || v.Cluster() != 0 ||
			v.Sender() != 0 || v.Generation() != 0 || v.Incarnation() != 0 || v.Seq() != 0 || v.Version() != 0 || v.Body() != nil {
			t.Errorf("HeaderView(%x) getters are not all zero", []byte(v))
		}
	}
}

func TestClusterID(t *testing.T) {
	// The values are fixed forever: nodes of different versions must agree.
	// They are SHA-256("hearsay cluster id\x00" || name)[:8], computed
	// independently (Python hashlib).
	tests := []struct {
		name string
		want uint64
	}{
		{"", 0x8bb03d425a115e39},
		{"prod", 0x80529891f0c62df9},
		{"hearsay", 0xad5551740037a750},
	}
	for _, tt := range tests {
		if got := codec.ClusterID(tt.name); got != tt.want {
			t.Errorf("ClusterID(%q) = %#x, want %#x", tt.name, got, tt.want)
		}
	}
	if codec.ClusterID("a") == codec.ClusterID("b") {
		t.Errorf("ClusterID(a) == ClusterID(b)")
	}
}

func TestCheckCluster(t *testing.T) {
	h := codec.Header{Cluster: codec.ClusterID("prod")}
	if err := h.CheckCluster(codec.ClusterID("prod")); err != nil {
		t.Errorf("CheckCluster(same) = %v, want nil", err)
	}
	if err := h.CheckCluster(codec.ClusterID("staging")); !errors.Is(err, codec.ErrCluster) {
		t.Errorf("CheckCluster(other) = %v, want %v", err, codec.ErrCluster)
	}
}
