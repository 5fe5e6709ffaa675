package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hearsay-io/hearsay/bench"
)

// TestREADMEFigures fails when a figure block of README differs from what
// gossipbench render writes from the committed results files: a figure
// edited by hand, or results re-measured without rendering. Run
// `go run ./cmd/gossipbench render` from the repository root to fix it.
func TestREADMEFigures(t *testing.T) {
	const root = "../.."
	doc, err := os.ReadFile(filepath.Join(root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	src, err := loadSources(root, "bench/results", "bench/peers/results/peers.json")
	if err != nil {
		t.Fatal(err)
	}
	out, err := renderBlocks(string(doc), src)
	if err != nil {
		t.Fatalf("README.md: %v", err)
	}
	if diff := blockDiff(string(doc), out); len(diff) > 0 {
		t.Errorf("README.md: figure blocks %s differ from the results files; run go run ./cmd/gossipbench render", strings.Join(diff, ", "))
	}
}

// measureRE matches a measurement of scripts/figures.sh: a function
// name, the results name and gossipbench's arguments, after any
// environment the line sets for it (NAME=value ...).
var measureRE = regexp.MustCompile(`^\s*(?:[A-Z_]+=\S+\s+)*(measure|measure_reps|measure_big|measure_big_reps)\s+([a-z0-9-]+)\s+(.*?)\s*$`)

// TestFiguresScript fails when a committed results file was measured with
// a command that scripts/figures.sh does not run, or the script measures
// a results name no block reads: re-measuring must repeat what the
// figures came from.
func TestFiguresScript(t *testing.T) {
	const root = "../.."
	f, err := os.Open(filepath.Join(root, "scripts", "figures.sh"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	script := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		m := measureRE.FindStringSubmatch(sc.Text())
		if m == nil || strings.HasPrefix(m[3], `"$`) {
			continue // not a measurement, or inside a function
		}
		args := m[3]
		if strings.HasPrefix(m[1], "measure_big") {
			_, args, _ = strings.Cut(args, " ") // less the memory it needs
		}
		script[m[2]] = args
	}
	if len(script) == 0 {
		t.Fatal("scripts/figures.sh measures nothing")
	}
	read := map[string]bool{}
	src := &sources{dir: "bench/results", groups: map[string]*group{}}
	for _, b := range blocks {
		for _, p := range b.from(src) {
			name := strings.TrimSuffix(strings.TrimPrefix(p, "bench/results/"), " (absent)")
			read[name] = true
		}
	}
	for name := range script {
		if !read[name] {
			t.Errorf("scripts/figures.sh measures %s, which no figure block reads", name)
		}
	}
	src, err = loadSources(root, "bench/results", "bench/peers/results/peers.json")
	if err != nil {
		t.Fatal(err)
	}
	for name, g := range src.groups {
		if !read[name] || name == resultsUDPBootstrap10k {
			continue // not README's figures, or measured on its own
		}
		want, ok := script[name]
		if !ok {
			t.Errorf("%s: scripts/figures.sh does not measure %s", g.path, name)
			continue
		}
		for _, r := range g.runs {
			if got := strings.Join(withoutSave(r.rep.Args), " "); got != want {
				t.Errorf("%s was measured with %q; scripts/figures.sh runs %q", r.path, got, want)
			}
		}
	}
}

// fakeReport returns a saved run of the core suite at n nodes whose
// figures (those the blocks read) all have the value v.
func fakeReport(args []string, n int, v float64) *bench.Report {
	rep := &bench.Report{
		Tool: "gossipbench", Command: commandLine("gossipbench", args), Args: args, Mode: "sim",
		Source:  &bench.Source{Commit: "0123456789abcdef0123456789abcdef01234567"},
		Started: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), Wall: 10,
		Usage:   &bench.Usage{UserCPU: 8, SystemCPU: 1, PeakRSS: 1 << 30},
		Machine: bench.Machine{OS: "linux", Arch: "amd64", CPUs: 2, CPU: "Test CPU", GoVersion: "go1.26", Load: "0.5", LoadEnd: "0.7"},
	}
	for _, p := range coreFigures {
		var r *bench.Result
		for _, x := range rep.Results {
			if x.Scenario == p.scenario {
				r = x
			}
		}
		if r == nil {
			r = &bench.Result{Scenario: p.scenario, Mode: "sim", N: n, Checks: []bench.Check{{Name: "fine", OK: true}}}
			rep.Results = append(rep.Results, r)
		}
		r.Figures = append(r.Figures, bench.Figure{Name: p.figure, Value: v, Unit: "s"})
	}
	return rep
}

// writeReport saves rep under dir/name.
func writeReport(t *testing.T, dir, name string, rep *bench.Report) {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := rep.WriteJSON(&b); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

// markers returns a document with an empty block for every block render
// knows, each after a line of prose.
func markers() string {
	var b strings.Builder
	b.WriteString("# Title\n\nProse stays.\n")
	for _, bl := range blocks {
		b.WriteString("\nAbout " + bl.name + ".\n\n<!-- figures:" + bl.name + " begin -->\nstale\n<!-- figures:" + bl.name + " end -->\n")
	}
	b.WriteString("\nThe end.\n")
	return b.String()
}

func TestRenderMediansAndAbsence(t *testing.T) {
	root := t.TempDir()
	res := filepath.Join(root, "results")
	udpArgs := []string{"-mode", "udp", "-n", "1000"}
	for k, v := range []float64{3, 1, 2} {
		args := append(slices.Clone(udpArgs), "-save", "results/udp-1000/run-"+string(rune('1'+k))+".json")
		writeReport(t, res, "udp-1000/run-"+string(rune('1'+k))+".json", fakeReport(args, 1000, v))
	}
	writeReport(t, res, "core-sim-1000.json", fakeReport([]string{"-n", "1000", "-save", "results/core-sim-1000.json"}, 1000, 0.25))
	src, err := loadSources(root, "results", "peers.json")
	if err != nil {
		t.Fatal(err)
	}
	doc := markers()
	out, err := renderBlocks(doc, src)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"Median of 3 runs of `gossipbench -mode udp -n 1000` (each saved to results/udp-1000/*.json)",
		"| crash (N = 1,000) | first suspicion p50 | 2.00 s (1.00 s to 3.00 s) |",
		"| crash (N = 1,000) | first suspicion p50 | 250 ms | 2.00 s (1.00 s to 3.00 s) |",
		"at 0123456, 2026-01-02, on 2× Test CPU (go1.26, linux/amd64), load 0.5→0.7",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("rendered document lacks %q:\n%s", want, out)
		}
	}
	for _, want := range []string{
		"| 100,000 | Not measured yet (FIGURES_BIG=1 scripts/figures.sh) |  |  |  |  |  |",
		"Not measured yet: no results/core-sim.json or results/core-sim/",
		"Not measured yet: no peers.json",
		"Not measured yet: the bootstrap of 10,000 nodes on real UDP",
		"Prose stays.", "About nemesis.", "The end.",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("rendered document lacks %q", want)
		}
	}
	if strings.Contains(out, "stale") {
		t.Error("a block kept its old content")
	}
	if diff := blockDiff(doc, out); slices.Contains(diff, "(outside the blocks)") || len(diff) != len(blocks) {
		t.Errorf("blockDiff = %q, want every block and nothing outside", diff)
	}
	// Rendering is idempotent: a second pass changes nothing.
	again, err := renderBlocks(out, src)
	if err != nil || again != out {
		t.Errorf("a second render changed the document (err %v)", err)
	}
}

