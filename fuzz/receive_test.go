package fuzz_test

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"runtime/debug"
	"testing"
	"time"

	"github.com/hearsay-io/hearsay/codec"
	"github.com/hearsay-io/hearsay/codec/bulk"
	"github.com/hearsay-io/hearsay/engine"
)

// FuzzCoreReceive feeds a sequence of datagrams, mutated from captured
// traffic and random bytes, to a node of an open (unsealed) cluster with a
// converged view, with time steps between them, and checks the checker's
// invariants after every datagram and tick. Input format: see splitFrames.
func FuzzCoreReceive(f *testing.F) {
	for _, s := range handSeeds(false) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		defer watchdog()()
		if err := runFrames(in, false); err != nil {
			t.Fatal(err)
		}
	})
}

// FuzzCoreReceiveSealed is FuzzCoreReceive for a cluster with keys: the
// node seals with keyB and accepts keyA, which sealed the captured corpus.
// A mutated sealed datagram must fail to open, be dropped as truncated,
// unknown-key or auth, and change nothing; frames with the seal bit are
// sealed by the harness with keyB, so that mutated plaintexts still reach
// the protocol as an insider's datagrams would.
func FuzzCoreReceiveSealed(f *testing.F) {
	for _, s := range handSeeds(true) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		defer watchdog()()
		if err := runFrames(in, true); err != nil {
			t.Fatal(err)
		}
	})
}

// hangLimit is how long one input may run before the watchdog kills the
// process, so that the fuzzer records the input that hangs (a typical one
// takes well under a millisecond).
const hangLimit = 10 * time.Second

// watchdog arms a timer that crashes the process, printing every
// goroutine, if the current input runs longer than hangLimit; call the
// function it returns to disarm it.
func watchdog() func() bool {
	t := time.AfterFunc(hangLimit, func() {
		debug.SetTraceback("all")
		panic(fmt.Sprintf("fuzz: one input ran for %v: the engine or the harness is stuck", hangLimit))
	})
	return t.Stop
}

// handSeeds are hostile inputs written by hand, to go with the captured
// corpus under testdata/fuzz.
func handSeeds(keyed bool) [][]byte {
	hdr := func(t codec.MsgType, sender uint64, gen uint64, inc uint32) codec.Header {
		return codec.Header{Type: t, Cluster: worldCluster, Sender: sender, Generation: gen, Incarnation: inc, Seq: 7}
	}
	build := func(h codec.Header, add func(b *codec.Builder)) []byte {
		var b codec.Builder
		b.Reset(make([]byte, 0, 1400), 1400-codec.SealOverhead, h)
		add(&b)
		return b.Finish()
	}
	_, ringA, ringC := keyrings()
	seal := func(b []byte, k *codec.Keyring) []byte {
		s, err := codec.Seal(nil, b, k)
		if err != nil {
			panic(err)
		}
		return s
	}
	self := uint64(worldIDs[0])
	suspectSelf := build(hdr(codec.MsgGossip, uint64(worldIDs[3]), 1, 0), func(b *codec.Builder) {
		b.AddMember(&codec.Member{ID: self, Generation: 1, Incarnation: 0, State: codec.StateSuspect, Addr: worldAddrs[0], Witness: uint64(worldIDs[3])})
	})
	deadSelf := build(hdr(codec.MsgGossip, uint64(worldIDs[4]), 1, 0), func(b *codec.Builder) {
		b.AddMember(&codec.Member{ID: self, Generation: 1, Incarnation: 3, State: codec.StateDead, Addr: worldAddrs[0], Witness: uint64(worldIDs[4])})
	})
	flood := build(hdr(codec.MsgGossip, uint64(worldIDs[5]), 1, 0), func(b *codec.Builder) {
		for i := 0; b.Room(codec.RecMember) > 0; i++ {
			b.AddMember(&codec.Member{ID: 0x1000 + uint64(i), Generation: 1, State: codec.StateAlive, Addr: foreignAddrs[0]})
		}
	})
	states := build(hdr(codec.MsgGossip, uint64(worldIDs[6]), 1, 0), func(b *codec.Builder) {
		for i := 0; b.Room(codec.RecState) > 0; i++ {
			b.AddState(&codec.StateEntry{Owner: uint64(worldIDs[6]), Generation: 1, Version: uint64(i + 1),
				Key: []byte{'k', byte('a' + i)}, Value: bytes.Repeat([]byte{'v'}, codec.MaxValueSize)})
		}
	})
	ping := build(hdr(codec.MsgPing, uint64(worldIDs[7]), 1, 0), func(b *codec.Builder) {
		b.AddPing(codec.Ping{Seq: 1, Target: self})
		b.AddPingReq(codec.PingReq{Seq: 2, Target: uint64(worldIDs[2]), Addr: worldAddrs[2]})
	})
	sync := build(hdr(codec.MsgSync, uint64(worldIDs[2]), 1, 0), func(b *codec.Builder) {
		for i := 0; i < 3; i++ {
			b.AddDigest(codec.Digest{Level: uint8(i), Index: uint16(i), Count: 3, Sum: 0xabcdef})
		}
	})
	// A shard request for node 0's shard, listing node 0's own record as
	// it starts and a record node 0 does not hold, then for node 2's
	// shard listing nothing.
	shards := build(hdr(codec.MsgShardRequest, uint64(worldIDs[3]), 1, 0), func(b *codec.Builder) {
		b.AddShardRef(codec.ShardRef{Shard: shardOf(worldIDs[0]), Count: 2, Digest: 0xabcdef})
		b.AddFingerprint(codec.Fingerprint{Sum: memberPrint(engine.Member{
			ID: worldIDs[0], Addr: worldAddrs[0], Generation: 1, State: engine.StateAlive,
		})})
		b.AddFingerprint(codec.Fingerprint{Sum: 0xabcdef})
		b.AddShardRef(codec.ShardRef{Shard: shardOf(worldIDs[2]), Count: 1})
	})
	zipped, err := bulk.CompressDatagram(nil, flood)
	if err != nil {
		panic(err)
	}
	datagrams := [][]byte{suspectSelf, deadSelf, flood, states, ping, sync, zipped, shards}
	var seeds [][]byte
	for i, d := range datagrams {
		if keyed {
			d = seal(d, ringA)
		}
		seeds = append(seeds, appendFrame([]byte{0}, byte(3+i%4), 0, false, d))
	}
	// All of them in one sequence, a second apart.
	all := []byte{0}
	for _, d := range datagrams {
		all = appendFrame(all, 3, 1<<30, keyed, d)
	}
	seeds = append(seeds, all)
	// A sealed datagram under an unknown key; and one under a known key
	// with its last byte (the tag) flipped.
	unknown := seal(suspectSelf, ringC)
	forged := seal(suspectSelf, ringA)
	forged[len(forged)-1] ^= 1
	seeds = append(seeds, appendFrame([]byte{0}, 3, 0, false, unknown), appendFrame([]byte{0}, 3, 0, false, forged))
	// Nasty framing: a header whose length runs past the end, an empty
	// datagram, a foreign source, a huge time step.
	long := binary.BigEndian.AppendUint16(append([]byte(nil), suspectSelf[:6]...), 0xffff)
	long = append(long, suspectSelf[8:]...)
	seeds = append(seeds,
		appendFrame([]byte{0}, 3, 0, false, long),
		appendFrame([]byte{0}, 9, 1<<40, false, nil),
		[]byte{0, 0xff, 0xff, 0xff},
	)
	return seeds
}
