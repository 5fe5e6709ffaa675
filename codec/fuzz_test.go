package codec_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"testing"

	"github.com/hearsay-io/hearsay/codec"
)

// Fuzz targets over every decoder. Each asserts: no panic; a sentinel
// error on rejection; consistent lengths; and on success a round trip
// (decode, re-encode, compare the bytes that carry meaning).

// nastyDatagrams are hand-written hostile inputs, added to the seeds of
// every datagram-level target.
var nastyDatagrams = [][]byte{
	nil,                                           // empty
	{'H'},                                         // one byte of magic
	[]byte("HS"),                                  // magic only
	bytes.Repeat([]byte{0}, 39),                   // one byte short of a header
	bytes.Repeat([]byte{0}, 40),                   // all-zero header: bad magic
	bytes.Repeat([]byte{0xff}, 40),                // all-ones header
	nastyHeader(0, 0, 0, 0),                       // version 0
	nastyHeader(1, 0xff, 0, 0),                    // every flag bit
	nastyHeader(1, 1, 0, 0),                       // sealed with no room for key ID, nonce, tag
	nastyHeader(1, 1, 0, 32),                      // sealed, length 32, body missing
	nastyHeader(1, 0, 255, 0),                     // 255 sections, empty body
	nastyHeader(1, 0, 0, 0xffff),                  // length far past the end
	nastyHeader(1, 0, 1, 4, 6, 0, 0, 1),           // record size 0
	nastyHeader(1, 0, 1, 4, 6, 55, 0, 1),          // member record one byte too small
	nastyHeader(1, 0, 1, 4, 6, 56, 0xff, 0xff),    // 65,535 members announced, none present
	nastyHeader(1, 0, 1, 4, 200, 255, 0xff, 0xff), // unknown type, largest section
	nastyHeader(1, 0, 2, 4, 200, 1, 0, 0),         // second section missing
	nastyHeader(200, 2, 0, 0),                     // newer version, compressed
	nastyHeader(1, 0, 1, 4, 10, 7, 0, 1),          // fingerprint record one byte too small
	nastyHeader(1, 0, 1, 20, 12, 16, 0, 1, // verdict with state 0
		0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 0),
	nastyHeader(1, 0, 1, 4, 13, 15, 0, 1),                                                                               // retry record one byte too small
	nastyHeader(1, 0, 1, 9, 15, 1, 0, 5, 'h', 'e', 'l', 'l', 'o'),                                                       // a payload with no user record before it
	nastyHeader(1, 0, 1, 28, append([]byte{14, 24, 0, 1}, nastyUser(5)...)...),                                          // a user record, its payload not announced
	nastyHeader(1, 0, 2, 28, append([]byte{14, 24, 0, 1}, nastyUser(5)...)...),                                          // a user record, its payload section missing
	nastyHeader(1, 0, 2, 36, append(append([]byte{14, 24, 0, 1}, nastyUser(5)...), 15, 1, 0, 4, 'h', 'e', 'l', 'l')...), // payload shorter than the length
	nastyHeader(1, 0, 2, 33, append(append([]byte{14, 24, 0, 1}, nastyUser(0xffff)...), 15, 1, 0xff, 0xff, 'x')...),     // 65,535 payload bytes announced, one present
}

// nastyUser returns a UserMsg record (a broadcast) whose length field says
// length.
func nastyUser(length uint16) []byte {
	x := codec.UserMsg{Origin: 1, Generation: 1, Seq: 1, Broadcast: true, Length: length}
	return x.Append(nil)
}

// nastyHeader returns a header with the given version, flags, section
// count and length field, followed by body.
func nastyHeader(version, flags, sections byte, length uint16, body ...byte) []byte {
	h := testHeader(codec.MsgGossip)
	h.Flags = codec.Flags(flags)
	h.Sections = sections
	h.Length = length
	b := h.Append(nil)
	b[2] = version
	return append(b, body...)
}

// isSentinel reports whether err is one of the package's sentinels.
func isSentinel(err error) bool {
	for _, s := range []error{codec.ErrTruncated, codec.ErrMalformed, codec.ErrMagic, codec.ErrVersion,
		codec.ErrSealed, codec.ErrCompressed, codec.ErrUnknownKey, codec.ErrAuth, codec.ErrKeySize,
		codec.ErrTooLarge, codec.ErrCluster, codec.ErrKeyCollision} {
		if errors.Is(err, s) {
			return true
		}
	}
	return false
}

func addDatagramSeeds(f *testing.F) {
	for _, m := range messages {
		f.Add(build(m))
	}
	for _, b := range nastyDatagrams {
		f.Add(b)
	}
}

