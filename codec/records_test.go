package codec_test

import (
	"bytes"
	"errors"
	"net/netip"
	"testing"

	"github.com/hearsay-io/hearsay/codec"
)

// decoders returns the record's two decode paths by name.
func (r record) decoders() []struct {
	name string
	fn   func(dst, b []byte) ([]byte, int, error)
} {
	return []struct {
		name string
		fn   func(dst, b []byte) ([]byte, int, error)
	}{{"Parse", r.reparse}, {"Decode", r.redecode}}
}

func TestRecordRoundTrip(t *testing.T) {
	for _, r := range records {
		enc := r.append([]byte("xy"))
		if string(enc[:2]) != "xy" || len(enc) != 2+r.typ.Size() {
			t.Errorf("%v.Append(xy) = %x, want xy then %d bytes", r.typ, enc, r.typ.Size())
			continue
		}
		for _, d := range r.decoders() {
			got, n, err := d.fn(nil, enc[2:])
			if err != nil || n != r.typ.Size() || !bytes.Equal(got, enc[2:]) {
				t.Errorf("%s %v then Append = %x, %d, %v; want %x, %d, nil", d.name, r.typ, got, n, err, enc[2:], r.typ.Size())
			}
		}
	}
}

func TestRecordTruncated(t *testing.T) {
	for _, r := range records {
		enc := r.append(nil)
		for i := range enc {
			for _, d := range r.decoders() {
				got, n, err := d.fn(nil, enc[:i])
				if !errors.Is(err, codec.ErrTruncated) || n != 0 {
					t.Errorf("%s %v(%d of %d bytes) = %d, %v; want 0, %v", d.name, r.typ, i, len(enc), n, err, codec.ErrTruncated)
				}
				if d.name == "Decode" && !bytes.Equal(got, enc) {
					t.Errorf("Decode %v(%d of %d bytes) changed the value", r.typ, i, len(enc))
				}
			}
		}
	}
}

// TestRecordTrailing checks that a record from a newer sender, with extra
// trailing fields, decodes to the same value and consumes only the known
// size.
func TestRecordTrailing(t *testing.T) {
	for _, r := range records {
		enc := r.append(nil)
		longer := append(bytes.Clone(enc), 0xee, 0xee, 0xee)
		for _, d := range r.decoders() {
			got, n, err := d.fn(nil, longer)
			if err != nil || n != len(enc) || !bytes.Equal(got, enc) {
				t.Errorf("%s %v(record+3 bytes) then Append = %x, %d, %v; want %x, %d, nil", d.name, r.typ, got, n, err, enc, len(enc))
			}
		}
	}
}

// TestRecordReserved checks that reserved bytes and padding set by a newer
// sender are ignored, not rejected.
func TestRecordReserved(t *testing.T) {
	tests := []struct {
		typ      codec.RecType
		reserved []int // offsets
	}{
		{codec.RecHeartbeat, []int{20, 21, 22, 23}},
		{codec.RecPing, []int{4, 5, 6, 7}},
		{codec.RecAck, []int{6, 7}},
		{codec.RecNack, []int{4, 5, 6, 7}},
		{codec.RecPingReq, []int{4, 7, 34, 39}},
		{codec.RecState, []int{24, 27, 31, 32 + 4, 63, 64 + 4, 127}}, // flag bit 1, reserved, key and value padding
		{codec.RecDigest, []int{1}},
		{codec.RecEcho, []int{12, 13, 14, 15}},
		{codec.RecVerdict, []int{13, 14, 15}},
		{codec.RecRetry, []int{1}},
		{codec.RecUser, []int{20, 21}}, // flag bit 1, reserved
	}
	for _, tt := range tests {
		r := recordOf(tt.typ)
		enc := r.append(nil)
		dirty := bytes.Clone(enc)
		for _, off := range tt.reserved {
			dirty[off] |= 0x02
		}
		got, _, err := r.reparse(nil, dirty)
		if err != nil || !bytes.Equal(got, enc) {
			t.Errorf("Parse %v(reserved bytes set) then Append = %x, %v; want %x, nil", tt.typ, got, err, enc)
		}
	}
}

