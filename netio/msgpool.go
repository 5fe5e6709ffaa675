package netio

import (
	"math/bits"
	"net/netip"
	"sync"
	"time"
)

// MessagePool recycles batches of receive buffers (the []Message of
// NewMessages) among the sockets of a process, so that memory follows the
// datagrams in flight rather than the number of sockets: a reader takes a
// batch just before it reads and whoever handles the datagrams puts it
// back. An idle socket then holds one small batch, and a thousand nodes in
// one process share the few large batches that bursts need.
//
// Batches come in power-of-two slot counts from 1 to MaxPoolBatch; every
// buffer has the pool's buffer size. After warm-up, Get and Put allocate
// nothing. The free batches a pool keeps of each slot count follow its use:
// as many as were ever out at once (taken and not yet put back) while the
// slot count is in use, never more than about PoolBytesPerClass bytes
// (but always four, so that one reader cycling three batches through a
// slot count never drops one); and
// the free batches of a slot count that nobody took for PoolIdleTime (up
// to twice that) are let go, unless each holds at most PoolIdleBytes. What is let go is
// left to the garbage collector: once the readers of a burst have gone
// back to small batches, the burst's large ones do not stay pinned, while
// the batches in steady use are never dropped and taken again. A
// MessagePool is safe for concurrent use.
type MessagePool struct {
	size int // bytes per buffer
	keep int // most free batches kept per class, for the 1-slot class
	mu   sync.Mutex
	free [poolClasses][][]Message
	out  [poolClasses]int // batches taken and not put back
	peak [poolClasses]int // most batches out at once since the class was last idle
	took [poolClasses]int // Gets since the last ageing
	puts int              // Puts since the clock was last read
	aged time.Time        // the last ageing
	now  func() time.Time // the clock; time.Now but in tests
}

// Pool bounds.
const (
	// MaxPoolBatch is the largest batch a MessagePool hands out.
	MaxPoolBatch = 1 << (poolClasses - 1)
	// PoolBytesPerClass bounds the free batches a pool keeps per slot
	// count, in buffer bytes.
	PoolBytesPerClass = 256 << 10
	// PoolIdleTime is how long a slot count no one takes keeps its free
	// batches (between once and twice this): long enough that batches in
	// use every few seconds are never dropped and allocated again, short
	// enough that a burst's do not stay.
	PoolIdleTime = 15 * time.Second
	// PoolIdleBytes is what an idle slot count keeps: its free batches of
	// at most this many buffer bytes each, all others let go.
	PoolIdleBytes = 16 << 10

	poolClasses   = 11 // 1 .. 1,024 slots
	poolClockPuts = 16 // Puts between two readings of the clock
	poolMinKeep   = 4  // free batches a slot count in use may always keep
)

// NewMessagePool returns a pool of batches whose buffers hold size bytes.
func NewMessagePool(size int) *MessagePool {
	size = max(size, 1)
	return &MessagePool{size: size, keep: PoolBytesPerClass / size, now: time.Now, aged: time.Now()}
}

// sharedPools are the process's pools, one per buffer size.
var sharedPools struct {
	mu sync.Mutex
	m  map[int]*MessagePool
}

// SharedMessagePool returns the process's pool for buffers of size bytes:
// every caller asking for the same size shares one pool. It is meant to be
// called when a socket is opened, not per datagram.
func SharedMessagePool(size int) *MessagePool {
	sharedPools.mu.Lock()
	defer sharedPools.mu.Unlock()
	if p, ok := sharedPools.m[size]; ok {
		return p
	}
	if sharedPools.m == nil {
		sharedPools.m = make(map[int]*MessagePool)
	}
	p := NewMessagePool(size)
	sharedPools.m[size] = p
	return p
}

// BufSize returns the bytes each buffer of the pool holds.
func (p *MessagePool) BufSize() int { return p.size }

// poolClass returns the class of the smallest batch of at least k slots,
// 1 ≤ k ≤ MaxPoolBatch.
func poolClass(k int) int { return bits.Len(uint(k - 1)) }

// Get returns a batch of k slots rounded up to a power of two (k is
// clamped to [1, MaxPoolBatch]), each with a buffer of BufSize bytes, N
// zero and no address. The caller owns it until Put.
func (p *MessagePool) Get(k int) []Message {
	c := poolClass(min(max(k, 1), MaxPoolBatch))
	p.mu.Lock()
	p.out[c]++
	p.peak[c] = max(p.peak[c], p.out[c])
	p.took[c]++
	f := p.free[c]
	if n := len(f); n > 0 {
		b := f[n-1]
		f[n-1] = nil
		p.free[c] = f[:n-1]
		p.mu.Unlock()
		return b
	}
	p.mu.Unlock()
	return NewMessages(1<<c, p.size)
}

// Put returns a batch obtained from Get. Its messages are reset (N, Addr
// and Buf restored to the full buffer). A batch of a foreign shape (a slot
// count that is not a power of two, or buffers of another size) is left
// to the garbage collector.
func (p *MessagePool) Put(msgs []Message) {
	k := len(msgs)
	if k == 0 || k > MaxPoolBatch || k&(k-1) != 0 {
		return
	}
	for i := range msgs {
		m := &msgs[i]
		if cap(m.Buf) != p.size {
			return
		}
		m.Buf = m.Buf[:cap(m.Buf)]
		m.N = 0
		m.Addr = netip.AddrPort{}
	}
	c := poolClass(k)
	p.mu.Lock()
	p.out[c] = max(p.out[c]-1, 0)
	p.free[c] = trim(append(p.free[c], msgs), min(p.peak[c], max(poolMinKeep, p.keep>>c)))
	// Read the clock every poolClockPuts Puts only: a quiet socket puts a
	// few batches a second, a busy process thousands.
	if p.puts++; p.puts >= poolClockPuts {
		p.puts = 0
		if now := p.now(); now.Sub(p.aged) >= PoolIdleTime {
			p.age(now)
		}
	}
	p.mu.Unlock()
}

// age lets go of the free batches of the slot counts no one took since the
// last ageing, keeping those of at most PoolIdleBytes, and starts the next
// period. Called with mu held.
func (p *MessagePool) age(now time.Time) {
	p.aged = now
	for c := range p.free {
		if p.took[c] == 0 && p.size<<c > PoolIdleBytes {
			p.free[c] = trim(p.free[c], 0)
			p.peak[c] = p.out[c]
		}
		p.took[c] = 0
	}
}

// trim drops the batches of f past the first keep.
func trim(f [][]Message, keep int) [][]Message {
	for len(f) > keep {
		f[len(f)-1] = nil
		f = f[:len(f)-1]
	}
	return f
}
