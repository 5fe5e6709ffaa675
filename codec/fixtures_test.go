package codec_test

import (
	"net/netip"

	"github.com/hearsay-io/hearsay/codec"
)

// Fixed values for golden, round-trip and allocation tests. Every field
// has a distinct, recognisable value so that a byte in the wrong place
// shows in a hex dump.
var (
	testHeartbeat = codec.Heartbeat{Counter: 0x0102030405060708, Digest: 0x1112131415161718, Members: 10000}
	testPing      = codec.Ping{Seq: 7, Target: 0xa1a2a3a4a5a6a7a8}
	testAck       = codec.Ack{Seq: 7, Target: 0xa1a2a3a4a5a6a7a8, Loss: 3001}
	testNack      = codec.Nack{Seq: 8, Target: 0xa1a2a3a4a5a6a7a8}
	testPingReq   = codec.PingReq{Seq: 9, Target: 0xb1b2b3b4b5b6b7b8, Addr: netip.MustParseAddrPort("10.1.2.3:7946")}
	testMember    = codec.Member{
		ID:           0xc1c2c3c4c5c6c7c8,
		Generation:   1700000000000000000,
		Incarnation:  3,
		State:        codec.StateSuspect,
		Flags:        0x80,
		Addr:         netip.MustParseAddrPort("[2001:db8::1]:7946"),
		StateVersion: 42,
		Witness:      0xd1d2d3d4d5d6d7d8,
	}
	testLeft = codec.Member{
		ID:          0xc1c2c3c4c5c6c7c8,
		Generation:  1700000000000000000,
		Incarnation: 4,
		State:       codec.StateLeft,
		Addr:        netip.MustParseAddrPort("10.0.0.1:7946"),
	}
	testState = codec.StateEntry{
		Owner:      0xc1c2c3c4c5c6c7c8,
		Generation: 1700000000000000000,
		Version:    5,
		Key:        []byte("load"),
		Value:      []byte("0.75"),
	}
	testTombstone = codec.StateEntry{
		Owner:      0xc1c2c3c4c5c6c7c8,
		Generation: 1700000000000000000,
		Version:    6,
		Deleted:    true,
		Key:        []byte("zone"),
	}
	testDigest   = codec.Digest{Level: 1, Index: 513, Count: 40, Sum: 0xe1e2e3e4e5e6e7e8}
	testRoot     = codec.Digest{Level: 0, Index: 0, Count: 10000, Sum: 0xf1f2f3f4f5f6f7f8}
	testShardRef = codec.ShardRef{Shard: 17, Count: 40, Digest: 0xe1e2e3e4e5e6e7e8}
	testPrint    = codec.Fingerprint{Sum: 0xf9fafbfcfdfeff00}
	testPrint2   = codec.Fingerprint{Sum: 0x8182838485868788}
	// testRetry asks the joiner to send its join again with an Echo of
	// the token; testEcho is that Echo.
	testRetry   = codec.Retry{For: codec.MsgJoin, After: 250, Epoch: 33, Token: 0x9192939495969798}
	testEcho    = codec.Echo{Token: 0x9192939495969798, Epoch: 33}
	testVerdict = codec.Verdict{Generation: 1690000000000000000, Incarnation: 5, State: codec.StateDead}
	// testUser is a broadcast of testPayload, relayed by the sender of the
	// datagram that carries it; testSend is a message the sender wrote
	// for the receiver alone.
	testUser    = codec.UserMsg{Origin: 0xc1c2c3c4c5c6c7c8, Generation: 1700000000000000000, Seq: 0x51525354, Broadcast: true, Length: 5}
	testSend    = codec.UserMsg{Origin: 0x2122232425262728, Generation: 1700000000000000000, Seq: 0x51525355}
	testPayload = []byte("hello")
)

// testHeader returns the header used by the golden datagrams.
func testHeader(t codec.MsgType) codec.Header {
	return codec.Header{
		Type:        t,
		Cluster:     0x0a0b0c0d0e0f1011,
		Sender:      0x2122232425262728,
		Generation:  1700000000000000000,
		Incarnation: 2,
		Seq:         0x31323334,
	}
}

