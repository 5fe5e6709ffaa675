package codec_test

import (
	"bytes"
	"errors"
	"testing"

	"github.com/hearsay-io/hearsay/codec"
)

// userBody builds a plain datagram holding the given user messages with a
// Member record between them, and returns its header and body.
func userBody(t *testing.T, limit int, msgs []codec.UserMsg, payloads [][]byte) (codec.Header, []byte) {
	t.Helper()
	var b codec.Builder
	b.Reset(make([]byte, 0, limit), limit, testHeader(codec.MsgGossip))
	for i := range msgs {
		if !b.AddUser(msgs[i], payloads[i]) {
			t.Fatalf("AddUser(%d bytes) = false", len(payloads[i]))
		}
		if !b.AddMember(&testMember) {
			t.Fatalf("AddMember after a user message = false")
		}
	}
	d := b.Finish()
	if err := codec.Validate(d); err != nil {
		t.Fatalf("Validate(built) = %v", err)
	}
	h, body, err := codec.Parse(d)
	if err != nil {
		t.Fatal(err)
	}
	return h, body
}

// TestUserPair checks that user messages read back as written, with the
// records around them, and that a payload aliases the body without being
// able to overwrite it.
func TestUserPair(t *testing.T) {
	msgs := []codec.UserMsg{testUser, testSend, {Origin: 9, Generation: 1, Seq: 1, Broadcast: true}}
	payloads := [][]byte{testPayload, bytes.Repeat([]byte{0xab}, 300), nil}
	h, body := userBody(t, codec.DefaultDatagramSize, msgs, payloads)
	var r codec.Reader
	r.Reset(int(h.Sections), body)
	k := 0
	for r.Next() {
		switch r.Type() {
		case codec.RecMember:
			continue
		case codec.RecUser:
		default:
			t.Fatalf("section %v outside a user message", r.Type())
		}
		x, p, err := r.User()
		want := msgs[k]
		want.Length = uint16(len(payloads[k]))
		if err != nil || x != want || !bytes.Equal(p, payloads[k]) {
			t.Fatalf("User() = %+v, %x, %v; want %+v, %x, nil", x, p, err, want, payloads[k])
		}
		if r.Type() != codec.RecPayload || r.Count() != len(p) {
			t.Errorf("after User(), section %v×%d, want the payload's", r.Type(), r.Count())
		}
		if cap(p) != len(p) {
			t.Errorf("cap(payload) = %d, want %d: appending could overwrite the body", cap(p), len(p))
		}
		if len(p) > 0 && &p[0] != &body[bytes.Index(body, p)] {
			t.Errorf("the payload does not alias the body")
		}
		k++
	}
	if r.Err() != nil || k != len(msgs) {
		t.Errorf("read %d user messages, Err() = %v; want %d, nil", k, r.Err(), len(msgs))
	}
}

// TestUserCapacity checks the largest payload a default datagram carries,
// plain and sealed (the numbers doc.go quotes), that UserRoom predicts
// AddUser, and that a message that does not fit writes nothing.
func TestUserCapacity(t *testing.T) {
	for _, c := range []struct {
		name       string
		limit, max int
	}{
		{"plain", codec.DefaultDatagramSize, 1328},
		{"sealed", codec.DefaultDatagramSize - codec.SealOverhead, 1296},
	} {
		var b codec.Builder
		b.Reset(make([]byte, 0, c.limit), c.limit, testHeader(codec.MsgUser))
		if got := b.UserRoom(); got != c.max {
			t.Errorf("%s: UserRoom() = %d, want %d", c.name, got, c.max)
		}
		if b.AddUser(testSend, make([]byte, c.max+1)) || b.Len() != codec.HeaderSize || b.Records() != 0 {
			t.Errorf("%s: AddUser(%d bytes) = true or wrote %d bytes", c.name, c.max+1, b.Len()-codec.HeaderSize)
		}
		if !b.AddUser(testSend, make([]byte, c.max)) || b.Len() != c.limit || b.Records() != 1 {
			t.Errorf("%s: AddUser(%d bytes) failed, or Len %d, Records %d", c.name, c.max, b.Len(), b.Records())
		}
		if b.UserRoom() != -1 || b.AddUser(testSend, nil) {
			t.Errorf("%s: a full datagram has UserRoom %d, or took an empty message", c.name, b.UserRoom())
		}
		if d := b.Finish(); codec.Validate(d) != nil {
			t.Errorf("%s: Validate(full) = %v", c.name, codec.Validate(d))
		}
	}
	// 255 sections at most: a message needs two.
	var b codec.Builder
	b.Reset(make([]byte, 0, 65535), 65535, testHeader(codec.MsgGossip))
	for i := 0; i < 253; i++ {
		if i%2 == 0 {
			b.AddMember(&testMember)
		} else {
			b.AddState(&testState)
		}
	}
	if b.Room(codec.RecUser) != 1 || b.UserRoom() < 0 || !b.AddUser(testUser, testPayload) {
		t.Errorf("with 253 sections: Room(user) = %d, UserRoom = %d, or AddUser failed", b.Room(codec.RecUser), b.UserRoom())
	}
	if b.Room(codec.RecUser) != 0 || b.UserRoom() != -1 || b.AddUser(testUser, nil) {
		t.Errorf("with 255 sections: Room(user) = %d, UserRoom = %d, or AddUser succeeded", b.Room(codec.RecUser), b.UserRoom())
	}
	if codec.Validate(b.Finish()) != nil {
		t.Errorf("Validate(255 sections) = %v", codec.Validate(b.Finish()))
	}
}

