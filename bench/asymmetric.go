package bench

import (
	"context"
	"fmt"
	"time"

	"github.com/hearsay-io/hearsay/engine"
	"github.com/hearsay-io/hearsay/ring"
)

// AsymmetricConfig configures RunAsymmetric.
type AsymmetricConfig struct {
	Options
	// Victims is how many nodes get a broken link. Default N/1000, at least
	// 1, at most 20.
	Victims int
	// Cut is how many of each victim's observers can no longer hear it: the
	// links victim → observer go down, one way, while observer → victim
	// keeps working. Default 1.
	Cut int
	// Warmup runs the healthy cluster before the links break. Default 5 s.
	Warmup time.Duration
	// Options.Duration is how long the links stay broken. Default 60 s.
}

// RunAsymmetric breaks, one way, the link from a few nodes to their
// observers (found from the monitoring topology every node computes, package
// ring): the observer stops receiving heartbeats and acks while its pings
// still arrive. Indirect probes through other members must keep the victims
// alive.
//
// Target: a node behind a bad link to its observer is not
// declared dead.
func RunAsymmetric(ctx context.Context, cfg AsymmetricConfig) (*Result, error) {
	rn, err := newRun(ctx, cfg.Options, "asymmetric", "Asymmetric link to an observer", 8)
	if err != nil {
		return nil, err
	}
	ec := rn.o.engineConfig()
	setDefault(&cfg.Victims, min(max(1, rn.o.N/1000), 20))
	cfg.Victims = min(cfg.Victims, rn.o.N/4)
	setDefault(&cfg.Cut, 1)
	cfg.Cut = min(cfg.Cut, ec.Observers)
	setDefault(&cfg.Warmup, 5*time.Second)
	d := rn.o.durationOr(60 * time.Second)
	r := rn.r
	r.param("victims", cfg.Victims)
	r.param("observers cut off per victim", cfg.Cut)
	r.param("warm-up", cfg.Warmup)
	r.param("duration", d)
	rn.plan = cfg.Warmup + d

	n := rn.o.N
	isVictim := make([]bool, n)
	var broken bool
	var victimDeaths, otherDeaths, victimSuspects int
	first := ""
	onEvent := func(node int, e engine.Event) {
		if e.Type != engine.EventDead && e.Type != engine.EventSuspect {
			return
		}
		rn.mu.Lock()
		defer rn.mu.Unlock()
		j, ok := rn.c.Index(e.Member.ID)
		if !ok || !broken {
			return
		}
		switch {
		case e.Type == engine.EventSuspect:
			if isVictim[j] {
				victimSuspects++
			}
		case isVictim[j]:
			victimDeaths++
			if first == "" {
				first = fmt.Sprintf("node %d declared victim %d dead at %v", node, j, rn.c.Elapsed(e.At))
			}
		default:
			otherDeaths++
		}
	}
	if err := rn.buildWarm(cfg.Warmup, onEvent); err != nil {
		return rn.finish(err)
	}
	c := rn.c
	ids := make([]uint64, n)
	for i := range ids {
		ids[i] = uint64(c.ID(i))
	}
	topo := ring.NewTopology(ids)
	rng := rn.o.rng(0xa5f0)
	var victims []int
	for len(victims) < cfg.Victims {
		v := rng.IntN(n)
		if !isVictim[v] {
			isVictim[v] = true
			victims = append(victims, v)
		}
	}
	cuts := 0
	var obs []uint64
	for _, v := range victims {
		obs = topo.Observers(ids[v], cfg.Cut, obs[:0])
		for _, o := range obs {
			j, _ := c.Index(engine.ID(o))
			if err := c.SetLinkDown(v, j, true); err != nil {
				return rn.finish(err)
			}
			cuts++
		}
	}
	before := rn.sumStats()
	rn.mu.Lock()
	broken = true
	rn.mu.Unlock()
	rn.progress(fmt.Sprintf("%d links down", cuts))
	err = rn.advance(d)

	rn.mu.Lock()
	st := rn.sumStats().sub(before)
	secs := d.Seconds()
	aliveEverywhere := 0
	for _, v := range victims {
		ok := true
		for i := 0; i < n && ok; i++ {
			if m, found := c.Member(i, v); i != v && c.Running(i) && (!found || !m.State.Live()) {
				ok = false
			}
		}
		if ok {
			aliveEverywhere++
		}
	}
	r.add("links cut (one way)", float64(cuts), "count")
	r.add("victims declared dead", float64(victimDeaths), "count", Goal("==", 0, "design target"))
	r.add("other nodes declared dead", float64(otherDeaths), "count", Goal("==", 0, "no node fails"))
	r.add("victims live in every view at the end", float64(aliveEverywhere), "count", Goal(">=", float64(len(victims)), "all"))
	r.add("suspect events about victims", float64(victimSuspects), "count")
	r.add("indirect probes, whole cluster, per minute", float64(st.IndirectProbes)/secs*60, "1/min")
	detail := fmt.Sprintf("%d dead events about victims", victimDeaths)
	if first != "" {
		detail += "; first: " + first
	}
	r.check("no victim declared dead", victimDeaths == 0, "%s", detail)
	r.check("no other node declared dead", otherDeaths == 0, "%d dead events", otherDeaths)
	r.check("victims live in every view", aliveEverywhere == len(victims), "%d of %d", aliveEverywhere, len(victims))
	rn.mu.Unlock()
	return rn.finish(err)
}
