package bench

import (
	"context"
	"fmt"
	"time"

	"github.com/hearsay-io/hearsay/engine"
)

// BootstrapConfig configures RunBootstrap.
type BootstrapConfig struct {
	Options
	// Seeds is how many nodes act as seeds; every other node joins through
	// all of them. Default 3.
	Seeds int
	// Spread is the time over which nodes start, evenly. Default 10 s.
	Spread time.Duration
	// Check is how often views are sampled; it is the resolution of the
	// per-node times. Default 250 ms.
	Check time.Duration
	// Hold keeps the cluster running this long after every node sees all
	// (or after the wait limit, if they never do), and checks at its end
	// that every node still sees all N alive: the cluster bootstraps and
	// then holds. Deaths are counted over the whole run. Default 0.
	Hold time.Duration
	// Options.Duration bounds the wait after the last start for every node
	// to see every other alive. Default 40 s.
}

// RunBootstrap starts N nodes that know nobody, Seeds of them seeds, the
// others starting evenly over Spread and joining through the seeds, and
// measures how long after the last start every node sees all N alive.
//
// Target (N = 10,000 over 10 s through 3 seeds): within 15 s of the last
// start. Other engines are compared on one harness by the bench/peers
// module, not by figures quoted from elsewhere.
func RunBootstrap(ctx context.Context, cfg BootstrapConfig) (*Result, error) {
	rn, err := newRun(ctx, cfg.Options, "bootstrap", "Bootstrap through seeds", 2)
	if err != nil {
		return nil, err
	}
	setDefault(&cfg.Seeds, 3)
	cfg.Seeds = min(cfg.Seeds, rn.o.N)
	setDefault(&cfg.Spread, 10*time.Second)
	setDefault(&cfg.Check, 250*time.Millisecond)
	limit := rn.o.durationOr(40 * time.Second)
	r := rn.r
	r.param("seeds", cfg.Seeds)
	r.param("spread", cfg.Spread)
	r.param("wait limit", limit)
	r.param("sampling", cfg.Check)
	if cfg.Hold > 0 {
		r.param("hold", cfg.Hold)
	}
	rn.plan = cfg.Spread + limit + cfg.Hold

	deaths, held := 0, 0 // dead events in all, and while holding
	holding := false
	dead := make(map[engine.ID]bool) // the members declared dead
	first := ""
	onEvent := func(node int, e engine.Event) {
		if e.Type != engine.EventDead {
			return
		}
		rn.mu.Lock()
		defer rn.mu.Unlock()
		deaths++
		if holding {
			held++
		}
		dead[e.Member.ID] = true
		if first == "" {
			j, _ := rn.c.Index(e.Member.ID)
			first = fmt.Sprintf("; first: node %d declared node %d dead at %v", node, j, rn.c.Elapsed(e.At))
		}
	}
	if err := rn.build(StartAlone, rn.o.Loss, onEvent); err != nil {
		return rn.finish(err)
	}
	c := rn.c
	n := c.Len()
	seeds := make([]int, cfg.Seeds)
	for k := range seeds {
		seeds[k] = k
	}
	// The seeds find each other first.
	for k := 1; k < cfg.Seeds; k++ {
		if err := c.Join(k, seeds[:k]); err != nil {
			return rn.finish(fmt.Errorf("bench: seed %d joining: %w", k, err))
		}
	}
	rn.progress("starting nodes")
	others := n - cfg.Seeds
	t0 := c.Now()
	var frac, full Series
	frac.Name, full.Name = "mean fraction of members known alive", "fraction of nodes that see all alive"
	nextSample := t0
	completed := make([]time.Duration, n) // since the last start; −1 until complete
	for i := range completed {
		completed[i] = -1
	}
	sample := func(lastStart time.Duration, started bool) int {
		done, known := 0, 0
		for i := 0; i < n; i++ {
			live, _ := c.NumMembers(i)
			known += live
			if live == n {
				done++
				if started && completed[i] < 0 {
					completed[i] = c.Now() - lastStart
				}
			}
		}
		x := (c.Now() - t0).Seconds()
		frac.Points = append(frac.Points, Point{X: x, Y: float64(known) / float64(n) / float64(n)})
		full.Points = append(full.Points, Point{X: x, Y: float64(done) / float64(n)})
		return done
	}
	for k := 0; k < others; k++ {
		at := t0 + time.Duration(int64(cfg.Spread)*int64(k)/int64(max(others-1, 1)))
		for nextSample <= at {
			if err := c.Run(rn.ctx, nextSample-c.Now()); err != nil {
				return rn.finish(err)
			}
			sample(0, false)
			rn.report()
			nextSample += cfg.Check
		}
		if err := c.Run(rn.ctx, at-c.Now()); err != nil {
			return rn.finish(err)
		}
		i := cfg.Seeds + k
		if err := c.Join(i, seeds); err != nil {
			return rn.finish(fmt.Errorf("bench: node %d joining: %w", i, err))
		}
	}
	lastStart := c.Now()
	rn.progress("waiting for every node to see all")
	took, ok, err := rn.advanceUntil(limit, cfg.Check, func() bool { return sample(lastStart, true) == n })
	if err != nil {
		return rn.finish(err)
	}
	// The figures of the bootstrap are taken before the hold.
	st := rn.sumStats()
	total := (c.Now() - t0).Seconds()
	heldOK, behind := true, 0
	if cfg.Hold > 0 {
		rn.progress("holding")
		rn.mu.Lock()
		holding = true
		rn.mu.Unlock()
		if err := c.Run(rn.ctx, cfg.Hold); err != nil {
			return rn.finish(err)
		}
		for i := 0; i < n; i++ {
			if live, _ := c.NumMembers(i); live != n {
				behind++
			}
		}
		heldOK = behind == 0
	}
	var per Histogram
	notDone := 0
	for _, d := range completed {
		if d < 0 {
			notDone++
			continue
		}
		per.AddDuration(d)
	}
	if ok {
		r.add("all see all, after the last start", took.Seconds(), "s",
			Goal("<=", 15, "design target"))
	} else {
		r.add("all see all, after the last start", nan(), "s", Goal("<=", 15, "design target"))
	}
	r.add("all see all, from the first start", total, "s")
	r.addDist("per-node complete view after the last start", &per, "s", nil, nil)
	r.add("nodes without a complete view", float64(notDone), "count", Goal("==", 0, "design target"))
	r.add("deaths declared", float64(deaths), "count", Goal("==", 0, "no node fails"))
	if cfg.Hold > 0 {
		r.add("deaths declared while holding", float64(held), "count", Goal("==", 0, "no node fails"))
		r.add("nodes not seeing all alive at the end of the hold", float64(behind), "count", Goal("==", 0, "no node fails"))
	}
	r.add("bytes sent per node per second", float64(st.BytesOut)/float64(st.Nodes)/total, "B/s")
	r.add("shard transfers served per node", float64(st.ShardsSent)/float64(st.Nodes), "count")
	addRefusals(r, c)
	if jr, ok := c.(JoinReporter); ok {
		addJoinFigures(r, jr, cfg.Seeds)
	}
	r.check("every node sees all N alive", ok, "%d of %d nodes complete %v after the last start", n-notDone, n, took)
	r.check("no node declared dead", deaths == 0, "%d dead events about %d nodes%s", deaths, len(dead), first)
	if cfg.Hold > 0 {
		r.check("every node still sees all N alive after the hold", heldOK, "%d of %d nodes see all alive at the end of a %v hold", n-behind, n, cfg.Hold)
	}
	r.Plots = append(r.Plots, Plot{
		Title:  "Bootstrap: views filling up",
		Kind:   "line",
		XLabel: "seconds since the first start",
		YLabel: "fraction",
		Series: []Series{frac, full},
		Marks: []Mark{{X: (lastStart - t0).Seconds(), Label: "last start"},
			{X: (lastStart - t0).Seconds() + 15, Label: "target"}},
	})
	return rn.finish(nil)
}
