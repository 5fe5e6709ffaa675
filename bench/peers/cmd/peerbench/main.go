// Command peerbench runs Hearsay and hashicorp/memberlist side by side on
// the same harness (package peers): real UDP on loopback, all nodes of one
// engine in this process, one engine at a time. It runs the scenarios at
// each N, repeated, and optionally the trade-off sweep, and writes a JSON
// results file, a text table and an SVG plot of the trade-off curves.
//
// Usage:
//
//	go run ./cmd/peerbench -n 32,64,128 -reps 3 -sweep -out results/peers
//
// Results are rewritten after every run, so an interrupted invocation
// keeps what it measured.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/hearsay-io/hearsay/bench/peers"
)

func main() {
	var (
		ns         = flag.String("n", "32,64,128", "cluster sizes, ascending")
		engines    = flag.String("engines", "hearsay,memberlist", "engines to run")
		preset     = flag.String("preset", "lan", "preset of both engines for the scenarios: lan or local")
		reps       = flag.Int("reps", 3, "repetitions per (engine, N)")
		scenarios  = flag.String("scenarios", "join,burst,steady,crash,loss", "scenarios to run")
		sweep      = flag.Bool("sweep", false, "also run the trade-off sweep")
		sweepN     = flag.Int("sweep-n", 128, "N of the trade-off sweep")
		sweepReps  = flag.Int("sweep-reps", 2, "repetitions per sweep point")
		sweepOnly  = flag.Bool("sweep-only", false, "run only the sweep")
		sweepForm  = flag.String("sweep-form", "burst", "how sweep runs form their cluster: burst or join (paced)")
		sweepPts   = flag.String("sweep-points", "", "run only these sweep points, as engine/label, comma-separated (default all)")
		crash      = flag.Int("crash", 4, "nodes killed at once in each crash")
		rate       = flag.Float64("rate", 10, "paced joins per second")
		joinBound  = flag.Duration("join-bound", 30*time.Second, "convergence bound after the last join call")
		crashBound = flag.Duration("crash-bound", 60*time.Second, "bound on every survivor knowing of a crash")
		settle     = flag.Duration("settle", 5*time.Second, "quiet time before the steady window")
		window     = flag.Duration("window", 10*time.Second, "steady window")
		lossWindow = flag.Duration("loss-window", 15*time.Second, "false-death window under loss")
		losses     = flag.String("losses", "0.1,0.3", "loss probabilities")
		noTCPLoss  = flag.Bool("no-tcp-loss", false, "exempt memberlist's TCP connections from injected loss")
		stopOnFail = flag.Bool("stop-on-fail", true, "skip larger N for an engine once it failed to converge within a bound at every repetition")
		out        = flag.String("out", "results/peers", "output path prefix: writes .json, .txt and .svg")
		from       = flag.String("from", "", "instead of running, merge these comma-separated JSON reports (runs, sweep points, notes; the first one's machine and command) and rewrite them with this version's tables and plot")
	)
	flag.Parse()
	if *from != "" {
		if err := merge(strings.Split(*from, ","), *preset, *out); err != nil {
			fail(err)
		}
		return
	}

	ctx, cancel := signal.NotifyContext(context.Background(), os.Interrupt)
	defer cancel()

	sizes, err := ints(*ns)
	if err != nil {
		fail(err)
	}
	lossList, err := floats(*losses)
	if err != nil {
		fail(err)
	}
	mkEngine := func(name string) peers.Engine {
		switch name + "/" + *preset {
		case "hearsay/lan":
			return peers.HearsayLAN()
		case "hearsay/local":
			return peers.HearsayLocal()
		case "memberlist/lan":
			e := peers.MemberlistLAN()
			e.NoTCPLoss = *noTCPLoss
			return e
		case "memberlist/local":
			e := peers.MemberlistLocal()
			e.NoTCPLoss = *noTCPLoss
			return e
		}
		fail(fmt.Errorf("unknown engine or preset %s/%s", name, *preset))
		return nil
	}
	var engs []peers.Engine
	for _, name := range strings.Split(*engines, ",") {
		engs = append(engs, mkEngine(strings.TrimSpace(name)))
	}
	opts := func(n int) peers.Options {
		o := peers.DefaultOptions(n)
		o.Scenarios = strings.Split(*scenarios, ",")
		o.Crash = *crash
		o.JoinRate = *rate
		o.JoinBound = *joinBound
		o.CrashBound = *crashBound
		o.Settle = *settle
		o.Window = *window
		o.LossWindow = *lossWindow
		o.Losses = lossList
		return o
	}

	start := time.Now()
	rep := &peers.Report{Meta: meta(start, *reps)}
	for _, e := range engs {
		rep.Meta.Engines = append(rep.Meta.Engines, fmt.Sprintf("%s %s (%s)", e.Name(), e.Label(), settings(e)))
	}
	o := opts(0)
	rep.Meta.Options = fmt.Sprintf("scenarios %s; seeds %d; paced joins %g/s, bound %v after the last; settle %v, steady window %v; crash %d at once, bound %v; losses %v, window %v; memberlist TCP loss %v",
		*scenarios, o.Seeds, o.JoinRate, o.JoinBound, o.Settle, o.Window, o.Crash, o.CrashBound, o.Losses, o.LossWindow, !*noTCPLoss)
	save := func() {
		rep.Meta.Wall = time.Since(start).Seconds()
		if err := write(*out, summarize(rep, *preset)); err != nil {
			fail(err)
		}
	}

	if !*sweepOnly {
		failed := map[string]bool{}
		for _, n := range sizes {
			fails := map[string]int{}
			for r := range *reps {
				for _, e := range engs {
					if failed[e.Name()] {
						continue
					}
					log("%s %s N=%d rep %d/%d", e.Name(), e.Label(), n, r+1, *reps)
					res := peers.Run(ctx, e, opts(n))
					res.Rep = r
					logResult(res)
					rep.Runs = append(rep.Runs, res)
					if !converged(res) {
						fails[e.Name()]++
					}
					save()
					if ctx.Err() != nil {
						return
					}
				}
			}
			for _, e := range engs {
				if *stopOnFail && !failed[e.Name()] && fails[e.Name()] == *reps {
					failed[e.Name()] = true
					note := fmt.Sprintf("%s stopped converging within its bounds at N = %d in every repetition; larger N skipped", e.Name(), n)
					rep.Meta.Notes = append(rep.Meta.Notes, note)
					log("%s", note)
				}
			}
		}
	}
	if *sweep || *sweepOnly {
		var points [][]peers.Engine
		hs, ms := peers.HearsaySweep(), peers.MemberlistSweep()
		for i := range max(len(hs), len(ms)) {
			var row []peers.Engine
			if i < len(hs) {
				row = append(row, hs[i])
			}
			if i < len(ms) {
				mse := ms[i].(peers.MemberlistEngine)
				mse.NoTCPLoss = *noTCPLoss
				row = append(row, mse)
			}
			points = append(points, row)
		}
		want := map[string]bool{}
		for _, p := range strings.Split(*sweepPts, ",") {
			if p = strings.TrimSpace(p); p != "" {
				want[p] = true
			}
		}
		for _, row := range points {
			for _, e := range row {
				if len(want) > 0 && !want[e.Name()+"/"+e.Label()] {
					continue
				}
				log("sweep %s %s N=%d x%d", e.Name(), e.Label(), *sweepN, *sweepReps)
				so := opts(*sweepN)
				so.Scenarios = nil
				if *sweepForm == "join" {
					so.Scenarios = []string{"join"}
				}
				p, runs := peers.RunSweepPoint(ctx, e, so, *sweepReps)
				for _, r := range runs {
					logResult(r)
				}
				rep.Sweep = append(rep.Sweep, p)
				save()
				if ctx.Err() != nil {
					return
				}
			}
		}
	}
	save()
	log("done in %v; wrote %s.{json,txt,svg}", time.Since(start).Round(time.Second), *out)
}