// message describes one datagram kind with the records it carries.
type message struct {
	typ codec.MsgType
	add func(b *codec.Builder) bool
}

// messages has one datagram of each kind, as the engine would build it.
var messages = []message{
	{codec.MsgHeartbeat, func(b *codec.Builder) bool {
		return b.AddHeartbeat(testHeartbeat) && b.AddMember(&testMember) && b.AddState(&testState)
	}},
	{codec.MsgPing, func(b *codec.Builder) bool { return b.AddPing(testPing) && b.AddMember(&testMember) }},
	{codec.MsgAck, func(b *codec.Builder) bool {
		return b.AddAck(testAck) && b.AddVerdict(testVerdict) && b.AddMember(&testMember)
	}},
	{codec.MsgPingReq, func(b *codec.Builder) bool { return b.AddPingReq(testPingReq) }},
	{codec.MsgNack, func(b *codec.Builder) bool { return b.AddNack(testNack) }},
	{codec.MsgGossip, func(b *codec.Builder) bool {
		return b.AddMember(&testMember) && b.AddMember(&testLeft) && b.AddState(&testTombstone)
	}},
	{codec.MsgSync, func(b *codec.Builder) bool { return b.AddDigest(testRoot) }},
	{codec.MsgSyncReply, func(b *codec.Builder) bool { return b.AddDigest(testRoot) && b.AddDigest(testDigest) }},
	{codec.MsgShardRequest, func(b *codec.Builder) bool {
		return b.AddShardRef(testShardRef) && b.AddFingerprint(testPrint) && b.AddFingerprint(testPrint2)
	}},
	{codec.MsgShardData, func(b *codec.Builder) bool {
		return b.AddMember(&testMember) && b.AddState(&testState) && b.AddShardRef(testShardRef)
	}},
	{codec.MsgJoin, func(b *codec.Builder) bool { return b.AddMember(&testMember) && b.AddEcho(testEcho) }},
	{codec.MsgJoinReply, func(b *codec.Builder) bool { return b.AddDigest(testRoot) && b.AddDigest(testDigest) }},
	{codec.MsgLeave, func(b *codec.Builder) bool { return b.AddMember(&testLeft) }},
	{codec.MsgRetry, func(b *codec.Builder) bool { return b.AddRetry(testRetry) }},
	{codec.MsgUser, func(b *codec.Builder) bool { return b.AddUser(testSend, testPayload) }},
}

// build returns the datagram of m in a fresh buffer.
func build(m message) []byte {
	var b codec.Builder
	b.Reset(make([]byte, 0, codec.DefaultDatagramSize), codec.DefaultDatagramSize, testHeader(m.typ))
	if !m.add(&b) {
		panic("fixture does not fit")
	}
	return b.Finish()
}

// record describes one record type: its encoder over the fixture and a
// decode-and-reencode function.
type record struct {
	typ    codec.RecType
	append func(dst []byte) []byte
	// reparse decodes b with the Parse function and appends the
	// re-encoding of the value to dst.
	reparse func(dst, b []byte) ([]byte, int, error)
	// redecode does the same with the Decode method, decoding into a
	// value that holds the fixture beforehand.
	redecode func(dst, b []byte) ([]byte, int, error)
}