func recordOf(t codec.RecType) record {
	for _, r := range records {
		if r.typ == t {
			return r
		}
	}
	panic("no record " + t.String())
}

func TestParseMemberState(t *testing.T) {
	enc := testMember.Append(nil)
	for s := range 256 {
		enc[20] = byte(s)
		m, n, err := codec.ParseMember(enc)
		valid := s >= 1 && s <= 4
		switch {
		case valid && (err != nil || m.State != codec.MemberState(s) || n != codec.MemberSize):
			t.Errorf("ParseMember(state %d) = %v, %d, %v; want %v, %d, nil", s, m.State, n, err, codec.MemberState(s), codec.MemberSize)
		case !valid && !errors.Is(err, codec.ErrMalformed):
			t.Errorf("ParseMember(state %d) = %v, want %v", s, err, codec.ErrMalformed)
		}
	}
}

func TestMemberValidate(t *testing.T) {
	for _, s := range []codec.MemberState{0, 5, 255} {
		m := testMember
		m.State = s
		if err := m.Validate(); !errors.Is(err, codec.ErrMalformed) {
			t.Errorf("Member{State: %v}.Validate() = %v, want %v", s, err, codec.ErrMalformed)
		}
		if got := m.Append([]byte("x")); string(got) != "x" {
			t.Errorf("Member{State: %v}.Append(x) = %x, want x: an invalid record appends nothing", s, got)
		}
		var b codec.Builder
		b.Reset(make([]byte, 0, 200), 200, testHeader(codec.MsgGossip))
		if b.AddMember(&m) || b.Records() != 0 || b.Len() != codec.HeaderSize {
			t.Errorf("AddMember(state %v) = true or wrote %d bytes, want false and nothing written", s, b.Len()-codec.HeaderSize)
		}
	}
	if err := testMember.Validate(); err != nil {
		t.Errorf("testMember.Validate() = %v, want nil", err)
	}
}

func TestParseVerdictState(t *testing.T) {
	enc := testVerdict.Append(nil)
	for s := range 256 {
		enc[12] = byte(s)
		valid := s >= 1 && s <= 4
		x, n, err := codec.ParseVerdict(enc)
		switch {
		case valid && (err != nil || x.State != codec.MemberState(s) || n != codec.VerdictSize):
			t.Errorf("ParseVerdict(state %d) = %v, %d, %v; want %v, %d, nil", s, x.State, n, err, codec.MemberState(s), codec.VerdictSize)
		case !valid && (!errors.Is(err, codec.ErrMalformed) || n != 0):
			t.Errorf("ParseVerdict(state %d) = %d, %v; want 0, %v", s, n, err, codec.ErrMalformed)
		}
		y := testVerdict
		if _, err := y.Decode(enc); !valid && (!errors.Is(err, codec.ErrMalformed) || y != testVerdict) {
			t.Errorf("Verdict.Decode(state %d) = %v, value %+v; want %v and the value unchanged", s, err, y, codec.ErrMalformed)
		}
	}
}

// TestAddVerdictState checks that the builder refuses a Verdict whose
// state a receiver would reject, and writes nothing for it.
func TestAddVerdictState(t *testing.T) {
	for _, s := range []codec.MemberState{0, 5, 255} {
		v := testVerdict
		v.State = s
		var b codec.Builder
		b.Reset(make([]byte, 0, 200), 200, testHeader(codec.MsgAck))
		if b.AddVerdict(v) || b.Records() != 0 || b.Len() != codec.HeaderSize {
			t.Errorf("AddVerdict(state %v) = true or wrote %d bytes, want false and nothing written", s, b.Len()-codec.HeaderSize)
		}
		// Into an open Verdict section, too.
		b.AddVerdict(testVerdict)
		if n := b.Len(); b.AddVerdict(v) || b.Records() != 1 || b.Len() != n {
			t.Errorf("AddVerdict(state %v) after a valid one = true or wrote %d bytes, want false and nothing written", s, b.Len()-n)
		}
		if err := codec.Validate(b.Finish()); err != nil {
			t.Errorf("Validate(datagram after refused AddVerdict(state %v)) = %v, want nil", s, err)
		}
	}
	for _, s := range []codec.MemberState{codec.StateAlive, codec.StateSuspect, codec.StateDead, codec.StateLeft} {
		v := testVerdict
		v.State = s
		var b codec.Builder
		b.Reset(make([]byte, 0, 200), 200, testHeader(codec.MsgAck))
		if !b.AddVerdict(v) || b.Records() != 1 {
			t.Errorf("AddVerdict(state %v) = false, want true", s)
		}
	}
}

