package netio

import (
	"math"
	"math/rand/v2"
	"net/netip"
	"sync"
	"time"
)

// DefaultQueueLimit is the default number of datagrams an Endpoint holds
// for its reader (its socket buffer): fewer than a 4 MiB UDP receive
// buffer held on Linux, 3,640 datagrams of 1,400 bytes and 10,082 of 68
// (TestRecvBufferCapacity). NetworkConfig.QueueBytes and QueueOverhead
// model such a buffer in bytes instead.
const DefaultQueueLimit = 2048

// NetworkConfig configures NewNetwork.
type NetworkConfig struct {
	// Seed seeds the network's one random generator (PCG). The same seed
	// and the same sequence of calls give the same deliveries, byte for byte
	// and in the same order.
	Seed uint64
	// Link is the link between every ordered pair of endpoints without an
	// override from SetLink. The zero Link delivers at once, without loss.
	Link Link
	// QueueLimit is the most datagrams an endpoint holds undelivered: read
	// by nobody yet in queue mode, held while paused, or waiting while the
	// endpoint is busy (Endpoint.SetBusy). Overflow is dropped and counted
	// in DropQueueFull. Zero means DefaultQueueLimit; negative means no
	// bound in datagrams (QueueBytes alone bounds the queue).
	QueueLimit int
	// QueueBytes bounds the same queue in bytes, as the kernel bounds a
	// socket's receive buffer (SO_RCVBUF): each datagram counts as its
	// length plus QueueOverhead, and one that would take the total past
	// QueueBytes is dropped and counted in DropQueueFull. Zero means no
	// bound in bytes.
	QueueBytes int
	// QueueOverhead is what each queued datagram costs against QueueBytes
	// besides its payload: the kernel charges a datagram's whole buffer
	// (skb truesize), several hundred bytes more than its length.
	QueueOverhead int
}

// NetworkStats is a snapshot of a Network's counters. Every datagram sent,
// plus every duplicate, ends up exactly once in Delivered, in one of the
// Drop counters, or in the Pending and Queued gauges:
//
//	Sent + Duplicated == Delivered + Dropped() + Pending + Queued
type NetworkStats struct {
	// Sent and BytesSent count datagrams accepted from endpoints.
	Sent, BytesSent uint64
	// Delivered and BytesDelivered count datagrams handed to a handler or
	// copied out by ReadBatch.
	Delivered, BytesDelivered uint64
	// Duplicated counts extra copies made by Link.Duplicate.
	Duplicated uint64
	// Reordered counts datagrams held back by Link.Reorder.
	Reordered uint64

	// DropUnreachable counts datagrams to an address with no open endpoint
	// at send time, or to an invalid address.
	DropUnreachable uint64
	// DropMTU counts datagrams larger than the link's MTU.
	DropMTU uint64
	// DropPartition counts datagrams between different partition groups.
	DropPartition uint64
	// DropDown counts datagrams on a link that is down.
	DropDown uint64
	// DropLoss counts datagrams lost to Link.Loss.
	DropLoss uint64
	// DropFault counts datagrams lost to an endpoint's Faults.Loss.
	DropFault uint64
	// DropClosed counts datagrams whose destination closed while they were
	// in flight or queued.
	DropClosed uint64
	// DropQueueFull counts datagrams that found the destination's queue at
	// QueueLimit.
	DropQueueFull uint64
	// DropTooLarge counts datagrams larger than the buffer ReadBatch offered.
	DropTooLarge uint64

	// Pending is the number of datagrams in flight (scheduled, not yet due).
	Pending uint64
	// Queued is the number of datagrams waiting in endpoint queues.
	Queued uint64
	// QueuedBytes is their size as QueueBytes counts it: payload plus
	// QueueOverhead each.
	QueuedBytes uint64
	// Endpoints is the number of open endpoints.
	Endpoints uint64
}

// Dropped returns the sum of all drop counters.
func (s NetworkStats) Dropped() uint64 {
	return s.DropUnreachable + s.DropMTU + s.DropPartition + s.DropDown + s.DropLoss +
		s.DropFault + s.DropClosed + s.DropQueueFull + s.DropTooLarge
}

