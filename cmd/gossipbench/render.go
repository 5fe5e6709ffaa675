package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"github.com/hearsay-io/hearsay/bench"
)

// gossipbench render rewrites README's figure blocks from the committed
// results files, so that no figure there is typed by hand or outlives the
// engine it was measured on. A block is the text between two marker lines,
//
//	<!-- figures:NAME begin -->
//	<!-- figures:NAME end -->
//
// and render replaces it whole; the text around the blocks is not
// touched. blocks (blocks.go) says what each NAME holds and which files it
// reads. TestREADMEFigures fails when README's blocks differ from what
// render produces, so a figure edited by hand, or a results file
// re-measured without rendering, fails the tests.

// renderUsage is the help text of the render subcommand.
const renderUsage = `usage: gossipbench render [-check] [flags]

Rewrites README's figure blocks (<!-- figures:NAME begin --> ... end -->)
from the results files: bench/results/*.json, each a gossipbench run saved
with -save, and bench/results/NAME/*.json, repeated runs of one command
whose figures are shown as medians; and peerbench's peers.json. Run it from
the repository root. With -check it writes nothing and exits 1 when README
differs from what it would write.

`

func runRender(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("gossipbench render", flag.ContinueOnError)
	fs.SetOutput(stderr)
	readme := fs.String("readme", "README.md", "the `file` whose figure blocks are rewritten")
	results := fs.String("results", filepath.Join("bench", "results"), "the `directory` of results files")
	peers := fs.String("peers", filepath.Join("bench", "peers", "results", "peers.json"), "peerbench's results `file`")
	check := fs.Bool("check", false, "write nothing; exit 1 if the file's blocks are not what render would write")
	fs.Usage = func() {
		fmt.Fprint(stderr, renderUsage)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "gossipbench render: unexpected arguments: %s\n", strings.Join(fs.Args(), " "))
		return 2
	}
	old, err := os.ReadFile(*readme)
	if err != nil {
		fmt.Fprintln(stderr, "gossipbench render:", err)
		return 1
	}
	src, err := loadSources(".", *results, *peers)
	if err != nil {
		fmt.Fprintln(stderr, "gossipbench render:", err)
		return 1
	}
	out, err := renderBlocks(string(old), src)
	if err != nil {
		fmt.Fprintf(stderr, "gossipbench render: %s: %v\n", *readme, err)
		return 1
	}
	if *check {
		if diff := blockDiff(string(old), out); len(diff) > 0 {
			fmt.Fprintf(stderr, "gossipbench render: %s: blocks %s differ from the results files; run go run ./cmd/gossipbench render\n",
				*readme, strings.Join(diff, ", "))
			return 1
		}
		fmt.Fprintf(stdout, "%s: every figure block is current\n", *readme)
		return 0
	}
	if out == string(old) {
		fmt.Fprintf(stdout, "%s: every figure block is current\n", *readme)
		return 0
	}
	diff := blockDiff(string(old), out)
	if err := writeFile(filepath.Dir(*readme), filepath.Base(*readme), func(w io.Writer) error {
		_, err := io.WriteString(w, out)
		return err
	}); err != nil {
		fmt.Fprintln(stderr, "gossipbench render:", err)
		return 1
	}
	fmt.Fprintf(stdout, "%s: rewrote blocks %s\n", *readme, strings.Join(diff, ", "))
	return 0
}

// markerRE matches a block's marker line.
var markerRE = regexp.MustCompile(`^<!-- figures:([a-z0-9-]+) (begin|end) -->$`)

// span is one block of a document: its name and the byte offsets of its
// content, between the end of its begin line and the start of its end
// line.
type span struct {
	name       string
	start, end int
}

