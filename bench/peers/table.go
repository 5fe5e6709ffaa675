package peers

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

// WriteText writes the report as plain-text tables: the run's setting,
// then per N every figure of both engines (medians over repetitions, with
// the number of runs that missed the value) and the ratio Hearsay /
// memberlist; the trade-off points; where the steady-state bytes go; and
// the targets.
func (rep *Report) WriteText(w io.Writer) error {
	m := rep.Meta
	var b strings.Builder
	fmt.Fprintf(&b, "peerbench: Hearsay vs hashicorp/memberlist over real UDP on loopback, one process per engine run\n")
	fmt.Fprintf(&b, "machine:  %s, %d CPUs (GOMAXPROCS %d), Linux %s\n", m.Machine, m.CPUs, m.GOMAXPROCS, m.Kernel)
	fmt.Fprintf(&b, "go:       %s\ncommit:   %s\ncommand:  %s\nstarted:  %s, took %.0f s\n", m.GoVersion, m.Commit, m.Command, m.Started, m.Wall)
	fmt.Fprintf(&b, "engines:  %s\nreps:     %d per (engine, N); figures are medians over them, [k missed] counts runs where a time was not reached within its bound\n", strings.Join(m.Engines, "; "), m.Reps)
	fmt.Fprintf(&b, "options:  %s\n", m.Options)
	for _, n := range m.Notes {
		fmt.Fprintf(&b, "note:     %s\n", n)
	}

	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', tabwriter.AlignRight)
	lastN := -1
	for _, r := range rep.Summary {
		if r.N != lastN {
			if lastN >= 0 {
				tw.Flush()
			}
			fmt.Fprintf(&b, "\n== N = %d ==\n", r.N)
			fmt.Fprintf(tw, "figure\tunit\thearsay\tmemberlist\thearsay/memberlist\t\n")
			lastN = r.N
		}
		ratio := "-"
		if r.Ratio != nil {
			ratio = fmt.Sprintf("%.3g", *r.Ratio)
		}
		fmt.Fprintf(tw, "%s.%s\t%s\t%s\t%s\t%s\t\n", r.Scenario, r.Name, r.Unit, fmtStat(r.Hearsay), fmtStat(r.Memberlist), ratio)
	}
	tw.Flush()

	if len(rep.Sweep) > 0 {
		fmt.Fprintf(&b, "\n== trade-off: steady bytes per node per second vs crash known by all (medians) ==\n")
		fmt.Fprintf(tw, "engine\tpoint\tN\tB/node/s\tall know (s)\tp50 (s)\tCPU ms/node/s\truns\tsettings\n")
		for _, p := range rep.Sweep {
			var set []string
			for _, s := range p.Settings {
				set = append(set, s.Name+"="+s.Value)
			}
			fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\t%s\t%s\t%d\t%s\n", p.Engine, p.Label, p.N, fmtStat(p.Bytes), fmtStat(p.AllKnow), fmtStat(p.P50), fmtStat(p.CPU), p.Runs, strings.Join(set, " "))
		}
		tw.Flush()
	}

	if len(rep.Bytes) > 0 {
		fmt.Fprintf(&b, "\n== where the steady-state bytes go (UDP, per node per second, medians) ==\n")
		for _, row := range rep.Bytes {
			fmt.Fprintf(&b, "%s, N = %d:\n", row.Engine, row.N)
			fmt.Fprintf(tw, "  type\tB/node/s\tdatagrams/node/s\tshare\t\n")
			for _, t := range row.Types {
				fmt.Fprintf(tw, "  %s\t%.1f\t%.2f\t%.1f%%\t\n", t.Type, t.BytesPerNodeS, t.DatagramsPerNodeS, 100*t.Share)
			}
			tw.Flush()
		}
	}

	if len(rep.Targets) > 0 {
		fmt.Fprintf(&b, "\n== the issue's targets for Hearsay ==\n")
		for _, t := range rep.Targets {
			verdict := "not comparable"
			if t.Met != nil {
				verdict = "NOT MET"
				if *t.Met {
					verdict = "met"
				}
				verdict = fmt.Sprintf("%s (%.3g; want %s)", verdict, t.Value, t.Want)
			}
			fmt.Fprintf(&b, "- %s, at %s: %s: %s\n", t.Target, t.At, verdict, t.Detail)
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func fmtStat(s *Stat) string {
	if s == nil {
		return "-"
	}
	if len(s.Values) == 0 {
		return fmt.Sprintf("never [%d missed]", s.Missing)
	}
	v := fmt.Sprintf("%.4g", s.Median)
	if s.Missing > 0 {
		v += fmt.Sprintf(" [%d missed]", s.Missing)
	}
	return v
}
