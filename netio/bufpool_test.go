package netio

import "testing"

func TestSizeClass(t *testing.T) {
	tests := []struct{ n, class, size int }{
		{0, 0, 64}, {1, 0, 64}, {64, 0, 64}, {65, 1, 96}, {96, 1, 96}, {97, 2, 128},
		{128, 2, 128}, {129, 3, 192}, {1400, 9, 1536}, {1536, 9, 1536}, {1537, 10, 2048},
		{49152, 19, 49152}, {49153, 20, 65536}, {65507, 20, 65536}, {65536, 20, 65536},
	}
	for _, tt := range tests {
		if c := sizeClass(tt.n); c != tt.class || classSize(c) != tt.size {
			t.Errorf("sizeClass(%d) = %d (size %d), want %d (size %d)", tt.n, c, classSize(c), tt.class, tt.size)
		}
	}
	// Every size fits its class, and the class below is too small.
	for n := 0; n <= 1<<16; n++ {
		c := sizeClass(n)
		if classSize(c) < n || (c > 0 && classSize(c-1) >= n) {
			t.Fatalf("sizeClass(%d) = %d of size %d; size below %d", n, c, classSize(c), classSize(c-1))
		}
	}
}

func TestBufPoolReuse(t *testing.T) {
	var p bufPool
	a := p.get(100)
	if len(a) != 100 || cap(a) != 128 {
		t.Fatalf("get(100) has len %d cap %d, want 100, 128", len(a), cap(a))
	}
	b := p.get(100)
	if &a[:1][0] == &b[:1][0] {
		t.Fatalf("two live get(100) share memory")
	}
	p.put(a)
	if c := p.get(120); &c[:1][0] != &a[:1][0] {
		t.Errorf("get after put did not reuse the returned buffer")
	}
	p.put(make([]byte, 100)) // foreign capacity: ignored
	p.put(nil)
	if n := len(p.free[sizeClass(100)]); n < 1 {
		t.Errorf("free list lost its slab buffers: %d", n)
	}
	if allocs := testing.AllocsPerRun(100, func() { p.put(p.get(1400)) }); allocs != 0 {
		t.Errorf("get+put after warm-up: %v allocations, want 0", allocs)
	}
}
