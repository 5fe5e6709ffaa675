package bench

import (
	"context"
	"fmt"
	"math"
	"time"

	"github.com/hearsay-io/hearsay/engine"
)

// ChurnConfig configures RunChurn.
type ChurnConfig struct {
	Options
	// Rate is the share of nodes stopped every Interval, alternately
	// crashed and left gracefully; each restarts Downtime later. Default
	// 1%.
	Rate float64
	// Interval is the time between two waves of stops. Default 5 s.
	Interval time.Duration
	// Downtime is how long a stopped node stays down. Default 10 s.
	Downtime time.Duration
	// Warmup runs the cluster before the churn. Default 5 s.
	Warmup time.Duration
	// Settle bounds the wait, after the last restart, for every node to see
	// every node alive at its current generation. Default 40 s.
	Settle time.Duration
	// Options.Duration is how long the churn lasts. Default 60 s.
}

// RunChurn keeps replacing nodes — crashed or leaving gracefully, then
// restarted with a new generation through random live nodes — and checks
// that no running node is ever declared dead, that leaves are seen as
// leaves, and that once the churn stops every node converges on every
// node's current generation.
func RunChurn(ctx context.Context, cfg ChurnConfig) (*Result, error) {
	rn, err := newRun(ctx, cfg.Options, "churn", "Churn", 20)
	if err != nil {
		return nil, err
	}
	setDefault(&cfg.Rate, 0.01)
	setDefault(&cfg.Interval, 5*time.Second)
	setDefault(&cfg.Downtime, 10*time.Second)
	setDefault(&cfg.Warmup, 5*time.Second)
	setDefault(&cfg.Settle, 40*time.Second)
	d := rn.o.durationOr(60 * time.Second)
	n := rn.o.N
	wave := max(1, int(math.Round(cfg.Rate*float64(n))))
	wave = min(wave, n/4)
	r := rn.r
	r.param("stopped per wave", wave)
	r.param("wave interval", cfg.Interval)
	r.param("downtime", cfg.Downtime)
	r.param("churn duration", d)
	rn.plan = cfg.Warmup + d + cfg.Downtime + 10*time.Second

	gen := make([]uint64, n)
	know := make([]bitset, n) // per node restarted at least once
	leaver := make([]bool, n) // the node's previous generation left gracefully
	prevGen := make([]uint64, n)
	var falseDeaths, leftSeen, deadLeavers int
	first := ""
	onEvent := func(node int, e engine.Event) {
		switch e.Type {
		case engine.EventJoin, engine.EventUpdate, engine.EventAlive, engine.EventDead, engine.EventLeft:
		default:
			return
		}
		rn.mu.Lock()
		defer rn.mu.Unlock()
		j, ok := rn.c.Index(e.Member.ID)
		if !ok {
			return
		}
		g := e.Member.Generation
		switch e.Type {
		case engine.EventLeft:
			leftSeen++
			return
		case engine.EventDead:
			if g == gen[j] && rn.c.Running(j) {
				falseDeaths++
				if first == "" {
					first = fmt.Sprintf("node %d declared running node %d dead at %v", node, j, rn.c.Elapsed(e.At))
				}
			} else if leaver[j] && g != 0 && (g == gen[j] || g == prevGen[j]) {
				deadLeavers++ // a node that left gracefully, declared dead
			}
			return
		}
		if know[j] != nil && g == gen[j] && g != 0 && e.Member.State.Live() {
			know[j].set(node)
		}
	}
	if err := rn.build(StartConverged, rn.o.Loss, onEvent); err != nil {
		return rn.finish(err)
	}
	c := rn.c
	for i := range gen {
		gen[i] = c.Generation(i)
	}
	rn.progress("warm-up")
	if err := rn.advance(cfg.Warmup); err != nil {
		return rn.finish(err)
	}
	rng := rn.o.rng(0xc4a2)
	var queue []churnStop
	down := make([]bool, n) // stopped, or leaving, until restarted
	crashes, leaves, restarts := 0, 0, 0
	start := c.Now()
	restartDue := func() error {
		kept := queue[:0]
		for _, p := range queue {
			if p.at > c.Now() {
				kept = append(kept, p)
				continue
			}
			live := rn.running()
			seeds := []int{live[rng.IntN(len(live))], live[rng.IntN(len(live))], live[rng.IntN(len(live))]}
			rn.mu.Lock()
			prevGen[p.node] = gen[p.node]
			gen[p.node] = 0
			rn.mu.Unlock()
			if err := c.Restart(p.node, seeds); err != nil {
				return fmt.Errorf("bench: restarting node %d: %w", p.node, err)
			}
			rn.mu.Lock()
			gen[p.node] = c.Generation(p.node)
			if know[p.node] == nil {
				know[p.node] = newBitset(n)
			}
			know[p.node].reset()
			know[p.node].set(p.node)
			rn.mu.Unlock()
			down[p.node] = false
			restarts++
		}
		queue = kept
		return nil
	}
	for k := 0; c.Now()-start < d; k++ {
		rn.progress(fmt.Sprintf("churn wave %d", k+1))
		for s := 0; s < wave; s++ {
			v := rng.IntN(n)
			for down[v] || !c.Running(v) {
				v = rng.IntN(n)
			}
			down[v] = true
			rn.mu.Lock()
			leaver[v] = (crashes+leaves)%2 == 1
			rn.mu.Unlock()
			if leaver[v] {
				if err := c.Leave(v); err != nil {
					return rn.finish(err)
				}
				leaves++
			} else {
				if err := c.Crash(v); err != nil {
					return rn.finish(err)
				}
				crashes++
			}
			queue = append(queue, churnStop{v, c.Now() + cfg.Downtime})
		}
		waveEnd := start + time.Duration(k+1)*cfg.Interval
		for c.Now() < waveEnd {
			if err := c.Run(rn.ctx, min(waveEnd-c.Now(), 500*time.Millisecond)); err != nil {
				return rn.finish(err)
			}
			rn.report()
			if err := restartDue(); err != nil {
				return rn.finish(err)
			}
		}
	}
	rn.progress("restarting the last nodes")
	for len(queue) > 0 {
		if err := c.Run(rn.ctx, 250*time.Millisecond); err != nil {
			return rn.finish(err)
		}
		rn.report()
		if err := restartDue(); err != nil {
			return rn.finish(err)
		}
	}
	rn.progress("settling")
	all := newBitset(n)
	for i := 0; i < n; i++ {
		all.set(i)
	}
	took, ok, err := rn.advanceUntil(cfg.Settle, 250*time.Millisecond, func() bool {
		rn.mu.Lock()
		defer rn.mu.Unlock()
		for i := 0; i < n; i++ {
			if !c.Running(i) {
				return false
			}
			if know[i] != nil && !know[i].covers(all) {
				return false
			}
			if live, _ := c.NumMembers(i); live != n {
				return false
			}
		}
		return true
	})
	rn.mu.Lock()
	r.add("crashes", float64(crashes), "count")
	r.add("graceful leaves", float64(leaves), "count")
	r.add("restarts", float64(restarts), "count")
	settle := took.Seconds()
	if !ok {
		settle = nan()
	}
	r.add("all see all after the last restart", settle, "s", Goal("<=", 15, "the bootstrap's target"))
	r.add("running nodes declared dead", float64(falseDeaths), "count", Goal("==", 0, "no running node removed"))
	r.add("left events", float64(leftSeen), "count")
	r.add("leavers declared dead instead", float64(deadLeavers), "count")
	r.check("every node converges on every node's current generation", ok, "after %v", took)
	detail := fmt.Sprintf("%d dead events about running generations", falseDeaths)
	if first != "" {
		detail += "; first: " + first
	}
	r.check("no running node declared dead", falseDeaths == 0, "%s", detail)
	rn.mu.Unlock()
	return rn.finish(err)
}

// churnStop is a stopped node and when it restarts.
type churnStop struct {
	node int
	at   time.Duration
}
