package sim_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/hearsay-io/hearsay/engine"
	"github.com/hearsay-io/hearsay/engine/sim"
)

// BenchmarkSteadyState runs a converged cluster one heartbeat period per
// iteration and reports the core's CPU per node per period (time inside
// Tick, Receive and Publish, measured by the simulator) beside the whole
// simulator's, and the datagrams and bytes each node sends per period.
func BenchmarkSteadyState(b *testing.B) {
	for _, n := range []int{1000, 10000} {
		b.Run(fmt.Sprintf("N=%d", n), func(b *testing.B) {
			s, err := sim.New(sim.Config{N: n, Seed: 10, Engine: openLAN(), Link: lan(), MeasureCore: true})
			if err != nil {
				b.Fatal(err)
			}
			s.RunFor(30 * time.Second) // past start-up and the first syncs
			period := engine.DefaultLANConfig().HeartbeatInterval
			ct0, _ := s.CoreTime()
			st0 := s.Network().Stats()
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				s.RunFor(period)
			}
			b.StopTimer()
			ct, _ := s.CoreTime()
			st := s.Network().Stats()
			per := float64(b.N) * float64(n)
			b.ReportMetric(float64(ct-ct0)/per, "core-ns/node/period")
			b.ReportMetric(float64(b.Elapsed())/per, "sim-ns/node/period")
			b.ReportMetric(float64(st.Sent-st0.Sent)/per, "datagrams/node/period")
			b.ReportMetric(float64(st.BytesSent-st0.BytesSent)/per, "bytes/node/period")
		})
	}
}