// slot is an interned address: an open endpoint, a past one, or one that
// only has link settings, a partition group or faults.
type slot struct {
	addr   netip.AddrPort
	ep     *Endpoint // the open endpoint, or nil
	faults *Faults   // nil when the endpoint has no faults
	group  int32     // partition group; 0 is everyone not listed
}

// Network is an in-memory datagram network driven by a virtual clock. Its
// time starts at zero when it is created and moves only through Step,
// AdvanceTo and Resume; deliveries happen only inside those calls. Given
// the seed, the order and content of deliveries depend only on the order of
// calls, so a simulation replays exactly.
//
// All methods are safe for concurrent use, but determinism needs one
// driver: concurrent senders race for sequence numbers and random draws.
// Handlers run on the driver's goroutine without the network's lock held,
// and may call any method of the Network and its Endpoints, Step included.
type Network struct {
	mu         sync.Mutex
	now        time.Duration
	seq        uint64
	rng        *rand.Rand
	link       Link // the default link
	queueLimit int  // datagrams; math.MaxInt for none
	queueBytes int  // bytes; math.MaxInt for none
	overhead   int  // bytes charged per queued datagram besides its payload
	wakes      int  // wake events in events (not datagrams)

	events      eventHeap
	slots       []slot
	index       map[netip.AddrPort]int32
	links       map[uint64]*Link // per ordered pair of slots, sparse
	partitioned bool
	ephemeral   uint16 // next ephemeral port to try
	pool        bufPool
	stats       NetworkStats
}

// NewNetwork returns an empty network at time zero.
func NewNetwork(cfg NetworkConfig) *Network {
	switch {
	case cfg.QueueLimit == 0:
		cfg.QueueLimit = DefaultQueueLimit
	case cfg.QueueLimit < 0:
		cfg.QueueLimit = math.MaxInt
	}
	if cfg.QueueBytes <= 0 {
		cfg.QueueBytes = math.MaxInt
	}
	return &Network{
		rng:        rand.New(rand.NewPCG(cfg.Seed, cfg.Seed^0x9e3779b97f4a7c15)),
		link:       cfg.Link,
		queueLimit: cfg.QueueLimit,
		queueBytes: cfg.QueueBytes,
		overhead:   max(cfg.QueueOverhead, 0),
		index:      make(map[netip.AddrPort]int32),
		links:      make(map[uint64]*Link),
		ephemeral:  ephemeralFirst,
	}
}

// The ephemeral port range used for Listen with port 0 (IANA's).
const (
	ephemeralFirst = 49152
	ephemeralLast  = 65535
)

// normalize makes an IPv4-mapped IPv6 address plain IPv4, so both spellings
// name the same endpoint.
func normalize(ap netip.AddrPort) netip.AddrPort {
	if ip := ap.Addr(); ip.Is4In6() {
		return netip.AddrPortFrom(ip.Unmap(), ap.Port())
	}
	return ap
}

// intern returns the slot of ap, creating it if needed. n.mu must be held.
func (n *Network) intern(ap netip.AddrPort) int32 {
	if i, ok := n.index[ap]; ok {
		return i
	}
	i := int32(len(n.slots))
	n.slots = append(n.slots, slot{addr: ap})
	n.index[ap] = i
	return i
}

