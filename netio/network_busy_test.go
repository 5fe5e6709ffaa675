package netio_test

import (
	"fmt"
	"net/netip"
	"testing"
	"time"

	"github.com/hearsay-io/hearsay/netio"
)

// A busy endpoint's deliveries wait in its queue; at the end of the busy
// time they are handed over one at a time, and a handler that makes the
// endpoint busy again holds back the rest until that work is done.
func TestEndpointBusyQueues(t *testing.T) {
	n := netio.NewNetwork(netio.NetworkConfig{Link: netio.Link{Latency: netio.Latency{Base: time.Millisecond}}})
	r := &recorder{net: n}
	a := r.listen(t, nodeAddr(1), nil)
	// Each datagram keeps b busy for 10 ms from the time it is handed over.
	b := r.listen(t, nodeAddr(2), func(e *netio.Endpoint, _ netip.AddrPort, _ []byte) {
		e.SetBusy(n.Now() + 10*time.Millisecond)
	})
	b.SetBusy(5 * time.Millisecond)
	for i := range 3 {
		a.Send(nodeAddr(2), []byte{'0' + byte(i)})
	}
	n.AdvanceTo(100 * time.Millisecond)
	want := []delivery{
		{5 * time.Millisecond, nodeAddr(1), nodeAddr(2), "0"},
		{15 * time.Millisecond, nodeAddr(1), nodeAddr(2), "1"},
		{25 * time.Millisecond, nodeAddr(1), nodeAddr(2), "2"},
	}
	if fmt.Sprint(r.got) != fmt.Sprint(want) {
		t.Errorf("deliveries = %v, want %v", r.got, want)
	}
	if got := b.BusyUntil(); got != 35*time.Millisecond {
		t.Errorf("BusyUntil() = %v, want 35ms", got)
	}
	bl := b.Backlog()
	if bl.Datagrams != 0 || bl.Bytes != 0 || bl.PeakDatagrams != 3 || bl.PeakBytes != 3 {
		t.Errorf("Backlog() = %+v, want empty now, peak 3 datagrams of 3 bytes", bl)
	}
	s := n.Stats()
	if s.Pending != 0 || s.Queued != 0 || s.QueuedBytes != 0 || s.Delivered != 3 {
		t.Errorf("Stats() = Pending %d, Queued %d, QueuedBytes %d, Delivered %d; want 0, 0, 0, 3", s.Pending, s.Queued, s.QueuedBytes, s.Delivered)
	}
	checkConservation(t, s)
	// A delivery to a free endpoint with nothing queued is handed over at
	// once, as without SetBusy.
	a.Send(nodeAddr(2), []byte("later"))
	n.AdvanceTo(200 * time.Millisecond)
	if last := r.got[len(r.got)-1]; last.at != 101*time.Millisecond {
		t.Errorf("a delivery to a free endpoint came at %v, want 101ms", last.at)
	}
}

// A datagram sent while its endpoint is busy leaves when the busy time
// ends; its link delay counts from then.
func TestEndpointBusySendsLeaveLate(t *testing.T) {
	n := netio.NewNetwork(netio.NetworkConfig{Link: netio.Link{Latency: netio.Latency{Base: time.Millisecond}}})
	r := &recorder{net: n}
	a := r.listen(t, nodeAddr(1), nil)
	r.listen(t, nodeAddr(2), nil)
	a.SetBusy(7 * time.Millisecond)
	a.Send(nodeAddr(2), []byte("done"))
	a.SetBusy(3 * time.Millisecond) // earlier than the busy time: no change
	a.Send(nodeAddr(2), []byte("also"))
	n.AdvanceTo(20 * time.Millisecond)
	want := []delivery{
		{8 * time.Millisecond, nodeAddr(1), nodeAddr(2), "done"},
		{8 * time.Millisecond, nodeAddr(1), nodeAddr(2), "also"},
	}
	if fmt.Sprint(r.got) != fmt.Sprint(want) {
		t.Errorf("deliveries = %v, want %v", r.got, want)
	}
	// Once the busy time is past, sends leave at once again.
	a.Send(nodeAddr(2), []byte("free"))
	n.AdvanceTo(30 * time.Millisecond)
	if last := r.got[len(r.got)-1]; last.at != 21*time.Millisecond {
		t.Errorf("a free endpoint's datagram arrived at %v, want 21ms", last.at)
	}
}

