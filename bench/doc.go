// Package bench holds Hearsay's cluster scenarios and their measurements,
// shared by tests and by the gossipbench command.
//
// Each scenario is a config struct embedding Options (N, seed, loss, preset,
// duration, driver) and a run function that builds a cluster, drives it,
// and returns a Result:
//
//	RunBootstrap       N nodes join through seeds over a spread of starts
//	RunDissemination   one state change: time and rounds until every node has it
//	RunCrash           kills nodes one at a time: first suspicion, first death,
//	                   every live node knows; false deaths
//	RunFalsePositives  healthy nodes under heavy uniform loss: node-hours, false deaths
//	RunSteady          datagrams, bytes and CPU per node per second in a quiet cluster
//	RunFlaky           1% of nodes at 80% loss: removed once, no oscillation
//	RunAsymmetric      one-way broken links from nodes to their observers
//	RunPause           nodes frozen for 2 s: never declared dead
//	RunPartition       a 50/50 split, then the heal: time until all see all
//	RunRollingRestart  10% of nodes restarted at once, in batches
//	RunChurn           nodes crashing, leaving and restarting continuously
//	RunAppState        every node publishes and updates a value under churn
//
// Scenarios returns them as a catalogue, and Select picks a suite ("core",
// "full") or a list by name.
//
// A Result holds named figures, each with its value, unit, target (where
// an issue sets one, with its source) and theoretical reference (log₂N
// rounds, the push and push-pull rumour-spreading bounds, SWIM's expected
// first detection after e/(e−1) protocol periods); outcome checks, which
// the smoke test asserts; plots; and how the run was set up. Latencies are
// gathered in Histograms and reported as p50, p99 and max, never as
// averages. A Report gathers the results of a run with the machine it ran
// on and writes them as a text table per scenario (WriteText), JSON
// (WriteJSON) and a self-contained HTML page with inline SVG plots
// (WriteHTML).
//
// # Drivers
//
// Scenarios drive a Cluster, which a Driver builds. SimDriver runs the
// simulator (package engine/sim): virtual time, one goroutine,
// deterministic for a seed, so a run's figures (CPU and wall times aside)
// repeat exactly. UDPDriver implements the same interface over real
// engine.Node values on loopback sockets in this process, in real time,
// with loss, partitions and cut links injected in each node's transport;
// operations it cannot perform (Pause, Resume) return ErrUnsupported. Its
// nodes share one process's CPUs, so its timing figures measure the
// protocol under that load as well: at large N they say as much about
// the machine as about the protocol.
// Everything a scenario knows it learns the way an operator would: from
// node events (engine.Event), views (Member, NumMembers, State) and
// counters (engine.Stats).
//
// # Costs and limits
//
// In the simulator, nodes in a converged cluster share identical table
// shards, so 10,000 nodes fit in about 250 MB and run a simulated second in
// a fraction of a second. Scenarios whose views diverge for long — a
// bootstrap, where each joining node holds a different partial table, a
// partition, mass restarts, churn, everyone publishing state at once — lose
// that sharing and grow faster than N²; the catalogue caps their N
// (Scenario.SimCap) and says so in the result. CPU figures are the whole process's
// CPU time divided by nodes and simulated seconds: in the simulator they
// include the simulator's own work and are an upper bound on the
// protocol's.
//
// The package has no globals and starts no goroutines; a run function uses
// its cluster from the calling goroutine and returns when done or when its
// context ends (with the figures measured so far).
//
// References: Das, Gupta and Motivala, "SWIM" (2002); Dadgar, Phillips and
// Currey, "Lifeguard" (2018); Hayashibara et al., "The φ accrual failure
// detector" (2004); Pittel, "On spreading a rumor" (1987); Karp, Schindelhauer,
// Shenker and Vöcking, "Randomized rumor spreading" (2000).
package bench
