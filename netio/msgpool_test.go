package netio_test

import (
	"net/netip"
	"testing"
	"time"

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

// TestMessagePoolKeeps checks what a pool keeps of batches put back: as
// many as were out at once, within about PoolBytesPerClass bytes; and,
// once PoolAgePuts puts have passed with no one taking a slot count, none
// of a slot count whose batches exceed PoolIdleBytes, once no one took
// them for twice PoolIdleTime.
func TestMessagePoolKeeps(t *testing.T) {
	// kept takes n batches of k slots and reports how many of the n
	// put back before are among them.
	take := func(p *netio.MessagePool, n, k int) [][]netio.Message {
		var out [][]netio.Message
		for range n {
			out = append(out, p.Get(k))
		}
		return out
	}
	kept := func(p *netio.MessagePool, back [][]netio.Message, k int) int {
		seen := make(map[*netio.Message]bool)
		for _, b := range back {
			seen[&b[0]] = true
		}
		n := 0
		for _, b := range take(p, len(back), k) {
			if seen[&b[0]] {
				n++
			}
		}
		return n
	}
	putAll := func(p *netio.MessagePool, bs [][]netio.Message) {
		for _, b := range bs {
			p.Put(b)
		}
	}

	// Four 64-slot batches, all put back: all kept. Ten: as many as
	// PoolBytesPerClass holds (two of 87.5 KiB), but at least four.
	p := netio.NewMessagePool(1400)
	burst := take(p, 4, 64)
	putAll(p, burst)
	if got := kept(p, burst, 64); got != 4 {
		t.Errorf("4 batches of 64 out at once, all put back: %d kept, want 4", got)
	}
	putAll(p, burst)
	burst = append(burst, take(p, 6, 64)...)
	putAll(p, burst)
	if got := kept(p, burst, 64); got != 4 {
		t.Errorf("10 batches of 64 out at once, all put back: %d kept, want 4", got)
	}
	putAll(p, burst)
	// Then small batches only, for twice PoolIdleTime: the 64-slot
	// batches (87.5 KiB each) are let go, the small kept.
	var now time.Time
	netio.SetPoolClock(p, func() time.Time { return now })
	small := take(p, 3, 4)
	idle := func() {
		for range 2 {
			now = now.Add(netio.PoolIdleTime)
			for range 100 {
				p.Put(p.Get(1))
			}
		}
	}
	for range 100 {
		p.Put(p.Get(4))
	}
	if got := kept(p, burst, 64); got != 4 {
		t.Errorf("before PoolIdleTime: %d of 4 kept 64-slot batches still kept, want 4", got)
	}
	putAll(p, burst)
	idle()
	if got := kept(p, burst, 64); got != 0 {
		t.Errorf("after twice PoolIdleTime with no 64-slot batch taken: %d of them kept, want 0", got)
	}
	putAll(p, small)
	idle()
	if got := kept(p, small, 4); got != 3 {
		t.Errorf("an idle slot count of 5.5 KiB batches: %d of 3 kept, want all (at most PoolIdleBytes each)", got)
	}

	// The byte bound: 16 KiB buffers, 64 one-slot batches fill it.
	const size = 1 << 14
	p = netio.NewMessagePool(size)
	limit := netio.PoolBytesPerClass / size
	many := take(p, 2*limit, 1)
	putAll(p, many)
	if got := kept(p, many, 1); got != limit {
		t.Errorf("%d batches of 16 KiB put back: %d kept, want %d (PoolBytesPerClass)", 2*limit, got, limit)
	}
}

// TestMessagePoolSteadyNoAllocs checks that batches in steady use — three
// out at once at most, as a node's reader and core goroutine keep them —
// are never dropped and taken again, across ageing.
func TestMessagePoolSteadyNoAllocs(t *testing.T) {
	p := netio.NewMessagePool(1400)
	var held [3][]netio.Message
	cycle := func() {
		for i := range held {
			held[i] = p.Get(4)
		}
		for i := range held {
			p.Put(held[i])
			held[i] = nil
		}
	}
	cycle()
	var now time.Time
	netio.SetPoolClock(p, func() time.Time { now = now.Add(time.Second); return now })
	if allocs := testing.AllocsPerRun(1000, cycle); allocs != 0 {
		t.Errorf("three batches taken and put back: %v allocations per cycle, want 0", allocs)
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