var records = []record{
	{codec.RecHeartbeat, testHeartbeat.Append, func(dst, b []byte) ([]byte, int, error) {
		x, n, err := codec.ParseHeartbeat(b)
		return x.Append(dst), n, err
	}, func(dst, b []byte) ([]byte, int, error) {
		x := testHeartbeat
		n, err := x.Decode(b)
		return x.Append(dst), n, err
	}},
	{codec.RecPing, testPing.Append, func(dst, b []byte) ([]byte, int, error) {
		x, n, err := codec.ParsePing(b)
		return x.Append(dst), n, err
	}, func(dst, b []byte) ([]byte, int, error) {
		x := testPing
		n, err := x.Decode(b)
		return x.Append(dst), n, err
	}},
	{codec.RecAck, testAck.Append, func(dst, b []byte) ([]byte, int, error) {
		x, n, err := codec.ParseAck(b)
		return x.Append(dst), n, err
	}, func(dst, b []byte) ([]byte, int, error) {
		x := testAck
		n, err := x.Decode(b)
		return x.Append(dst), n, err
	}},
	{codec.RecPingReq, testPingReq.Append, func(dst, b []byte) ([]byte, int, error) {
		x, n, err := codec.ParsePingReq(b)
		return x.Append(dst), n, err
	}, func(dst, b []byte) ([]byte, int, error) {
		x := testPingReq
		n, err := x.Decode(b)
		return x.Append(dst), n, err
	}},
	{codec.RecNack, testNack.Append, func(dst, b []byte) ([]byte, int, error) {
		x, n, err := codec.ParseNack(b)
		return x.Append(dst), n, err
	}, func(dst, b []byte) ([]byte, int, error) {
		x := testNack
		n, err := x.Decode(b)
		return x.Append(dst), n, err
	}},
	{codec.RecMember, testMember.Append, func(dst, b []byte) ([]byte, int, error) {
		x, n, err := codec.ParseMember(b)
		if err != nil {
			return dst, n, err
		}
		return x.Append(dst), n, err
	}, func(dst, b []byte) ([]byte, int, error) {
		x := testMember
		n, err := x.Decode(b)
		return x.Append(dst), n, err
	}},
	{codec.RecState, testState.Append, func(dst, b []byte) ([]byte, int, error) {
		x, n, err := codec.ParseStateEntry(b)
		if err != nil {
			return dst, n, err
		}
		return x.Append(dst), n, err
	}, func(dst, b []byte) ([]byte, int, error) {
		x := testState
		n, err := x.Decode(b)
		return x.Append(dst), n, err
	}},
	{codec.RecDigest, testDigest.Append, func(dst, b []byte) ([]byte, int, error) {
		x, n, err := codec.ParseDigest(b)
		return x.Append(dst), n, err
	}, func(dst, b []byte) ([]byte, int, error) {
		x := testDigest
		n, err := x.Decode(b)
		return x.Append(dst), n, err
	}},
	{codec.RecShardRef, testShardRef.Append, func(dst, b []byte) ([]byte, int, error) {
		x, n, err := codec.ParseShardRef(b)
		return x.Append(dst), n, err
	}, func(dst, b []byte) ([]byte, int, error) {
		x := testShardRef
		n, err := x.Decode(b)
		return x.Append(dst), n, err
	}},
	{codec.RecPrint, testPrint.Append, func(dst, b []byte) ([]byte, int, error) {
		x, n, err := codec.ParseFingerprint(b)
		return x.Append(dst), n, err
	}, func(dst, b []byte) ([]byte, int, error) {
		x := testPrint
		n, err := x.Decode(b)
		return x.Append(dst), n, err
	}},
	{codec.RecEcho, testEcho.Append, func(dst, b []byte) ([]byte, int, error) {
		x, n, err := codec.ParseEcho(b)
		return x.Append(dst), n, err
	}, func(dst, b []byte) ([]byte, int, error) {
		x := testEcho
		n, err := x.Decode(b)
		return x.Append(dst), n, err
	}},
	{codec.RecVerdict, testVerdict.Append, func(dst, b []byte) ([]byte, int, error) {
		x, n, err := codec.ParseVerdict(b)
		if err != nil {
			return dst, n, err
		}
		return x.Append(dst), n, err
	}, func(dst, b []byte) ([]byte, int, error) {
		x := testVerdict
		n, err := x.Decode(b)
		return x.Append(dst), n, err
	}},
	{codec.RecRetry, testRetry.Append, func(dst, b []byte) ([]byte, int, error) {
		x, n, err := codec.ParseRetry(b)
		return x.Append(dst), n, err
	}, func(dst, b []byte) ([]byte, int, error) {
		x := testRetry
		n, err := x.Decode(b)
		return x.Append(dst), n, err
	}},
	{codec.RecUser, testUser.Append, func(dst, b []byte) ([]byte, int, error) {
		x, n, err := codec.ParseUserMsg(b)
		return x.Append(dst), n, err
	}, func(dst, b []byte) ([]byte, int, error) {
		x := testUser
		n, err := x.Decode(b)
		return x.Append(dst), n, err
	}},
}