// findBlocks returns the blocks of doc in order. Every begin needs its
// end before the next begin, and a name may appear once.
func findBlocks(doc string) ([]span, error) {
	var out []span
	var open *span
	off := 0
	for line := range strings.SplitAfterSeq(doc, "\n") {
		next := off + len(line)
		m := markerRE.FindStringSubmatch(strings.TrimRight(line, "\r\n"))
		if m == nil {
			if strings.Contains(line, "<!-- figures:") {
				return nil, fmt.Errorf("malformed figure marker %q: want <!-- figures:NAME begin --> or end, alone on its line", strings.TrimSpace(line))
			}
			off = next
			continue
		}
		name, kind := m[1], m[2]
		switch {
		case kind == "begin" && open != nil:
			return nil, fmt.Errorf("block %s begins inside block %s", name, open.name)
		case kind == "begin":
			for _, s := range out {
				if s.name == name {
					return nil, fmt.Errorf("block %s appears twice", name)
				}
			}
			open = &span{name: name, start: next}
		case open == nil || open.name != name:
			return nil, fmt.Errorf("block %s ends where it did not begin", name)
		default:
			open.end = off
			out = append(out, *open)
			open = nil
		}
		off = next
	}
	if open != nil {
		return nil, fmt.Errorf("block %s has no end marker", open.name)
	}
	return out, nil
}

// renderBlocks returns doc with the content of every figure block
// rendered from src. Every block render knows must be present, and every
// block present must be one it knows.
func renderBlocks(doc string, src *sources) (string, error) {
	spans, err := findBlocks(doc)
	if err != nil {
		return "", err
	}
	var have []string
	for _, s := range spans {
		have = append(have, s.name)
	}
	for _, b := range blocks {
		if !slices.Contains(have, b.name) {
			return "", fmt.Errorf("no figure block %s (<!-- figures:%s begin --> ... <!-- figures:%s end -->)", b.name, b.name, b.name)
		}
	}
	var out strings.Builder
	last := 0
	for _, s := range spans {
		k := slices.IndexFunc(blocks, func(b block) bool { return b.name == s.name })
		if k < 0 {
			return "", fmt.Errorf("unknown figure block %s (render knows %s)", s.name, strings.Join(blockNames(), ", "))
		}
		text, err := blocks[k].render(src)
		if err != nil {
			return "", fmt.Errorf("block %s: %w", s.name, err)
		}
		out.WriteString(doc[last:s.start])
		fmt.Fprintf(&out, "<!-- Rendered by `go run ./cmd/gossipbench render` from %s; %s; do not edit. -->\n",
			strings.Join(blocks[k].from(src), ", "), blocks[k].remeasure)
		// A blank line ends the block's last table or paragraph before
		// the end marker.
		out.WriteString(strings.TrimRight(text, "\n"))
		out.WriteString("\n\n")
		last = s.end
	}
	out.WriteString(doc[last:])
	return out.String(), nil
}

// blockDiff names the blocks whose content differs between two versions
// of a document ("(outside the blocks)" if something else does).
func blockDiff(a, b string) []string {
	sa, errA := findBlocks(a)
	sb, errB := findBlocks(b)
	if errA != nil || errB != nil || len(sa) != len(sb) {
		return []string{"(markers)"}
	}
	var out []string
	outside := false
	la, lb := 0, 0
	for k := range sa {
		if sa[k].name != sb[k].name {
			return []string{"(markers)"}
		}
		if a[la:sa[k].start] != b[lb:sb[k].start] {
			outside = true
		}
		if a[sa[k].start:sa[k].end] != b[sb[k].start:sb[k].end] {
			out = append(out, sa[k].name)
		}
		la, lb = sa[k].end, sb[k].end
	}
	if outside || a[la:] != b[lb:] {
		out = append(out, "(outside the blocks)")
	}
	return out
}

func blockNames() []string {
	var out []string
	for _, b := range blocks {
		out = append(out, b.name)
	}
	return out
}

// sources is everything render reads: the gossipbench results, by group,
// and peerbench's report.
type sources struct {
	dir    string            // the results directory, as given
	groups map[string]*group // by name
	peers  *peersReport      // nil when absent
	// peersPath is the peers file, as given.
	peersPath string
}

// group is one results file, or a directory of files from repeated runs
// of one command.
type group struct {
	name string
	path string // the file or directory, slash-separated as given
	runs []runFile
}

