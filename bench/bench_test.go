package bench_test

import (
	"bytes"
	"context"
	"encoding/json"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/hearsay-io/hearsay/bench"
)

// smoke runs every scenario at small N with short phases and checks that
// each produces its figures and passes its outcome checks. It is part of
// `make test`, so it has to stay fast under -race.
var smoke = []struct {
	name    string
	run     func(context.Context, bench.Options) (*bench.Result, error)
	figures []string // must be present and measured (not NaN)
}{
	{"bootstrap", func(ctx context.Context, o bench.Options) (*bench.Result, error) {
		o.Duration = 30 * time.Second
		return bench.RunBootstrap(ctx, bench.BootstrapConfig{Options: o, Spread: 2 * time.Second, Hold: 10 * time.Second})
	}, []string{"all see all, after the last start", "per-node complete view after the last start p99", "deaths declared",
		"deaths declared while holding", "nodes not seeing all alive at the end of the hold"}},
	{"dissemination", func(ctx context.Context, o bench.Options) (*bench.Result, error) {
		o.Duration = 3 * time.Second
		return bench.RunDissemination(ctx, bench.DisseminationConfig{Options: o, Updates: 3, Warmup: 2 * time.Second})
	}, []string{"all know p50", "rounds to all p50", "half know p50"}},
	{"crash", func(ctx context.Context, o bench.Options) (*bench.Result, error) {
		o.Duration = 10 * time.Second
		return bench.RunCrash(ctx, bench.CrashConfig{Options: o, Crashes: 4, Spacing: time.Second, Warmup: 5 * time.Second})
	}, []string{"first suspicion p50", "first death p50", "all live nodes know p50", "all live nodes know p99", "false deaths"}},
	{"false-positives", func(ctx context.Context, o bench.Options) (*bench.Result, error) {
		o.Duration = 30 * time.Second
		return bench.RunFalsePositives(ctx, bench.FalsePositiveConfig{Options: o})
	}, []string{"node-hours", "false deaths", "suspicions raised per node-hour"}},
	{"steady", func(ctx context.Context, o bench.Options) (*bench.Result, error) {
		o.Duration = 10 * time.Second
		return bench.RunSteady(ctx, bench.SteadyConfig{Options: o, Warmup: 5 * time.Second})
	}, []string{"datagrams sent per node per period", "bytes sent per node per second", "CPU per node per second"}},
	{"flaky", func(ctx context.Context, o bench.Options) (*bench.Result, error) {
		o.Duration = 40 * time.Second
		return bench.RunFlaky(ctx, bench.FlakyConfig{Options: o, Fraction: 0.02})
	}, []string{"flaky nodes removed everywhere", "time until removed everywhere p50", "healthy nodes declared dead"}},
	{"asymmetric", func(ctx context.Context, o bench.Options) (*bench.Result, error) {
		o.Duration = 20 * time.Second
		return bench.RunAsymmetric(ctx, bench.AsymmetricConfig{Options: o, Victims: 2})
	}, []string{"victims declared dead", "links cut (one way)"}},
	{"pause", func(ctx context.Context, o bench.Options) (*bench.Result, error) {
		o.Duration = 2 * time.Second
		return bench.RunPause(ctx, bench.PauseConfig{Options: o, Pauses: 6, Concurrent: 2, Warmup: 5 * time.Second})
	}, []string{"pause events", "false deaths"}},
	{"partition", func(ctx context.Context, o bench.Options) (*bench.Result, error) {
		o.Duration = 25 * time.Second
		return bench.RunPartition(ctx, bench.PartitionConfig{Options: o, HealLimit: 60 * time.Second})
	}, []string{"sides separated (each sees only itself)", "all see all after the heal", "per-node full view after the heal p99"}},
	{"rolling-restart", func(ctx context.Context, o bench.Options) (*bench.Result, error) {
		o.Duration = 11 * time.Second
		return bench.RunRollingRestart(ctx, bench.RestartConfig{Options: o, Batches: 2, Retention: 10 * time.Second})
	}, []string{"all see all at current generations p99", "live nodes declared dead", "nodes holding tombstones after retention"}},
	{"churn", func(ctx context.Context, o bench.Options) (*bench.Result, error) {
		o.Duration = 15 * time.Second
		return bench.RunChurn(ctx, bench.ChurnConfig{Options: o, Rate: 0.03, Downtime: 5 * time.Second})
	}, []string{"all see all after the last restart", "running nodes declared dead", "restarts"}},
	{"appstate", func(ctx context.Context, o bench.Options) (*bench.Result, error) {
		return bench.RunAppState(ctx, bench.AppStateConfig{Options: o, Window: 2 * time.Second, Churn: 0.03})
	}, []string{"time to 100% after the last change", "copies wrong or missing"}},
}

