package sim_test

import (
	"testing"
	"time"

	"github.com/hearsay-io/hearsay/engine"
	"github.com/hearsay-io/hearsay/engine/sim"
	"github.com/hearsay-io/hearsay/netio"
)

func lan() netio.Link {
	return netio.Link{Latency: netio.Latency{Base: 100 * time.Microsecond, Jitter: 50 * time.Microsecond, Shape: netio.Normal}}
}

func TestSmoke(t *testing.T) {
	events := map[engine.EventType]int{}
	s, err := sim.New(sim.Config{N: 100, Seed: 1, Engine: engine.DefaultLANConfig(), Link: lan(),
		OnEvent: func(node int, e engine.Event) { events[e.Type]++ }})
	if err != nil {
		t.Fatal(err)
	}
	s.RunFor(30 * time.Second)
	t.Logf("events after 30s: %v", events)
	st := s.Node(0).Core.Stats()
	t.Logf("node0 stats: out=%d in=%d bytesOut=%d probes=%d", st.DatagramsOut, st.DatagramsIn, st.BytesOut, st.Probes)
	s.Crash(5)
	at := s.Now()
	s.RunFor(15 * time.Second)
	t.Logf("events after crash: %v", events)
	dead := 0
	for _, i := range s.Running() {
		if m, ok := s.View(i, 5); ok && m.State == engine.StateDead {
			dead++
		}
	}
	t.Logf("dead views: %d of %d (crash at %v)", dead, len(s.Running()), at)
}
