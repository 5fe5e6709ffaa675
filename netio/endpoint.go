package netio

import (
	"net/netip"
	"sync"
	"time"
)

// Endpoint is one address on a Network. It works in one of two modes:
//
//   - Queue mode (the default): deliveries wait in the endpoint's queue
//     (bounded by QueueLimit) until ReadBatch copies them out. ReadBatch
//     blocks until a delivery or Close, so an Endpoint can stand in for a
//     UDP socket in code that reads from its own goroutine while another
//     goroutine drives the clock.
//   - Handler mode (after SetHandler): each delivery calls the handler
//     synchronously inside Step, AdvanceTo or Resume. This is the
//     simulator's mode: no goroutine, no copy, no queue (except while
//     paused or busy).
//
// A driver that charges for work marks an endpoint busy (SetBusy) for as
// long as its reader is working, as a single CPU would be: deliveries
// meanwhile wait in the endpoint's queue, bounded like a socket's receive
// buffer (NetworkConfig.QueueLimit and QueueBytes), and the endpoint's own
// datagrams leave when the work is done.
//
// An Endpoint implements Transport. Its methods are safe for concurrent
// use.
type Endpoint struct {
	n    *Network
	slot int32
	addr netip.AddrPort

	// Guarded by n.mu:
	handler func(from netip.AddrPort, b []byte)
	queue   dgramQueue
	cond    *sync.Cond // readers blocked in ReadBatch; created on first wait
	waiting int32
	closed  bool
	paused  bool
	stats   Stats

	busyUntil  time.Duration // deliveries before this time wait in the queue
	wakeSeq    uint64        // seq of the pending wake event, or 0
	queueBytes int           // bytes queued, as QueueBytes counts them
	peakBytes  int           // the most queueBytes has been
	peakLen    int           // the most datagrams queued at once
}

// Backlog describes an endpoint's queue.
type Backlog struct {
	// Datagrams and Bytes are what waits now; Bytes counts each datagram's
	// payload plus NetworkConfig.QueueOverhead, as QueueBytes does.
	Datagrams, Bytes int
	// PeakDatagrams and PeakBytes are the most that ever waited at once.
	PeakDatagrams, PeakBytes int
}

// SetBusy marks the endpoint's reader busy until the virtual time until,
// as a driver that charges for work does after handing it a datagram or
// running its timers. Until then, in handler mode, deliveries wait in the
// endpoint's queue (bounded by QueueLimit and QueueBytes, overflow dropped
// and counted in DropQueueFull); at until the network hands them to the
// handler one at a time, each as soon as the endpoint is free again, so a
// handler that calls SetBusy again holds back the rest. Datagrams the
// endpoint sends while busy leave at until, their link delay counted from
// then. A time not later than the current busy time changes nothing.
func (e *Endpoint) SetBusy(until time.Duration) {
	e.n.mu.Lock()
	defer e.n.mu.Unlock()
	e.busyUntil = max(e.busyUntil, until)
}

// BusyUntil returns the time set by SetBusy: the endpoint is busy while
// the network's Now is before it.
func (e *Endpoint) BusyUntil() time.Duration {
	e.n.mu.Lock()
	defer e.n.mu.Unlock()
	return e.busyUntil
}

// Backlog returns the state of the endpoint's queue.
func (e *Endpoint) Backlog() Backlog {
	e.n.mu.Lock()
	defer e.n.mu.Unlock()
	return Backlog{Datagrams: e.queue.len, Bytes: e.queueBytes, PeakDatagrams: e.peakLen, PeakBytes: e.peakBytes}
}

// SetHandler switches the endpoint to handler mode: from now on each
// delivery calls h(from, b) synchronously inside Step, AdvanceTo or Resume,
// without the network's lock held, so h may send (new deliveries are
// scheduled from the current Now) and call any other method. b is valid only
// during the call; h must copy what it keeps. Datagrams already queued stay
// readable by ReadBatch. A nil h returns the endpoint to queue mode.
func (e *Endpoint) SetHandler(h func(from netip.AddrPort, b []byte)) {
	e.n.mu.Lock()
	defer e.n.mu.Unlock()
	e.handler = h
}

// LocalAddr returns the endpoint's address.
func (e *Endpoint) LocalAddr() netip.AddrPort { return e.addr }

// Send sends one datagram to the address to; the network copies b. Sending
// on a closed endpoint does nothing.
func (e *Endpoint) Send(to netip.AddrPort, b []byte) {
	e.n.mu.Lock()
	defer e.n.mu.Unlock()
	if e.closed {
		return
	}
	e.stats.BatchesOut++
	e.n.send(e, to, b)
}

// WriteBatch sends each msgs[i].Buf to msgs[i].Addr; the network copies the
// bytes, so the caller may reuse them at once. It returns len(msgs), or 0
// and ErrClosed after Close. It does not allocate once the network's buffer
// pool has warmed up.
func (e *Endpoint) WriteBatch(msgs []Message) (int, error) {
	e.n.mu.Lock()
	defer e.n.mu.Unlock()
	if e.closed {
		return 0, ErrClosed
	}
	if len(msgs) > 0 {
		e.stats.BatchesOut++
	}
	for i := range msgs {
		e.n.send(e, msgs[i].Addr, msgs[i].Buf)
	}
	return len(msgs), nil
}

