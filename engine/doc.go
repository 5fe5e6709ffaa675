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
// raising its incarnation; its refutation also says how slow its own round
// trips are, so that nodes that never measured them wait that long for its
// answers. Each node runs a Lifeguard suspicion timer that
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
// first, each sent about RetransmitMult·log₂(N+1) times (more when the
// node sees loss on all its links, as uniform loss does), and every
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
// side asks back for what only the requester holds. A node that holds a
// suspicion it only heard of past the time its death or refutation should
// have reached it (Suspicion.Min and half a rumour's retransmits) starts
// an exchange at once, at most one a HeartbeatInterval, rather than wait
// for the periodic one. Join uses the same exchange, and nodes re-contact
// seeds and a few members they believe dead so that partitions heal on
// their own.
//
// User messages: [Node.Broadcast] spreads a payload of up to
// [Config.MaxMessageSize] bytes (1,296 by default) to every member by the
// same piggybacking and gossip, behind the membership updates, each member
// relaying it RetransmitMult·log₂(N+1) times and delivering it once;
// [Node.Send] sends one to one member, sealed for it, only to an address
// that answered this node's ping. Both arrive as [EventMessage]. Neither
// is acknowledged or repaired by anti-entropy: Core.Broadcast gives the
// fraction of members a broadcast reaches.
//
// [Config.Name] gives a node a human-readable name, carried in its
// application state under [NameKey] (keys beginning with
// [ReservedKeyPrefix] are Hearsay's own) and shown as [Member.Name].
//
// # Admission
//
// [Config.Admit] lets the application refuse members by ID, address, name
// or application state. It is asked, on the node's goroutine, before the
// node takes in a member it does not hold (a joiner, a member learned by
// gossip or from a peer's table, one held until it answers its ping);
// when a record brings a member back to life, moves it to another address
// or starts a new generation of it; and when a live member's application
// state changes, with the new state. It is not asked about the node
// itself, about tombstones, nor about records that change nothing. A
// member's record and its state travel separately, so it may be asked
// about a member before its state arrives: a hook that refuses by state
// should admit a member whose key is absent and refuse it once the key
// holds a refused value.
//
// A refused member is not added, and one already held is removed from
// this node's view ([EventRefused]), without declaring it dead: other
// nodes decide with their own hook. The node then neither relays its
// records, state or broadcasts, nor watches it, gossips with it, delivers
// its messages or answers its joins and anti-entropy requests. The refusal
// is remembered for the member's generation (4,096 members, the oldest
// forgotten first), so its records are dropped without asking again
// (Stats.RefusedRecords); a restart of the member is asked about anew.
// Give every node the same hook: a member refused by some nodes only is
// watched by fewer observers, and a node that refuses a member others hold
// differs from them in anti-entropy, so it exchanges digests every
// HeartbeatInterval instead of every SyncInterval and is offered the
// member's record again at each exchange (dropped at once, counted).
//
// [Config.AllowedPrefixes] works the same way on addresses, without asking
// or remembering: a datagram from a source address outside every prefix is
// dropped before it is opened (Stats.DropAddr), and a member whose address
// is outside is refused (Stats.RefusedAddr).
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
// transfers and relays (MaxTransfers), decompressed datagram size (64 KiB),
// user broadcasts queued (MaxBroadcasts, MaxBroadcastBytes), messages
// taken (MaxMessageRate), and the windows that deduplicate user messages
// (512 sequence numbers for each of 4,096 origins). Input beyond a bound is
// refused and counted in [Stats].
package engine
