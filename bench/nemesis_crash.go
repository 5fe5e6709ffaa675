package bench

import (
	"context"
	"fmt"
	"math"
	"time"

	"github.com/hearsay-io/hearsay/codec"
	"github.com/hearsay-io/hearsay/engine"
)

// NemesisMassCrashConfig configures RunNemesisMassCrash.
type NemesisMassCrashConfig struct {
	Options
	// Fraction is the share of nodes killed at the same instant. Default
	// 30%.
	Fraction float64
	// Within is the time every survivor has to know every crash. Default
	// 10 s.
	Within time.Duration
	// Warmup runs the healthy cluster first. Default 10 s.
	Warmup time.Duration
	// Options.Duration is how long the scenario watches after the crash.
	// Default 30 s.
}

// RunNemesisMassCrash kills 30% of the nodes at once — a rack or a zone
// lost — and measures, for each crash, when some survivor first suspected
// it, first declared it dead, and when every survivor knew it dead.
//
// False death: a dead event about a survivor's running process (see
// NemesisScenarios). Targets (issue "accuracy under real faults"): every
// survivor knows every crash within 10 s; no survivor declared dead.
func RunNemesisMassCrash(ctx context.Context, cfg NemesisMassCrashConfig) (*Result, error) {
	nm, err := newNemesis(ctx, cfg.Options, "nemesis-mass-crash", "Nemesis: mass crash", 4, featCrash)
	if err != nil {
		return nil, err
	}
	setDefault(&cfg.Fraction, 0.3)
	setDefault(&cfg.Within, 10*time.Second)
	setDefault(&cfg.Warmup, 10*time.Second)
	tail := nm.o.durationOr(30 * time.Second)
	n := nm.o.N
	count := min(max(1, int(cfg.Fraction*float64(n)+0.5)), n-2)
	r := nm.r
	r.param("crashed at once", count)
	r.param("warm-up", cfg.Warmup)
	r.param("watched for", tail)
	nm.plan = cfg.Warmup + tail

	ct := newCrashTracker()
	nm.hook = func(node int, e engine.Event, t time.Duration, v verdict) { ct.event(node, e, t) }
	// The traffic is sampled over the last seconds of the warm-up and over
	// the target window after the crash: what the backlog of deaths costs.
	base := cfg.Warmup / 2
	if err := nm.build(cfg.Warmup - base); err != nil {
		return nm.finish(err)
	}
	before := nm.traffic()
	if err := nm.runFor(base); err != nil {
		return nm.finish(err)
	}
	atCrash := nm.traffic()
	victims := pick(nm.o.rng(0x3a55c4), n, count, nil)
	now := nm.c.Now()
	for _, v := range victims {
		nm.mu.Lock()
		ct.add(nm.c, v, now)
		nm.mu.Unlock()
		if err := nm.crash(v); err != nil {
			return nm.finish(err)
		}
	}
	nm.progress(fmt.Sprintf("%d nodes crashed", count))
	window := min(cfg.Within, tail)
	err = nm.runFor(window)
	after := nm.traffic()
	if err == nil {
		err = nm.runFor(tail - window)
	}

	nm.mu.Lock()
	defer nm.mu.Unlock()
	s := ct.summarize(nm.or.up)
	r.add("crashes", float64(len(ct.crashes)), "count")
	s.addFigures(r, "all survivors know", cfg.Within, "issue: accuracy under real faults")
	nm.addFalseDeaths("survivors declared dead", "issue: accuracy under real faults")
	var steadyBytes, crashBytes, crashGossip Histogram
	for i := 0; i < n && base > 0 && window > 0; i++ {
		if !nm.c.Running(i) {
			continue
		}
		steadyBytes.Add(float64(atCrash[i].bytes-before[i].bytes) / base.Seconds())
		crashBytes.Add(float64(after[i].bytes-atCrash[i].bytes) / window.Seconds())
		crashGossip.Add(float64(after[i].gossip-atCrash[i].gossip) / window.Seconds())
	}
	r.add(fmt.Sprintf("bytes sent per survivor per second in the %v before the crash p50", base), steadyBytes.P50(), "B/s")
	r.add(fmt.Sprintf("bytes sent per survivor per second in the %v after the crash p50", window), crashBytes.P50(), "B/s")
	r.add(fmt.Sprintf("bytes sent per survivor per second in the %v after the crash max", window), crashBytes.Max(), "B/s")
	r.add(fmt.Sprintf("gossip datagrams sent per survivor per second in the %v after the crash max", window), crashGossip.Max(), "1/s")
	r.check("every survivor knows every crash", s.undetected == 0, "%d of %d crashes known by every survivor after %v%s",
		len(ct.crashes)-s.undetected, len(ct.crashes), tail, s.missing)
	nm.addNodeHours()
	return nm.finish(err)
}

