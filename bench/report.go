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
// scenario's result. A report saved under bench/results is the source of
// the figures README quotes, so it carries what is needed to judge and
// repeat them: the command line, the commit and whether the tree differed
// from it, the machine and its load, and what the run cost.
type Report struct {
	Tool string `json:"tool"`
	// Command is the command line, its arguments quoted for a POSIX shell
	// where they need it; Args holds them exactly.
	Command string   `json:"command"`
	Args    []string `json:"args,omitempty"`
	Mode    string   `json:"mode"`
	// Source is the commit the run was built from, when known.
	Source *Source `json:"source,omitempty"`
	// Env holds the environment variables that change how Go runs the
	// process (GOMAXPROCS, GOMEMLIMIT, GOGC, GODEBUG), where set.
	Env      map[string]string `json:"env,omitempty"`
	Started  time.Time         `json:"started"`
	Finished time.Time         `json:"finished,omitzero"`
	Wall     Seconds           `json:"wall_s"`
	// Usage is what the whole process used, up to Finished (or to the
	// last scenario written).
	Usage   *Usage    `json:"usage,omitempty"`
	Machine Machine   `json:"machine"`
	Results []*Result `json:"results"`
}

// Source identifies the code a run was built from.
type Source struct {
	// Commit is the full hash of the commit checked out.
	Commit string `json:"commit"`
	// Dirty is set when the working tree differed from Commit: tracked
	// files modified, or untracked files present. Modified lists them
	// (at most 50; More counts the rest).
	Dirty    bool     `json:"dirty"`
	Modified []string `json:"modified,omitempty"`
	More     int      `json:"more_modified,omitempty"`
}

// Short returns the first seven hex digits of the commit, followed by
// "+dirty" when the tree differed from it.
func (s *Source) Short() string {
	if s == nil || s.Commit == "" {
		return "unknown commit"
	}
	c := s.Commit
	if len(c) > 7 {
		c = c[:7]
	}
	if s.Dirty {
		c += "+dirty"
	}
	return c
}

// Usage is the resources a process used.
type Usage struct {
	// UserCPU and SystemCPU are the process's CPU time in user and kernel
	// mode.
	UserCPU   Seconds `json:"user_cpu_s"`
	SystemCPU Seconds `json:"system_cpu_s"`
	// PeakRSS is the largest resident set the process had, in bytes.
	PeakRSS int64 `json:"peak_rss_bytes"`
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
	// LoadEnd is the same when the run ended.
	Load    string `json:"load,omitempty"`
	LoadEnd string `json:"load_end,omitempty"`
	// GOMAXPROCS is the number of threads the run's Go code could use at
	// once; Kernel the operating system's release, where reported.
	GOMAXPROCS int    `json:"gomaxprocs,omitempty"`
	Kernel     string `json:"kernel,omitempty"`
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
	m.Load = LoadAverage()
	m.GOMAXPROCS = runtime.GOMAXPROCS(0)
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.Kernel = strings.TrimSpace(string(b))
	}
	return m
}

// LoadAverage returns the 1-minute load average as the system reports it,
// or "" where it does not (it reads /proc/loadavg).
func LoadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return ""
	}
	if f := strings.Fields(string(b)); len(f) > 0 {
		return f[0]
	}
	return ""
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
	if m.LoadEnd != "" {
		s += ", " + m.LoadEnd + " at end"
	}
	return s
}

// ReadReport reads a report written by WriteJSON.
func ReadReport(r io.Reader) (*Report, error) {
	var rep Report
	dec := json.NewDecoder(r)
	if err := dec.Decode(&rep); err != nil {
		return nil, err
	}
	return &rep, nil
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
