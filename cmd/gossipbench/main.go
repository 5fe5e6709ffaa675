// Command gossipbench runs Hearsay's cluster benchmarks (package bench) at
// the cluster size you plan to run, prints a table per scenario with every
// figure beside its target and theoretical reference, and writes
// results.json and a self-contained report.html.
//
// With no flags it runs the core suite — bootstrap, dissemination, crash
// detection, false positives under loss and steady-state cost — on 10,000
// simulated nodes, deterministically for the seed:
//
//	go run ./cmd/gossipbench
//	go run ./cmd/gossipbench -suite full -n 1000
//	go run ./cmd/gossipbench -scenario crash,dissemination -n 100000
//
// The nemesis suite injects one fault per scenario — loss, loss bursts,
// blips, one-way and three-way partitions, gray, flaky and slow nodes, a
// mass crash, duplication and reordering, CPU stalls — and a mix of them
// over a long run (see bench.NemesisScenarios):
//
//	go run ./cmd/gossipbench -suite nemesis -n 1000
//	go run ./cmd/gossipbench -suite nemesis -scenario nemesis-mix -n 1000 -duration nemesis-mix=10h15m
//
// With -mode udp the same scenarios run on N real nodes (engine.Node) in
// this process, on loopback sockets, with the real clock; -loss is then
// injected in each node's transport. Scenarios that pause a node are not
// available there. In-process nodes share the machine's cores, so large N
// measures the machine as much as the protocol:
//
//	go run ./cmd/gossipbench -mode udp -n 1000
//
// Standard output carries only the report (the tables and a summary), so
// `gossipbench > report.txt` keeps it; progress and the files written go
// to standard error.
//
// The figures README quotes come from results files under bench/results,
// each written by one run with -save, which records the command line, the
// commit (and whether the tree differed from it), the machine, its load
// and the run's CPU time and peak memory beside every figure:
//
//	go run ./cmd/gossipbench -n 1000 -save bench/results/core-sim-1000.json
//	go run ./cmd/gossipbench render    # rewrites README's figure blocks from them
//
// scripts/figures.sh (make figures) runs every command README's figures
// come from and renders them; blocks.go lists the blocks and the results
// each reads.
//
// The exit status is 1 when a scenario fails one of its outcome checks (a
// false death, a crash never detected...), reports a figure it could not
// measure, or stops with an error; with -strict, also when a figure misses
// its target.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/pprof"
	"strings"
	"time"

	"github.com/hearsay-io/hearsay/bench"
)

