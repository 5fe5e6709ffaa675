package netio_test

import (
	"errors"
	"fmt"
	"net/netip"
	"testing"
	"testing/synctest"
	"time"

	"github.com/hearsay-io/hearsay/netio"
)

// pair returns a network with two queue-mode endpoints, the first wrapped
// in a Faulty with cfg.
func pair(t *testing.T, cfg netio.FaultConfig) (*netio.Network, *netio.Faulty, *netio.Endpoint) {
	t.Helper()
	n := netio.NewNetwork(netio.NetworkConfig{QueueLimit: 100000})
	a, err := n.Listen(nodeAddr(1))
	if err != nil {
		t.Fatal(err)
	}
	b, err := n.Listen(nodeAddr(2))
	if err != nil {
		t.Fatal(err)
	}
	f := netio.NewFaulty(a, cfg)
	t.Cleanup(func() { f.Close() })
	return n, f, b
}

// sendN writes count datagrams numbered from 0 to dst through tr.
func sendN(t *testing.T, tr netio.Transport, dst netip.AddrPort, count int) {
	t.Helper()
	for i := range count {
		if _, err := tr.WriteBatch([]netio.Message{{Addr: dst, Buf: fmt.Appendf(nil, "%06d", i)}}); err != nil {
			t.Fatalf("WriteBatch = %v", err)
		}
	}
}

// drainNow returns everything readable from e after the network has
// delivered what is due now, without blocking.
func drainNow(t *testing.T, n *netio.Network, e *netio.Endpoint) []string {
	t.Helper()
	n.AdvanceTo(n.Now())
	var got []string
	msgs := netio.NewMessages(64, 64)
	for e.Pending() > 0 {
		k, err := e.ReadBatch(msgs)
		if err != nil {
			t.Fatalf("ReadBatch = %v", err)
		}
		for _, m := range msgs[:k] {
			got = append(got, string(m.Buf[:m.N]))
		}
	}
	return got
}

func TestFaultyWriteLoss(t *testing.T) {
	const count = 10000
	tests := []struct {
		loss     float64
		min, max int // delivered
	}{
		{0, count, count},
		{1, 0, 0},
		{0.25, 7250, 7750},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.loss), func(t *testing.T) {
			n, f, b := pair(t, netio.FaultConfig{Seed: 5, Loss: tt.loss})
			sendN(t, f, nodeAddr(2), count)
			got := len(drainNow(t, n, b))
			if got < tt.min || got > tt.max {
				t.Errorf("Loss %v: %d of %d delivered, want %d..%d", tt.loss, got, count, tt.min, tt.max)
			}
			if s := f.Stats(); s.DropInjected != uint64(count-got) {
				t.Errorf("Loss %v: Stats().DropInjected = %d, want %d", tt.loss, s.DropInjected, count-got)
			}
		})
	}
}

func TestFaultyReadLoss(t *testing.T) {
	n := netio.NewNetwork(netio.NetworkConfig{QueueLimit: 100000})
	a, _ := n.Listen(nodeAddr(1))
	b, _ := n.Listen(nodeAddr(2))
	f := netio.NewFaulty(b, netio.FaultConfig{Seed: 5, ReadLoss: 0.5})
	defer f.Close()
	const count = 2000
	sendN(t, a, nodeAddr(2), count)
	n.AdvanceTo(0)
	// One batch larger than the queue reads everything at once: ReadBatch
	// blocks until a datagram survives, so reading in small batches could
	// wait for ever on a tail that was all lost.
	msgs := netio.NewMessages(2*count, 64)
	got, err := f.ReadBatch(msgs)
	if err != nil {
		t.Fatalf("ReadBatch = %v", err)
	}
	if b.Pending() != 0 {
		t.Fatalf("after one ReadBatch of %d messages, %d datagrams still wait", 2*count, b.Pending())
	}
	if got < 900 || got > 1100 {
		t.Errorf("ReadLoss 0.5: read %d of %d, want about 1000", got, count)
	}
	s := f.Stats()
	if s.DropInjected != uint64(count-got) {
		t.Errorf("Stats().DropInjected = %d, want %d", s.DropInjected, count-got)
	}
}

func TestFaultyPartition(t *testing.T) {
	n := netio.NewNetwork(netio.NetworkConfig{})
	a, _ := n.Listen(nodeAddr(1))
	b, _ := n.Listen(nodeAddr(2))
	c, _ := n.Listen(nodeAddr(3))
	fa := netio.NewFaulty(a, netio.FaultConfig{})
	defer fa.Close()
	fa.Partition([]netip.AddrPort{nodeAddr(2)})
	fa.WriteBatch([]netio.Message{{Addr: nodeAddr(2), Buf: []byte("to b")}, {Addr: nodeAddr(3), Buf: []byte("to c")}})
	b.Send(nodeAddr(1), []byte("from b"))
	c.Send(nodeAddr(1), []byte("from c"))
	n.AdvanceTo(0)
	if p := b.Pending(); p != 0 {
		t.Fatalf("partitioned b has %d datagrams waiting, want 0", p)
	}
	msgs := netio.NewMessages(4, 64)
	k, err := fa.ReadBatch(msgs)
	if k != 1 || err != nil || string(msgs[0].Buf[:msgs[0].N]) != "from c" {
		t.Errorf("ReadBatch across the partition = %d, %v, %q; want 1, nil, \"from c\"", k, err, msgs[0].Buf[:msgs[0].N])
	}
	if s := fa.Stats(); s.DropInjected != 2 {
		t.Errorf("Stats().DropInjected = %d, want 2 (one each way)", s.DropInjected)
	}
	fa.Heal()
	fa.WriteBatch([]netio.Message{{Addr: nodeAddr(2), Buf: []byte("healed")}})
	n.AdvanceTo(0)
	if got := drainNow(t, n, b); len(got) != 1 || got[0] != "healed" {
		t.Errorf("after Heal b read %q, want [healed]", got)
	}
	fa.SetLoss(1)
	fa.WriteBatch([]netio.Message{{Addr: nodeAddr(3), Buf: []byte("lost")}})
	if s := fa.Stats(); s.DropInjected != 3 {
		t.Errorf("after SetLoss(1): Stats().DropInjected = %d, want 3", s.DropInjected)
	}
}

