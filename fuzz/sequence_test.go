package fuzz_test

import (
	"bytes"
	"slices"
	"testing"

	"github.com/hearsay-io/hearsay/codec"
)

// FuzzCoreSequence feeds a node sequences of datagrams that are well formed
// by construction (see runProgram for the input language): member records
// with chosen states, incarnations and generations, state entries,
// heartbeats, probes and their answers, digests and shard transfers, join
// replies, interleaved with time steps and user calls, and checks the
// checker's invariants after every step.
func FuzzCoreSequence(f *testing.F) {
	for _, s := range handPrograms() {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		defer watchdog()()
		if err := runProgram(in); err != nil {
			t.Fatal(err)
		}
	})
}

// handPrograms are programs written by hand for paths that captured
// traffic reaches rarely, to go with the captured corpus under
// testdata/fuzz. See runProgram for the instruction set; the comments
// spell out each operand.
func handPrograms() [][]byte {
	const (
		opDatagram  = 0x00
		opReply     = 0x60
		opAdvance   = 0x90
		opSet       = 0xc0
		opDelete    = 0xd8
		opJoin      = 0xe8
		opBroadcast = 0xf0
		opSend      = 0xf4
		opLeave     = 0xf8
		keyLoad     = 0    // stateKeys[0]
		keySchema   = 3    // stateKeys[3], which no node writes
		addrOf      = 0    // + world node index
		idOf        = 0    // + world node index
		self        = 0xfd // selID: the node itself
		foreign     = 0xf0 // selID, selAddr: + index of a foreign ID or address
		same        = 1    // selGen, selInc: the node's current value
		plus1       = 2
		plus2       = 3
		skewAhead   = 0xfe // selGen: MaxClockSkew ahead
		maxInc      = 0xfe // selInc: the highest plausible incarnation
		noWitness   = 0xfe
		liveCount   = 0xfe // selU32
		sumZero     = 1    // selSum: zero
		sumPlus1    = 3    // selSum: the node's root digest + 1
		printHeld   = 0    // selPrint: the node's record (the first of the shard)
		printNewer  = 0xc0 // selPrint: the node's record at a higher incarnation
		printOwn    = 0x80 // selPrint: one the node listed in a shard request
		printRaw    = 0xff // selPrint: a raw value follows
		retryToken  = 0x80 // reply kind: a Retry with a token
		retryOther  = 0x20 // reply kind: the Retry names another request
		retryWait   = 0x40 // reply kind: the Retry asks to wait (low 6 bits, ms)
		echoOpt     = 0x10 // options: echo the token the node issued to the source
	)
	rec := func(t codec.RecType, n int) []byte { return []byte{sectionType(t), 0xff, byte(n)} }
	state := func(s codec.MemberState) byte { return byte(s - 1) }
	// header: type, source, sender, generation, incarnation, options
	// (sections in bits 1-3), seq.
	header := func(t codec.MsgType, from, gen, inc byte, sections int) []byte {
		return []byte{byte(t), addrOf + from, idOf + from, gen, inc, byte(sections) << 1, 0}
	}
	// reply: which of the node's latest datagrams (0 the last), kind,
	// options, seq.
	reply := func(k, kind byte, sections int) []byte { return []byte{opReply, k, kind, byte(sections) << 1, 0} }
	// member: id, generation, incarnation, state, address, state
	// version, witness.
	member := func(node, gen, inc byte, st codec.MemberState, witness byte) []byte {
		return []byte{idOf + node, gen, inc, state(st), addrOf + node, 0, witness}
	}
	// verdict: generation and incarnation relative to the node's own, state.
	verdict := func(gen, inc byte, st codec.MemberState) []byte { return []byte{gen, inc, state(st)} }
	seqd := func(h []byte, seq byte) []byte { h[6] = seq; return h }
	// userMsg: flags (bit 0: for the node alone), origin, generation
	// (the node's view), sequence number (seq+1), payload length in units
	// of 6 bytes; the payload follows.
	userMsg := func(direct bool, origin, seq, sixes byte) []byte {
		flags := byte(0)
		if direct {
			flags = 1
		}
		return []byte{flags, origin, same, seq, sixes}
	}
	cat := func(parts ...[]byte) []byte { return bytes.Join(parts, nil) }
	compressed := func(h []byte) []byte { h[5] |= 1; return h }
	value := bytes.Repeat([]byte{'v'}, codec.MaxValueSize)
	var progs [][]byte
	for _, keyed := range []byte{0, 1} {
		progs = append(progs,
			// Node 0 is suspected, then declared dead at an incarnation
			// above its own; time passes for the rejoin check, whose
			// pings one member answers.
			cat([]byte{keyed, 0, opDatagram}, header(codec.MsgGossip, 3, same, same, 1),
				rec(codec.RecMember, 1), member(0, same, same, codec.StateSuspect, idOf+3),
				[]byte{opDatagram}, header(codec.MsgGossip, 4, same, same, 1),
				rec(codec.RecMember, 1), member(0, same, plus2, codec.StateDead, idOf+4),
				[]byte{opAdvance | 1, opReply, 0, 0, 0, 0, opReply, 1, 0, 0, 0, opReply, 2, 0, 0, 0, opReply, 3, 0, 0, 0,
					opReply, 4, 0, 0, 0, opReply, 5, 0, 0, 0, opAdvance | 12, opAdvance | 14}),
			// Anti-entropy: a sync whose root differs, from an address
			// that has not proven itself, is answered with a Retry; sent
			// again with an Echo of the token, with the node's groups; a
			// sync of three differing shards; the node asks for them; the
			// shard data of the first, with a new generation of node 2
			// and a state entry of it.
			cat([]byte{keyed, 1, opDatagram}, header(codec.MsgSync, 2, same, same, 1),
				rec(codec.RecDigest, 1), []byte{0, 0, liveCount, sumPlus1},
				reply(0, 0, 1), rec(codec.RecDigest, 1), []byte{0, 0, liveCount, sumPlus1},
				reply(0, 0, 1), rec(codec.RecDigest, 3),
				[]byte{2, 2, liveCount, sumPlus1, 2, 5, liveCount, sumPlus1, 2, 6, liveCount, sumPlus1},
				reply(0, 2<<1, 2),
				rec(codec.RecMember, 1), member(2, plus1, plus2, codec.StateAlive, noWitness),
				rec(codec.RecState, 1), []byte{idOf + 2, keyLoad, plus1, same, 0, 4, 'h', 'o', 't', '!'}),
			// Node 5 joins through node 3, which answers with two groups
			// that differ; the node fetches their shards; one arrives.
			cat([]byte{keyed, 5, opJoin, 3}, reply(0, 0, 1),
				rec(codec.RecDigest, 2), []byte{1, 3, liveCount, sumPlus1, 1, 7, liveCount, sumPlus1},
				reply(0, 3<<1, 1), rec(codec.RecMember, 1), member(4, same, same, codec.StateAlive, noWitness),
				[]byte{opAdvance | 11}, reply(1, 0, 0)),
			// State: node 0 fills its own state past its bounds and
			// deletes a key; node 2's state arrives past its bounds, then
			// an old version.
			cat([]byte{keyed, 0},
				[]byte{opSet, 0, 8}, []byte("abcdefgh"),
				[]byte{opSet, 1, 64}, value, []byte{opSet, 2, 64}, value, []byte{opSet, 3, 64}, value,
				[]byte{opSet, 4, 1, 'x', opDelete, 0},
				[]byte{opDatagram}, header(codec.MsgGossip, 2, same, same, 1), rec(codec.RecState, 7),
				[]byte{idOf + 2, 0, same, plus1, 0, 64}, value, []byte{idOf + 2, 1, same, plus1, 0, 64}, value,
				[]byte{idOf + 2, 3, same, plus1, 0, 64}, value, []byte{idOf + 2, 4, same, plus1, 0, 64}, value,
				[]byte{idOf + 2, 5, same, plus1, 0, 2, 'o', 'k'},
				[]byte{idOf + 2, 2, same, 0, 0, 3, 'o', 'l', 'd'}, []byte{idOf + 2, 2, same, plus2, 1, 0},
				[]byte{opAdvance | 13, opAdvance | 15}),
			// Probes: a ping for node 2 and one for node 5 (not it), a
			// ping-req; then node 2's own probes fire and are answered:
			// an ack, a nack to its ping-req, an ack for the ping-req.
			cat([]byte{keyed, 2, opDatagram}, header(codec.MsgPing, 6, same, same, 2),
				rec(codec.RecPing, 2), []byte{0xff, 0, 0, 0, 5, idOf + 2, 0xff, 0, 0, 0, 6, idOf + 5},
				rec(codec.RecPingReq, 1), []byte{0xff, 0, 0, 0, 7, idOf + 7, addrOf + 7},
				[]byte{opAdvance | 13, opAdvance | 12, opReply, 0, 0, 0, 0, opReply, 1, 1, 0, 0, opReply, 2, 0, 0, 0,
					opAdvance | 10, opAdvance | 10}),
			// A flood of unknown members up to MaxMembers, a restart of this
			// node's ID, a suspicion of node 3 at a new generation; time
			// for the suspicion to run out and the tombstones to be
			// reaped; then this node leaves.
			cat([]byte{keyed, 4, opDatagram}, header(codec.MsgGossip, 1, same, same, 1), rec(codec.RecMember, 19),
				[]byte{0xf0, same, same, 0, 0xf0, 0, noWitness},
				[]byte{0xf1, same, same, 0, 0xf1, 0, noWitness, 0xf2, same, same, 0, 0xf2, 0, noWitness},
				[]byte{0xf3, same, same, 0, 0xf3, 0, noWitness, 0xf4, same, same, 0, 0xf4, 0, noWitness},
				[]byte{0xf5, same, same, 0, 0xf5, 0, noWitness, 0xf6, same, same, 0, 0xf6, 0, noWitness},
				[]byte{0xf7, same, same, 0, 0xf7, 0, noWitness, 0xf8, same, same, 0, 0xf8, 0, noWitness},
				[]byte{0xf9, same, same, 0, 0xf9, 0, noWitness, 0xfa, same, same, 0, 0xfa, 0, noWitness},
				[]byte{0xfb, same, same, 0, 0xfb, 0, noWitness, 0xfc, same, same, 0, 0xf0, 0, noWitness},
				[]byte{0xff, 0, 0, 0, 0, 0, 0, 0, 0x99, same, same, 0, 0xf1, 0, noWitness},
				[]byte{0xff, 0, 0, 0, 0, 0, 0, 0, 0x98, same, same, 0, 0xf1, 0, noWitness},
				[]byte{0xff, 0, 0, 0, 0, 0, 0, 0, 0x97, same, same, 0, 0xf1, 0, noWitness},
				[]byte{0xff, 0, 0, 0, 0, 0, 0, 0, 0x96, same, same, 0, 0xf1, 0, noWitness},
				member(4, plus1, same, codec.StateAlive, noWitness), member(3, plus2, plus1, codec.StateSuspect, idOf+1),
				[]byte{opAdvance | 15, opAdvance | 15, opAdvance | 15, opLeave, opAdvance | 9, opAdvance | 12}),
			// A compressed gossip is refused (only shard data may be
			// compressed); the same plain declares node 6 dead; node 6
			// keeps sending heartbeats and is told (a Verdict); node 6
			// is then declared dead at a higher incarnation, which its
			// tombstone must not keep from being reaped.
			cat([]byte{keyed, 7, opDatagram}, compressed(header(codec.MsgGossip, 1, same, same, 2)),
				rec(codec.RecMember, 2), member(6, same, same, codec.StateDead, idOf+1),
				member(5, same, plus1, codec.StateSuspect, idOf+1),
				rec(codec.RecState, 1), []byte{idOf + 1, 1, same, plus1, 0, 2, 'o', 'k'},
				[]byte{opDatagram}, header(codec.MsgGossip, 1, same, same, 2),
				rec(codec.RecMember, 2), member(6, same, same, codec.StateDead, idOf+1),
				member(5, same, plus1, codec.StateSuspect, idOf+1),
				rec(codec.RecState, 1), []byte{idOf + 1, 1, same, plus1, 0, 2, 'o', 'k'},
				[]byte{opDatagram}, header(codec.MsgHeartbeat, 6, same, same, 1), rec(codec.RecHeartbeat, 1), []byte{5, 0, liveCount},
				[]byte{opAdvance | 10, opDatagram}, header(codec.MsgGossip, 2, same, same, 1),
				rec(codec.RecMember, 1), member(6, same, plus2, codec.StateDead, idOf+2),
				[]byte{opAdvance | 15, opAdvance | 15, opAdvance | 13}),
			// Shard requests with fingerprints, from addresses that prove
			// themselves first (a Retry, then the request again with an
			// Echo). Node 3 asks node 0 for the shards of nodes 2, 4, 6
			// and 7: for node 2's it lists node 2's record and a record
			// node 0 lacks, for node 4's a newer version of node 4's
			// record, for node 6's exactly node 0's records (the answer is
			// empty), for node 7's none (the whole shard). Node 0 answers
			// each and asks node 3 back for the shards where node 3 holds
			// records it lacks, listing its own; node 3 sends one of them.
			// A second later node 5 asks for node 4's shard, listing what
			// node 0 listed (node 4's record before node 3's answer) and
			// node 4's record now.
			cat([]byte{keyed, 0, opDatagram}, header(codec.MsgShardRequest, 3, same, same, 1),
				rec(codec.RecShardRef, 1), []byte{idOf + 2, 1, sumZero},
				reply(0, 0, 7),
				rec(codec.RecShardRef, 1), []byte{idOf + 2, 1, sumZero},
				rec(codec.RecPrint, 2), []byte{printHeld, printRaw, 1, 2, 3, 4, 5, 6, 7, 8},
				rec(codec.RecShardRef, 1), []byte{idOf + 4, 1, sumZero},
				rec(codec.RecPrint, 1), []byte{printNewer},
				rec(codec.RecShardRef, 1), []byte{idOf + 6, 1, sumZero},
				rec(codec.RecPrint, 1), []byte{printHeld},
				rec(codec.RecShardRef, 1), []byte{idOf + 7, 1, sumZero},
				reply(0, 1<<1, 1), rec(codec.RecMember, 1), member(4, same, plus1, codec.StateAlive, noWitness),
				[]byte{opAdvance | 11, opDatagram}, header(codec.MsgShardRequest, 5, same, same, 1),
				rec(codec.RecShardRef, 1), []byte{idOf + 4, 1, sumZero},
				reply(0, 0, 2),
				rec(codec.RecShardRef, 1), []byte{idOf + 4, 1, sumZero},
				rec(codec.RecPrint, 2), []byte{printOwn, printHeld},
				[]byte{opAdvance | 11, opAdvance | 13}),
			// The node's authority on itself. Node 3 tells node 0 it holds
			// it Left at its generation: node 0 renews at once; node 4
			// claims node 0 at a later generation within 2 s: the renewal
			// waits, and runs at the first tick 2 s after the first; node
			// 5 suspects node 0 at the highest incarnation, which node 0
			// cannot exceed by refuting; node 6 tells it of a later
			// generation in a Verdict, MaxClockSkew ahead (plausible).
			cat([]byte{keyed, 0, opDatagram}, header(codec.MsgGossip, 3, same, same, 1),
				rec(codec.RecVerdict, 1), verdict(same, same, codec.StateLeft),
				[]byte{opAdvance | 8, opDatagram}, header(codec.MsgGossip, 4, same, same, 1),
				rec(codec.RecMember, 1), []byte{self, plus1, same, state(codec.StateAlive), addrOf + 0, 0, noWitness},
				[]byte{opAdvance | 11, opAdvance | 10, opAdvance | 9},
				[]byte{opDatagram}, header(codec.MsgGossip, 5, same, same, 1),
				rec(codec.RecMember, 1), []byte{self, same, maxInc, state(codec.StateSuspect), addrOf + 0, 0, idOf + 5},
				[]byte{opAdvance | 12, opDatagram}, header(codec.MsgGossip, 6, same, same, 1),
				rec(codec.RecVerdict, 1), verdict(skewAhead, same, codec.StateAlive),
				[]byte{opAdvance | 12, opAdvance | 12}),
			// State about the node itself: node 2 tells node 1 (which
			// wrote load and zone) its load at a higher version with
			// another value, which node 1 supersedes with its own value
			// above it; its zone as node 1 wrote it (no news); and a key
			// node 1 never wrote, which makes it renew.
			cat([]byte{keyed, 1, opDatagram}, header(codec.MsgGossip, 2, same, same, 1), rec(codec.RecState, 2),
				[]byte{self, keyLoad, same, plus2, 0, 4, 'f', 'a', 'k', 'e'},
				[]byte{self, 1, same, same, 0, 9}, []byte("eu-west-1"),
				[]byte{opAdvance | 10, opDatagram}, header(codec.MsgGossip, 2, same, same, 1), rec(codec.RecState, 1),
				[]byte{self, keySchema, same, same, 0, 1, 'x'},
				[]byte{opAdvance | 12}),
			// Admission: a stranger tells node 0 of three members it never
			// heard of; they wait apart and are pinged at their
			// addresses; two answer and enter the table; a member writing
			// from its own address introduces one more, which enters at
			// once; the third of the first waits out its time.
			cat([]byte{keyed, 0, opDatagram, byte(codec.MsgGossip), foreign + 0, foreign + 1, same, same, 1 << 1, 0},
				rec(codec.RecMember, 3),
				[]byte{foreign + 4, same, same, state(codec.StateAlive), foreign + 1, 0, noWitness},
				[]byte{foreign + 5, same, same, state(codec.StateAlive), foreign + 2, 0, noWitness},
				[]byte{foreign + 6, same, same, state(codec.StateAlive), foreign + 3, 0, noWitness},
				reply(0, 0, 0), reply(1, 0, 0),
				[]byte{opDatagram}, header(codec.MsgGossip, 3, same, same, 1), rec(codec.RecMember, 1),
				[]byte{foreign + 7, same, same, state(codec.StateAlive), foreign + 4, 0, noWitness},
				[]byte{opAdvance | 12, opAdvance | 12}),
			// Retries the node receives: node 5 joins through node 3,
			// which answers with a Retry naming a shard request (the node
			// sent none there: refused), then with a Retry for the join
			// with a token; the node sends its Join again with an Echo;
			// node 3 answers it.
			cat([]byte{keyed, 5, opJoin, 3}, reply(0, retryToken|retryOther, 0), reply(0, retryToken, 0),
				reply(0, 0, 1), rec(codec.RecDigest, 1), []byte{1, 3, liveCount, sumPlus1},
				[]byte{opAdvance | 11}),
			// Busy answers: node 5 joins through node 3, which answers
			// twice that it is busy (a Retry with a wait of 5 ms, each
			// taken), then with a token (followed: the Join goes again
			// with an Echo), then with a token again for that Join (a
			// second at-once Retry within 4 s: refused); a wait after
			// it is still taken.
			cat([]byte{keyed, 5, opJoin, 3}, reply(0, retryToken|retryWait|5, 0), reply(0, retryToken|retryWait|5, 0),
				reply(0, retryToken, 0), reply(0, retryToken, 0), reply(0, retryToken|retryWait|5, 0),
				[]byte{opAdvance | 11}),
			// A stranger asks node 0, in a padded ping-req, to probe node
			// 3; node 3's ack comes back and node 0 relays it to the
			// stranger, with a state update queued to piggyback.
			cat([]byte{keyed, 0, opSet, keyLoad, 4, 'h', 'o', 't', '!',
				opDatagram, byte(codec.MsgPingReq), foreign + 0, foreign + 0, same, same, 2 << 1, 0},
				rec(codec.RecPingReq, 1), []byte{0xff, 0, 0, 0, 9, idOf + 3, addrOf + 3},
				rec(codec.RecDigest, 3), []byte{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0},
				reply(0, 0, 0)),
			// Answers the node never asked for: a join reply, a sync
			// reply and a Retry from node 3; then a Sync with an Echo of
			// a token the node never issued; then a header at the highest
			// generation, and members at a generation MaxClockSkew ahead
			// (accepted) and past it (refused).
			cat([]byte{keyed, 0, opDatagram}, header(codec.MsgJoinReply, 3, same, same, 1),
				rec(codec.RecDigest, 1), []byte{0, 0, liveCount, sumPlus1},
				[]byte{opDatagram}, header(codec.MsgSyncReply, 3, same, same, 1),
				rec(codec.RecDigest, 1), []byte{0, 0, liveCount, sumPlus1},
				[]byte{opDatagram}, header(codec.MsgRetry, 3, same, same, 1),
				rec(codec.RecRetry, 1), []byte{byte(codec.MsgSync), 0, 0xff, 0, 0, 0, 0, 0, 0, 0x12, 0x34, 0, 0, 0, 70},
				[]byte{opDatagram}, header(codec.MsgSync, 3, same, same, 2),
				rec(codec.RecEcho, 1), []byte{0xff, 0, 0, 0, 0, 0xfe, 0xed, 0xfa, 0xce, 0, 0, 0, 70},
				rec(codec.RecDigest, 1), []byte{0, 0, liveCount, sumPlus1},
				[]byte{opDatagram, byte(codec.MsgGossip), addrOf + 2, idOf + 2, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
					same, 1 << 1, 0}, rec(codec.RecMember, 1), member(3, plus1, same, codec.StateAlive, noWitness),
				[]byte{opDatagram}, header(codec.MsgGossip, 2, same, same, 1), rec(codec.RecMember, 2),
				member(3, skewAhead, same, codec.StateAlive, noWitness),
				[]byte{idOf + 4, 0xff, 0, 0, 0x03, 0x46, 0x30, 0xb8, 0xa0, 0x02, same, state(codec.StateAlive), addrOf + 4, 0, noWitness},
				[]byte{opAdvance | 11}),
			// A Retry that comes too late: a stranger syncs with node 1
			// (after a Retry, with an Echo), and node 1 asks it for the
			// shards that differ; 4.6 s later the stranger sends a Retry
			// for that request, which node 1 no longer expects, then one
			// for a sync node 1 never sent there. (A reply to a stranger
			// names its sender: foreign+0 after the kind.)
			cat([]byte{keyed, 1, opDatagram, byte(codec.MsgSync), foreign + 0, foreign + 0, same, same, 1 << 1, 0},
				rec(codec.RecDigest, 1), []byte{0, 0, liveCount, sumPlus1},
				[]byte{opReply, 0, 0, foreign + 0, 1 << 1, 0}, rec(codec.RecDigest, 1), []byte{2, 2, liveCount, sumPlus1},
				[]byte{opAdvance | 13, opAdvance | 10},
				[]byte{opDatagram, byte(codec.MsgRetry), foreign + 0, foreign + 0, same, same, 1 << 1, 0},
				rec(codec.RecRetry, 1), []byte{byte(codec.MsgShardRequest), 0, 0xff, 0, 0, 0, 0, 0, 0, 0, 9, 0, 0, 0, 70},
				[]byte{opDatagram, byte(codec.MsgRetry), foreign + 0, foreign + 0, same, same, 1 << 1, 1},
				rec(codec.RecRetry, 1), []byte{byte(codec.MsgSync), 0, 0xff, 0, 0, 0, 0, 0, 0, 0, 9, 0, 0, 0, 70}),
			// Revivals: node 1 suspects nodes 5, 6 and 7, then declares
			// them dead; a stranger says they are alive again, at foreign
			// addresses, which the node pings before it believes it;
			// time passes without an answer.
			cat([]byte{keyed, 0, opDatagram}, header(codec.MsgGossip, 1, same, same, 1), rec(codec.RecMember, 3),
				member(5, same, same, codec.StateSuspect, idOf+1), member(6, same, same, codec.StateSuspect, idOf+1),
				member(7, same, same, codec.StateSuspect, idOf+1),
				[]byte{opDatagram, byte(codec.MsgGossip), addrOf + 1, idOf + 1, same, same, 1 << 1, 5}, rec(codec.RecMember, 3),
				member(5, same, same, codec.StateDead, idOf+1), member(6, same, same, codec.StateDead, idOf+1),
				member(7, same, same, codec.StateDead, idOf+1),
				[]byte{opDatagram, byte(codec.MsgGossip), foreign + 3, foreign + 3, same, same, 1 << 1, 6}, rec(codec.RecMember, 3),
				[]byte{idOf + 5, same, plus1, state(codec.StateAlive), foreign + 0, 0, noWitness},
				[]byte{idOf + 6, same, plus1, state(codec.StateAlive), foreign + 1, 0, noWitness},
				[]byte{idOf + 7, same, plus1, state(codec.StateAlive), foreign + 2, 0, noWitness},
				[]byte{opAdvance | 12, opAdvance | 12}),
			// User messages: node 3 relays a broadcast of node 2's to node
			// 0, and node 4 relays it again (a duplicate); node 4 sends
			// node 0 a message of its own, then two in one datagram (the
			// second refused) and one from a foreign address; node 5
			// sends one written by node 4 (refused); a stranger relays a
			// broadcast; node 0 broadcasts, sends to node 6 (pinged first;
			// the ack lets the message go at the next tick), to itself and
			// to a stranger (refused calls); time passes for gossip to
			// carry the broadcast; a broadcast too large is refused.
			cat([]byte{keyed, 0, opDatagram}, seqd(header(codec.MsgGossip, 3, same, same, 1), 1),
				rec(codec.RecUser, 1), userMsg(false, idOf+2, 0, 1), []byte("hello!"),
				[]byte{opDatagram}, seqd(header(codec.MsgHeartbeat, 4, same, same, 2), 1),
				rec(codec.RecHeartbeat, 1), []byte{5, 0, liveCount},
				rec(codec.RecUser, 1), userMsg(false, idOf+2, 0, 1), []byte("hello!"),
				[]byte{opDatagram}, seqd(header(codec.MsgUser, 4, same, same, 1), 2),
				rec(codec.RecUser, 1), userMsg(true, idOf+4, 1, 1), []byte("direct"),
				[]byte{opDatagram}, seqd(header(codec.MsgUser, 4, same, same, 2), 3),
				rec(codec.RecUser, 1), userMsg(true, idOf+4, 2, 0),
				rec(codec.RecUser, 1), userMsg(true, idOf+4, 3, 0),
				[]byte{opDatagram, byte(codec.MsgUser), foreign + 1, idOf + 4, same, same, 1 << 1, 4},
				rec(codec.RecUser, 1), userMsg(true, idOf+4, 4, 0),
				[]byte{opDatagram}, seqd(header(codec.MsgUser, 5, same, same, 1), 1),
				rec(codec.RecUser, 1), userMsg(true, idOf+4, 5, 0),
				[]byte{opDatagram, byte(codec.MsgGossip), foreign + 2, foreign + 2, same, same, 1 << 1, 1},
				rec(codec.RecUser, 1), userMsg(false, idOf+1, 0, 0),
				[]byte{opBroadcast, 2}, bytes.Repeat([]byte{'b'}, 12),
				[]byte{opSend, idOf + 6, 1}, []byte("to six"), reply(0, 0, 0),
				[]byte{opSend, self, 0, opSend, foreign + 3, 0},
				[]byte{opAdvance | 10, opAdvance | 10, opAdvance | 12},
				[]byte{opBroadcast, 0xfe}), // past MaxMessageSize: refused (its payload takes the rest of the program)
		)
	}
	// Receiver binding, in a cluster with keys (options bits 5-6 choose
	// whom a datagram is sealed for). Node 3 suspects node 6 in a gossip
	// sealed for node 1 (the node after node 0), then in one sealed for
	// itself, then in one sealed for no one: none opens (DropAuth). A
	// stranger's Join sealed for no one, as to a seed: one Retry. A
	// stranger syncs, bound, and gets a Retry; it sends the sync again
	// echoing the token but sealed for no one: the Echo does not count
	// (another Retry); then bound, with the Echo: served.
	suspect6 := cat(rec(codec.RecMember, 1), member(6, same, same, codec.StateSuspect, idOf+3))
	sealedAs := func(h []byte, seal byte, seq byte) []byte { h[5] |= seal; h[6] = seq; return h }
	progs = append(progs, cat([]byte{1, 0},
		[]byte{opDatagram}, sealedAs(header(codec.MsgGossip, 3, same, same, 1), optSealOther, 1), suspect6,
		[]byte{opDatagram}, sealedAs(header(codec.MsgGossip, 3, same, same, 1), optSealSender, 2), suspect6,
		[]byte{opDatagram}, sealedAs(header(codec.MsgGossip, 3, same, same, 1), optSealUnbound, 3), suspect6,
		[]byte{opDatagram, byte(codec.MsgJoin), foreign + 0, foreign + 3, same, same, 1<<1 | optSealUnbound, 1},
		rec(codec.RecMember, 1), []byte{foreign + 3, same, same, state(codec.StateAlive), foreign + 0, 0, noWitness},
		[]byte{opDatagram, byte(codec.MsgSync), foreign + 1, foreign + 5, same, same, 1 << 1, 1},
		rec(codec.RecDigest, 1), []byte{0, 0, liveCount, sumPlus1},
		[]byte{opReply, 0, 0, foreign + 5, 1<<1 | optSealUnbound, 2}, rec(codec.RecDigest, 1), []byte{0, 0, liveCount, sumPlus1},
		[]byte{opReply, 0, 0, foreign + 5, 1 << 1, 3}, rec(codec.RecDigest, 1), []byte{0, 0, liveCount, sumPlus1},
		[]byte{opAdvance | 10}))
	return progs
}

