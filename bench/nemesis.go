package bench

import (
	"context"
	"time"
)

// Suites of the nemesis scenarios (see NemesisScenarios).
const (
	SuiteNemesis      = "nemesis"
	SuiteNemesisShort = "nemesis-short"
)

// nemesisEntry is one nemesis scenario: its catalogue entry and the
// settings of its short version.
type nemesisEntry struct {
	name, title, duration string
	simCap                int
	run                   func(ctx context.Context, o Options, short bool) (*Result, error)
}

// shortly sets o.Duration to d for a short run unless it is set.
func shortly(o Options, short bool, d time.Duration) Options {
	if short && o.Duration == 0 {
		o.Duration = d
	}
	return o
}

func nemesisEntries() []nemesisEntry {
	loss := func(p float64) func(context.Context, Options, bool) (*Result, error) {
		return func(ctx context.Context, o Options, short bool) (*Result, error) {
			cfg := NemesisLossConfig{Options: shortly(o, short, 20*time.Second), Loss: p}
			if short {
				cfg.Before, cfg.Crashes, cfg.Tail = 10*time.Second, 3, 15*time.Second
			}
			return RunNemesisLoss(ctx, cfg)
		}
	}
	return []nemesisEntry{
		{"nemesis-loss-10", "Nemesis: 10% loss on every link", "time the loss lasts (45s)", 0, loss(0.10)},
		{"nemesis-loss-20", "Nemesis: 20% loss on every link", "time the loss lasts (45s)", 0, loss(0.20)},
		{"nemesis-loss-30", "Nemesis: 30% loss on every link", "time the loss lasts (45s)", 0, loss(0.30)},
		{"nemesis-loss-bursts", "Nemesis: loss bursts on every link", "time over which bursts recur (10m)", 0,
			func(ctx context.Context, o Options, short bool) (*Result, error) {
				cfg := NemesisBurstsConfig{Options: shortly(o, short, 2*time.Minute)}
				if short {
					cfg.Tail = 20 * time.Second
				}
				return RunNemesisBursts(ctx, cfg)
			}},
		{"nemesis-blips", "Nemesis: nodes cut off for 1–3 s", "gap between blips (5s)", 0,
			func(ctx context.Context, o Options, short bool) (*Result, error) {
				cfg := NemesisBlipsConfig{Options: shortly(o, short, 4*time.Second)}
				if short {
					cfg.Blips = 12
				}
				return RunNemesisBlips(ctx, cfg)
			}},
		{"nemesis-one-way", "Nemesis: one-way partition", "time the cut lasts (60s)", divergeCap,
			func(ctx context.Context, o Options, short bool) (*Result, error) {
				return RunNemesisOneWay(ctx, NemesisOneWayConfig{Options: shortly(o, short, 20*time.Second)})
			}},
		{"nemesis-split", "Nemesis: three-way split and heal", "time the split lasts (60s)", divergeCap,
			func(ctx context.Context, o Options, short bool) (*Result, error) {
				return RunNemesisSplit(ctx, NemesisSplitConfig{Options: shortly(o, short, 25*time.Second)})
			}},
		{"nemesis-gray", "Nemesis: gray nodes", "time the faults last (90s)", 0,
			func(ctx context.Context, o Options, short bool) (*Result, error) {
				return RunNemesisGray(ctx, NemesisLossyConfig{Options: shortly(o, short, 60*time.Second)})
			}},
		{"nemesis-flaky", "Nemesis: flaky nodes", "time the faults last (90s)", 0,
			func(ctx context.Context, o Options, short bool) (*Result, error) {
				return RunNemesisFlaky(ctx, NemesisLossyConfig{Options: shortly(o, short, 60*time.Second)})
			}},
		{"nemesis-slow", "Nemesis: slow nodes", "time the nodes stay slow (90s)", 0,
			func(ctx context.Context, o Options, short bool) (*Result, error) {
				return RunNemesisSlow(ctx, NemesisSlowConfig{Options: shortly(o, short, 40*time.Second)})
			}},
		{"nemesis-mass-crash", "Nemesis: mass crash", "time watched after the crash (30s)", 0,
			func(ctx context.Context, o Options, short bool) (*Result, error) {
				return RunNemesisMassCrash(ctx, NemesisMassCrashConfig{Options: shortly(o, short, 20*time.Second)})
			}},
		{"nemesis-dup-reorder", "Nemesis: duplication and reordering", "time the fault lasts (60s)", 0,
			func(ctx context.Context, o Options, short bool) (*Result, error) {
				cfg := NemesisDupReorderConfig{Options: shortly(o, short, 30*time.Second)}
				if short {
					cfg.Updates = 3
				}
				return RunNemesisDupReorder(ctx, cfg)
			}},
		{"nemesis-stalls", "Nemesis: CPU stalls", "time nodes keep stalling (90s)", 0,
			func(ctx context.Context, o Options, short bool) (*Result, error) {
				return RunNemesisStalls(ctx, NemesisStallsConfig{Options: shortly(o, short, 40*time.Second)})
			}},
		{"nemesis-mix", "Nemesis mix", "schedule of episodes (30m; 10h15m gives 10,000 node-hours at N=1,000)", divergeCap,
			func(ctx context.Context, o Options, short bool) (*Result, error) {
				cfg := NemesisMixConfig{Options: shortly(o, short, 4*time.Minute)}
				if short {
					cfg.Gap = 10 * time.Second
				}
				return RunNemesisMix(ctx, cfg)
			}},
	}
}

