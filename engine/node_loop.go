package engine

import (
	"context"
	"errors"
	"log/slog"
	"math/bits"
	"sync/atomic"
	"time"

	"github.com/hearsay-io/hearsay/detector"
	"github.com/hearsay-io/hearsay/netio"
)

// batch carries a set of receive buffers between the reader and the core
// goroutine: free → buffers from the pool, read into → in → handled,
// buffers back to the pool → free.
type batch struct {
	msgs []netio.Message
	n    int // datagrams read
}

// release returns b's buffers to the pool and b to the reader. Core
// goroutine only.
func (n *Node) release(b *batch) {
	n.rxPool.Put(b.msgs)
	b.msgs, b.n = nil, 0
	n.free <- b
}

// resize adapts the reader's next batch to the last read: k datagrams in a
// batch of size slots. Reader goroutine only.
func (n *Node) resize(k, size int) {
	switch {
	case k == size && size < maxReadBatch:
		n.rxSize, n.rxSmall = 2*size, 0
	case 4*k <= size && size > minReadBatch:
		if n.rxSmall == 0 {
			n.rxMost = 0
		}
		n.rxMost = max(n.rxMost, k)
		if n.rxSmall++; n.rxSmall >= shrinkAfter {
			n.rxSize, n.rxSmall = max(minReadBatch, 1<<bits.Len(uint(2*n.rxMost-1))), 0
		}
	default:
		n.rxSmall = 0
	}
}

// request is a call run on the core's goroutine; done is closed after fn
// and the step that publishes its effects.
type request struct {
	fn   func(now Time)
	done chan struct{}
}

// waiter is a condition on the core that a caller waits for. The core
// goroutine checks it after every step and closes ch once it holds.
type waiter struct {
	cond func() bool
	ch   chan struct{}
	gone atomic.Bool // the caller stopped waiting
}

// do runs fn on the core's goroutine and waits until it ran and its effects
// were sent and published. It returns ErrClosed if the node is closed.
func (n *Node) do(fn func(now Time)) error {
	if n.closed.Load() {
		return ErrClosed
	}
	r := request{fn: fn, done: make(chan struct{})}
	select {
	case n.reqs <- r:
	case <-n.loopDone:
		return ErrClosed
	}
	<-r.done
	return nil
}

// wait blocks until w's condition holds, ctx ends or the node closes.
func (n *Node) wait(ctx context.Context, w *waiter) error {
	select {
	case <-w.ch:
		return nil
	case <-ctx.Done():
		w.gone.Store(true)
		return ctx.Err()
	case <-n.loopDone:
		return ErrClosed
	}
}

// run is the core's goroutine: the only one that touches n.core.
func (n *Node) run() {
	defer n.wg.Done()
	defer close(n.loopDone)
	for {
		n.arm()
		select {
		case <-n.closing:
			n.publishStats()
			n.timer.Stop()
			return
		case b := <-n.in:
			n.handle(b.msgs[:b.n])
			n.release(b)
		case r := <-n.reqs:
			r.fn(n.now())
			n.step()
			close(r.done)
		case <-n.timer.C:
			n.armed = 0
			// Datagrams already read come first: after a stall they may
			// hold the answers the due timers wait for.
			n.drainReady()
			n.core.Tick(n.now())
			n.step()
		}
	}
}

// drainReady handles the batches the reader has already handed over,
// without waiting for more.
func (n *Node) drainReady() {
	for {
		select {
		case b := <-n.in:
			n.handle(b.msgs[:b.n])
			n.release(b)
		default:
			return
		}
	}
}

// now reads the clock for the core.
func (n *Node) now() Time { return monotime() }

// wallTime converts a time of the node's clock to the wall clock: the
// process's start plus the monotonic time elapsed since.
func wallTime(t Time) time.Time { return processStart.Add(time.Duration(t - clockEpoch)) }

// handle feeds a batch of received datagrams to the core and sends and
// publishes the results. It is the runtime's per-datagram path and
// allocates nothing in steady state.
func (n *Node) handle(msgs []netio.Message) {
	now := n.now()
	for i := range msgs {
		m := &msgs[i]
		before := n.keyDrops()
		n.core.Receive(now, m.Addr, m.Buf[:m.N])
		if after := n.keyDrops(); after != before {
			for c := range numCauses {
				if after[c] != before[c] {
					n.noteKeyDrop(now, m.Addr, c)
				}
			}
		}
	}
	n.step()
}