func TestScenariosSmoke(t *testing.T) {
	for _, sc := range smoke {
		t.Run(sc.name, func(t *testing.T) {
			t.Parallel()
			r, err := sc.run(context.Background(), bench.Options{N: 100, Seed: 7, Loss: 0.01})
			if err != nil {
				t.Fatalf("%s: %v", sc.name, err)
			}
			if r.Scenario != sc.name {
				t.Errorf("Result.Scenario = %q, want %q", r.Scenario, sc.name)
			}
			for _, name := range sc.figures {
				f, ok := r.Figure(name)
				if !ok {
					t.Errorf("figure %q missing", name)
					continue
				}
				if math.IsNaN(f.Value) {
					t.Errorf("figure %q not measured", name)
				}
			}
			if len(r.Checks) == 0 {
				t.Errorf("%s made no outcome checks", sc.name)
			}
			for _, c := range r.Checks {
				if !c.OK {
					t.Errorf("check failed: %s: %s", c.Name, c.Detail)
				}
			}
			if r.Simulated <= 0 {
				t.Errorf("Simulated = %v, want > 0", r.Simulated)
			}
			if t.Failed() {
				var b bytes.Buffer
				bench.WriteText(&b, r)
				t.Log(b.String())
			}
		})
	}
}

// TestDeterministic runs one scenario twice: every figure but the CPU and
// wall-clock ones must repeat exactly for the same seed.
func TestDeterministic(t *testing.T) {
	run := func() *bench.Result {
		r, err := bench.RunCrash(context.Background(), bench.CrashConfig{
			Options: bench.Options{N: 60, Seed: 3, Loss: 0.05, Duration: 8 * time.Second},
			Crashes: 3, Spacing: time.Second, Warmup: 4 * time.Second,
		})
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	a, b := run(), run()
	if len(a.Figures) != len(b.Figures) {
		t.Fatalf("runs gave %d and %d figures", len(a.Figures), len(b.Figures))
	}
	for k := range a.Figures {
		fa, fb := a.Figures[k], b.Figures[k]
		if fa.Value != fb.Value && !(math.IsNaN(fa.Value) && math.IsNaN(fb.Value)) {
			t.Errorf("figure %q: %v, then %v", fa.Name, fa.Value, fb.Value)
		}
	}
}

func TestCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	calls := 0
	o := bench.Options{N: 50, Duration: time.Hour, Progress: func(p bench.Progress) {
		if calls++; calls == 5 {
			cancel()
		}
	}}
	r, err := bench.RunFalsePositives(ctx, bench.FalsePositiveConfig{Options: o})
	if err != context.Canceled {
		t.Fatalf("RunFalsePositives(cancelled) error = %v, want context.Canceled", err)
	}
	if r == nil || r.Err == "" || r.ChecksOK() {
		t.Errorf("cancelled result = %+v, want Err set and ChecksOK false", r)
	}
}

func TestOptionsValidate(t *testing.T) {
	ctx := context.Background()
	if _, err := bench.RunSteady(ctx, bench.SteadyConfig{Options: bench.Options{N: 1}}); err == nil {
		t.Error("RunSteady(N=1) succeeded, want an error")
	}
	if _, err := bench.RunSteady(ctx, bench.SteadyConfig{Options: bench.Options{N: 10, Loss: 1}}); err == nil {
		t.Error("RunSteady(Loss=1) succeeded, want an error")
	}
	if _, err := bench.RunSteady(ctx, bench.SteadyConfig{Options: bench.Options{N: 10, Preset: "moon"}}); err == nil {
		t.Error("RunSteady(Preset=moon) succeeded, want an error")
	}
}

