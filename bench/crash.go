package bench

import (
	"context"
	"fmt"
	"math"
	"time"

	"github.com/hearsay-io/hearsay/engine"
)

// CrashConfig configures RunCrash.
type CrashConfig struct {
	Options
	// Crashes is how many nodes are killed, one every Spacing; each stays
	// down. Default 24 (at least 20 are needed for a meaningful p99 over
	// crashes).
	Crashes int
	// Spacing is the time between two crashes. Detections overlap when it
	// is shorter than the detection time, as they do in a real incident.
	// Default 1 s.
	Spacing time.Duration
	// Warmup runs the converged cluster before the first crash, so that
	// observers' phi detectors have a history. Default 5 s.
	Warmup time.Duration
	// Options.Duration is the time left after the last crash for every
	// node to learn of it. Default 12 s.
}

// RunCrash measures failure detection: it kills nodes one at a time and
// records, for each, when some node first suspected it, when some node first
// declared it dead, and when every live node knew it dead; and it counts
// false deaths (any other node declared dead).
//
// Targets (at 1% loss and N = 10,000): every live node knows
// within 5 s median and 8 s p99 over the crashes.
func RunCrash(ctx context.Context, cfg CrashConfig) (*Result, error) {
	rn, err := newRun(ctx, cfg.Options, "crash", "Crash detection", 4)
	if err != nil {
		return nil, err
	}
	setDefault(&cfg.Crashes, 24)
	cfg.Crashes = min(cfg.Crashes, rn.o.N/2)
	setDefault(&cfg.Spacing, time.Second)
	setDefault(&cfg.Warmup, 5*time.Second)
	tail := rn.o.durationOr(12 * time.Second)
	r := rn.r
	r.param("crashes", cfg.Crashes)
	r.param("spacing", cfg.Spacing)
	r.param("warm-up", cfg.Warmup)
	r.param("tail", tail)
	rn.plan = cfg.Warmup + time.Duration(cfg.Crashes-1)*cfg.Spacing + tail

	ob := &crashObserver{rn: rn, victim: make(map[engine.ID]int)}
	if err := rn.build(StartConverged, rn.o.Loss, ob.onEvent); err != nil {
		return rn.finish(err)
	}
	err = ob.run(cfg, tail)
	ob.report(cfg)
	return rn.finish(err)
}

type crashRecord struct {
	node         int
	at           time.Duration // cluster time of the crash
	firstSuspect time.Duration // since the crash; −1 until seen
	firstDead    time.Duration
	know         []float32 // per node: seconds from crash to learning it dead; NaN before
}

type crashObserver struct {
	rn          *run
	victim      map[engine.ID]int // → index in crashes
	crashes     []*crashRecord
	falseDeaths int
	falseFirst  string
}

func (ob *crashObserver) onEvent(node int, e engine.Event) {
	if e.Type != engine.EventSuspect && e.Type != engine.EventDead && e.Type != engine.EventLeft {
		return
	}
	rn := ob.rn
	rn.mu.Lock()
	defer rn.mu.Unlock()
	t := rn.c.Elapsed(e.At)
	k, isVictim := ob.victim[e.Member.ID]
	var cr *crashRecord
	if isVictim {
		cr = ob.crashes[k]
		if t < cr.at {
			cr = nil // about the node before it crashed
		}
	}
	if cr == nil {
		if e.Type != engine.EventSuspect {
			ob.falseDeaths++
			if ob.falseFirst == "" {
				j, _ := rn.c.Index(e.Member.ID)
				ob.falseFirst = fmt.Sprintf("node %d declared node %d %v at %v", node, j, e.Type, t)
			}
		}
		return
	}
	since := t - cr.at
	if e.Type == engine.EventSuspect {
		if cr.firstSuspect < 0 {
			cr.firstSuspect = since
		}
		return
	}
	if cr.firstDead < 0 {
		cr.firstDead = since
	}
	if math.IsNaN(float64(cr.know[node])) {
		cr.know[node] = float32(since.Seconds())
	}
}

