// Package sim runs clusters of engine.Core in a deterministic simulator:
// virtual time, one event queue, and the in-memory network of package
// netio (latency, loss, duplication, reordering, partitions, paused
// nodes). Thousands of nodes run on one goroutine; the same Config gives
// the same run, byte for byte, so a failing seed replays exactly.
//
// # Work is not free
//
// Each node is a CPU that is busy while it handles a datagram or runs its
// timers, for a time the cost model (CostModel) computes from what it
// handles and sends, calibrated on the real runtime's costs (DefaultCost).
// Datagrams that arrive while a node is busy wait in its receive queue,
// bounded in bytes like a socket buffer, and are dropped when it is full;
// timers that come due while it is busy run late; what it sends leaves
// when the work that produced it is done. Nodes may also share a few CPUs,
// as nodes in one process do (CostModel.CPUs). Sim.NodeStats reports each
// node's CPU time, queue and drops. CostModel{Free: true} makes work free,
// which is how the simulator ran before it charged for work: figures from
// that model are optimistic by construction and are not quoted.
//
// # What it does not do
//
// It does not model the kernel beyond a socket buffer and a per-datagram
// cost (no NIC queues, no softirq scheduling), garbage collection pauses,
// or contention between a node and the service that embeds it; scale the
// model (CostModel.Scale) to ask what a slower or busier node would do.
// It is not safe for concurrent use.
package sim
