package engine

import (
	"net/netip"
	"runtime"
	"testing"

	"github.com/hearsay-io/hearsay/netio"
)

// TestReadBatchResize drives the reader's sizing rule: double on a full
// read up to maxReadBatch; after shrinkAfter reads in a row that fill at
// most a quarter, drop to twice the largest of them, never below
// minReadBatch.
func TestReadBatchResize(t *testing.T) {
	n := &Node{rxSize: initialReadBatch}
	read := func(k int) { n.resize(k, n.rxSize) }
	for want := 2 * initialReadBatch; want <= maxReadBatch; want *= 2 {
		read(n.rxSize)
		if n.rxSize != want {
			t.Fatalf("after a full read: batch of %d, want %d", n.rxSize, want)
		}
	}
	read(n.rxSize)
	if n.rxSize != maxReadBatch {
		t.Fatalf("a full read at the largest batch: %d, want %d", n.rxSize, maxReadBatch)
	}
	for i := 1; i < shrinkAfter; i++ {
		read(1)
	}
	read(maxReadBatch / 2) // a busy read breaks the run of small ones
	for i := 1; i < shrinkAfter; i++ {
		read(1)
	}
	if n.rxSize != maxReadBatch {
		t.Fatalf("after %d small reads with a busy one among them: batch of %d, want %d", 2*shrinkAfter-2, n.rxSize, maxReadBatch)
	}
	read(maxReadBatch / 2) // a new run begins after it
	for i := range shrinkAfter {
		read(1 + i%5) // at most 5, under a quarter of 64
	}
	if n.rxSize != 16 {
		t.Fatalf("after %d reads of at most 5 datagrams: batch of %d, want 16", shrinkAfter, n.rxSize)
	}
	for range shrinkAfter {
		read(1)
	}
	if n.rxSize != minReadBatch {
		t.Fatalf("after %d reads of one datagram: batch of %d, want %d", shrinkAfter, n.rxSize, minReadBatch)
	}
	for range 4 * shrinkAfter {
		read(1)
	}
	if n.rxSize != minReadBatch {
		t.Fatalf("a quiet node's batch: %d, want %d", n.rxSize, minReadBatch)
	}
}

// TestOutboxChunks checks that the outbox starts with a small chunk,
// doubles up to outboxChunk as a step needs more, and lets go of all but
// the first after outboxShrinkAfter steps that fit in it.
func TestOutboxChunks(t *testing.T) {
	var o Outbox
	to := netip.MustParseAddrPort("127.0.0.1:1")
	emit := func(n int) {
		b := o.buffer(n)
		o.commit(to, append(b, make([]byte, n)...))
	}
	emit(100)
	if len(o.chunks) != 1 || cap(o.chunks[0]) != outboxFirstChunk {
		t.Fatalf("after one datagram: %d chunks, first of %d bytes; want 1 of %d", len(o.chunks), cap(o.chunks[0]), outboxFirstChunk)
	}
	for range 200 { // 280 KB in one step
		emit(1400)
	}
	want := []int{outboxFirstChunk}
	for c := 2 * outboxFirstChunk; len(want) < len(o.chunks); c = min(2*c, outboxChunk) {
		want = append(want, c)
	}
	for i, c := range o.chunks {
		if cap(c) != want[i] {
			t.Fatalf("chunk %d of %d bytes, want %d (chunks %v)", i, cap(c), want[i], want)
		}
	}
	for i, m := range o.Messages() {
		if m.N != len(m.Buf) || (i > 0 && m.N != 1400) {
			t.Fatalf("message %d: N %d, %d bytes", i, m.N, len(m.Buf))
		}
	}
	o.Reset()
	for i := range outboxShrinkAfter {
		emit(100)
		o.Reset()
		if i < outboxShrinkAfter-1 && len(o.chunks) == 1 {
			t.Fatalf("chunks dropped after %d quiet steps, want %d", i+1, outboxShrinkAfter)
		}
	}
	if len(o.chunks) != 1 {
		t.Fatalf("after %d quiet steps: %d chunks, want 1", outboxShrinkAfter, len(o.chunks))
	}
}

// TestNodeLoopNoAllocs asserts that a running node — its reader taking
// batches from the shared pool and reading with recvmmsg, its core goroutine
// handling a heartbeat and a ping and writing the ack — allocates nothing
// per datagram once warm. Each measured run sends the pair from the watched
// peer's socket and waits until the node has counted the heartbeat.
func TestNodeLoopNoAllocs(t *testing.T) {
	rb := newReceiveBench(t)
	rb.n.startLoops()
	out := netio.NewMessages(2, rb.n.cfg.MaxDatagramSize)
	round := func() {
		rb.fill()
		for j, m := range rb.msgs {
			out[j].Buf = out[j].Buf[:cap(out[j].Buf)]
			out[j].Buf = out[j].Buf[:copy(out[j].Buf, m.Buf[:m.N])]
			out[j].Addr = rb.n.LocalAddr()
		}
		want := rb.n.Stats().Heartbeats + 1
		if _, err := rb.peer.WriteBatch(out); err != nil {
			t.Fatal(err)
		}
		for spins := 0; rb.n.Stats().Heartbeats < want; spins++ {
			if spins > 1e7 {
				t.Fatalf("the node did not handle the heartbeat")
			}
			runtime.Gosched()
		}
	}
	for range 100 {
		round() // warm up: the pool's batches, the rings, the outbox
	}
	if allocs := testing.AllocsPerRun(200, round); allocs != 0 {
		t.Errorf("a running node handling a heartbeat and a ping: %v allocations per pair, want 0", allocs)
	}
}
