// Package adversary attacks real hearsayd processes over loopback, as an
// attacker on the network would, and checks the trust model of
// ARCHITECTURE.md ("Trust model: every field may be forged, maximal or
// replayed") with measured numbers. The engine's in-process attack tests
// (engine/flood_attacker_test.go, engine/sim/hostile_test.go) drive the
// core directly; this suite goes through the whole agent instead: flags,
// sockets, the runtime, the HTTP view. The package holds only tests.
//
// # Running
//
// The suite is off by default, so that go test ./... stays fast: every
// test skips, saying how to turn it on. HEARSAY_ADVERSARY picks the mode:
//
//	HEARSAY_ADVERSARY=short go test -count=1 -v -timeout 10m ./test/adversary/
//	HEARSAY_ADVERSARY=long  go test -count=1 -v -timeout 30m ./test/adversary/
//
// short is the CI mode (about two minutes on two cores): every attack
// runs, floods are 100,000 datagrams and the crash under a fake-member
// flood is timed once per cluster kind. long (about five minutes) sends
// the 1,000,000-datagram flood and times the crash five times per kind,
// for its median and maximum. Any other value of HEARSAY_ADVERSARY fails
// the tests; go test -short skips them whatever the variable says. Select
// attacks with -run or -skip (TestReflection, TestPoisoning, TestReplay,
// TestWindowForgery, TestFakeMemberFlood, TestHostileFlood, and
// TestProcessStalls, which freezes nodes with SIGSTOP: a fault, not an
// attack, that only real processes show).
//
// The tests build cmd/hearsayd once, with the go command that runs them,
// into a temporary directory; GOFLAGS (for example
// GOFLAGS=-overlay=/path/overlay.json) reaches that build as it reaches
// the test's own.
//
// Some parts need raw sockets (root, or CAP_NET_RAW): datagrams with a
// forged source address (reflection towards a spoofed victim, replays in
// the original sender's name) and capturing the cluster's own traffic off
// loopback to replay it. Without root they skip with a message and the
// rest runs; the replay test then captures what the cluster sends to an
// insider that joined it. As root, a raw socket that cannot be opened
// fails the test: a run that was asked for does not pass in silence.
//
// # What it builds
//
// Each test starts its own clusters: ten hearsayd processes on 127.0.0.1,
// on UDP ports picked free just before, preset local (250 ms heartbeats:
// fast, and steady on a shared two-core machine in these runs), seeds nodes 0
// to 2, each node with -state role=cache and an ID file, HTTP on a unix
// socket in the temporary directory (no TCP port to pick). A cluster is
// open (-open) or sealed (-key-file, a random AES-256 key); against a
// sealed cluster the attacker is an insider that holds the key and seals
// what it sends for the node it sends it to (codec.SealFor with the node's
// member ID, which its /members lists as self: a sealed datagram is bound
// to its receiver), unless a test says otherwise. Startup waits, bounded,
// until every node's /members lists every node alive. Every
// process is killed and every file removed in t.Cleanup, also on
// failure; the processes carry a parent-death signal, so they die with a
// killed test binary too.
//
// # Attacks and what must hold
//
//   - TestReflection: from the attacker's own UDP sockets, whose addresses
//     never prove themselves, every message type (heartbeat, ping, ack,
//     ping-req, nack, gossip, sync with differing digests, a compressed
//     one and one naming 4,095 digests, shard-request with duplicated
//     refs, shard-data, join without records, join-reply, leave, retry)
//     to every node; what comes back to each socket in the following
//     seconds over what it sent is the reflection factor, which must be at
//     most 1 for every type, open and sealed. Gossip naming members at a
//     third party's address is measured as the bytes that reach the third
//     party. As root, the same datagrams with a forged source address
//     (127.0.0.77, where the test listens): factor at most 1 there too.
//   - TestPoisoning: one forged datagram (four for the junk keys) about a
//     victim, to three other nodes: Left at its generation, Dead and
//     Suspect at incarnations 2^32-1 and 2^32-2, Left at generation 2^64-1
//     and 30 minutes ahead, state at versions 2^64-1 and 2^64-2 and one
//     version up, 32 junk keys. Every node must hold the victim alive at
//     the generation and incarnation the victim holds itself at, with
//     exactly its true state (role=cache), within 10 s.
//   - TestReplay (sealed): datagrams of the cluster, captured (between
//     nodes off loopback as root; in any case by an insider that joined
//     with the key, opening what it is sent as sealed for its own ID),
//     sent again: to the node they were for (from the attacker's socket
//     and, as root, in the original sender's name), at once and 3 s later,
//     and redirected to the nodes they were not for, twice (the insider's
//     three times). Every copy sent to its node must be dropped as a
//     replay (hearsay_drops_total{cause="replay"}), every redirected copy
//     as failing authentication (hearsay_drops_total{cause="auth"}): none
//     taken as new, none answered. A Join or Sync a node sealed for no one
//     (its first contact with a seed) opens anywhere: redirected, those go
//     in a step of their own, whose answers must stay within what was
//     sent.
//   - TestWindowForgery (sealed): an insider sends every other node one
//     datagram in a member's name whose header moves the receivers'
//     replay window for the member ahead (sequence 2^32-2, or the next
//     generation). The member must overcome it as any claim about itself:
//     every node must hold it alive at its own generation and
//     incarnation within 10 s, and keep doing so for 4 s.
//   - TestFakeMemberFlood: 100,000 fake alive members (random IDs,
//     addresses on 127.66/16 where nothing listens) over about 6 s, with a
//     real node killed (SIGKILL) during it: every other node must list it
//     dead within 8 s, and no fake may enter a table.
//   - TestHostileFlood: 100,000 (long: 1,000,000) hostile datagrams of
//     mixed kinds (random bytes, truncations, garbage records, forged
//     members, state and requests, compression bombs, and against a sealed
//     cluster unsealed and wrongly keyed ones): every table must stay at
//     most the real members, every process's peak resident memory
//     (VmHWM) within 200 MB, and no real node may be declared dead.
//
// Every figure is printed in a table with t.Logf; run with -v to see them.
package adversary