// QueueBytes bounds a queue in bytes, each datagram counting its length
// plus QueueOverhead; overflow is dropped and counted.
func TestEndpointQueueBytes(t *testing.T) {
	const overhead = 100
	// Room for three datagrams of 50 bytes (150 each), not four.
	n := netio.NewNetwork(netio.NetworkConfig{QueueLimit: -1, QueueBytes: 599, QueueOverhead: overhead})
	r := &recorder{net: n}
	a := r.listen(t, nodeAddr(1), nil)
	b := r.listen(t, nodeAddr(2), nil)
	b.SetBusy(time.Second)
	payload := make([]byte, 50)
	for range 5 {
		a.Send(nodeAddr(2), payload)
	}
	// A small one still fits in what is left (599 - 450 = 149 bytes).
	a.Send(nodeAddr(2), make([]byte, 49))
	n.AdvanceTo(time.Millisecond)
	s := n.Stats()
	if s.Queued != 4 || s.QueuedBytes != 3*150+149 || s.DropQueueFull != 2 {
		t.Errorf("Stats() = Queued %d, QueuedBytes %d, DropQueueFull %d; want 4, 599, 2", s.Queued, s.QueuedBytes, s.DropQueueFull)
	}
	if st := b.Stats(); st.DropBufferFull != 2 {
		t.Errorf("endpoint DropBufferFull = %d, want 2", st.DropBufferFull)
	}
	if bl := b.Backlog(); bl.Datagrams != 4 || bl.Bytes != 599 || bl.PeakBytes != 599 {
		t.Errorf("Backlog() = %+v, want 4 datagrams, 599 bytes, peak 599", bl)
	}
	checkConservation(t, s)
	n.AdvanceTo(2 * time.Second)
	if len(r.got) != 4 {
		t.Errorf("%d deliveries after the busy time, want 4", len(r.got))
	}
	checkConservation(t, n.Stats())

	// Without a QueueBytes the count bound alone applies, as before.
	n2 := netio.NewNetwork(netio.NetworkConfig{QueueLimit: 2})
	r2 := &recorder{net: n2}
	a2 := r2.listen(t, nodeAddr(1), nil)
	b2 := r2.listen(t, nodeAddr(2), nil)
	b2.SetBusy(time.Second)
	for range 3 {
		a2.Send(nodeAddr(2), make([]byte, 60000))
	}
	n2.AdvanceTo(time.Millisecond)
	if s := n2.Stats(); s.Queued != 2 || s.DropQueueFull != 1 {
		t.Errorf("QueueLimit 2: Stats() = Queued %d, DropQueueFull %d; want 2, 1", s.Queued, s.DropQueueFull)
	}
}

// Pausing a busy endpoint holds its queue past the busy time; Resume
// hands it over, one datagram per busy time as ever.
func TestEndpointBusyPauseResume(t *testing.T) {
	n := netio.NewNetwork(netio.NetworkConfig{})
	r := &recorder{net: n}
	a := r.listen(t, nodeAddr(1), nil)
	b := r.listen(t, nodeAddr(2), func(e *netio.Endpoint, _ netip.AddrPort, _ []byte) {
		e.SetBusy(n.Now() + time.Millisecond)
	})
	b.SetBusy(time.Millisecond)
	a.Send(nodeAddr(2), []byte("x"))
	n.Pause(nodeAddr(2))
	a.Send(nodeAddr(2), []byte("y"))
	n.AdvanceTo(10 * time.Millisecond)
	if len(r.got) != 0 {
		t.Fatalf("a paused endpoint got %v", r.got)
	}
	n.Resume(nodeAddr(2))
	n.AdvanceTo(20 * time.Millisecond)
	want := []delivery{
		{10 * time.Millisecond, nodeAddr(1), nodeAddr(2), "x"},
		{11 * time.Millisecond, nodeAddr(1), nodeAddr(2), "y"},
	}
	if fmt.Sprint(r.got) != fmt.Sprint(want) {
		t.Errorf("deliveries = %v, want %v", r.got, want)
	}
	checkConservation(t, n.Stats())
}

// Closing a busy endpoint discards its queue; a new endpoint at the same
// address is not held back by the old one's busy time.
func TestEndpointBusyClose(t *testing.T) {
	n := netio.NewNetwork(netio.NetworkConfig{})
	r := &recorder{net: n}
	a := r.listen(t, nodeAddr(1), nil)
	b := r.listen(t, nodeAddr(2), nil)
	b.SetBusy(time.Second)
	a.Send(nodeAddr(2), []byte("lost"))
	n.AdvanceTo(time.Millisecond)
	b.Close()
	r.listen(t, nodeAddr(2), nil)
	a.Send(nodeAddr(2), []byte("new"))
	n.AdvanceTo(2 * time.Second)
	want := []delivery{{time.Millisecond, nodeAddr(1), nodeAddr(2), "new"}}
	if fmt.Sprint(r.got) != fmt.Sprint(want) {
		t.Errorf("deliveries = %v, want %v", r.got, want)
	}
	s := n.Stats()
	if s.DropClosed != 1 || s.Pending != 0 {
		t.Errorf("Stats() = DropClosed %d, Pending %d; want 1, 0", s.DropClosed, s.Pending)
	}
	checkConservation(t, s)
}

// AdvanceBefore performs what is due before its time and leaves what is
// due at it.
func TestNetworkAdvanceBefore(t *testing.T) {
	n := netio.NewNetwork(netio.NetworkConfig{Link: netio.Link{Latency: netio.Latency{Base: time.Millisecond}}})
	r := &recorder{net: n}
	a := r.listen(t, nodeAddr(1), nil)
	r.listen(t, nodeAddr(2), nil)
	a.Send(nodeAddr(2), []byte("at 1ms"))
	n.AdvanceTo(time.Millisecond / 2)
	a.Send(nodeAddr(2), []byte("at 1.5ms"))
	n.AdvanceBefore(1500 * time.Microsecond)
	if n.Now() != 1500*time.Microsecond || len(r.got) != 1 || r.got[0].data != "at 1ms" {
		t.Errorf("after AdvanceBefore(1.5ms): Now %v, deliveries %v; want 1.5ms and only the first", n.Now(), r.got)
	}
	if at, ok := n.NextEvent(); !ok || at != 1500*time.Microsecond {
		t.Errorf("NextEvent() = %v, %v; want 1.5ms, true", at, ok)
	}
	n.AdvanceBefore(time.Millisecond) // back in time: nothing
	if n.Now() != 1500*time.Microsecond || len(r.got) != 1 {
		t.Errorf("AdvanceBefore into the past moved Now to %v or delivered (%d)", n.Now(), len(r.got))
	}
}
