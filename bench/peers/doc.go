// Package peers runs Hearsay and its peer, hashicorp/memberlist, side by
// side on one harness, so that claims about Hearsay's scale are made
// against the engine it replaces, measured the same way, in the repository.
//
// It lives in its own Go module (bench/peers/go.mod) so that the library a
// service imports keeps exactly its four dependencies; memberlist and its
// dependencies are required here only. Command peerbench (cmd/peerbench)
// binds flags to this package and writes the results as JSON, a text table
// and an SVG plot; results/ holds the committed ones.
//
// # The harness
//
// An Engine starts a Cluster: N nodes of one implementation in this
// process, each with its own sockets on 127.0.0.1, real UDP, the real
// clock. HearsayEngine runs engine.Node values on the engine's batched
// netio transport; MemberlistEngine runs memberlist.Memberlist values on
// memberlist's NetTransport (UDP plus TCP). Only one engine runs at a time,
// so the process's CPU time and heap belong to it. Both report what every
// node believes through their event hooks (engine.NodeOptions.OnEvent,
// memberlist.EventDelegate) into a Tracker, which times the changes the
// scenarios wait for: no polling of member lists, no sleeps to guess
// convergence.
//
// Both engines get the same treatment:
//
//   - Presets: the scenarios run both engines at the same preset class,
//     LAN by default (engine.DefaultLANConfig, memberlist.DefaultLANConfig):
//     the presets a data-centre deployment starts from, and the two share
//     a 1 s protocol period (Hearsay's heartbeat interval, memberlist's
//     probe interval), so at equal period the comparison is of protocols,
//     not of tunings. The local presets are a flag away, and both are
//     points of the trade-off sweep.
//   - No encryption: Hearsay runs an open cluster (Config.Open), memberlist
//     has no SecretKey. Hearsay's nodes share no table shards
//     (engine.ShardPool is not used), so heap per node is what one node per
//     process would hold.
//   - Traffic: each node's transport is wrapped to count what the engine
//     hands to the network: UDP datagrams and payload bytes (IP and UDP
//     headers excluded: add 28 bytes per datagram for the wire), counted
//     before injected loss; for memberlist also TCP connections and the
//     bytes written on them, both directions, counted separately.
//   - Loss: each datagram a node sends is dropped with probability p
//     (netio.Faulty for Hearsay, mlTransport for memberlist); nothing is
//     dropped on receive. memberlist also uses TCP (join, push-pull, and a
//     fallback ping when UDP probes fail): its connection attempts lose
//     their SYN with probability p, which costs a fallback ping its answer
//     and delays a push-pull by Linux's 1 s SYN retransmission; bytes on
//     established connections are not dropped (TCP would deliver them,
//     later). See mlTransport.
//   - CPU is the process's (getrusage: user plus system, garbage collection
//     and the harness's small event bookkeeping included) over a window,
//     divided by N and by the window. Heap is HeapInuse after a collection,
//     less what the process held before the cluster started, divided by N.
//     Allocations are the Mallocs delta over the window.
//
// # Scenarios
//
// Run runs them for one engine at one N; each records its figures under
// its name (Figure.Scenario). The names and what they measure:
//
//	burst   N nodes start alone; seeds 1 and 2 join seed 0; then all other
//	        nodes join through the 3 seeds at once. Time from the first
//	        join call until every node holds every other alive, and
//	        whether that happens within the bound (JoinBound).
//	join    the same, joins paced at JoinRate (10/s): time from the first
//	        call and from the last one. The cluster it forms carries on
//	        with the scenarios below.
//	steady  a quiet converged cluster, after Settle, over Window: CPU,
//	        UDP datagrams and bytes, TCP bytes and connections, allocations
//	        and allocated bytes, per node per second; heap and goroutines
//	        per node; the bytes by message type (RunResult.ByType: Hearsay's
//	        engine.Stats.OutBytes by codec.MsgType; memberlist's top-level
//	        message type, where "compressed" and "compound" hide the
//	        messages inside).
//	crash   Crash (4) random non-seed nodes are closed at once, without a
//	        goodbye. For every (survivor, victim) pair, the time until the
//	        survivor held the victim dead; p50 and p99 over the pairs (a
//	        pair not detected counts as infinitely late), the first, and
//	        the last ("all know"), within CrashBound.
//	loss    for each loss probability (10 %, 30 %): loss on every datagram;
//	        false deaths (a running node declaring another running node
//	        dead) over LossWindow, and the traffic; then a crash under the
//	        same loss; then the loss ends and the views must heal.
//
// The trade-off sweep (HearsaySweep, MemberlistSweep, RunSweepPoint) runs
// burst, steady and crash at each of a few timing settings per engine, at
// one N, and plots crash known by all against steady bytes per node per
// second (TradeoffSVG). CheckTargets reads the targets off the
// curves and the steady figures.
//
// # Limits
//
// All nodes share one process and this machine's CPUs, and loopback has
// no latency: timing figures at large N measure the machine as well as
// the protocol, for both engines alike. Detection times count from the
// crash, so they include each engine's whole pipeline: missed heartbeats
// or probe schedule, timeouts, suspicion, dissemination.
package peers