func TestParseStateEntryLengths(t *testing.T) {
	tests := []struct {
		key, value int
		want       error
	}{
		{0, 0, nil},
		{codec.MaxKeySize, codec.MaxValueSize, nil},
		{codec.MaxKeySize + 1, 0, codec.ErrMalformed},
		{0, codec.MaxValueSize + 1, codec.ErrMalformed},
		{255, 255, codec.ErrMalformed},
	}
	for _, tt := range tests {
		enc := testState.Append(nil)
		enc[25], enc[26] = byte(tt.key), byte(tt.value)
		s, n, err := codec.ParseStateEntry(enc)
		if !errors.Is(err, tt.want) {
			t.Errorf("ParseStateEntry(key %d, value %d) = %v, want %v", tt.key, tt.value, err, tt.want)
			continue
		}
		if err == nil && (len(s.Key) != tt.key || len(s.Value) != tt.value || n != codec.StateSize) {
			t.Errorf("ParseStateEntry(key %d, value %d) = key %d, value %d, %d", tt.key, tt.value, len(s.Key), len(s.Value), n)
		}
	}
}

func TestStateEntryValidate(t *testing.T) {
	big := bytes.Repeat([]byte("k"), 100)
	tests := []struct {
		key, value []byte
		want       error
	}{
		{nil, nil, nil},
		{big[:codec.MaxKeySize], big[:codec.MaxValueSize], nil},
		{big[:codec.MaxKeySize+1], nil, codec.ErrTooLarge},
		{nil, big[:codec.MaxValueSize+1], codec.ErrTooLarge},
	}
	for _, tt := range tests {
		s := codec.StateEntry{Owner: 1, Key: tt.key, Value: tt.value}
		if err := s.Validate(); !errors.Is(err, tt.want) {
			t.Errorf("StateEntry{key %d, value %d}.Validate() = %v, want %v", len(tt.key), len(tt.value), err, tt.want)
		}
		enc := s.Append([]byte("x"))
		var b codec.Builder
		b.Reset(make([]byte, 0, 400), 400, testHeader(codec.MsgGossip))
		added := b.AddState(&s)
		if tt.want != nil {
			if string(enc) != "x" {
				t.Errorf("StateEntry{key %d, value %d}.Append(x) = %x, want x: no truncation", len(tt.key), len(tt.value), enc)
			}
			if added || b.Len() != codec.HeaderSize {
				t.Errorf("AddState(key %d, value %d) = true, want false with nothing written", len(tt.key), len(tt.value))
			}
			continue
		}
		got, _, err := codec.ParseStateEntry(enc[1:])
		if err != nil || !bytes.Equal(got.Key, tt.key) || !bytes.Equal(got.Value, tt.value) || got.Owner != 1 {
			t.Errorf("ParseStateEntry(Append(key %d, value %d)) = %+v, %v", len(tt.key), len(tt.value), got, err)
		}
		if !added {
			t.Errorf("AddState(key %d, value %d) = false, want true", len(tt.key), len(tt.value))
		}
	}
}

// TestStateEntryAliases documents that Key and Value alias the input.
func TestStateEntryAliases(t *testing.T) {
	enc := testState.Append(nil)
	s, _, err := codec.ParseStateEntry(enc)
	if err != nil {
		t.Fatal(err)
	}
	enc[32] = 'L'
	if string(s.Key) != "Load" {
		t.Errorf("Key after changing the input = %q, want %q (Key aliases the input)", s.Key, "Load")
	}
	// Appending to a decoded key must not overwrite the padding after it.
	_ = append(s.Key, 'X')
	if enc[36] != 0 {
		t.Errorf("append(Key) wrote into the input")
	}
}

