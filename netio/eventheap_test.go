package netio

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"
)

// The heap pops events in (at, seq) order whatever the push order.
func TestEventHeapOrder(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	var h eventHeap
	const n = 5000
	for i := range n {
		h.push(event{at: time.Duration(rng.IntN(100)), seq: uint64(i)})
		if i%7 == 0 { // interleave pops, as Step does
			h.pop()
		}
	}
	prev := event{at: -1}
	for len(h) > 0 {
		e := h.pop()
		if e.before(&prev) {
			t.Fatalf("pop() = (%v, %d) after (%v, %d)", e.at, e.seq, prev.at, prev.seq)
		}
		prev = e
	}
}

// BenchmarkEventHeap pushes and pops one event with size events queued,
// in the pattern of Step: times advance, new events land a jittered delay
// after the current one.
func BenchmarkEventHeap(b *testing.B) {
	for _, size := range []int{1000, 1000000} {
		b.Run(fmt.Sprintf("size=%d", size), func(b *testing.B) {
			rng := rand.New(rand.NewPCG(1, 1))
			var h eventHeap
			for i := range size {
				h.push(event{at: time.Duration(rng.IntN(1000000)), seq: uint64(i)})
			}
			seq := uint64(size)
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				e := h.pop()
				seq++
				h.push(event{at: e.at + time.Duration(rng.IntN(1000000)), seq: seq})
			}
		})
	}
}
