package netio

import (
	"math/bits"
	"net/netip"
	"sync"
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
// at most as many as are out (taken and not yet put back), at least two,
// and never more than about PoolBytesPerClass bytes; what is put back
// beyond that is left to the garbage collector, so that once the readers
// of a burst have gone back to small batches, the burst's large ones do
// not stay pinned. A MessagePool is safe for concurrent use.
type MessagePool struct {
	size int // bytes per buffer
	keep int // most free batches kept per class, for the 1-slot class
	mu   sync.Mutex
	free [poolClasses][][]Message
	out  [poolClasses]int // batches taken and not put back
}

// Pool bounds.
const (
	// MaxPoolBatch is the largest batch a MessagePool hands out.
	MaxPoolBatch = 1 << (poolClasses - 1)
	// PoolBytesPerClass bounds the free batches a pool keeps per slot
	// count, in buffer bytes.
	PoolBytesPerClass = 1 << 20

	poolClasses = 11 // 1 .. 1,024 slots
)

// NewMessagePool returns a pool of batches whose buffers hold size bytes.
func NewMessagePool(size int) *MessagePool {
	size = max(size, 1)
	return &MessagePool{size: size, keep: PoolBytesPerClass / size}
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
	f := append(p.free[c], msgs)
	for keep := max(2, min(p.out[c], p.keep>>c)); len(f) > keep; {
		f[len(f)-1] = nil
		f = f[:len(f)-1]
	}
	p.free[c] = f
	p.mu.Unlock()
}
