package bench

import (
	"context"
	"errors"
	"time"

	"github.com/hearsay-io/hearsay/engine"
	"github.com/hearsay-io/hearsay/netio"
)

// ErrUnsupported is returned, possibly wrapped, by Cluster methods a driver
// cannot perform (pausing a real process, say). A scenario that needs one
// fails with it.
var ErrUnsupported = errors.New("bench: not supported by this driver")

// Start says how a cluster begins.
type Start uint8

const (
	// StartConverged starts every node knowing every other as alive, as a
	// cluster that has run for a while: the fast way to measure steady
	// state, detection and dissemination.
	StartConverged Start = iota
	// StartAlone starts every node knowing only itself; the scenario joins
	// them.
	StartAlone
)

// ClusterConfig is what a Driver needs to build a cluster.
type ClusterConfig struct {
	// N is the number of nodes, indexed 0 to N−1.
	N int
	// Seed makes a deterministic driver's run repeatable.
	Seed uint64
	// Engine is every node's configuration; the driver sets ID, Generation
	// and the addresses per node.
	Engine engine.Config
	// Latency is the one-way delay of every link (a simulator applies it; a
	// real network has its own).
	Latency netio.Latency
	// Loss is the probability that a datagram on any link is dropped.
	Loss float64
	// Start says whether nodes begin converged or alone.
	Start Start
	// Outside are nodes the driver does not run. Each still gets its
	// address and, with StartConverged, a place in every other node's
	// starting view (alive, generation 1), so that a process outside the
	// cluster can run it as that member from the start; Running reports
	// false for it. Only the udp driver supports it.
	Outside []int
	// OnEvent receives every node's events. The driver never calls it
	// concurrently with itself, but may call it concurrently with the
	// scenario's goroutine outside Run: scenarios guard what it writes.
	OnEvent func(node int, e engine.Event)
}

// Driver builds clusters: the simulator (SimDriver) or real nodes.
type Driver interface {
	// Name is the mode name reported with results: "sim", "udp".
	Name() string
	// NewCluster builds and starts a cluster.
	NewCluster(ClusterConfig) (Cluster, error)
}

// Cluster is what scenarios drive: N nodes, the faults a scenario injects,
// and time. Nodes are numbered 0 to Len()−1 for the life of the cluster; a
// restarted node keeps its number and ID and gets a higher generation.
//
// Methods other than Run return at once. Except for OnEvent's writes, a
// cluster is used from one goroutine.
type Cluster interface {
	// Len returns the number of nodes, running or not.
	Len() int
	// ID returns node i's ID.
	ID(i int) engine.ID
	// Index returns the node number of an ID.
	Index(id engine.ID) (int, bool)
	// Now returns the time since the cluster started: virtual in a
	// simulator, real otherwise.
	Now() time.Duration
	// Elapsed converts an Event's time into the same scale as Now.
	Elapsed(t engine.Time) time.Duration
	// Run lets the cluster run for d: a simulator advances virtual time, a
	// real cluster waits. It returns early with ctx's error.
	Run(ctx context.Context, d time.Duration) error

	// Running reports whether node i runs (neither crashed, stopped after
	// leaving, nor paused).
	Running(i int) bool
	// Generation returns the generation of node i's current process.
	Generation(i int) uint64
	// Crash stops node i at once, as a killed process.
	Crash(i int) error
	// Restart starts a stopped node again with the same ID and the next
	// generation and joins it through the given nodes.
	Restart(i int, seeds []int) error
	// Join makes node i join through the given nodes.
	Join(i int, seeds []int) error
	// Leave makes node i leave gracefully: it announces Left and stops once
	// the announcement has spread.
	Leave(i int) error
	// Pause freezes node i (no timers, no reads) until Resume.
	Pause(i int) error
	// Resume thaws a paused node.
	Resume(i int) error
	// SetState sets a key of node i's application state.
	SetState(i int, key, value []byte) error

	// Member returns what node i believes of node j.
	Member(i, j int) (engine.Member, bool)
	// State returns node j's value for key as node i holds it.
	State(i, j int, key []byte) (value []byte, version uint64, ok bool)
	// NumMembers returns node i's live (alive and suspect) and total
	// members, itself included.
	NumMembers(i int) (live, total int)
	// Stats returns node i's protocol counters.
	Stats(i int) engine.Stats

	// SetNodeLoss makes node i drop the fraction p of the datagrams it
	// sends and, independently, of those it receives; zero clears it.
	SetNodeLoss(i int, p float64) error
	// SetLinkDown cuts (or restores) the link from one node to another, in
	// that direction only.
	SetLinkDown(from, to int, down bool) error
	// Partition splits the nodes into the given groups plus one group of
	// every node not listed; Heal removes the partition.
	Partition(groups ...[]int) error
	Heal() error

	// Close stops every node and frees the cluster.
	Close() error
}