// runFile is one results file.
type runFile struct {
	path string
	rep  *bench.Report
}

// loadSources reads the results directory and the peers file, both
// relative to root; the blocks name them relative to root. A missing
// results file or peers file is not an error (its block says it is not
// measured yet); a results file that does not decode, or a group whose
// runs differ in anything but where they were saved, is.
func loadSources(root, dir, peersPath string) (*sources, error) {
	src := &sources{dir: filepath.ToSlash(dir), groups: map[string]*group{}, peersPath: filepath.ToSlash(peersPath)}
	entries, err := os.ReadDir(filepath.Join(root, dir))
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	for _, e := range entries {
		path := filepath.Join(dir, e.Name())
		switch {
		case e.IsDir():
			sub, err := os.ReadDir(filepath.Join(root, path))
			if err != nil {
				return nil, err
			}
			g := &group{name: e.Name(), path: filepath.ToSlash(path) + "/"}
			for _, f := range sub {
				if f.IsDir() || filepath.Ext(f.Name()) != ".json" {
					continue
				}
				r, err := readRun(root, filepath.Join(path, f.Name()))
				if err != nil {
					return nil, err
				}
				g.runs = append(g.runs, r)
			}
			if len(g.runs) == 0 {
				continue
			}
			if err := g.sameCommand(); err != nil {
				return nil, err
			}
			src.groups[g.name] = g
		case filepath.Ext(e.Name()) == ".json":
			r, err := readRun(root, path)
			if err != nil {
				return nil, err
			}
			name := strings.TrimSuffix(e.Name(), ".json")
			src.groups[name] = &group{name: name, path: filepath.ToSlash(path), runs: []runFile{r}}
		}
	}
	b, err := os.ReadFile(filepath.Join(root, peersPath))
	switch {
	case errors.Is(err, os.ErrNotExist):
	case err != nil:
		return nil, err
	default:
		if src.peers, err = readPeers(b); err != nil {
			return nil, fmt.Errorf("%s: %w", peersPath, err)
		}
	}
	return src, nil
}

// readRun reads one results file, path relative to root.
func readRun(root, path string) (runFile, error) {
	f, err := os.Open(filepath.Join(root, path))
	if err != nil {
		return runFile{}, err
	}
	defer f.Close()
	rep, err := bench.ReadReport(f)
	if err != nil {
		return runFile{}, fmt.Errorf("%s: %w", path, err)
	}
	if rep.Tool != "gossipbench" || len(rep.Results) == 0 {
		return runFile{}, fmt.Errorf("%s: not a gossipbench results file (tool %q, %d results)", path, rep.Tool, len(rep.Results))
	}
	return runFile{path: filepath.ToSlash(path), rep: rep}, nil
}

// withoutSave returns the arguments that decide what a run measures: all
// but -save, -out and -cpuprofile with their values, and -q, which only
// say where and how the run reports.
func withoutSave(args []string) []string {
	var out []string
	for k := 0; k < len(args); k++ {
		a := args[k]
		name := strings.TrimLeft(a, "-")
		if dashes := len(a) - len(name); dashes >= 1 && dashes <= 2 {
			flag, _, hasValue := strings.Cut(name, "=")
			switch flag {
			case "save", "out", "cpuprofile":
				if !hasValue {
					k++ // the value follows
				}
				continue
			case "q":
				continue
			}
		}
		out = append(out, a)
	}
	return out
}

// sameCommand checks that a group's runs repeat one command.
func (g *group) sameCommand() error {
	first := strings.Join(withoutSave(g.runs[0].rep.Args), "\x00")
	for _, r := range g.runs[1:] {
		if strings.Join(withoutSave(r.rep.Args), "\x00") != first {
			return fmt.Errorf("%s: runs of different commands (%s; %s): a directory holds repeated runs of one command",
				g.path, g.runs[0].rep.Command, r.rep.Command)
		}
	}
	return nil
}

// results returns the result of a scenario in each run that has it.
func (g *group) results(scenario string) []*bench.Result {
	var out []*bench.Result
	for _, r := range g.runs {
		for _, res := range r.rep.Results {
			if res.Scenario == scenario {
				out = append(out, res)
			}
		}
	}
	return out
}

