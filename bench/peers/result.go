package peers

import (
	"encoding/json"
	"io"
	"math"
	"slices"
	"strings"
)

// RunResult is what one run of Run measured: one engine, one set of
// settings, one N, one repetition.
type RunResult struct {
	Engine   string   `json:"engine"`
	Label    string   `json:"label"`
	N        int      `json:"n"`
	Rep      int      `json:"rep"`
	Settings []Param  `json:"settings"`
	Figures  []Figure `json:"figures"`
	// ByType is what the nodes sent by message type during the steady
	// window, which lasted ByTypeSeconds (totals over all nodes).
	ByType        map[string]Count `json:"by_type,omitempty"`
	ByTypeSeconds float64          `json:"by_type_s,omitempty"`
	Notes         []string         `json:"notes,omitempty"`
	Wall          float64          `json:"wall_s"`
	Err           string           `json:"error,omitempty"`
}

// Figure is one measured number of a scenario.
type Figure struct {
	Scenario string  `json:"scenario"`
	Name     string  `json:"name"`
	Unit     string  `json:"unit,omitempty"`
	Value    float64 `json:"value"`
	// Missing is set when the value was not reached (a time beyond the
	// bound); Value is then meaningless.
	Missing bool `json:"missing,omitempty"`
}

func (r *RunResult) add(scenario, name, unit string, v float64, missing bool) {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		v, missing = 0, true
	}
	r.Figures = append(r.Figures, Figure{Scenario: scenario, Name: name, Unit: unit, Value: v, Missing: missing})
}

// Figure returns the figure scenario.name and whether it was measured.
func (r *RunResult) Figure(scenario, name string) (float64, bool) {
	for _, f := range r.Figures {
		if f.Scenario == scenario && f.Name == name {
			return f.Value, !f.Missing
		}
	}
	return 0, false
}

// Stat summarizes one figure over repeated runs: the median of the runs
// that measured it, and how many did not.
type Stat struct {
	Median  float64   `json:"median"`
	Values  []float64 `json:"values"`
	Missing int       `json:"missing,omitempty"` // runs where it was not reached
}

// Valid reports whether the median exists and no run missed the value.
func (s *Stat) Valid() bool { return s != nil && len(s.Values) > 0 && s.Missing == 0 }

// median returns the median of v (the mean of the middle two for an even
// count).
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

// stat gathers scenario.name over runs.
func stat(runs []RunResult, scenario, name string) *Stat {
	s := &Stat{}
	found := false
	for i := range runs {
		for _, f := range runs[i].Figures {
			if f.Scenario != scenario || f.Name != name {
				continue
			}
			found = true
			if f.Missing {
				s.Missing++
			} else {
				s.Values = append(s.Values, f.Value)
			}
		}
	}
	if !found {
		return nil
	}
	s.Median = median(s.Values)
	if len(s.Values) == 0 {
		s.Median = 0
	}
	return s
}

// Row compares one figure of both engines at one N: medians over the
// repetitions and their ratio, Hearsay / memberlist.
type Row struct {
	N          int      `json:"n"`
	Scenario   string   `json:"scenario"`
	Name       string   `json:"name"`
	Unit       string   `json:"unit,omitempty"`
	Hearsay    *Stat    `json:"hearsay,omitempty"`
	Memberlist *Stat    `json:"memberlist,omitempty"`
	Ratio      *float64 `json:"ratio,omitempty"`
}

// Summarize compares the runs of the two engines, at every N, figure by
// figure, in the order the figures were first recorded.
func Summarize(runs []RunResult) []Row {
	type key struct {
		n              int
		scenario, name string
	}
	var order []key
	units := map[key]string{}
	byEngine := map[string]map[int][]RunResult{}
	for _, r := range runs {
		if byEngine[r.Engine] == nil {
			byEngine[r.Engine] = map[int][]RunResult{}
		}
		byEngine[r.Engine][r.N] = append(byEngine[r.Engine][r.N], r)
		for _, f := range r.Figures {
			k := key{r.N, f.Scenario, f.Name}
			if _, ok := units[k]; !ok {
				order = append(order, k)
				units[k] = f.Unit
			}
		}
	}
	slices.SortStableFunc(order, func(a, b key) int { return a.n - b.n })
	rows := make([]Row, 0, len(order))
	for _, k := range order {
		row := Row{N: k.n, Scenario: k.scenario, Name: k.name, Unit: units[k]}
		row.Hearsay = stat(byEngine["hearsay"][k.n], k.scenario, k.name)
		row.Memberlist = stat(byEngine["memberlist"][k.n], k.scenario, k.name)
		if row.Hearsay.Valid() && row.Memberlist.Valid() && row.Memberlist.Median != 0 && row.Unit != "bool" {
			v := row.Hearsay.Median / row.Memberlist.Median
			row.Ratio = &v
		}
		rows = append(rows, row)
	}
	return rows
}

