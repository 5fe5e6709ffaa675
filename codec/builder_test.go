package codec_test

import (
	"bytes"
	"testing"

	"github.com/hearsay-io/hearsay/codec"
)

// adders adds one record of each type to a builder.
var adders = map[codec.RecType]func(b *codec.Builder) bool{
	codec.RecHeartbeat: func(b *codec.Builder) bool { return b.AddHeartbeat(testHeartbeat) },
	codec.RecPing:      func(b *codec.Builder) bool { return b.AddPing(testPing) },
	codec.RecAck:       func(b *codec.Builder) bool { return b.AddAck(testAck) },
	codec.RecPingReq:   func(b *codec.Builder) bool { return b.AddPingReq(testPingReq) },
	codec.RecNack:      func(b *codec.Builder) bool { return b.AddNack(testNack) },
	codec.RecMember:    func(b *codec.Builder) bool { return b.AddMember(&testMember) },
	codec.RecState:     func(b *codec.Builder) bool { return b.AddState(&testState) },
	codec.RecDigest:    func(b *codec.Builder) bool { return b.AddDigest(testDigest) },
	codec.RecShardRef:  func(b *codec.Builder) bool { return b.AddShardRef(testShardRef) },
	codec.RecPrint:     func(b *codec.Builder) bool { return b.AddFingerprint(testPrint) },
	codec.RecEcho:      func(b *codec.Builder) bool { return b.AddEcho(testEcho) },
	codec.RecVerdict:   func(b *codec.Builder) bool { return b.AddVerdict(testVerdict) },
	codec.RecRetry:     func(b *codec.Builder) bool { return b.AddRetry(testRetry) },
	codec.RecUser:      func(b *codec.Builder) bool { return b.AddUser(testUser, testPayload) },
}

// TestBuilderCapacity checks how many records of each type fit in a
// default datagram, plain and sealed: the numbers doc.go quotes.
func TestBuilderCapacity(t *testing.T) {
	tests := []struct {
		typ           codec.RecType
		plain, sealed int
	}{
		{codec.RecHeartbeat, 56, 55},
		{codec.RecPing, 84, 82},
		{codec.RecAck, 84, 82},
		{codec.RecPingReq, 33, 33},
		{codec.RecNack, 84, 82},
		{codec.RecMember, 24, 23},
		{codec.RecState, 10, 10},
		{codec.RecDigest, 84, 82},
		{codec.RecShardRef, 84, 82},
		{codec.RecPrint, 169, 165},
		{codec.RecEcho, 84, 82},
		{codec.RecVerdict, 84, 82},
		{codec.RecRetry, 84, 82},
	}
	rows := map[codec.RecType]bool{}
	for _, tt := range tests {
		rows[tt.typ] = true
	}
	for _, r := range records {
		if !rows[r.typ] && r.typ != codec.RecUser { // TestUserCapacity
			t.Errorf("no capacity row for %v", r.typ)
		}
	}
	for _, tt := range tests {
		for _, c := range []struct {
			name  string
			limit int
			want  int
		}{
			{"plain", codec.DefaultDatagramSize, tt.plain},
			{"sealed", codec.DefaultDatagramSize - codec.SealOverhead, tt.sealed},
		} {
			var b codec.Builder
			b.Reset(make([]byte, 0, codec.DefaultDatagramSize), c.limit, testHeader(codec.MsgGossip))
			n := 0
			for {
				room := b.Room(tt.typ)
				if !adders[tt.typ](&b) {
					if room != 0 {
						t.Errorf("%v %s: Room = %d but Add failed", tt.typ, c.name, room)
					}
					break
				}
				if room != c.want-n {
					t.Errorf("%v %s: Room after %d records = %d, want %d", tt.typ, c.name, n, room, c.want-n)
				}
				n++
			}
			if n != c.want || b.Records() != n {
				t.Errorf("%v %s: %d records fit (Records() = %d), want %d", tt.typ, c.name, n, b.Records(), c.want)
			}
			d := b.Finish()
			if len(d) > c.limit || len(d) != b.Len() {
				t.Errorf("%v %s: len(Finish()) = %d, Len() = %d, limit %d", tt.typ, c.name, len(d), b.Len(), c.limit)
			}
			if err := codec.Validate(d); err != nil {
				t.Errorf("%v %s: Validate(full datagram) = %v", tt.typ, c.name, err)
			}
		}
	}
}

// TestBuilderHeartbeatPiggyback checks the numbers doc.go quotes for a
// heartbeat datagram carrying member updates.
func TestBuilderHeartbeatPiggyback(t *testing.T) {
	for _, c := range []struct {
		limit, want int
	}{
		{codec.DefaultDatagramSize, 23},
		{codec.DefaultDatagramSize - codec.SealOverhead, 23},
	} {
		var b codec.Builder
		b.Reset(make([]byte, 0, codec.DefaultDatagramSize), c.limit, testHeader(codec.MsgHeartbeat))
		b.AddHeartbeat(testHeartbeat)
		if got := b.Room(codec.RecMember); got != c.want {
			t.Errorf("limit %d: Room(member) after a heartbeat = %d, want %d", c.limit, got, c.want)
		}
	}
}

