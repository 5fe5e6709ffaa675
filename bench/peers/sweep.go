package peers

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/hashicorp/memberlist"
	"github.com/hearsay-io/hearsay/detector"
	"github.com/hearsay-io/hearsay/engine"
)

// The trade-off curve: each engine at a few timing settings, from slower
// and cheaper to faster and dearer, each point measured at one N by a
// burst-formed cluster, a steady window (bytes per node per second) and a
// crash (time until every survivor knows). Both presets of each engine are
// points of its curve.

// HearsaySweep returns Hearsay's points: the heartbeat interval scaled
// from 2 s to 250 ms with its probe and suspicion timeouts, plus K = 2 and
// K = 5 observers at the LAN period.
func HearsaySweep() []Engine {
	scaled := func(label string, hb time.Duration) Engine {
		return HearsayEngine{Preset: label, Config: func() engine.Config {
			c := engine.DefaultLANConfig()
			f := float64(hb) / float64(c.HeartbeatInterval)
			sc := func(d time.Duration) time.Duration { return time.Duration(float64(d) * f) }
			c.HeartbeatInterval = hb
			c.Phi = detector.PhiConfig{Threshold: c.Phi.Threshold, Window: c.Phi.Window, MinStdDev: sc(c.Phi.MinStdDev), FirstInterval: hb}
			c.ProbeTimeout = sc(c.ProbeTimeout)
			c.IndirectTimeout = sc(c.IndirectTimeout)
			c.Suspicion.MinBase = sc(c.Suspicion.MinBase)
			c.GossipInterval = sc(c.GossipInterval)
			return c
		}}
	}
	observers := func(label string, k int) Engine {
		return HearsayEngine{Preset: label, Config: func() engine.Config {
			c := engine.DefaultLANConfig()
			c.Observers = k
			c.Suspicion.Expected = max(k-1, 1)
			return c
		}}
	}
	return []Engine{
		scaled("hb2s", 2*time.Second),
		HearsayLAN(),
		observers("lan-k2", 2),
		observers("lan-k5", 5),
		scaled("hb500ms", 500*time.Millisecond),
		HearsayLocal(),
	}
}

// MemberlistSweep returns memberlist's points: the probe interval scaled
// from 2 s to 250 ms with its probe timeout and gossip interval, plus the
// local preset and LAN and 500 ms variants with SuspicionMult 2.
func MemberlistSweep() []Engine {
	scaled := func(label string, probe time.Duration) Engine {
		return MemberlistEngine{Preset: label, Config: func() *memberlist.Config {
			c := memberlist.DefaultLANConfig()
			f := float64(probe) / float64(c.ProbeInterval)
			sc := func(d time.Duration) time.Duration { return time.Duration(float64(d) * f) }
			c.ProbeInterval = probe
			c.ProbeTimeout = sc(c.ProbeTimeout)
			c.GossipInterval = sc(c.GossipInterval)
			return c
		}}
	}
	return []Engine{
		scaled("probe2s", 2*time.Second),
		MemberlistLAN(),
		MemberlistEngine{Preset: "lan-susp2", Config: func() *memberlist.Config {
			c := memberlist.DefaultLANConfig()
			c.SuspicionMult = 2
			return c
		}},
		MemberlistLocal(),
		scaled("probe500ms", 500*time.Millisecond),
		MemberlistEngine{Preset: "probe500ms-susp2", Config: func() *memberlist.Config {
			c := scaled("", 500*time.Millisecond).(MemberlistEngine).Config()
			c.SuspicionMult = 2
			return c
		}},
		scaled("probe350ms", 350*time.Millisecond),
		scaled("probe250ms", 250*time.Millisecond),
	}
}

// SweepPoint is one engine's settings on the trade-off curve: medians over
// repetitions of its steady bytes per node per second and its crash
// detection.
type SweepPoint struct {
	Engine   string  `json:"engine"`
	Label    string  `json:"label"`
	N        int     `json:"n"`
	Settings []Param `json:"settings"`
	Bytes    *Stat   `json:"bytes_per_node_s"`
	AllKnow  *Stat   `json:"all_know_s"`
	P50      *Stat   `json:"p50_s"`
	CPU      *Stat   `json:"cpu_ms_per_node_s"`
	Runs     int     `json:"runs"`
}