// stat is one figure over a group's runs.
type stat struct {
	name    string
	unit    string
	n       int // the scenario's cluster size (the first run's)
	values  []float64
	missing int // runs that could not measure it
	target  *bench.Target
	ref     *bench.Reference
}

// figure gathers a figure of a scenario over the group's runs; it fails
// when no run has the scenario or the figure, so that a renamed figure
// shows up as an error rather than a blank.
func (g *group) figure(scenario, name string) (stat, error) {
	rs := g.results(scenario)
	if len(rs) == 0 {
		return stat{}, fmt.Errorf("%s has no %s result", g.path, scenario)
	}
	s := stat{name: name, n: rs[0].N}
	found := false
	for _, r := range rs {
		f, ok := r.Figure(name)
		if !ok {
			continue
		}
		if !found {
			s.unit, s.target, s.ref = f.Unit, f.Target, f.Ref
			found = true
		}
		if f.Missing || math.IsNaN(f.Value) || math.IsInf(f.Value, 0) {
			s.missing++
		} else {
			s.values = append(s.values, f.Value)
		}
	}
	if !found {
		return stat{}, fmt.Errorf("%s: scenario %s has no figure %q", g.path, scenario, name)
	}
	return s, nil
}

// median returns the median of v (the mean of the middle two for an even
// count), NaN for none.
func median(v []float64) float64 {
	if len(v) == 0 {
		return math.NaN()
	}
	s := slices.Clone(v)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// value formats the figure: the value of a single run, or the median
// over runs with the range; a run that could not measure it is counted.
func (s stat) value() string {
	runs := len(s.values) + s.missing
	var b strings.Builder
	switch {
	case len(s.values) == 0:
		b.WriteString("not measured")
	case runs == 1:
		b.WriteString(bench.FormatValue(s.values[0], s.unit))
	default:
		b.WriteString(bench.FormatValue(median(s.values), s.unit))
		lo, hi := slices.Min(s.values), slices.Max(s.values)
		if lo != hi {
			fmt.Fprintf(&b, " (%s to %s)", bench.FormatValue(lo, s.unit), bench.FormatValue(hi, s.unit))
		}
	}
	if s.missing > 0 && runs > 1 {
		fmt.Fprintf(&b, "; not measured in %d of %d runs", s.missing, runs)
	}
	return b.String()
}

// targetText formats the figure's target and whether it is met: by the
// value, or, over several runs, by how many runs.
func (s stat) targetText() string {
	if s.target == nil {
		return ""
	}
	t := s.target.String(s.unit)
	runs := len(s.values) + s.missing
	met := 0
	for _, v := range s.values {
		if s.target.Meets(v) {
			met++
		}
	}
	switch {
	case met == runs:
		return t + ", met"
	case met == 0 && runs == 1:
		return t + ", **missed**"
	}
	return fmt.Sprintf("%s, **met in %d of %d runs**", t, met, runs)
}

// refText formats the figure's reference. A reference that quotes
// another engine's reported figure is left out: README compares Hearsay
// with other engines only where both ran on one harness (the peers
// block), never with a number from elsewhere.
func (s stat) refText() string {
	if s.ref == nil || quotedRef(s.ref) {
		return ""
	}
	return bench.FormatValue(s.ref.Value, s.unit) + ": " + s.ref.Label
}

// quotedRefs are the labels (prefixes) of the references that quote
// another engine's figure rather than a theoretical bound or a design aim.
var quotedRefs = []string{"a widely used engine"}

func quotedRef(r *bench.Reference) bool {
	for _, q := range quotedRefs {
		if strings.HasPrefix(r.Label, q) {
			return true
		}
	}
	return false
}

// checks returns one line about the outcome checks of the named
// scenarios over the group's runs: all passed, or which failed where.
func (g *group) checks(scenarios []string) string {
	total := 0
	var failed []string
	for _, r := range g.runs {
		for _, res := range r.rep.Results {
			if len(scenarios) > 0 && !slices.Contains(scenarios, res.Scenario) {
				continue
			}
			if res.Err != "" {
				failed = append(failed, fmt.Sprintf("%s stopped: %s", res.Scenario, res.Err))
			}
			for _, c := range res.Checks {
				total++
				if !c.OK {
					failed = append(failed, fmt.Sprintf("%s: %s (%s)", res.Scenario, c.Name, c.Detail))
				}
			}
		}
	}
	runs := ""
	if len(g.runs) > 1 {
		runs = fmt.Sprintf(" over %d runs", len(g.runs))
	}
	if len(failed) == 0 {
		return fmt.Sprintf("Every outcome check passed (%d%s).", total, runs)
	}
	return fmt.Sprintf("**Outcome checks failed**%s: %s.", runs, strings.Join(failed, "; "))
}

// caption says where a group's figures come from: the command, the
// commit, when and where it ran and what it cost. Over several runs, the
// figures are medians and the caption says how many.
func (g *group) caption() string {
	first := g.runs[0].rep
	var b strings.Builder
	if len(g.runs) == 1 {
		fmt.Fprintf(&b, "`%s`", first.Command)
	} else {
		fmt.Fprintf(&b, "Median of %d runs of `%s` (each saved to %s*.json)", len(g.runs), commandLine("gossipbench", withoutSave(first.Args)), g.path)
	}
	var commits, dates, loads, walls, cpus, rss []string
	for _, r := range g.runs {
		c := r.rep.Source.Short()
		if !slices.Contains(commits, c) {
			commits = append(commits, c)
		}
		d := r.rep.Started.UTC().Format("2006-01-02")
		if !slices.Contains(dates, d) {
			dates = append(dates, d)
		}
		m := r.rep.Machine
		load := m.Load
		if m.LoadEnd != "" {
			load += "→" + m.LoadEnd
		}
		loads = append(loads, load)
		walls = append(walls, bench.FormatValue(float64(r.rep.Wall), "s"))
		if u := r.rep.Usage; u != nil {
			cpus = append(cpus, bench.FormatValue(float64(u.UserCPU+u.SystemCPU), "s"))
			rss = append(rss, formatBytes(u.PeakRSS))
		}
	}
	m := first.Machine
	fmt.Fprintf(&b, " at %s, %s, on %d× %s (%s, %s/%s), load %s: %s wall",
		strings.Join(commits, ", "), strings.Join(dates, ", "), m.CPUs, orUnknown(m.CPU), m.GoVersion, m.OS, m.Arch,
		strings.Join(loads, ", "), strings.Join(walls, ", "))
	if len(cpus) > 0 {
		fmt.Fprintf(&b, ", %s CPU, %s peak RSS", strings.Join(cpus, ", "), strings.Join(rss, ", "))
	}
	if len(first.Env) > 0 {
		var env []string
		for k, v := range first.Env {
			env = append(env, k+"="+v)
		}
		slices.Sort(env)
		fmt.Fprintf(&b, " (%s)", strings.Join(env, " "))
	}
	b.WriteString(".")
	return b.String()
}

func orUnknown(s string) string {
	if s == "" {
		return "unknown CPU"
	}
	return s
}

// table writes a Markdown table.
func table(b *bytes.Buffer, header []string, rows [][]string) {
	b.WriteString("| " + strings.Join(header, " | ") + " |\n")
	b.WriteString("|" + strings.Repeat("---|", len(header)) + "\n")
	for _, r := range rows {
		cells := make([]string, len(r))
		for k, c := range r {
			cells[k] = strings.ReplaceAll(c, "|", `\|`)
		}
		b.WriteString("| " + strings.Join(cells, " | ") + " |\n")
	}
}

// thousands formats n with commas every three digits.
func thousands(n int) string {
	s := fmt.Sprint(n)
	if n < 0 {
		return "-" + thousands(-n)
	}
	for k := len(s) - 3; k > 0; k -= 3 {
		s = s[:k] + "," + s[k:]
	}
	return s
}
