package sim_test

import (
	"fmt"
	"net/netip"
	"testing"
	"time"

	"github.com/hearsay-io/hearsay/engine"
	"github.com/hearsay-io/hearsay/engine/sim"
)

// costModels are the models the cost benchmarks compare: work for free (the
// simulator before it charged for work) and the calibrated default.
var costModels = []struct {
	name string
	cost sim.CostModel
}{{"free", sim.CostModel{Free: true}}, {"cost", sim.CostModel{}}}

// sharedCPUs is the default model with every node on the two CPUs of the
// development machine, as in the real-UDP benchmarks.
var sharedCPUs = struct {
	name string
	cost sim.CostModel
}{"cost-2cpus", sim.CostModel{CPUs: 2}}

// reportNodes reports, over every node, the mean and the largest CPU load
// (NodeStats.Busy over the time simulated), the mean CPU per datagram
// handled, the datagrams dropped at full receive queues, the largest queue
// and the latest timer.
func reportNodes(b *testing.B, s *sim.Sim, simulated time.Duration) {
	var busy, maxBusy time.Duration
	var dgrams, drops uint64
	var peak int
	var lag time.Duration
	for i := range s.Nodes() {
		st := s.NodeStats(i)
		busy += st.Busy
		maxBusy = max(maxBusy, st.Busy)
		dgrams += st.Datagrams
		drops += st.QueueDrops
		peak = max(peak, st.PeakQueuedBytes)
		lag = max(lag, st.MaxLag)
	}
	n := float64(len(s.Nodes()))
	b.ReportMetric(100*float64(busy)/n/float64(simulated), "cpu-%/node")
	b.ReportMetric(100*float64(maxBusy)/float64(simulated), "max-cpu-%")
	if dgrams > 0 {
		b.ReportMetric(float64(busy)/float64(dgrams), "busy-ns/datagram")
	}
	b.ReportMetric(float64(drops), "queue-drops")
	b.ReportMetric(float64(peak)/1024, "peak-queue-KiB")
	b.ReportMetric(float64(lag.Microseconds()), "max-lag-µs")
}

// BenchmarkBootstrapCost starts 1,000 nodes through three seeds over 10 s,
// as bench's bootstrap scenario does, and reports how long after the last
// start every node saw every node alive (converged-s, simulated, sampled
// every 250 ms), what the run cost the simulator (wall-s), and the nodes'
// CPU and queues: with work free, with a CPU per node, and with all the
// nodes on two CPUs as in the real-UDP benchmark on the development
// machine. Run with -benchtime=1x.
func BenchmarkBootstrapCost(b *testing.B) {
	for _, m := range append(costModels, sharedCPUs) {
		b.Run(fmt.Sprintf("N=1000/%s", m.name), func(b *testing.B) {
			const n, seeds = 1000, 3
			const spread, check = 10 * time.Second, 250 * time.Millisecond
			var s *sim.Sim
			var took time.Duration
			cpu0, cpuOK := processCPU()
			for b.Loop() {
				var err error
				s, err = sim.New(sim.Config{N: n, Seed: 7, Engine: openLAN(), Link: lan(), Start: sim.Alone, Cost: m.cost})
				if err != nil {
					b.Fatal(err)
				}
				addrs := []netip.AddrPort{sim.Addr(0), sim.Addr(1), sim.Addr(2)}
				for k := 1; k < seeds; k++ {
					if err := s.Join(k, addrs[:k]...); err != nil {
						b.Fatal(err)
					}
				}
				for i := seeds; i < n; i++ {
					s.RunUntil(spread * time.Duration(i-seeds) / (n - seeds))
					if err := s.Join(i, addrs...); err != nil {
						b.Fatal(err)
					}
				}
				last := s.Now()
				for {
					s.RunFor(check)
					if full, k := allSeeAll(s); full == k || s.Now()-last > 60*time.Second {
						break
					}
				}
				took = s.Now() - last
			}
			b.ReportMetric(took.Seconds(), "converged-s")
			b.ReportMetric(b.Elapsed().Seconds()/float64(b.N), "wall-s")
			if cpu, ok := processCPU(); ok && cpuOK {
				b.ReportMetric((cpu-cpu0).Seconds()/float64(b.N), "cpu-s")
			}
			reportNodes(b, s, s.Now())
		})
	}
}

// BenchmarkSteadyStateCost runs a converged cluster one heartbeat period
// per iteration, as BenchmarkSteadyState does, under each cost model, and
// reports the simulator's cost per node and period (wall time, and the
// process's CPU time, steadier on a shared machine) beside the nodes' CPU
// as the model charges it and the times they woke up.
func BenchmarkSteadyStateCost(b *testing.B) {
	for _, n := range []int{1000, 10000} {
		for _, m := range costModels {
			b.Run(fmt.Sprintf("N=%d/%s", n, m.name), func(b *testing.B) {
				s, err := sim.New(sim.Config{N: n, Seed: 10, Engine: openLAN(), Link: lan(), Cost: m.cost})
				if err != nil {
					b.Fatal(err)
				}
				s.RunFor(30 * time.Second)
				period := engine.DefaultLANConfig().HeartbeatInterval
				sum := func() (busy time.Duration, wakes uint64) {
					for i := range n {
						st := s.NodeStats(i)
						busy += st.Busy
						wakes += st.Wakes
					}
					return busy, wakes
				}
				busy0, wakes0 := sum()
				b.ReportAllocs()
				b.ResetTimer()
				cpu0, cpuOK := processCPU()
				for range b.N {
					s.RunFor(period)
				}
				cpu, ok := processCPU()
				b.StopTimer()
				busy, wakes := sum()
				per := float64(b.N) * float64(n)
				b.ReportMetric(float64(b.Elapsed())/per, "sim-ns/node/period")
				if ok && cpuOK {
					b.ReportMetric(float64(cpu-cpu0)/per, "sim-cpu-ns/node/period")
				}
				b.ReportMetric(float64(busy-busy0)/per, "busy-ns/node/period")
				b.ReportMetric(float64(wakes-wakes0)/per, "wakes/node/period")
			})
		}
	}
}
