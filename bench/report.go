package bench

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"runtime"
	"strings"
	"text/tabwriter"
	"time"
)

// Report is a whole gossipbench run: where and how it ran, and every
// scenario's result.
type Report struct {
	Tool    string    `json:"tool"`
	Command string    `json:"command"`
	Mode    string    `json:"mode"`
	Started time.Time `json:"started"`
	Wall    Seconds   `json:"wall_s"`
	Machine Machine   `json:"machine"`
	Results []*Result `json:"results"`
}

// Machine describes the computer a report comes from.
type Machine struct {
	OS        string `json:"os"`
	Arch      string `json:"arch"`
	CPU       string `json:"cpu,omitempty"`
	CPUs      int    `json:"cpus"`
	GoVersion string `json:"go"`
	// Load is the 1-minute load average when the run started, where the
	// system reports it: results from a loaded machine read accordingly.
	Load string `json:"load,omitempty"`
}

// ThisMachine describes the computer the process runs on.
func ThisMachine() Machine {
	m := Machine{OS: runtime.GOOS, Arch: runtime.GOARCH, CPUs: runtime.NumCPU(), GoVersion: runtime.Version()}
	if f, err := os.Open("/proc/cpuinfo"); err == nil {
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if k, v, ok := strings.Cut(sc.Text(), ":"); ok && strings.TrimSpace(k) == "model name" {
				m.CPU = strings.TrimSpace(v)
				break
			}
		}
		f.Close()
	}
	if b, err := os.ReadFile("/proc/loadavg"); err == nil {
		if f := strings.Fields(string(b)); len(f) > 0 {
			m.Load = f[0]
		}
	}
	return m
}

// String formats the machine on one line.
func (m Machine) String() string {
	s := fmt.Sprintf("%s/%s, %d CPUs", m.OS, m.Arch, m.CPUs)
	if m.CPU != "" {
		s += " (" + m.CPU + ")"
	}
	s += ", " + m.GoVersion
	if m.Load != "" {
		s += ", load " + m.Load + " at start"
	}
	return s
}

// WriteJSON writes the report as indented JSON. NaN figures (a time never
// reached) are written as null.
func (rep *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(rep.jsonSafe())
}

// jsonSafe returns a copy whose NaN and infinite values are replaced, as
// JSON has no representation for them: figures become null via Missing.
func (rep *Report) jsonSafe() *Report {
	out := *rep
	out.Results = make([]*Result, len(rep.Results))
	for k, r := range rep.Results {
		c := *r
		c.Figures = make([]Figure, len(r.Figures))
		for i, f := range r.Figures {
			if isBad(f.Value) {
				f.Value = 0
				f.Missing = true
			}
			if f.Ref != nil && isBad(f.Ref.Value) {
				f.Ref = nil
			}
			c.Figures[i] = f
		}
		c.Plots = make([]Plot, len(r.Plots))
		for i, p := range r.Plots {
			q := p
			q.Series = make([]Series, len(p.Series))
			for j, s := range p.Series {
				var pts []Point
				for _, pt := range s.Points {
					if !isBad(pt.X) && !isBad(pt.Y) {
						pts = append(pts, pt)
					}
				}
				q.Series[j] = Series{Name: s.Name, Points: pts}
			}
			c.Plots[i] = q
		}
		out.Results[k] = &c
	}
	return &out
}

// WriteText writes one result as a table: each figure beside its target
// (met or missed) and its reference, then the checks and notes.
func WriteText(w io.Writer, r *Result) error {
	bw := bufio.NewWriter(w)
	fmt.Fprintf(bw, "\n== %s (%s): %s, N=%d, seed %d, %s, loss %g%%  [%s simulated in %s, %s CPU]\n",
		r.Title, r.Scenario, r.Mode, r.N, r.Seed, r.Preset, r.Loss*100,
		FormatValue(float64(r.Simulated), "s"), FormatValue(float64(r.Wall), "s"), FormatValue(float64(r.CPU), "s"))
	if len(r.Params) > 0 {
		var ps []string
		for _, p := range r.Params {
			ps = append(ps, p.Name+" "+p.Value)
		}
		fmt.Fprintf(bw, "   %s\n", strings.Join(ps, ", "))
	}
	tw := tabwriter.NewWriter(bw, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "   figure\tvalue\ttarget\t\treference\n")
	for _, f := range r.Figures {
		target, status, ref := "", "", ""
		if f.Target != nil {
			target = f.Target.String(f.Unit)
			status = "ok"
			if f.Met != nil && !*f.Met {
				status = "MISSED"
			}
		}
		if f.Ref != nil {
			ref = FormatValue(f.Ref.Value, f.Unit) + "  " + f.Ref.Label
		}
		fmt.Fprintf(tw, "   %s\t%s\t%s\t%s\t%s\n", f.Name, FormatValue(f.Value, f.Unit), target, status, ref)
	}
	tw.Flush()
	for _, c := range r.Checks {
		mark := "PASS"
		if !c.OK {
			mark = "FAIL"
		}
		fmt.Fprintf(bw, "   %s  %s: %s\n", mark, c.Name, c.Detail)
	}
	for _, n := range r.Notes {
		fmt.Fprintf(bw, "   note: %s\n", n)
	}
	if r.Err != "" {
		fmt.Fprintf(bw, "   ERROR: %s\n", r.Err)
	}
	return bw.Flush()
}