func FuzzParseHeader(f *testing.F) {
	addDatagramSeeds(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		h, err := codec.ParseHeader(b)
		v, verr := codec.NewHeaderView(b)
		if err != verr {
			t.Fatalf("ParseHeader = %v but NewHeaderView = %v", err, verr)
		}
		if err != nil {
			if !isSentinel(err) {
				t.Fatalf("ParseHeader error %v is not a sentinel", err)
			}
			return
		}
		if v.Header() != h {
			t.Fatalf("NewHeaderView().Header() = %+v, ParseHeader = %+v", v.Header(), h)
		}
		if len(v) != codec.HeaderSize+int(h.Length) || len(v) > len(b) || len(v.Body()) != int(h.Length) {
			t.Fatalf("view length %d, body %d, for length field %d and input %d", len(v), len(v.Body()), h.Length, len(b))
		}
		if h.Version == 0 || h.Flags&^(codec.FlagSealed|codec.FlagCompressed) != 0 {
			t.Fatalf("accepted header %+v", h)
		}
		want := bytes.Clone(b[:codec.HeaderSize])
		want[2] = codec.Version // Append always writes the current version
		if got := h.Append(nil); !bytes.Equal(got, want) {
			t.Fatalf("Append(ParseHeader(%x)) = %x", want, got)
		}
	})
}

// canonical returns a copy of the known part of a record of type t with
// the bytes a decoder ignores (reserved bytes, padding, unknown flag bits)
// zeroed: what re-encoding the decoded value must produce.
func canonical(t codec.RecType, b []byte) []byte {
	c := bytes.Clone(b[:t.Size()])
	zero := func(from, to int) { clear(c[from:to]) }
	switch t {
	case codec.RecHeartbeat:
		zero(20, 24)
	case codec.RecPing, codec.RecNack:
		zero(4, 8)
	case codec.RecAck:
		if binary.BigEndian.Uint16(c[4:]) > codec.LossScale+1 {
			binary.BigEndian.PutUint16(c[4:], codec.LossScale+1)
		}
		zero(6, 8)
	case codec.RecPingReq:
		zero(4, 8)
		zero(34, 40)
	case codec.RecState:
		c[24] &= 1
		zero(27, 32)
		zero(32+int(c[25]), 64)
		zero(64+int(c[26]), 128)
	case codec.RecDigest:
		zero(1, 2)
	case codec.RecEcho:
		zero(12, 16)
	case codec.RecVerdict:
		zero(13, 16)
	case codec.RecRetry:
		zero(1, 2)
	case codec.RecUser:
		c[20] &= 1
		zero(21, 22)
	}
	return c
}

func FuzzRecord(f *testing.F) {
	for _, r := range records {
		f.Add(uint8(r.typ), r.append(nil))
	}
	for _, m := range []codec.Member{testLeft, {State: codec.StateAlive}} {
		f.Add(uint8(codec.RecMember), m.Append(nil))
	}
	f.Add(uint8(codec.RecState), testTombstone.Append(nil))
	for _, s := range []codec.MemberState{codec.StateAlive, codec.StateSuspect, codec.StateLeft} {
		v := testVerdict
		v.State = s
		f.Add(uint8(codec.RecVerdict), v.Append(nil))
	}
	f.Add(uint8(codec.RecRetry), (&codec.Retry{For: codec.MsgShardRequest, After: 1000}).Append(nil)) // busy: no token
	// Nasty records: a member and a verdict with state 0 and 5, a state
	// entry with key and value lengths past the maximum, all-ones records.
	f.Add(uint8(codec.RecMember), make([]byte, codec.MemberSize))
	f.Add(uint8(codec.RecMember), append(make([]byte, 20), 5))
	f.Add(uint8(codec.RecVerdict), make([]byte, codec.VerdictSize))
	f.Add(uint8(codec.RecVerdict), append(make([]byte, 12), 5, 0, 0, 0))
	f.Add(uint8(codec.RecState), append(make([]byte, 25), 33, 65))
	for _, r := range records {
		f.Add(uint8(r.typ), bytes.Repeat([]byte{0xff}, r.typ.Size()+1))
		f.Add(uint8(r.typ), make([]byte, r.typ.Size()-1))
	}
	f.Fuzz(func(t *testing.T, typ uint8, b []byte) {
		// A known type selects its own record; any other byte one of them.
		r := recordOf(codec.RecType((int(typ)+len(records)-1)%len(records) + 1))
		size := r.typ.Size()
		got, n, err := r.reparse(nil, b)
		got2, n2, err2 := r.redecode(nil, b)
		if err != err2 || n != n2 {
			t.Fatalf("%v: Parse = %d, %v; Decode = %d, %v", r.typ, n, err, n2, err2)
		}
		if err != nil {
			if n != 0 || !isSentinel(err) || (len(b) < size) != errors.Is(err, codec.ErrTruncated) {
				t.Fatalf("%v(%d bytes) = %d, %v", r.typ, len(b), n, err)
			}
			return
		}
		if n != size {
			t.Fatalf("%v: consumed %d, want %d", r.typ, n, size)
		}
		want := canonical(r.typ, b)
		if !bytes.Equal(got, want) || !bytes.Equal(got2, want) {
			t.Fatalf("%v: Append(Parse(%x)) = %x, Append(Decode) = %x; want %x", r.typ, b[:size], got, got2, want)
		}
		again, _, err := r.reparse(nil, got)
		if err != nil || !bytes.Equal(again, got) {
			t.Fatalf("%v: re-encoding is not stable: %x then %x, %v", r.typ, got, again, err)
		}
	})
}