func TestRenderErrors(t *testing.T) {
	root := t.TempDir()
	res := filepath.Join(root, "results")
	rep := fakeReport([]string{"-n", "1000"}, 1000, 1)
	for _, r := range rep.Results {
		if r.Scenario == "crash" {
			r.Figures = slices.DeleteFunc(r.Figures, func(f bench.Figure) bool { return f.Name == "all live nodes know p50" })
		}
	}
	writeReport(t, res, "core-sim-1000.json", rep)
	src, err := loadSources(root, "results", "peers.json")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := renderBlocks(markers(), src); err == nil || !strings.Contains(err.Error(), `scenario crash has no figure "all live nodes know p50"`) {
		t.Errorf("render with a figure renamed: err %v, want it to name the figure", err)
	}

	writeReport(t, res, "udp-1000/a.json", fakeReport([]string{"-n", "1000"}, 1000, 1))
	writeReport(t, res, "udp-1000/b.json", fakeReport([]string{"-n", "2000"}, 2000, 1))
	if _, err := loadSources(root, "results", "peers.json"); err == nil || !strings.Contains(err.Error(), "runs of different commands") {
		t.Errorf("a group of different commands: err %v", err)
	}

	docs := []struct{ doc, want string }{
		{"<!-- figures:a begin -->\n", "no end marker"},
		{"<!-- figures:a begin -->\n<!-- figures:b begin -->\n", "begins inside"},
		{"<!-- figures:a end -->\n", "ends where it did not begin"},
		{"x <!-- figures:a begin -->\n", "malformed"},
		{"<!-- figures:core-sim begin -->\n<!-- figures:core-sim end -->\n<!-- figures:core-sim begin -->\n<!-- figures:core-sim end -->\n", "appears twice"},
		{"no blocks\n", "no figure block core-sim"},
		{markers() + "<!-- figures:extra begin -->\n<!-- figures:extra end -->\n", "unknown figure block extra"},
	}
	empty := &sources{dir: "results", groups: map[string]*group{}, peersPath: "peers.json"}
	for _, d := range docs {
		if _, err := renderBlocks(d.doc, empty); err == nil || !strings.Contains(err.Error(), d.want) {
			t.Errorf("renderBlocks(%q) = %v, want an error containing %q", d.doc, err, d.want)
		}
	}
}