func TestStateDeleted(t *testing.T) {
	enc := testTombstone.Append(nil)
	s, _, err := codec.ParseStateEntry(enc)
	if err != nil || !s.Deleted || string(s.Key) != "zone" || len(s.Value) != 0 || s.Version != 6 {
		t.Errorf("ParseStateEntry(tombstone) = %+v, %v; want deleted zone version 6", s, err)
	}
}

func TestAddresses(t *testing.T) {
	tests := []struct {
		in, want string // "" is the zero AddrPort
	}{
		{"10.1.2.3:7946", "10.1.2.3:7946"},
		{"0.0.0.0:1", "0.0.0.0:1"},
		{"255.255.255.255:65535", "255.255.255.255:65535"},
		{"[2001:db8::1]:7946", "[2001:db8::1]:7946"},
		{"[::ffff:10.1.2.3]:7946", "10.1.2.3:7946"}, // IPv4-mapped comes back as IPv4
		{"[fe80::1%eth0]:7946", "[fe80::1]:7946"},   // zones are not carried
		{"[::1]:0", "[::1]:0"},                      // port 0 on a real address survives
		{"[::]:7946", "[::]:7946"},                  // unspecified with a port survives
		{"[::]:0", ""},                              // shares the all-zero encoding
		{"", ""},                                    // zero AddrPort
		{"0.0.0.0:0", "0.0.0.0:0"},                  // IPv4-mapped zero is not all zeros
		{"[ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff]:1", "[ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff]:1"},
	}
	for _, tt := range tests {
		var in, want netip.AddrPort
		if tt.in != "" {
			in = netip.MustParseAddrPort(tt.in)
		}
		if tt.want != "" {
			want = netip.MustParseAddrPort(tt.want)
		}
		m := testMember
		m.Addr = in
		gm, _, err := codec.ParseMember(m.Append(nil))
		if err != nil || gm.Addr != want {
			t.Errorf("ParseMember(Append(addr %v)).Addr = %v, %v; want %v", in, gm.Addr, err, want)
		}
		p := testPingReq
		p.Addr = in
		gp, _, err := codec.ParsePingReq(p.Append(nil))
		if err != nil || gp.Addr != want {
			t.Errorf("ParsePingReq(Append(addr %v)).Addr = %v, %v; want %v", in, gp.Addr, err, want)
		}
	}
	// An invalid address with a port still encodes as all zeros.
	m := testMember
	m.Addr = netip.AddrPortFrom(netip.Addr{}, 7946)
	enc := m.Append(nil)
	if !bytes.Equal(enc[22:40], make([]byte, 18)) {
		t.Errorf("Member{Addr: invalid:7946}.Append() address bytes = %x, want zeros", enc[22:40])
	}
}

func TestStrings(t *testing.T) {
	tests := []struct {
		got, want string
	}{
		{codec.MsgHeartbeat.String(), "heartbeat"},
		{codec.MsgPingReq.String(), "ping-req"},
		{codec.MsgLeave.String(), "leave"},
		{codec.MsgRetry.String(), "retry"},
		{codec.MsgType(0).String(), "msg(0)"},
		{codec.MsgUser.String(), "user"},
		{codec.MsgType(16).String(), "msg(16)"},
		{codec.MsgType(200).String(), "msg(200)"},
		{codec.RecMember.String(), "member"},
		{codec.RecShardRef.String(), "shard-ref"},
		{codec.RecPrint.String(), "fingerprint"},
		{codec.RecEcho.String(), "echo"},
		{codec.RecVerdict.String(), "verdict"},
		{codec.RecRetry.String(), "retry"},
		{codec.RecUser.String(), "user"},
		{codec.RecPayload.String(), "payload"},
		{codec.RecType(16).String(), "rec(16)"},
		{codec.RecType(0).String(), "rec(0)"},
		{codec.RecType(77).String(), "rec(77)"},
		{codec.StateAlive.String(), "alive"},
		{codec.StateSuspect.String(), "suspect"},
		{codec.StateDead.String(), "dead"},
		{codec.StateLeft.String(), "left"},
		{codec.MemberState(0).String(), "state(0)"},
		{codec.Flags(0).String(), "0"},
		{(codec.FlagSealed | codec.FlagCompressed).String(), "sealed|compressed"},
		{codec.Flags(0x84).String(), "0x84"},
		{codec.KeyID(0xab).String(), "000000ab"},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("String() = %q, want %q", tt.got, tt.want)
		}
	}
	for _, m := range messages {
		if !m.typ.Known() {
			t.Errorf("%v.Known() = false, want true", m.typ)
		}
	}
	if codec.MsgType(0).Known() || codec.MsgType(16).Known() {
		t.Errorf("MsgType(0 or 16).Known() = true, want false")
	}
}

