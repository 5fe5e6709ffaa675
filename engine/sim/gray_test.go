package sim_test

import (
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/hearsay-io/hearsay/engine"
	"github.com/hearsay-io/hearsay/engine/sim"
	"github.com/hearsay-io/hearsay/netio"
)

// TestGrayNodesStayRemoved gives 5% of the nodes 50% loss each way (gray
// nodes: a round trip through one succeeds one time in four) for 90 s. The
// cluster may keep or remove a gray node, but never flap: no node may see a
// gray node alive again after declaring it dead. Before revivals asked for
// a refutation that followed a rejoin, a gray node's refutation of a mere
// suspicion, crossing its death, brought it back at nodes whose check pings
// it happened to answer (1,000 nodes, seed 5: 19 alive-again events).
func TestGrayNodesStayRemoved(t *testing.T) {
	skipLargeUnderRace(t)
	n, seed := 1000, uint64(5)
	if testing.Short() {
		n, seed = 400, 3 // 63 alive-again events before
	}
	var s *sim.Sim
	idx := map[engine.ID]int{}
	gray := map[int]bool{}
	dead := map[[2]int]bool{}
	again, deaths := 0, 0
	l := lan()
	l.Loss = 0.01
	s, err := sim.New(sim.Config{N: n, Seed: seedEnv(seed), Engine: openLAN(), Link: l, OnEvent: func(node int, e engine.Event) {
		x, ok := idx[e.Member.ID]
		if !ok || !gray[x] || gray[node] {
			return
		}
		k := [2]int{node, x}
		switch e.Type {
		case engine.EventDead:
			dead[k] = true
			deaths++
		case engine.EventAlive, engine.EventJoin:
			if dead[k] {
				again++
				if again <= 5 {
					t.Errorf("%v: node %d sees gray node %d %v again after declaring it dead", s.Now(), node, x, e.Type)
				}
			}
			dead[k] = false
		}
	}})
	if err != nil {
		t.Fatal(err)
	}
	for i, nd := range s.Nodes() {
		idx[nd.ID] = i
	}
	s.RunFor(10 * time.Second)
	for i := 0; i < n/20; i++ {
		v := (i*37 + 11) % n
		gray[v] = true
		s.Network().SetEndpointFaults(sim.Addr(v), netio.Faults{Loss: 0.5})
	}
	s.RunFor(90 * time.Second)
	var unproven uint64
	for _, nd := range s.Nodes() {
		unproven += nd.Core.Stats().RevivalsUnproven
	}
	t.Logf("%d gray nodes of %d: %d deaths declared about them by healthy nodes, %d alive-again events, %d unproven revivals turned into notices",
		len(gray), n, deaths, again, unproven)
	if again > 0 {
		t.Errorf("%d alive-again events about gray nodes, want 0", again)
	}
}

func seedEnv(d uint64) uint64 {
	if v := os.Getenv("SEED"); v != "" {
		fmt.Sscan(v, &d)
	}
	return d
}
