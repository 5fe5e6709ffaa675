package engine_test

import (
	"fmt"
	"net/netip"
	"runtime"
	"testing"

	"github.com/hearsay-io/hearsay/engine"
)

// BenchmarkMembershipMemory reports the heap one core's membership state
// takes per member (B/member): the table of records, its shards and
// digests, the dissemination queue and the monitors, without application
// state. Each iteration builds a core and seeds it with N members.
//
//	go test -run '^$' -bench BenchmarkMembershipMemory -benchtime 3x ./engine
func BenchmarkMembershipMemory(b *testing.B) {
	for _, n := range []int{10_000, 100_000} {
		b.Run(fmt.Sprintf("N=%d", n), func(b *testing.B) {
			members := make([]engine.Member, n)
			for i := range members {
				members[i] = engine.Member{
					ID:         engine.ID(0x9e3779b97f4a7c15 * uint64(i+2)),
					Addr:       netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)}), 7946),
					Generation: 1,
					State:      engine.StateAlive,
				}
			}
			cfg := engine.DefaultLANConfig()
			cfg.Open = true
			cfg.ID = 1
			cfg.Generation = 1
			cfg.MaxMembers = 2 * n
			var perMember float64
			b.ReportAllocs()
			for b.Loop() {
				var before, after runtime.MemStats
				runtime.GC()
				runtime.ReadMemStats(&before)
				c, err := engine.NewCore(cfg, engine.Env{Addr: netip.MustParseAddrPort("10.255.0.1:7946"), Seed: 1})
				if err != nil {
					b.Fatal(err)
				}
				c.Seed(0, members)
				c.Tick(1)
				runtime.GC()
				runtime.ReadMemStats(&after)
				if live, _ := c.NumMembers(); live != n+1 {
					b.Fatalf("%d live members, want %d", live, n+1)
				}
				perMember = float64(after.HeapAlloc-before.HeapAlloc) / float64(n)
				runtime.KeepAlive(c)
			}
			b.ReportMetric(perMember, "B/member")
		})
	}
}
