package codec_test

import (
	"bytes"
	"errors"
	"testing"

	"github.com/hearsay-io/hearsay/codec"
)

// section returns a section header for count records of the given type and
// size, followed by payload.
func section(typ codec.RecType, size, count int, payload []byte) []byte {
	return append([]byte{byte(typ), byte(size), byte(count >> 8), byte(count)}, payload...)
}

// datagram returns a plain datagram with the given section count and body.
func datagram(sections int, body []byte) []byte {
	h := testHeader(codec.MsgGossip)
	h.Sections = uint8(sections)
	h.Length = uint16(len(body))
	return append(h.Append(nil), body...)
}

func TestReaderUnknownAndNewer(t *testing.T) {
	member := testMember.Append(nil)
	newerMember := append(bytes.Clone(member), 0xee, 0xee, 0xee, 0xee) // a newer sender's 60-byte member
	body := concat(
		section(200, 3, 2, []byte("abcdef")),                              // unknown type: skipped by the caller
		section(codec.RecMember, 60, 2, concat(newerMember, newerMember)), // larger records: accepted
		section(codec.RecPing, 16, 0, nil),                                // empty section
		[]byte("trailing bytes from a newer sender"),
	)
	d := append(datagram(3, body), "padding after the body"...)
	if err := codec.Validate(d); err != nil {
		t.Fatalf("Validate = %v, want nil", err)
	}
	_, b, _ := codec.Parse(d)
	var r codec.Reader
	r.Reset(3, b)

	if !r.Next() || r.Type() != 200 || r.Count() != 2 || r.Size() != 3 || string(r.Record(1)) != "def" {
		t.Fatalf("section 1 = %v×%d size %d record 1 %q; want rec(200)×2 size 3 %q", r.Type(), r.Count(), r.Size(), r.Record(1), "def")
	}
	if !r.Next() || r.Type() != codec.RecMember || r.Count() != 2 || len(r.Record(0)) != 60 {
		t.Fatalf("section 2 = %v×%d, record length %d; want member×2, 60", r.Type(), r.Count(), len(r.Record(0)))
	}
	m, n, err := codec.ParseMember(r.Record(1))
	if err != nil || n != codec.MemberSize || m != testMember {
		t.Errorf("ParseMember(newer record) = %+v, %d, %v; want %+v, %d, nil", m, n, err, testMember, codec.MemberSize)
	}
	for _, i := range []int{-1, 2, 1000} {
		if rec := r.Record(i); rec != nil {
			t.Errorf("Record(%d) = %x, want nil", i, rec)
		}
	}
	if !r.Next() || r.Type() != codec.RecPing || r.Count() != 0 {
		t.Fatalf("section 3 = %v×%d, want ping×0", r.Type(), r.Count())
	}
	if r.Next() || r.Err() != nil {
		t.Errorf("after the last section: Next() = true or Err() = %v", r.Err())
	}
	if r.Type() != 0 || r.Count() != 0 {
		t.Errorf("after the end: Type %v Count %d, want 0, 0", r.Type(), r.Count())
	}
}

func concat(bs ...[]byte) []byte { return bytes.Join(bs, nil) }

func TestReaderErrors(t *testing.T) {
	member := testMember.Append(nil)
	tests := []struct {
		name     string
		sections int
		body     []byte
		want     error
	}{
		{"no sections", 0, nil, nil},
		{"missing section", 1, nil, codec.ErrTruncated},
		{"partial section header", 1, []byte{6, 56, 0}, codec.ErrTruncated},
		{"records past the body", 1, section(codec.RecMember, 56, 2, member), codec.ErrTruncated},
		{"count past the body", 1, section(200, 255, 65535, nil), codec.ErrTruncated},
		{"second section missing", 2, section(codec.RecMember, 56, 1, member), codec.ErrTruncated},
		{"zero size", 1, section(200, 0, 1, nil), codec.ErrMalformed},
		{"zero size, zero count", 1, section(200, 0, 0, nil), codec.ErrMalformed},
		{"member too small", 1, section(codec.RecMember, 55, 1, member[:55]), codec.ErrMalformed},
		{"state too small", 1, section(codec.RecState, 1, 1, []byte{0}), codec.ErrMalformed},
	}
	for _, tt := range tests {
		var r codec.Reader
		r.Reset(tt.sections, tt.body)
		n := 0
		for r.Next() {
			n++
		}
		if !errors.Is(r.Err(), tt.want) {
			t.Errorf("%s: Err() = %v, want %v", tt.name, r.Err(), tt.want)
		}
		if r.Next() {
			t.Errorf("%s: Next() = true after the end", tt.name)
		}
		if err := codec.Validate(datagram(tt.sections, tt.body)); !errors.Is(err, tt.want) {
			t.Errorf("%s: Validate = %v, want %v", tt.name, err, tt.want)
		}
	}
}

func TestValidateRecordContent(t *testing.T) {
	bad := testMember.Append(nil)
	bad[20] = 0 // invalid state
	badState := testState.Append(nil)
	badState[25] = 33
	badVerdict := testVerdict.Append(nil)
	badVerdict[12] = 5 // invalid state
	for _, d := range [][]byte{
		datagram(1, section(codec.RecMember, 56, 1, bad)),
		datagram(1, section(codec.RecState, 128, 1, badState)),
		datagram(1, section(codec.RecVerdict, 16, 1, badVerdict)),
		datagram(2, concat(section(codec.RecEcho, 16, 1, testEcho.Append(nil)), section(codec.RecVerdict, 16, 2, concat(testVerdict.Append(nil), badVerdict)))),
	} {
		if err := codec.Validate(d); !errors.Is(err, codec.ErrMalformed) {
			t.Errorf("Validate(%x) = %v, want %v", d, err, codec.ErrMalformed)
		}
	}
}