// TestRenderCommand runs gossipbench render -check and render on a
// document: -check fails while a block is stale and writes nothing;
// render rewrites it; -check then passes.
func TestRenderCommand(t *testing.T) {
	dir := t.TempDir()
	readme := filepath.Join(dir, "README.md")
	if err := os.WriteFile(readme, []byte(markers()), 0o644); err != nil {
		t.Fatal(err)
	}
	args := []string{"-readme", readme, "-results", filepath.Join(dir, "results"), "-peers", filepath.Join(dir, "peers.json")}
	var out, errb bytes.Buffer
	if code := run(append([]string{"render", "-check"}, args...), &out, &errb); code != 1 || !strings.Contains(errb.String(), "differ from the results files") {
		t.Errorf("render -check on stale blocks: exit %d, stderr %q; want 1", code, errb.String())
	}
	if b, _ := os.ReadFile(readme); string(b) != markers() {
		t.Error("render -check wrote the file")
	}
	out.Reset()
	errb.Reset()
	if code := run(append([]string{"render"}, args...), &out, &errb); code != 0 || !strings.Contains(out.String(), "rewrote blocks") {
		t.Errorf("render: exit %d, stdout %q, stderr %q", code, out.String(), errb.String())
	}
	out.Reset()
	errb.Reset()
	if code := run(append([]string{"render", "-check"}, args...), &out, &errb); code != 0 {
		t.Errorf("render -check after render: exit %d, stderr %q", code, errb.String())
	}
}