// Delayed datagrams are written by the wrapper's goroutine when due, in
// due order; Close stops the goroutine and counts what it discards.
func TestFaultyDelay(t *testing.T) {
	checkNoGoroutineLeak(t)
	synctest.Test(t, func(t *testing.T) {
		n, f, b := pair(t, netio.FaultConfig{Seed: 1, Delay: 10 * time.Millisecond, Jitter: 5 * time.Millisecond})
		sendN(t, f, nodeAddr(2), 100)
		synctest.Wait()
		if got := drainNow(t, n, b); len(got) != 0 {
			t.Fatalf("%d datagrams arrived before the delay", len(got))
		}
		time.Sleep(10*time.Millisecond - time.Nanosecond) // virtual time inside the bubble
		synctest.Wait()
		if got := drainNow(t, n, b); len(got) != 0 {
			t.Fatalf("%d datagrams arrived before the delay", len(got))
		}
		time.Sleep(5 * time.Millisecond)
		synctest.Wait()
		got := drainNow(t, n, b)
		if len(got) != 100 {
			t.Fatalf("%d datagrams arrived within delay+jitter, want 100", len(got))
		}
		inversions := 0
		for i := 1; i < len(got); i++ {
			if got[i] < got[i-1] {
				inversions++
			}
		}
		if inversions == 0 {
			t.Errorf("jitter of 5ms over datagrams sent at once reordered none")
		}
		// Held back at Close: discarded and counted.
		sendN(t, f, nodeAddr(2), 3)
		f.Close()
		if s := f.Stats(); s.DropOther != 3 {
			t.Errorf("Stats().DropOther after closing with 3 delayed = %d, want 3", s.DropOther)
		}
		if _, err := f.WriteBatch([]netio.Message{{Addr: nodeAddr(2), Buf: []byte("x")}}); !errors.Is(err, netio.ErrClosed) {
			t.Errorf("WriteBatch after Close = %v, want ErrClosed", err)
		}
	})
}

func TestFaultyDelayQueueFull(t *testing.T) {
	checkNoGoroutineLeak(t)
	synctest.Test(t, func(t *testing.T) {
		n, f, b := pair(t, netio.FaultConfig{Delay: time.Millisecond, QueueLimit: 10})
		sendN(t, f, nodeAddr(2), 15)
		if s := f.Stats(); s.DropBufferFull != 5 {
			t.Errorf("Stats().DropBufferFull = %d, want 5", s.DropBufferFull)
		}
		time.Sleep(time.Millisecond)
		synctest.Wait()
		if got := drainNow(t, n, b); len(got) != 10 {
			t.Errorf("%d delivered, want 10", len(got))
		}
		f.Close()
	})
}

// Faulty over real UDP: every datagram is either received or counted.
func TestFaultyUDP(t *testing.T) {
	rx := listenUDP(t, loop4, netio.UDPOptions{})
	safetyDeadline(t, rx)
	tx := netio.NewFaulty(listenUDP(t, loop4, netio.UDPOptions{}), netio.FaultConfig{Seed: 7, Loss: 0.5})
	defer tx.Close()
	const count = 1000
	sendN(t, tx, rx.LocalAddr(), count)
	lost := int(tx.Stats().DropInjected)
	if lost < 400 || lost > 600 {
		t.Errorf("Loss 0.5 dropped %d of %d, want about 500", lost, count)
	}
	readAll(t, rx, count-lost, 64)
	if s := tx.Stats(); s.DatagramsOut != uint64(count-lost) {
		t.Errorf("Stats().DatagramsOut = %d, want %d", s.DatagramsOut, count-lost)
	}
	if tx.LocalAddr() == (netip.AddrPort{}) {
		t.Errorf("LocalAddr() is the zero address")
	}
}

// Close stops the delay goroutine of a Faulty over real UDP and closes the
// socket.
func TestFaultyCloseStopsGoroutine(t *testing.T) {
	checkNoGoroutineLeak(t)
	u, err := netio.ListenUDP(loop4, netio.UDPOptions{})
	if err != nil {
		t.Fatal(err)
	}
	f := netio.NewFaulty(u, netio.FaultConfig{Delay: time.Hour})
	sendN(t, f, u.LocalAddr(), 3)
	if err := f.Close(); err != nil {
		t.Fatalf("Close() = %v", err)
	}
	if err := f.Close(); err != nil {
		t.Errorf("second Close() = %v, want nil", err)
	}
	if _, err := u.ReadBatch(netio.NewMessages(1, 64)); !errors.Is(err, netio.ErrClosed) {
		t.Errorf("ReadBatch on the wrapped socket after Close = %v, want ErrClosed", err)
	}
	if s := f.Stats(); s.DropOther != 3 {
		t.Errorf("Stats().DropOther = %d, want 3 discarded at Close", s.DropOther)
	}
}