// TestPrintReference checks printOf, the harness's reference for the
// fingerprints the engine gives records, against those a node lists in its
// own shard requests: after a sync whose shard digests differ, node 1 asks
// for the shards of nodes 2 (which has application state), 5 and 6,
// listing every record it holds in each.
func TestPrintReference(t *testing.T) {
	prog := []byte{0, 1,
		// A sync from node 2 whose root differs: node 2's address has not
		// proven itself, so node 1 answers with a Retry and a token.
		0x00, byte(codec.MsgSync), 2, 2, 1, 1, 1 << 1, 0, sectionType(codec.RecDigest), 0xff, 1, 0, 0, 0xfe, 3,
		// The sync again, with an Echo of the token (the reply to a
		// Retry), now with the shards of nodes 2, 5 and 6 differing:
		// level 2, shard of node k, live count, root + 1. Node 1 asks
		// node 2 for them.
		0x60, 0, 0, 1 << 1, 0, sectionType(codec.RecDigest), 0xff, 3, 2, 2, 0xfe, 3, 2, 5, 0xfe, 3, 2, 6, 0xfe, 3,
	}
	s, err := execProgram(prog)
	if err != nil {
		t.Fatal(err)
	}
	if len(s.outs) == 0 || s.outs[0].typ != codec.MsgRetry || s.outs[0].to != worldAddrs[2] {
		t.Fatalf("node 1 did not answer the first sync with a Retry: %+v", s.outs)
	}
	want := map[uint32][]uint64{}
	for _, m := range s.t.core.Members(nil) {
		want[shardOf(m.ID)] = append(want[shardOf(m.ID)], printOf(s.t.core, m))
	}
	got := map[uint32][]uint64{}
	for _, p := range s.prints {
		got[p.shard] = append(got[p.shard], p.sum)
	}
	if len(got) != 3 {
		t.Fatalf("node 1 listed fingerprints for %d shards, want 3: %x", len(got), got)
	}
	for shard, sums := range got {
		slices.Sort(sums)
		w := slices.Sorted(slices.Values(want[shard]))
		if !slices.Equal(sums, w) {
			t.Errorf("shard %d: node 1 listed %x, printOf gives %x", shard, sums, w)
		}
	}
}
