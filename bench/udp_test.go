package bench_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
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

// udpCore is the core suite as TestRunUDPCoreSuite runs it on real sockets:
// each scenario at a small N with phases short enough for `make test`
// under -race (quick, for -short, shorter still), and the figures each must
// report measured.
var udpCore = []struct {
	name    string
	run     func(ctx context.Context, o bench.Options, quick bool) (*bench.Result, error)
	figures []string // must be present and measured (not Missing)
}{
	{"bootstrap", func(ctx context.Context, o bench.Options, quick bool) (*bench.Result, error) {
		o.Duration = 15 * time.Second // the wait limit; the run ends when all see all
		return bench.RunBootstrap(ctx, bench.BootstrapConfig{Options: o, Spread: pick(quick, time.Second, 3*time.Second)})
	}, []string{"all see all, after the last start", "per-node complete view after the last start p99", "nodes without a complete view", "deaths declared"}},
	{"dissemination", func(ctx context.Context, o bench.Options, quick bool) (*bench.Result, error) {
		o.Duration = pick(quick, 1500*time.Millisecond, 2*time.Second)
		return bench.RunDissemination(ctx, bench.DisseminationConfig{Options: o, Updates: 3, Warmup: time.Second})
	}, []string{"half know p50", "all know p50", "all know max", "rounds to all p50", "updates not reaching all"}},
	{"crash", func(ctx context.Context, o bench.Options, quick bool) (*bench.Result, error) {
		o.Duration = pick(quick, 4*time.Second, 6*time.Second) // after the last crash
		return bench.RunCrash(ctx, bench.CrashConfig{Options: o, Crashes: 2, Spacing: time.Second, Warmup: pick(quick, 2*time.Second, 3*time.Second)})
	}, []string{"first suspicion p50", "first death p50", "all live nodes know p50", "all live nodes know max", "crashes not known by all", "false deaths"}},
	{"false-positives", func(ctx context.Context, o bench.Options, quick bool) (*bench.Result, error) {
		o.Duration = pick(quick, 2*time.Second, 5*time.Second)
		return bench.RunFalsePositives(ctx, bench.FalsePositiveConfig{Options: o}) // at its default 10% loss
	}, []string{"node-hours", "false deaths", "direct probes per node per second", "datagrams sent per node per second"}},
	{"steady", func(ctx context.Context, o bench.Options, quick bool) (*bench.Result, error) {
		o.Duration = pick(quick, time.Second, 3*time.Second)
		return bench.RunSteady(ctx, bench.SteadyConfig{Options: o, Warmup: time.Second})
	}, []string{"datagrams sent per node per period", "bytes sent per node per second", "bytes received per node per second", "CPU per node per second"}},
}

// pick returns short when quick and full otherwise.
func pick(quick bool, short, full time.Duration) time.Duration {
	if quick {
		return short
	}
	return full
}

// TestRunUDPCoreSuite runs every scenario of the core suite on real sockets
// (12 nodes on loopback, the local preset, no added loss but the
// false-positive scenario's own) and fails when a scenario stops early,
// when any of its outcome checks fails, or when a figure it must report is
// absent or could not be measured (Missing in results.json). It takes
// about 30 s of real time under -race, nearly all of it the scenarios'
// fixed phases; with -short it runs 8 nodes with shorter phases, in about
// 18 s. A context deadline bounds it: a stalled scenario
// stops with its error set, which fails it.
//
// The checks run on the real clock of a possibly loaded machine; the
// phases leave room for that (a crash has 6 s to be known everywhere,
// where the local preset takes about 1 s), so that a failure means what
// it says. cmd/gossipbench's test of the same name checks the command
// line's plumbing; the outcomes are asserted here.
func TestRunUDPCoreSuite(t *testing.T) {
	quick := testing.Short()
	core, err := bench.Select(bench.SuiteCore, "")
	if err != nil {
		t.Fatal(err)
	}
	var names, have []string
	for _, s := range core {
		names = append(names, s.Name)
	}
	for _, sc := range udpCore {
		have = append(have, sc.name)
	}
	if !slices.Equal(names, have) {
		t.Fatalf("the core suite is %q; this test runs %q: keep them the same", names, have)
	}

	o := bench.Options{N: 12, Seed: 5, Preset: bench.Local, Driver: bench.UDPDriver{}}
	if quick {
		o.N = 8
	}
	// Each scenario plans at most 10 s of cluster time (bootstrap waits up
	// to 15 s but ends once all see all).
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	for _, sc := range udpCore {
		t.Run(sc.name, func(t *testing.T) {
			r, err := sc.run(ctx, o, quick)
			if r == nil {
				t.Fatalf("%s: no result: %v", sc.name, err)
			}
			if err != nil {
				t.Errorf("%s stopped early: %v", sc.name, err)
			}
			checkUDPResult(t, r, sc.name, sc.figures)
			if t.Failed() {
				var b strings.Builder
				bench.WriteText(&b, r)
				t.Log(b.String())
			} else {
				t.Logf("%s: %d checks pass, %d figures measured in %.1f s", sc.name, len(r.Checks), len(r.Figures), float64(r.Wall))
			}
		})
	}
}