// step finishes a unit of work on the core: send what it emitted, follow
// membership changes in the ring, publish the table, deliver events, wake
// the waiters whose condition now holds, and log (rate-limited) input
// refused at a bound. The ring is published before the table, so a reader
// who sees a change in Members or Member finds it in Ring too.
func (n *Node) step() {
	n.flush()
	if len(n.ringMods) > 0 {
		n.updateRing()
	}
	n.core.Publish()
	n.publishStats()
	if len(n.events) > 0 {
		n.dispatch()
	}
	if n.subs.gaps.Load() > 0 {
		at := n.now()
		n.subs.flushGaps(at, wallTime(at))
	}
	if len(n.waiters) > 0 {
		n.checkWaiters()
	}
	n.logRefusals()
}

// flush writes the core's outbox in batches (sendmmsg on Linux).
func (n *Node) flush() {
	ob := n.core.Outbox()
	if ob.Len() == 0 {
		return
	}
	// WriteBatch fails only on a closed socket, and then the node is
	// stopping; per-datagram failures are counted in the transport's stats.
	_, _ = n.conn.WriteBatch(ob.Messages())
	ob.Reset()
}

// arm sets the timer for the core's next deadline.
func (n *Node) arm() {
	d := n.core.Deadline()
	if d == n.armed {
		return
	}
	n.armed = d
	if d == detector.MaxTime {
		n.timer.Stop()
		return
	}
	n.timer.Reset(max(d.Sub(n.now()), 0))
}

// onEvent is the core's event hook. It runs on the core goroutine in the
// middle of a core call, so it only records: events are delivered by
// dispatch once the step's changes are published, so that a subscriber who
// reads Members or Ring on receiving an event sees at least that change.
// e.Time is set.
func (n *Node) onEvent(e Event) {
	n.events = append(n.events, e)
	if !n.ringOn {
		return
	}
	switch e.Type {
	case EventState, EventSelfDead, EventSelfAlive:
	default:
		n.ringMods[e.Member.ID] = e.Member.State.Live()
	}
}

// dispatch delivers the step's events to the subscribers and logs them.
func (n *Node) dispatch() {
	ctx := context.Background()
	debug := n.log.Enabled(ctx, slog.LevelDebug)
	subs := n.subs.load()
	for i := range n.events {
		e := &n.events[i]
		n.logEvent(ctx, e, debug)
		for _, s := range subs {
			s.deliver(e, &n.subs)
		}
		*e = Event{} // drop the references to key and value memory
	}
	n.events = n.events[:0]
	if cap(n.events) > maxKeptEvents {
		n.events = nil // a join's burst; do not hold its buffer forever
	}
}

// maxKeptEvents bounds the event buffer kept between steps.
const maxKeptEvents = 1024

// checkWaiters wakes the waiters whose condition holds and forgets those
// whose caller gave up.
func (n *Node) checkWaiters() {
	k := 0
	for _, w := range n.waiters {
		switch {
		case w.gone.Load():
		case w.cond():
			close(w.ch)
		default:
			n.waiters[k] = w
			k++
		}
	}
	clear(n.waiters[k:])
	n.waiters = n.waiters[:k]
}

// read is the reader goroutine: it fills free batches from the socket and
// passes them to the core goroutine.
func (n *Node) read() {
	defer n.wg.Done()
	for {
		var b *batch
		select {
		case b = <-n.free:
		case <-n.closing:
			return
		}
		if b.msgs == nil {
			b.msgs = n.rxPool.Get(n.rxSize)
		}
		k, err := n.conn.ReadBatch(b.msgs)
		if err != nil {
			if n.closed.Load() || errors.Is(err, netio.ErrClosed) {
				n.rxPool.Put(b.msgs)
				return
			}
			b.n = 0
			n.free <- b // keeps its buffers for the next read
			if !n.readFailed(err) {
				return
			}
			continue
		}
		n.resize(k, len(b.msgs))
		b.n = k
		n.in <- b // never blocks: in has room for every batch
	}
}

// readFailed logs an unexpected read error (at most once a minute) and
// backs off briefly so that a persistent error does not spin. It reports
// false when the node closed meanwhile.
func (n *Node) readFailed(err error) bool {
	n.readErrs.Add(1)
	if now := time.Now(); now.Sub(n.lastReadLog) >= time.Minute {
		n.lastReadLog = now
		n.log.Warn("reading from the socket failed; retrying", "err", err, "failures", n.readErrs.Load())
	}
	t := time.NewTimer(10 * time.Millisecond)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-n.closing:
		return false
	}
}
