package sim_test

import (
	"net/netip"
	"testing"
	"time"

	"github.com/hearsay-io/hearsay/engine"
	"github.com/hearsay-io/hearsay/engine/sim"
)

// TestHealWithoutStorm splits a 300-node cluster three ways for 60 s, then
// heals it, and checks that no node ever reports dead a member of its own
// group (one it could reach the whole time), and that everyone sees
// everyone alive again within 10 s of the heal.
func TestHealWithoutStorm(t *testing.T) {
	skipLargeUnderRace(t)
	const n = 300
	group := func(i int) int { return i % 3 }
	var s *sim.Sim
	index := map[engine.ID]int{}
	ownGroupDeaths, crossDeaths := 0, 0
	healed := false
	healDeaths := 0
	cfg := sim.Config{N: n, Seed: 81, Engine: openLAN(), Link: lan(), OnEvent: func(node int, e engine.Event) {
		if e.Type != engine.EventDead {
			return
		}
		subj, ok := index[e.Member.ID]
		if !ok {
			return
		}
		if group(subj) == group(node) {
			ownGroupDeaths++
		} else {
			crossDeaths++
		}
		if healed {
			healDeaths++
		}
	}}
	var err error
	if s, err = sim.New(cfg); err != nil {
		t.Fatal(err)
	}
	for i, nd := range s.Nodes() {
		index[nd.ID] = i
	}
	s.RunFor(10 * time.Second)
	groups := make([][]netip.AddrPort, 3)
	for i := range n {
		groups[group(i)] = append(groups[group(i)], sim.Addr(i))
	}
	s.Network().Partition(groups...)
	s.RunFor(60 * time.Second)
	s.Network().Heal()
	healed = true
	took := runUntilAll(t, s, 250*time.Millisecond, 10*time.Second)
	if ownGroupDeaths != 0 {
		t.Errorf("%d dead events about members of the observer's own group", ownGroupDeaths)
	}
	t.Logf("3-way split for 60 s: %d dead events across the cuts, %d about the observer's own group, %d after the heal; all see all alive %v after the heal",
		crossDeaths, ownGroupDeaths, healDeaths, took)
}
