package peers_test

import (
	"bytes"
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/memberlist"
	"github.com/hearsay-io/hearsay/bench/peers"
)

// smallOptions runs every scenario at N = 8 with short windows: one crash
// per phase, the local presets' timing, bounds that keep the whole test
// under a minute.
func smallOptions() peers.Options {
	o := peers.DefaultOptions(8)
	o.Crash = 1
	o.JoinBound = 15 * time.Second
	o.Settle = time.Second
	o.Window = 2 * time.Second
	o.CrashBound = 20 * time.Second
	o.LossWindow = 2 * time.Second
	return o
}

// TestScenariosSmall runs each scenario at N = 8 on both engines, in
// parallel, and checks that the harness produces sane numbers.
func TestScenariosSmall(t *testing.T) {
	if testing.Short() {
		t.Skip("runs real clusters for about 30 s")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 55*time.Second)
	defer cancel()
	// memberlist repairs gossip it missed during a burst join only by its
	// push-pull, every 15 s in the local preset: shorten it so that an
	// unlucky burst does not stretch the test past its bounds.
	ml := peers.MemberlistLocal()
	ml.Config = func() *memberlist.Config {
		c := memberlist.DefaultLocalConfig()
		c.PushPullInterval = 2 * time.Second
		return c
	}
	engines := []peers.Engine{peers.HearsayLocal(), ml}
	runs := make([]peers.RunResult, len(engines))
	var wg sync.WaitGroup
	for i, e := range engines {
		wg.Go(func() { runs[i] = peers.Run(ctx, e, smallOptions()) })
	}
	wg.Wait()
	for _, r := range runs {
		t.Run(r.Engine, func(t *testing.T) { checkRun(t, r) })
	}

	rep := &peers.Report{Runs: runs, Summary: peers.Summarize(runs), Bytes: peers.ByTypes(runs)}
	for _, r := range runs {
		rep.Sweep = append(rep.Sweep, peers.Point([]peers.RunResult{r}))
	}
	rep.Targets = peers.CheckTargets(rep.Sweep, rep.Summary)
	var text, js bytes.Buffer
	if err := rep.WriteText(&text); err != nil {
		t.Fatalf("WriteText: %v", err)
	}
	if err := rep.WriteJSON(&js); err != nil {
		t.Fatalf("WriteJSON: %v", err)
	}
	for _, want := range []string{"== N = 8 ==", "steady.bytes_per_node_s", "crash.all_know_s", "loss30.false_deaths_per_node_h", "hearsay, N = 8"} {
		if !strings.Contains(text.String(), want) {
			t.Errorf("WriteText output lacks %q:\n%s", want, text.String())
		}
	}
	svg := peers.TradeoffSVG(rep.Sweep, "test")
	if !strings.HasPrefix(svg, "<svg") || !strings.Contains(svg, "<polyline") || !strings.HasSuffix(svg, "</svg>") {
		t.Errorf("TradeoffSVG = %.200q..., want an svg element with curves", svg)
	}
	if t.Failed() {
		t.Logf("report:\n%s", text.String())
	}
}

func checkRun(t *testing.T, r peers.RunResult) {
	if r.Err != "" {
		t.Fatalf("run failed: %s", r.Err)
	}
	get := func(scenario, name string) float64 {
		t.Helper()
		v, ok := r.Figure(scenario, name)
		if !ok {
			t.Errorf("%s.%s missing", scenario, name)
		}
		return v
	}
	between := func(scenario, name string, lo, hi float64) {
		t.Helper()
		if v := get(scenario, name); v < lo || v > hi {
			t.Errorf("%s.%s = %g, want in [%g, %g]", scenario, name, v, lo, hi)
		}
	}
	for _, s := range []string{"join", "burst"} {
		between(s, "converged", 1, 1)
		between(s, "all_see_all_s", 0, 15)
	}
	between("steady", "all_see_all", 1, 1)
	between("steady", "cpu_ms_per_node_s", 1e-3, 1000)
	between("steady", "datagrams_per_node_s", 0.1, 1e4)
	between("steady", "bytes_per_node_s", 10, 1e7)
	between("steady", "heap_kib_per_node", 1, 1e5)
	between("steady", "allocs_per_node_s", 0, 1e7)
	between("crash", "k", 1, 1)
	between("crash", "complete", 1, 1)
	between("crash", "detected", 1, 1)
	p50, p99, all := get("crash", "p50_s"), get("crash", "p99_s"), get("crash", "all_know_s")
	if !(0 < p50 && p50 <= p99 && p99 <= all && all <= 20) {
		t.Errorf("crash p50, p99, all know = %g, %g, %g s; want 0 < p50 <= p99 <= all <= 20", p50, p99, all)
	}
	for _, s := range []string{"loss10", "loss30"} {
		between(s, "bytes_per_node_s", 10, 1e7)
		between(s, "false_deaths_per_node_h", 0, 1e6)
		get(s+".crash", "detected")
	}
	if len(r.ByType) == 0 {
		t.Errorf("ByType is empty")
	}
}
