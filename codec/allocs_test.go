package codec_test

import (
	"bytes"
	"errors"
	"testing"

	"github.com/hearsay-io/hearsay/codec"
)

// Sinks keep the compiler from optimising calls away.
var (
	sinkBytes   []byte
	sinkInt     int
	sinkErr     error
	sinkBool    bool
	sinkHeader  codec.Header
	sinkView    codec.HeaderView
	sinkMember  codec.Member
	sinkState   codec.StateEntry
	sinkHB      codec.Heartbeat
	sinkPing    codec.Ping
	sinkAck     codec.Ack
	sinkNack    codec.Nack
	sinkPingReq codec.PingReq
	sinkDigest  codec.Digest
	sinkRef     codec.ShardRef
	sinkPrint   codec.Fingerprint
	sinkEcho    codec.Echo
	sinkVerdict codec.Verdict
	sinkRetry   codec.Retry
	sinkUser    codec.UserMsg
)

// fullMembers fills b with as many Member records as fit in a default
// datagram and returns it.
func fullMembers(b *codec.Builder, buf []byte, members []codec.Member) []byte {
	b.Reset(buf[:0], codec.DefaultDatagramSize, testHeader(codec.MsgGossip))
	for i := range members {
		if !b.AddMember(&members[i]) {
			break
		}
	}
	return b.Finish()
}

// readMembers decodes every Member record of a plain datagram with
// ParseMember.
func readMembers(r *codec.Reader, d []byte) (n int, err error) {
	h, body, err := codec.Parse(d)
	if err != nil {
		return 0, err
	}
	r.Reset(int(h.Sections), body)
	for r.Next() {
		if r.Type() != codec.RecMember {
			continue
		}
		for i := range r.Count() {
			m, _, err := codec.ParseMember(r.Record(i))
			if err != nil {
				return n, err
			}
			sinkMember = m
			n++
		}
	}
	return n, r.Err()
}

// readMembersInto decodes every Member record of a plain datagram into
// ms with Member.Decode, as a table merge would.
func readMembersInto(r *codec.Reader, d []byte, ms []codec.Member) (n int, err error) {
	h, body, err := codec.Parse(d)
	if err != nil {
		return 0, err
	}
	r.Reset(int(h.Sections), body)
	for r.Next() {
		if r.Type() != codec.RecMember {
			continue
		}
		for i := range r.Count() {
			if n == len(ms) {
				return n, nil
			}
			if _, err := ms[n].Decode(r.Record(i)); err != nil {
				return n, err
			}
			n++
		}
	}
	return n, r.Err()
}

var sinkMembers = make([]codec.Member, 64)

