package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/hearsay-io/hearsay/bench"
)

// The peers block: Hearsay and hashicorp/memberlist side by side, from
// peerbench's report (bench/peers writes bench/peers/results/peers.json).
// It shows, at the sizes where both engines formed their cluster in
// every run, crash detection and steady cost with their ratio; where
// each engine stops forming its cluster; the trade-off points of each
// engine's timing settings (the curve of peers.svg); and which of the
// issue's targets for Hearsay are met. Lower is better for every figure
// of the table, so the block also says, from the ratios, where Hearsay
// is ahead and where it is not.

// peersReport is the part of peerbench's JSON report (bench/peers,
// Report) that render reads.
type peersReport struct {
	Meta struct {
		Machine    string   `json:"machine"`
		CPUs       int      `json:"cpus"`
		GOMAXPROCS int      `json:"gomaxprocs"`
		GoVersion  string   `json:"go_version"`
		Commit     string   `json:"commit"`
		Command    string   `json:"command"`
		Started    string   `json:"started"`
		Wall       float64  `json:"wall_s"`
		Reps       int      `json:"reps"`
		Notes      []string `json:"notes"`
	} `json:"meta"`
	Runs    []peersRun    `json:"runs"`
	Sweep   []peersPoint  `json:"sweep"`
	Targets []peersTarget `json:"targets"`
}

// peersRun is one run of one engine at one N.
type peersRun struct {
	Engine  string        `json:"engine"`
	N       int           `json:"n"`
	Figures []peersFigure `json:"figures"`
	Err     string        `json:"error"`
}

type peersFigure struct {
	Scenario string  `json:"scenario"`
	Name     string  `json:"name"`
	Unit     string  `json:"unit"`
	Value    float64 `json:"value"`
	Missing  bool    `json:"missing"`
}

// peersPoint is one engine's timing settings on the trade-off curve
// (peerbench's SweepPoint): medians over its runs.
type peersPoint struct {
	Engine  string       `json:"engine"`
	Label   string       `json:"label"`
	N       int          `json:"n"`
	Bytes   *peersMedian `json:"bytes_per_node_s"`
	AllKnow *peersMedian `json:"all_know_s"`
	CPU     *peersMedian `json:"cpu_ms_per_node_s"`
	Runs    int          `json:"runs"`
}

type peersMedian struct {
	Median float64 `json:"median"`
}

// peersTarget is one of the targets, as peerbench evaluated it
// (TargetCheck); Met is nil when the points are not comparable.
type peersTarget struct {
	Target string `json:"target"`
	At     string `json:"at"`
	Met    *bool  `json:"met"`
}

func readPeers(b []byte) (*peersReport, error) {
	var rep peersReport
	if err := json.Unmarshal(b, &rep); err != nil {
		return nil, err
	}
	if len(rep.Runs) == 0 {
		return nil, fmt.Errorf("no runs")
	}
	return &rep, nil
}

// peersFigures are the figures of the side-by-side table; for each,
// lower is better.
var peersFigures = []struct{ scenario, name, label string }{
	{"crash", "all_know_s", "crash known by every survivor"},
	{"steady", "bytes_per_node_s", "bytes sent per node per second"},
	{"steady", "cpu_ms_per_node_s", "CPU per node per second"},
	{"steady", "heap_kib_per_node", "heap per node"},
}

// peersFormed are the scenarios whose "converged" figure says whether an
// engine formed its cluster within the scenario's bound.
var peersFormed = []string{"join", "burst"}

// peersValues gathers a report's figures by engine, N, scenario and
// name: the values measured and the runs that could not measure them.
type peersValues struct {
	values  map[peersKey][]float64
	missing map[peersKey]int
	units   map[string]string // by "scenario.name"
	sizes   []int
}

type peersKey struct {
	engine, scenario, name string
	n                      int
}