// SweepOptions are the options of a sweep run: a steady window and one
// crash, on a cluster formed by a burst join, or by paced joins when
// o.Scenarios holds "join".
func SweepOptions(o Options) Options {
	s := []string{"steady", "crash"}
	if o.has("join") {
		s = append(s, "join")
	}
	o.Scenarios = s
	return o
}

// RunSweepPoint runs one point reps times and summarizes it; the runs are
// returned too.
func RunSweepPoint(ctx context.Context, e Engine, o Options, reps int) (SweepPoint, []RunResult) {
	var runs []RunResult
	for rep := range reps {
		r := Run(ctx, e, SweepOptions(o))
		r.Rep = rep
		runs = append(runs, r)
		if ctx.Err() != nil {
			break
		}
	}
	return Point(runs), runs
}

// Point summarizes the runs of one sweep point.
func Point(runs []RunResult) SweepPoint {
	if len(runs) == 0 {
		return SweepPoint{}
	}
	return SweepPoint{
		Engine: runs[0].Engine, Label: runs[0].Label, N: runs[0].N, Settings: runs[0].Settings,
		Bytes:   stat(runs, "steady", "bytes_per_node_s"),
		AllKnow: stat(runs, "crash", "all_know_s"),
		P50:     stat(runs, "crash", "p50_s"),
		CPU:     stat(runs, "steady", "cpu_ms_per_node_s"),
		Runs:    len(runs),
	}
}

// TargetCheck is one of the targets for Hearsay, evaluated on the
// figures: whether it is met, and how.
type TargetCheck struct {
	Target string  `json:"target"`
	At     string  `json:"at"`
	Value  float64 `json:"value"` // the ratio that decides it
	Want   string  `json:"want"`
	Met    *bool   `json:"met,omitempty"` // nil: not comparable
	Detail string  `json:"detail"`
}

