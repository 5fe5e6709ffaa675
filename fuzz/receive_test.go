package fuzz_test

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"net/netip"
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
// node seals with keyB and accepts keyA, which sealed the captured corpus
// (each datagram for the member it went to). A mutated sealed datagram
// must fail to open, be dropped as truncated, unknown-key or auth, and
// change nothing, as must one sealed for another member; frames with the
// seal bits are sealed by the harness with keyB, for the node (so that
// mutated plaintexts still reach the protocol as an insider's datagrams
// would), for no one or for another member (see sealing).
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
	self := uint64(worldIDs[0])
	// Every seed plays node 0: its peers seal for it.
	seal := func(b []byte, k *codec.Keyring) []byte { return sealFor(b, k, self) }
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
	return append(seeds, ruleSeeds(keyed)...)
}

// ruleSeeds are hostile inputs for the rules of address validation,
// admission, plausibility and the node's authority on itself, each from a
// chosen source (a world node's address, or 8+ for a foreign one).
func ruleSeeds(keyed bool) [][]byte {
	hdr := func(t codec.MsgType, sender uint64) codec.Header {
		return codec.Header{Type: t, Cluster: worldCluster, Sender: sender, Generation: 1, Seq: 11}
	}
	build := func(h codec.Header, add func(b *codec.Builder)) []byte {
		var b codec.Builder
		b.Reset(make([]byte, 0, 1400), 1400-codec.SealOverhead, h)
		add(&b)
		return b.Finish()
	}
	zip := func(b []byte) []byte {
		z, err := bulk.CompressDatagram(nil, b)
		if err != nil {
			panic(err)
		}
		return z
	}
	_, ringA, _ := keyrings()
	self := uint64(worldIDs[0])
	node := func(i int) uint64 { return uint64(worldIDs[i]) }
	member := func(id uint64, gen uint64, st codec.MemberState, a netip.AddrPort) *codec.Member {
		return &codec.Member{ID: id, Generation: gen, State: st, Addr: a}
	}
	type sent struct {
		src  byte
		data []byte
	}
	skew := uint64(engine.DefaultLANConfig().MaxClockSkew)
	gossip := build(hdr(codec.MsgGossip, node(3)), func(b *codec.Builder) {
		b.AddMember(member(node(5), 1, codec.StateSuspect, worldAddrs[5]))
	})
	shard := build(hdr(codec.MsgShardData, node(3)), func(b *codec.Builder) {
		b.AddShardRef(codec.ShardRef{Shard: shardOf(worldIDs[3]), Count: 1})
		b.AddMember(member(node(3), 1, codec.StateAlive, worldAddrs[3]))
	})
	implausible := func(gen uint64, inc uint32) []byte {
		h := hdr(codec.MsgGossip, node(4))
		h.Generation, h.Incarnation = gen, inc
		return build(h, func(b *codec.Builder) { b.AddMember(member(node(6), 1, codec.StateDead, worldAddrs[6])) })
	}
	verdict := func(st codec.MemberState, gen uint64, inc uint32) []byte {
		return build(hdr(codec.MsgGossip, node(3)), func(b *codec.Builder) {
			b.AddVerdict(codec.Verdict{Generation: gen, Incarnation: inc, State: st})
		})
	}
	laterSelf := build(hdr(codec.MsgGossip, node(4)), func(b *codec.Builder) {
		b.AddMember(member(self, 3, codec.StateAlive, worldAddrs[0]))
	})
	forgedState := build(hdr(codec.MsgGossip, node(5)), func(b *codec.Builder) {
		b.AddState(&codec.StateEntry{Owner: self, Generation: 1, Version: 7, Key: []byte("x"), Value: []byte("forged")})
	})
	join := build(hdr(codec.MsgJoin, uint64(foreignIDs[3])), func(b *codec.Builder) {
		b.AddMember(member(uint64(foreignIDs[3]), 1, codec.StateAlive, foreignAddrs[1]))
		b.AddMember(member(uint64(foreignIDs[4]), 1, codec.StateAlive, foreignAddrs[2]))
	})
	shardReq := build(hdr(codec.MsgShardRequest, node(3)), func(b *codec.Builder) {
		b.AddShardRef(codec.ShardRef{Shard: shardOf(worldIDs[5]), Count: 0})
	})
	joinReply := build(hdr(codec.MsgJoinReply, node(3)), func(b *codec.Builder) {
		b.AddDigest(codec.Digest{Count: 8, Sum: 1})
		b.AddMember(member(uint64(foreignIDs[5]), 1, codec.StateAlive, foreignAddrs[3]))
	})
	syncReply := build(hdr(codec.MsgSyncReply, node(3)), func(b *codec.Builder) {
		b.AddDigest(codec.Digest{Count: 8, Sum: 1})
	})
	retry := build(hdr(codec.MsgRetry, node(3)), func(b *codec.Builder) {
		b.AddRetry(codec.Retry{For: codec.MsgSync, Token: 0x1234, Epoch: 70})
	})
	forgedEcho := build(hdr(codec.MsgSync, node(3)), func(b *codec.Builder) {
		b.AddEcho(codec.Echo{Token: 0xfeedface, Epoch: 70})
		b.AddDigest(codec.Digest{Count: 8, Sum: 1})
	})
	strangers := build(hdr(codec.MsgGossip, uint64(foreignIDs[6])), func(b *codec.Builder) {
		for i := 0; i < 4; i++ {
			b.AddMember(member(uint64(foreignIDs[7+i]), 1, codec.StateAlive, foreignAddrs[i]))
		}
	})
	pingReq := build(hdr(codec.MsgPingReq, uint64(foreignIDs[2])), func(b *codec.Builder) {
		b.AddPingReq(codec.PingReq{Seq: 77, Target: node(3), Addr: worldAddrs[3]})
		for i := 0; i < 3; i++ {
			b.AddDigest(codec.Digest{Count: 8, Sum: uint64(i)}) // pads it to pay for the relay
		}
	})
	rules := []sent{
		// Compressed, not shard data: DropCompressed. Compressed shard
		// data not asked for: DropUnsolicited, before decompressing; plain,
		// counted in Stats.In and DropUnsolicited.
		{3, zip(gossip)}, {3, zip(shard)}, {3, shard},
		// Implausible headers: a generation past MaxClockSkew, the
		// highest generation, the highest incarnation.
		{4, implausible(1+skew+1, 0)}, {4, implausible(1<<64-1, 0)}, {4, implausible(1, 1<<32-1)},
		// Verdicts: suspect (refuted: incarnation 1), then Left at that
		// incarnation (a renewal, to generation 2); a record of the node
		// at generation 3 a second later (a renewal that waits for the
		// gap); state under a key the node never wrote (of generation 1,
		// which it left by then).
		{3, verdict(codec.StateSuspect, 1, 0)}, {3, verdict(codec.StateLeft, 1, 1)}, {4, laterSelf}, {5, forgedState},
		// A join from a stranger and a shard request from a member,
		// neither validated: a Retry only.
		{8, join}, {3, shardReq},
		// Answers to nothing the node asked: DropUnsolicited.
		{3, joinReply}, {3, syncReply}, {3, retry},
		// A sync whose digest differs, with a forged token: a Retry.
		{3, forgedEcho},
		// A stranger's members: pending, admission pings.
		{9, strangers},
		// A stranger's padded ping-req: relayed to node 3.
		{10, pingReq},
	}
	var seeds [][]byte
	all := []byte{0}
	for _, r := range rules {
		d := r.data
		if keyed {
			d = sealFor(d, ringA, self)
		}
		seeds = append(seeds, appendFrame([]byte{0}, r.src, 0, false, d))
		all = appendFrame(all, r.src, 700*time.Millisecond, false, d)
		if keyed {
			all = appendFrame(all, r.src, 0, false, d) // a replay
		}
	}
	if keyed {
		// Replay windows: node 3 jumps its sequence number past what a
		// second allows (refused as implausible), then to the limit
		// (accepted); node 4 sends at generation 1, then at 2, which the
		// node does not hold (a second window); node 5 tells the node of
		// node 4's generation 2; node 4's datagram of generation 2 comes
		// again: a replay in the window that became the current one.
		seq := func(sender uint64, gen uint64, n uint32) []byte {
			h := hdr(codec.MsgGossip, sender)
			h.Generation, h.Seq = gen, n
			return build(h, func(b *codec.Builder) {})
		}
		restart := build(hdr(codec.MsgGossip, node(5)), func(b *codec.Builder) {
			b.AddMember(member(node(4), 2, codec.StateAlive, worldAddrs[4]))
		})
		in := []byte{0}
		for _, r := range []sent{
			{3, seq(node(3), 1, 1)}, {3, seq(node(3), 1, 1+maxSeqJump+1)}, {3, seq(node(3), 1, 1+maxSeqJump)},
			{4, seq(node(4), 1, 1)}, {4, seq(node(4), 2, 10)}, {5, restart}, {4, seq(node(4), 2, 10)},
		} {
			in = appendFrame(in, r.src, 0, true, r.data)
		}
		seeds = append(seeds, in)
		seeds = append(seeds, bindingSeeds()...)
	}
	return append(seeds, all)
}

