// Package fuzz holds Hearsay's engine-level fuzz targets and replay tests:
// hostile input for the whole protocol, where codec/fuzz_test.go covers the
// decoders alone. Everything is in _test.go files; the package itself is
// empty.
//
// # Targets
//
// Each target plays one node of a small world (8 nodes with the
// simulator's identities for seed 9, engine/sim.ID and sim.Addr) that
// starts with a converged view: every member alive at generation 1, and
// some application state. It feeds that node a sequence of datagrams,
// interleaved with time steps during which the node's timers run, and
// checks invariants after every datagram and every tick.
//
//   - FuzzCoreReceive: raw datagrams in an open (unsealed) cluster. The
//     input is a node byte, then frames of a control byte (source address;
//     time step before delivery, 1 ms to 16 s), a 2-byte length and the
//     datagram; a length bit asks the harness to seal the datagram first.
//     Seeds: captured traffic and hand-written hostile datagrams.
//   - FuzzCoreReceiveSealed: the same in a cluster with keys (the node
//     seals with one key and accepts another, which sealed the captured
//     seeds). Mutated sealed datagrams must fail to open, be dropped as
//     truncated, unknown-key or auth, and change nothing; frames the
//     harness seals reach the protocol as an insider's would.
//   - FuzzCoreSequence: a program whose every instruction builds something
//     well formed with the codec Builder, so mutations exercise the merge
//     logic rather than the decoder: member records with chosen states,
//     incarnations and generations (mostly relative to the node's current
//     view), state entries, heartbeats, pings, ping-reqs, acks and nacks
//     answering the node's own probes, digests and the shard data the node
//     asked for, shard requests whose fingerprints match the node's records
//     or not, join replies, compressed datagrams, time steps, and the
//     user calls SetState, DeleteState, Join and Leave. A flag bit runs
//     the program in a cluster with keys. The language is documented on
//     runProgram.
//
// # Invariants
//
// The checker (invariants_test.go) watches the node through its public API
// only: Members, Member, State, Stats, Incarnation, Generation, Digest,
// Deadline, its events and its outbox. After every step:
//
//   - no panic; every datagram is counted in DatagramsIn; a datagram that
//     an independent reading of the wire format rejects (header, cluster,
//     sealing, decompression, sections, records, sender) moves exactly one
//     drop counter and changes nothing else: no member, incarnation,
//     event, counter or reply; an accepted one is counted by type;
//   - for every member, (generation, incarnation, state precedence) never
//     goes back, Left is final within a generation, and the
//     application-state version never goes back within a generation;
//   - a live member never vanishes; a tombstone is reaped no earlier than
//     TombstoneRetention after it died, and by the first tick after that;
//   - the node's own record stays alive, at its generation and current
//     incarnation; a record accusing it at its generation is answered at
//     once by a higher incarnation, or by the rejoin check when it says
//     dead or left (or withheld under MaxRefutations);
//   - bounded memory: members at most MaxMembers, pending updates at most
//     MaxPendingUpdates, and for every state key seen at most MaxStateKeys
//     live keys and MaxStateBytes per member (the world's bounds are small,
//     so inputs reach them);
//   - every datagram the node emits fits MaxDatagramSize, is sealed exactly
//     when the cluster has keys, opens, decompresses and parses, and has a
//     header naming the node at its generation;
//   - after Tick(now), Deadline is after now: a driver that ticks at the
//     deadline never spins.
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
// loop with a tap on every delivery) through state changes, a crash, a
// restart and join at a new generation, a partition that gets a node
// declared dead and its rejoin, and a leave; it keeps, for every kind of
// datagram it saw (message type, record kinds, member states, records
// about the receiver), the first one with the datagrams the same node
// received around it, as a raw input and as a program. To regenerate:
//
//	go test ./fuzz -run TestCaptureCorpus -args -capture
//
// The sealed corpus differs at every capture (nonces are random).
//
// # Replays
//
// replay_test.go captures a cluster's traffic through a restart at a new
// generation, a crash, a refutation, state updates and a leave, then
// injects every captured datagram again, in order and in reverse, into
// every node, open and sealed: member views, incarnations, generations and
// application state must not change, and no live node may be suspected.
//
// # Findings
//
// findings/ holds the inputs of engine bugs the targets found, described
// in findings/README.md; each fails until its bug is fixed, then belongs in
// testdata/fuzz/<Target>/ as a regression input. The checker exempts each
// known symptom so that fuzzing goes on (see findings_test.go); -strict
// exempts nothing:
//
//	go test ./fuzz -run 'TestFindings|TestReplay' -args -findings
//	go test ./fuzz -run TestTraceInput -v -args -input findings/FuzzCoreReceive/rejoin-deadline-in-past
package fuzz