// CheckTargets evaluates the targets: on the trade-off curve (at
// equal bytes per node per second, every survivor knows of a crash at
// least 2× sooner; at equal detection time, at most half the bytes) by
// linear interpolation on memberlist's curve at each Hearsay point inside
// its range (its frontier: points no other of its points beats on both
// counts), naming the memberlist points that beat a Hearsay point on both;
// and on the steady rows of the summary (CPU per node at most
// half; heap per node no larger).
func CheckTargets(sweep []SweepPoint, summary []Row) []TargetCheck {
	var out []TargetCheck
	type pt struct {
		bytes, secs float64
		label       string
	}
	var hs, ms []pt
	for _, p := range sweep {
		if !p.Bytes.Valid() || !p.AllKnow.Valid() {
			continue
		}
		q := pt{p.Bytes.Median, p.AllKnow.Median, p.Label}
		if p.Engine == "hearsay" {
			hs = append(hs, q)
		} else {
			ms = append(ms, q)
		}
	}
	interp := func(pts []pt, x func(pt) float64, y func(pt) float64, at float64) (float64, string, bool) {
		s := slices.Clone(pts)
		slices.SortFunc(s, func(a, b pt) int {
			switch {
			case x(a) < x(b):
				return -1
			case x(a) > x(b):
				return 1
			}
			return 0
		})
		if len(s) == 0 || at < x(s[0]) || at > x(s[len(s)-1]) {
			return 0, "", false
		}
		for i := 1; i < len(s); i++ {
			if at <= x(s[i]) {
				x0, x1 := x(s[i-1]), x(s[i])
				between := fmt.Sprintf("between memberlist %s and %s", s[i-1].label, s[i].label)
				if x0 > 0 && x1/x0 > 4 {
					between += fmt.Sprintf("; weak: those points are %.0fx apart, with nothing measured between", x1/x0)
				}
				if x1 == x0 {
					return y(s[i]), between, true
				}
				return y(s[i-1]) + (y(s[i])-y(s[i-1]))*(at-x0)/(x1-x0), between, true
			}
		}
		return y(s[0]), "at memberlist " + s[0].label, true
	}
	// Compare with memberlist's frontier only: a point that another beats
	// on both bytes and time is a setting nobody would choose (the fast
	// settings that overload this machine), and interpolating towards it
	// would flatter Hearsay.
	// beats reports whether a is no worse than b on both counts and
	// better on one, within 1 % (medians of equal settings differ by
	// noise).
	beats := func(a, b pt) bool {
		const tol = 0.01
		return a.bytes <= b.bytes*(1+tol) && a.secs <= b.secs*(1+tol) &&
			(a.bytes < b.bytes*(1-tol) || a.secs < b.secs*(1-tol))
	}
	var frontier []pt
	for _, m := range ms {
		dominated := false
		for _, q := range ms {
			if beats(q, m) {
				dominated = true
				break
			}
		}
		if !dominated {
			frontier = append(frontier, m)
		}
	}
	dominators := func(h pt) string {
		var by []string
		for _, m := range ms {
			if beats(m, h) {
				by = append(by, fmt.Sprintf("%s (%.0f B/node/s, %.2f s)", m.label, m.bytes, m.secs))
			}
		}
		if len(by) == 0 {
			return ""
		}
		return "; memberlist does better on both counts at " + strings.Join(by, ", ")
	}
	ms = frontier
	bytesOf := func(p pt) float64 { return p.bytes }
	secsOf := func(p pt) float64 { return p.secs }
	for _, h := range hs {
		tc := TargetCheck{Target: "equal bytes: crash known by all at least 2x sooner", At: h.label, Want: "memberlist time / hearsay time >= 2"}
		if m, between, ok := interp(ms, bytesOf, secsOf, h.bytes); ok {
			tc.Value = m / h.secs
			met := tc.Value >= 2
			tc.Met = &met
			tc.Detail = fmt.Sprintf("at %.0f B/node/s: hearsay %.2f s, memberlist %.2f s (interpolated %s)", h.bytes, h.secs, m, between)
		} else {
			tc.Detail = fmt.Sprintf("hearsay's %.0f B/node/s is outside the bytes of memberlist's frontier", h.bytes)
		}
		tc.Detail += dominators(h)
		out = append(out, tc)
	}
	for _, h := range hs {
		tc := TargetCheck{Target: "equal detection time: at most half the bytes", At: h.label, Want: "hearsay bytes / memberlist bytes <= 0.5"}
		if m, between, ok := interp(ms, secsOf, bytesOf, h.secs); ok && m > 0 {
			tc.Value = h.bytes / m
			met := tc.Value <= 0.5
			tc.Met = &met
			tc.Detail = fmt.Sprintf("at %.2f s: hearsay %.0f B/node/s, memberlist %.0f B/node/s (interpolated %s)", h.secs, h.bytes, m, between)
		} else {
			tc.Detail = fmt.Sprintf("hearsay's %.2f s is outside memberlist's measured range of detection times", h.secs)
			fastest := pt{secs: math.Inf(1)}
			for _, m := range ms {
				if m.secs < fastest.secs {
					fastest = m
				}
			}
			if h.secs < fastest.secs {
				tc.Detail += fmt.Sprintf(": faster than every memberlist point; memberlist's fastest, %s, took %.2f s at %.0f B/node/s (%.2gx hearsay's bytes)", fastest.label, fastest.secs, fastest.bytes, fastest.bytes/h.bytes)
			}
		}
		tc.Detail += dominators(h)
		out = append(out, tc)
	}
	for _, r := range summary {
		if r.Scenario != "steady" || r.Ratio == nil {
			continue
		}
		var tc TargetCheck
		switch r.Name {
		case "cpu_ms_per_node_s":
			tc = TargetCheck{Target: "CPU per node at most half", Want: "ratio <= 0.5"}
			met := *r.Ratio <= 0.5
			tc.Met = &met
		case "heap_kib_per_node":
			tc = TargetCheck{Target: "heap per node no larger", Want: "ratio <= 1"}
			met := *r.Ratio <= 1
			tc.Met = &met
		default:
			continue
		}
		tc.At = fmt.Sprintf("N=%d (steady, lan presets)", r.N)
		tc.Value = *r.Ratio
		tc.Detail = fmt.Sprintf("hearsay %.3g, memberlist %.3g %s", r.Hearsay.Median, r.Memberlist.Median, r.Unit)
		out = append(out, tc)
	}
	return out
}
