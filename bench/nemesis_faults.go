package bench

import (
	"fmt"
	"time"

	"github.com/hearsay-io/hearsay/netio"
)

// linkFaults are the faults of every link at once: what the nemesis suite
// composes from uniform loss, loss bursts, duplication and reordering.
type linkFaults struct {
	Loss      float64 // probability that a datagram is dropped
	Duplicate float64 // probability that a datagram is delivered twice
	Reorder   float64 // probability that a datagram is held back by ReorderDelay
	// ReorderDelay is the extra delay of a reordered datagram; zero means a
	// second sample of the link's latency (netio.Link).
	ReorderDelay time.Duration
}

// faultControl is what the nemesis suite injects beyond the Cluster
// interface. The simulator's clusters implement all of it; the UDP
// driver's implement loss on every link, per-node loss and one-way cuts
// (in each node's fault-injecting transport, see udpLink) and return
// ErrUnsupported for duplication, reordering and per-node delay, which
// its netio.Faulty wrappers cannot change at run time.
type faultControl interface {
	// setLinkFaults replaces the faults of every link (latency is kept).
	setLinkFaults(l linkFaults) error
	// setNodeFaults sets node i's endpoint faults: loss drawn once on each
	// datagram it sends and once on each it receives, and delay added to
	// both; zero values clear them.
	setNodeFaults(i int, loss float64, delay netio.Latency) error
	// cutOneWay cuts (or restores) every link from a node of from to a
	// node of to, in that direction only.
	cutOneWay(from, to []int, down bool) error
	// rtt returns the smoothed round-trip time node i measured to node j
	// by its probes (engine.Core.RTT), if the driver can read it.
	rtt(i, j int) (time.Duration, bool)
	// netStats returns the simulated network's counters, if there is one.
	netStats() (netio.NetworkStats, bool)
}

// feature is a fault a nemesis scenario needs from its driver.
type feature uint8

const (
	featLinkLoss   feature = iota // loss on every link
	featDupReorder                // duplication and reordering on every link
	featNodeLoss                  // per-node loss
	featNodeDelay                 // per-node delay
	featCut                       // partitions and one-way cuts
	featPause                     // Cluster.Pause and Resume
	featCrash                     // Cluster.Crash and Restart
)

func (f feature) String() string {
	return [...]string{"loss on every link", "duplication and reordering", "per-node loss",
		"per-node delay", "partitions and one-way cuts", "pausing nodes", "crashes"}[f]
}

// supports reports whether a driver can inject f. Drivers other than the
// two of this package are assumed to, and fail with ErrUnsupported when
// the fault is injected if they cannot.
func supports(d Driver, f feature) bool {
	if _, ok := d.(UDPDriver); ok {
		switch f {
		case featDupReorder, featNodeDelay, featPause:
			return false
		}
	}
	return true
}

// needs returns an error wrapping ErrUnsupported if o's driver cannot
// inject one of the faults: a scenario checks before it builds a cluster.
func needs(o Options, scenario string, fs ...feature) error {
	o = o.withDefaults()
	for _, f := range fs {
		if !supports(o.Driver, f) {
			return fmt.Errorf("bench: %s needs %v, which the %s driver cannot inject: %w", scenario, f, o.Driver.Name(), ErrUnsupported)
		}
	}
	return nil
}

// The simulator: every fault is a setting of its netio.Network.

func (c *simCluster) setLinkFaults(l linkFaults) error {
	c.link = netio.Link{Latency: c.link.Latency, Loss: l.Loss, Duplicate: l.Duplicate, Reorder: l.Reorder, ReorderDelay: l.ReorderDelay}
	c.s.Network().SetDefaultLink(c.link)
	return nil
}

func (c *simCluster) setNodeFaults(i int, loss float64, delay netio.Latency) error {
	c.s.Network().SetEndpointFaults(c.addr(i), netio.Faults{Loss: loss, Delay: delay})
	return nil
}

func (c *simCluster) cutOneWay(from, to []int, down bool) error {
	net := c.s.Network()
	for _, f := range from {
		for _, t := range to {
			if down {
				net.SetLink(c.addr(f), c.addr(t), netio.Link{Down: true})
			} else {
				net.ClearLink(c.addr(f), c.addr(t))
			}
		}
	}
	return nil
}

func (c *simCluster) rtt(i, j int) (time.Duration, bool) {
	return c.s.Node(i).Core.RTT(c.ids[j])
}

func (c *simCluster) netStats() (netio.NetworkStats, bool) { return c.s.Network().Stats(), true }

// Real UDP: loss and cuts are applied by each node's udpLink and
// netio.Faulty.

func (c *udpCluster) setLinkFaults(l linkFaults) error {
	if l.Duplicate > 0 || l.Reorder > 0 {
		return fmt.Errorf("bench: udp driver cannot duplicate or reorder datagrams at run time: %w", ErrUnsupported)
	}
	if l.Loss < 0 || l.Loss >= 1 {
		return fmt.Errorf("bench: link loss %g is not in [0, 1)", l.Loss)
	}
	c.cfg.Loss = l.Loss // read by applyLoss and boot, on this goroutine only
	for i := range c.nodes {
		if p := c.nodes[i].cur; p != nil {
			c.applyLoss(p.link, c.nodes[i].loss)
		}
	}
	return nil
}

func (c *udpCluster) setNodeFaults(i int, loss float64, delay netio.Latency) error {
	if delay != (netio.Latency{}) {
		return fmt.Errorf("bench: udp driver cannot delay node %d's datagrams at run time: %w", i, ErrUnsupported)
	}
	return c.SetNodeLoss(i, loss)
}

func (c *udpCluster) cutOneWay(from, to []int, down bool) error {
	for _, f := range from {
		n := &c.nodes[f]
		m := make(map[int32]struct{})
		if old := n.down.Load(); old != nil {
			for k := range *old {
				m[k] = struct{}{}
			}
		}
		for _, t := range to {
			if down {
				m[int32(t)] = struct{}{}
			} else {
				delete(m, int32(t))
			}
		}
		if len(m) == 0 {
			n.down.Store(nil)
		} else {
			n.down.Store(&m)
		}
	}
	return nil
}

func (c *udpCluster) rtt(i, j int) (time.Duration, bool)   { return 0, false }
func (c *udpCluster) netStats() (netio.NetworkStats, bool) { return netio.NetworkStats{}, false }
