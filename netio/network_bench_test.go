package netio_test

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"runtime"
	"testing"
	"time"

	"github.com/hearsay-io/hearsay/netio"
)

// simLink is a LAN-like link with everything the simulator uses switched
// on, so the benchmarks pay for every random draw.
var simLink = netio.Link{
	Latency:   netio.Latency{Base: 200 * time.Microsecond, Jitter: 100 * time.Microsecond, Shape: netio.LogNormal},
	Loss:      0.001,
	Duplicate: 0.001,
	Reorder:   0.001,
}

// BenchmarkNetworkSendStep measures one datagram through the in-memory
// network (copy in, schedule, deliver to a handler, recycle) with a given
// number of other datagrams in flight, which sets the heap's depth.
func BenchmarkNetworkSendStep(b *testing.B) {
	for _, inflight := range []int{100, 10000, 1000000} {
		b.Run(fmt.Sprintf("inflight=%d", inflight), func(b *testing.B) {
			n := netio.NewNetwork(netio.NetworkConfig{Seed: 1, Link: simLink})
			const nodes = 1000
			eps := make([]*netio.Endpoint, nodes)
			for i := range eps {
				eps[i], _ = n.Listen(nodeAddr(i))
				eps[i].SetHandler(func(netip.AddrPort, []byte) { sinkInt++ })
			}
			buf := make([]byte, 128)
			for i := range inflight {
				eps[i%nodes].Send(nodeAddr((i*7+1)%nodes), buf)
			}
			b.ReportAllocs()
			b.ResetTimer()
			c0, _ := processCPU()
			for i := range b.N {
				eps[i%nodes].Send(nodeAddr((i*7+1)%nodes), buf)
				n.Step()
			}
			reportCPU(b, c0, b.N, "cpu-ns/op")
		})
	}
}

// reportCPU reports the process CPU time since c0 per unit, if the
// platform can measure it.
func reportCPU(b *testing.B, c0 time.Duration, units int, name string) {
	if c1, ok := processCPU(); ok && units > 0 {
		b.ReportMetric(float64((c1-c0).Nanoseconds())/float64(units), name)
	}
}

// BenchmarkNetworkRounds runs gossip-like rounds: every node sends K=4
// datagrams of 128 bytes to random peers, then the clock advances one
// period and every datagram is delivered to a handler. One op is one round.
func BenchmarkNetworkRounds(b *testing.B) {
	for _, nodes := range []int{10000, 100000} {
		b.Run(fmt.Sprintf("nodes=%d", nodes), func(b *testing.B) {
			const k = 4
			n := netio.NewNetwork(netio.NetworkConfig{Seed: 1, Link: simLink})
			eps := make([]*netio.Endpoint, nodes)
			for i := range eps {
				eps[i], _ = n.Listen(nodeAddr(i))
				eps[i].SetHandler(func(netip.AddrPort, []byte) { sinkInt++ })
			}
			rng := rand.New(rand.NewPCG(2, 2))
			out := make([]netio.Message, k)
			for i := range out {
				out[i].Buf = make([]byte, 128)
			}
			round := func() {
				for _, e := range eps {
					for j := range out {
						out[j].Addr = nodeAddr(rng.IntN(nodes))
					}
					e.WriteBatch(out)
				}
				n.AdvanceTo(n.Now() + time.Second)
			}
			round() // warm the pools up
			s0 := n.Stats()
			b.ReportAllocs()
			b.ResetTimer()
			c0, _ := processCPU()
			for range b.N {
				round()
			}
			b.StopTimer()
			d := n.Stats().Delivered - s0.Delivered
			reportCPU(b, c0, int(d), "cpu-ns/delivery")
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(d), "ns/delivery")
			b.ReportMetric(float64(d)/b.Elapsed().Seconds(), "deliveries/s")
		})
	}
}

// BenchmarkNetworkIdleEndpoints reports the memory an idle endpoint costs:
// the live heap after opening 100,000 endpoints with handlers, divided by
// their number. One op opens them all.
func BenchmarkNetworkIdleEndpoints(b *testing.B) {
	const nodes = 100000
	var perEndpoint float64
	b.ReportAllocs()
	for range b.N {
		runtime.GC()
		var m0, m1 runtime.MemStats
		runtime.ReadMemStats(&m0)
		n := netio.NewNetwork(netio.NetworkConfig{Seed: 1, Link: simLink})
		for i := range nodes {
			e, _ := n.Listen(nodeAddr(i))
			e.SetHandler(func(netip.AddrPort, []byte) {})
		}
		runtime.GC()
		runtime.ReadMemStats(&m1)
		perEndpoint = float64(int64(m1.HeapAlloc)-int64(m0.HeapAlloc)) / nodes
		runtime.KeepAlive(n)
	}
	b.ReportMetric(perEndpoint, "heap-B/endpoint")
}