// Report is everything a peerbench invocation measured, with where and how
// it ran.
type Report struct {
	Meta    Meta          `json:"meta"`
	Runs    []RunResult   `json:"runs"`
	Summary []Row         `json:"summary"`
	Sweep   []SweepPoint  `json:"sweep,omitempty"`
	Bytes   []ByTypeRow   `json:"bytes_by_type,omitempty"`
	Targets []TargetCheck `json:"targets,omitempty"`
}

// Meta says where, when and how a report was made.
type Meta struct {
	Machine    string   `json:"machine"`
	CPUs       int      `json:"cpus"`
	GOMAXPROCS int      `json:"gomaxprocs"`
	Kernel     string   `json:"kernel"`
	GoVersion  string   `json:"go_version"`
	Commit     string   `json:"commit"`
	Command    string   `json:"command"`
	Started    string   `json:"started"`
	Wall       float64  `json:"wall_s"`
	Reps       int      `json:"reps"`
	Engines    []string `json:"engines"`
	Options    string   `json:"options"`
	Notes      []string `json:"notes,omitempty"`
}

// WriteJSON writes the report as indented JSON.
func (rep *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(rep)
}

// ReadReport reads a report written by WriteJSON.
func ReadReport(r io.Reader) (*Report, error) {
	var rep Report
	if err := json.NewDecoder(r).Decode(&rep); err != nil {
		return nil, err
	}
	return &rep, nil
}

// ByTypeRow is where one engine's steady-state bytes go at one N: the
// median over repetitions of the bytes per node per second of each message
// type, and its share of the total.
type ByTypeRow struct {
	Engine string           `json:"engine"`
	N      int              `json:"n"`
	Types  []ByTypeFraction `json:"types"`
}

// ByTypeFraction is one message type's part of the steady-state traffic.
type ByTypeFraction struct {
	Type              string  `json:"type"`
	BytesPerNodeS     float64 `json:"bytes_per_node_s"`
	DatagramsPerNodeS float64 `json:"datagrams_per_node_s"`
	Share             float64 `json:"share"` // of the bytes
}

// ByTypes computes the breakdown of the steady windows of runs.
func ByTypes(runs []RunResult) []ByTypeRow {
	type key struct {
		engine string
		n      int
	}
	group := map[key][]RunResult{}
	var keys []key
	for _, r := range runs {
		if r.ByType == nil || r.ByTypeSeconds == 0 {
			continue
		}
		k := key{r.Engine, r.N}
		if group[k] == nil {
			keys = append(keys, k)
		}
		group[k] = append(group[k], r)
	}
	slices.SortFunc(keys, func(a, b key) int {
		if c := strings.Compare(a.engine, b.engine); c != 0 {
			return c
		}
		return a.n - b.n
	})
	var out []ByTypeRow
	for _, k := range keys {
		types := map[string]bool{}
		for _, r := range group[k] {
			for t := range r.ByType {
				types[t] = true
			}
		}
		row := ByTypeRow{Engine: k.engine, N: k.n}
		total := 0.0
		for t := range types {
			var b, d []float64
			for _, r := range group[k] {
				c := r.ByType[t]
				b = append(b, float64(c.Bytes)/float64(r.N)/r.ByTypeSeconds)
				d = append(d, float64(c.Datagrams)/float64(r.N)/r.ByTypeSeconds)
			}
			f := ByTypeFraction{Type: t, BytesPerNodeS: median(b), DatagramsPerNodeS: median(d)}
			if f.DatagramsPerNodeS == 0 {
				continue // sent before the window (a join), not in it
			}
			total += f.BytesPerNodeS
			row.Types = append(row.Types, f)
		}
		for i := range row.Types {
			if total > 0 {
				row.Types[i].Share = row.Types[i].BytesPerNodeS / total
			}
		}
		slices.SortFunc(row.Types, func(a, b ByTypeFraction) int {
			switch {
			case a.BytesPerNodeS > b.BytesPerNodeS:
				return -1
			case a.BytesPerNodeS < b.BytesPerNodeS:
				return 1
			}
			return strings.Compare(a.Type, b.Type)
		})
		out = append(out, row)
	}
	return out
}