// checkUDPResult fails t unless r is a finished run of the scenario name
// on the udp driver whose every check passed and whose figures were all
// measured, including the named ones. It reads the figures from the
// report's JSON form, as gossipbench writes results.json, where a value
// that could not be measured (NaN, a time never reached) is Missing.
func checkUDPResult(t *testing.T, r *bench.Result, name string, figures []string) {
	t.Helper()
	if r.Scenario != name || r.Mode != "udp" {
		t.Errorf("result of scenario %q in mode %q, want %q in udp", r.Scenario, r.Mode, name)
	}
	if r.Err != "" {
		t.Errorf("%s: the run stopped early: %s", name, r.Err)
	}
	if len(r.Checks) == 0 {
		t.Errorf("%s made no outcome checks", name)
	}
	for _, c := range r.Checks {
		if !c.OK {
			t.Errorf("%s: check failed: %s: %s", name, c.Name, c.Detail)
		}
	}
	if !r.ChecksOK() {
		t.Errorf("%s: Result.ChecksOK() = false", name)
	}

	var js bytes.Buffer
	if err := (&bench.Report{Mode: "udp", Results: []*bench.Result{r}}).WriteJSON(&js); err != nil {
		t.Fatalf("%s: WriteJSON: %v", name, err)
	}
	var back bench.Report
	if err := json.Unmarshal(js.Bytes(), &back); err != nil || len(back.Results) != 1 {
		t.Fatalf("%s: the report's JSON does not decode to one result: %v", name, err)
	}
	got := back.Results[0]
	if len(got.Figures) == 0 {
		t.Errorf("%s reported no figures", name)
	}
	for _, f := range got.Figures {
		if f.Missing {
			t.Errorf("%s: figure %q is Missing: it could not be measured", name, f.Name)
		}
	}
	for _, want := range figures {
		if _, ok := got.Figure(want); !ok {
			t.Errorf("%s: figure %q absent", name, want)
		}
	}
}

// TestOutsideNode checks that a node left outside the cluster does not run
// in it but is in every other node's view as alive at generation 1, at an
// address of its own, and that the simulator refuses such a node.
func TestOutsideNode(t *testing.T) {
	const n, out = 6, 2
	c, err := bench.UDPDriver{}.NewCluster(bench.ClusterConfig{
		N:       n,
		Seed:    5,
		Engine:  bench.Local.Engine(),
		Start:   bench.StartConverged,
		Outside: []int{out},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if c.Running(out) {
		t.Errorf("node %d outside the cluster runs in it", out)
	}
	if g := c.Generation(out); g != 1 {
		t.Errorf("Generation(%d) = %d, want 1", out, g)
	}
	// What reads a node's process answers nothing for it, and does not
	// panic.
	if _, ok := c.Member(out, 0); ok {
		t.Errorf("Member(%d, 0) found a member: the node has no process here", out)
	}
	if live, total := c.NumMembers(out); live != 0 || total != 0 {
		t.Errorf("NumMembers(%d) = %d, %d, want 0, 0", out, live, total)
	}
	if st := c.Stats(out); st.DatagramsOut != 0 {
		t.Errorf("Stats(%d) counts %d datagrams sent, want none", out, st.DatagramsOut)
	}
	if _, _, ok := c.State(out, 0, []byte("k")); ok {
		t.Errorf("State(%d, 0) found a value", out)
	}
	addrs := map[string]bool{}
	for i := 0; i < n; i++ {
		if i == out {
			continue
		}
		if !c.Running(i) {
			t.Fatalf("node %d does not run", i)
		}
		m, ok := c.Member(i, out)
		if !ok || m.State != engine.StateAlive || m.Generation != 1 || !m.Addr.IsValid() {
			t.Errorf("node %d sees node %d as %+v, %v; want alive at generation 1 with an address", i, out, m, ok)
		}
		addrs[m.Addr.String()] = true
		self, _ := c.Member(i, i)
		if self.Addr == m.Addr {
			t.Errorf("node %d has the outside node's address %v", i, m.Addr)
		}
	}
	if len(addrs) != 1 {
		t.Errorf("nodes disagree on the outside node's address: %v", addrs)
	}

	for _, bad := range [][]int{{-1}, {n}} {
		if _, err := (bench.UDPDriver{}).NewCluster(bench.ClusterConfig{N: n, Engine: bench.Local.Engine(), Outside: bad}); err == nil {
			t.Errorf("a cluster of %d nodes with node %v outside was built", n, bad)
		}
	}
	// A node listed twice is outside once.
	c2, err := bench.UDPDriver{}.NewCluster(bench.ClusterConfig{N: n, Engine: bench.Local.Engine(), Start: bench.StartConverged, Outside: []int{out, out}})
	if err != nil {
		t.Fatalf("node %d listed outside twice: %v", out, err)
	}
	c2.Close()

	_, err = bench.SimDriver{}.NewCluster(bench.ClusterConfig{N: n, Engine: bench.Local.Engine(), Outside: []int{out}})
	if !errors.Is(err, bench.ErrUnsupported) {
		t.Errorf("simulator with a node outside: err = %v, want ErrUnsupported", err)
	}
}
