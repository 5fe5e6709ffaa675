package engine

import "github.com/hearsay-io/hearsay/netio"

// NodeStats is a value snapshot of a Node's numbers: the protocol's
// counters (the embedded Stats: datagrams and bytes by message type,
// probes, suspicions, refutations, deaths, drops by cause, queue depth,
// local health), the socket's (Transport), and the runtime's own. Counters
// only grow; fields marked gauge are current values. Metrics lists them
// under stable names.
type NodeStats struct {
	Stats
	// Transport counts what the UDP socket moved and dropped: datagrams
	// the kernel refused or that arrived too large, receive-buffer
	// overflows, batches (system calls) and GSO use.
	Transport netio.Stats

	EventsDelivered uint64 // events put into subscribers' channels
	EventsDropped   uint64 // events dropped at full subscriber channels (all subscriptions)
	Subscriptions   uint64 // gauge: open subscriptions
	RecvBacklog     uint64 // gauge: received batches waiting for the core goroutine
	ReadErrors      uint64 // unexpected socket read errors (the reader retries)
}

// Stats returns a snapshot of the node's numbers. It waits for the node's
// goroutine to copy the protocol counters; after Close it returns the
// counters as they were when the node stopped.
func (n *Node) Stats() NodeStats {
	var s NodeStats
	if err := n.do(func(Time) { s.Stats = n.core.Stats() }); err != nil {
		if f := n.final.Load(); f != nil {
			s.Stats = *f
		}
	}
	s.Transport = n.conn.Stats()
	s.EventsDelivered = n.subs.delivered.Load()
	s.EventsDropped = n.subs.dropped.Load()
	s.Subscriptions = uint64(len(n.subs.load()))
	s.RecvBacklog = uint64(len(n.in))
	s.ReadErrors = n.readErrs.Load()
	return s
}