func FuzzReader(f *testing.F) {
	for _, m := range messages {
		d := build(m)
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
		var rebuilt []byte
		n := 0
		for r.Next() {
			n++
			typ, size, count := r.Type(), r.Size(), r.Count()
			if size < 1 || size < typ.Size() {
				t.Fatalf("section %d: size %d for %v", n, size, typ)
			}
			rebuilt = append(rebuilt, byte(typ), byte(size), byte(count>>8), byte(count))
			for i := range count {
				rec := r.Record(i)
				if len(rec) != size || cap(rec) != size {
					t.Fatalf("section %d record %d: len %d cap %d, want %d", n, i, len(rec), cap(rec), size)
				}
				rebuilt = append(rebuilt, rec...)
			}
			if r.Record(count) != nil || r.Record(-1) != nil {
				t.Fatalf("Record out of range is not nil")
			}
		}
		if n > int(sections) {
			t.Fatalf("%d sections read, %d announced", n, sections)
		}
		if err := r.Err(); err != nil {
			if !errors.Is(err, codec.ErrTruncated) && !errors.Is(err, codec.ErrMalformed) {
				t.Fatalf("Err() = %v", err)
			}
			return
		}
		if n != int(sections) || !bytes.Equal(rebuilt, body[:len(rebuilt)]) {
			t.Fatalf("read %d of %d sections; rebuilt %x is not a prefix of %x", n, sections, rebuilt, body)
		}
	})
}

// decoded is one record of a datagram, in canonical form.
type decoded struct {
	typ codec.RecType
	enc []byte
}

func FuzzValidate(f *testing.F) {
	addDatagramSeeds(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		err := codec.Validate(b)
		if err != nil {
			if !isSentinel(err) {
				t.Fatalf("Validate error %v is not a sentinel", err)
			}
			return
		}
		h, body, err := codec.Parse(b)
		if err != nil {
			t.Fatalf("Validate = nil but Parse = %v", err)
		}
		d := b[:codec.HeaderSize+len(body)]
		if err := codec.Validate(d[:len(d)-1]); !errors.Is(err, codec.ErrTruncated) {
			t.Fatalf("Validate(valid minus one byte) = %v, want %v", err, codec.ErrTruncated)
		}
		// Decode every known record, rebuild the datagram from the values
		// and decode it again: the records must come back the same.
		var first []decoded
		var bl codec.Builder
		bl.Reset(make([]byte, 0, codec.MaxDatagramSize), codec.MaxDatagramSize, h)
		var r codec.Reader
		r.Reset(int(h.Sections), body)
		for r.Next() {
			if r.Type() == codec.RecUser {
				raw := r.Record(0)
				x, p, err := r.User()
				if err != nil || !bl.AddUser(x, p) {
					t.Fatalf("re-adding a valid user message failed: %v", err)
				}
				first = append(first, decoded{codec.RecUser, canonical(codec.RecUser, raw)})
				for _, c := range p {
					first = append(first, decoded{codec.RecPayload, []byte{c}})
				}
				continue
			}
			for i := range r.Count() {
				if r.Type().Size() == 0 {
					continue
				}
				rec := r.Record(i)
				first = append(first, decoded{r.Type(), canonical(r.Type(), rec)})
				if !reAdd(&bl, r.Type(), rec) {
					t.Fatalf("re-adding a valid %v record failed", r.Type())
				}
			}
		}
		out := bl.Finish()
		if err := codec.Validate(out); err != nil {
			t.Fatalf("Validate(rebuilt) = %v", err)
		}
		_, body2, _ := codec.Parse(out)
		r.Reset(int(out[5]), body2)
		k := 0
		for r.Next() {
			for i := range r.Count() {
				if k >= len(first) || r.Type() != first[k].typ || !bytes.Equal(r.Record(i), first[k].enc) {
					t.Fatalf("rebuilt record %d = %v %x, want %+v", k, r.Type(), r.Record(i), first[min(k, len(first)-1)])
				}
				k++
			}
		}
		if k != len(first) {
			t.Fatalf("rebuilt %d records, want %d", k, len(first))
		}
	})
}