// sealFor seals b with k for receiver (codec.SealFor), or panics.
func sealFor(b []byte, k *codec.Keyring, receiver uint64) []byte {
	s, err := codec.SealFor(nil, b, k, receiver)
	if err != nil {
		panic(err)
	}
	return s
}

// bindingSeeds are inputs for the sealed target about the binding of a
// sealed datagram to its receiver (codec.SealFor), each played by node 0:
//
//   - redirected: a gossip node 3 sealed for node 5, suspecting node 6,
//     then a Left Verdict it sealed for node 5 (what finding 7 redirected),
//     then the Verdict sealed by the harness for node 3 itself
//     (sealOther): none opens at node 0 (DropAuth), nothing changes;
//   - unbound join: a stranger's Join sealed for no one, as to a seed
//     whose ID it does not know: it opens, and the stranger, whose address
//     has not proven itself, gets one Retry and nothing that serves it;
//     then a gossip sealed for no one, which only a Join or Sync may be
//     (DropAuth);
//   - unbound sync with an echo: a stranger's Sync with a differing
//     digest (a Retry with a token), then the Sync again echoing that
//     token, sealed for no one: the Echo is ignored, so the answer is at
//     most its size (another Retry); then the same sealed for node 0: the
//     Echo proves the address, and the sync is served.
func bindingSeeds() [][]byte {
	_, ringA, _ := keyrings()
	self, n3, n5 := uint64(worldIDs[0]), uint64(worldIDs[3]), uint64(worldIDs[5])
	stranger := uint64(foreignIDs[3])
	build := func(t codec.MsgType, sender uint64, seq uint32, add func(b *codec.Builder)) []byte {
		var b codec.Builder
		b.Reset(make([]byte, 0, 1400), 1400-codec.SealOverhead, codec.Header{
			Type: t, Cluster: worldCluster, Sender: sender, Generation: 1, Seq: seq,
		})
		add(&b)
		return b.Finish()
	}
	suspect6 := build(codec.MsgGossip, n3, 21, func(b *codec.Builder) {
		b.AddMember(&codec.Member{ID: uint64(worldIDs[6]), Generation: 1, State: codec.StateSuspect, Addr: worldAddrs[6], Witness: n3})
	})
	leftVerdict := build(codec.MsgGossip, n3, 22, func(b *codec.Builder) {
		b.AddVerdict(codec.Verdict{Generation: 1, State: codec.StateLeft})
	})
	redirected := []byte{0}
	redirected = appendFrame(redirected, 3, 0, false, sealFor(suspect6, ringA, n5))
	redirected = appendFrame(redirected, 3, 0, false, sealFor(leftVerdict, ringA, n5))
	redirected = appendFrameSealing(redirected, 3, 0, sealOther, leftVerdict)

	join := build(codec.MsgJoin, stranger, 1, func(b *codec.Builder) {
		b.AddMember(&codec.Member{ID: stranger, Generation: 1, State: codec.StateAlive, Addr: foreignAddrs[0]})
	})
	gossip := build(codec.MsgGossip, stranger, 2, func(b *codec.Builder) {
		b.AddMember(&codec.Member{ID: uint64(foreignIDs[4]), Generation: 1, State: codec.StateAlive, Addr: foreignAddrs[1]})
	})
	unboundJoin := []byte{0}
	unboundJoin = appendFrame(unboundJoin, worldN, 0, false, sealFor(join, ringA, 0))
	unboundJoin = appendFrameSealing(unboundJoin, worldN, 0, sealUnbound, gossip)

	sync := func(seq uint32, echo *codec.Echo) []byte {
		return build(codec.MsgSync, stranger, seq, func(b *codec.Builder) {
			if echo != nil {
				b.AddEcho(*echo)
			}
			b.AddDigest(codec.Digest{Count: 8, Sum: 1})
		})
	}
	// The token node 0 gives the stranger's address: that of its Retry to
	// the first sync (the node's token key comes from its seed, so a
	// target at the same start issues the same token).
	first := sealFor(sync(1, nil), ringA, self)
	tok, err := retryToken(0, foreignAddrs[0], first)
	if err != nil {
		panic(err)
	}
	unboundSync := []byte{0}
	unboundSync = appendFrame(unboundSync, worldN, 0, false, first)
	unboundSync = appendFrame(unboundSync, worldN, 0, false, sealFor(sync(2, &tok), ringA, 0))
	unboundSync = appendFrame(unboundSync, worldN, 0, false, sealFor(sync(3, &tok), ringA, self))
	return [][]byte{redirected, unboundJoin, unboundSync}
}

// retryToken delivers b from from to a fresh sealed target playing node
// and returns the token of the Retry it answers with.
func retryToken(node int, from netip.AddrPort, b []byte) (codec.Echo, error) {
	t, err := newTarget(node, true)
	if err != nil {
		return codec.Echo{}, err
	}
	var tok codec.Echo
	t.seen = func(to netip.AddrPort, h *codec.Header, body []byte) {
		if to != from || h.Type != codec.MsgRetry {
			return
		}
		var r codec.Reader
		r.Reset(int(h.Sections), body)
		for r.Next() {
			if r.Type() == codec.RecRetry && r.Count() > 0 {
				x, _, _ := codec.ParseRetry(r.Record(0))
				tok = codec.Echo{Token: x.Token, Epoch: x.Epoch}
			}
		}
	}
	t.receive(from, b)
	if t.chk.err != nil {
		return codec.Echo{}, t.chk.err
	}
	if tok.Token == 0 {
		return codec.Echo{}, fmt.Errorf("node %d answered the sync from %v with no Retry token", node, from)
	}
	return tok, nil
}