func gatherPeers(rep *peersReport) *peersValues {
	pv := &peersValues{values: map[peersKey][]float64{}, missing: map[peersKey]int{}, units: map[string]string{}}
	for _, r := range rep.Runs {
		if !slices.Contains(pv.sizes, r.N) {
			pv.sizes = append(pv.sizes, r.N)
		}
		for _, f := range r.Figures {
			k := peersKey{r.Engine, f.Scenario, f.Name, r.N}
			pv.units[f.Scenario+"."+f.Name] = f.Unit
			if f.Missing || math.IsNaN(f.Value) || math.IsInf(f.Value, 0) {
				pv.missing[k]++
			} else {
				pv.values[k] = append(pv.values[k], f.Value)
			}
		}
	}
	slices.Sort(pv.sizes)
	return pv
}

// formed returns how many of an engine's join and burst runs at n formed
// the cluster, out of how many ran.
func (pv *peersValues) formed(engine string, n int) (ok, runs int) {
	for _, sc := range peersFormed {
		k := peersKey{engine, sc, "converged", n}
		runs += len(pv.values[k]) + pv.missing[k]
		for _, v := range pv.values[k] {
			if v == 1 {
				ok++
			}
		}
	}
	return ok, runs
}

// format formats a median in the figure's unit (milliseconds of CPU per
// second as a time, like gossipbench's own CPU figures).
func (pv *peersValues) format(scenario, name string, v float64) string {
	unit := pv.units[scenario+"."+name]
	if unit == "ms/s" {
		return bench.FormatValue(v/1000, "s")
	}
	return bench.FormatValue(v, unit)
}

