package codec_test

import (
	"bytes"
	"errors"
	"testing"

	"github.com/hearsay-io/hearsay/codec"
)

// FuzzUser reads user messages out of arbitrary bodies with Reader.User.
// It asserts: no panic; a refusal is a sentinel that also stops the
// reader; an accepted message has a payload of the record's length that
// lies inside the body with its capacity capped; and the Builder writes the
// message back as the canonical encoding of the two sections (reserved
// bits zeroed), which reads back the same.
func FuzzUser(f *testing.F) {
	for _, m := range messages {
		d := build(m)
		f.Add(d[5], d[codec.HeaderSize:])
	}
	for _, p := range [][]byte{nil, testPayload, bytes.Repeat([]byte{0xab}, 1296)} {
		var b codec.Builder
		b.Reset(make([]byte, 0, codec.DefaultDatagramSize), codec.DefaultDatagramSize, testHeader(codec.MsgGossip))
		b.AddMember(&testMember)
		b.AddUser(testUser, p)
		b.AddUser(testSend, p[:len(p)/2])
		b.AddState(&testState)
		d := b.Finish()
		f.Add(d[5], d[codec.HeaderSize:])
	}
	for _, d := range nastyDatagrams {
		if len(d) >= codec.HeaderSize {
			f.Add(d[5], d[codec.HeaderSize:])
		}
	}
	f.Fuzz(func(t *testing.T, sections uint8, body []byte) {
		var r codec.Reader
		r.Reset(int(sections), body)
		for r.Next() {
			if r.Type() != codec.RecUser {
				continue
			}
			raw := bytes.Clone(r.Record(0))
			x, p, err := r.User()
			if err != nil {
				if !isSentinel(err) || !errors.Is(r.Err(), err) || r.Next() {
					t.Fatalf("User() = %v, then Err() = %v: want a sentinel that stops the reader", err, r.Err())
				}
				if p != nil || x != (codec.UserMsg{}) {
					t.Fatalf("User() refused with %v but returned %+v, %x", err, x, p)
				}
				return
			}
			if int(x.Length) != len(p) || cap(p) != len(p) {
				t.Fatalf("User() = length %d, payload len %d cap %d", x.Length, len(p), cap(p))
			}
			if len(p) > 0 && !inside(p, body) {
				t.Fatalf("the payload does not lie inside the body")
			}
			var b codec.Builder
			b.Reset(make([]byte, 0, codec.MaxDatagramSize), codec.MaxDatagramSize, testHeader(codec.MsgGossip))
			if !b.AddUser(x, p) {
				t.Fatalf("AddUser(%d bytes) = false in an empty datagram", len(p))
			}
			_, rebuilt, err := codec.Parse(b.Finish())
			if err != nil {
				t.Fatal(err)
			}
			want := append(sect(codec.RecUser, codec.UserMsgSize, 1, canonical(codec.RecUser, raw)...), sect(codec.RecPayload, 1, len(p), p...)...)
			if !bytes.Equal(rebuilt, want) {
				t.Fatalf("AddUser(User()) = %x, want %x", rebuilt, want)
			}
			var r2 codec.Reader
			r2.Reset(2, rebuilt)
			r2.Next()
			if y, q, err := r2.User(); err != nil || y != x || !bytes.Equal(q, p) {
				t.Fatalf("reading the rebuilt message = %+v, %x, %v; want %+v, %x", y, q, err, x, p)
			}
		}
	})
}

// inside reports whether p is a sub-slice of b.
func inside(p, b []byte) bool {
	for i := range b {
		if &b[i] == &p[0] {
			return i+len(p) <= len(b)
		}
	}
	return false
}
