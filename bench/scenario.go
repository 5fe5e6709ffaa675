package bench

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// Scenario is one entry of the catalogue: a name, what it measures, whether
// it belongs to the core suite, and how to run it with the shared options
// (scenario-specific settings at their defaults).
type Scenario struct {
	Name  string
	Title string
	// Core scenarios make up the default suite.
	Core bool
	// Duration says what Options.Duration means for this scenario.
	Duration string
	// SimCap, when positive, is the largest N the catalogue runs this
	// scenario at in the simulator, unless Knobs.ExactN: the simulator's
	// cost for it grows faster than N² (see Scenarios).
	SimCap int
	run    func(context.Context, Options, Knobs) (*Result, error)
}

// Knobs are the scenario-specific settings a command line exposes; zero
// fields keep each scenario's default.
type Knobs struct {
	// Crashes is CrashConfig.Crashes.
	Crashes int
	// FalsePositiveLoss is FalsePositiveConfig.Loss.
	FalsePositiveLoss float64
	// ExactN runs the scenario at Options.N even above its SimCap.
	ExactN bool
	// Hold is BootstrapConfig.Hold.
	Hold time.Duration
}

// The simulator shares identical table shards between nodes, which is what
// lets 10,000 converged nodes fit in a few hundred megabytes. Scenarios
// whose nodes' views diverge for a long time lose that sharing, and their
// cost grows faster than N². Measured on a 2-core machine (CPU-seconds and
// peak memory):
//
//	bootstrap        1,000: 6 s, 0.26 GB; 2,000: 29 s, 0.95 GB; 4,000: 183 s, 3.4 GB
//	appstate         1,000: 15 s, 0.38 GB; 2,000: 120 s, 1.4 GB
//	partition        2,000: 68 s, 1.8 GB; 10,000: over 6 GB within the split
//	rolling-restart  2,000: 21 s, 0.5 GB; 10,000: over 5.6 GB in the first batch
//	churn            2,000: 15 s, 0.2 GB; 10,000: 4.6 GB and 4 minutes by half-way
//
// Hence the caps below; Knobs.ExactN (gossipbench -n-for) lifts them.
const (
	bootstrapCap = 1000
	appStateCap  = 1000
	divergeCap   = 2000 // partition, rolling restart, churn
)

// SizeFor returns the cluster size Run uses for o and k: o.N (by default
// 10,000), lowered to SimCap in the simulator unless k.ExactN.
func (s Scenario) SizeFor(o Options, k Knobs) int {
	want := o.withDefaults().N
	if s.SimCap > 0 && !k.ExactN && want > s.SimCap && (o.Driver == nil || o.Driver.Name() == "sim") {
		return s.SimCap
	}
	return want
}

// Run runs the scenario. In the simulator, N above SimCap is lowered to it
// (and the result says so) unless k.ExactN.
func (s Scenario) Run(ctx context.Context, o Options, k Knobs) (*Result, error) {
	capped := 0
	if n := s.SizeFor(o, k); n != o.withDefaults().N {
		capped, o.N = o.withDefaults().N, n
	}
	r, err := s.run(ctx, o, k)
	if r != nil && capped > 0 {
		r.note("Run at N = %d instead of %d: the simulator's cost for this scenario grows faster than N² (see bench.Scenario.SimCap); gossipbench -n-for %s=%d runs it at full size.", s.SimCap, capped, s.Name, capped)
	}
	return r, err
}

