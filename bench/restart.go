package bench

import (
	"context"
	"fmt"
	"math"
	"time"

	"github.com/hearsay-io/hearsay/engine"
)

// RestartConfig configures RunRollingRestart.
type RestartConfig struct {
	Options
	// Fraction is the share of nodes restarted at once, in each batch.
	// Default 10%.
	Fraction float64
	// Batches is how many batches are restarted, one after the other,
	// each of different nodes. Default 3.
	Batches int
	// Downtime is how long a batch stays down before it restarts. Default
	// 2 s.
	Downtime time.Duration
	// Retention overrides the engine's TombstoneRetention so that the
	// reaping check fits in the run. Default 30 s.
	Retention time.Duration
	// Warmup runs the cluster before the first batch. Default 5 s.
	Warmup time.Duration
	// Check is how often views are sampled. Default 250 ms.
	Check time.Duration
	// Options.Duration is the time from one restart to the next batch's
	// crash. Default 15 s.
}

// RunRollingRestart crashes a tenth of the cluster at once, restarts it
// (same IDs, new generations, joining through random live nodes), and
// repeats with other nodes. For each batch it measures how long until every
// node sees every node alive at its current generation, and checks that no
// live node is still marked dead 10 s after the restart. After the last
// batch it waits out the tombstone retention and checks that no dead
// record is left.
//
// Target: no live node left marked dead after 10 s; no tombstone
// outlives its retention.
func RunRollingRestart(ctx context.Context, cfg RestartConfig) (*Result, error) {
	setDefault(&cfg.Retention, 30*time.Second)
	userEngine := cfg.Engine
	cfg.Engine = func(c *engine.Config) {
		if userEngine != nil {
			userEngine(c)
		}
		c.TombstoneRetention = cfg.Retention
	}
	rn, err := newRun(ctx, cfg.Options, "rolling-restart", "Rolling restart", 20)
	if err != nil {
		return nil, err
	}
	setDefault(&cfg.Fraction, 0.10)
	setDefault(&cfg.Batches, 3)
	setDefault(&cfg.Downtime, 2*time.Second)
	setDefault(&cfg.Warmup, 5*time.Second)
	setDefault(&cfg.Check, 250*time.Millisecond)
	gap := max(rn.o.durationOr(15*time.Second), 10*time.Second+cfg.Check)
	n := rn.o.N
	size := max(1, int(math.Round(cfg.Fraction*float64(n))))
	cfg.Batches = min(cfg.Batches, (n-3)/size)
	ec := rn.o.engineConfig()
	tail := cfg.Retention + ec.HeartbeatInterval*5
	r := rn.r
	r.param("batch size", size)
	r.param("batches", cfg.Batches)
	r.param("downtime", cfg.Downtime)
	r.param("time between batches", gap)
	r.param("tombstone retention", cfg.Retention)
	rn.plan = cfg.Warmup + time.Duration(cfg.Batches)*(cfg.Downtime+gap) + tail

	gen := make([]uint64, n)     // current generation per node
	know := make([]bitset, n)    // per restarted node: who holds its new generation live
	restarted := make([]bool, n) // in the current batch
	var falseDeaths int
	first := ""
	onEvent := func(node int, e engine.Event) {
		switch e.Type {
		case engine.EventJoin, engine.EventUpdate, engine.EventAlive, engine.EventDead:
		default:
			return
		}
		rn.mu.Lock()
		defer rn.mu.Unlock()
		j, ok := rn.c.Index(e.Member.ID)
		if !ok || gen[j] == 0 || e.Member.Generation != gen[j] {
			return
		}
		if e.Type == engine.EventDead {
			if rn.c.Running(j) {
				falseDeaths++
				if first == "" {
					first = fmt.Sprintf("node %d declared node %d (generation %d) dead at %v", node, j, e.Member.Generation, rn.c.Elapsed(e.At))
				}
			}
			return
		}
		if restarted[j] && e.Member.State.Live() {
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
	rng := rn.o.rng(0x2e57)
	order := rng.Perm(n)
	var converge Histogram
	stale10 := 0
	unconverged := 0
	for b := 0; b < cfg.Batches; b++ {
		batch := order[b*size : (b+1)*size]
		rn.progress(fmt.Sprintf("batch %d/%d down", b+1, cfg.Batches))
		rn.mu.Lock()
		for i := range restarted {
			restarted[i] = false
		}
		rn.mu.Unlock()
		for _, v := range batch {
			if err := c.Crash(v); err != nil {
				return rn.finish(err)
			}
		}
		if err := rn.advance(cfg.Downtime); err != nil {
			return rn.finish(err)
		}
		rn.progress(fmt.Sprintf("batch %d/%d restarting", b+1, cfg.Batches))
		live := rn.running()
		for _, v := range batch {
			seeds := []int{live[rng.IntN(len(live))], live[rng.IntN(len(live))], live[rng.IntN(len(live))]}
			rn.mu.Lock()
			restarted[v] = true
			gen[v] = 0 // unknown until the restart returns
			if know[v] == nil {
				know[v] = newBitset(n)
			}
			know[v].reset()
			rn.mu.Unlock()
			if err := c.Restart(v, seeds); err != nil {
				return rn.finish(fmt.Errorf("bench: restarting node %d: %w", v, err))
			}
			rn.mu.Lock()
			gen[v] = c.Generation(v)
			know[v].set(v)
			rn.mu.Unlock()
		}
		restartAt := c.Now()
		all := newBitset(n)
		for _, i := range rn.running() {
			all.set(i)
		}
		complete := func() bool {
			rn.mu.Lock()
			defer rn.mu.Unlock()
			for _, v := range batch {
				if !know[v].covers(all) {
					return false
				}
			}
			for i := 0; i < n; i++ {
				if live, _ := c.NumMembers(i); live != n {
					return false
				}
			}
			return true
		}
		took, ok, err := rn.advanceUntil(10*time.Second, cfg.Check, complete)
		if err != nil {
			return rn.finish(err)
		}
		if ok {
			converge.AddDuration(took)
		} else {
			unconverged++
			stale10 += rn.staleViews(batch, know, all)
		}
		if rest := gap - (c.Now() - restartAt); rest > 0 {
			if ok {
				if err := rn.advance(rest); err != nil {
					return rn.finish(err)
				}
			} else {
				took, ok, err = rn.advanceUntil(rest, cfg.Check, complete)
				if err != nil {
					return rn.finish(err)
				}
				if ok {
					converge.AddDuration(c.Now() - restartAt)
				}
			}
		}
	}
	rn.progress("waiting out the tombstone retention")
	err = rn.advance(tail)

	rn.mu.Lock()
	tombs := 0
	for _, i := range rn.running() {
		if live, total := c.NumMembers(i); total != live {
			tombs++
		}
	}
	r.add("batches", float64(cfg.Batches), "count")
	r.addDist("all see all at current generations", &converge, "s", nil, []FigureOption{Goal("<=", 10, "design target")})
	r.add("batches not converged within 10 s", float64(unconverged), "count", Goal("==", 0, "design target"))
	r.add("stale views 10 s after a restart", float64(stale10), "count", Goal("==", 0, "design target"))
	r.add("live nodes declared dead", float64(falseDeaths), "count", Goal("==", 0, "design target"))
	r.add("nodes holding tombstones after retention", float64(tombs), "count", Goal("==", 0, "design target"))
	r.check("every batch converged within 10 s", unconverged == 0, "%d of %d batches; %d (node, restarted node) views stale at 10 s", cfg.Batches-unconverged, cfg.Batches, stale10)
	detail := fmt.Sprintf("%d dead events about running generations", falseDeaths)
	if first != "" {
		detail += "; first: " + first
	}
	r.check("no live node declared dead", falseDeaths == 0, "%s", detail)
	r.check("no tombstone outlives its retention", tombs == 0, "%d nodes hold dead or left records %v after the last restart", tombs, tail)
	rn.mu.Unlock()
	return rn.finish(err)
}

// staleViews counts the (running node, restarted node) pairs where the
// running node does not hold the restarted node live at its new
// generation, plus the nodes whose view misses a live member.
func (rn *run) staleViews(batch []int, know []bitset, all bitset) int {
	rn.mu.Lock()
	defer rn.mu.Unlock()
	stale := 0
	for _, v := range batch {
		stale += all.countIn(all) - know[v].countIn(all)
	}
	for i := 0; i < rn.c.Len(); i++ {
		if !rn.c.Running(i) {
			continue
		}
		if live, _ := rn.c.NumMembers(i); live != rn.c.Len() {
			stale++
		}
	}
	return stale
}
