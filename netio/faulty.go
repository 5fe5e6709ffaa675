package netio

import (
	"math/rand/v2"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"
)

// DefaultDelayQueueLimit is the default number of datagrams Faulty holds
// back for delay.
const DefaultDelayQueueLimit = 4096

// FaultConfig configures NewFaulty. The zero value injects nothing.
type FaultConfig struct {
	// Seed seeds the wrapper's random generators (one for writes, one for
	// reads). Decisions are reproducible for a given seed and order of
	// datagrams on each side.
	Seed uint64
	// Loss is the probability in [0, 1] that a written datagram is dropped
	// before it reaches the wrapped transport (egress loss, as netem applies
	// it). Use ReadLoss for ingress.
	Loss float64
	// ReadLoss is the probability in [0, 1] that a datagram read from the
	// wrapped transport is dropped before the caller sees it.
	ReadLoss float64
	// Delay holds each written datagram back this long (wall-clock time)
	// before the wrapper's goroutine writes it to the wrapped transport.
	Delay time.Duration
	// Jitter adds a uniform random delay in [0, Jitter) on top of Delay, so
	// datagrams sent closer together than Jitter are reordered.
	Jitter time.Duration
	// QueueLimit bounds the datagrams held back for delay; overflow is
	// dropped and counted in DropBufferFull. Zero means
	// DefaultDelayQueueLimit.
	QueueLimit int
}

// faultState is the part of the configuration that can change at run time,
// published as an immutable value and read without locks.
type faultState struct {
	loss, readLoss float64
	blocked        map[netip.AddrPort]struct{} // partitioned addresses
}

// isBlocked reports whether a is cut off by Partition.
func (s *faultState) isBlocked(a netip.AddrPort) bool {
	if len(s.blocked) == 0 {
		return false
	}
	_, ok := s.blocked[normalize(a)]
	return ok
}

// Faulty wraps a Transport and injects faults: loss on write and on read,
// delay with jitter on write, and partitions by address. It works on any
// Transport, real UDP included, where the kernel offers no netem. Its own
// drops are counted in DropInjected (loss and partition) and DropBufferFull
// (delay queue full); the other counters are the wrapped transport's, so
// DatagramsIn includes datagrams the wrapper then dropped.
//
// With Delay or Jitter set, a goroutine owned by the wrapper writes the
// delayed datagrams; Close stops it and waits for it, discarding datagrams
// still held back (counted in DropOther). Delays use wall-clock time: for
// the in-memory Network use Link latencies instead.
//
// Faulty is safe for concurrent use. Without delay it adds no allocation to
// the wrapped transport's; with delay it copies each datagram into a pooled
// buffer and does not allocate in steady state.
type Faulty struct {
	t Transport

	cmu   sync.Mutex // serializes configuration changes
	state atomic.Pointer[faultState]

	wmu     sync.Mutex
	wrng    *rand.Rand
	scratch []Message // the filtered batch, guarded by wmu

	rmu  sync.Mutex
	rrng *rand.Rand

	dq     *delayQueue // nil without Delay and Jitter
	ctr    counters    // only the wrapper's drops
	closed atomic.Bool
}

// NewFaulty wraps t. The wrapper owns t: closing the wrapper closes t.
func NewFaulty(t Transport, cfg FaultConfig) *Faulty {
	f := &Faulty{
		t:    t,
		wrng: rand.New(rand.NewPCG(cfg.Seed, 1)),
		rrng: rand.New(rand.NewPCG(cfg.Seed, 2)),
	}
	f.state.Store(&faultState{loss: cfg.Loss, readLoss: cfg.ReadLoss})
	if cfg.Delay > 0 || cfg.Jitter > 0 {
		limit := cfg.QueueLimit
		if limit <= 0 {
			limit = DefaultDelayQueueLimit
		}
		f.dq = newDelayQueue(t, &f.ctr, cfg.Delay, cfg.Jitter, limit)
	}
	return f
}