// ReadBatch blocks until the endpoint's queue holds a datagram (and the
// endpoint is not paused) or the endpoint is closed, then copies up to
// len(msgs) datagrams out in arrival order. A datagram larger than the
// message's buffer is dropped and counted. It returns 0 and ErrClosed after
// Close. It does not allocate, except to create the endpoint's condition
// variable the first time it blocks.
func (e *Endpoint) ReadBatch(msgs []Message) (int, error) {
	n := e.n
	n.mu.Lock()
	defer n.mu.Unlock()
	for {
		for !e.closed && len(msgs) > 0 && (e.paused || e.queue.len == 0) {
			if e.cond == nil {
				e.cond = sync.NewCond(&n.mu)
			}
			e.waiting++
			e.cond.Wait()
			e.waiting--
		}
		if e.closed {
			return 0, ErrClosed
		}
		if len(msgs) == 0 {
			return 0, nil
		}
		k, bytes := 0, 0
		for k < len(msgs) && e.queue.len > 0 {
			src, buf := e.dequeue()
			if len(buf) > len(msgs[k].Buf) {
				n.stats.DropTooLarge++
				e.stats.DropTooLarge++
				n.pool.put(buf)
				continue
			}
			msgs[k].N = copy(msgs[k].Buf, buf)
			msgs[k].Addr = n.slots[src].addr
			bytes += len(buf)
			n.pool.put(buf)
			k++
		}
		if k > 0 {
			n.stats.Delivered += uint64(k)
			n.stats.BytesDelivered += uint64(bytes)
			e.stats.DatagramsIn += uint64(k)
			e.stats.BytesIn += uint64(bytes)
			e.stats.BatchesIn++
			return k, nil
		}
	}
}

// Pending returns the number of datagrams waiting in the endpoint's queue:
// unread in queue mode, or held while paused.
func (e *Endpoint) Pending() int {
	e.n.mu.Lock()
	defer e.n.mu.Unlock()
	return e.queue.len
}

// Stats returns a snapshot of the endpoint's counters. DatagramsOut counts
// every datagram the endpoint sent, including those the network then lost;
// the network's losses are in Network.Stats.
func (e *Endpoint) Stats() Stats {
	e.n.mu.Lock()
	defer e.n.mu.Unlock()
	return e.stats
}

// Close closes the endpoint: queued datagrams are discarded (counted in
// the network's DropClosed), blocked readers return ErrClosed, and the
// address becomes free for Listen. Close is idempotent and returns nil.
func (e *Endpoint) Close() error {
	n := e.n
	n.mu.Lock()
	defer n.mu.Unlock()
	if e.closed {
		return nil
	}
	e.closed = true
	n.slots[e.slot].ep = nil
	n.stats.Endpoints--
	for e.queue.len > 0 {
		_, buf := e.dequeue()
		n.stats.DropClosed++
		n.pool.put(buf)
	}
	e.queue = dgramQueue{}
	e.wake()
	return nil
}

// enqueue appends a delivery to the queue, or drops it if the queue is at
// its limit in datagrams or in bytes. In handler mode it makes sure a wake
// will hand the queue to the handler. n.mu must be held.
func (e *Endpoint) enqueue(src int32, buf []byte) {
	n := e.n
	size := len(buf) + n.overhead
	if e.queue.len >= n.queueLimit || size > n.queueBytes-e.queueBytes {
		n.stats.DropQueueFull++
		e.stats.DropBufferFull++
		n.pool.put(buf)
		return
	}
	e.queue.push(src, buf)
	e.queueBytes += size
	e.peakBytes = max(e.peakBytes, e.queueBytes)
	e.peakLen = max(e.peakLen, e.queue.len)
	n.stats.Queued++
	n.stats.QueuedBytes += uint64(size)
	if e.paused {
		return
	}
	e.wake()
	if e.handler != nil && e.wakeSeq == 0 {
		n.wakeAt(e, max(n.now, e.busyUntil))
	}
}

// dequeue removes the oldest queued datagram; the queue must not be empty.
// n.mu must be held.
func (e *Endpoint) dequeue() (int32, []byte) {
	src, buf := e.queue.pop()
	size := len(buf) + e.n.overhead
	e.queueBytes -= size
	e.n.stats.Queued--
	e.n.stats.QueuedBytes -= uint64(size)
	return src, buf
}

// wake wakes readers blocked in ReadBatch. n.mu must be held.
func (e *Endpoint) wake() {
	if e.waiting > 0 {
		e.cond.Broadcast()
	}
}

// dgramQueue is a ring of queued datagrams that grows by doubling, so an
// idle endpoint holds no storage and a busy one does not allocate in steady
// state.
type dgramQueue struct {
	items []queued
	head  int
	len   int
}

// queued is a datagram waiting in an endpoint's queue.
type queued struct {
	src int32
	buf []byte
}

// push appends a datagram.
func (q *dgramQueue) push(src int32, buf []byte) {
	if q.len == len(q.items) {
		grown := make([]queued, max(4, 2*len(q.items)))
		for i := range q.len {
			grown[i] = q.items[(q.head+i)%len(q.items)]
		}
		q.items, q.head = grown, 0
	}
	q.items[(q.head+q.len)%len(q.items)] = queued{src: src, buf: buf}
	q.len++
}

// pop removes the oldest datagram; the queue must not be empty.
func (q *dgramQueue) pop() (int32, []byte) {
	it := q.items[q.head]
	q.items[q.head] = queued{}
	q.head = (q.head + 1) % len(q.items)
	q.len--
	return it.src, it.buf
}
