// Package hearsay is a UDP gossip engine for Go services: cluster
// membership, failure detection, application-state dissemination and a
// consistent-hash ring, for latency-sensitive infrastructure at 10,000
// nodes and more. Each process runs a [Node]; nodes find each other
// through a few seeds, watch each other with heartbeats and probes, and
// spread what changes by gossip and digest-based anti-entropy.
//
// # A minimal program
//
//	key := ... // 16, 24 or 32 random bytes, the same on every member
//	cfg := hearsay.DefaultLANConfig()
//	cfg.BindAddr = netip.MustParseAddrPort("10.0.0.1:7946")
//	cfg.Keys = [][]byte{key}
//	node, err := hearsay.NewNode(cfg)
//	if err != nil {
//		return err
//	}
//	defer node.Close()
//	events := node.Subscribe(1024) // before Join: see every member it brings
//	if err := node.Join(ctx, "10.0.0.2:7946", "seeds.example.internal:7946"); err != nil {
//		return err
//	}
//	defer node.Leave(context.Background()) // runs before Close: others see "left", not "dead"
//	node.SetState([]byte("role"), []byte("cache"))
//	owner, _ := node.Owner([]byte("user:42"))
//
// The package's examples run such programs on loopback; Example is the one
// README.md shows.
//
// # Keys first
//
// Set [Config].Keys: every datagram is then sealed with AES-GCM, bound to
// its receiver and numbered, so a datagram that was forged, altered, sent
// by a node without the key, or replayed is dropped before it is parsed
// and counted in [Stats]. A node logs, rate-limited, the source address of
// datagrams sealed with keys it does not hold, and a [Node.Join] that no
// seed answered says that a key mismatch is one cause. Keys rotate in a
// running cluster with [Node.InstallKey], [Node.UsePrimaryKey] and
// [Node.RemoveKey].
//
// A cluster without keys is an explicit opt-in, [Config].Open, for
// trusted networks (a test rig, a segment you control): NewNode refuses a
// Config with neither. An open cluster cannot protect against anyone who
// can send to its port: a forged datagram from a spoofed source (a
// heartbeat that keeps a crashed member looking alive, a claim about a
// member that it must then supersede), eavesdropping on every member's
// state, and replays. What it still does: answers to addresses that have
// not proven they receive are never larger than what was sent (no
// amplification), a member supersedes whatever is claimed about it, and
// members heard of only second-hand are not trusted until they answer a
// probe at their address.
//
// # What a Node offers
//
//   - Membership: [Node.Members] (live: alive and suspect), [Node.AllMembers]
//     (with the tombstones of dead and left members), [Node.Member],
//     [Node.Counts]. Reads never wait for the node's goroutine.
//   - Events: [Node.Subscribe] delivers joins, suspicions, deaths, leaves,
//     updates and state changes through a bounded channel that never
//     blocks the node, and reports an [EventGap] rather than losing events
//     silently.
//   - Messages: [Node.Broadcast] to every live member, piggybacked on the
//     datagrams the node sends anyway, and [Node.Send] to one member, both
//     best effort, bounded in size (Config.MaxMessageSize) and rate, and
//     delivered to subscribers as [EventMessage].
//   - Admission and identity: Config.Admit refuses members by ID, address,
//     name or application state ([EventRefused]), Config.AllowedPrefixes
//     keeps out addresses outside a list of CIDRs, and Config.Name gives
//     a member the human-readable name every member sees (Member.Name).
//   - Application state: [Node.SetState], [Node.DeleteState], [Node.State]:
//     a small versioned map per member, disseminated to every member.
//   - The ring: [Node.Ring], [Node.Owner], [Node.Owners]: consistent
//     hashing over the live members, the same on every member with the
//     same view.
//   - Seeds: [Node.Join] takes "ip:port", "host:port" or SRV names,
//     re-resolved before every periodic re-contact; [Node.SetSeeds]
//     changes them while running.
//   - Numbers: [Node.Stats] (and [Node.Var] for expvar), [Node.RTT].
//
// # Where the rest lives
//
// This package is the embedding API, and holds aliases of the engine's
// types where they are already what a user needs: [Config], [Member],
// [Event], [Subscription], [ID], [Stats] are engine types, whose
// documentation (go doc github.com/hearsay-io/hearsay/engine) details
// every configuration field, the protocol and the counters. Package ring is
// the consistent-hash ring [Node.Ring] returns. The other packages are the
// machinery, for those who test or extend it:
//
//   - codec: the wire format (fixed-size header and records, sealing).
//   - netio: batched UDP ([SocketOptions]), an in-memory network, faults.
//   - detector: failure detectors and suspicion math as pure values.
//   - engine: the protocol core as a deterministic state machine, the
//     runtime behind Node, and engine/sim, its simulator.
//   - bench, cmd/gossipbench: cluster scenarios and their measurements.
//   - fuzz: engine-level fuzz targets.
//   - cmd/hearsayd: a node agent, one Node per process, with its view on
//     HTTP, for real hosts; deploy: running it on Kubernetes.
//
// README.md at the root of the repository says how to run the benchmarks
// and the tests, and what they measured.
package hearsay
