package main

import (
	"bytes"
	"fmt"
	"slices"
	"strings"

	"github.com/hearsay-io/hearsay/bench"
)

// The figure blocks of README and the results each reads. A results
// name is a file bench/results/NAME.json (one run) or a directory
// bench/results/NAME/ of repeated runs of one command, shown as medians.
// scripts/figures.sh runs the commands that write them; the quick ones by
// default, the large ones (scale-sim-100000, nemesis-1000,
// nemesis-mix-1000, nemesis-mix-1000-seed-2, nemesis-mix-1000-seed-3,
// nemesis-mass-crash-10000, steady-udp-10000) with FIGURES_BIG=1.
// bench/results/udp-bootstrap-10000 is measured on its
// own (the run takes the whole machine), and peerbench (bench/peers)
// writes bench/peers/results/peers.json. Other files under bench/results
// that no block reads are records of single runs, kept as evidence; they
// are not README's figures.
//
// Each block picks its figures by scenario and figure name. When a
// scenario renames a figure, render fails with the name it could not
// find: rename it here too and re-render.
var blocks = []block{
	{
		name:      "core-sim",
		from:      groupsFrom(resultsCoreSim),
		remeasure: figuresScript,
		render:    func(src *sources) (string, error) { return suiteBlock(src, resultsCoreSim, coreFigures) },
	},
	{
		name:      "scaling-sim",
		from:      groupsFrom(resultsCoreSim1000, resultsCoreSim, resultsScale100k),
		remeasure: figuresScript + " (100,000 nodes with FIGURES_BIG=1)",
		render:    renderScaling,
	},
	{
		name:      "core-udp",
		from:      groupsFrom(resultsUDP1000),
		remeasure: figuresScript,
		render:    func(src *sources) (string, error) { return suiteBlock(src, resultsUDP1000, coreFigures) },
	},
	{
		name:      "sim-vs-udp",
		from:      groupsFrom(resultsCoreSim1000, resultsUDP1000),
		remeasure: figuresScript,
		render:    renderSimVsUDP,
	},
	{
		name:      "nemesis",
		from:      groupsFrom(resultsNemesis1000, resultsNemesisShort),
		remeasure: figuresScript + " (1,000 nodes with FIGURES_BIG=1)",
		render:    renderNemesis,
	},
	{
		name: "peers",
		from: func(src *sources) []string {
			if src.peers == nil {
				return []string{src.peersPath + " (absent)"}
			}
			return []string{src.peersPath}
		},
		remeasure: "re-measure with bench/peers (bench/peers/results/README.md)",
		render:    renderPeers,
	},
	{
		name:      "nemesis-long",
		from:      groupsFrom(resultsMixLong, resultsMixSeed2, resultsMixSeed3, resultsMassCrash10k),
		remeasure: figuresScript + " (FIGURES_BIG=1)",
		render:    renderEach(resultsMixLong, resultsMixSeed2, resultsMixSeed3, resultsMassCrash10k),
	},
	{
		name:      "udp-busy",
		from:      groupsFrom(resultsUDPBusy1000),
		remeasure: figuresScript,
		render:    renderEach(resultsUDPBusy1000),
	},
	{
		name:      "steady-node",
		from:      groupsFrom(resultsSteadyUDP10k, resultsSteadyUDP5k),
		remeasure: figuresScript + " (FIGURES_BIG=1)",
		render:    renderSteadyNode,
	},
	{
		name:      "udp-bootstrap-10000",
		from:      groupsFrom(resultsUDPBootstrap10k),
		remeasure: "measured on its own (gossipbench -mode udp -scenario bootstrap -n-for bootstrap=10000 -save bench/results/udp-bootstrap-10000.json)",
		render:    renderUDPBootstrap,
	},
}

