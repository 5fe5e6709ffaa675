package netio_test

import (
	"net/netip"
	"testing"

	"github.com/hearsay-io/hearsay/netio"
)

func TestMessagePoolShapes(t *testing.T) {
	p := netio.NewMessagePool(1400)
	for _, tt := range []struct{ k, want int }{
		{-1, 1}, {0, 1}, {1, 1}, {2, 2}, {3, 4}, {4, 4}, {5, 8}, {64, 64}, {65, 128},
		{netio.MaxPoolBatch, netio.MaxPoolBatch}, {netio.MaxPoolBatch + 1, netio.MaxPoolBatch},
	} {
		b := p.Get(tt.k)
		if len(b) != tt.want {
			t.Errorf("Get(%d): %d slots, want %d", tt.k, len(b), tt.want)
		}
		for i, m := range b {
			if len(m.Buf) != 1400 || cap(m.Buf) != 1400 || m.N != 0 || m.Addr.IsValid() {
				t.Fatalf("Get(%d)[%d] = {len %d, cap %d, N %d, %v}, want an empty 1400-byte buffer", tt.k, i, len(m.Buf), cap(m.Buf), m.N, m.Addr)
			}
		}
		p.Put(b)
	}
}

func TestMessagePoolReuse(t *testing.T) {
	p := netio.NewMessagePool(100)
	b := p.Get(8)
	b[3].N, b[3].Buf, b[3].Addr = 7, b[3].Buf[:7], netip.MustParseAddrPort("127.0.0.1:9")
	b[0].Buf, b[1].Buf = b[1].Buf, b[0].Buf // as compact exchanges them
	first := &b[0]
	p.Put(b)
	c := p.Get(8)
	if &c[0] != first {
		t.Fatalf("Get after Put returned a new batch, want the one put")
	}
	if c[3].N != 0 || len(c[3].Buf) != 100 || c[3].Addr.IsValid() {
		t.Errorf("a reused message is {N %d, len %d, %v}, want it reset", c[3].N, len(c[3].Buf), c[3].Addr)
	}
	// Foreign shapes go to the garbage collector.
	p.Put(netio.NewMessages(3, 100)) // not a power of two
	p.Put(netio.NewMessages(4, 200)) // other buffer size
	p.Put(nil)
	if d := p.Get(4); cap(d[0].Buf) != 100 {
		t.Errorf("Get(4) after foreign Puts: buffers of %d bytes, want 100", cap(d[0].Buf))
	}
}

// TestMessagePoolBound checks what a pool keeps of a burst put back: as
// many free batches as are still out (taken, not put back), at least two,
// and at most about PoolBytesPerClass bytes.
func TestMessagePoolBound(t *testing.T) {
	const size = 1 << 14 // 16 KiB buffers: 64 one-slot batches fill a class
	keep := netio.PoolBytesPerClass / size
	for _, tt := range []struct{ taken, stillOut, want int }{
		{taken: 10, stillOut: 0, want: 2},                 // all back: two kept
		{taken: 10, stillOut: 5, want: 5},                 // as many as are out
		{taken: 4 * keep, stillOut: 2 * keep, want: keep}, // the byte bound
	} {
		p := netio.NewMessagePool(size)
		var out [][]netio.Message
		for range tt.taken {
			out = append(out, p.Get(1))
		}
		back := out[:tt.taken-tt.stillOut]
		seen := make(map[*netio.Message]bool)
		for _, b := range back {
			seen[&b[0]] = true
		}
		// Put back the ones still out last, as readers that shrink do:
		// count what is kept of back alone by putting it first.
		for _, b := range back {
			p.Put(b)
		}
		reused := 0
		for range len(back) {
			if seen[&p.Get(1)[0]] {
				reused++
			}
		}
		if reused != tt.want {
			t.Errorf("%d taken, %d put back, %d still out: %d kept, want %d", tt.taken, len(back), tt.stillOut, reused, tt.want)
		}
	}
}

func TestSharedMessagePool(t *testing.T) {
	if a, b := netio.SharedMessagePool(1400), netio.SharedMessagePool(1400); a != b {
		t.Errorf("SharedMessagePool(1400) returned two pools")
	}
	if a, b := netio.SharedMessagePool(1400), netio.SharedMessagePool(2048); a == b || b.BufSize() != 2048 {
		t.Errorf("SharedMessagePool(1400) and (2048) share a pool or the second has %d-byte buffers", b.BufSize())
	}
}

// BenchmarkMessagePool measures taking a batch and putting it back, as a
// node's reader and core goroutine do once per read.
func BenchmarkMessagePool(b *testing.B) {
	p := netio.NewMessagePool(1400)
	p.Put(p.Get(8))
	b.ReportAllocs()
	for b.Loop() {
		p.Put(p.Get(8))
	}
}