// Listen opens an endpoint at addr. Port 0 picks a free port in
// 49152–65535. It fails with ErrAddrInUse if an open endpoint holds the
// address and with ErrInvalidAddr if the address is not valid. A closed
// endpoint's address can be listened on again: datagrams still in flight to
// it reach the new endpoint, as they would a restarted process.
func (n *Network) Listen(addr netip.AddrPort) (*Endpoint, error) {
	if !addr.Addr().IsValid() {
		return nil, ErrInvalidAddr
	}
	addr = normalize(addr)
	n.mu.Lock()
	defer n.mu.Unlock()
	if addr.Port() == 0 {
		found := false
		for range ephemeralLast - ephemeralFirst + 1 {
			p := n.ephemeral
			n.ephemeral++
			if n.ephemeral == 0 { // wrapped past 65535
				n.ephemeral = ephemeralFirst
			}
			cand := netip.AddrPortFrom(addr.Addr(), p)
			if i, ok := n.index[cand]; !ok || n.slots[i].ep == nil {
				addr, found = cand, true
				break
			}
		}
		if !found {
			return nil, ErrAddrInUse
		}
	}
	i := n.intern(addr)
	if n.slots[i].ep != nil {
		return nil, ErrAddrInUse
	}
	e := &Endpoint{n: n, slot: i, addr: addr}
	n.slots[i].ep = e
	n.stats.Endpoints++
	return e, nil
}

// Now returns the network's virtual time: the time since it was created.
func (n *Network) Now() time.Duration {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.now
}

// NextEvent returns the time of the earliest pending delivery, and false if
// nothing is in flight. A busy endpoint's return to its queue (see
// Endpoint.SetBusy) counts as a delivery.
func (n *Network) NextEvent() (time.Duration, bool) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if len(n.events) == 0 {
		return 0, false
	}
	return n.events[0].at, true
}

// Step performs the earliest pending delivery, advancing Now to its time,
// and reports whether there was one. A handler runs inside Step; datagrams
// it sends are scheduled from the new Now.
func (n *Network) Step() bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	if len(n.events) == 0 {
		return false
	}
	n.deliver(n.events.pop())
	return true
}

// AdvanceTo performs, in order, every delivery due at or before t,
// including those scheduled by handlers along the way, then sets Now to t.
// Time never goes back: a t before Now delivers nothing.
func (n *Network) AdvanceTo(t time.Duration) {
	n.mu.Lock()
	defer n.mu.Unlock()
	for len(n.events) > 0 && n.events[0].at <= t {
		n.deliver(n.events.pop())
	}
	n.now = max(n.now, t)
}

// AdvanceBefore performs, in order, every delivery due before t, including
// those scheduled by handlers along the way, then sets Now to t, leaving
// the deliveries due at t pending: a driver can act at t before them (the
// simulator runs a busy node's overdue timers before the datagrams that
// waited). Time never goes back: a t before Now delivers nothing.
func (n *Network) AdvanceBefore(t time.Duration) {
	n.mu.Lock()
	defer n.mu.Unlock()
	for len(n.events) > 0 && n.events[0].at < t {
		n.deliver(n.events.pop())
	}
	n.now = max(n.now, t)
}

// Stats returns a snapshot of the network's counters.
func (n *Network) Stats() NetworkStats {
	n.mu.Lock()
	defer n.mu.Unlock()
	s := n.stats
	s.Pending = uint64(len(n.events) - n.wakes)
	return s
}

// deliver hands ev to its destination at ev.at. n.mu must be held; it is
// released while a handler runs.
func (n *Network) deliver(ev event) {
	n.now = max(n.now, ev.at)
	e := n.slots[ev.dst].ep
	switch {
	case ev.src == wakeSrc:
		n.wakes--
		if e != nil && e.wakeSeq == ev.seq {
			e.wakeSeq = 0
			n.drain(e)
		}
	case e == nil:
		n.stats.DropClosed++
		n.pool.put(ev.buf)
	case e.paused || e.handler == nil || e.wakeSeq != 0 || n.now < e.busyUntil:
		e.enqueue(ev.src, ev.buf)
	default:
		n.handle(e, e.handler, ev.src, ev.buf)
	}
}

// wakeSrc marks an event that is not a datagram but a busy endpoint's
// return to its queue.
const wakeSrc = -1

// wakeAt schedules e's return to its queue at time at. n.mu must be held.
func (n *Network) wakeAt(e *Endpoint, at time.Duration) {
	n.seq++
	n.wakes++
	e.wakeSeq = n.seq
	n.events.push(event{at: at, seq: n.seq, src: wakeSrc, dst: e.slot})
}

