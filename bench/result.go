package bench

import (
	"fmt"
	"math"
	"strconv"
	"time"
)

// Result is what one scenario run measured: named figures, each with its
// unit, target and theoretical reference; outcome checks; plots; and how the
// run was set up.
type Result struct {
	Scenario string  `json:"scenario"`
	Title    string  `json:"title"`
	Mode     string  `json:"mode"` // the driver: "sim" or "udp"
	N        int     `json:"n"`
	Seed     uint64  `json:"seed"`
	Preset   string  `json:"preset"`
	Loss     float64 `json:"loss"`
	// Params holds the scenario's own settings (crash count, spacing...),
	// as text, in the order they were set.
	Params []Param `json:"params"`

	Figures []Figure `json:"figures"`
	Checks  []Check  `json:"checks"`
	Plots   []Plot   `json:"plots,omitempty"`
	Notes   []string `json:"notes,omitempty"`

	// Simulated is the cluster time the scenario ran (virtual in the
	// simulator, real over UDP); Wall the wall-clock time it took.
	Simulated Seconds `json:"simulated_s"`
	Wall      Seconds `json:"wall_s"`
	// CPU is the CPU time the process used during the run (user and
	// system), which on a shared machine says more than Wall.
	CPU Seconds `json:"cpu_s"`
	// Err is set when the scenario stopped early (cancelled, or the driver
	// failed); the figures measured so far are kept.
	Err string `json:"error,omitempty"`
}

// Seconds is a duration that marshals to JSON as seconds.
type Seconds float64

// Sec converts a duration.
func Sec(d time.Duration) Seconds { return Seconds(d.Seconds()) }

// Param is one scenario setting.
type Param struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// Figure is one measured number.
type Figure struct {
	Name  string  `json:"name"`
	Value float64 `json:"value"`
	Unit  string  `json:"unit"`
	// Target is the goal this number must meet, if any.
	Target *Target `json:"target,omitempty"`
	// Ref is a theoretical or historical reference to read the number
	// against, if any; it is not a goal.
	Ref *Reference `json:"reference,omitempty"`
	// Met is set when there is a target: whether Value meets it.
	Met *bool `json:"met,omitempty"`
	// Missing is set in JSON output when the value could not be measured
	// (a time never reached); Value is then 0.
	Missing bool `json:"missing,omitempty"`
}

// Target is a goal: Value compared with Op, one of "<=", ">=", "==", "<",
// ">".
type Target struct {
	Op    string  `json:"op"`
	Value float64 `json:"value"`
	// Source says where the goal comes from, e.g. "design target".
	Source string `json:"source,omitempty"`
}

// Meets reports whether v meets the target. NaN meets nothing, nor does
// any value a target with an unknown Op (read from a file).
func (t *Target) Meets(v float64) bool {
	if math.IsNaN(v) {
		return false
	}
	switch t.Op {
	case "<=":
		return v <= t.Value
	case ">=":
		return v >= t.Value
	case "==":
		return v == t.Value
	case "<":
		return v < t.Value
	case ">":
		return v > t.Value
	}
	return false
}

// targetOps are the comparisons a Target may make, with their symbols.
var targetOps = map[string]string{"<=": "≤", ">=": "≥", "==": "=", "<": "<", ">": ">"}

// String formats the target like "≤ 5 s".
func (t *Target) String(unit string) string {
	op, ok := targetOps[t.Op]
	if !ok {
		op = t.Op
	}
	if unit == "s" && t.Value >= 1 {
		return op + " " + strconv.FormatFloat(t.Value, 'g', -1, 64) + " s"
	}
	return op + " " + FormatValue(t.Value, unit)
}

// Reference is a number to compare a figure with and what it is.
type Reference struct {
	Value float64 `json:"value"`
	Label string  `json:"label"`
}

// Check is an outcome the scenario asserts, such as "every crash was
// detected by every live node" or "no healthy node was declared dead".
type Check struct {
	Name   string `json:"name"`
	OK     bool   `json:"ok"`
	Detail string `json:"detail,omitempty"`
}

// Plot is a chart for the report: line series or a bar histogram.
type Plot struct {
	Title  string   `json:"title"`
	Kind   string   `json:"kind"` // "line", "step" or "bars"
	XLabel string   `json:"x_label"`
	YLabel string   `json:"y_label"`
	Series []Series `json:"series"`
	// Marks are vertical lines with a label (a target, a reference).
	Marks []Mark `json:"marks,omitempty"`
	// XFree lets the x axis start near the smallest value instead of at
	// zero (for values far from zero, such as bytes per second).
	XFree bool `json:"x_free,omitempty"`
}

// Series is one named line or bar set.
type Series struct {
	Name   string  `json:"name"`
	Points []Point `json:"points"`
}

