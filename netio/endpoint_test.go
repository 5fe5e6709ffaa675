package netio_test

import (
	"errors"
	"runtime"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/hearsay-io/hearsay/netio"
)

// readResult is what a ReadBatch in a goroutine returned.
type readResult struct {
	n   int
	err error
}

// In queue mode ReadBatch blocks until the clock reaches a delivery.
func TestEndpointReadBatchBlocks(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := netio.NewNetwork(netio.NetworkConfig{Link: netio.Link{Latency: netio.Latency{Base: time.Millisecond}}})
		a, _ := n.Listen(nodeAddr(1))
		b, _ := n.Listen(nodeAddr(2))
		msgs := netio.NewMessages(4, 64)
		done := make(chan readResult, 1)
		go func() {
			k, err := b.ReadBatch(msgs)
			done <- readResult{k, err}
		}()
		a.Send(nodeAddr(2), []byte("hello"))
		synctest.Wait()
		select {
		case r := <-done:
			t.Fatalf("ReadBatch returned %v before the delivery was due", r)
		default:
		}
		n.AdvanceTo(time.Millisecond)
		r := <-done
		if r.n != 1 || r.err != nil || string(msgs[0].Buf[:msgs[0].N]) != "hello" || msgs[0].Addr != nodeAddr(1) {
			t.Errorf("ReadBatch = %d, %v, %q from %v; want 1, nil, \"hello\" from %v", r.n, r.err, msgs[0].Buf[:msgs[0].N], msgs[0].Addr, nodeAddr(1))
		}
	})
}

func TestEndpointCloseUnblocks(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := netio.NewNetwork(netio.NetworkConfig{})
		b, _ := n.Listen(nodeAddr(2))
		done := make(chan readResult, 1)
		go func() {
			k, err := b.ReadBatch(netio.NewMessages(4, 64))
			done <- readResult{k, err}
		}()
		synctest.Wait()
		b.Close()
		if r := <-done; r.n != 0 || !errors.Is(r.err, netio.ErrClosed) {
			t.Errorf("blocked ReadBatch after Close = %d, %v, want 0, ErrClosed", r.n, r.err)
		}
		if k, err := b.ReadBatch(netio.NewMessages(1, 1)); k != 0 || !errors.Is(err, netio.ErrClosed) {
			t.Errorf("ReadBatch after Close = %d, %v, want 0, ErrClosed", k, err)
		}
	})
}

// While paused, a queue-mode endpoint holds its deliveries back from
// ReadBatch; Resume releases them.
func TestEndpointPausedQueueMode(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := netio.NewNetwork(netio.NetworkConfig{})
		a, _ := n.Listen(nodeAddr(1))
		b, _ := n.Listen(nodeAddr(2))
		n.Pause(nodeAddr(2))
		a.Send(nodeAddr(2), []byte("x"))
		n.AdvanceTo(time.Second)
		done := make(chan readResult, 1)
		go func() {
			k, err := b.ReadBatch(netio.NewMessages(4, 64))
			done <- readResult{k, err}
		}()
		synctest.Wait()
		select {
		case r := <-done:
			t.Fatalf("ReadBatch on a paused endpoint returned %v", r)
		default:
		}
		n.Resume(nodeAddr(2))
		if r := <-done; r.n != 1 || r.err != nil {
			t.Errorf("ReadBatch after Resume = %d, %v, want 1, nil", r.n, r.err)
		}
	})
}