// Scenarios returns the catalogue, in the order the suites run them. In the
// simulator, bootstrap and appstate run at most 1,000 nodes and partition,
// rolling-restart and churn at most 2,000 (Scenario.SimCap), because their
// diverging views make the simulator's cost grow faster than N².
func Scenarios() []Scenario {
	return []Scenario{
		{"bootstrap", "Bootstrap through seeds", true, "wait limit after the last start (40s)", bootstrapCap,
			func(ctx context.Context, o Options, k Knobs) (*Result, error) {
				return RunBootstrap(ctx, BootstrapConfig{Options: o, Hold: k.Hold})
			}},
		{"dissemination", "Dissemination of one update", true, "time given to each update (3s)", 0,
			func(ctx context.Context, o Options, k Knobs) (*Result, error) {
				return RunDissemination(ctx, DisseminationConfig{Options: o})
			}},
		{"crash", "Crash detection", true, "time after the last crash (12s)", 0,
			func(ctx context.Context, o Options, k Knobs) (*Result, error) {
				return RunCrash(ctx, CrashConfig{Options: o, Crashes: k.Crashes})
			}},
		{"false-positives", "False positives under uniform loss", true, "run length (20s; 360s gives 1,000 node-hours at N=10,000)", 0,
			func(ctx context.Context, o Options, k Knobs) (*Result, error) {
				return RunFalsePositives(ctx, FalsePositiveConfig{Options: o, Loss: k.FalsePositiveLoss})
			}},
		{"steady", "Steady-state cost", true, "measurement window (20s)", 0,
			func(ctx context.Context, o Options, k Knobs) (*Result, error) {
				return RunSteady(ctx, SteadyConfig{Options: o})
			}},
		{"flaky", "Flaky nodes", false, "time the faults last (90s)", 0,
			func(ctx context.Context, o Options, k Knobs) (*Result, error) {
				return RunFlaky(ctx, FlakyConfig{Options: o})
			}},
		{"asymmetric", "Asymmetric link to an observer", false, "time the links stay down (60s)", 0,
			func(ctx context.Context, o Options, k Knobs) (*Result, error) {
				return RunAsymmetric(ctx, AsymmetricConfig{Options: o})
			}},
		{"pause", "Paused nodes", false, "gap between rounds of pauses (3s)", 0,
			func(ctx context.Context, o Options, k Knobs) (*Result, error) {
				return RunPause(ctx, PauseConfig{Options: o})
			}},
		{"partition", "Partition and heal", false, "length of the split (120s)", divergeCap,
			func(ctx context.Context, o Options, k Knobs) (*Result, error) {
				return RunPartition(ctx, PartitionConfig{Options: o})
			}},
		{"rolling-restart", "Rolling restart", false, "time between batches (15s)", divergeCap,
			func(ctx context.Context, o Options, k Knobs) (*Result, error) {
				return RunRollingRestart(ctx, RestartConfig{Options: o})
			}},
		{"churn", "Churn", false, "churn length (60s)", divergeCap,
			func(ctx context.Context, o Options, k Knobs) (*Result, error) {
				return RunChurn(ctx, ChurnConfig{Options: o})
			}},
		{"appstate", "Application-state convergence", false, "wait limit after the last change (40s)", appStateCap,
			func(ctx context.Context, o Options, k Knobs) (*Result, error) {
				return RunAppState(ctx, AppStateConfig{Options: o})
			}},
	}
}

// Suites are "core" (bootstrap, dissemination, crash, false-positives,
// steady), "full" (every scenario of Scenarios), and "nemesis" and
// "nemesis-short" (NemesisScenarios, NemesisShortScenarios).
const (
	SuiteCore = "core"
	SuiteFull = "full"
)

// Select returns the scenarios of a suite, or those named in a
// comma-separated list when names is not empty (from Scenarios and
// NemesisScenarios).
func Select(suite, names string) ([]Scenario, error) {
	all := append(Scenarios(), NemesisScenarios()...)
	if strings.TrimSpace(names) != "" {
		var out []Scenario
		for _, name := range strings.Split(names, ",") {
			name = strings.TrimSpace(name)
			if name == "" {
				continue
			}
			found := false
			for _, s := range all {
				if s.Name == name {
					out = append(out, s)
					found = true
					break
				}
			}
			if !found {
				return nil, fmt.Errorf("bench: unknown scenario %q (have %s)", name, strings.Join(names0(all), ", "))
			}
		}
		return out, nil
	}
	switch suite {
	case SuiteFull:
		return Scenarios(), nil
	case SuiteNemesis:
		return NemesisScenarios(), nil
	case SuiteNemesisShort:
		return NemesisShortScenarios(), nil
	case SuiteCore, "":
		var out []Scenario
		for _, s := range all {
			if s.Core {
				out = append(out, s)
			}
		}
		return out, nil
	}
	return nil, fmt.Errorf("bench: unknown suite %q (want core, full, nemesis or nemesis-short)", suite)
}

func names0(all []Scenario) []string {
	s := make([]string, len(all))
	for i, x := range all {
		s[i] = x.Name
	}
	return s
}