func main() {
	if isBusyLoop() {
		busyLoop()
	}
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// config is what the flags say.
type config struct {
	mode, suite, scenarios, preset, out, cpuprofile string
	save                                            string
	n                                               int
	seed                                            uint64
	loss, fpLoss                                    float64
	duration                                        durations
	crashes, busy                                   int
	hold                                            time.Duration
	nFor                                            sizes
	strict, list, quiet                             bool
}

func parseFlags(args []string, stderr io.Writer) (*config, error) {
	var c config
	fs := flag.NewFlagSet("gossipbench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&c.mode, "mode", "sim", "`driver`: sim (simulated cluster, virtual time, deterministic) or udp (real nodes on loopback)")
	fs.IntVar(&c.n, "n", 10000, "cluster size")
	fs.StringVar(&c.suite, "suite", bench.SuiteCore, "`suite` to run: core (bootstrap, dissemination, crash, false-positives, steady), full (every scenario but the nemesis ones), nemesis (one scenario per fault, and their mix) or nemesis-short (the nemesis suite with short phases, for CI)")
	fs.StringVar(&c.scenarios, "scenario", "", "comma-separated `list` of scenarios to run instead of a suite (see -list)")
	fs.Float64Var(&c.loss, "loss", 0.01, "uniform datagram loss on every link, in every scenario")
	fs.Float64Var(&c.fpLoss, "fp-loss", 0.10, "uniform loss in the false-positives scenario")
	fs.StringVar(&c.preset, "preset", "lan", "engine configuration and simulated latency: lan, wan or local")
	fs.Var(&c.duration, "duration", "length of each scenario's main phase (see -list), for all (\"30s\") or per scenario (\"false-positives=360s,crash=20s\"); 0 keeps each default")
	fs.IntVar(&c.crashes, "crashes", 0, "crashes in the crash scenario (0: its default, 24)")
	fs.DurationVar(&c.hold, "hold", 0, "in the bootstrap scenario, keep the cluster running this long after every node sees all, and check that it still does, with no death")
	fs.IntVar(&c.busy, "busy", 0, "with -mode udp, run this many other processes that only spin, for the whole run: the cluster shares busy cores")
	fs.Var(&c.nFor, "n-for", "cluster size for named scenarios, overriding -n and the simulator's caps (see -list), e.g. \"bootstrap=2000\"")
	fs.Uint64Var(&c.seed, "seed", 1, "seed of the simulated run")
	fs.StringVar(&c.out, "out", "gossipbench-out", "`directory` for results.json and report.html")
	fs.BoolVar(&c.strict, "strict", false, "exit 1 when a figure misses its target, not only when a check fails")
	fs.BoolVar(&c.list, "list", false, "list the scenarios and exit")
	fs.BoolVar(&c.quiet, "q", false, "no progress display")
	fs.StringVar(&c.cpuprofile, "cpuprofile", "", "write a CPU profile of the whole run to `file`")
	fs.StringVar(&c.save, "save", "", "when the run completes, also write its results, with the command line, commit, machine and resource usage, to `file.json` (README's figures come from bench/results/*.json; see gossipbench render)")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: gossipbench [flags]\n       gossipbench render [-check] [flags]\n\nRuns Hearsay's cluster scenarios and reports their figures; render rewrites\nREADME's figure blocks from the saved results (gossipbench render -h).\n\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected arguments: %s", strings.Join(fs.Args(), " "))
	}
	if c.n < 2 {
		return nil, fmt.Errorf("-n must be at least 2, got %d", c.n)
	}
	for name, n := range c.nFor {
		if _, err := bench.Select("", name); err != nil {
			return nil, fmt.Errorf("-n-for: %v", err)
		}
		if n < 2 {
			return nil, fmt.Errorf("-n-for %s: cluster size must be at least 2, got %d", name, n)
		}
	}
	for name := range c.duration.byName {
		if _, err := bench.Select("", name); err != nil {
			return nil, fmt.Errorf("-duration: %v", err)
		}
	}
	if c.loss < 0 || c.loss >= 1 || c.fpLoss < 0 || c.fpLoss >= 1 {
		return nil, errors.New("-loss and -fp-loss must be in [0, 1)")
	}
	if c.busy < 0 || c.busy > 64 {
		return nil, fmt.Errorf("-busy must be in [0, 64], got %d", c.busy)
	}
	if c.busy > 0 && c.mode != "udp" {
		return nil, errors.New("-busy loads the machine's cores, which only real nodes feel: use it with -mode udp")
	}
	if c.hold < 0 {
		return nil, fmt.Errorf("-hold must not be negative, got %v", c.hold)
	}
	if c.save != "" && filepath.Ext(c.save) != ".json" {
		return nil, fmt.Errorf("-save %s: the results file must end in .json", c.save)
	}
	return &c, nil
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 && args[0] == "render" {
		return runRender(args[1:], stdout, stderr)
	}
	c, err := parseFlags(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintln(stderr, "gossipbench:", err)
		return 2
	}
	if c.list {
		nemesis := len(bench.Scenarios())
		for k, s := range append(bench.Scenarios(), bench.NemesisScenarios()...) {
			suite := "full"
			if s.Core {
				suite = "core"
			} else if k >= nemesis {
				suite = "nemesis"
			}
			limit := ""
			if s.SimCap > 0 {
				limit = fmt.Sprintf("; N at most %d in sim mode unless -n-for", s.SimCap)
			}
			fmt.Fprintf(stdout, "%-19s %-7s  %s; -duration: %s%s\n", s.Name, suite, s.Title, s.Duration, limit)
		}
		return 0
	}
	preset, err := bench.ParsePreset(c.preset)
	if err != nil {
		fmt.Fprintln(stderr, "gossipbench:", err)
		return 2
	}
	scenarios, err := bench.Select(c.suite, c.scenarios)
	if err != nil {
		fmt.Fprintln(stderr, "gossipbench:", err)
		return 2
	}
	driver, err := newDriver(c.mode, c)
	if err != nil {
		fmt.Fprintln(stderr, "gossipbench:", err)
		return 2
	}
	if err := os.MkdirAll(c.out, 0o755); err != nil {
		fmt.Fprintln(stderr, "gossipbench:", err)
		return 1
	}
	if c.cpuprofile != "" {
		f, err := os.Create(c.cpuprofile)
		if err != nil {
			fmt.Fprintln(stderr, "gossipbench:", err)
			return 1
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			fmt.Fprintln(stderr, "gossipbench:", err)
			return 1
		}
		defer pprof.StopCPUProfile()
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()

	prog := newProgress(stderr, c.quiet, len(scenarios))
	opts := bench.Options{
		N:        c.n,
		Seed:     c.seed,
		Loss:     c.loss,
		Preset:   preset,
		Driver:   driver,
		Progress: prog.update,
	}
	knobs := bench.Knobs{Crashes: c.crashes, FalsePositiveLoss: c.fpLoss, Hold: c.hold}
	rep := &bench.Report{
		Tool:    "gossipbench",
		Command: commandLine("gossipbench", args),
		Args:    append([]string{}, args...),
		Mode:    driver.Name(),
		Source:  source(),
		Env:     goEnv(),
		Started: time.Now(),
		Machine: bench.ThisMachine(),
	}
	sizes := func(k int) int {
		return scenarios[k].SizeFor(bench.Options{N: c.n, Driver: driver}, bench.Knobs{ExactN: c.nFor[scenarios[k].Name] > 0})
	}
	var own []string
	for k, s := range scenarios {
		if n, ok := c.nFor[s.Name]; ok {
			own = append(own, fmt.Sprintf("%s at %d", s.Name, n))
		} else if n := sizes(k); n != c.n {
			own = append(own, fmt.Sprintf("%s at %d", s.Name, n))
		}
	}
	size := fmt.Sprintf("N=%d", c.n)
	if len(own) > 0 {
		size += " (" + strings.Join(own, ", ") + ")"
	}
	fmt.Fprintf(stdout, "gossipbench: %s mode, %s, %d scenarios, seed %d, preset %s, loss %g%%\n%s\n",
		driver.Name(), size, len(scenarios), c.seed, preset, c.loss*100, rep.Machine)
	busy, err := startBusy(c.busy)
	if err != nil {
		fmt.Fprintln(stderr, "gossipbench:", err)
		return 1
	}
	defer busy.stop()
	if c.busy > 0 {
		fmt.Fprintf(stdout, "%d busy-loop processes share the cores for the whole run\n", c.busy)
	}

	status := 0
	for k, s := range scenarios {
		prog.start(k, s.Name)
		opts.Duration = c.duration.of(s.Name)
		opts.N, knobs.ExactN = c.n, false
		if n, ok := c.nFor[s.Name]; ok {
			opts.N, knobs.ExactN = n, true
		}
		r, err := s.Run(ctx, opts, knobs)
		prog.done()
		if r == nil && errors.Is(err, bench.ErrUnsupported) {
			fmt.Fprintf(stdout, "\n== %s: skipped: %v\n", s.Name, err)
			continue
		}
		if r == nil {
			// The scenario could not start: the report says so, as a
			// result that fails.
			fmt.Fprintf(stdout, "\n== %s: %v\n", s.Name, err)
			if err == nil {
				err = errors.New("no result")
			}
			r = &bench.Result{Scenario: s.Name, Title: s.Title, Mode: driver.Name(), N: opts.N, Seed: opts.Seed,
				Preset: string(preset), Loss: opts.Loss, Err: err.Error()}
		} else {
			bench.WriteText(stdout, r)
		}
		rep.Results = append(rep.Results, r)
		rep.Wall = bench.Sec(time.Since(rep.Started))
		rep.Usage = processUsage()
		if !r.ChecksOK() || len(unmeasured(r)) > 0 || (c.strict && !r.TargetsMet()) {
			status = 1
		}
		if werr := writeOutputs(c.out, rep); werr != nil {
			fmt.Fprintln(stderr, "gossipbench:", werr)
			status = 1
		}
		if ctx.Err() != nil {
			break
		}
	}
	rep.Finished = time.Now()
	rep.Wall = bench.Sec(rep.Finished.Sub(rep.Started))
	rep.Usage = processUsage()
	rep.Machine.LoadEnd = bench.LoadAverage()
	if err := writeOutputs(c.out, rep); err != nil {
		fmt.Fprintln(stderr, "gossipbench:", err)
		return 1
	}
	fmt.Fprintf(stdout, "\n%s\nwall %s%s\n", summary(rep), bench.FormatValue(float64(rep.Wall), "s"), usageText(rep.Usage))
	fmt.Fprintf(stderr, "gossipbench: wrote %s and %s\n", filepath.Join(c.out, "results.json"), filepath.Join(c.out, "report.html"))
	if ctx.Err() != nil {
		fmt.Fprintln(stdout, "interrupted")
		if c.save != "" {
			fmt.Fprintf(stderr, "gossipbench: interrupted: %s not written\n", c.save)
		}
		return 130
	}
	if c.save != "" {
		if err := saveResults(c.save, rep); err != nil {
			fmt.Fprintln(stderr, "gossipbench:", err)
			return 1
		}
		fmt.Fprintf(stderr, "gossipbench: saved %s\n", c.save)
	}
	return status
}

// usageText formats the process's CPU time and peak memory for the
// summary, or "" when unknown.
func usageText(u *bench.Usage) string {
	if u == nil {
		return ""
	}
	return fmt.Sprintf(", CPU %s user + %s system, peak RSS %s",
		bench.FormatValue(float64(u.UserCPU), "s"), bench.FormatValue(float64(u.SystemCPU), "s"), formatBytes(u.PeakRSS))
}

// formatBytes formats a byte count with a binary prefix.
func formatBytes(b int64) string {
	v := float64(b)
	for _, unit := range []string{"B", "KiB", "MiB", "GiB"} {
		if v < 1024 || unit == "GiB" {
			if unit == "B" {
				return fmt.Sprintf("%d B", b)
			}
			return fmt.Sprintf("%.3g %s", v, unit)
		}
		v /= 1024
	}
	return ""
}

// unmeasured returns the names of r's figures that could not be measured
// (NaN or infinite: a time never reached), which results.json marks
// Missing. A figure that is part of a result but has no value means the
// scenario did not observe what it measures: a failure, like a failed
// check.
func unmeasured(r *bench.Result) []string {
	var out []string
	for _, f := range r.Figures {
		if math.IsNaN(f.Value) || math.IsInf(f.Value, 0) || f.Missing {
			out = append(out, f.Name)
		}
	}
	return out
}

// saveResults writes the report as a results file at path, through a
// temporary file, creating its directory.
func saveResults(path string, rep *bench.Report) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	return writeFile(dir, filepath.Base(path), rep.WriteJSON)
}

// summary is one line per scenario: checks and targets.
func summary(rep *bench.Report) string {
	var b strings.Builder
	for _, r := range rep.Results {
		checks, targets := "checks pass", "targets met"
		if !r.ChecksOK() {
			checks = "CHECKS FAIL"
		}
		if missing := unmeasured(r); len(missing) > 0 {
			checks = "NOT MEASURED: " + strings.Join(missing, "; ") + "; " + checks
		}
		if !r.TargetsMet() {
			var missed []string
			for _, f := range r.Figures {
				if f.Met != nil && !*f.Met {
					missed = append(missed, f.Name)
				}
			}
			targets = "MISSED: " + strings.Join(missed, "; ")
		}
		fmt.Fprintf(&b, "%-19s N=%-6d %-11s %s (wall %s, CPU %s)\n", r.Scenario, r.N, checks, targets,
			bench.FormatValue(float64(r.Wall), "s"), bench.FormatValue(float64(r.CPU), "s"))
	}
	return strings.TrimRight(b.String(), "\n")
}

// writeOutputs writes results.json and report.html, each through a
// temporary file so that a reader never sees half a file.
func writeOutputs(dir string, rep *bench.Report) error {
	if err := writeFile(dir, "results.json", rep.WriteJSON); err != nil {
		return err
	}
	return writeFile(dir, "report.html", rep.WriteHTML)
}

// writeFile writes dir/name with fill, through a temporary file in dir
// renamed into place, so that a reader never sees half a file.
func writeFile(dir, name string, fill func(io.Writer) error) error {
	path := filepath.Join(dir, name)
	f, err := os.CreateTemp(dir, name+".tmp*")
	if err != nil {
		return err
	}
	// CreateTemp makes the file private; the outputs are for reading.
	if err := f.Chmod(0o644); err != nil {
		f.Close()
		os.Remove(f.Name())
		return err
	}
	if err := fill(f); err != nil {
		f.Close()
		os.Remove(f.Name())
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		os.Remove(f.Name())
		return err
	}
	return os.Rename(f.Name(), path)
}