// The results names the blocks read.
const (
	resultsCoreSim         = "core-sim"         // the default run: the core suite, 10,000 simulated nodes
	resultsCoreSim1000     = "core-sim-1000"    // the core suite at 1,000 simulated nodes
	resultsScale100k       = "scale-sim-100000" // dissemination, crash, steady at 100,000 simulated nodes (big)
	resultsUDP1000         = "udp-1000"         // the core suite on real UDP at 1,000 nodes, repeated
	resultsNemesisShort    = "nemesis-short-200"
	resultsNemesis1000     = "nemesis-1000"             // the nemesis suite at 1,000 simulated nodes (big)
	resultsUDPBootstrap10k = "udp-bootstrap-10000"      // bootstrap of 10,000 nodes on real UDP, measured on its own
	resultsMixLong         = "nemesis-mix-1000"         // the nemesis mix over 10,000 node-hours at 1,000 simulated nodes (big)
	resultsMixSeed2        = "nemesis-mix-1000-seed-2"  // the 30-minute nemesis mix at 1,000 simulated nodes, seed 2 (big)
	resultsMixSeed3        = "nemesis-mix-1000-seed-3"  // the same, seed 3 (big)
	resultsMassCrash10k    = "nemesis-mass-crash-10000" // 30% of 10,000 simulated nodes crashing at once (big)
	resultsUDPBusy1000     = "udp-busy-1000"            // bootstrap and hold of 1,000 real-UDP nodes on busy cores
	resultsSteadyUDP10k    = "steady-udp-10000"         // one node in its own process in a 10,000-member real-UDP cluster (big)
	resultsSteadyUDP5k     = "steady-udp-5000"          // the same at 5,000 members (big)
	notMeasured            = "Not measured yet"
)

// block is one figure block: its marker name, the files it reads and how
// they are re-measured (for the note render writes above it), and its
// rendering.
type block struct {
	name      string
	from      func(*sources) []string
	remeasure string
	render    func(*sources) (string, error)
}

const figuresScript = "re-measure with scripts/figures.sh"

// groupsFrom lists where the named results are, present or not.
func groupsFrom(names ...string) func(*sources) []string {
	return func(src *sources) []string {
		var out []string
		for _, n := range names {
			if g, ok := src.groups[n]; ok {
				out = append(out, g.path)
			} else {
				out = append(out, src.dir+"/"+n+" (absent)")
			}
		}
		return out
	}
}

// pick is one figure of a scenario a block shows.
type pick struct{ scenario, figure string }

// renderSteadyNode renders the node in its own process at 10,000 members
// and at 5,000, each when measured.
func renderSteadyNode(src *sources) (string, error) {
	var b strings.Builder
	for k, name := range []string{resultsSteadyUDP10k, resultsSteadyUDP5k} {
		if k > 0 {
			b.WriteString("\n")
		}
		s, err := suiteBlock(src, name, steadyNodeFigures)
		if err != nil {
			return "", err
		}
		b.WriteString(s)
	}
	return b.String(), nil
}

// steadyNodeFigures are what the steady scenario over real UDP measures of
// the node in its own process.
var steadyNodeFigures = []pick{
	{"steady", "members known, own process"},
	{"steady", "CPU per node per second"},
	{"steady", "CPU per node per second, user"},
	{"steady", "CPU per node per second, system (the kernel's cost of its datagrams)"},
	{"steady", "bytes allocated per node per second"},
	{"steady", "allocations per node per second"},
	{"steady", "garbage collections per node per second"},
	{"steady", "heap in use after a collection, own process"},
	{"steady", "datagrams sent and received per node per second, own process"},
	{"steady", "bytes sent per second, own process"},
	{"steady", "bytes received per second, own process"},
	{"steady", "context switches per second, own process"},
	{"steady", "join time, own process"},
	{"steady", "CPU per in-process node per second"},
	{"steady", "deaths declared"},
}

// coreFigures are the figures the core-suite blocks show, in order.
var coreFigures = []pick{
	{"bootstrap", "all see all, after the last start"},
	{"bootstrap", "deaths declared"},
	{"dissemination", "all know p50"},
	{"dissemination", "all know p99"},
	{"dissemination", "rounds to all p50"},
	{"crash", "first suspicion p50"},
	{"crash", "all live nodes know p50"},
	{"crash", "all live nodes know p99"},
	{"crash", "false deaths"},
	{"false-positives", "node-hours"},
	{"false-positives", "false deaths"},
	{"false-positives", "suspicions raised per node-hour"},
	{"steady", "datagrams sent per node per period"},
	{"steady", "bytes sent per node per second p50"},
	{"steady", "bytes sent per node per second p99"},
	{"steady", "anti-entropy datagrams per node per second"},
	{"steady", "anti-entropy bytes sent per node per second"},
	{"steady", "CPU per node per second"},
}

