package bench

import (
	"context"
	"fmt"
	"time"

	"github.com/hearsay-io/hearsay/engine"
)

// PartitionConfig configures RunPartition.
type PartitionConfig struct {
	Options
	// Warmup runs the whole cluster before the split. Default 5 s.
	Warmup time.Duration
	// HealLimit bounds the wait, after the heal, for every node to see
	// every node alive. Default 40 s.
	HealLimit time.Duration
	// Check is how often views are sampled. Default 250 ms.
	Check time.Duration
	// Options.Duration is how long the split lasts. Default 120 s, the
	// split the target is set for.
}

// RunPartition splits the cluster into two random halves that cannot reach
// each other, long enough for each side to declare the other dead, then
// heals it and measures how long until every node sees every node alive
// again, with no operator action.
//
// Target: every node sees every live node alive within 10 s of
// the heal.
func RunPartition(ctx context.Context, cfg PartitionConfig) (*Result, error) {
	rn, err := newRun(ctx, cfg.Options, "partition", "Partition and heal", 4)
	if err != nil {
		return nil, err
	}
	setDefault(&cfg.Warmup, 5*time.Second)
	setDefault(&cfg.HealLimit, 40*time.Second)
	setDefault(&cfg.Check, 250*time.Millisecond)
	split := rn.o.durationOr(120 * time.Second) // the target's 50/50 split lasting 120 s
	r := rn.r
	r.param("split", split)
	r.param("warm-up", cfg.Warmup)
	r.param("heal limit", cfg.HealLimit)
	rn.plan = cfg.Warmup + split + 10*time.Second

	n := rn.o.N
	side := make([]uint8, n)
	rng := rn.o.rng(0x5a11)
	var a, b []int
	for i, k := range rng.Perm(n) {
		if i < n/2 {
			side[k] = 0
			a = append(a, k)
		} else {
			side[k] = 1
			b = append(b, k)
		}
	}
	var sameSideDeaths, staleDeaths int
	healedAt := time.Duration(-1)
	first := ""
	onEvent := func(node int, e engine.Event) {
		if e.Type != engine.EventDead {
			return
		}
		rn.mu.Lock()
		defer rn.mu.Unlock()
		j, ok := rn.c.Index(e.Member.ID)
		if !ok || side[j] != side[node] {
			return
		}
		if healedAt >= 0 {
			// A death learned from the other side after the heal: the
			// stale verdict of the split, which its subject refutes.
			staleDeaths++
			return
		}
		sameSideDeaths++
		if first == "" {
			first = fmt.Sprintf("node %d declared node %d (same side) dead at %v", node, j, rn.c.Elapsed(e.At))
		}
	}
	if err := rn.buildWarm(cfg.Warmup, onEvent); err != nil {
		return rn.finish(err)
	}
	c := rn.c
	if err := c.Partition(a, b); err != nil {
		return rn.finish(err)
	}
	splitAt := c.Now()
	var seeOwn, seeAll Series
	seeOwn.Name, seeAll.Name = "see exactly their side alive", "see every node alive"
	sample := func() (own, all int) {
		for i := 0; i < n; i++ {
			live, _ := c.NumMembers(i)
			mine := len(a)
			if side[i] == 1 {
				mine = len(b)
			}
			if live == mine {
				own++
			}
			if live == n {
				all++
			}
		}
		x := (c.Now() - splitAt).Seconds()
		seeOwn.Points = append(seeOwn.Points, Point{X: x, Y: float64(own) / float64(n)})
		seeAll.Points = append(seeAll.Points, Point{X: x, Y: float64(all) / float64(n)})
		return own, all
	}
	rn.progress("split")
	var separated time.Duration = -1
	for c.Now()-splitAt < split {
		if err := c.Run(rn.ctx, min(time.Second, split-(c.Now()-splitAt))); err != nil {
			return rn.finish(err)
		}
		rn.report()
		if own, _ := sample(); own == n && separated < 0 {
			separated = c.Now() - splitAt
		}
	}
	if err := c.Heal(); err != nil {
		return rn.finish(err)
	}
	healAt := c.Now()
	rn.mu.Lock()
	healedAt = healAt
	rn.mu.Unlock()
	rn.progress("healed")
	healed := make([]time.Duration, n)
	for i := range healed {
		healed[i] = -1
	}
	took, ok, err := rn.advanceUntil(cfg.HealLimit, cfg.Check, func() bool {
		_, all := sample()
		for i := 0; i < n; i++ {
			if healed[i] < 0 {
				if live, _ := c.NumMembers(i); live == n {
					healed[i] = c.Now() - healAt
				}
			}
		}
		return all == n
	})
	rn.mu.Lock()
	var per Histogram
	for _, d := range healed {
		if d >= 0 {
			per.AddDuration(d)
		}
	}
	if separated >= 0 {
		r.add("sides separated (each sees only itself)", separated.Seconds(), "s")
	} else {
		r.add("sides separated (each sees only itself)", nan(), "s")
		r.note("The sides had not fully declared each other dead when the split ended.")
	}
	healFig := took.Seconds()
	if !ok {
		healFig = nan()
	}
	r.add("all see all after the heal", healFig, "s", Goal("<=", 10, "design target"))
	r.addDist("per-node full view after the heal", &per, "s", nil, nil)
	r.add("deaths within a side during the split", float64(sameSideDeaths), "count", Goal("==", 0, "no node fails"))
	r.add("stale deaths adopted from the other side after the heal", float64(staleDeaths), "count")
	if staleDeaths > 0 {
		r.note("After the heal, %d times a node adopted the other side's verdict that a node of its own side was dead (the same incarnation, and dead outranks alive) until the subject refuted it. Such transient deaths are visible to event subscribers.", staleDeaths)
	}
	r.check("every node sees every node alive after the heal", ok, "%d of %d nodes after %v", per.Count(), n, took)
	detail := fmt.Sprintf("%d dead events within a side during the split", sameSideDeaths)
	if first != "" {
		detail += "; first: " + first
	}
	r.check("no node declared dead by its own side during the split", sameSideDeaths == 0, "%s", detail)
	r.Plots = append(r.Plots, Plot{
		Title:  "Partition and heal: views over time",
		Kind:   "line",
		XLabel: "seconds since the split",
		YLabel: "fraction of nodes",
		Series: []Series{seeOwn, seeAll},
		Marks:  []Mark{{X: (healAt - splitAt).Seconds(), Label: "heal"}, {X: (healAt - splitAt).Seconds() + 10, Label: "target"}},
	})
	rn.mu.Unlock()
	return rn.finish(err)
}
