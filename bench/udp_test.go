package bench_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/hearsay-io/hearsay/bench"
	"github.com/hearsay-io/hearsay/engine"
)

// poll runs c in steps of step until done holds or limit passes, and
// reports whether done held.
func poll(t *testing.T, c bench.Cluster, limit, step time.Duration, done func() bool) bool {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !done() {
		if time.Now().After(deadline) {
			return false
		}
		if err := c.Run(context.Background(), step); err != nil {
			t.Fatal(err)
		}
	}
	return true
}

func TestUDPClusterDetectsCrash(t *testing.T) {
	const n, victim = 20, 7
	var (
		mu     sync.Mutex
		deaths = map[int]bool{} // observers that declared the victim dead
		false_ int              // deaths of other nodes
	)
	d := bench.UDPDriver{}
	var ids [n]engine.ID
	c, err := d.NewCluster(bench.ClusterConfig{
		N:      n,
		Seed:   3,
		Engine: bench.Local.Engine(),
		Start:  bench.StartConverged,
		OnEvent: func(node int, e engine.Event) {
			if e.Type != engine.EventDead {
				return
			}
			mu.Lock()
			defer mu.Unlock()
			if e.Member.ID == ids[victim] {
				deaths[node] = true
			} else {
				false_++
			}
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for i := range n {
		ids[i] = c.ID(i)
		if j, ok := c.Index(ids[i]); !ok || j != i {
			t.Fatalf("Index(ID(%d)) = %d, %v; want %d, true", i, j, ok, i)
		}
	}
	for i := range n {
		if live, _ := c.NumMembers(i); live != n {
			t.Fatalf("NumMembers(%d) live = %d at start, want %d", i, live, n)
		}
	}
	if err := c.Run(context.Background(), 500*time.Millisecond); err != nil {
		t.Fatal(err)
	}

	crashed := c.Now()
	if err := c.Crash(victim); err != nil {
		t.Fatal(err)
	}
	if c.Running(victim) {
		t.Fatal("Running(victim) = true after Crash")
	}
	allDead := func() bool {
		for i := range n {
			if i == victim {
				continue
			}
			if m, ok := c.Member(i, victim); !ok || m.State.Live() {
				return false
			}
		}
		return true
	}
	if !poll(t, c, 20*time.Second, 50*time.Millisecond, allDead) {
		for i := range n {
			m, _ := c.Member(i, victim)
			t.Logf("node %d sees the victim %v", i, m.State)
		}
		t.Fatalf("not every node marked the crashed node dead within 20s")
	}
	took := c.Now() - crashed
	t.Logf("all %d nodes marked the crashed node dead %v after the crash", n-1, took)
	mu.Lock()
	defer mu.Unlock()
	if len(deaths) == 0 {
		t.Error("no EventDead delivered for the crashed node")
	}
	if false_ > 0 {
		t.Errorf("%d nodes other than the victim declared dead", false_)
	}
	if err := c.Pause(1); !errors.Is(err, bench.ErrUnsupported) {
		t.Errorf("Pause = %v, want ErrUnsupported", err)
	}
}

func TestUDPClusterFaultsAndRestart(t *testing.T) {
	const n = 6
	c, err := bench.UDPDriver{}.NewCluster(bench.ClusterConfig{
		N: n, Seed: 4, Engine: bench.Local.Engine(), Start: bench.StartAlone,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if live, total := c.NumMembers(0); live != 1 || total != 1 {
		t.Fatalf("alone: NumMembers(0) = %d, %d; want 1, 1", live, total)
	}
	for i := 1; i < n; i++ {
		if err := c.Join(i, []int{0}); err != nil {
			t.Fatal(err)
		}
	}
	converged := func() bool {
		for i := range n {
			if live, _ := c.NumMembers(i); live != n {
				return false
			}
		}
		return true
	}
	if !poll(t, c, 15*time.Second, 50*time.Millisecond, converged) {
		t.Fatal("joined nodes did not converge within 15s")
	}

	// A partition: {0, 1, 2} and the rest see each other as dead, then heal.
	if err := c.Partition([]int{0, 1, 2}); err != nil {
		t.Fatal(err)
	}
	split := func() bool {
		m, ok := c.Member(0, 5)
		return ok && !m.State.Live()
	}
	if !poll(t, c, 20*time.Second, 50*time.Millisecond, split) {
		t.Fatal("node 0 still sees node 5 live across a partition after 20s")
	}
	if err := c.Heal(); err != nil {
		t.Fatal(err)
	}
	if !poll(t, c, 30*time.Second, 50*time.Millisecond, converged) {
		t.Fatal("the cluster did not reconverge within 30s of the heal")
	}

	// A restart: same ID, next generation, rejoins.
	gen := c.Generation(3)
	if err := c.Restart(3, []int{0}); err != nil {
		t.Fatal(err)
	}
	if got := c.Generation(3); got != gen+1 {
		t.Fatalf("Generation(3) = %d after restart, want %d", got, gen+1)
	}
	rejoined := func() bool {
		m, ok := c.Member(0, 3)
		return ok && m.Generation == gen+1 && m.State.Live()
	}
	if !poll(t, c, 15*time.Second, 50*time.Millisecond, rejoined) {
		t.Fatal("node 0 does not see node 3's new generation within 15s")
	}

	// A leave: the node stops by itself and the others see it Left.
	if err := c.Leave(4); err != nil {
		t.Fatal(err)
	}
	left := func() bool {
		m, ok := c.Member(0, 4)
		return ok && m.State == engine.StateLeft && !c.Running(4)
	}
	if !poll(t, c, 15*time.Second, 50*time.Millisecond, left) {
		t.Fatal("node 4 did not leave within 15s")
	}
}