func TestSelect(t *testing.T) {
	core, err := bench.Select("core", "")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, s := range core {
		names = append(names, s.Name)
	}
	if got, want := strings.Join(names, ","), "bootstrap,dissemination,crash,false-positives,steady"; got != want {
		t.Errorf("Select(core) = %s, want %s", got, want)
	}
	full, _ := bench.Select("full", "")
	if len(full) != len(bench.Scenarios()) {
		t.Errorf("Select(full) has %d scenarios, want %d", len(full), len(bench.Scenarios()))
	}
	if len(full) != len(smoke) {
		t.Errorf("the smoke test covers %d scenarios, the catalogue has %d", len(smoke), len(full))
	}
	two, err := bench.Select("core", "crash, churn")
	if err != nil || len(two) != 2 || two[0].Name != "crash" || two[1].Name != "churn" {
		t.Errorf("Select(crash, churn) = %v, %v", two, err)
	}
	if _, err := bench.Select("core", "crash,nope"); err == nil {
		t.Error("Select(nope) succeeded, want an error")
	}
	if _, err := bench.Select("most", ""); err == nil {
		t.Error("Select(suite most) succeeded, want an error")
	}
}

func TestReportOutputs(t *testing.T) {
	r, err := bench.RunDissemination(context.Background(), bench.DisseminationConfig{
		Options: bench.Options{N: 50, Duration: 2 * time.Second}, Updates: 2, Warmup: time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	r.Figures = append(r.Figures, bench.Figure{Name: "never reached", Value: math.NaN(), Unit: "s"})
	rep := &bench.Report{Tool: "gossipbench", Command: "gossipbench -n 50 <script>", Mode: "sim", Machine: bench.ThisMachine(), Results: []*bench.Result{r}}

	var js bytes.Buffer
	if err := rep.WriteJSON(&js); err != nil {
		t.Fatalf("WriteJSON: %v", err)
	}
	var back bench.Report
	if err := json.Unmarshal(js.Bytes(), &back); err != nil {
		t.Fatalf("results.json does not decode: %v", err)
	}
	if len(back.Results) != 1 || len(back.Results[0].Figures) != len(r.Figures) {
		t.Fatalf("decoded report has %d results", len(back.Results))
	}
	if f := back.Results[0].Figures[len(r.Figures)-1]; !f.Missing {
		t.Errorf("NaN figure decoded as %+v, want Missing", f)
	}

	var page bytes.Buffer
	if err := rep.WriteHTML(&page); err != nil {
		t.Fatalf("WriteHTML: %v", err)
	}
	h := page.String()
	for _, want := range []string{"<svg", "polyline", "Fraction of nodes that know an update", "all know p50", "&lt;script&gt;"} {
		if !strings.Contains(h, want) {
			t.Errorf("report.html lacks %q", want)
		}
	}
	if strings.Contains(h, "<script>") || strings.Contains(h, "http://") && !strings.Contains(h, `xmlns="http://www.w3.org/2000/svg"`) {
		t.Error("report.html must be self-contained and escape its text")
	}

	var txt bytes.Buffer
	if err := bench.WriteText(&txt, r); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"all know p50", "≤ 2 s", "log₂N", "PASS"} {
		if !strings.Contains(txt.String(), want) {
			t.Errorf("text table lacks %q:\n%s", want, txt.String())
		}
	}
}

func TestSimCap(t *testing.T) {
	var boot bench.Scenario
	for _, s := range bench.Scenarios() {
		if s.Name == "bootstrap" {
			boot = s
		}
	}
	boot.SimCap = 30
	r, err := boot.Run(context.Background(), bench.Options{N: 50}, bench.Knobs{})
	if err != nil {
		t.Fatal(err)
	}
	if r.N != 30 || len(r.Notes) == 0 || !strings.Contains(r.Notes[len(r.Notes)-1], "instead of 50") {
		t.Errorf("capped run: N = %d, notes %q; want N = 30 and a note", r.N, r.Notes)
	}
	r, err = boot.Run(context.Background(), bench.Options{N: 40}, bench.Knobs{ExactN: true})
	if err != nil {
		t.Fatal(err)
	}
	if r.N != 40 {
		t.Errorf("ExactN run: N = %d, want 40", r.N)
	}
}