func TestNoAllocs(t *testing.T) {
	buf := make([]byte, 0, codec.MaxDatagramSize+codec.SealOverhead)
	out := make([]byte, 0, codec.MaxDatagramSize+codec.SealOverhead)
	hdr := testHeader(codec.MsgGossip)
	enc := func(r codec.RecType) []byte { return recordOf(r).append(nil) }
	hbB, pingB, ackB, nackB, prB := enc(codec.RecHeartbeat), enc(codec.RecPing), enc(codec.RecAck), enc(codec.RecNack), enc(codec.RecPingReq)
	memB, stB, dgB, refB := enc(codec.RecMember), enc(codec.RecState), enc(codec.RecDigest), enc(codec.RecShardRef)
	fpB, echoB, verdictB, retryB := enc(codec.RecPrint), enc(codec.RecEcho), enc(codec.RecVerdict), enc(codec.RecRetry)
	userB := enc(codec.RecUser)
	userD := build(messages[len(messages)-1]) // MsgUser
	_, userBody, _ := codec.Parse(userD)
	bigPayload := make([]byte, 1296)
	badVerdictB := bytes.Clone(verdictB)
	badVerdictB[12] = 0 // invalid state
	badVerdict := testVerdict
	badVerdict.State = 0
	members := randomMembers(64, 1)
	var b codec.Builder
	var r codec.Reader
	full := fullMembers(&b, make([]byte, 0, codec.DefaultDatagramSize), members)
	k := mustKeyring(t, key32)
	sealed, _ := codec.Seal(nil, full, k)
	inPlace := make([]byte, 0, codec.DefaultDatagramSize+codec.SealOverhead)
	tampered := append([]byte(nil), sealed...)
	tampered[len(tampered)-1] ^= 1
	garbage := make([]byte, 100)

	tests := []struct {
		name string
		fn   func()
		err  error // the call's expected error, left in sinkErr
	}{
		{"Header.Append", func() { sinkBytes = hdr.Append(buf[:0]) }, nil},
		{"ParseHeader", func() { sinkHeader, sinkErr = codec.ParseHeader(full) }, nil},
		{"NewHeaderView", func() { sinkView, sinkErr = codec.NewHeaderView(full); sinkInt = int(sinkView.Seq()) }, nil},
		{"Heartbeat.Append", func() { sinkBytes = testHeartbeat.Append(buf[:0]) }, nil},
		{"ParseHeartbeat", func() { sinkHB, sinkInt, sinkErr = codec.ParseHeartbeat(hbB) }, nil},
		{"Heartbeat.Decode", func() { sinkInt, sinkErr = sinkHB.Decode(hbB) }, nil},
		{"Ping.Append", func() { sinkBytes = testPing.Append(buf[:0]) }, nil},
		{"ParsePing", func() { sinkPing, sinkInt, sinkErr = codec.ParsePing(pingB) }, nil},
		{"Ping.Decode", func() { sinkInt, sinkErr = sinkPing.Decode(pingB) }, nil},
		{"Ack.Append", func() { sinkBytes = testAck.Append(buf[:0]) }, nil},
		{"ParseAck", func() { sinkAck, sinkInt, sinkErr = codec.ParseAck(ackB) }, nil},
		{"Ack.Decode", func() { sinkInt, sinkErr = sinkAck.Decode(ackB) }, nil},
		{"Nack.Append", func() { sinkBytes = testNack.Append(buf[:0]) }, nil},
		{"ParseNack", func() { sinkNack, sinkInt, sinkErr = codec.ParseNack(nackB) }, nil},
		{"Nack.Decode", func() { sinkInt, sinkErr = sinkNack.Decode(nackB) }, nil},
		{"PingReq.Append", func() { sinkBytes = testPingReq.Append(buf[:0]) }, nil},
		{"ParsePingReq", func() { sinkPingReq, sinkInt, sinkErr = codec.ParsePingReq(prB) }, nil},
		{"PingReq.Decode", func() { sinkInt, sinkErr = sinkPingReq.Decode(prB) }, nil},
		{"Member.Append", func() { sinkBytes = testMember.Append(buf[:0]) }, nil},
		{"ParseMember", func() { sinkMember, sinkInt, sinkErr = codec.ParseMember(memB) }, nil},
		{"Member.Decode", func() { sinkInt, sinkErr = sinkMember.Decode(memB) }, nil},
		{"StateEntry.Append", func() { sinkBytes = testState.Append(buf[:0]) }, nil},
		{"ParseStateEntry", func() { sinkState, sinkInt, sinkErr = codec.ParseStateEntry(stB) }, nil},
		{"StateEntry.Decode", func() { sinkInt, sinkErr = sinkState.Decode(stB) }, nil},
		{"Digest.Append", func() { sinkBytes = testDigest.Append(buf[:0]) }, nil},
		{"ParseDigest", func() { sinkDigest, sinkInt, sinkErr = codec.ParseDigest(dgB) }, nil},
		{"Digest.Decode", func() { sinkInt, sinkErr = sinkDigest.Decode(dgB) }, nil},
		{"ShardRef.Append", func() { sinkBytes = testShardRef.Append(buf[:0]) }, nil},
		{"ParseShardRef", func() { sinkRef, sinkInt, sinkErr = codec.ParseShardRef(refB) }, nil},
		{"ShardRef.Decode", func() { sinkInt, sinkErr = sinkRef.Decode(refB) }, nil},
		{"Fingerprint.Append", func() { sinkBytes = testPrint.Append(buf[:0]) }, nil},
		{"ParseFingerprint", func() { sinkPrint, sinkInt, sinkErr = codec.ParseFingerprint(fpB) }, nil},
		{"Fingerprint.Decode", func() { sinkInt, sinkErr = sinkPrint.Decode(fpB) }, nil},
		{"Echo.Append", func() { sinkBytes = testEcho.Append(buf[:0]) }, nil},
		{"ParseEcho", func() { sinkEcho, sinkInt, sinkErr = codec.ParseEcho(echoB) }, nil},
		{"Echo.Decode", func() { sinkInt, sinkErr = sinkEcho.Decode(echoB) }, nil},
		{"Verdict.Append", func() { sinkBytes = testVerdict.Append(buf[:0]) }, nil},
		{"ParseVerdict", func() { sinkVerdict, sinkInt, sinkErr = codec.ParseVerdict(verdictB) }, nil},
		{"Verdict.Decode", func() { sinkInt, sinkErr = sinkVerdict.Decode(verdictB) }, nil},
		{"Retry.Append", func() { sinkBytes = testRetry.Append(buf[:0]) }, nil},
		{"ParseRetry", func() { sinkRetry, sinkInt, sinkErr = codec.ParseRetry(retryB) }, nil},
		{"Retry.Decode", func() { sinkInt, sinkErr = sinkRetry.Decode(retryB) }, nil},
		{"UserMsg.Append", func() { sinkBytes = testUser.Append(buf[:0]) }, nil},
		{"ParseUserMsg", func() { sinkUser, sinkInt, sinkErr = codec.ParseUserMsg(userB) }, nil},
		{"UserMsg.Decode", func() { sinkInt, sinkErr = sinkUser.Decode(userB) }, nil},
		{"Builder.AddUser", func() {
			b.Reset(buf[:0], codec.DefaultDatagramSize-codec.SealOverhead, hdr)
			sinkInt = b.UserRoom()
			sinkBool = b.AddUser(testSend, bigPayload)
			sinkBytes = b.Finish()
		}, nil},
		{"Reader.User", func() {
			r.Reset(2, userBody)
			r.Next()
			sinkUser, sinkBytes, sinkErr = r.User()
		}, nil},
		{"Validate/user", func() { sinkErr = codec.Validate(userD) }, nil},
		{"Builder/every record type", func() {
			b.Reset(buf[:0], codec.DefaultDatagramSize, hdr)
			for _, r := range records {
				sinkBool = adders[r.typ](&b)
				sinkInt = b.Room(r.typ)
			}
			sinkBytes = b.Finish()
		}, nil},
		{"Builder/every message kind", func() {
			for _, m := range messages {
				b.Reset(buf[:0], codec.DefaultDatagramSize, hdr)
				sinkBool = m.add(&b)
				sinkInt = b.Room(codec.RecMember)
				sinkBytes = b.Finish()
			}
		}, nil},
		{"Builder/full of members", func() { sinkBytes = fullMembers(&b, buf, members) }, nil},
		{"Reader/full of members", func() { sinkInt, sinkErr = readMembers(&r, full) }, nil},
		{"Reader/full of members, Decode", func() { sinkInt, sinkErr = readMembersInto(&r, full, sinkMembers) }, nil},
		{"Validate", func() { sinkErr = codec.Validate(full) }, nil},
		{"Seal", func() { sinkBytes, sinkErr = codec.Seal(out[:0], full, k) }, nil},
		{"Open", func() { sinkBytes, sinkErr = codec.Open(out[:0], sealed, k) }, nil},
		{"SealFor", func() { sinkBytes, sinkErr = codec.SealFor(out[:0], full, k, 0xb0b) }, nil},
		{"OpenFor/other receiver", func() { sinkBytes, sinkErr = codec.OpenFor(out[:0], sealed, k, 0xb0b) }, codec.ErrAuth},
		{"Seal+Open in place", func() {
			d := append(inPlace[:0], full...)
			d, sinkErr = codec.Seal(d[:0], d, k)
			sinkBytes, sinkErr = codec.Open(d[:0], d, k)
		}, nil},
		{"ParseHeader/garbage", func() { sinkHeader, sinkErr = codec.ParseHeader(garbage) }, codec.ErrMagic},
		{"ParseVerdict/bad state", func() { sinkVerdict, sinkInt, sinkErr = codec.ParseVerdict(badVerdictB) }, codec.ErrMalformed},
		{"Verdict.Decode/bad state", func() { sinkInt, sinkErr = sinkVerdict.Decode(badVerdictB) }, codec.ErrMalformed},
		{"Builder.AddVerdict/bad state", func() {
			b.Reset(buf[:0], codec.DefaultDatagramSize, hdr)
			sinkBool = b.AddVerdict(badVerdict)
		}, nil},
		{"Validate/truncated", func() { sinkErr = codec.Validate(full[:len(full)-1]) }, codec.ErrTruncated},
		{"Seal/sealed", func() { sinkBytes, sinkErr = codec.Seal(out[:0], sealed, k) }, codec.ErrSealed},
		{"Open/tampered", func() { sinkBytes, sinkErr = codec.Open(out[:0], tampered, k) }, codec.ErrAuth},
		{"Open/unknown key", func() { sinkBytes, sinkErr = codec.Open(out[:0], sealed, mustKeyringNoT(key16)) }, codec.ErrUnknownKey},
	}
	for _, tt := range tests {
		sinkErr = nil
		if n := testing.AllocsPerRun(100, tt.fn); n != 0 {
			t.Errorf("%s: %v allocations, want 0", tt.name, n)
		}
		if !errors.Is(sinkErr, tt.err) {
			t.Errorf("%s: error %v, want %v", tt.name, sinkErr, tt.err)
		}
	}
}

var ringNoT = map[string]*codec.Keyring{}

// mustKeyringNoT returns a cached keyring, so building it is not counted.
func mustKeyringNoT(key []byte) *codec.Keyring {
	if k, ok := ringNoT[string(key)]; ok {
		return k
	}
	k, err := codec.NewKeyring(key)
	if err != nil {
		panic(err)
	}
	ringNoT[string(key)] = k
	return k
}