// TestTablesComplete checks that the test tables cover every record type
// and message kind this version defines, so that a new one cannot be left
// out of the golden, round-trip, proper-prefix, builder, allocation,
// benchmark and fuzz tests that range over them.
func TestTablesComplete(t *testing.T) {
	for i := range 256 {
		typ := codec.RecType(i)
		if typ == codec.RecPayload {
			// Not a record of its own: payload bytes are written and read
			// with their UserMsg (AddUser, Reader.User; user_test.go).
			continue
		}
		known := typ.Size() != 0
		inRecords := false
		for _, r := range records {
			inRecords = inRecords || r.typ == typ
		}
		_, golden := goldenRecords[typ]
		_, add := adders[typ]
		_, parse := parsers[typ]
		_, decode := decodersInPlace[typ]
		if inRecords != known || golden != known || add != known || parse != known || decode != known {
			t.Errorf("%v (known %v): in records %v, goldenRecords %v, adders %v, parsers %v, decodersInPlace %v",
				typ, known, inRecords, golden, add, parse, decode)
		}
		// FuzzRecord and FuzzBuilder map a byte to types 1..len(records).
		if known != (i >= 1 && i <= len(records)) {
			t.Errorf("%v: known %v, but the fuzz targets take types 1..%d as the known ones", typ, known, len(records))
		}
	}
	for i := range 256 {
		typ := codec.MsgType(i)
		inMessages := false
		for _, m := range messages {
			inMessages = inMessages || m.typ == typ
		}
		_, golden := goldenMessages[typ]
		if inMessages != typ.Known() || golden != typ.Known() {
			t.Errorf("%v (known %v): in messages %v, goldenMessages %v", typ, typ.Known(), inMessages, golden)
		}
	}
}

func TestRecTypeSize(t *testing.T) {
	tests := []struct {
		typ  codec.RecType
		want int
	}{
		{codec.RecHeartbeat, 24}, {codec.RecPing, 16}, {codec.RecAck, 16}, {codec.RecPingReq, 40},
		{codec.RecNack, 16}, {codec.RecMember, 56}, {codec.RecState, 128}, {codec.RecDigest, 16},
		{codec.RecShardRef, 16}, {codec.RecPrint, 8}, {codec.RecEcho, 16}, {codec.RecVerdict, 16},
		{codec.RecRetry, 16}, {codec.RecUser, 24}, {codec.RecPayload, 1}, {0, 0}, {16, 0}, {255, 0},
	}
	for _, tt := range tests {
		if got := tt.typ.Size(); got != tt.want {
			t.Errorf("%v.Size() = %d, want %d", tt.typ, got, tt.want)
		}
	}
}

// TestAckLoss checks the ack's loss field: carried at offset 4, and a
// value above LossScale+1 decoded as LossScale+1.
func TestAckLoss(t *testing.T) {
	for _, tt := range []struct{ wire, want uint16 }{
		{0, 0}, {1, 1}, {codec.LossScale + 1, codec.LossScale + 1}, {codec.LossScale + 2, codec.LossScale + 1}, {0xffff, codec.LossScale + 1},
	} {
		b := (&codec.Ack{Seq: 9, Target: 3}).Append(nil)
		b[4], b[5] = byte(tt.wire>>8), byte(tt.wire)
		a, _, err := codec.ParseAck(b)
		if err != nil || a.Loss != tt.want || a.Seq != 9 || a.Target != 3 {
			t.Errorf("ParseAck with loss %d on the wire = %+v, %v; want loss %d", tt.wire, a, err, tt.want)
		}
	}
}
