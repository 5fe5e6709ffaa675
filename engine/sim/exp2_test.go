package sim_test

import (
	"net/netip"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/hearsay-io/hearsay/engine"
	"github.com/hearsay-io/hearsay/engine/sim"
	"github.com/hearsay-io/hearsay/netio"
)

func envInt(k string, d int) int {
	if v, err := strconv.Atoi(os.Getenv(k)); err == nil {
		return v
	}
	return d
}

func allSee(s *sim.Sim, ok func(i, j int) bool) (int, int) {
	good, total := 0, 0
	run := s.Running()
	for _, i := range run {
		for _, j := range run {
			total++
			if ok(i, j) {
				good++
			}
		}
	}
	return good, total
}

func TestExpBootstrap(t *testing.T) {
	n := envInt("EXP_N", 0)
	if n == 0 {
		t.Skip()
	}
	start := time.Now()
	s, err := sim.New(sim.Config{N: n, Seed: 3, Engine: engine.DefaultLANConfig(), Link: lan(), Start: sim.Alone})
	if err != nil {
		t.Fatal(err)
	}
	seeds := []netip.AddrPort{sim.Addr(0), sim.Addr(1), sim.Addr(2)}
	spread := time.Duration(envInt("EXP_SPREAD", 10)) * time.Second
	for i := 0; i < n; i++ {
		s.RunUntil(spread * time.Duration(i) / time.Duration(n))
		if i < 3 {
			continue
		}
		if err := s.Join(i, seeds...); err != nil {
			t.Fatal(err)
		}
	}
	for k := 0; k < 30; k++ {
		s.RunFor(time.Second)
		full := 0
		for _, i := range s.Running() {
			if live, _ := s.Node(i).Core.NumMembers(); live == n {
				full++
			}
		}
		t.Logf("t=%v: %d/%d nodes see all %d alive (wall %v)", s.Now(), full, n, n, time.Since(start))
		if full == n {
			break
		}
	}
	st := s.Node(5).Core.Stats()
	t.Logf("node5: %+v", st)
}

func TestExpPause(t *testing.T) {
	n := envInt("EXP_N", 0)
	if n == 0 {
		t.Skip()
	}
	deaths := 0
	s, _ := sim.New(sim.Config{N: n, Seed: 4, Engine: engine.DefaultLANConfig(), Link: lan(),
		OnEvent: func(node int, e engine.Event) {
			if e.Type == engine.EventDead {
				deaths++
			}
		}})
	s.RunFor(10 * time.Second)
	susp := 0
	for k := 0; k < envInt("EXP_K", 20); k++ {
		v := (k*31 + 7) % n
		s.Pause(v)
		s.RunFor(time.Duration(envInt("EXP_PAUSE_MS", 2000)) * time.Millisecond)
		s.Resume(v)
		s.RunFor(8 * time.Second)
		susp += int(s.Node((v + 1) % n).Core.Stats().Suspicions)
	}
	t.Logf("deaths %d", deaths)
}

func TestExpLoss(t *testing.T) {
	n := envInt("EXP_N", 0)
	if n == 0 {
		t.Skip()
	}
	deaths, suspects := 0, 0
	link := lan()
	link.Loss = float64(envInt("EXP_LOSSPCT", 10)) / 100
	s, _ := sim.New(sim.Config{N: n, Seed: 5, Engine: engine.DefaultLANConfig(), Link: link,
		OnEvent: func(node int, e engine.Event) {
			switch e.Type {
			case engine.EventDead:
				deaths++
			case engine.EventSuspect:
				suspects++
			}
		}})
	secs := envInt("EXP_SECS", 60)
	start := time.Now()
	s.RunFor(time.Duration(secs) * time.Second)
	t.Logf("N=%d %ds at %.0f%% loss: %d dead events, %d suspect events; %.1f node-hours; wall %v", n, secs, link.Loss*100, deaths, suspects, float64(n*secs)/3600, time.Since(start))
}

func TestExpFlaky(t *testing.T) {
	n := envInt("EXP_N", 0)
	if n == 0 {
		t.Skip()
	}
	flaky := map[int]bool{}
	for i := 0; i < n/100; i++ {
		flaky[(i*97+11)%n] = true
	}
	deadOf := map[engine.ID]int{}
	aliveAgain := map[engine.ID]int{}
	healthyDeaths := 0
	ids := map[engine.ID]int{}
	s, _ := sim.New(sim.Config{N: n, Seed: 6, Engine: engine.DefaultLANConfig(), Link: lan(),
		OnEvent: func(node int, e engine.Event) {
			switch e.Type {
			case engine.EventDead:
				if flaky[ids[e.Member.ID]] {
					deadOf[e.Member.ID]++
				} else {
					healthyDeaths++
				}
			case engine.EventAlive, engine.EventJoin:
				if flaky[ids[e.Member.ID]] {
					aliveAgain[e.Member.ID]++
				}
			}
		}})
	for _, nd := range s.Nodes() {
		ids[nd.ID] = nd.Index
	}
	s.RunFor(5 * time.Second)
	for i := range flaky {
		s.Network().SetEndpointFaults(sim.Addr(i), netio.Faults{Loss: 0.8})
	}
	secs := envInt("EXP_SECS", 120)
	s.RunFor(time.Duration(secs) * time.Second)
	removed := 0
	for i := range flaky {
		good, _ := allSee(s, func(a, b int) bool { return false })
		_ = good
		cnt := 0
		for _, j := range s.Running() {
			if flaky[j] {
				continue
			}
			if m, ok := s.View(j, i); !ok || !m.State.Live() {
				cnt++
			}
		}
		if cnt == n-len(flaky) {
			removed++
		}
	}
	reAlive := 0
	for _, v := range aliveAgain {
		reAlive += v
	}
	t.Logf("flaky %d: removed everywhere %d; healthy deaths %d; alive-again events %d; dead events %d", len(flaky), removed, healthyDeaths, reAlive, len(deadOf))
}

func TestExpPartition(t *testing.T) {
	n := envInt("EXP_N", 0)
	if n == 0 {
		t.Skip()
	}
	cfg := engine.DefaultLANConfig()
	s, _ := sim.New(sim.Config{N: n, Seed: 8, Engine: cfg, Link: lan()})
	s.RunFor(5 * time.Second)
	var a, b []netip.AddrPort
	for i := 0; i < n; i++ {
		if i%2 == 0 {
			a = append(a, sim.Addr(i))
		} else {
			b = append(b, sim.Addr(i))
		}
	}
	start := time.Now()
	s.Network().Partition(a, b)
	s.RunFor(time.Duration(envInt("EXP_SPLIT", 120)) * time.Second)
	cross := 0
	for _, i := range []int{0, 1} {
		live, total := s.Node(i).Core.NumMembers()
		t.Logf("during split node %d: live %d total %d", i, live, total)
		_ = cross
	}
	t.Logf("split wall %v", time.Since(start))
	s.Network().Heal()
	healAt := s.Now()
	for k := 0; k < 40; k++ {
		s.RunFor(500 * time.Millisecond)
		full := 0
		for _, i := range s.Running() {
			if live, _ := s.Node(i).Core.NumMembers(); live == n {
				full++
			}
		}
		t.Logf("+%v: %d/%d see all alive (wall %v)", s.Now()-healAt, full, n, time.Since(start))
		if full == n {
			break
		}
	}
}
