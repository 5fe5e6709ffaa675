package netio

import "time"

// Link describes one direction of the path between two endpoints of a
// Network. The zero Link delivers every datagram, in order, at once.
//
// For each datagram the network decides, in this order and with draws from
// its one seeded generator: too large for MTU (dropped), Down (dropped),
// Loss (dropped), Duplicate (a second copy), and for each copy a delay from
// Latency plus, with probability Reorder, an extra ReorderDelay.
// Probabilities of zero draw nothing, so adding a lossless link does not
// change the random sequence seen by the others.
type Link struct {
	// Latency is the one-way delay distribution. Its jitter alone reorders
	// datagrams sent closer together than the jitter.
	Latency Latency
	// Loss is the probability in [0, 1] that a datagram is dropped.
	Loss float64
	// Duplicate is the probability in [0, 1] that a datagram is delivered
	// twice; each copy gets its own delay.
	Duplicate float64
	// Reorder is the probability in [0, 1] that a datagram is held back by
	// ReorderDelay on top of its latency, so that later datagrams overtake
	// it.
	Reorder float64
	// ReorderDelay is the extra delay of a reordered datagram. Zero means a
	// second independent sample of Latency.
	ReorderDelay time.Duration
	// MTU is the largest datagram payload in bytes the link carries; larger
	// ones are dropped and counted. Zero means MaxDatagramSize.
	MTU int
	// Down drops everything: a cut cable or a one-way partition.
	Down bool
}

// mtu returns the effective MTU.
func (l *Link) mtu() int {
	if l.MTU <= 0 || l.MTU > MaxDatagramSize {
		return MaxDatagramSize
	}
	return l.MTU
}

// Faults describes the misbehaviour of one endpoint, applied to every
// datagram it sends and every datagram sent to it, on top of the link's.
// A few endpoints with heavy loss model "1% of nodes at 80% loss".
type Faults struct {
	// Loss is the probability in [0, 1] that a datagram is dropped, drawn
	// once for the sender's faults and once for the receiver's.
	Loss float64
	// Delay is added to the delay of every datagram sent and received, as
	// on an overloaded host or a slow NIC.
	Delay Latency
}

// zero reports whether f changes nothing.
func (f *Faults) zero() bool {
	return f.Loss <= 0 && f.Delay == (Latency{})
}
