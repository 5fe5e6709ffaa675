package engine_test

import (
	"fmt"
	"runtime"
	"slices"
	"testing"
	"time"

	"github.com/hearsay-io/hearsay/engine"
	"github.com/hearsay-io/hearsay/engine/sim"
	"github.com/hearsay-io/hearsay/netio"
)

// views is what each running node believes of every node, by index:
// views[i][j] is node i's view of node j's state (0 when unknown), and nil
// rows for nodes that do not run.
type views [][]engine.State

func (v views) String() string {
	s := ""
	for i, row := range v {
		if row != nil {
			s += fmt.Sprintf("\n  node %d: %v", i, row)
		}
	}
	return s
}

// expectCrash is the outcome of a crash in a cluster of n: every survivor
// sees every other survivor alive and the crashed node dead. With crashed
// -1 it is a converged cluster.
func expectCrash(n, crashed int) views {
	v := make(views, n)
	for i := range v {
		if i == crashed {
			continue
		}
		v[i] = make([]engine.State, n)
		for j := range v[i] {
			v[i][j] = engine.StateAlive
		}
		if crashed >= 0 {
			v[i][crashed] = engine.StateDead
		}
	}
	return v
}

// TestSimulatorAndRuntimeAgree runs one scenario through both drivers of
// the same Core: ten nodes join through the first, converge, and one
// crashes (sim.Crash; Node.Close over real UDP). Both end with the same
// views: nine alive and one dead in every survivor's table.
func TestSimulatorAndRuntimeAgree(t *testing.T) {
	const n, crashed = 10, 4
	cfg := testConfig()
	want := expectCrash(n, crashed)

	// Simulator: virtual time, in-memory network with loopback-like latency.
	s, err := sim.New(sim.Config{
		N: n, Seed: 1, Engine: cfg, Start: sim.Alone,
		Link: netio.Link{Latency: netio.Latency{Base: 30 * time.Microsecond, Jitter: 20 * time.Microsecond, Shape: netio.Normal}},
	})
	if err != nil {
		t.Fatal(err)
	}
	for i := 1; i < n; i++ {
		if err := s.Join(i, sim.Addr(0)); err != nil {
			t.Fatalf("sim Join(%d): %v", i, err)
		}
	}
	s.RunFor(bound(cfg, 20))
	simView := func() views {
		v := make(views, n)
		for _, i := range s.Running() {
			v[i] = make([]engine.State, n)
			for j := range n {
				if m, ok := s.View(i, j); ok {
					v[i][j] = m.State
				}
			}
		}
		return v
	}
	if got := simView(); got.String() != expectCrash(n, -1).String() {
		t.Fatalf("simulator: not converged before the crash:%v", got)
	}
	s.Crash(crashed)
	crashAt := s.Now()
	detected := time.Duration(-1)
	for step := 0; step < 60; step++ {
		s.RunFor(cfg.HeartbeatInterval)
		if detected < 0 && simView().String() == want.String() {
			detected = s.Now() - crashAt
		}
	}
	simOut := simView()
	if simOut.String() != want.String() {
		t.Fatalf("simulator outcome:%v\nwant:%v", simOut, want)
	}

	// Runtime: real clock, UDP on loopback.
	before := runtime.NumGoroutine()
	nodes := startNodes(t, n, cfg)
	joinAll(t, nodes, bound(cfg, 40))
	index := map[engine.ID]int{}
	for i, nd := range nodes {
		index[nd.ID()] = i
	}
	nodeView := func() views {
		v := make(views, n)
		for i, nd := range nodes {
			if i == crashed {
				continue
			}
			v[i] = make([]engine.State, n)
			for _, m := range nd.AllMembers() {
				v[i][index[m.ID]] = m.State
			}
		}
		return v
	}
	waitFor(t, bound(cfg, 40), "runtime converges", func() (bool, string) { return converged(nodes, n) })
	start := time.Now()
	if err := nodes[crashed].Close(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, bound(cfg, 60), "runtime reaches the simulator's outcome", func() (bool, string) {
		got := nodeView()
		return got.String() == simOut.String(), got.String()
	})
	t.Logf("crash of 1 in %d seen dead by all: simulator %v (virtual, checked per period), runtime %v",
		n, detected, time.Since(start).Round(time.Millisecond))
	for _, nd := range nodes {
		nd.Close()
	}
	noLeak(t, before)
	if got := nodeView(); !slices.EqualFunc(got, simOut, slices.Equal) {
		t.Errorf("runtime outcome:%v\nsimulator outcome:%v", got, simOut)
	}
}
