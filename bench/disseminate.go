package bench

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/hearsay-io/hearsay/engine"
)

// DisseminationConfig configures RunDissemination.
type DisseminationConfig struct {
	Options
	// Updates is how many single updates are measured, each a state change
	// at a different random node, one at a time. Default 10.
	Updates int
	// Warmup runs the converged cluster before the first update. Default 3 s.
	Warmup time.Duration
	// Options.Duration is the time each update is given to reach every
	// node before the next one starts. Default 3 s.
}

// RunDissemination measures how one update spreads: a node changes its
// application state, and the scenario records when each other node learns
// the new version. It reports the time and the gossip rounds until half, 99%
// and every running node knows, next to the rounds rumour spreading needs
// in theory, and the fraction of nodes that know over time.
//
// Target (N = 10,000, 200 ms gossip interval): every node within
// 2 s median.
func RunDissemination(ctx context.Context, cfg DisseminationConfig) (*Result, error) {
	rn, err := newRun(ctx, cfg.Options, "dissemination", "Dissemination of one update", 2)
	if err != nil {
		return nil, err
	}
	setDefault(&cfg.Updates, 10)
	setDefault(&cfg.Warmup, 3*time.Second)
	each := rn.o.durationOr(3 * time.Second)
	r := rn.r
	r.param("updates", cfg.Updates)
	r.param("time per update", each)
	r.param("warm-up", cfg.Warmup)
	rn.plan = cfg.Warmup + time.Duration(cfg.Updates)*each

	ob := &dissObserver{rn: rn, key: []byte("bench.update")}
	if err := rn.build(StartConverged, rn.o.Loss, ob.onEvent); err != nil {
		return rn.finish(err)
	}
	err = ob.run(cfg, each)
	ob.report()
	return rn.finish(err)
}

type dissUpdate struct {
	origin  int
	id      engine.ID
	version uint64
	at      time.Duration
	learned []time.Duration // since at, one per node that learned it
	seen    bitset
}

type dissObserver struct {
	rn      *run
	key     []byte
	current *dissUpdate
	updates []*dissUpdate
}

func (ob *dissObserver) onEvent(node int, e engine.Event) {
	if e.Type != engine.EventState {
		return
	}
	rn := ob.rn
	rn.mu.Lock()
	defer rn.mu.Unlock()
	u := ob.current
	if u == nil || e.Member.ID != u.id || e.Version < u.version || !bytes.Equal(e.Key, ob.key) || u.seen.has(node) {
		return
	}
	u.seen.set(node)
	u.learned = append(u.learned, rn.c.Elapsed(e.At)-u.at)
}

func (ob *dissObserver) run(cfg DisseminationConfig, each time.Duration) error {
	rn := ob.rn
	rn.progress("warm-up")
	if err := rn.advance(cfg.Warmup); err != nil {
		return err
	}
	rng := rn.o.rng(0xd155)
	n := rn.c.Len()
	for k := 0; k < cfg.Updates; k++ {
		origin := rng.IntN(n)
		u := &dissUpdate{origin: origin, id: rn.c.ID(origin), seen: newBitset(n), at: rn.c.Now()}
		if st := rn.c.Stats(origin); st.Members == 0 {
			return fmt.Errorf("bench: node %d has no members", origin)
		}
		_, ver, _ := rn.c.State(origin, origin, ob.key)
		u.version = ver + 1
		u.seen.set(origin)
		u.learned = append(u.learned, 0)
		rn.mu.Lock()
		ob.current = u
		ob.updates = append(ob.updates, u)
		rn.mu.Unlock()
		rn.progress(fmt.Sprintf("update %d/%d", k+1, cfg.Updates))
		if err := rn.c.SetState(origin, ob.key, fmt.Appendf(nil, "v%d", k)); err != nil {
			return fmt.Errorf("bench: SetState at node %d: %w", origin, err)
		}
		if err := rn.advance(each); err != nil {
			return err
		}
	}
	return nil
}

func (ob *dissObserver) report() {
	rn, r := ob.rn, ob.rn.r
	rn.mu.Lock()
	defer rn.mu.Unlock()
	if rn.c == nil {
		return
	}
	n := len(rn.running())
	ec := rn.o.engineConfig()
	gi := ec.GossipInterval.Seconds()
	var t50, t99, tAll, rounds Histogram
	incomplete := 0
	for _, u := range ob.updates {
		slices.Sort(u.learned)
		at := func(q float64) float64 {
			k := int(math.Ceil(q*float64(n))) - 1
			if k >= len(u.learned) {
				return math.NaN()
			}
			return u.learned[max(k, 0)].Seconds()
		}
		t50.Add(at(0.5))
		t99.Add(at(0.99))
		if len(u.learned) < n {
			incomplete++
			continue
		}
		all := u.learned[n-1].Seconds()
		tAll.Add(all)
		rounds.Add(all / gi)
	}
	N := rn.o.N
	r.add("updates", float64(len(ob.updates)), "count")
	r.add("half know p50", t50.P50(), "s")
	r.add("99% know p50", t99.P50(), "s")
	r.addDist("all know", &tAll, "s", []FigureOption{Goal("<=", 2, "design target")}, nil)
	r.add("rounds to 99% p50", t99.P50()/gi, "rounds", Ref(PushPullRounds(N), "push-pull: log₃N + ln ln N"))
	r.add("rounds to all p50", rounds.P50(), "rounds", Ref(Log2(N), "log₂N"))
	r.add("rounds to all p99", rounds.P99(), "rounds",
		Ref(PushFanoutRounds(N, ec.GossipFanout), fmt.Sprintf("push, F=%d: log₍F+1₎N + ln N/F", ec.GossipFanout)))
	r.add("rounds to all max", rounds.Max(), "rounds", Ref(PushRounds(N), "push, F=1: log₂N + ln N"))
	r.add("updates not reaching all", float64(incomplete), "count", Goal("==", 0, "design target"))
	r.check("every update reached every running node", incomplete == 0,
		"%d of %d updates reached all %d running nodes", len(ob.updates)-incomplete, len(ob.updates), n)
	r.note("A round is one gossip interval (%v); updates also ride on heartbeats and probes, so rounds are an upper bound on gossip hops.", ec.GossipInterval)

	// Fraction of nodes that know, over time, for up to three updates.
	p := Plot{
		Title:  "Fraction of nodes that know an update, over time",
		Kind:   "step",
		XLabel: "seconds after the update",
		YLabel: "fraction of running nodes",
		Marks:  []Mark{{X: 2, Label: "target 2 s"}, {X: Log2(N) * gi, Label: "log₂N rounds"}},
	}
	for k, u := range ob.updates {
		if k == 3 {
			break
		}
		p.Series = append(p.Series, Series{Name: fmt.Sprintf("update %d (node %d)", k+1, u.origin), Points: knowCurve(u.learned, n, 400)})
	}
	r.Plots = append(r.Plots, p)
}

// knowCurve turns sorted learn times into at most max points of (time,
// fraction of n that know).
func knowCurve(learned []time.Duration, n, maxPoints int) []Point {
	step := max(1, len(learned)/maxPoints)
	var pts []Point
	for k := 0; k < len(learned); k += step {
		pts = append(pts, Point{X: learned[k].Seconds(), Y: float64(k+1) / float64(n)})
	}
	if len(learned) > 0 {
		pts = append(pts, Point{X: learned[len(learned)-1].Seconds(), Y: float64(len(learned)) / float64(n)})
	}
	return pts
}
