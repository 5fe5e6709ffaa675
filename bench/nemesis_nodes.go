package bench

import (
	"context"
	"fmt"
	"math"
	"time"

	"github.com/hearsay-io/hearsay/engine"
	"github.com/hearsay-io/hearsay/netio"
)

// NemesisLossyConfig configures RunNemesisGray and RunNemesisFlaky.
type NemesisLossyConfig struct {
	Options
	// Fraction is the share of nodes that lose traffic (at least one).
	// Default 5%.
	Fraction float64
	// NodeLoss is the loss each such node suffers on every datagram it
	// sends and, independently, on every one it receives. Default 50%
	// (gray) or 80% (flaky).
	NodeLoss float64
	// Warmup runs the healthy cluster first. Default 5 s.
	Warmup time.Duration
	// Options.Duration is how long the faults last, measured to the end.
	// Default 90 s.
}

// RunNemesisGray gives 5% of the nodes 50% loss each way — gray failures:
// nodes that work, badly — for 90 s. Whether the cluster keeps them or
// removes them is a policy; flapping between the two is a bug.
//
// A gray node is excused as a member and as an observer: a dead event
// about it, or declared by it, is not false. False death: a dead event at
// a healthy observer about a healthy running node. Targets (issue
// "accuracy under real faults"): 0 false deaths; 0 flapping — no healthy
// observer sees a gray node alive again (alive or join event) after it
// declared it dead. Reported: gray nodes removed everywhere, live
// everywhere, or in mixed views at the end, and the most deaths of one
// gray node at one observer.
func RunNemesisGray(ctx context.Context, cfg NemesisLossyConfig) (*Result, error) {
	setDefault(&cfg.NodeLoss, 0.5)
	return runLossyNodes(ctx, cfg, "nemesis-gray", "Nemesis: gray nodes", false)
}

// RunNemesisFlaky gives 5% of the nodes 80% loss each way for 90 s: nodes
// too broken to keep. The cluster must remove each of them once and for
// all while the fault lasts.
//
// A flaky node is excused as a member and as an observer. False death: a
// dead event at a healthy observer about a healthy running node. Targets
// (issue "accuracy under real faults"): every flaky node removed (dead at
// every healthy node) by the end; 0 alive-again events — no healthy
// observer sees a flaky node alive again after it declared it dead; 0
// false deaths.
func RunNemesisFlaky(ctx context.Context, cfg NemesisLossyConfig) (*Result, error) {
	setDefault(&cfg.NodeLoss, 0.8)
	return runLossyNodes(ctx, cfg, "nemesis-flaky", "Nemesis: flaky nodes", true)
}