// NemesisScenarios returns the nemesis suite (issue "accuracy under real
// faults"): one scenario per fault, each with its target, and a mix of
// them all over a long run. Every scenario starts from a converged
// cluster with Options.Loss on every link, injects its fault, and judges
// every dead event any node emits.
//
// # False deaths
//
// A dead event at observer O about member X is false when X's process is
// running — the generation the event names has not crashed (a paused or
// stalled process runs) — and neither of these excuses applies at the
// event's time or within the minute before it (the grace for verdicts
// reached during a fault that arrive late):
//
//   - O cannot hear X: a partition or a one-way cut drops what X sends to
//     O (for a one-way cut this is the definition: O can still
//     hear X means a death is false, even if O cannot reach X);
//   - X or O is a gray or flaky node (per-node loss), whose removal, or
//     whose view, is the policy under test rather than a mistake.
//
// Nothing else excuses a death: uniform loss and loss bursts, blips of a
// few seconds (neither for the blipped node nor for what it declares),
// slow nodes, CPU stalls, duplication and reordering. A verdict of
// another partition group that O adopts by gossip about a member of its
// own group is false. Each scenario's run function says what it excuses
// and what else it counts.
//
// # The scenarios
//
//	nemesis-loss-10/20/30  uniform loss for 45 s; rates before and during;
//	                       detection 60 s later vs a fresh cluster's
//	nemesis-loss-bursts    2 s of 80%/90% loss every 30 s for 10 minutes
//	nemesis-blips          50 single nodes cut off for 1, 2, 3 s
//	nemesis-one-way        half the nodes cannot reach the other half, 60 s
//	nemesis-split          three-way partition for 60 s, then the heal
//	nemesis-gray           5% of nodes at 50% loss each way, 90 s
//	nemesis-flaky          5% of nodes at 80% loss each way, 90 s
//	nemesis-slow           5% of nodes delayed 0.5–2 s each way, 90 s
//	nemesis-mass-crash     30% of nodes killed at once
//	nemesis-dup-reorder    5% duplicated, 10% reordered on every link, 60 s
//	nemesis-stalls         10% of nodes paused 200–800 ms every 2–5 s, 90 s
//	nemesis-mix            all of these, drawn at random, over a long run
//
// Hard conditions (false deaths, flaky nodes removed, no flapping, no
// false accusations by stalled nodes, detection and reconvergence that
// complete) are checks: a run that breaks one fails. Time bounds (10 s to
// reconverge or to learn every crash, detection within 20% of a fresh
// cluster's, 10,000 node-hours) are figure targets.
//
// Every scenario runs in the simulator, deterministically for a seed.
// Over real UDP (UDPDriver) the scenarios whose faults its transport
// wrapper injects run too — uniform loss, bursts, blips, partitions,
// one-way cuts, gray and flaky nodes, crashes — and the others (slow
// nodes, duplication and reordering, stalls) fail at once with
// ErrUnsupported; the mix draws only the kinds the driver supports.
// One-way cuts, the split and the mix diverge views and are capped at
// 2,000 nodes in the simulator like partition (Scenario.SimCap).
func NemesisScenarios() []Scenario { return nemesisScenarios(false) }

// NemesisShortScenarios returns the nemesis suite with short phases, for
// CI at small N (100 to 200 nodes): the same scenarios, faults and
// targets, with durations cut to tens of seconds (loss 20 s, bursts for
// 2 minutes, 12 blips, a one-way cut of 20 s, a split of 25 s, lossy
// nodes 60 s, slow nodes and stalls 40 s, a mix of 4 minutes).
// Options.Duration, when set, still overrides.
func NemesisShortScenarios() []Scenario { return nemesisScenarios(true) }

func nemesisScenarios(short bool) []Scenario {
	var out []Scenario
	for _, e := range nemesisEntries() {
		out = append(out, Scenario{
			Name:     e.name,
			Title:    e.title,
			Duration: e.duration,
			SimCap:   e.simCap,
			run: func(ctx context.Context, o Options, k Knobs) (*Result, error) {
				return e.run(ctx, o, short)
			},
		})
	}
	return out
}