// FuzzBuilder drives a Builder with a random capacity, limit and sequence
// of records, and checks that it never writes past the capacity, that Room
// predicts Add, and that the result is valid.
func FuzzBuilder(f *testing.F) {
	f.Add(uint16(1400), uint16(1400), []byte{6, 6, 6, 7, 1, 2})
	f.Add(uint16(1400), uint16(1368), bytes.Repeat([]byte{6}, 30))
	f.Add(uint16(100), uint16(1400), []byte{7, 7})
	f.Add(uint16(39), uint16(1400), []byte{1})
	f.Add(uint16(65535), uint16(65535), bytes.Repeat([]byte{2, 3}, 300))
	f.Add(uint16(1400), uint16(1368), append([]byte{8}, bytes.Repeat([]byte{9}, 170)...)) // a ShardRef, then fingerprints past the room
	f.Add(uint16(1400), uint16(1368), []byte{10, 12, 2, 11, 5, 6, 12, 12})                // echo, verdict, retry between others
	f.Add(uint16(1400), uint16(1400), bytes.Repeat([]byte{10, 11, 12}, 30))               // echo, verdict, retry sections until the room runs out
	f.Add(uint16(1400), uint16(1368), []byte{13, 5, 13, 13, 6, 13})                       // user messages between members and state
	f.Add(uint16(300), uint16(1400), bytes.Repeat([]byte{13}, 10))                        // user messages until the capacity runs out
	f.Fuzz(func(t *testing.T, capacity, limit uint16, ops []byte) {
		const guard = 64
		arr := make([]byte, int(capacity)+guard)
		for i := range arr {
			arr[i] = 0xA5
		}
		var b codec.Builder
		b.Reset(arr[:0:capacity], int(limit), testHeader(codec.MsgGossip))
		added := 0
		for _, op := range ops {
			typ := codec.RecType(int(op)%len(adders) + 1)
			room := b.Room(typ)
			want := room > 0
			if typ == codec.RecUser {
				// Room counts empty messages; UserRoom is the payload room.
				room = b.UserRoom()
				want = room >= len(testPayload)
			}
			before := b.Len()
			ok := adders[typ](&b)
			if ok != want {
				t.Fatalf("Room(%v) = %d but Add = %v", typ, room, ok)
			}
			if ok {
				added++
			} else if b.Len() != before {
				t.Fatalf("a refused Add changed Len from %d to %d", before, b.Len())
			}
			if b.Len() > int(capacity) || b.Len() > int(limit) && b.Len() > 0 {
				t.Fatalf("Len %d past capacity %d or limit %d", b.Len(), capacity, limit)
			}
		}
		d := b.Finish()
		for i, c := range arr[capacity:] {
			if c != 0xA5 {
				t.Fatalf("byte %d past the capacity was written", i)
			}
		}
		if d == nil {
			if min(int(capacity), int(limit)) >= codec.HeaderSize {
				t.Fatalf("Finish() = nil with capacity %d, limit %d", capacity, limit)
			}
			return
		}
		if b.Records() != added {
			t.Fatalf("Records() = %d, want %d", b.Records(), added)
		}
		if err := codec.Validate(d); err != nil {
			t.Fatalf("Validate(built) = %v", err)
		}
	})
}

// fuzzRing is the fixed keyring of FuzzOpen.
var fuzzRing = func() *codec.Keyring {
	k, err := codec.NewKeyring(key32, key16)
	if err != nil {
		panic(err)
	}
	return k
}()

func FuzzOpen(f *testing.F) {
	for _, m := range messages {
		s, err := codec.Seal(nil, build(m), fuzzRing)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(s)
	}
	addDatagramSeeds(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		out, err := codec.Open([]byte("x"), b, fuzzRing)
		if err != nil {
			if !isSentinel(err) || string(out) != "x" {
				t.Fatalf("Open = %q, %v: want a sentinel and nothing appended", out, err)
			}
			return
		}
		plain := out[1:]
		h, err := codec.ParseHeader(plain)
		if err != nil || h.Flags&codec.FlagSealed != 0 || len(plain) != codec.HeaderSize+int(h.Length) {
			t.Fatalf("Open returned %x: header %+v, %v", plain, h, err)
		}
		// In place gives the same result.
		in := bytes.Clone(b)
		got, err := codec.Open(in[:0], in, fuzzRing)
		if err != nil || !bytes.Equal(got, plain) {
			t.Fatalf("Open in place = %x, %v; want %x", got, err, plain)
		}
		// Seal again and open: the same plain datagram.
		s, err := codec.Seal(nil, plain, fuzzRing)
		if err != nil {
			t.Fatalf("Seal(opened) = %v", err)
		}
		again, err := codec.Open(nil, s, fuzzRing)
		if err != nil || !bytes.Equal(again, plain) {
			t.Fatalf("Open(Seal(opened)) = %x, %v; want %x", again, err, plain)
		}
	})
}