func runLossyNodes(ctx context.Context, cfg NemesisLossyConfig, name, title string, mustRemove bool) (*Result, error) {
	nm, err := newNemesis(ctx, cfg.Options, name, title, 4, featNodeLoss)
	if err != nil {
		return nil, err
	}
	if cfg.NodeLoss > 1 {
		return nil, fmt.Errorf("bench: NodeLoss must be at most 1, got %v", cfg.NodeLoss)
	}
	setDefault(&cfg.Fraction, 0.05)
	setDefault(&cfg.Warmup, 5*time.Second)
	d := nm.o.durationOr(90 * time.Second)
	n := nm.o.N
	count := fractionOf(cfg.Fraction, n)
	r := nm.r
	r.param("nodes", count)
	r.param("their loss", pct(cfg.NodeLoss)+"% each way")
	r.param("for", d)
	nm.plan = cfg.Warmup + d

	nodes := pick(nm.o.rng(0x6a41), n, count, nil)
	slot := make([]int, n) // node → index in nodes, or −1
	for i := range slot {
		slot[i] = -1
	}
	for k, v := range nodes {
		slot[v] = k
	}
	deaths := make([][]uint8, count) // [impaired][observer]
	lastDead := make([][]float32, count)
	for k := range deaths {
		deaths[k] = make([]uint8, n)
		lastDead[k] = make([]float32, n)
	}
	faulty := false
	var faultAt time.Duration
	var aliveAgain, byImpaired, suspects int
	cameBack := make(map[int]bool)
	firstAgain := ""
	nm.hook = func(node int, e engine.Event, t time.Duration, v verdict) {
		if !faulty {
			return
		}
		x, ok := nm.c.Index(e.Member.ID)
		if !ok {
			return
		}
		if slot[node] >= 0 {
			if e.Type == engine.EventDead {
				byImpaired++
			}
			return
		}
		k := slot[x]
		if k < 0 {
			return
		}
		switch e.Type {
		case engine.EventSuspect:
			suspects++
		case engine.EventDead:
			if deaths[k][node] < math.MaxUint8 {
				deaths[k][node]++
			}
			lastDead[k][node] = float32((t - faultAt).Seconds())
		case engine.EventAlive, engine.EventJoin:
			if deaths[k][node] == 0 {
				return
			}
			aliveAgain++
			cameBack[x] = true
			if firstAgain == "" {
				firstAgain = fmt.Sprintf("node %d saw node %d %v again at %v (incarnation %d), %.1fs after it saw it dead",
					node, x, e.Type, t.Round(time.Millisecond), e.Member.Incarnation, (t-faultAt).Seconds()-float64(lastDead[k][node]))
			}
		}
	}
	if err := nm.build(cfg.Warmup); err != nil {
		return nm.finish(err)
	}
	nm.mu.Lock()
	faulty, faultAt = true, nm.c.Now()
	nm.mu.Unlock()
	if _, err := nm.impair(nodes, cfg.NodeLoss); err != nil {
		return nm.finish(err)
	}
	nm.progress(fmt.Sprintf("%d nodes at %s%% loss", count, pct(cfg.NodeLoss)))
	err = nm.runFor(d)

	nm.mu.Lock()
	defer nm.mu.Unlock()
	var removal Histogram
	removed, kept, maxDeaths := 0, 0, 0
	for k, v := range nodes {
		live, dead := 0, 0
		last := 0.0
		for i := 0; i < n; i++ {
			if slot[i] >= 0 || !nm.or.up(i) {
				continue
			}
			maxDeaths = max(maxDeaths, int(deaths[k][i]))
			if m, ok := nm.c.Member(i, v); ok && m.State.Live() {
				live++
				continue
			}
			dead++
			last = max(last, float64(lastDead[k][i]))
		}
		switch {
		case live == 0:
			removed++
			removal.Add(last)
		case dead == 0:
			kept++
		}
	}
	const src = "issue: accuracy under real faults"
	kind := "gray"
	if mustRemove {
		kind = "flaky"
	}
	r.add(kind+" nodes", float64(count), "count")
	nm.addNodeHours()
	if mustRemove {
		r.add(kind+" nodes removed everywhere", float64(removed), "count", Goal(">=", float64(count), src+": all"))
	} else {
		r.add(kind+" nodes removed everywhere", float64(removed), "count")
	}
	r.add(kind+" nodes live in every view", float64(kept), "count")
	r.add(kind+" nodes in mixed views", float64(count-removed-kept), "count")
	r.addDist("time until removed everywhere", &removal, "s", nil, nil)
	r.add("most deaths of one "+kind+" node at one observer", float64(maxDeaths), "count", Goal("<=", 1, src+": removed once"))
	r.add("alive-again events after death", float64(aliveAgain), "count", Goal("==", 0, src+": no flapping"))
	r.add(kind+" nodes seen alive again somewhere", float64(len(cameBack)), "count")
	r.add("suspect events about "+kind+" nodes", float64(suspects), "count")
	r.add("deaths declared by "+kind+" nodes", float64(byImpaired), "count")
	nm.addFalseDeaths("healthy nodes declared dead", src)
	detail := fmt.Sprintf("%d alive-again events about %d %s nodes; at most %d deaths of one at one observer", aliveAgain, len(cameBack), kind, maxDeaths)
	if firstAgain != "" {
		detail += "; first: " + firstAgain
	}
	r.check("no flapping", aliveAgain == 0, "%s", detail)
	if mustRemove {
		r.check("every flaky node removed everywhere", removed == count, "%d of %d removed by every healthy node", removed, count)
	}
	return nm.finish(err)
}

// NemesisSlowConfig configures RunNemesisSlow.
type NemesisSlowConfig struct {
	Options
	// Fraction is the share of slow nodes (at least one). Default 5%.
	Fraction float64
	// MinDelay and MaxDelay bound the delay added to every datagram a slow
	// node sends and every one it receives, drawn uniformly for each.
	// Default 0.5 s and 2 s.
	MinDelay, MaxDelay time.Duration
	// Warmup runs the healthy cluster first. Default 5 s.
	Warmup time.Duration
	// Tail runs the cluster after the delays end. Default 10 s.
	Tail time.Duration
	// Options.Duration is how long the nodes stay slow. Default 90 s.
}

