package sim

import "time"

// NodeStats is what a node's CPU and receive queue went through, summed
// over its restarts. Under CostModel{Free: true} the node is never busy:
// Busy and MaxLag stay zero and its queue fills only while it is paused.
type NodeStats struct {
	// Busy is the CPU time the cost model charged the node: Busy divided
	// by the time simulated is its CPU load, and Busy per datagram handled
	// its CPU per datagram.
	Busy time.Duration
	// Datagrams counts datagrams the node's core handled; Ticks counts the
	// runs of its timers; Wakes counts the work (datagrams, timers, user
	// calls) that found the node idle and paid CostModel.Wake.
	Datagrams, Ticks, Wakes uint64
	// QueueDrops counts datagrams to the node dropped because its receive
	// queue was full (CostModel.RecvBuffer, or netio.DefaultQueueLimit
	// while paused under the free model).
	QueueDrops uint64
	// Queued and QueuedBytes are what waits in the node's queue now;
	// PeakQueued and PeakQueuedBytes the most that ever waited at once.
	// Bytes count each datagram's payload plus CostModel.QueueOverhead.
	Queued, QueuedBytes         int
	PeakQueued, PeakQueuedBytes int
	// MaxLag is the most one of the node's timers ran after its deadline
	// because the node was busy.
	MaxLag time.Duration
}

// BusyUntil returns the virtual time at which the node's CPU is free: it is
// busy while Sim.Now is before it. Under CostModel{Free: true} it is zero.
func (n *Node) BusyUntil() time.Duration { return n.busyUntil }

// NodeStats returns node i's work and queue counters.
func (s *Sim) NodeStats(i int) NodeStats {
	n := s.nodes[i]
	st := n.stats
	if !n.crashed {
		n.addEndpoint(&st)
	}
	return st
}

// addEndpoint adds the queue figures of n's open endpoint to st.
func (n *Node) addEndpoint(st *NodeStats) {
	b := n.ep.Backlog()
	st.QueueDrops += n.ep.Stats().DropBufferFull
	st.Queued, st.QueuedBytes = b.Datagrams, b.Bytes
	st.PeakQueued = max(st.PeakQueued, b.PeakDatagrams)
	st.PeakQueuedBytes = max(st.PeakQueuedBytes, b.PeakBytes)
}

// retire keeps the queue figures of n's endpoint before it closes.
func (n *Node) retire() {
	n.addEndpoint(&n.stats)
	n.stats.Queued, n.stats.QueuedBytes = 0, 0
}
