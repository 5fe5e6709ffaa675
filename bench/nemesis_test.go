package bench_test

import (
	"bytes"
	"context"
	"errors"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hearsay-io/hearsay/bench"
)

// nemesisN is the cluster size of the short nemesis suite in CI.
const nemesisN = 100

// knownFailing lists, per nemesis scenario, the checks that the engine
// fails at nemesisN and seed 1 on the committed tree the nemesis suite was
// written against (5dbe945; the simulator without its cost model). The
// test still runs these scenarios, logs their figures and the failure,
// and asserts every other check. The engine is being fixed in parallel
// and uncommitted engine changes give other results: update the list
// with the engine.
//
// TODO(engine): remove each entry as the engine is fixed; the test logs
// "now passes" when a listed check passes.
var knownFailing = map[string][]string{
	// 30% loss for 20 s: one node is declared dead by one observer.
	"nemesis-loss-30": {"no false deaths"},
	// A node cut off for 3 s is declared dead.
	"nemesis-blips": {"no false deaths"},
	// A nodes declare every B node dead: once B has removed A (across
	// the cut, excused), B stops sending heartbeats to A observers, which
	// can still hear B. A nodes also adopt B's verdicts about A nodes.
	"nemesis-one-way": {"no false deaths"},
	// Nodes whose datagrams take 0.5–2 s each way are declared dead.
	"nemesis-slow": {"no false deaths"},
	// Its schedule at seed 1 has a one-way cut.
	"nemesis-mix": {"no false deaths"},
}

// TestNemesisShort runs the short nemesis suite (bench.NemesisShortScenarios)
// at nemesisN in the simulator and fails when a scenario fails one of its
// checks — a false death, a flaky node kept, a crash never learned, a
// reconvergence that never completes — unless knownFailing lists it. It
// logs every result table; missed time targets are logged, not asserted.
func TestNemesisShort(t *testing.T) {
	for _, s := range bench.NemesisShortScenarios() {
		t.Run(s.Name, func(t *testing.T) {
			t.Parallel()
			r, err := s.Run(context.Background(), bench.Options{N: nemesisN, Seed: 1, Loss: 0.01}, bench.Knobs{})
			if err != nil {
				t.Fatalf("%s: %v", s.Name, err)
			}
			var b bytes.Buffer
			bench.WriteText(&b, r)
			t.Log(b.String())
			if r.Scenario != s.Name {
				t.Errorf("result names scenario %q, want %q", r.Scenario, s.Name)
			}
			if r.Simulated <= 0 || len(r.Checks) == 0 {
				t.Errorf("Simulated = %v, %d checks; want a run with checks", r.Simulated, len(r.Checks))
			}
			for _, f := range r.Figures {
				if strings.Contains(f.Name, "false deaths") && math.IsNaN(f.Value) {
					t.Errorf("figure %q not measured", f.Name)
				}
			}
			known := knownFailing[s.Name]
			for _, c := range r.Checks {
				listed := slices.Contains(known, c.Name)
				switch {
				case !c.OK && listed:
					t.Logf("known failure (knownFailing): %s: %s", c.Name, c.Detail)
				case !c.OK:
					t.Errorf("check failed: %s: %s", c.Name, c.Detail)
				case listed:
					t.Logf("now passes, remove it from knownFailing: %s", c.Name)
				}
			}
			for _, f := range r.Figures {
				if f.Met != nil && !*f.Met {
					t.Logf("target missed: %s = %s, want %s", f.Name, bench.FormatValue(f.Value, f.Unit), f.Target.String(f.Unit))
				}
			}
			if r.Err != "" {
				t.Errorf("run error: %s", r.Err)
			}
		})
	}
}

// TestNemesisCatchesFalseDeaths makes sure the assertions can fail: stalls
// of 4–6 s get nodes declared dead, and the stalls scenario must say so.
func TestNemesisCatchesFalseDeaths(t *testing.T) {
	t.Parallel()
	r, err := bench.RunNemesisStalls(context.Background(), bench.NemesisStallsConfig{
		Options:  bench.Options{N: 60, Seed: 2, Duration: 25 * time.Second},
		MinStall: 4 * time.Second, MaxStall: 6 * time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	if r.ChecksOK() {
		var b bytes.Buffer
		bench.WriteText(&b, r)
		t.Errorf("stalls of 4–6 s passed every check:\n%s", b.String())
	}
	if f, ok := r.Figure("false deaths"); !ok || f.Value == 0 || *f.Met {
		t.Errorf("false deaths figure = %+v, want a missed non-zero count", f)
	}
}

// TestNemesisDeterministic runs the mix, which exercises every fault,
// twice at a small N: every figure must repeat exactly for the seed.
func TestNemesisDeterministic(t *testing.T) {
	t.Parallel()
	run := func() *bench.Result {
		r, err := bench.RunNemesisMix(context.Background(), bench.NemesisMixConfig{
			Options: bench.Options{N: 30, Seed: 5, Loss: 0.01, Duration: 3 * time.Minute},
			Gap:     10 * time.Second, Background: 1,
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
	if strings.Join(a.Notes, "|") != strings.Join(b.Notes, "|") {
		t.Errorf("notes differ:\n%q\n%q", a.Notes, b.Notes)
	}
}

func TestNemesisSelect(t *testing.T) {
	for _, suite := range []string{bench.SuiteNemesis, bench.SuiteNemesisShort} {
		got, err := bench.Select(suite, "")
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != len(bench.NemesisScenarios()) || len(got) < 14 {
			t.Errorf("Select(%s) has %d scenarios, want %d", suite, len(got), len(bench.NemesisScenarios()))
		}
	}
	two, err := bench.Select("", "nemesis-mix, crash")
	if err != nil || len(two) != 2 || two[0].Name != "nemesis-mix" || two[1].Name != "crash" {
		t.Errorf("Select(nemesis-mix, crash) = %v, %v", two, err)
	}
	full, _ := bench.Select(bench.SuiteFull, "")
	for _, s := range full {
		if strings.HasPrefix(s.Name, "nemesis") {
			t.Errorf("the full suite holds %s", s.Name)
		}
	}
}

// TestNemesisUnsupported: faults the UDP driver cannot inject fail before
// any cluster is built.
func TestNemesisUnsupported(t *testing.T) {
	o := bench.Options{N: 4, Driver: bench.UDPDriver{}}
	for _, run := range []func() (*bench.Result, error){
		func() (*bench.Result, error) {
			return bench.RunNemesisSlow(context.Background(), bench.NemesisSlowConfig{Options: o})
		},
		func() (*bench.Result, error) {
			return bench.RunNemesisStalls(context.Background(), bench.NemesisStallsConfig{Options: o})
		},
		func() (*bench.Result, error) {
			return bench.RunNemesisDupReorder(context.Background(), bench.NemesisDupReorderConfig{Options: o})
		},
	} {
		if r, err := run(); r != nil || !errors.Is(err, bench.ErrUnsupported) {
			t.Errorf("run on UDP = %v, %v; want nil, ErrUnsupported", r, err)
		}
	}
}
