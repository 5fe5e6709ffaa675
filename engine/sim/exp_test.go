package sim_test

import (
	"os"
	"runtime"
	"sort"
	"strconv"
	"testing"
	"time"

	"github.com/hearsay-io/hearsay/engine"
	"github.com/hearsay-io/hearsay/engine/sim"
	"github.com/hearsay-io/hearsay/netio"
)

func TestExpDetect(t *testing.T) {
	n, _ := strconv.Atoi(os.Getenv("EXP_N"))
	if n == 0 {
		t.Skip("EXP_N not set")
	}
	crashes, _ := strconv.Atoi(os.Getenv("EXP_CRASHES"))
	if crashes == 0 {
		crashes = 5
	}
	loss, _ := strconv.ParseFloat(os.Getenv("EXP_LOSS"), 64)
	var target engine.ID
	var deadAt []time.Duration
	var falseDeaths int
	link := lan()
	link.Loss = loss
	start := time.Now()
	s, err := sim.New(sim.Config{N: n, Seed: 7, Engine: engine.DefaultLANConfig(), Link: link,
		OnEvent: func(node int, e engine.Event) {
			if e.Type == engine.EventDead {
				if e.Member.ID == target {
					deadAt = append(deadAt, sim.Since(e.Time))
				} else {
					falseDeaths++
				}
			}
		}})
	if err != nil {
		t.Fatal(err)
	}
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	t.Logf("built %d nodes in %v, heap %d MB", n, time.Since(start), ms.HeapAlloc>>20)
	s.RunFor(20 * time.Second)
	t.Logf("warm 20s in %v", time.Since(start))
	var all, firsts []time.Duration
	for c := 0; c < crashes; c++ {
		victim := (c*7919 + 13) % n
		target = s.Node(victim).ID
		deadAt = deadAt[:0]
		at := s.Now()
		s.Crash(victim)
		s.RunFor(15 * time.Second)
		sort.Slice(deadAt, func(i, j int) bool { return deadAt[i] < deadAt[j] })
		running := len(s.Running())
		if len(deadAt) < running {
			t.Errorf("crash %d: only %d of %d know", c, len(deadAt), running)
			continue
		}
		firsts = append(firsts, deadAt[0]-at)
		all = append(all, deadAt[len(deadAt)-1]-at)
	}
	sort.Slice(all, func(i, j int) bool { return all[i] < all[j] })
	runtime.ReadMemStats(&ms)
	t.Logf("everyone-knows times: %v", all)
	t.Logf("first-knows times: %v", firsts)
	t.Logf("false deaths %d, wall %v, heap %d MB", falseDeaths, time.Since(start), ms.HeapAlloc>>20)
	st := s.Node(1).Core.Stats()
	t.Logf("node1: out=%d bytesOut=%d probes=%d indirect=%d susp=%d", st.DatagramsOut, st.BytesOut, st.Probes, st.IndirectProbes, st.Suspicions)
	ps := s.Pool().Stats()
	t.Logf("pool: %+v net: %+v", ps, s.Network().Stats())
	_ = netio.Link{}
}
