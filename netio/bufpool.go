package netio

import "math/bits"

// bufPool recycles payload buffers in size classes: 64 bytes, then two
// classes per power of two (96, 128, 192, 256, 384, ... 65,536), so a
// datagram wastes at most a third of its buffer. Buffers are carved from
// slabs of about 32 KiB and are never returned to the garbage collector:
// after warm-up, get and put do not allocate. A bufPool is not safe for
// concurrent use; its owner locks around it.
type bufPool struct {
	free [numClasses][][]byte
}

const (
	numClasses = 21       // 64 .. 65,536 bytes
	slabBytes  = 32 << 10 // bytes carved at once for small classes
)

// sizeClass returns the class of the smallest buffer holding n bytes,
// n ≤ 65,536.
func sizeClass(n int) int {
	if n <= 64 {
		return 0
	}
	p := bits.Len(uint(n - 1)) // 2^(p-1) < n ≤ 2^p, p ≥ 7
	if n <= 3<<(p-2) {
		return 2*(p-6) - 1
	}
	return 2 * (p - 6)
}

// classSize returns the buffer size of class c.
func classSize(c int) int {
	if c == 0 {
		return 64
	}
	if c%2 == 0 {
		return 1 << (6 + c/2)
	}
	return 3 << (5 + (c-1)/2)
}

// get returns a buffer of length n (0 ≤ n ≤ 65,536) whose contents are
// undefined.
func (p *bufPool) get(n int) []byte {
	c := sizeClass(n)
	f := p.free[c]
	if len(f) == 0 {
		size := classSize(c)
		k := max(1, slabBytes/size)
		slab := make([]byte, k*size)
		for i := range k {
			f = append(f, slab[i*size:(i+1)*size:(i+1)*size])
		}
	}
	b := f[len(f)-1]
	f[len(f)-1] = nil
	p.free[c] = f[:len(f)-1]
	return b[:n]
}

// put returns a buffer obtained from get. Buffers of a foreign capacity are
// left to the garbage collector.
func (p *bufPool) put(b []byte) {
	c := cap(b)
	if c < 64 || c > 1<<16 {
		return
	}
	k := sizeClass(c)
	if classSize(k) != c {
		return
	}
	p.free[k] = append(p.free[k], b[:c])
}
