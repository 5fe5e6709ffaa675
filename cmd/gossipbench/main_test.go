package main

import (
	"bytes"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
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
	for _, want := range []string{"Dissemination of one update", "Steady-state cost", "all know p50", "bytes sent per node per second", "checks pass"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
	// Not a terminal: plain progress lines, no carriage returns.
	if strings.Contains(out.String(), "\r") || !strings.Contains(out.String(), "[1/2] dissemination: starting") {
		t.Errorf("progress on a non-terminal should be plain lines:\n%s", out.String())
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
// short phases. Its time is mostly the scenarios' fixed phases (the
// bootstrap's 10 s spread of starts, warm-ups): about 35 s of real time.
func TestRunUDPCoreSuite(t *testing.T) {
	if testing.Short() {
		t.Skip("runs real clusters for about 35 s")
	}
	t.Parallel()
	dir := t.TempDir()
	var out, errb bytes.Buffer
	args := []string{"-mode", "udp", "-n", "12", "-preset", "local", "-crashes", "2", "-loss", "0",
		"-duration", "1s,bootstrap=5s,dissemination=2s,crash=3s", "-q", "-out", dir}
	// This checks the udp driver's plumbing: every scenario runs on real
	// sockets and reports its figures. Its outcome checks run on the real
	// clock of a shared machine, so a failed one is logged, not asserted;
	// the protocol's outcomes are asserted in the simulator.
	code := run(args, &out, &errb)
	if code != 0 && code != 1 {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, out.String(), errb.String())
	}
	for _, want := range []string{"udp mode, N=12", "Bootstrap", "Dissemination of one update", "Crash detection",
		"False positives", "Steady-state cost", "bytes sent per node per second"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
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
		t.Fatalf("results.json: mode %q, %d results; want udp, 5", rep.Mode, len(rep.Results))
	}
	for _, r := range rep.Results {
		measured := 0
		for _, f := range r.Figures {
			if !math.IsNaN(f.Value) {
				measured++
			}
		}
		if measured == 0 || len(r.Checks) == 0 {
			t.Errorf("%s: %d figures measured, %d checks", r.Scenario, measured, len(r.Checks))
		}
		if !r.ChecksOK() {
			t.Logf("%s: an outcome check failed on the real clock (exit %d):\n%s", r.Scenario, code, out.String())
		}
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
