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

// AppStateConfig configures RunAppState.
type AppStateConfig struct {
	Options
	// Window is the time over which every node publishes its first value,
	// at a random moment; each then updates it at a random moment of the
	// next Window. Default 5 s.
	Window time.Duration
	// Churn is the share of nodes crashed at a random moment of the two
	// windows and restarted Downtime later, re-publishing their value
	// under their new generation. Default 1%.
	Churn float64
	// Downtime is how long a churned node stays down. Default 3 s.
	Downtime time.Duration
	// Exhaustive checks, at the end, every running node's copy of every
	// running node's value (N² lookups). Default true; set SkipExhaustive
	// to turn it off.
	SkipExhaustive bool
	// Options.Duration bounds the wait after the last change for every node
	// to hold every node's latest version. Default 40 s.
}

// RunAppState has every node publish and then update a value of its
// application state, under churn, and measures the time until every
// running node holds every running node's latest version — tracked from the
// state events, then checked exhaustively.
//
// Target: after quiescence every live node holds every live
// node's latest version (1% loss, 1% churn); report time to 100%.
func RunAppState(ctx context.Context, cfg AppStateConfig) (*Result, error) {
	rn, err := newRun(ctx, cfg.Options, "appstate", "Application-state convergence", 4)
	if err != nil {
		return nil, err
	}
	setDefault(&cfg.Window, 5*time.Second)
	setDefault(&cfg.Churn, 0.01)
	setDefault(&cfg.Downtime, 3*time.Second)
	limit := rn.o.durationOr(40 * time.Second)
	n := rn.o.N
	churned := min(int(math.Round(cfg.Churn*float64(n))), n/4)
	r := rn.r
	r.param("publish window", cfg.Window)
	r.param("churned nodes", churned)
	r.param("downtime", cfg.Downtime)
	r.param("wait limit", limit)
	rn.plan = 2*cfg.Window + cfg.Downtime + 5*time.Second
	key := []byte("bench.app")

	gen := make([]uint64, n)
	ver := make([]uint64, n)
	know := make([]bitset, n) // per owner: nodes holding its latest version
	for i := range know {
		know[i] = newBitset(n)
	}
	onEvent := func(node int, e engine.Event) {
		if e.Type != engine.EventState {
			return
		}
		rn.mu.Lock()
		defer rn.mu.Unlock()
		o, ok := rn.c.Index(e.Member.ID)
		if !ok || ver[o] == 0 || e.Member.Generation != gen[o] || e.Version < ver[o] || !bytes.Equal(e.Key, key) {
			return
		}
		know[o].set(node)
	}
	if err := rn.build(StartConverged, rn.o.Loss, onEvent); err != nil {
		return rn.finish(err)
	}
	c := rn.c
	for i := range gen {
		gen[i] = c.Generation(i)
	}
	value := make([][]byte, n)

	type action struct {
		at   time.Duration
		kind uint8 // 0 publish, 1 update, 2 crash, 3 restart
		node int
	}
	rng := rn.o.rng(0xa995)
	t0 := c.Now()
	base := make([]engine.Stats, n) // to count the traffic of nodes never churned
	for i := range base {
		base[i] = c.Stats(i)
	}
	churnedSet := newBitset(n)
	var plan []action
	for i := 0; i < n; i++ {
		plan = append(plan,
			action{t0 + time.Duration(rng.Int64N(int64(cfg.Window))), 0, i},
			action{t0 + cfg.Window + time.Duration(rng.Int64N(int64(cfg.Window))), 1, i})
	}
	for _, v := range rng.Perm(n)[:churned] {
		churnedSet.set(v)
		at := t0 + time.Duration(rng.Int64N(int64(2*cfg.Window)))
		plan = append(plan, action{at, 2, v}, action{at + cfg.Downtime, 3, v})
	}
	slices.SortStableFunc(plan, func(a, b action) int {
		if a.at != b.at {
			return int(a.at - b.at)
		}
		return int(a.kind) - int(b.kind)
	})
	publish := func(i int, v []byte) error {
		value[i] = v
		if err := c.SetState(i, key, v); err != nil {
			return fmt.Errorf("bench: SetState at node %d: %w", i, err)
		}
		_, version, _ := c.State(i, i, key)
		rn.mu.Lock()
		ver[i] = version
		know[i].reset()
		know[i].set(i)
		rn.mu.Unlock()
		return nil
	}
	rn.progress("publishing")
	lastReport := c.Now()
	for _, a := range plan {
		if a.at > c.Now() {
			if err := c.Run(rn.ctx, a.at-c.Now()); err != nil {
				return rn.finish(err)
			}
		}
		if c.Now()-lastReport >= time.Second {
			rn.report()
			lastReport = c.Now()
		}
		i := a.node
		switch a.kind {
		case 0, 1:
			if !c.Running(i) {
				if a.kind == 1 {
					value[i] = fmt.Appendf(nil, "node %d value 2", i) // published on restart
				}
				continue
			}
			if err := publish(i, fmt.Appendf(nil, "node %d value %d", i, a.kind+1)); err != nil {
				return rn.finish(err)
			}
		case 2:
			if err := c.Crash(i); err != nil {
				return rn.finish(err)
			}
		case 3:
			live := rn.running()
			seeds := []int{live[rng.IntN(len(live))], live[rng.IntN(len(live))], live[rng.IntN(len(live))]}
			rn.mu.Lock()
			ver[i] = 0 // nothing to track until it publishes
			for o := range know {
				know[o].clear(i) // it lost what it knew
			}
			rn.mu.Unlock()
			if err := c.Restart(i, seeds); err != nil {
				return rn.finish(fmt.Errorf("bench: restarting node %d: %w", i, err))
			}
			rn.mu.Lock()
			gen[i] = c.Generation(i)
			rn.mu.Unlock()
			v := value[i]
			if v == nil {
				v = fmt.Appendf(nil, "node %d value 1", i)
			}
			if err := publish(i, v); err != nil {
				return rn.finish(err)
			}
		}
	}
	lastChange := c.Now()
	rn.progress("converging")
	all := newBitset(n)
	for _, i := range rn.running() {
		all.set(i)
	}
	var curve Series
	curve.Name = "fraction of (holder, owner) pairs up to date"
	total := float64(n) * float64(n)
	took, ok, err := rn.advanceUntil(limit, 250*time.Millisecond, func() bool {
		rn.mu.Lock()
		defer rn.mu.Unlock()
		have, done := 0, true
		want := all.countIn(all)
		for o := 0; o < n; o++ {
			if !all.has(o) {
				continue
			}
			k := know[o].countIn(all)
			have += k
			if k < want {
				done = false
			}
		}
		curve.Points = append(curve.Points, Point{X: (c.Now() - lastChange).Seconds(), Y: float64(have) / total})
		return done
	})
	if err != nil {
		return rn.finish(err)
	}
	// The exhaustive check: every running node's copy of every value.
	wrong, checked := 0, 0
	example := ""
	if !cfg.SkipExhaustive {
		rn.progress("checking every copy")
		for i := 0; i < n; i++ {
			if !c.Running(i) {
				continue
			}
			for o := 0; o < n; o++ {
				if !c.Running(o) {
					continue
				}
				checked++
				v, version, found := c.State(i, o, key)
				m, _ := c.Member(i, o)
				if !found || version != ver[o] || m.Generation != gen[o] || !bytes.Equal(v, value[o]) {
					wrong++
					if example == "" {
						example = fmt.Sprintf("; node %d holds %q v%d gen %d of node %d, want %q v%d gen %d", i, v, version, m.Generation, o, value[o], ver[o], gen[o])
					}
				}
			}
		}
	}
	var before, after statTotals
	for i := 0; i < n; i++ {
		if !churnedSet.has(i) {
			before.add(base[i])
			after.add(c.Stats(i))
		}
	}
	traffic := after.sub(before)
	perNodeSecond := func(v uint64) float64 {
		return float64(v) / float64(max(traffic.Nodes, 1)) / (c.Now() - t0).Seconds()
	}
	rn.mu.Lock()
	settle := took.Seconds()
	if !ok {
		settle = nan()
	}
	r.add("time to 100% after the last change", settle, "s")
	if ok {
		r.add("time to 100% from the first publish", (c.Now() - t0).Seconds(), "s")
	}
	r.add("churned nodes", float64(churned), "count")
	r.add("bytes sent per node per second", perNodeSecond(traffic.BytesOut), "B/s")
	r.add("anti-entropy datagrams per node per second", perNodeSecond(traffic.antiEntropyOut()), "count/s")
	r.add("anti-entropy bytes sent per node per second", perNodeSecond(traffic.antiEntropyBytesOut()), "B/s")
	r.add("shard transfers served per node per second", perNodeSecond(traffic.ShardsSent), "count/s")
	if !cfg.SkipExhaustive {
		r.add("copies checked", float64(checked), "count")
		r.add("copies wrong or missing", float64(wrong), "count", Goal("==", 0, "design target"))
		r.check("every running node holds every running node's latest value", wrong == 0, "%d of %d copies wrong%s", wrong, checked, example)
	}
	r.check("state events show full convergence", ok, "after %v", took)
	r.Plots = append(r.Plots, Plot{
		Title:  "Application state: copies up to date after the last change",
		Kind:   "line",
		XLabel: "seconds after the last change",
		YLabel: "fraction of (holder, owner) pairs",
		Series: []Series{curve},
	})
	rn.mu.Unlock()
	return rn.finish(nil)
}
