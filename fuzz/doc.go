// Package fuzz holds Hearsay's engine-level fuzz targets and replay tests:
// hostile input for the whole protocol, where codec/fuzz_test.go covers the
// decoders alone. Everything is in _test.go files; the package itself is
// empty.
//
// # Targets
//
// Each target plays one node of a small world (8 nodes with the
// simulator's identities for seed 9, engine/sim.ID and sim.Addr) that
// starts with a converged view: every member alive at generation 1 at its
// address, nodes 1 and 2 with some application state (each written by its
// owner: a node is the authority on its own state), and no address
// validated yet. It feeds that node a sequence of datagrams, interleaved
// with time steps during which the node's timers run, and checks
// invariants after every datagram, every tick and every user call. A
// datagram from a world node's address with that node as sender comes from
// a trusted member; one from a foreign address (or naming another sender)
// does not, which is how the targets reach admission and address
// validation.
//
//   - FuzzCoreReceive: raw datagrams in an open (unsealed) cluster. The
//     input is a node byte, then frames of a control byte (source address;
//     time step before delivery, 1 ms to 16 s), a 2-byte length and the
//     datagram; two length bits ask the harness to seal the datagram
//     first: for the node, for no one or for another member.
//     Seeds: captured traffic and hand-written hostile datagrams, among
//     them one per rule of the validated protocol (compressed gossip,
//     unsolicited shard data, sync and join replies and Retries,
//     implausible headers, Verdicts and claims that force a renewal, joins
//     and shard requests from unvalidated addresses, a forged Echo,
//     strangers' members, a padded ping-req from a stranger).
//   - FuzzCoreReceiveSealed: the same in a cluster with keys (the node
//     seals with one key and accepts another, which sealed the captured
//     seeds, each for the member it went to, as codec.SealFor binds a
//     sealed datagram to its receiver). Mutated sealed datagrams must fail
//     to open, be dropped as truncated, unknown-key or auth, and change
//     nothing; so must a datagram sealed for another member (captured
//     windows redirected to the next node, a Verdict sealed for another
//     member) or for no one unless it is a Join or Sync; a Join or Sync
//     sealed for no one (the first contact with a seed) is answered as
//     from an address that has not proven itself, whatever Echo it
//     carries; a datagram seen before from the same sender is a replay
//     (the rule seeds send each twice); frames the harness seals for the
//     node reach the protocol as an insider's would.
//   - FuzzCoreSequence: a program whose every instruction builds something
//     well formed with the codec Builder, so mutations exercise the merge
//     logic rather than the decoder: member records with chosen states,
//     incarnations and generations (mostly relative to the node's current
//     view; claims about the node itself that force a renewal), state
//     entries, Verdicts, heartbeats, pings, ping-reqs, acks and nacks
//     echoing the node's own (random) probe sequence numbers, digests and
//     the shard data the node asked for, shard requests whose fingerprints
//     match the node's records or not, join replies, Retry and Echo
//     handshakes both ways (the node's Retry answered by the request again
//     with an Echo of its token; the node's requests answered by a Retry),
//     compressed datagrams, user messages (broadcasts piggybacked on any
//     datagram, messages for the node alone in MsgUser datagrams, with
//     chosen origins, generations and sequence numbers, duplicates and
//     payloads up to past the size limit), time steps, and the user calls
//     SetState, DeleteState, Join, Broadcast, Send and Leave. The world
//     sets no Admit hook and no AllowedPrefixes (engine/sim tests them). A
//     flag bit runs the program in a cluster
//     with keys, where option bits choose whom each datagram is sealed
//     for (the node, no one, another member, its sender). The language is
//     documented on runProgram.
//
// # Invariants
//
// The checker (invariants_test.go, with accounting_test.go,
// reading_test.go, peers_test.go, self_test.go and budget_test.go) watches
// the node through its public API only: Members, Member, State, Stats,
// Incarnation, Generation, Digest, Deadline, its events and its outbox.
// After every step:
//
//   - no panic; every datagram is counted in DatagramsIn; a datagram that
//     an independent reading of the wire format and of the node's gate
//     refuses moves exactly one drop counter, the cause's, and changes
//     nothing else: no member, incarnation, generation, event, counter or
//     reply. The gate, in order: header, cluster (DropCluster),
//     compression only on shard data (DropCompressed) the node asked the
//     source for (DropUnsolicited), sealing (DropSealed, DropUnsealed,
//     DropUnknownKey, DropAuth: a sealed datagram opens for the node's own
//     ID, or, a Join or Sync only, for no one), decompression, a known type
//     (DropUnknownType), not the node's own ID (DropSelf), a plausible
//     incarnation (below 2^32-1) and generation (below 2^64-1 and at most
//     MaxClockSkew ahead of the node's, which stands in for the world's
//     missing wall clock: RefusedImplausible), in a sealed cluster a
//     sequence number new in the sender's replay window (DropReplay) and
//     not implausibly far above it (RefusedImplausible; a generation the
//     node does not hold yet has a window of its own), then well-formed
//     sections. An accepted datagram is counted by type; shard
//     data, a sync or join reply or a Retry that answers no request of the
//     node's (one it sent to that address, of that type for a Retry,
//     within 4 s; shard data for an open shard request) is counted once in
//     DropUnsolicited, and a second at-once Retry (no wait) for the same
//     request type within 4 s too (a Retry with a wait is always taken);
//   - address validation: the bytes the node queues to a datagram's
//     source while handling it are at most the datagram's size (both as on
//     the wire) unless the datagram carried a valid Echo of a token the
//     node issued to that address (in its Retry, this token epoch or the
//     last), and was sealed for the node, not for no one, or the node
//     sent a request there within 4 s; so are the bytes
//     it queues to addresses that are no member's recorded address (the
//     source included when not validated, and leaving out addresses it
//     sent a request to within 4 s). A Join or ShardRequest from an address
//     that did not prove itself is answered by one Retry with a token and
//     nothing that serves it; a Retry the node follows for a sync makes it
//     send the sync again with an Echo of the token; a token for an
//     address and epoch never changes;
//   - admission: a member the table did not hold enters it only from a
//     trusted source (a live member writing from its recorded address, an
//     answer to a request of the node's, a joiner whose address proved
//     itself) or by answering an admission ping (Stats.Admitted);
//   - for every member, (generation, incarnation, state precedence) never
//     goes back, Left is final within a generation, and the
//     application-state version never goes back within a generation;
//   - a live member never vanishes; a tombstone is reaped no earlier than
//     TombstoneRetention after it died, and by the first tick after that;
//   - the node is the authority on itself: its own record is always alive
//     (left once it leaves) at its current generation and incarnation; its
//     generation never decreases, and rises only by a renewal in answer to
//     a claim that needs one (a member record or Verdict about it at a
//     later generation, Left at its generation, an incarnation it cannot
//     exceed, state at its generation under a key it never wrote), at most
//     once per 2 × HeartbeatInterval: at once, or, within that gap of the
//     last renewal, by the first tick past it; the new generation is above
//     every claim's. A record accusing it at its generation is answered at
//     once by a higher incarnation, or by the rejoin check when it says
//     dead (or withheld under MaxRefutations); a state entry contradicting
//     a key it wrote (a higher version, or its version with another value)
//     is answered at once by its true value at a higher version;
//   - bounded memory: members at most MaxMembers, pending updates at most
//     MaxPendingUpdates, and for every state key seen at most MaxStateKeys
//     live keys and MaxStateBytes per member (the world's bounds are small,
//     so inputs reach them);
//   - every datagram the node emits fits MaxDatagramSize, is sealed exactly
//     when the cluster has keys, and then for a member the node has seen
//     at the destination (in its table, as the sender of a datagram from
//     there, or named there by a member record or ping-req) or, a Join or
//     Sync only, for no one; an answer to a datagram's source while the
//     node handles it (an ack to its ping, a Retry, a sync or join reply,
//     shard data) is sealed for the datagram's sender; it opens,
//     decompresses and parses, and has a header naming the node at its
//     generation (or, in the step that renewed, the one it left);
//   - after Tick(now), Deadline is after now: a driver that ticks at the
//     deadline never spins.
//
// Where the checker cannot see the node's state (an answer the reply
// budget refused may still have noted a request; a shard request may close
// before its deadline), its model answers "maybe" and the invariant accepts
// either outcome; the counters then settle what the node did. A token
// the node did not issue in the run may still be one it would issue (a
// keyed hash of address and epoch, keyed from the node's seed): the
// checker asks a twin of the node (tokenOracle).
//
// # Running
//
// go test runs every target over its seeds (testdata/fuzz/<Target>/ and
// the f.Add seeds) and the replay tests, in about a second. To fuzz one
// target (the Makefile's fuzz target and scripts/fuzz.sh run each for
// FUZZTIME):
//
//	go test ./fuzz -run '^$' -fuzz FuzzCoreReceive -fuzztime 10m -parallel 1
//	go test ./fuzz -run '^$' -fuzz FuzzCoreReceiveSealed -fuzztime 10m -parallel 1
//	go test ./fuzz -run '^$' -fuzz FuzzCoreSequence -fuzztime 10m -parallel 1
//
// A typical input runs in 20 to 500 µs. Go minimises every new interesting
// input for up to -fuzzminimizetime (60 s by default), during which the
// exec counter stands still; -fuzzminimizetime 10s spends more of a short
// run fuzzing. A watchdog crashes an input that runs for 10 s, so that a
// hang is recorded like a crash.
//
// # Corpus
//
// The capture-* seeds are real traffic: TestCaptureCorpus runs the world
// as a cluster on the in-memory network (cluster_test.go: the simulator's
// loop with a tap on every delivery) through the world's state changes, a
// crash, a restart and join at a new generation, a partition that gets a
// node declared dead and its rejoin, and a leave. Its nodes start with
// converged tables but no validated address, so the capture holds the
// Retry and Echo handshakes, and Verdicts; the test fails unless every
// message type and every record type was delivered. It keeps, for every
// kind of datagram it saw (message type, record kinds, member states,
// records about the receiver, Verdict states, the request a Retry names),
// the first one with the datagrams the same node received around it, as a
// raw input and as a program; the sealed corpus also holds a few windows
// delivered to the next node (capture-redirected-*), which they were not
// sealed for. To regenerate:
//
//	go test ./fuzz -run TestCaptureCorpus -args -capture
//
// The sealed corpus differs at every capture (nonces are random). The
// regression-* seeds are inputs that once failed (findings/README.md).
//
// # Replays
//
// replay_test.go captures a cluster's traffic through a restart at a new
// generation, a crash, a refutation, state updates and a leave, then
// injects every captured datagram again, in order and in reverse, into
// every node, open and sealed: member views, incarnations, generations and
// application state must not change, and no live node may be suspected;
// sealed, every datagram redirected to a node it was not sealed for counts
// once in DropAuth. In an open cluster a datagram carrying a Verdict goes
// back only to the node it was sent to: a Verdict names no subject, so
// redirected it is a forged claim about its new receiver, which the node
// answers as it must (finding 7, closed).
//
// # Findings
//
// findings/ holds the inputs of engine bugs the targets found, described
// in findings/README.md; each fails until its bug is fixed, then belongs in
// testdata/fuzz/<Target>/ as a regression input. The checker exempts each
// known symptom, as narrowly as it can, so that fuzzing goes on (see
// findings_test.go); -strict or -findings exempts nothing. The
// regression-checker-* seeds are inputs on which the checker itself was
// wrong (its model of the node, not the node):
//
//	go test ./fuzz -run 'TestFindings|TestReplay' -args -findings
//	go test ./fuzz -run TestTraceInput -v -args -input findings/FuzzCoreReceive/join-reply-counted-twice
package fuzz