// scenarioLabel names a scenario with its cluster size, e.g.
// "bootstrap (N = 1,000)".
func scenarioLabel(s stat, scenario string) string {
	return fmt.Sprintf("%s (N = %s)", scenario, thousands(s.n))
}

// measuredBy returns the command that writes the named results.
func measuredBy(name string) string {
	switch name {
	case resultsScale100k, resultsNemesis1000, resultsMixLong, resultsMixSeed2, resultsMixSeed3, resultsMassCrash10k, resultsSteadyUDP10k, resultsSteadyUDP5k:
		return "FIGURES_BIG=1 scripts/figures.sh"
	}
	return "scripts/figures.sh"
}

// absent is the text of a block whose results are not there.
func absent(src *sources, name string) string {
	return fmt.Sprintf("%s: no %s/%s.json or %s/%s/ (%s writes it).\n", notMeasured, src.dir, name, src.dir, name, measuredBy(name))
}

// suiteBlock renders the picked figures of a run, each with its target
// and reference, the checks, and where the figures come from.
func suiteBlock(src *sources, name string, picks []pick) (string, error) {
	g, ok := src.groups[name]
	if !ok {
		return absent(src, name), nil
	}
	var rows [][]string
	last := ""
	for _, p := range picks {
		s, err := g.figure(p.scenario, p.figure)
		if err != nil {
			return "", err
		}
		label := scenarioLabel(s, p.scenario)
		if label == last {
			label = ""
		} else {
			last = label
		}
		rows = append(rows, []string{label, s.name, s.value(), s.targetText(), s.refText()})
	}
	var b bytes.Buffer
	b.WriteString(g.caption() + " " + g.checks(nil) + "\n\n")
	table(&b, []string{"scenario", "figure", "value", "target", "reference"}, rows)
	return b.String(), nil
}

// renderScaling renders the scaling table: the same figures at 1,000,
// 10,000 and 100,000 simulated nodes, one run each.
func renderScaling(src *sources) (string, error) {
	cols := []pick{
		{"crash", "all live nodes know p50"},
		{"dissemination", "all know p50"},
		{"steady", "bytes sent per node per second p50"},
		{"steady", "datagrams sent per node per period"},
	}
	header := []string{"N"}
	for _, c := range cols {
		header = append(header, c.scenario+": "+c.figure)
	}
	header = append(header, "commit", "wall")
	var rows [][]string
	var notes []string
	for _, size := range []struct {
		n    int
		name string
	}{{1000, resultsCoreSim1000}, {10000, resultsCoreSim}, {100000, resultsScale100k}} {
		g, ok := src.groups[size.name]
		if !ok {
			row := []string{thousands(size.n), notMeasured + " (" + measuredBy(size.name) + ")"}
			for range cols[1:] {
				row = append(row, "")
			}
			rows = append(rows, append(row, "", ""))
			continue
		}
		row := []string{""}
		n := 0
		for _, c := range cols {
			s, err := g.figure(c.scenario, c.figure)
			if err != nil {
				return "", err
			}
			if n != 0 && s.n != n {
				return "", fmt.Errorf("%s: %s ran at N = %d, %s at %d", g.path, c.scenario, s.n, cols[0].scenario, n)
			}
			n = s.n
			row = append(row, s.value())
		}
		if n != size.n {
			return "", fmt.Errorf("%s: measured at N = %d, want %d", g.path, n, size.n)
		}
		row[0] = thousands(n)
		r := g.runs[0].rep
		rows = append(rows, append(row, r.Source.Short(), bench.FormatValue(float64(r.Wall), "s")))
		notes = append(notes, fmt.Sprintf("N = %s: %s", thousands(n), g.caption()))
	}
	var b bytes.Buffer
	b.WriteString("Simulation, one run each (seed 1; simulated figures are exact for the seed).\n\n")
	table(&b, header, rows)
	b.WriteString("\n")
	for _, n := range notes {
		b.WriteString("- " + n + "\n")
	}
	return b.String(), nil
}