// summarize recomputes the report's comparisons from its runs of the
// given preset and its sweep points.
func summarize(rep *peers.Report, preset string) *peers.Report {
	var main []peers.RunResult
	for _, r := range rep.Runs {
		if r.Label == preset {
			main = append(main, r)
		}
	}
	rep.Summary = peers.Summarize(main)
	rep.Bytes = peers.ByTypes(main)
	rep.Targets = peers.CheckTargets(rep.Sweep, rep.Summary)
	return rep
}

// merge reads reports, joins their runs, sweep points and notes, and
// writes them as one.
func merge(files []string, preset, out string) error {
	var all *peers.Report
	for _, name := range files {
		f, err := os.Open(name)
		if err != nil {
			return err
		}
		rep, err := peers.ReadReport(f)
		f.Close()
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		if all == nil {
			all = rep
			if len(files) > 1 {
				all.Meta.Notes = append(all.Meta.Notes, fmt.Sprintf("merged from %s", strings.Join(files, ", ")))
			}
			continue
		}
		all.Runs = append(all.Runs, rep.Runs...)
		for _, p := range rep.Sweep {
			// A later point with the same engine and label replaces an
			// earlier one (a re-run).
			all.Sweep = slices.DeleteFunc(all.Sweep, func(q peers.SweepPoint) bool { return q.Engine == p.Engine && q.Label == p.Label })
			all.Sweep = append(all.Sweep, p)
		}
		all.Meta.Wall += rep.Meta.Wall
		all.Meta.Notes = append(all.Meta.Notes, fmt.Sprintf("%s: %s; options: %s", name, rep.Meta.Command, rep.Meta.Options))
		all.Meta.Notes = append(all.Meta.Notes, rep.Meta.Notes...)
	}
	if all == nil {
		return fmt.Errorf("no report to merge")
	}
	return write(out, summarize(all, preset))
}

