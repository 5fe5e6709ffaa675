package engine

import (
	"context"
	"log/slog"

	"github.com/hearsay-io/hearsay/netio"
)

// NodeOptions are a Node's dependencies that Config, which describes the
// protocol, does not carry. The zero value gives NewNode's behaviour.
type NodeOptions struct {
	// Transport, when set, is what the node sends and receives on instead
	// of a UDP socket bound to Config.BindAddr: a netio.Faulty wrapping a
	// *netio.UDP to inject loss, say. The node owns it: it closes it on
	// Close, and NewNodeWith closes it when it fails. Config.BindAddr and
	// Config.DualStack are then ignored; the node advertises
	// Config.AdvertiseAddr when set, else Transport.LocalAddr() (chosen
	// among the host's addresses when that is unspecified).
	Transport netio.Transport
	// Pool, when set, shares identical membership-table shards with the
	// other cores of this process that use the same pool (see ShardPool).
	// Nodes of one cluster in one process hold the same view most of the
	// time, so a pool lets thousands of them run in one process: the
	// in-process benchmark uses it. A real deployment, one node per
	// process, leaves it nil.
	Pool *ShardPool
	// OnEvent, when set, is called with every event on the node's core
	// goroutine, synchronously, while the core call that caused it runs:
	// before the change is published to Members and the other reads, and
	// before subscribers see it. It never misses an event (a Subscription
	// may drop some), but it must return quickly and must not call the
	// node's methods, other than the lock-free reads, or it deadlocks the
	// node. Key and Value alias the node's memory: copy them to keep them.
	// It is meant for harnesses that observe many nodes; services use
	// Subscribe.
	OnEvent func(Event)
}

// NewNodeWith is NewNode with the given options: it validates cfg, opens
// opts.Transport (or, when nil, a UDP socket on cfg.BindAddr) and starts
// the node, alone. See NewNode for the defaults and errors.
func NewNodeWith(cfg Config, opts NodeOptions) (*Node, error) {
	n, err := newNodeWith(cfg, opts)
	if err != nil {
		return nil, err
	}
	n.startLoops()
	n.logStart()
	return n, nil
}

// logStart writes the node's one line at start: at Info, or at Warn for an
// open cluster, which the line then warns about.
func (n *Node) logStart() {
	attrs := []slog.Attr{
		slog.String("bind", n.conn.LocalAddr().String()),
		slog.String("advertise", n.addr.String()),
	}
	if n.advHow != "" {
		// BindAddr is unspecified: say which of the host's addresses.
		attrs = append(attrs, slog.String("advertise_chosen", n.advHow+" address of this host; set AdvertiseAddr to choose"))
	}
	attrs = append(attrs, slog.String("cluster", n.cfg.ClusterName), slog.Uint64("generation", n.cfg.Generation))
	if len(n.cfg.Keys) == 0 {
		n.log.LogAttrs(context.Background(), slog.LevelWarn,
			"hearsay node started with an open cluster: no Keys, so anyone who can reach this port can join the cluster, read its state and change it", attrs...)
		return
	}
	attrs = append(attrs, slog.Int("keys", len(n.cfg.Keys)))
	n.log.LogAttrs(context.Background(), slog.LevelInfo, "hearsay node started", attrs...)
}

// eventHook returns the core's event hook: it sets the event's wall-clock
// Time and hands it to the node's own hook, then to extra when set.
func (n *Node) eventHook(extra func(Event)) func(Event) {
	return func(e Event) {
		e.Time = wallTime(e.At)
		n.onEvent(e)
		if extra != nil {
			extra(e)
		}
	}
}

// NodeTime returns the clock of the process's Nodes now: the scale of
// Event.At and of the times in a Node's members. Differences of two
// NodeTime values are durations in nanoseconds, so a harness that reads
// NodeTime when it starts can place every event of every node of the
// process on its own timeline.
func NodeTime() Time { return monotime() }

// AddMembers adds members to this node's table, as if it had learned of
// them, without any message: an in-process harness starts a cluster
// converged with it, each node given every other as alive, instead of
// waiting for joins. Members with this node's ID, a zero ID or an invalid
// state are skipped; a member already known is replaced. No event is
// delivered for them. It returns ErrClosed after Close.
//
// It bypasses the protocol's merge rules; a service joins (Join) instead.
func (n *Node) AddMembers(members []Member) error {
	return n.do(func(now Time) {
		n.core.Seed(now, members)
		if n.ringOn {
			n.rebuildRing()
		}
	})
}

// AdoptView replaces this node's table with a copy of other's, as it is
// published now, plus this node's own record: what AddMembers with every
// member other holds would do, in time proportional to the table's shards,
// not its members, because the two nodes then share other's immutable
// shards. An in-process harness seeds one node with AddMembers and the rest
// from it, so that no node runs long with a partial view. Both nodes must
// have the same ShardBits. It returns ErrClosed when this node is closed,
// and an error naming the mismatch for different ShardBits.
//
// Like AddMembers it bypasses the protocol's merge rules and delivers no
// event; a service joins (Join) instead.
func (n *Node) AdoptView(other *Node) error {
	if n.cfg.ShardBits != other.cfg.ShardBits {
		return errorf("AdoptView: ShardBits %d, other node's %d", n.cfg.ShardBits, other.cfg.ShardBits)
	}
	return n.do(func(now Time) {
		// Publish first, so that adopting this node's own view changes
		// nothing; other's published shards are immutable, safe to share
		// from this goroutine.
		n.core.Publish()
		shards := make([]*shard, len(other.core.tab.pub))
		for i := range shards {
			shards[i] = other.core.tab.pub[i].Load()
		}
		n.core.adoptShards(shards)
		if n.ringOn {
			n.rebuildRing()
		}
	})
}
