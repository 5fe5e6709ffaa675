package main

import (
	"bytes"
	"encoding/json"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/hearsay-io/hearsay/bench"
)

func TestRunWritesReport(t *testing.T) {
	dir := t.TempDir()
	var out, errb bytes.Buffer
	code := run([]string{"-n", "40", "-scenario", "dissemination,steady", "-duration", "3s", "-n-for", "steady=30", "-out", dir}, &out, &errb)
	if code != 0 {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, out.String(), errb.String())
	}
	for _, want := range []string{"N=40 (steady at 30)", "Dissemination of one update", "Steady-state cost", "all know p50", "bytes sent per node per second", "checks pass",
		"dissemination       N=40 ", "steady              N=30 "} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
	// Standard output is the report alone: progress and the files written
	// go to standard error, as plain lines when it is not a terminal.
	for _, progress := range []string{"[1/2] dissemination: starting", "wrote " + filepath.Join(dir, "results.json")} {
		if strings.Contains(out.String(), progress) {
			t.Errorf("stdout holds %q; progress belongs on stderr:\n%s", progress, out.String())
		}
		if !strings.Contains(errb.String(), progress) {
			t.Errorf("stderr lacks %q:\n%s", progress, errb.String())
		}
	}
	if strings.Contains(errb.String(), "\r") {
		t.Errorf("progress on a non-terminal should be plain lines:\n%s", errb.String())
	}
	b, err := os.ReadFile(filepath.Join(dir, "results.json"))
	if err != nil {
		t.Fatal(err)
	}
	var rep bench.Report
	if err := json.Unmarshal(b, &rep); err != nil {
		t.Fatalf("results.json: %v", err)
	}
	if len(rep.Results) != 2 || rep.Results[0].N != 40 || rep.Results[0].Loss != 0.01 || rep.Results[1].N != 30 {
		t.Fatalf("results.json holds %d results, first %+v", len(rep.Results), rep.Results[0])
	}
	page, err := os.ReadFile(filepath.Join(dir, "report.html"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(page, []byte("<svg")) {
		t.Error("report.html has no plot")
	}
}

// TestRunUDPCoreSuite runs the core suite on real sockets at a small N with
// short phases, through the command line, and fails unless the run
// succeeds as gossipbench judges it: exit status 0, every outcome check
// passed, every figure measured (none Missing in results.json). Its time
// is mostly the scenarios' fixed phases (the bootstrap's spread of
// starts, warm-ups): about 35 s of real time. The phases leave room for a
// loaded machine: the local preset learns of a crash in about 1 s and the
// crash scenario waits 3 s.
func TestRunUDPCoreSuite(t *testing.T) {
	if testing.Short() {
		t.Skip("runs real clusters for about 35 s")
	}
	t.Parallel()
	dir := t.TempDir()
	var out, errb bytes.Buffer
	args := []string{"-mode", "udp", "-n", "12", "-preset", "local", "-crashes", "2", "-loss", "0",
		"-duration", "1s,bootstrap=5s,dissemination=2s,crash=3s", "-q", "-out", dir}
	code := run(args, &out, &errb)
	for _, want := range []string{"udp mode, N=12", "Bootstrap", "Dissemination of one update", "Crash detection",
		"False positives", "Steady-state cost", "bytes sent per node per second"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q", want)
		}
	}
	b, err := os.ReadFile(filepath.Join(dir, "results.json"))
	if err != nil {
		t.Fatal(err)
	}
	var rep bench.Report
	if err := json.Unmarshal(b, &rep); err != nil {
		t.Fatalf("results.json: %v", err)
	}
	if rep.Mode != "udp" || len(rep.Results) != 5 {
		t.Errorf("results.json: mode %q, %d results; want udp, 5", rep.Mode, len(rep.Results))
	}
	for _, r := range rep.Results {
		if len(r.Figures) == 0 || len(r.Checks) == 0 {
			t.Errorf("%s: %d figures, %d checks; want some of each", r.Scenario, len(r.Figures), len(r.Checks))
		}
		if r.Err != "" {
			t.Errorf("%s stopped early: %s", r.Scenario, r.Err)
		}
		for _, c := range r.Checks {
			if !c.OK {
				t.Errorf("%s: check failed: %s: %s", r.Scenario, c.Name, c.Detail)
			}
		}
		for _, f := range r.Figures {
			if f.Missing {
				t.Errorf("%s: figure %q could not be measured (Missing)", r.Scenario, f.Name)
			}
		}
	}
	if code != 0 {
		t.Errorf("exit %d, want 0", code)
	}
	if t.Failed() {
		t.Logf("stdout:\n%s\nstderr:\n%s", out.String(), errb.String())
	}
}

// TestRunFailsOnUnmeasured checks that a result with a figure that could
// not be measured (a time never reached: NaN in memory, Missing in JSON)
// counts as unmeasured, which fails the run like a failed check, and that
// the summary names it.
func TestRunFailsOnUnmeasured(t *testing.T) {
	r := &bench.Result{Scenario: "x", N: 10, Checks: []bench.Check{{Name: "ok", OK: true}},
		Figures: []bench.Figure{{Name: "measured", Value: 1, Unit: "s"}, {Name: "never reached", Value: math.NaN(), Unit: "s"}}}
	if got := unmeasured(r); !slices.Equal(got, []string{"never reached"}) {
		t.Errorf("unmeasured = %q, want [never reached]", got)
	}
	rep := &bench.Report{Results: []*bench.Result{r}}
	if s := summary(rep); !strings.Contains(s, "NOT MEASURED: never reached") {
		t.Errorf("summary = %q, want it to name the unmeasured figure", s)
	}
	// Read back from JSON, the same figure is Missing.
	var js bytes.Buffer
	if err := rep.WriteJSON(&js); err != nil {
		t.Fatal(err)
	}
	back, err := bench.ReadReport(&js)
	if err != nil {
		t.Fatal(err)
	}
	if got := unmeasured(back.Results[0]); !slices.Equal(got, []string{"never reached"}) {
		t.Errorf("unmeasured after JSON = %q, want [never reached]", got)
	}
}

