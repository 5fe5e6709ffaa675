package netio

import (
	"math/rand/v2"
	"net/netip"
	"sync"
	"time"
)

// delayed is a datagram held back by a delayQueue until due, measured from
// the queue's start.
type delayed struct {
	due  time.Duration
	seq  uint64
	addr netip.AddrPort
	buf  []byte
}

// delayQueue holds written datagrams back and writes them to the wrapped
// transport when due, from one goroutine it owns. The queue is a min-heap
// by (due, seq), so datagrams due at the same time keep their order.
type delayQueue struct {
	t             Transport
	ctr           *counters
	delay, jitter time.Duration
	limit         int
	start         time.Time

	mu    sync.Mutex // guards heap, pool, seq
	heap  []delayed
	pool  bufPool
	seq   uint64
	batch []Message // owned by the goroutine

	wake chan struct{} // capacity 1: "the earliest due time may have changed"
	done chan struct{}
	wg   sync.WaitGroup
}

// delayBatch is the most datagrams the goroutine writes in one call.
const delayBatch = 64

func newDelayQueue(t Transport, ctr *counters, delay, jitter time.Duration, limit int) *delayQueue {
	q := &delayQueue{
		t: t, ctr: ctr, delay: delay, jitter: jitter, limit: limit,
		start: time.Now(),
		batch: make([]Message, 0, delayBatch),
		wake:  make(chan struct{}, 1),
		done:  make(chan struct{}),
	}
	q.wg.Add(1)
	go q.run()
	return q
}

// add copies b and schedules it for addr after the delay and a jitter drawn
// from rng, or drops it if the queue is full.
func (q *delayQueue) add(addr netip.AddrPort, b []byte, rng *rand.Rand) {
	if len(b) > MaxDatagramSize {
		q.ctr.dropTooLargeOut.Add(1)
		return
	}
	d := q.delay
	if q.jitter > 0 {
		d += time.Duration(rng.Int64N(int64(q.jitter)))
	}
	q.mu.Lock()
	if len(q.heap) >= q.limit {
		q.mu.Unlock()
		q.ctr.dropBufferFull.Add(1)
		return
	}
	buf := q.pool.get(len(b))
	copy(buf, b)
	q.seq++
	q.push(delayed{due: time.Since(q.start) + d, seq: q.seq, addr: addr, buf: buf})
	first := q.heap[0].seq == q.seq
	q.mu.Unlock()
	if first {
		select {
		case q.wake <- struct{}{}:
		default:
		}
	}
}

// run writes datagrams as they fall due until stop.
func (q *delayQueue) run() {
	defer q.wg.Done()
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	for {
		q.mu.Lock()
		now := time.Since(q.start)
		out := q.batch[:0]
		for len(q.heap) > 0 && q.heap[0].due <= now && len(out) < delayBatch {
			d := q.pop()
			out = append(out, Message{Addr: d.addr, Buf: d.buf})
		}
		wait := time.Duration(-1)
		if len(out) == 0 && len(q.heap) > 0 {
			wait = q.heap[0].due - now
		}
		q.mu.Unlock()

		if len(out) > 0 {
			// An error means the wrapped transport is closed: the wrapper
			// is closing too, and stop will be called.
			q.t.WriteBatch(out)
			q.mu.Lock()
			for i := range out {
				q.pool.put(out[i].Buf)
			}
			q.mu.Unlock()
			clear(out)
			q.batch = out[:0]
			continue
		}
		var tc <-chan time.Time
		if wait >= 0 {
			timer.Reset(wait)
			tc = timer.C
		}
		select {
		case <-q.wake:
		case <-tc:
		case <-q.done:
			timer.Stop()
			return
		}
		timer.Stop()
	}
}

// stop ends the goroutine, waits for it, and discards what is left,
// counting it in DropOther.
func (q *delayQueue) stop() {
	close(q.done)
	q.wg.Wait()
	q.mu.Lock()
	defer q.mu.Unlock()
	if n := len(q.heap); n > 0 {
		q.ctr.dropOther.Add(uint64(n))
	}
	clear(q.heap)
	q.heap = q.heap[:0]
}

// push adds d to the heap.
func (q *delayQueue) push(d delayed) {
	q.heap = append(q.heap, d)
	i := len(q.heap) - 1
	for i > 0 {
		p := (i - 1) / 2
		if !delayedBefore(&d, &q.heap[p]) {
			break
		}
		q.heap[i] = q.heap[p]
		i = p
	}
	q.heap[i] = d
}

// pop removes the earliest datagram; the heap must not be empty.
func (q *delayQueue) pop() delayed {
	h := q.heap
	top := h[0]
	n := len(h) - 1
	last := h[n]
	h[n] = delayed{}
	h = h[:n]
	q.heap = h
	if n == 0 {
		return top
	}
	i := 0
	for {
		c := 2*i + 1
		if c >= n {
			break
		}
		if r := c + 1; r < n && delayedBefore(&h[r], &h[c]) {
			c = r
		}
		if !delayedBefore(&h[c], &last) {
			break
		}
		h[i] = h[c]
		i = c
	}
	h[i] = last
	return top
}

func delayedBefore(a, b *delayed) bool {
	return a.due < b.due || (a.due == b.due && a.seq < b.seq)
}