// A full queue drops and counts; a datagram too large for the reader's
// buffer is dropped and counted, never truncated.
func TestEndpointDrops(t *testing.T) {
	n := netio.NewNetwork(netio.NetworkConfig{QueueLimit: 4})
	a, _ := n.Listen(nodeAddr(1))
	b, _ := n.Listen(nodeAddr(2))
	for _, s := range []string{"abc", "too long for five", "defg", "hi", "dropped: queue full", "also dropped"} {
		a.Send(nodeAddr(2), []byte(s))
	}
	n.AdvanceTo(0)
	msgs := netio.NewMessages(8, 5)
	k, err := b.ReadBatch(msgs)
	if err != nil {
		t.Fatalf("ReadBatch = %v", err)
	}
	var got []string
	for _, m := range msgs[:k] {
		got = append(got, string(m.Buf[:m.N]))
	}
	if want := []string{"abc", "defg", "hi"}; len(got) != len(want) || got[0] != want[0] || got[1] != want[1] || got[2] != want[2] {
		t.Errorf("ReadBatch read %q, want %q", got, want)
	}
	if s := b.Stats(); s.DropBufferFull != 2 || s.DropTooLarge != 1 || s.DatagramsIn != 3 || s.BatchesIn != 1 {
		t.Errorf("endpoint Stats() = BufferFull %d, TooLarge %d, In %d, BatchesIn %d; want 2, 1, 3, 1", s.DropBufferFull, s.DropTooLarge, s.DatagramsIn, s.BatchesIn)
	}
	s := n.Stats()
	if s.DropQueueFull != 2 || s.DropTooLarge != 1 || s.Queued != 0 {
		t.Errorf("network Stats() = QueueFull %d, TooLarge %d, Queued %d; want 2, 1, 0", s.DropQueueFull, s.DropTooLarge, s.Queued)
	}
	checkConservation(t, s)
	// Queued datagrams of a closed endpoint are counted as DropClosed.
	a.Send(nodeAddr(2), []byte("x"))
	n.AdvanceTo(0)
	b.Close()
	if s := n.Stats(); s.DropClosed != 1 || s.Queued != 0 {
		t.Errorf("after Close with one queued: DropClosed %d, Queued %d; want 1, 0", s.DropClosed, s.Queued)
	}
	if k, err := b.ReadBatch(nil); k != 0 || !errors.Is(err, netio.ErrClosed) {
		t.Errorf("ReadBatch(nil) after Close = %d, %v, want 0, ErrClosed", k, err)
	}
}

// Endpoints used as Transports from many goroutines while another drives
// the clock: run with -race.
func TestEndpointConcurrent(t *testing.T) {
	const writers, each = 4, 500
	n := netio.NewNetwork(netio.NetworkConfig{Seed: 9, Link: netio.Link{Latency: netio.Latency{Jitter: time.Millisecond}}, QueueLimit: writers * each})
	rx, _ := n.Listen(nodeAddr(0))
	var wg sync.WaitGroup
	for w := range writers {
		tx, _ := n.Listen(nodeAddr(w + 1))
		wg.Go(func() {
			out := []netio.Message{{Addr: nodeAddr(0)}, {Addr: nodeAddr(0)}}
			for i := 0; i < each; i += 2 {
				out[0].Buf, out[1].Buf = payload(w*each+i, 16), payload(w*each+i+1, 16)
				if _, err := tx.WriteBatch(out); err != nil {
					t.Errorf("WriteBatch = %v", err)
				}
			}
		})
	}
	var received sync.WaitGroup
	seen := make(map[string]bool)
	received.Go(func() {
		msgs := netio.NewMessages(16, 64)
		for len(seen) < writers*each {
			k, err := rx.ReadBatch(msgs)
			if err != nil {
				t.Errorf("ReadBatch = %v after %d", err, len(seen))
				return
			}
			for _, m := range msgs[:k] {
				seen[string(m.Buf[:m.N])] = true
			}
		}
	})
	// Drive the clock until the reader is done.
	readerDone := make(chan struct{})
	go func() { received.Wait(); close(readerDone) }()
	for t0 := time.Duration(0); ; t0 += time.Millisecond {
		n.AdvanceTo(t0)
		select {
		case <-readerDone:
			wg.Wait()
			if len(seen) != writers*each {
				t.Errorf("read %d distinct datagrams, want %d", len(seen), writers*each)
			}
			checkConservation(t, n.Stats())
			return
		default:
			runtime.Gosched()
		}
	}
}