// Point is one (x, y) pair.
type Point struct {
	X float64 `json:"x"`
	Y float64 `json:"y"`
}

// Mark is a labelled vertical line at X.
type Mark struct {
	X     float64 `json:"x"`
	Label string  `json:"label"`
}

// OK reports whether every check passed and every target was met.
func (r *Result) OK() bool {
	return r.ChecksOK() && r.TargetsMet()
}

// ChecksOK reports whether every outcome check passed and the run finished.
func (r *Result) ChecksOK() bool {
	if r.Err != "" {
		return false
	}
	for _, c := range r.Checks {
		if !c.OK {
			return false
		}
	}
	return true
}

// TargetsMet reports whether every figure with a target meets it.
func (r *Result) TargetsMet() bool {
	for _, f := range r.Figures {
		if f.Met != nil && !*f.Met {
			return false
		}
	}
	return true
}

// Figure returns the figure with the given name.
func (r *Result) Figure(name string) (Figure, bool) {
	for _, f := range r.Figures {
		if f.Name == name {
			return f, true
		}
	}
	return Figure{}, false
}

// param records a scenario setting.
func (r *Result) param(name string, v any) {
	var s string
	switch x := v.(type) {
	case time.Duration:
		s = x.String()
	case float64:
		s = fmt.Sprintf("%g", x)
	default:
		s = fmt.Sprint(v)
	}
	r.Params = append(r.Params, Param{name, s})
}

// FigureOption adds a target or a reference to a figure.
type FigureOption func(*Figure)

// Goal sets the figure's target.
func Goal(op string, v float64, source string) FigureOption {
	if _, ok := targetOps[op]; !ok {
		panic("bench: Goal: unknown comparison " + strconv.Quote(op))
	}
	return func(f *Figure) { f.Target = &Target{Op: op, Value: v, Source: source} }
}

// Ref sets the figure's reference.
func Ref(v float64, label string) FigureOption {
	return func(f *Figure) { f.Ref = &Reference{Value: v, Label: label} }
}

// add appends a figure.
func (r *Result) add(name string, v float64, unit string, opts ...FigureOption) {
	f := Figure{Name: name, Value: v, Unit: unit}
	for _, o := range opts {
		o(&f)
	}
	if f.Target != nil {
		met := f.Target.Meets(v)
		f.Met = &met
	}
	r.Figures = append(r.Figures, f)
}

// addDist appends the count, p50, p99 and max of h as four figures named
// "<name> p50" and so on; opts50 and opts99 apply to p50 and p99.
func (r *Result) addDist(name string, h *Histogram, unit string, opts50, opts99 []FigureOption) {
	r.add(name+" p50", h.P50(), unit, opts50...)
	r.add(name+" p99", h.P99(), unit, opts99...)
	r.add(name+" max", h.Max(), unit)
}

// check records an outcome.
func (r *Result) check(name string, ok bool, format string, args ...any) {
	r.Checks = append(r.Checks, Check{Name: name, OK: ok, Detail: fmt.Sprintf(format, args...)})
}

// note records a remark for the report.
func (r *Result) note(format string, args ...any) {
	r.Notes = append(r.Notes, fmt.Sprintf(format, args...))
}

// FormatValue formats v for its unit with about three significant digits:
// durations in seconds below one second as milliseconds, counts as
// integers, rates with SI prefixes.
func FormatValue(v float64, unit string) string {
	if math.IsNaN(v) {
		return "n/a"
	}
	if math.IsInf(v, 0) {
		return fmt.Sprintf("%v %s", v, unit)
	}
	switch unit {
	case "s":
		a := math.Abs(v)
		switch {
		case a == 0:
			return "0 s"
		case a < 1e-3:
			return trim(v*1e6) + " µs"
		case a < 1:
			return trim(v*1e3) + " ms"
		}
		return trim(v) + " s"
	case "count", "":
		if v == math.Trunc(v) && math.Abs(v) < 1e15 {
			return fmt.Sprintf("%d", int64(v))
		}
		return trim(v)
	case "%":
		return trim(v) + " %"
	}
	return trim(v) + " " + unit
}

// trim prints v with three significant digits (all the integer digits
// from 1,000 up), without an exponent for everyday magnitudes.
func trim(v float64) string {
	a := math.Abs(v)
	switch {
	case a == 0:
		return "0"
	case a >= 100:
		return fmt.Sprintf("%.0f", v)
	case a >= 10:
		return fmt.Sprintf("%.1f", v)
	case a >= 1:
		return fmt.Sprintf("%.2f", v)
	}
	return strconv.FormatFloat(v, 'g', 3, 64)
}

func isBad(v float64) bool { return math.IsNaN(v) || math.IsInf(v, 0) }