func TestParseFlags(t *testing.T) {
	plain := build(messages[0])
	sealed := bytes.Clone(plain)
	sealed[4] = byte(codec.FlagSealed)
	compressed := bytes.Clone(plain)
	compressed[4] = byte(codec.FlagCompressed)
	tests := []struct {
		name string
		b    []byte
		want error
	}{
		{"plain", plain, nil},
		{"sealed", sealed, codec.ErrSealed},
		{"compressed", compressed, codec.ErrCompressed},
	}
	for _, tt := range tests {
		h, body, err := codec.Parse(tt.b)
		if !errors.Is(err, tt.want) {
			t.Errorf("Parse(%s) = %v, want %v", tt.name, err, tt.want)
		}
		if err == nil && (int(h.Length) != len(body) || &body[0] != &tt.b[codec.HeaderSize]) {
			t.Errorf("Parse(%s) body does not alias the input or has the wrong length", tt.name)
		}
		if err := codec.Validate(tt.b); !errors.Is(err, tt.want) {
			t.Errorf("Validate(%s) = %v, want %v", tt.name, err, tt.want)
		}
	}
}

// TestProperPrefixes checks that every proper prefix of every valid
// datagram fails with ErrTruncated, and so does every shorter body whose
// length field was adjusted to match (a lying sender).
func TestProperPrefixes(t *testing.T) {
	for _, m := range messages {
		d := build(m)
		for i := range d {
			if err := codec.Validate(d[:i]); !errors.Is(err, codec.ErrTruncated) {
				t.Errorf("Validate(%v[:%d of %d]) = %v, want %v", m.typ, i, len(d), err, codec.ErrTruncated)
			}
			if _, _, err := codec.Parse(d[:i]); !errors.Is(err, codec.ErrTruncated) {
				t.Errorf("Parse(%v[:%d of %d]) = %v, want %v", m.typ, i, len(d), err, codec.ErrTruncated)
			}
		}
		for i := codec.HeaderSize; i < len(d); i++ {
			cut := bytes.Clone(d[:i])
			codec.HeaderView(cut).SetLength(uint16(i - codec.HeaderSize))
			if err := codec.Validate(cut); !errors.Is(err, codec.ErrTruncated) {
				t.Errorf("Validate(%v with body cut to %d) = %v, want %v", m.typ, i-codec.HeaderSize, err, codec.ErrTruncated)
			}
		}
	}
}

// TestReaderRoundTrip decodes every record of every golden message and
// re-encodes it to the same bytes.
func TestReaderRoundTrip(t *testing.T) {
	for _, m := range messages {
		d := build(m)
		h, body, err := codec.Parse(d)
		if err != nil {
			t.Fatalf("Parse(%v) = %v", m.typ, err)
		}
		var b codec.Builder
		b.Reset(make([]byte, 0, 1400), 1400, h)
		var r codec.Reader
		r.Reset(int(h.Sections), body)
		for r.Next() {
			if r.Type() == codec.RecUser {
				x, p, err := r.User()
				if err != nil || !b.AddUser(x, p) {
					t.Fatalf("%v: re-adding a user message failed: %v", m.typ, err)
				}
				continue
			}
			for i := range r.Count() {
				if !reAdd(&b, r.Type(), r.Record(i)) {
					t.Fatalf("%v: re-adding a %v record failed", m.typ, r.Type())
				}
			}
		}
		if r.Err() != nil {
			t.Errorf("%v: Err() = %v", m.typ, r.Err())
		}
		if got := b.Finish(); !bytes.Equal(got, d) {
			t.Errorf("%v: rebuilt = %x, want %x", m.typ, got, d)
		}
	}
}

// reAdd decodes rec and adds it to b.
func reAdd(b *codec.Builder, t codec.RecType, rec []byte) bool {
	switch t {
	case codec.RecHeartbeat:
		x, _, err := codec.ParseHeartbeat(rec)
		return err == nil && b.AddHeartbeat(x)
	case codec.RecPing:
		x, _, err := codec.ParsePing(rec)
		return err == nil && b.AddPing(x)
	case codec.RecAck:
		x, _, err := codec.ParseAck(rec)
		return err == nil && b.AddAck(x)
	case codec.RecPingReq:
		x, _, err := codec.ParsePingReq(rec)
		return err == nil && b.AddPingReq(x)
	case codec.RecNack:
		x, _, err := codec.ParseNack(rec)
		return err == nil && b.AddNack(x)
	case codec.RecMember:
		x, _, err := codec.ParseMember(rec)
		return err == nil && b.AddMember(&x)
	case codec.RecState:
		x, _, err := codec.ParseStateEntry(rec)
		return err == nil && b.AddState(&x)
	case codec.RecDigest:
		x, _, err := codec.ParseDigest(rec)
		return err == nil && b.AddDigest(x)
	case codec.RecShardRef:
		x, _, err := codec.ParseShardRef(rec)
		return err == nil && b.AddShardRef(x)
	case codec.RecPrint:
		x, _, err := codec.ParseFingerprint(rec)
		return err == nil && b.AddFingerprint(x)
	case codec.RecEcho:
		x, _, err := codec.ParseEcho(rec)
		return err == nil && b.AddEcho(x)
	case codec.RecVerdict:
		x, _, err := codec.ParseVerdict(rec)
		return err == nil && b.AddVerdict(x)
	case codec.RecRetry:
		x, _, err := codec.ParseRetry(rec)
		return err == nil && b.AddRetry(x)
	}
	return false
}