func (ob *crashObserver) run(cfg CrashConfig, tail time.Duration) error {
	rn := ob.rn
	rn.progress("warm-up")
	if err := rn.advance(cfg.Warmup); err != nil {
		return err
	}
	rng := rn.o.rng(0xc4a5)
	n := rn.c.Len()
	for k := 0; k < cfg.Crashes; k++ {
		v := rng.IntN(n)
		for !rn.c.Running(v) {
			v = rng.IntN(n)
		}
		know := make([]float32, n)
		for i := range know {
			know[i] = float32(math.NaN())
		}
		rn.mu.Lock()
		ob.victim[rn.c.ID(v)] = len(ob.crashes)
		ob.crashes = append(ob.crashes, &crashRecord{node: v, at: rn.c.Now(), firstSuspect: -1, firstDead: -1, know: know})
		rn.mu.Unlock()
		if err := rn.c.Crash(v); err != nil {
			return err
		}
		rn.progress(fmt.Sprintf("crash %d/%d", k+1, cfg.Crashes))
		if k < cfg.Crashes-1 {
			if err := rn.advance(cfg.Spacing); err != nil {
				return err
			}
		}
	}
	rn.progress("waiting for detection")
	return rn.advance(tail)
}

func (ob *crashObserver) report(cfg CrashConfig) {
	rn, r := ob.rn, ob.rn.r
	rn.mu.Lock()
	defer rn.mu.Unlock()
	if rn.c == nil {
		return
	}
	live := rn.running()
	var first, firstDead, all, perNode Histogram
	undetected := 0
	missing := ""
	for k, cr := range ob.crashes {
		if cr.firstSuspect >= 0 {
			first.AddDuration(cr.firstSuspect)
		}
		if cr.firstDead >= 0 {
			firstDead.AddDuration(cr.firstDead)
		}
		last, unaware := 0.0, 0
		for _, i := range live {
			v := float64(cr.know[i])
			if math.IsNaN(v) {
				unaware++
				continue
			}
			perNode.Add(v)
			last = max(last, v)
		}
		if unaware > 0 {
			undetected++
			if missing == "" {
				missing = fmt.Sprintf("; crash %d (node %d): %d of %d live nodes never learned", k+1, cr.node, unaware, len(live))
			}
			continue
		}
		all.Add(last)
	}
	cfgE := rn.o.engineConfig()
	period := cfgE.HeartbeatInterval.Seconds()
	r.add("crashes", float64(len(ob.crashes)), "count", Goal(">=", 20, "design target"))
	r.addDist("first suspicion", &first, "s", []FigureOption{Ref(SWIMFirstDetection()*period, "SWIM e/(e−1) periods")}, nil)
	r.addDist("first death", &firstDead, "s", nil, nil)
	r.addDist("all live nodes know", &all, "s",
		[]FigureOption{Goal("<=", 5, "design target")}, []FigureOption{Goal("<=", 8, "design target")})
	r.addDist("per-node learn time", &perNode, "s", nil, nil)
	r.add("crashes not known by all", float64(undetected), "count", Goal("==", 0, "design target"))
	r.add("false deaths", float64(ob.falseDeaths), "count", Goal("==", 0, "design target"))
	r.check("every crash known dead by every live node", undetected == 0,
		"%d of %d crashes fully detected%s", len(ob.crashes)-undetected, len(ob.crashes), missing)
	detail := fmt.Sprintf("%d false death events", ob.falseDeaths)
	if ob.falseFirst != "" {
		detail += "; first: " + ob.falseFirst
	}
	r.check("no live node declared dead", ob.falseDeaths == 0, "%s", detail)

	r.Plots = append(r.Plots, Plot{
		Title:  "Detection-time distribution: when each live node learned of each crash",
		Kind:   "bars",
		XLabel: "seconds after the crash",
		YLabel: "fraction of (node, crash) pairs",
		Series: []Series{{Name: "per-node learn time", Points: perNode.Bins(40)}},
		Marks: []Mark{
			{X: SWIMFirstDetection() * period, Label: "SWIM e/(e−1)·T"},
			{X: 5, Label: "target p50 all-know"},
			{X: 8, Label: "target p99 all-know"},
		},
	}, Plot{
		Title:  "Per crash: first suspicion, first death, all live nodes know (CDF over crashes)",
		Kind:   "step",
		XLabel: "seconds after the crash",
		YLabel: "fraction of crashes",
		Series: []Series{
			{Name: "first suspicion", Points: first.CDF(200)},
			{Name: "first death", Points: firstDead.CDF(200)},
			{Name: "all know", Points: all.CDF(200)},
		},
	})
}