// converged reports whether a run formed its cluster and detected its
// crash within the bounds.
func converged(r peers.RunResult) bool {
	if r.Err != "" {
		return false
	}
	for _, f := range []string{"join", "formed"} {
		if v, ok := r.Figure(f, "converged"); ok && v == 0 {
			return false
		}
	}
	if v, ok := r.Figure("crash", "complete"); ok && v == 0 {
		return false
	}
	return true
}

func write(prefix string, rep *peers.Report) error {
	for _, ext := range []string{".json", ".txt", ".svg"} {
		f, err := os.Create(prefix + ext)
		if err != nil {
			return err
		}
		switch ext {
		case ".json":
			err = rep.WriteJSON(f)
		case ".txt":
			err = rep.WriteText(f)
		case ".svg":
			n := 0
			if len(rep.Sweep) > 0 {
				n = rep.Sweep[0].N
			}
			c := rep.Meta.Commit
			if len(c) > 12 {
				c = c[:12]
			}
			_, err = f.WriteString(peers.TradeoffSVG(rep.Sweep, fmt.Sprintf("Crash known by all vs bytes, N = %d, loopback UDP (commit %s)", n, c)))
		}
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func meta(start time.Time, reps int) peers.Meta {
	m := peers.Meta{
		Machine:    cpuModel(),
		CPUs:       runtime.NumCPU(),
		GOMAXPROCS: runtime.GOMAXPROCS(0),
		Kernel:     strings.TrimSpace(readFile("/proc/sys/kernel/osrelease")),
		GoVersion:  runtime.Version(),
		Commit:     commit(),
		Command:    strings.Join(os.Args, " "),
		Started:    start.UTC().Format(time.RFC3339),
		Reps:       reps,
	}
	if wd, err := os.Getwd(); err == nil {
		m.Command = "(in " + wd + ") " + m.Command
	}
	return m
}

func cpuModel() string {
	for _, l := range strings.Split(readFile("/proc/cpuinfo"), "\n") {
		if k, v, ok := strings.Cut(l, ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return runtime.GOARCH
}

func commit() string {
	out, err := exec.Command("git", "rev-parse", "HEAD").Output()
	if err != nil {
		return "unknown"
	}
	c := strings.TrimSpace(string(out))
	if st, err := exec.Command("git", "status", "--porcelain", "--untracked-files=no").Output(); err == nil && len(strings.TrimSpace(string(st))) > 0 {
		c += " (work tree modified)"
	}
	return c
}

func readFile(p string) string {
	b, _ := os.ReadFile(p)
	return string(b)
}

func settings(e peers.Engine) string {
	var s []string
	for _, p := range e.Settings() {
		s = append(s, p.Name+"="+p.Value)
	}
	return strings.Join(s, " ")
}

func logResult(r peers.RunResult) {
	var b strings.Builder
	for _, f := range r.Figures {
		if f.Missing {
			fmt.Fprintf(&b, " %s.%s=-", f.Scenario, f.Name)
		} else {
			fmt.Fprintf(&b, " %s.%s=%.4g", f.Scenario, f.Name, f.Value)
		}
	}
	if r.Err != "" {
		fmt.Fprintf(&b, " error=%q", r.Err)
	}
	log("  %s %s N=%d in %.0fs:%s", r.Engine, r.Label, r.N, r.Wall, b.String())
}

func log(format string, args ...any) {
	fmt.Fprintf(os.Stderr, time.Now().Format("15:04:05 ")+format+"\n", args...)
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "peerbench:", err)
	os.Exit(1)
}

func ints(s string) ([]int, error) {
	var v []int
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil {
			return nil, fmt.Errorf("bad list %q: %w", s, err)
		}
		v = append(v, n)
	}
	return v, nil
}

func floats(s string) ([]float64, error) {
	var v []float64
	for _, f := range strings.Split(s, ",") {
		x, err := strconv.ParseFloat(strings.TrimSpace(f), 64)
		if err != nil {
			return nil, fmt.Errorf("bad list %q: %w", s, err)
		}
		v = append(v, x)
	}
	return v, nil
}