// renderSimVsUDP renders the core suite at 1,000 nodes in the simulator
// and over real UDP side by side.
func renderSimVsUDP(src *sources) (string, error) {
	sim, okSim := src.groups[resultsCoreSim1000]
	udp, okUDP := src.groups[resultsUDP1000]
	if !okSim || !okUDP {
		var missing []string
		if !okSim {
			missing = append(missing, resultsCoreSim1000)
		}
		if !okUDP {
			missing = append(missing, resultsUDP1000)
		}
		return fmt.Sprintf("%s: no results %s in %s (scripts/figures.sh writes them).\n", notMeasured, strings.Join(missing, ", "), src.dir), nil
	}
	udpHead := "real UDP"
	if len(udp.runs) > 1 {
		udpHead = fmt.Sprintf("real UDP, median of %d runs", len(udp.runs))
	}
	var rows [][]string
	last := ""
	for _, p := range coreFigures {
		a, err := sim.figure(p.scenario, p.figure)
		if err != nil {
			return "", err
		}
		u, err := udp.figure(p.scenario, p.figure)
		if err != nil {
			return "", err
		}
		label := p.scenario
		if a.n != u.n {
			label = fmt.Sprintf("%s (N = %s sim, %s UDP)", p.scenario, thousands(a.n), thousands(u.n))
		} else {
			label = scenarioLabel(a, p.scenario)
		}
		if label == last {
			label = ""
		} else {
			last = label
		}
		target := ""
		if a.target != nil {
			target = a.target.String(a.unit)
		}
		rows = append(rows, []string{label, p.figure, a.value(), u.value(), target})
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, "Simulated: %s %s\n\nReal UDP: %s %s\n\n", sim.caption(), sim.checks(nil), udp.caption(), udp.checks(nil))
	table(&b, []string{"scenario", "figure", "simulated", udpHead, "target"}, rows)
	return b.String(), nil
}

// nemesisRow says which figures of a nemesis scenario fill the columns
// of the nemesis table ("" where the scenario has no such figure).
type nemesisRow struct {
	scenario    string
	falseDeaths string // deaths of live, reachable nodes (the oracle's false deaths)
	aliveAgain  string // members seen alive again after being declared dead
	allSeeAll   string // time until every running node sees every running node
	other       string // the scenario's own telling figure
}

var nemesisRows = []nemesisRow{
	{"nemesis-loss-10", "false deaths", "", "", "detection after the loss / fresh, p50"},
	{"nemesis-loss-20", "false deaths", "", "", "detection after the loss / fresh, p50"},
	{"nemesis-loss-30", "false deaths", "", "", "detection after the loss / fresh, p50"},
	{"nemesis-loss-bursts", "false deaths", "alive-again events (all observers)", "", "suspicions raised per burst"},
	{"nemesis-blips", "false deaths", "", "", "blips that raised a suspicion"},
	{"nemesis-one-way", "false deaths", "", "all see all after the heal", "self-dead events (nodes told they are dead)"},
	{"nemesis-split", "false deaths (about members of the observer's group)", "", "all see all after the heal", "false deaths after the heal (stale verdicts adopted)"},
	{"nemesis-gray", "healthy nodes declared dead", "alive-again events after death", "", "gray nodes removed everywhere"},
	{"nemesis-flaky", "healthy nodes declared dead", "alive-again events after death", "", "flaky nodes removed everywhere"},
	{"nemesis-slow", "false deaths (slow or not)", "", "", "slow nodes declared dead"},
	{"nemesis-mass-crash", "survivors declared dead", "", "all survivors know max", "crashes never known by all"},
	{"nemesis-dup-reorder", "false deaths", "", "", "updates not known by all"},
	{"nemesis-stalls", "false deaths", "", "", "false accusations by stalling nodes"},
	{"nemesis-mix", "false deaths of live reachable nodes", "", "all see all after the last episode", "node-hours"},
}