func TestWithoutSave(t *testing.T) {
	tests := []struct{ in, want []string }{
		{[]string{"-n", "10", "-save", "x.json"}, []string{"-n", "10"}},
		{[]string{"--save=x.json", "-q"}, nil},
		{[]string{"-save", "x.json"}, nil},
		{[]string{"-saved", "1"}, []string{"-saved", "1"}},
		{[]string{"-q", "-out", "/tmp/o", "-n", "10", "-cpuprofile=p", "-seed", "2"}, []string{"-n", "10", "-seed", "2"}},
		{[]string{"-quiet", "-output", "x"}, []string{"-quiet", "-output", "x"}},
	}
	for _, tt := range tests {
		if got := withoutSave(tt.in); !slices.Equal(got, tt.want) {
			t.Errorf("withoutSave(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestShellQuote(t *testing.T) {
	tests := []struct{ in, want string }{
		{"-n", "-n"},
		{"bootstrap=10000", "bootstrap=10000"},
		{"", "''"},
		{"a b", "'a b'"},
		{"it's", `'it'\''s'`},
	}
	for _, tt := range tests {
		if got := shellQuote(tt.in); got != tt.want {
			t.Errorf("shellQuote(%q) = %s, want %s", tt.in, got, tt.want)
		}
	}
}

// fakePeers returns a peerbench report of two engines at N = 32 and 256:
// Hearsay forms its cluster at both, memberlist only at 32; Hearsay's
// figures are h, memberlist's m.
func fakePeers(h, m float64) string {
	type fig struct {
		Scenario string  `json:"scenario"`
		Name     string  `json:"name"`
		Unit     string  `json:"unit"`
		Value    float64 `json:"value"`
	}
	type run struct {
		Engine  string `json:"engine"`
		N       int    `json:"n"`
		Figures []fig  `json:"figures"`
	}
	var runs []run
	for _, e := range []string{"hearsay", "memberlist"} {
		v := h
		if e == "memberlist" {
			v = m
		}
		for _, n := range []int{32, 256} {
			formed := 1.0
			if e == "memberlist" && n == 256 {
				formed = 0
			}
			runs = append(runs, run{e, n, []fig{
				{"join", "converged", "bool", formed},
				{"burst", "converged", "bool", formed},
				{"crash", "all_know_s", "s", v},
				{"steady", "bytes_per_node_s", "B/s", v * 100},
				{"steady", "cpu_ms_per_node_s", "ms/s", 0.3},
				{"steady", "heap_kib_per_node", "KiB", 100},
			}})
		}
	}
	b, err := json.Marshal(map[string]any{
		"meta":    map[string]any{"commit": "0123456789abcdef0123456789abcdef01234567", "command": "peerbench -n 32,256", "cpus": 2},
		"runs":    runs,
		"targets": []map[string]any{{"target": "heap per node no larger", "at": "N=32", "met": true}},
	})
	if err != nil {
		panic(err)
	}
	return string(b)
}

// TestRenderPeers renders the peers block from a fake report: the table
// at the sizes where both engines formed their cluster, which figures
// Hearsay is ahead or behind on, and where each stops forming it.
func TestRenderPeers(t *testing.T) {
	root := t.TempDir()
	if err := os.WriteFile(filepath.Join(root, "peers.json"), []byte(fakePeers(2, 4)), 0o644); err != nil {
		t.Fatal(err)
	}
	src, err := loadSources(root, "results", "peers.json")
	if err != nil {
		t.Fatal(err)
	}
	out, err := renderPeers(src)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"At N = 32, where both engines formed their cluster in every run (medians over 1 run of each engine at each N)",
		"| crash known by every survivor | 32 | 2.00 s | 4.00 s | 0.5× |",
		"| bytes sent per node per second | 32 | 200 B/s | 400 B/s | 0.5× |",
		"| CPU per node per second | 32 | 300 µs | 300 µs | 1× |",
		"- Hearsay is ahead on crash known by every survivor (0.5× memberlist's); bytes sent per node per second (0.5× memberlist's).",
		"- About equal (within 10%): CPU per node per second (1× memberlist's); heap per node (1× memberlist's).",
		"- Hearsay formed its cluster (paced joins at 10 per second and a burst join, each within its bound) in every run at N = 32 to 256;",
		"- memberlist formed its cluster (paced joins at 10 per second and a burst join, each within its bound) in every run at N = 32; 0 of 2 at 256;",
		"- heap per node no larger: met at N=32.",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("peers block lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "does not yet beat") {
		t.Errorf("peers block says Hearsay is behind where it is not:\n%s", out)
	}
	if err := os.WriteFile(filepath.Join(root, "peers.json"), []byte(fakePeers(8, 4)), 0o644); err != nil {
		t.Fatal(err)
	}
	if src, err = loadSources(root, "results", "peers.json"); err != nil {
		t.Fatal(err)
	}
	if out, err = renderPeers(src); err != nil {
		t.Fatal(err)
	}
	if want := "- **Hearsay does not yet beat memberlist** on crash known by every survivor (2× memberlist's); bytes sent per node per second (2× memberlist's)."; !strings.Contains(out, want) {
		t.Errorf("peers block lacks %q:\n%s", want, out)
	}
}

// TestQuotedReference: a reference that quotes another engine's reported
// figure is not rendered; README compares with other engines only where
// both ran on one harness.
func TestQuotedReference(t *testing.T) {
	root := t.TempDir()
	rep := fakeReport([]string{"-n", "10000"}, 10000, 1)
	for _, r := range rep.Results {
		for k := range r.Figures {
			if r.Figures[k].Name == "all see all, after the last start" {
				r.Figures[k].Ref = &bench.Reference{Value: 95, Label: "a widely used engine, 2,000 nodes"}
			}
			if r.Figures[k].Name == "first suspicion p50" {
				r.Figures[k].Ref = &bench.Reference{Value: 1.58, Label: "SWIM e/(e−1) periods"}
			}
		}
	}
	writeReport(t, filepath.Join(root, "results"), "core-sim.json", rep)
	src, err := loadSources(root, "results", "peers.json")
	if err != nil {
		t.Fatal(err)
	}
	out, err := suiteBlock(src, resultsCoreSim, coreFigures)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(out, "widely used") || !strings.Contains(out, "1.58 s: SWIM e/(e−1) periods") {
		t.Errorf("suite block: want the SWIM reference and not the quoted one:\n%s", out)
	}
	doc, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(doc), "widely used engine") {
		t.Error("README.md quotes another engine's figure from elsewhere")
	}
}