// renderPeers renders Hearsay and memberlist side by side from
// peerbench's report.
func renderPeers(src *sources) (string, error) {
	rep := src.peers
	if rep == nil {
		return notMeasured + ": no " + src.peersPath + " (bench/peers writes it).\n", nil
	}
	pv := gatherPeers(rep)
	engines := []string{"hearsay", "memberlist"}

	// The sizes where both engines formed their cluster in every run.
	var both []int
	for _, n := range pv.sizes {
		all := true
		for _, e := range engines {
			ok, runs := pv.formed(e, n)
			all = all && runs > 0 && ok == runs
		}
		if all {
			both = append(both, n)
		}
	}
	if len(both) == 0 {
		return "", fmt.Errorf("%s: no N at which both engines formed their cluster in every run", src.peersPath)
	}

	m := rep.Meta
	var b bytes.Buffer
	invocations := 1
	for _, note := range m.Notes {
		if strings.HasPrefix(note, "results/") && strings.Contains(note, ": ") {
			invocations++
		}
	}
	fmt.Fprintf(&b, "peerbench (bench/peers) at %s, started %s, on %d× %s (%s, GOMAXPROCS %d): %d invocations merged, the first `%s` (%s wall); every command line is in the file's `meta.notes`. Real UDP on loopback, all nodes of one engine in one process, one engine at a time, both with their `lan` presets.\n\n",
		shortCommit(m.Commit), m.Started, m.CPUs, orUnknown(m.Machine), m.GoVersion, m.GOMAXPROCS,
		invocations, m.Command, bench.FormatValue(m.Wall, "s"))

	// The side-by-side table.
	type span struct{ lo, hi float64 }
	ratios := map[string]*span{}
	var rows [][]string
	for _, f := range peersFigures {
		if _, ok := pv.units[f.scenario+"."+f.name]; !ok {
			return "", fmt.Errorf("%s has no figure %s.%s", src.peersPath, f.scenario, f.name)
		}
		for k, n := range both {
			h := pv.values[peersKey{"hearsay", f.scenario, f.name, n}]
			ml := pv.values[peersKey{"memberlist", f.scenario, f.name, n}]
			cell := func(v []float64, e string) string {
				miss := pv.missing[peersKey{e, f.scenario, f.name, n}]
				if len(v) == 0 {
					return "not measured"
				}
				s := pv.format(f.scenario, f.name, median(v))
				if miss > 0 {
					s += fmt.Sprintf(" (not measured in %d of %d runs)", miss, miss+len(v))
				}
				return s
			}
			ratio := ""
			if len(h) > 0 && len(ml) > 0 && median(ml) != 0 {
				r := median(h) / median(ml)
				ratio = trimRatio(r)
				if s := ratios[f.label]; s == nil {
					ratios[f.label] = &span{r, r}
				} else {
					s.lo, s.hi = min(s.lo, r), max(s.hi, r)
				}
			}
			label := ""
			if k == 0 {
				label = f.label
			}
			rows = append(rows, []string{label, thousands(n), cell(h, "hearsay"), cell(ml, "memberlist"), ratio})
		}
	}
	fmt.Fprintf(&b, "At N = %s, where both engines formed their cluster in every run (medians over %s):\n\n",
		sizeRange(both), runsPerEngine(rep, both))
	table(&b, []string{"figure", "N", "Hearsay", "memberlist", "Hearsay / memberlist"}, rows)

	// Where Hearsay is ahead, from the ratios (lower is better for each).
	var ahead, behind, equal []string
	for _, f := range peersFigures {
		s := ratios[f.label]
		if s == nil {
			continue
		}
		text := fmt.Sprintf("%s (%s)", f.label, ratioSpan(s.lo, s.hi))
		switch {
		case s.hi < 0.9:
			ahead = append(ahead, text)
		case s.lo > 1.1:
			behind = append(behind, text)
		default:
			equal = append(equal, text)
		}
	}
	b.WriteString("\n")
	if len(ahead) > 0 {
		fmt.Fprintf(&b, "- Hearsay is ahead on %s.\n", strings.Join(ahead, "; "))
	}
	if len(behind) > 0 {
		fmt.Fprintf(&b, "- **Hearsay does not yet beat memberlist** on %s.\n", strings.Join(behind, "; "))
	}
	if len(equal) > 0 {
		fmt.Fprintf(&b, "- About equal (within 10%%): %s.\n", strings.Join(equal, "; "))
	}

	// Where each engine stops forming its cluster.
	for _, e := range engines {
		var parts []string
		var full []int
		for _, n := range pv.sizes {
			ok, runs := pv.formed(e, n)
			switch {
			case runs == 0:
			case ok == runs:
				full = append(full, n)
			default:
				if len(full) > 0 {
					parts = append(parts, fmt.Sprintf("every run at N = %s", sizeRange(full)))
					full = nil
				}
				parts = append(parts, fmt.Sprintf("%d of %d at %s", ok, runs, thousands(n)))
			}
		}
		if len(full) > 0 {
			parts = append(parts, fmt.Sprintf("every run at N = %s", sizeRange(full)))
		}
		fmt.Fprintf(&b, "- %s formed its cluster (paced joins at 10 per second and a burst join, each within its bound) in %s; no larger N was run.\n",
			engineName(e), strings.Join(parts, "; "))
	}

	// The trade-off points.
	if len(rep.Sweep) > 0 {
		pts := slices.Clone(rep.Sweep)
		slices.SortStableFunc(pts, func(a, b peersPoint) int {
			if c := strings.Compare(a.Engine, b.Engine); c != 0 {
				return c
			}
			return cmpMedian(a.Bytes, b.Bytes)
		})
		var rows [][]string
		for _, p := range pts {
			rows = append(rows, []string{engineName(p.Engine), "`" + p.Label + "`",
				medianText(p.Bytes, "B/s", 1), medianText(p.AllKnow, "s", 1), medianText(p.CPU, "s", 1e-3), fmt.Sprint(p.Runs)})
		}
		fmt.Fprintf(&b, "\nThe trade-off curve at N = %s: each engine's timing settings (medians; settings of each point in the file's `sweep`):\n\n", thousands(pts[0].N))
		table(&b, []string{"engine", "settings", "steady bytes per node per second", "crash known by every survivor", "CPU per node per second", "runs"}, rows)
	}

	// The targets.
	if len(rep.Targets) > 0 {
		type verdicts struct{ met, missed, apart []string }
		var order []string
		by := map[string]*verdicts{}
		for _, t := range rep.Targets {
			v := by[t.Target]
			if v == nil {
				v = &verdicts{}
				by[t.Target] = v
				order = append(order, t.Target)
			}
			switch {
			case t.Met == nil:
				v.apart = append(v.apart, t.At)
			case *t.Met:
				v.met = append(v.met, t.At)
			default:
				v.missed = append(v.missed, t.At)
			}
		}
		b.WriteString("\nThe targets of issue 19 for Hearsay, as peerbench evaluates them:\n\n")
		for _, name := range order {
			v := by[name]
			var parts []string
			if len(v.missed) > 0 {
				parts = append(parts, "**not met** at "+strings.Join(v.missed, ", "))
			}
			if len(v.met) > 0 {
				parts = append(parts, "met at "+strings.Join(v.met, ", "))
			}
			if len(v.apart) > 0 {
				parts = append(parts, "not comparable (outside the other engine's range) at "+strings.Join(v.apart, ", "))
			}
			fmt.Fprintf(&b, "- %s: %s.\n", name, strings.Join(parts, "; "))
		}
	}
	return b.String(), nil
}