// renderNemesis renders the nemesis suite, one row per fault, for each
// of its runs present: the full suite at 1,000 nodes and the short one.
func renderNemesis(src *sources) (string, error) {
	var b bytes.Buffer
	for k, name := range []string{resultsNemesis1000, resultsNemesisShort} {
		if k > 0 {
			b.WriteString("\n")
		}
		g, ok := src.groups[name]
		if !ok {
			b.WriteString(absent(src, name))
			continue
		}
		var rows [][]string
		for _, nr := range nemesisRows {
			rs := g.results(nr.scenario)
			if len(rs) == 0 {
				return "", fmt.Errorf("%s has no %s result", g.path, nr.scenario)
			}
			row := []string{fmt.Sprintf("%s (N = %s)", strings.TrimPrefix(rs[0].Title, "Nemesis: "), thousands(rs[0].N))}
			for _, fig := range []string{nr.falseDeaths, nr.aliveAgain, nr.allSeeAll} {
				if fig == "" {
					row = append(row, "—")
					continue
				}
				s, err := g.figure(nr.scenario, fig)
				if err != nil {
					return "", err
				}
				row = append(row, withTarget(s))
			}
			s, err := g.figure(nr.scenario, nr.other)
			if err != nil {
				return "", err
			}
			row = append(row, nr.other+": "+withTarget(s), checksCell(g, nr.scenario))
			rows = append(rows, row)
		}
		b.WriteString(g.caption() + "\n\n")
		table(&b, []string{"fault", "false deaths of live reachable nodes", "alive-again events", "time until all see all", "other", "checks"}, rows)
	}
	return b.String(), nil
}

// withTarget formats a figure's value followed by its target, if any.
func withTarget(s stat) string {
	if t := s.targetText(); t != "" {
		return s.value() + " (" + t + ")"
	}
	return s.value()
}

// checksCell says whether a scenario's checks passed in every run, or
// which failed.
func checksCell(g *group, scenario string) string {
	var failed []string
	for _, r := range g.results(scenario) {
		if r.Err != "" {
			failed = append(failed, "stopped: "+r.Err)
		}
		for _, c := range r.Checks {
			if !c.OK && !slices.Contains(failed, c.Name) {
				failed = append(failed, c.Name)
			}
		}
	}
	if len(failed) == 0 {
		return "pass"
	}
	return "**FAIL**: " + strings.Join(failed, "; ")
}

// renderUDPBootstrap renders the bootstrap of 10,000 nodes on real UDP,
// every figure it reports, when its results are there.
func renderUDPBootstrap(src *sources) (string, error) {
	if _, ok := src.groups[resultsUDPBootstrap10k]; !ok {
		return notMeasured + ": the bootstrap of 10,000 nodes on real UDP (its results go to " + src.dir + "/" + resultsUDPBootstrap10k + "/).\n", nil
	}
	return allFigures(src, resultsUDPBootstrap10k)
}

// renderEach renders the named results one after another, every figure
// of each.
func renderEach(names ...string) func(*sources) (string, error) {
	return func(src *sources) (string, error) {
		var b strings.Builder
		for k, name := range names {
			if k > 0 {
				b.WriteString("\n")
			}
			if _, ok := src.groups[name]; !ok {
				b.WriteString(absent(src, name))
				continue
			}
			s, err := allFigures(src, name)
			if err != nil {
				return "", err
			}
			b.WriteString(s)
		}
		return b.String(), nil
	}
}

// allFigures renders every figure of the named results, scenario by
// scenario, with the caption and checks.
func allFigures(src *sources, name string) (string, error) {
	g := src.groups[name]
	var rows [][]string
	var scenarios []string
	for _, r := range g.runs {
		for _, res := range r.rep.Results {
			if !slices.Contains(scenarios, res.Scenario) {
				scenarios = append(scenarios, res.Scenario)
			}
		}
	}
	for _, sc := range scenarios {
		var names []string
		for _, res := range g.results(sc) {
			for _, f := range res.Figures {
				if !slices.Contains(names, f.Name) {
					names = append(names, f.Name)
				}
			}
		}
		label := ""
		for k, name := range names {
			s, err := g.figure(sc, name)
			if err != nil {
				return "", err
			}
			if k == 0 {
				label = scenarioLabel(s, sc)
			}
			rows = append(rows, []string{label, name, s.value(), s.targetText(), s.refText()})
			label = ""
		}
	}
	var b bytes.Buffer
	b.WriteString(g.caption() + " " + g.checks(nil) + "\n\n")
	table(&b, []string{"scenario", "figure", "value", "target", "reference"}, rows)
	return b.String(), nil
}