func TestBuilderSections(t *testing.T) {
	var b codec.Builder
	b.Reset(make([]byte, 0, 4096), 4096, testHeader(codec.MsgGossip))
	order := []codec.RecType{codec.RecMember, codec.RecMember, codec.RecState, codec.RecMember, codec.RecPing, codec.RecPing, codec.RecPing}
	for _, typ := range order {
		if !adders[typ](&b) {
			t.Fatalf("Add %v failed", typ)
		}
	}
	d := b.Finish()
	h, body, err := codec.Parse(d)
	if err != nil {
		t.Fatalf("Parse = %v", err)
	}
	if h.Sections != 4 || int(h.Length) != len(d)-codec.HeaderSize {
		t.Errorf("header sections %d length %d, want 4 and %d", h.Sections, h.Length, len(d)-codec.HeaderSize)
	}
	var r codec.Reader
	r.Reset(int(h.Sections), body)
	want := []struct {
		typ   codec.RecType
		count int
	}{{codec.RecMember, 2}, {codec.RecState, 1}, {codec.RecMember, 1}, {codec.RecPing, 3}}
	for i := 0; r.Next(); i++ {
		if i >= len(want) || r.Type() != want[i].typ || r.Count() != want[i].count {
			t.Errorf("section %d = %v×%d, want %+v", i, r.Type(), r.Count(), want[min(i, len(want)-1)])
		}
	}
	if r.Err() != nil {
		t.Errorf("Err() = %v", r.Err())
	}
}

func TestBuilderSectionLimit(t *testing.T) {
	var b codec.Builder
	b.Reset(make([]byte, 0, codec.MaxDatagramSize), codec.MaxDatagramSize, testHeader(codec.MsgGossip))
	for i := range 255 {
		ok := i%2 == 0 && b.AddPing(testPing) || i%2 == 1 && b.AddAck(testAck)
		if !ok {
			t.Fatalf("section %d refused", i)
		}
	}
	// The last section is a Ping section; it still takes records, but no
	// section of another type can open.
	if b.Room(codec.RecAck) != 0 || b.AddAck(testAck) {
		t.Errorf("256th section: Room = %d, Add succeeded; want 0, false", b.Room(codec.RecAck))
	}
	room := b.Room(codec.RecPing)
	if room == 0 || !b.AddPing(testPing) {
		t.Errorf("Room(ping) in the open section = %d, Add failed; want > 0, true", room)
	}
	d := b.Finish()
	if err := codec.Validate(d); err != nil || d[5] != 255 {
		t.Errorf("Validate = %v, sections = %d; want nil, 255", err, d[5])
	}
}

func TestBuilderNeverPastCap(t *testing.T) {
	for _, capacity := range []int{0, 10, codec.HeaderSize - 1, codec.HeaderSize, codec.HeaderSize + 4, 100, 500} {
		arr := bytes.Repeat([]byte{0xAA}, 2000)
		var b codec.Builder
		b.Reset(arr[:0:capacity], codec.DefaultDatagramSize, testHeader(codec.MsgGossip))
		for _, m := range messages {
			m.add(&b) // as many as fit
		}
		for _, typ := range []codec.RecType{codec.RecPing, codec.RecState, codec.RecMember} {
			for adders[typ](&b) {
			}
		}
		d := b.Finish()
		if len(d) > capacity {
			t.Errorf("cap %d: len(Finish()) = %d", capacity, len(d))
		}
		if !bytes.Equal(arr[capacity:], bytes.Repeat([]byte{0xAA}, 2000-capacity)) {
			t.Errorf("cap %d: the builder wrote past the capacity", capacity)
		}
		if capacity < codec.HeaderSize {
			if d != nil || b.Records() != 0 {
				t.Errorf("cap %d: Finish() = %x, Records() = %d; want nil, 0", capacity, d, b.Records())
			}
			continue
		}
		if err := codec.Validate(d); err != nil {
			t.Errorf("cap %d: Validate = %v", capacity, err)
		}
	}
}

func TestBuilderZeroValue(t *testing.T) {
	var b codec.Builder
	for typ, add := range adders {
		if add(&b) || b.Room(typ) != 0 {
			t.Errorf("zero Builder: Add %v succeeded or Room > 0", typ)
		}
	}
	if d := b.Finish(); d != nil || b.Len() != 0 || b.Records() != 0 {
		t.Errorf("zero Builder: Finish() = %x, Len() = %d, Records() = %d; want nil, 0, 0", d, b.Len(), b.Records())
	}
	if b.Room(0) != 0 || b.Room(99) != 0 {
		t.Errorf("Room(unknown) != 0")
	}
}

func TestBuilderReset(t *testing.T) {
	h := testHeader(codec.MsgGossip)
	h.Flags = codec.FlagSealed | codec.FlagCompressed
	h.Sections, h.Length, h.Version = 9, 999, 9
	var b codec.Builder
	b.Reset(make([]byte, 0, 1400), 1400, h)
	b.AddMember(&testMember)
	d1 := bytes.Clone(b.Finish())
	got, err := codec.ParseHeader(d1)
	if err != nil || got.Flags != 0 || got.Sections != 1 || got.Version != codec.Version || int(got.Length) != codec.MemberSize+codec.SectionHeaderSize {
		t.Errorf("header = %+v, %v; want flags 0, 1 section, version 1, length %d", got, err, codec.MemberSize+4)
	}
	// Adding after Finish and finishing again gives the longer datagram.
	b.AddMember(&testMember)
	b.AddState(&testState)
	d2 := b.Finish()
	if err := codec.Validate(d2); err != nil || d2[5] != 2 || b.Records() != 3 {
		t.Errorf("after more records: Validate = %v, sections %d, records %d; want nil, 2, 3", err, d2[5], b.Records())
	}
	// Reset forgets everything.
	b.Reset(d2[:0], 1400, testHeader(codec.MsgPing))
	if b.Len() != codec.HeaderSize || b.Records() != 0 {
		t.Errorf("after Reset: Len %d, Records %d", b.Len(), b.Records())
	}
	if d := b.Finish(); codec.Validate(d) != nil || d[5] != 0 || len(d) != codec.HeaderSize {
		t.Errorf("empty datagram = %x", d)
	}
}
