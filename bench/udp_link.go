package bench

import (
	"net/netip"
	"sync"
	"sync/atomic"

	"github.com/hearsay-io/hearsay/netio"
)

// udpLink is the transport of one node of a UDP cluster: the node's
// netio.Faulty (loss) over its socket, plus the cluster's partition and the
// node's cut links, which it applies to the datagrams the node writes. A
// partition is enforced by both sides dropping what they send across it, a
// cut link by its sender; nothing is filtered on read.
//
// Its fast path, no partition and no cut link, is a pass-through that adds
// no allocation; with a fault active it filters a batch into a reused
// scratch slice.
type udpLink struct {
	t    *netio.Faulty
	c    *udpCluster
	self int32

	mu      sync.Mutex // guards scratch; WriteBatch is called by one goroutine anyway
	scratch []netio.Message
	dropped atomic.Uint64
}

// WriteBatch drops the datagrams to nodes across the partition or over a
// cut link and writes the rest.
func (l *udpLink) WriteBatch(msgs []netio.Message) (int, error) {
	groups := l.c.groups.Load()
	down := l.c.nodes[l.self].down.Load()
	if groups == nil && down == nil {
		return l.t.WriteBatch(msgs)
	}
	addrs := *l.c.addrs.Load()
	l.mu.Lock()
	defer l.mu.Unlock()
	out := l.scratch[:0]
	for i := range msgs {
		if j, ok := addrs[msgs[i].Addr]; ok && l.cut(groups, down, j) {
			l.dropped.Add(1)
			continue
		}
		out = append(out, msgs[i])
	}
	l.scratch = out
	defer clear(out) // do not keep the caller's buffers alive
	if len(out) > 0 {
		if _, err := l.t.WriteBatch(out); err != nil {
			return 0, err
		}
	}
	return len(msgs), nil
}

// cut reports whether a datagram from this node to node j is dropped.
func (l *udpLink) cut(groups *[]int32, down *map[int32]struct{}, j int32) bool {
	if groups != nil && (*groups)[l.self] != (*groups)[j] {
		return true
	}
	if down != nil {
		_, ok := (*down)[j]
		return ok
	}
	return false
}

// ReadBatch reads from the faulty socket, which applies read loss.
func (l *udpLink) ReadBatch(msgs []netio.Message) (int, error) { return l.t.ReadBatch(msgs) }

// LocalAddr returns the socket's address.
func (l *udpLink) LocalAddr() netip.AddrPort { return l.t.LocalAddr() }

// Stats returns the socket's counters with the injected drops, loss and
// cuts, in DropInjected.
func (l *udpLink) Stats() netio.Stats {
	s := l.t.Stats()
	s.DropInjected += l.dropped.Load()
	return s
}

// Close closes the faulty socket.
func (l *udpLink) Close() error { return l.t.Close() }