// update publishes a changed copy of the configuration.
func (f *Faulty) update(change func(s *faultState)) {
	f.cmu.Lock()
	defer f.cmu.Unlock()
	s := *f.state.Load()
	change(&s)
	f.state.Store(&s)
}

// SetLoss changes the write loss probability.
func (f *Faulty) SetLoss(p float64) { f.update(func(s *faultState) { s.loss = p }) }

// SetReadLoss changes the read loss probability.
func (f *Faulty) SetReadLoss(p float64) { f.update(func(s *faultState) { s.readLoss = p }) }

// Partition drops every datagram written to, or read from, the given
// addresses until Heal, replacing any previous set.
func (f *Faulty) Partition(addrs []netip.AddrPort) {
	m := make(map[netip.AddrPort]struct{}, len(addrs))
	for _, a := range addrs {
		m[normalize(a)] = struct{}{}
	}
	f.update(func(s *faultState) { s.blocked = m })
}

// Heal removes the partition.
func (f *Faulty) Heal() { f.update(func(s *faultState) { s.blocked = nil }) }

// LocalAddr returns the wrapped transport's address.
func (f *Faulty) LocalAddr() netip.AddrPort { return f.t.LocalAddr() }

// Stats returns the wrapped transport's counters plus the wrapper's drops.
func (f *Faulty) Stats() Stats {
	s := f.t.Stats()
	w := f.ctr.snapshot()
	s.DropInjected += w.DropInjected
	s.DropBufferFull += w.DropBufferFull
	s.DropOther += w.DropOther
	return s
}

// ReadBatch reads from the wrapped transport and drops datagrams from
// partitioned addresses and, with probability ReadLoss, others. It blocks
// until at least one datagram survives.
func (f *Faulty) ReadBatch(msgs []Message) (int, error) {
	for {
		k, err := f.t.ReadBatch(msgs)
		if err != nil || k == 0 {
			return k, err
		}
		s := f.state.Load()
		if s.readLoss <= 0 && len(s.blocked) == 0 {
			return k, nil
		}
		f.rmu.Lock()
		j := 0
		for i := range k {
			if s.isBlocked(msgs[i].Addr) || (s.readLoss > 0 && f.rrng.Float64() < s.readLoss) {
				continue
			}
			if j != i {
				compact(msgs, j, i)
			}
			j++
		}
		f.rmu.Unlock()
		if d := k - j; d > 0 {
			f.ctr.dropInjectedIn.Add(uint64(d))
		}
		if j > 0 {
			return j, nil
		}
	}
}

// WriteBatch drops datagrams to partitioned addresses and, with probability
// Loss, others, then writes the rest to the wrapped transport, at once or
// after the configured delay. It returns len(msgs), or ErrClosed.
func (f *Faulty) WriteBatch(msgs []Message) (int, error) {
	if f.closed.Load() {
		return 0, ErrClosed
	}
	s := f.state.Load()
	if s.loss <= 0 && len(s.blocked) == 0 && f.dq == nil {
		return f.t.WriteBatch(msgs)
	}
	f.wmu.Lock()
	defer f.wmu.Unlock()
	out := f.scratch[:0]
	for i := range msgs {
		if s.isBlocked(msgs[i].Addr) || (s.loss > 0 && f.wrng.Float64() < s.loss) {
			f.ctr.dropInjectedOut.Add(1)
			continue
		}
		if f.dq != nil {
			f.dq.add(msgs[i].Addr, msgs[i].Buf, f.wrng)
			continue
		}
		out = append(out, msgs[i])
	}
	f.scratch = out
	defer clear(out) // do not keep the caller's buffers alive
	if len(out) > 0 {
		if _, err := f.t.WriteBatch(out); err != nil {
			return 0, err
		}
	}
	return len(msgs), nil
}

// Close stops the delay goroutine, if any, and closes the wrapped
// transport. It is idempotent.
func (f *Faulty) Close() error {
	if !f.closed.CompareAndSwap(false, true) {
		return nil
	}
	if f.dq != nil {
		f.dq.stop()
	}
	return f.t.Close()
}
