// Package engine is Hearsay's protocol: which nodes are alive, what each one
// publishes, and how that knowledge spreads, as a deterministic state
// machine ([Core]) with a runtime that binds it to a real clock and UDP
// ([Node]). Package engine/sim drives the same Core in a simulator.
//
// # Using it
//
// Services import the root package, github.com/hearsay-io/hearsay: its
// Node wraps this package's [Node] and its types are aliases of this
// package's ([Config], [Member], [Event], [Subscription]), documented here
// in full. This package adds what only harnesses need: the [Core] itself,
// [NewNodeWith] with a transport, a shared [ShardPool] or an event hook,
// and [Node.AddMembers] and [Node.AdoptView] to start a cluster converged.
//
// # The protocol
//
// Members are identified by an [ID] that survives restarts and a generation
// that rises at each restart; an incarnation, raised only by the member
// itself, refutes suspicions. A record with a higher (generation,
// incarnation) wins; at equal versions dead beats suspect beats alive, and
// left is final. Wall clocks are never compared.
//
// Failure detection: every heartbeat interval each node sends a heartbeat to
// its K observers, its successors on the monitoring ring of package ring.
// Each observer feeds arrivals to a phi accrual detector (package detector);
// when phi crosses the threshold it pings the subject, then asks
// IndirectProbes random members to ping it (SWIM's ping-req), and accuses
// it only if a helper reports that it could not reach it either. The
// suspicion spreads with the accuser as witness; the suspect refutes by
// raising its incarnation. Each node runs a Lifeguard suspicion timer that
// shrinks from Suspicion.Max to Suspicion.Min as independent witnesses
// confirm; a node that only heard of a suspicion pings the suspect once
// before its timer declares death. A node's own missed acks raise its local
// health score, which stretches its timeouts and decays once the misses
// stop; a node suspected too often (MaxRefutations) while it misses half
// of its subjects' heartbeats stops refuting, and a node declared dead
// comes back only once nearly all of RejoinProbes pings to random members
// are answered, so a bad link removes it once instead of making it flap.
//
// Dissemination: every datagram piggybacks pending updates, least-sent
// first, each sent about RetransmitMult·log₂(N+1) times, and every
// GossipInterval a node with pending updates pushes them to GossipFanout
// random members. There is no limit on update count or size beyond the
// configured bounds; a full queue drops the most-sent updates, which
// anti-entropy repairs.
//
// Anti-entropy: the membership table is split into 2^ShardBits shards by
// ring position, each with an order-independent xxhash digest kept up to
// date on every change. Every SyncInterval·max(1, log₁₀N) a node compares
// its root digest with a random member; on a difference they walk a 16-ary
// digest tree down to the differing shards. A request for a shard lists the
// fingerprints of the requester's records in it, and the answer carries
// only the records it does not list, compressed when large; the answering
// side asks back for what only the requester holds. Join uses the same
// exchange, and nodes re-contact seeds and a few
// members they believe dead so that partitions heal on their own.
//
// # Concurrency and allocation
//
// A Core is not safe for concurrent use and does no I/O, reads no clock and
// starts no goroutine: its driver calls [Core.Tick] at [Core.Deadline],
// [Core.Receive] for each datagram and the user calls, then sends what
// [Core.Outbox] holds. Handling a datagram and a tick in steady state
// allocates nothing (TestNoAllocs in engine/sim). [Node] is safe for
// concurrent use; its reads are lock-free.
//
// # Bounds
//
// Every resource a remote peer can make a node spend is bounded by
// configuration: members (MaxMembers), application state per member
// (MaxStateKeys, MaxStateBytes), pending updates (MaxPendingUpdates), shard
// transfers and relays (MaxTransfers), decompressed datagram size (64 KiB).
// Input beyond a bound is refused and counted in [Stats].
package engine