// drain hands e's queued datagrams to its handler in arrival order while
// e is free: when a handler leaves e busy (SetBusy), the rest wait for a
// wake at the end of the busy time. It stops if a handler pauses or closes
// the endpoint, or removes the handler. n.mu must be held.
func (n *Network) drain(e *Endpoint) {
	for !e.paused && !e.closed && e.handler != nil && e.queue.len > 0 {
		if n.now < e.busyUntil {
			if e.wakeSeq == 0 {
				n.wakeAt(e, e.busyUntil)
			}
			return
		}
		src, buf := e.dequeue()
		n.handle(e, e.handler, src, buf)
	}
}

// handle calls h with a datagram for e and recycles the buffer. n.mu must
// be held; it is released during the call.
func (n *Network) handle(e *Endpoint, h func(netip.AddrPort, []byte), src int32, buf []byte) {
	n.stats.Delivered++
	n.stats.BytesDelivered += uint64(len(buf))
	e.stats.DatagramsIn++
	e.stats.BytesIn += uint64(len(buf))
	from := n.slots[src].addr
	n.mu.Unlock()
	defer func() {
		n.mu.Lock()
		n.pool.put(buf)
	}()
	h(from, buf)
}

// send routes one datagram from endpoint e. n.mu must be held. The checks
// run in the order documented on Link; each drop is counted once. A
// datagram sent while e is busy leaves at the end of the busy time.
func (n *Network) send(e *Endpoint, to netip.AddrPort, b []byte) {
	n.stats.Sent++
	n.stats.BytesSent += uint64(len(b))
	e.stats.DatagramsOut++
	e.stats.BytesOut += uint64(len(b))
	dst, ok := n.index[normalize(to)]
	if !ok || n.slots[dst].ep == nil {
		n.stats.DropUnreachable++
		return
	}
	src := e.slot
	l := &n.link
	if len(n.links) > 0 {
		if o, ok := n.links[pairKey(src, dst)]; ok {
			l = o
		}
	}
	switch {
	case len(b) > l.mtu():
		n.stats.DropMTU++
		return
	case n.partitioned && n.slots[src].group != n.slots[dst].group:
		n.stats.DropPartition++
		return
	case l.Down:
		n.stats.DropDown++
		return
	case l.Loss > 0 && n.rng.Float64() < l.Loss:
		n.stats.DropLoss++
		return
	}
	sf, df := n.slots[src].faults, n.slots[dst].faults
	if (sf != nil && sf.Loss > 0 && n.rng.Float64() < sf.Loss) ||
		(df != nil && df.Loss > 0 && n.rng.Float64() < df.Loss) {
		n.stats.DropFault++
		return
	}
	// A busy endpoint's datagrams leave when its work is done.
	depart := max(n.now, e.busyUntil)
	copies := 1
	if l.Duplicate > 0 && n.rng.Float64() < l.Duplicate {
		copies = 2
		n.stats.Duplicated++
	}
	for range copies {
		d := l.Latency.Sample(n.rng)
		if l.Reorder > 0 && n.rng.Float64() < l.Reorder {
			n.stats.Reordered++
			if l.ReorderDelay > 0 {
				d = addSat(d, l.ReorderDelay)
			} else {
				d = addSat(d, l.Latency.Sample(n.rng))
			}
		}
		if sf != nil {
			d = addSat(d, sf.Delay.Sample(n.rng))
		}
		if df != nil {
			d = addSat(d, df.Delay.Sample(n.rng))
		}
		buf := n.pool.get(len(b))
		copy(buf, b)
		n.seq++
		n.events.push(event{at: addSat(depart, d), seq: n.seq, src: src, dst: dst, buf: buf})
	}
}

// addSat returns a+b for non-negative durations, saturating at the largest
// Duration instead of wrapping.
func addSat(a, b time.Duration) time.Duration {
	if s := a + b; s >= a {
		return s
	}
	return math.MaxInt64
}

// pairKey is the key of the ordered pair (from, to) in Network.links.
func pairKey(from, to int32) uint64 {
	return uint64(uint32(from))<<32 | uint64(uint32(to))
}