// RunNemesisSlow makes 5% of the nodes slow: every datagram they send and
// every one they receive is delayed by 0.5–2 s (uniform), as on an
// overloaded host or a swapping VM, so that a round trip through one takes
// 1–4 s. Slow is not dead.
//
// False death: any dead event about a running process; slowness excuses
// nothing, at either end. Targets (issue "accuracy under real faults"): 0
// deaths of slow nodes; 0 false deaths. Reported: suspicions of slow
// nodes, and the round-trip times members measured to slow and to healthy
// nodes (engine.Core.RTT) at the end of the slow period.
func RunNemesisSlow(ctx context.Context, cfg NemesisSlowConfig) (*Result, error) {
	nm, err := newNemesis(ctx, cfg.Options, "nemesis-slow", "Nemesis: slow nodes", 4, featNodeDelay)
	if err != nil {
		return nil, err
	}
	setDefault(&cfg.Fraction, 0.05)
	setDefault(&cfg.MinDelay, 500*time.Millisecond)
	setDefault(&cfg.MaxDelay, 2*time.Second)
	cfg.MaxDelay = max(cfg.MaxDelay, cfg.MinDelay)
	setDefault(&cfg.Warmup, 5*time.Second)
	setDefault(&cfg.Tail, 10*time.Second)
	d := nm.o.durationOr(90 * time.Second)
	n := nm.o.N
	count := fractionOf(cfg.Fraction, n)
	r := nm.r
	r.param("slow nodes", count)
	r.param("delay each way", fmt.Sprintf("%v–%v", cfg.MinDelay, cfg.MaxDelay))
	r.param("for", d)
	nm.plan = cfg.Warmup + d + cfg.Tail

	rng := nm.o.rng(0x510e)
	nodes := pick(rng, n, count, nil)
	slow := make([]bool, n)
	for _, v := range nodes {
		slow[v] = true
	}
	var slowDeaths, suspects, firstHand int
	nm.hook = func(node int, e engine.Event, t time.Duration, v verdict) {
		x, ok := nm.c.Index(e.Member.ID)
		if !ok || !slow[x] {
			return
		}
		switch {
		case e.Type == engine.EventSuspect:
			suspects++
			if e.Witness == nm.c.ID(node) {
				firstHand++
			}
		case v == verdictFalse:
			slowDeaths++
		}
	}
	if err := nm.build(cfg.Warmup); err != nil {
		return nm.finish(err)
	}
	stop, err := nm.slow(nodes, netio.Latency{Base: cfg.MinDelay, Jitter: cfg.MaxDelay - cfg.MinDelay, Shape: netio.Uniform})
	if err != nil {
		return nm.finish(err)
	}
	nm.progress(fmt.Sprintf("%d slow nodes", count))
	if err := nm.runFor(d); err != nil {
		return nm.finish(err)
	}
	var toSlow, toHealthy Histogram
	pairs := 0
	if nm.fc != nil {
		for i := 0; i < n; i++ {
			if slow[i] || !nm.or.up(i) {
				continue
			}
			for _, j := range nodes {
				pairs++
				if d, ok := nm.fc.rtt(i, j); ok {
					toSlow.AddDuration(d)
				}
			}
			for range 3 {
				if j := rng.IntN(n); j != i && !slow[j] {
					if d, ok := nm.fc.rtt(i, j); ok {
						toHealthy.AddDuration(d)
					}
				}
			}
		}
	}
	if err := stop(); err != nil {
		return nm.finish(err)
	}
	nm.progress("tail")
	err = nm.runFor(cfg.Tail)
	nm.mu.Lock()
	defer nm.mu.Unlock()
	const src = "issue: accuracy under real faults"
	r.add("slow nodes", float64(count), "count")
	nm.addNodeHours()
	r.add("slow nodes declared dead", float64(slowDeaths), "count", Goal("==", 0, src))
	nm.addFalseDeaths("false deaths (slow or not)", src)
	r.add("suspect events about slow nodes", float64(suspects), "count")
	r.add("suspicions of slow nodes raised (first-hand)", float64(firstHand), "count")
	r.add("RTT measured to slow nodes p50", toSlow.P50(), "s", Ref((cfg.MinDelay+cfg.MaxDelay).Seconds(), "mean delay added to a round trip"))
	r.add("RTT measured to slow nodes p99", toSlow.P99(), "s")
	r.add("RTT measured to slow nodes max", toSlow.Max(), "s")
	measured := nan()
	if pairs > 0 {
		measured = 100 * float64(toSlow.Count()) / float64(pairs)
	}
	r.add("(observer, slow node) pairs with an RTT", measured, "%")
	r.add("RTT measured to healthy nodes p50", toHealthy.P50(), "s")
	r.add("RTT measured to healthy nodes p99", toHealthy.P99(), "s")
	return nm.finish(err)
}