// TestSave checks that -save writes the run with what it takes to judge
// and repeat it.
func TestSave(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "results", "steady.json")
	var out, errb bytes.Buffer
	args := []string{"-n", "30", "-scenario", "steady", "-duration", "2s", "-out", dir, "-save", path}
	if code := run(args, &out, &errb); code != 0 {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, out.String(), errb.String())
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rep, err := bench.ReadReport(f)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(rep.Args, args) || rep.Command != "gossipbench "+strings.Join(args, " ") {
		t.Errorf("saved command %q, args %q; want %q", rep.Command, rep.Args, args)
	}
	if rep.Started.IsZero() || rep.Finished.Before(rep.Started) || rep.Wall <= 0 {
		t.Errorf("saved times: started %v, finished %v, wall %v", rep.Started, rep.Finished, rep.Wall)
	}
	m := rep.Machine
	if m.CPUs == 0 || m.GoVersion == "" || m.GOMAXPROCS == 0 {
		t.Errorf("saved machine %+v lacks CPUs, Go version or GOMAXPROCS", m)
	}
	if runtime.GOOS == "linux" {
		if m.Load == "" || m.LoadEnd == "" || rep.Usage == nil || rep.Usage.PeakRSS <= 0 || rep.Usage.UserCPU <= 0 {
			t.Errorf("saved load %q to %q, usage %+v; want both loads, CPU time and peak RSS", m.Load, m.LoadEnd, rep.Usage)
		}
	}
	if _, err := exec.LookPath("git"); err == nil {
		if rep.Source == nil || len(rep.Source.Commit) != 40 {
			t.Errorf("saved source %+v, want the commit", rep.Source)
		}
	}
	if len(rep.Results) != 1 || rep.Results[0].Scenario != "steady" || rep.Results[0].N != 30 {
		t.Errorf("saved %d results, want steady at N=30", len(rep.Results))
	}
	if !strings.Contains(errb.String(), "saved "+path) {
		t.Errorf("stderr lacks the saved path:\n%s", errb.String())
	}
}

func TestRunFlagErrors(t *testing.T) {
	tests := []struct {
		args []string
		code int
		want string
	}{
		{[]string{"-mode", "tcp"}, 2, "unknown -mode"},
		{[]string{"-suite", "most"}, 2, "unknown suite"},
		{[]string{"-scenario", "crash,nope"}, 2, "unknown scenario"},
		{[]string{"-preset", "moon"}, 2, "unknown preset"},
		{[]string{"-n", "1"}, 2, "-n must be at least 2"},
		{[]string{"-loss", "1.5"}, 2, "-loss"},
		{[]string{"extra"}, 2, "unexpected arguments"},
		{[]string{"-n-for", "nope=10"}, 2, "unknown scenario"},
		{[]string{"-n-for", "crash=1"}, 2, "at least 2"},
		{[]string{"-n-for", "crash"}, 2, "want name=size"},
		{[]string{"-save", "results.txt"}, 2, "must end in .json"},
		{[]string{"-busy", "2"}, 2, "use it with -mode udp"},
		{[]string{"-mode", "udp", "-busy", "-1"}, 2, "-busy must be in"},
		{[]string{"-hold", "-1s"}, 2, "-hold must not be negative"},
	}
	for _, tt := range tests {
		var out, errb bytes.Buffer
		code := run(tt.args, &out, &errb)
		if code != tt.code || !strings.Contains(errb.String(), tt.want) {
			t.Errorf("run(%q) = %d, stderr %q; want %d and %q", tt.args, code, errb.String(), tt.code, tt.want)
		}
	}
}

func TestList(t *testing.T) {
	var out, errb bytes.Buffer
	if code := run([]string{"-list"}, &out, &errb); code != 0 {
		t.Fatalf("-list exit %d: %s", code, errb.String())
	}
	for _, s := range bench.Scenarios() {
		if !strings.Contains(out.String(), s.Name) {
			t.Errorf("-list lacks %s", s.Name)
		}
	}
}

func TestDurationsFlag(t *testing.T) {
	var d durations
	if err := d.Set("20s, false-positives=6m,crash=30s"); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		want string
	}{
		{"false-positives", "6m0s"},
		{"crash", "30s"},
		{"steady", "20s"},
	}
	for _, tt := range tests {
		if got := d.of(tt.name).String(); got != tt.want {
			t.Errorf("durations.of(%q) = %s, want %s", tt.name, got, tt.want)
		}
	}
	for _, bad := range []string{"soon", "crash=-1s", "crash=", "=1s"} {
		var d durations
		if err := d.Set(bad); err == nil && bad != "=1s" {
			t.Errorf("Set(%q) succeeded, want an error", bad)
		}
	}
	var out, errb bytes.Buffer
	if code := run([]string{"-duration", "nope=1s"}, &out, &errb); code != 2 || !strings.Contains(errb.String(), "unknown scenario") {
		t.Errorf("-duration nope=1s: exit %d, stderr %q", code, errb.String())
	}
}
