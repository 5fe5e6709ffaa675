package peers

import (
	"context"
	"sync/atomic"
)

// Engine starts clusters of one gossip implementation with one set of
// settings. HearsayEngine and MemberlistEngine implement it.
type Engine interface {
	// Name is the implementation: "hearsay" or "memberlist".
	Name() string
	// Label names the settings: a preset ("lan") or a sweep point.
	Label() string
	// Settings lists the timing settings, for the report.
	Settings() []Param
	// Start opens n nodes on loopback, each alone, each reporting what it
	// believes about the others to tr (and marked running in it).
	Start(n int, tr *Tracker) (Cluster, error)
}

// Cluster is n running nodes of one engine in this process.
type Cluster interface {
	// Join makes node i join the cluster through the given seed nodes. It
	// blocks until the engine says the node joined, or ctx ends.
	Join(ctx context.Context, i int, seeds []int) error
	// Crash stops node i without a goodbye: its sockets close, and the
	// others must detect it.
	Crash(i int) error
	// SetLoss makes every node drop each datagram it sends with
	// probability p (see the engines for what counts as a datagram).
	SetLoss(p float64)
	// Traffic returns what all nodes have sent so far.
	Traffic() Traffic
	// ByType returns the bytes and datagrams sent so far by message type,
	// over the running nodes, as the engine names its types.
	ByType() map[string]Count
	// Close stops every node.
	Close() error
}

// Traffic counts what the nodes of a cluster handed to the network: UDP
// datagrams and their payload bytes (IP and UDP headers excluded), before
// injected loss, and TCP connections and the bytes written on them (both
// directions; memberlist only). Counters only grow.
type Traffic struct {
	Datagrams uint64 `json:"datagrams"`
	Bytes     uint64 `json:"bytes"`
	Dropped   uint64 `json:"dropped"` // datagrams dropped by injected loss
	TCPConns  uint64 `json:"tcp_conns"`
	TCPFailed uint64 `json:"tcp_failed"` // connections refused by injected loss
	TCPBytes  uint64 `json:"tcp_bytes"`
	// QueueDropped counts messages received but dropped by the engine for
	// a full queue (memberlist's handler queue; Hearsay's receive-buffer
	// overflows as its socket reports them).
	QueueDropped uint64 `json:"queue_dropped"`
}

// Sub returns t − u.
func (t Traffic) Sub(u Traffic) Traffic {
	return Traffic{
		Datagrams: t.Datagrams - u.Datagrams,
		Bytes:     t.Bytes - u.Bytes,
		Dropped:   t.Dropped - u.Dropped,
		TCPConns:  t.TCPConns - u.TCPConns,
		TCPFailed: t.TCPFailed - u.TCPFailed,
		TCPBytes:  t.TCPBytes - u.TCPBytes,

		QueueDropped: t.QueueDropped - u.QueueDropped,
	}
}

// Count is datagrams and bytes of one message type.
type Count struct {
	Datagrams uint64 `json:"datagrams"`
	Bytes     uint64 `json:"bytes"`
}

// counters is a cluster's shared traffic counters, updated by every
// node's transport.
type counters struct {
	datagrams, bytes, dropped     atomic.Uint64
	tcpConns, tcpFailed, tcpBytes atomic.Uint64
}

func (c *counters) snapshot() Traffic {
	return Traffic{
		Datagrams: c.datagrams.Load(),
		Bytes:     c.bytes.Load(),
		Dropped:   c.dropped.Load(),
		TCPConns:  c.tcpConns.Load(),
		TCPFailed: c.tcpFailed.Load(),
		TCPBytes:  c.tcpBytes.Load(),
	}
}

// Param is one setting, as text.
type Param struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}
