package bench

import (
	"context"
	"fmt"
	"math"
	"time"

	"github.com/hearsay-io/hearsay/engine"
)

// FlakyConfig configures RunFlaky.
type FlakyConfig struct {
	Options
	// Fraction is the share of nodes that turn flaky (at least one).
	// Default 1%.
	Fraction float64
	// NodeLoss is the loss a flaky node suffers on every datagram it sends
	// and, independently, on every one it receives. Default 80%.
	NodeLoss float64
	// Warmup runs the healthy cluster before the faults start. Default 5 s.
	Warmup time.Duration
	// Options.Duration is how long the faults last, measured to the end.
	// Default 90 s.
}

// RunFlaky makes a few nodes lose most of their traffic and checks that the
// cluster removes each of them once and for good — no oscillation between
// dead and alive — and removes no healthy node.
//
// Target: 1% of nodes at 80% loss removed once, no oscillation,
// no healthy node removed.
func RunFlaky(ctx context.Context, cfg FlakyConfig) (*Result, error) {
	rn, err := newRun(ctx, cfg.Options, "flaky", "Flaky nodes", 4)
	if err != nil {
		return nil, err
	}
	setDefault(&cfg.Fraction, 0.01)
	setDefault(&cfg.NodeLoss, 0.8)
	setDefault(&cfg.Warmup, 5*time.Second)
	d := rn.o.durationOr(90 * time.Second)
	n := rn.o.N
	count := min(max(1, int(math.Round(cfg.Fraction*float64(n)))), n/2)
	r := rn.r
	r.param("flaky nodes", count)
	r.param("their loss", fmt.Sprintf("%g%% each way", cfg.NodeLoss*100))
	r.param("warm-up", cfg.Warmup)
	r.param("duration", d)
	rn.plan = cfg.Warmup + d

	rng := rn.o.rng(0xf1a4)
	slot := make([]int, n) // node → index among flaky nodes, or −1
	for i := range slot {
		slot[i] = -1
	}
	flaky := make([]int, 0, count)
	for len(flaky) < count {
		v := rng.IntN(n)
		if slot[v] < 0 {
			slot[v] = len(flaky)
			flaky = append(flaky, v)
		}
	}
	deaths := make([][]uint8, count)     // [flaky][observer] dead events
	lastDead := make([][]float32, count) // [flaky][observer] seconds since the faults began
	for k := range deaths {
		deaths[k] = make([]uint8, n)
		lastDead[k] = make([]float32, n)
	}
	var faultAt time.Duration
	faulty := false
	var healthyDeaths, deathsAtFlaky, aliveAgain int
	firstHealthy, firstAgain := "", ""
	cameBack := make(map[int]int) // flaky node → alive-again events about it
	onEvent := func(node int, e engine.Event) {
		switch e.Type {
		case engine.EventDead, engine.EventAlive, engine.EventJoin:
		default:
			return
		}
		rn.mu.Lock()
		defer rn.mu.Unlock()
		j, ok := rn.c.Index(e.Member.ID)
		if !ok || !faulty {
			return
		}
		k := slot[j]
		switch {
		case slot[node] >= 0:
			if e.Type == engine.EventDead {
				deathsAtFlaky++
			}
		case k < 0:
			if e.Type == engine.EventDead {
				healthyDeaths++
				if firstHealthy == "" {
					firstHealthy = fmt.Sprintf("node %d declared healthy node %d dead at %v", node, j, rn.c.Elapsed(e.At))
				}
			}
		case e.Type == engine.EventDead:
			if deaths[k][node] < math.MaxUint8 {
				deaths[k][node]++
			}
			lastDead[k][node] = float32((rn.c.Elapsed(e.At) - faultAt).Seconds())
		case deaths[k][node] > 0:
			aliveAgain++
			cameBack[j]++
			if firstAgain == "" {
				firstAgain = fmt.Sprintf("node %d saw flaky node %d %v again at %v (incarnation %d, generation %d), %.2fs after the faults began and %.2fs after it had seen it dead",
					node, j, e.Type, rn.c.Elapsed(e.At), e.Member.Incarnation, e.Member.Generation,
					(rn.c.Elapsed(e.At) - faultAt).Seconds(), (rn.c.Elapsed(e.At)-faultAt).Seconds()-float64(lastDead[k][node]))
			}
		}
	}
	if err := rn.buildWarm(cfg.Warmup, onEvent); err != nil {
		return rn.finish(err)
	}
	c := rn.c
	rn.mu.Lock()
	faulty, faultAt = true, c.Now()
	rn.mu.Unlock()
	for _, v := range flaky {
		if err := c.SetNodeLoss(v, cfg.NodeLoss); err != nil {
			return rn.finish(err)
		}
	}
	rn.progress(fmt.Sprintf("%d nodes at %g%% loss", count, cfg.NodeLoss*100))
	err = rn.advance(d)

	rn.mu.Lock()
	var detail string
	var removal Histogram
	removed, maxDeaths := 0, 0
	for k, v := range flaky {
		everywhere := true
		last := 0.0
		for i := 0; i < n; i++ {
			if slot[i] >= 0 || !c.Running(i) {
				continue
			}
			maxDeaths = max(maxDeaths, int(deaths[k][i]))
			if m, ok := c.Member(i, v); ok && m.State.Live() {
				everywhere = false
				continue
			}
			last = max(last, float64(lastDead[k][i]))
		}
		if everywhere {
			removed++
			removal.Add(last)
		}
	}
	r.add("flaky nodes", float64(count), "count")
	r.add("flaky nodes removed everywhere", float64(removed), "count", Goal(">=", float64(count), "design target: all"))
	r.addDist("time until removed everywhere", &removal, "s", nil, nil)
	r.add("most deaths of one flaky node at one observer", float64(maxDeaths), "count", Goal("<=", 1, "design target: removed once"))
	r.add("flaky nodes seen alive again after death", float64(aliveAgain), "count", Goal("==", 0, "design target: no oscillation"))
	r.add("healthy nodes declared dead", float64(healthyDeaths), "count", Goal("==", 0, "design target"))
	r.add("deaths declared by flaky nodes", float64(deathsAtFlaky), "count")
	r.check("every flaky node removed everywhere", removed == count, "%d of %d removed by every healthy node", removed, count)
	r.add("flaky nodes that came back alive somewhere", float64(len(cameBack)), "count", Goal("==", 0, "design target: no oscillation"))
	detail = fmt.Sprintf("%d alive-again events about %d flaky nodes; at most %d deaths of one flaky node at one observer", aliveAgain, len(cameBack), maxDeaths)
	if firstAgain != "" {
		detail += "; first: " + firstAgain
	}
	r.check("no oscillation", aliveAgain == 0 && maxDeaths <= 1, "%s", detail)
	detail = fmt.Sprintf("%d dead events about healthy nodes at healthy nodes", healthyDeaths)
	if firstHealthy != "" {
		detail += "; first: " + firstHealthy
	}
	r.check("no healthy node removed", healthyDeaths == 0, "%s", detail)
	r.Plots = append(r.Plots, Plot{
		Title:  "Time until each flaky node is removed everywhere (CDF)",
		Kind:   "step",
		XLabel: "seconds after the faults began",
		YLabel: "fraction of flaky nodes",
		Series: []Series{{Name: "removed everywhere", Points: removal.CDF(200)}},
	})
	rn.mu.Unlock()
	return rn.finish(err)
}
