package netio_test

import (
	"math/rand/v2"
	"net/netip"
	"testing"
	"time"

	"github.com/hearsay-io/hearsay/netio"
)

// Sinks keep the compiler from optimizing measured calls away.
var (
	sinkInt      int
	sinkStats    netio.Stats
	sinkNetStats netio.NetworkStats
	sinkDuration time.Duration
	sinkBool     bool
)

// TestNoAllocs asserts that the per-datagram paths do not allocate in
// steady state. Each case moves a batch of datagrams per run, so zero
// allocations per run is zero per datagram. testing.AllocsPerRun warms each
// case up with one unmeasured run, which grows the reusable buffers.
func TestNoAllocs(t *testing.T) {
	const batch = 64
	to := func(dst netip.AddrPort, size int) []netio.Message {
		out := make([]netio.Message, batch)
		for i := range out {
			out[i] = netio.Message{Addr: dst, Buf: payload(i, size)}
		}
		return out
	}
	in := netio.NewMessages(batch, 2048)
	readN := func(tr netio.Transport, want int) {
		for got := 0; got < want; {
			n, err := tr.ReadBatch(in)
			if err != nil {
				t.Fatalf("ReadBatch = %v", err)
			}
			got += n
		}
		sinkInt = want
	}

	// Real UDP on loopback.
	rx := listenUDP(t, loop4, netio.UDPOptions{})
	safetyDeadline(t, rx)
	tx := listenUDP(t, loop4, netio.UDPOptions{})
	gso := listenUDP(t, loop4, netio.UDPOptions{GSO: true})
	udpOut := to(rx.LocalAddr(), 512)
	mixed := append(to(rx.LocalAddr(), 100), netio.Message{Addr: rx.LocalAddr(), Buf: make([]byte, 3000)})
	faulty := netio.NewFaulty(listenUDP(t, loop4, netio.UDPOptions{}), netio.FaultConfig{Seed: 1, Loss: 0.5})
	sink := listenUDP(t, loop4, netio.UDPOptions{}) // never read
	faultyOut := to(sink.LocalAddr(), 512)

	// The in-memory network, in handler mode and in queue mode.
	n := netio.NewNetwork(netio.NetworkConfig{Seed: 1, Link: netio.Link{
		Latency: netio.Latency{Base: time.Millisecond, Jitter: time.Millisecond, Shape: netio.LogNormal},
		Loss:    0.01, Duplicate: 0.01, Reorder: 0.01,
	}})
	a, _ := n.Listen(nodeAddr(1))
	h, _ := n.Listen(nodeAddr(2))
	q, _ := n.Listen(nodeAddr(3))
	h.SetHandler(func(from netip.AddrPort, b []byte) {
		if b[0]%2 == 0 && len(b) > 1 { // reentrant send from inside Step
			h.Send(nodeAddr(4), b[1:])
		}
	})
	n.Listen(nodeAddr(4)) // queue mode sink for the handler's sends
	toH, toQ := to(nodeAddr(2), 200), to(nodeAddr(3), 200)
	rng := rand.New(rand.NewPCG(1, 1))
	pool := netio.NewMessagePool(2048)
	lat := netio.Latency{Base: time.Millisecond, Jitter: time.Millisecond, Shape: netio.LogNormal}

	tests := []struct {
		name string
		fn   func()
	}{
		{"UDP.WriteBatch+ReadBatch", func() {
			tx.WriteBatch(udpOut)
			readN(rx, batch)
		}},
		{"UDP.WriteBatch(GSO)+ReadBatch", func() {
			gso.WriteBatch(udpOut)
			readN(rx, batch)
		}},
		{"UDP.ReadBatch dropping a too-large datagram", func() {
			tx.WriteBatch(mixed)
			readN(rx, batch) // the 3000-byte one is dropped (MaxDatagram 2048)
		}},
		{"Faulty(UDP).WriteBatch with loss", func() {
			faulty.WriteBatch(faultyOut)
			sinkStats = faulty.Stats()
		}},
		{"UDP.Stats", func() { sinkStats = rx.Stats() }},
		{"Endpoint.WriteBatch+Network.Step (handler)", func() {
			a.WriteBatch(toH)
			for n.Step() {
			}
		}},
		{"Endpoint.Send+Network.AdvanceTo (handler)", func() {
			for i := range batch {
				a.Send(nodeAddr(2), toH[i].Buf)
			}
			n.AdvanceTo(n.Now() + time.Second)
		}},
		{"Endpoint.WriteBatch+AdvanceTo+ReadBatch (queue)", func() {
			a.WriteBatch(toQ)
			n.AdvanceTo(n.Now() + time.Second)
			for q.Pending() > 0 {
				k, _ := q.ReadBatch(in)
				sinkInt += k
			}
		}},
		{"Network.NextEvent", func() { sinkDuration, sinkBool = n.NextEvent() }},
		{"Network.Stats", func() { sinkNetStats = n.Stats() }},
		{"Endpoint.Stats", func() { sinkStats = q.Stats() }},
		{"Latency.Sample", func() { sinkDuration = lat.Sample(rng) }},
		{"MessagePool.Get+ReadBatch+Put", func() {
			tx.WriteBatch(udpOut[:4])
			for got := 0; got < 4; {
				m := pool.Get(8)
				k, err := rx.ReadBatch(m)
				if err != nil {
					t.Fatalf("ReadBatch = %v", err)
				}
				got += k
				pool.Put(m)
			}
		}},
	}
	for _, tt := range tests {
		if got := testing.AllocsPerRun(50, tt.fn); got != 0 {
			t.Errorf("%s: %v allocations per run, want 0", tt.name, got)
		}
	}
	if s := n.Stats(); s.Delivered == 0 {
		t.Errorf("the network delivered nothing: the cases measured nothing")
	}
}