// crashTracker follows crashes: when some node first suspected each
// crashed process, when some node first declared it dead, and when each
// observer knew it dead (or left).
type crashTracker struct {
	victim  map[engine.ID]int // → index in crashes of the node's latest crash
	crashes []*crashRec
}

type crashRec struct {
	node         int
	gen          uint64
	at           time.Duration
	firstSuspect time.Duration // since at; −1 until seen
	firstDead    time.Duration
	know         []float32 // per observer: seconds from the crash; NaN before
}

func newCrashTracker() *crashTracker { return &crashTracker{victim: make(map[engine.ID]int)} }

// add records that node is about to crash at cluster time at.
func (ct *crashTracker) add(c Cluster, node int, at time.Duration) {
	know := make([]float32, c.Len())
	for i := range know {
		know[i] = float32(math.NaN())
	}
	ct.victim[c.ID(node)] = len(ct.crashes)
	ct.crashes = append(ct.crashes, &crashRec{node: node, gen: c.Generation(node), at: at,
		firstSuspect: -1, firstDead: -1, know: know})
}

// event records what an event says about a crashed process.
func (ct *crashTracker) event(node int, e engine.Event, t time.Duration) {
	if e.Type != engine.EventSuspect && e.Type != engine.EventDead && e.Type != engine.EventLeft {
		return
	}
	k, ok := ct.victim[e.Member.ID]
	if !ok {
		return
	}
	cr := ct.crashes[k]
	if e.Member.Generation != cr.gen || t < cr.at {
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

// crashSummary is what a crashTracker measured.
type crashSummary struct {
	first, firstDead, allKnow Histogram
	crashes, undetected       int
	within                    func(d time.Duration) int // crashes known by all within d
	missing                   string
}

// summarize measures the crashes against the observers for which
// survivor is true (the nodes running at the end).
func (ct *crashTracker) summarize(survivor func(int) bool) crashSummary {
	var s crashSummary
	var allKnow []float64
	for k, cr := range ct.crashes {
		s.crashes++
		if cr.firstSuspect >= 0 {
			s.first.AddDuration(cr.firstSuspect)
		}
		if cr.firstDead >= 0 {
			s.firstDead.AddDuration(cr.firstDead)
		}
		last, unaware, alive := 0.0, 0, 0
		for i, v := range cr.know {
			if i == cr.node || !survivor(i) {
				continue
			}
			alive++
			if math.IsNaN(float64(v)) {
				unaware++
				continue
			}
			last = max(last, float64(v))
		}
		if unaware > 0 {
			s.undetected++
			if s.missing == "" {
				s.missing = fmt.Sprintf("; crash %d (node %d): %d of %d survivors never learned", k+1, cr.node, unaware, alive)
			}
			continue
		}
		s.allKnow.Add(last)
		allKnow = append(allKnow, last)
	}
	s.within = func(d time.Duration) int {
		k := 0
		for _, v := range allKnow {
			if v <= d.Seconds() {
				k++
			}
		}
		return k
	}
	return s
}

// addFigures adds first suspicion, first death and all-know (p50, p99,
// max, the latter two with the target within), and the count of crashes
// known by all within the target.
func (s *crashSummary) addFigures(r *Result, allName string, within time.Duration, source string) {
	r.addDist("first suspicion", &s.first, "s", nil, nil)
	r.addDist("first death", &s.firstDead, "s", nil, nil)
	w := within.Seconds()
	r.add(allName+" p50", s.allKnow.P50(), "s")
	r.add(allName+" p99", s.allKnow.P99(), "s", Goal("<=", w, source))
	r.add(allName+" max", s.allKnow.Max(), "s", Goal("<=", w, source))
	r.add(fmt.Sprintf("crashes known by all within %v", within), float64(s.within(within)), "count",
		Goal(">=", float64(s.crashes), source))
	r.add("crashes never known by all", float64(s.undetected), "count", Goal("==", 0, source))
}

// nodeTraffic is what one node sent, by a snapshot of its counters.
type nodeTraffic struct{ bytes, gossip uint64 }

// traffic returns every node's counters of what it sent; zero for a node
// not running.
func (nm *nemesis) traffic() []nodeTraffic {
	t := make([]nodeTraffic, nm.c.Len())
	for i := range t {
		if nm.c.Running(i) {
			st := nm.c.Stats(i)
			t[i] = nodeTraffic{st.BytesOut, st.Out[codec.MsgGossip]}
		}
	}
	return t
}