// engineName names an engine as README does.
func engineName(e string) string {
	if e == "hearsay" {
		return "Hearsay"
	}
	return e
}

// sizeRange formats sorted sizes as "32 to 128" or "32".
func sizeRange(ns []int) string {
	if len(ns) == 1 {
		return thousands(ns[0])
	}
	return thousands(ns[0]) + " to " + thousands(ns[len(ns)-1])
}

// ratioSpan formats the range of a ratio over sizes.
func ratioSpan(lo, hi float64) string {
	if bench.FormatValue(lo, "") == bench.FormatValue(hi, "") {
		return trimRatio(lo) + " memberlist's"
	}
	return bench.FormatValue(lo, "") + "–" + trimRatio(hi) + " memberlist's"
}

// runsPerEngine says how many runs of each engine the table's medians
// are over.
func runsPerEngine(rep *peersReport, sizes []int) string {
	counts := map[string]int{}
	var parts []string
	for _, e := range []string{"hearsay", "memberlist"} {
		for _, n := range sizes {
			k := fmt.Sprintf("%s at %s", engineName(e), thousands(n))
			for _, r := range rep.Runs {
				if r.Engine == e && r.N == n {
					counts[k]++
				}
			}
			parts = append(parts, fmt.Sprintf("%d of %s", counts[k], k))
		}
	}
	first := -1
	for _, c := range counts {
		if first >= 0 && c != first {
			return "runs: " + strings.Join(parts, ", ")
		}
		first = c
	}
	if first == 1 {
		return "1 run of each engine at each N"
	}
	return fmt.Sprintf("%d runs of each engine at each N", first)
}

func cmpMedian(a, b *peersMedian) int {
	switch {
	case a == nil && b == nil:
		return 0
	case a == nil:
		return 1
	case b == nil:
		return -1
	}
	return cmpFloat(a.Median, b.Median)
}

func cmpFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// medianText formats a median, scaled into unit.
func medianText(m *peersMedian, unit string, scale float64) string {
	if m == nil || math.IsNaN(m.Median) {
		return "not measured"
	}
	return bench.FormatValue(m.Median*scale, unit)
}

// trimRatio formats a ratio with about three significant digits.
func trimRatio(v float64) string {
	return bench.FormatValue(v, "") + "×"
}

// shortCommit shortens peerbench's commit ("<hash>" or "<hash> (work
// tree modified)") like Source.Short.
func shortCommit(c string) string {
	hash, rest, _ := strings.Cut(c, " ")
	s := &bench.Source{Commit: hash, Dirty: strings.Contains(rest, "modified")}
	return s.Short()
}