// sect returns a section header followed by records.
func sect(typ codec.RecType, size, count int, records ...byte) []byte {
	return append([]byte{byte(typ), byte(size), byte(count >> 8), byte(count)}, records...)
}

// userRecord returns the encoding of x with its Length as given.
func userRecord(x codec.UserMsg) []byte { return x.Append(nil) }

// TestUserMalformed checks that every way a user message can be framed
// wrong is refused, by Reader.User and by Validate, and stops the reader.
func TestUserMalformed(t *testing.T) {
	five := testUser // Length 5
	rec := userRecord(five)
	two := append(bytes.Clone(rec), rec...)
	tests := []struct {
		name     string
		sections int
		body     []byte
		want     error
	}{
		{"payload without a user record", 1, sect(codec.RecPayload, 1, 5, testPayload...), codec.ErrMalformed},
		{"two records in a user section", 2, append(sect(codec.RecUser, 24, 2, two...), sect(codec.RecPayload, 1, 5, testPayload...)...), codec.ErrMalformed},
		{"empty user section", 2, append(sect(codec.RecUser, 24, 0), sect(codec.RecPayload, 1, 0)...), codec.ErrMalformed},
		{"no payload section announced", 1, sect(codec.RecUser, 24, 1, rec...), codec.ErrMalformed},
		{"payload section missing", 2, sect(codec.RecUser, 24, 1, rec...), codec.ErrTruncated},
		{"payload shorter than the length", 2, append(sect(codec.RecUser, 24, 1, rec...), sect(codec.RecPayload, 1, 4, testPayload[:4]...)...), codec.ErrMalformed},
		{"payload longer than the length", 2, append(sect(codec.RecUser, 24, 1, rec...), sect(codec.RecPayload, 1, 6, append(testPayload, '!')...)...), codec.ErrMalformed},
		{"payload records of two bytes", 2, append(sect(codec.RecUser, 24, 1, rec...), sect(codec.RecPayload, 2, 5, bytes.Repeat([]byte{1}, 10)...)...), codec.ErrMalformed},
		{"another section after the user record", 3, append(append(sect(codec.RecUser, 24, 1, rec...), sect(codec.RecMember, 56, 0)...), sect(codec.RecPayload, 1, 5, testPayload...)...), codec.ErrMalformed},
		{"payload past the body", 2, append(sect(codec.RecUser, 24, 1, rec...), sect(codec.RecPayload, 1, 5, testPayload[:3]...)...), codec.ErrTruncated},
		{"user record too short", 2, append(sect(codec.RecUser, 23, 1, rec[:23]...), sect(codec.RecPayload, 1, 5, testPayload...)...), codec.ErrMalformed},
	}
	for _, tt := range tests {
		d := testHeader(codec.MsgGossip)
		d.Sections = uint8(tt.sections)
		d.Length = uint16(len(tt.body))
		dg := append(d.Append(nil), tt.body...)
		if err := codec.Validate(dg); !errors.Is(err, tt.want) {
			t.Errorf("%s: Validate = %v, want %v", tt.name, err, tt.want)
		}
		var r codec.Reader
		r.Reset(tt.sections, tt.body)
		if !r.Next() {
			if !errors.Is(r.Err(), tt.want) {
				t.Errorf("%s: Next() = false, Err() = %v; want %v", tt.name, r.Err(), tt.want)
			}
			continue
		}
		if r.Type() == codec.RecPayload {
			continue // Validate's refusal; the reader frames it like any section
		}
		x, p, err := r.User()
		if !errors.Is(err, tt.want) || p != nil || x != (codec.UserMsg{}) {
			t.Errorf("%s: User() = %+v, %x, %v; want zero, nil, %v", tt.name, x, p, err, tt.want)
		}
		if r.Next() || !errors.Is(r.Err(), tt.want) {
			t.Errorf("%s: after the error, Next() = true or Err() = %v", tt.name, r.Err())
		}
	}
	// User on a section of another type refuses and stops the reader.
	var r codec.Reader
	r.Reset(1, sect(codec.RecMember, 56, 1, testMember.Append(nil)...))
	r.Next()
	if _, _, err := r.User(); !errors.Is(err, codec.ErrMalformed) || r.Next() {
		t.Errorf("User() on a member section = %v, want %v and the reader stopped", err, codec.ErrMalformed)
	}
}

// TestUserReserved checks that a UserMsg from a newer sender, with
// reserved bits and trailing fields, reads the same.
func TestUserReserved(t *testing.T) {
	rec := userRecord(testUser)
	rec[20] |= 0x80
	rec[21] = 0xff
	rec = append(rec, 0xee, 0xee, 0xee, 0xee)
	body := append(sect(codec.RecUser, len(rec), 1, rec...), sect(codec.RecPayload, 1, 5, testPayload...)...)
	var r codec.Reader
	r.Reset(2, body)
	r.Next()
	x, p, err := r.User()
	if err != nil || x != testUser || !bytes.Equal(p, testPayload) {
		t.Errorf("User() of a newer record = %+v, %q, %v; want %+v, %q, nil", x, p, err, testUser, testPayload)
	}
}
