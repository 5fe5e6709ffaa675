package bench

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"github.com/hearsay-io/hearsay/engine"
	"github.com/hearsay-io/hearsay/netio"
)

// The fault kinds of the nemesis mix.
const (
	MixLoss       = "loss"        // 10%, 20% or 30% loss on every link, 45 s
	MixBursts     = "bursts"      // 2 s bursts of 80% or 90% loss every 30 s, 2 min
	MixBlips      = "blips"       // 10 nodes cut off for 1–3 s, one at a time, over 60 s
	MixOneWay     = "one-way"     // half the nodes cannot reach the other half, 60 s
	MixSplit      = "split"       // a three-way partition, 60 s
	MixGray       = "gray"        // 5% of nodes at 50% loss each way, 90 s
	MixFlaky      = "flaky"       // 5% of nodes at 80% loss each way, 90 s
	MixSlow       = "slow"        // 5% of nodes delayed 0.5–2 s each way, 90 s
	MixMassCrash  = "mass-crash"  // 30% of nodes killed at once, restarted 30 s later
	MixDupReorder = "dup-reorder" // 5% duplicated, 10% reordered by 10 ms, 60 s
	MixStalls     = "stalls"      // 10% of nodes pausing 200–800 ms every 2–5 s, 90 s
)

// mixKinds is every kind, in a fixed order; mixBackground those that may
// run beside another as a background fault.
var (
	mixKinds = []string{MixLoss, MixBursts, MixBlips, MixOneWay, MixSplit, MixGray, MixFlaky,
		MixSlow, MixMassCrash, MixDupReorder, MixStalls}
	mixBackground = []string{MixLoss, MixDupReorder, MixStalls, MixSlow, MixGray}
)

// mixFeature is what each kind needs from the driver.
var mixFeature = map[string]feature{
	MixLoss: featLinkLoss, MixBursts: featLinkLoss, MixBlips: featCut, MixOneWay: featCut,
	MixSplit: featCut, MixGray: featNodeLoss, MixFlaky: featNodeLoss, MixSlow: featNodeDelay,
	MixMassCrash: featCrash, MixDupReorder: featDupReorder, MixStalls: featPause,
}

// NemesisMixConfig configures RunNemesisMix.
type NemesisMixConfig struct {
	Options
	// Kinds are the faults drawn from (the Mix constants). Default every
	// kind the driver can inject.
	Kinds []string
	// Background is the probability that an episode also runs a second,
	// background fault (loss, duplication and reordering, stalls, slow or
	// gray nodes) that does not conflict with the first. Default 0.5;
	// negative means never.
	Background float64
	// Warmup runs the healthy cluster first. Default 10 s.
	Warmup time.Duration
	// Gap is the quiet time after each episode. Default 30 s.
	Gap time.Duration
	// Settle bounds the wait, after the last episode, for every running
	// node to see every running node alive. Default 2 minutes.
	Settle time.Duration
	// Options.Duration is the cluster time of the schedule of episodes and
	// gaps. Default 30 minutes; at N = 1,000, 10h15m gives the 10,000
	// node-hours of the issue.
}

// RunNemesisMix runs the faults of the other nemesis scenarios one
// episode after another, drawn at random, each alone or with a
// background fault, with a quiet gap after each, over a long run, and
// counts false deaths of live, reachable nodes against the node-hours
// run.
//
// False death (see NemesisScenarios): a dead event at observer O about a
// running process X that O could hear, neither being a gray or flaky node,
// at the event's time and for the minute before it. Targets (issue
// "accuracy under real faults"): 0 false deaths over at least 10,000
// node-hours at N ≥ 1,000. Also checked: every running node sees every
// running node alive after the last episode.
func RunNemesisMix(ctx context.Context, cfg NemesisMixConfig) (*Result, error) {
	o := cfg.Options.withDefaults()
	if len(cfg.Kinds) == 0 {
		for _, k := range mixKinds {
			if supports(o.Driver, mixFeature[k]) {
				cfg.Kinds = append(cfg.Kinds, k)
			}
		}
	}
	var fs []feature
	for _, k := range cfg.Kinds {
		f, ok := mixFeature[k]
		if !ok {
			return nil, fmt.Errorf("bench: unknown nemesis mix kind %q (have %s)", k, strings.Join(mixKinds, ", "))
		}
		fs = append(fs, f)
	}
	nm, err := newNemesis(ctx, cfg.Options, "nemesis-mix", "Nemesis mix", 10, fs...)
	if err != nil {
		return nil, err
	}
	if cfg.Background < 0 {
		cfg.Background = 0
	} else if cfg.Background == 0 {
		cfg.Background = 0.5
	}
	setDefault(&cfg.Warmup, 10*time.Second)
	setDefault(&cfg.Gap, 30*time.Second)
	setDefault(&cfg.Settle, 2*time.Minute)
	d := nm.o.durationOr(30 * time.Minute)
	r := nm.r
	r.param("kinds", strings.Join(cfg.Kinds, ", "))
	r.param("background", cfg.Background)
	r.param("gap", cfg.Gap)
	r.param("schedule", d)
	nm.plan = cfg.Warmup + d

	label := "warm-up"
	falseBy := make(map[string]int)
	excusedCut, excusedImpaired := 0, 0
	nm.hook = func(node int, e engine.Event, t time.Duration, v verdict) {
		switch v {
		case verdictFalse:
			falseBy[label]++
		case verdictCut:
			excusedCut++
		case verdictImpaired:
			excusedImpaired++
		}
	}
	if err := nm.build(cfg.Warmup); err != nil {
		return nm.finish(err)
	}
	rng := nm.o.rng(0x313c)
	episodes := make(map[string]int)
	var bgKinds []string
	for _, k := range mixBackground {
		if slices.Contains(cfg.Kinds, k) {
			bgKinds = append(bgKinds, k)
		}
	}
	end := nm.c.Now() + d
	count := 0
	episode := func() error {
		kind := cfg.Kinds[rng.IntN(len(cfg.Kinds))]
		bg := ""
		if rng.Float64() < cfg.Background {
			var ok []string
			for _, k := range bgKinds {
				if k != kind && !(k == MixLoss && kind == MixBursts) {
					ok = append(ok, k)
				}
			}
			if len(ok) > 0 {
				bg = ok[rng.IntN(len(ok))]
			}
		}
		epEnd := min(nm.c.Now()+mixLength(kind), end)
		busy := make([]bool, nm.c.Len())
		name := kind
		if bg != "" {
			name += " + " + bg
		}
		count++
		episodes[kind]++
		nm.mu.Lock()
		label = name
		nm.mu.Unlock()
		nm.progress(fmt.Sprintf("episode %d: %s", count, name))
		stop, err := nm.mixFault(kind, rng, busy, epEnd)
		if err != nil {
			return err
		}
		stopBg := func() error { return nil }
		if bg != "" {
			if stopBg, err = nm.mixFault(bg, rng, busy, epEnd); err != nil {
				return err
			}
		}
		if err := nm.runUntil(epEnd); err != nil {
			return err
		}
		if err := stop(); err != nil {
			return err
		}
		if err := stopBg(); err != nil {
			return err
		}
		nm.mu.Lock()
		label = "after " + name
		nm.mu.Unlock()
		return nm.runUntil(min(nm.c.Now()+cfg.Gap, end))
	}
	for err == nil && nm.c.Now() < end {
		err = episode()
	}
	// A run cut short (cancelled) still reports what it measured.
	took, settled := time.Duration(0), false
	if err == nil {
		nm.mu.Lock()
		label = "settling"
		nm.mu.Unlock()
		nm.progress("settling")
		took, settled, err = nm.runWhile(cfg.Settle, time.Second, nm.allSeeAll)
	}

	nm.mu.Lock()
	defer nm.mu.Unlock()
	const src = "issue: accuracy under real faults"
	nh := nm.or.nodeHours(nm.c.Now())
	r.add("node-hours", nh, "h", Goal(">=", 10000, src+" (at N ≥ 1,000)"))
	r.add("episodes", float64(count), "count")
	nm.addFalseDeaths("false deaths of live reachable nodes", src)
	r.add("false deaths per 1,000 node-hours", 1000*float64(nm.or.counts[verdictFalse])/nh, "count")
	r.add("deaths excused by cuts", float64(excusedCut), "count")
	r.add("deaths excused by gray or flaky nodes", float64(excusedImpaired), "count")
	r.add("deaths of crashed processes", float64(nm.or.counts[verdictCrashed]), "count")
	settle := took.Seconds()
	if !settled {
		settle = nan()
	}
	r.add("all see all after the last episode", settle, "s")
	r.check("every running node sees every running node alive at the end", settled, "after %v (limit %v)", took, cfg.Settle)
	var ks []string
	for k := range episodes {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	var parts []string
	for _, k := range ks {
		parts = append(parts, fmt.Sprintf("%s %d", k, episodes[k]))
	}
	r.note("Episodes by kind: %s.", strings.Join(parts, ", "))
	if len(falseBy) > 0 {
		ks = ks[:0]
		for k := range falseBy {
			ks = append(ks, k)
		}
		slices.Sort(ks)
		parts = parts[:0]
		for _, k := range ks {
			parts = append(parts, fmt.Sprintf("%s: %d", k, falseBy[k]))
		}
		r.note("False deaths by episode: %s.", strings.Join(parts, "; "))
	}
	return nm.finish(err)
}

// mixLength is how long an episode of a kind lasts.
func mixLength(kind string) time.Duration {
	switch kind {
	case MixLoss:
		return 45 * time.Second
	case MixBursts:
		return 2 * time.Minute
	case MixBlips, MixOneWay, MixSplit, MixDupReorder:
		return 60 * time.Second
	case MixMassCrash:
		return 30 * time.Second
	}
	return 90 * time.Second
}

// mixFault starts a fault of the kind until end, on nodes not busy (which
// it marks), and returns the function that ends it.
func (nm *nemesis) mixFault(kind string, rng *rand.Rand, busy []bool, end time.Duration) (func() error, error) {
	n := nm.c.Len()
	free := func(v int) bool { return !busy[v] && nm.or.up(v) && !nm.paused[v] }
	take := func(f float64) []int {
		nodes := pick(rng, n, fractionOf(f, n), free)
		for _, v := range nodes {
			busy[v] = true
		}
		return nodes
	}
	switch kind {
	case MixLoss:
		before := nm.link.Loss
		if err := nm.setLinkLoss([]float64{0.1, 0.2, 0.3}[rng.IntN(3)]); err != nil {
			return nil, err
		}
		return func() error { return nm.setLinkLoss(before) }, nil
	case MixBursts:
		_, stop := nm.bursts([]float64{0.8, 0.9}, 2*time.Second, 30*time.Second, end)
		return stop, nil
	case MixBlips:
		const blips = 10
		step := max((end-nm.c.Now())/blips, 4*time.Second)
		cancel := new(bool)
		for k := range blips {
			at := nm.c.Now() + time.Duration(k)*step
			length := time.Duration(1+k%3) * time.Second
			if at+length > end {
				break
			}
			nm.at(at, cancel, func() error {
				vs := pick(rng, n, 1, free)
				if len(vs) == 0 {
					return nil
				}
				return nm.blip(vs[0], length)
			})
		}
		return func() error { *cancel = true; return nil }, nil
	case MixOneWay:
		perm := rng.Perm(n)
		return nm.oneWay(perm[:n/2], perm[n/2:])
	case MixSplit:
		groups := make([][]int, 3)
		for k, v := range rng.Perm(n) {
			groups[k*3/n] = append(groups[k*3/n], v)
		}
		return nm.partition(groups, true)
	case MixGray, MixFlaky:
		p := 0.5
		if kind == MixFlaky {
			p = 0.8
		}
		return nm.impair(take(0.05), p)
	case MixSlow:
		return nm.slow(take(0.05), netio.Latency{Base: 500 * time.Millisecond, Jitter: 1500 * time.Millisecond, Shape: netio.Uniform})
	case MixDupReorder:
		l := nm.link
		l.Duplicate, l.Reorder, l.ReorderDelay = 0.05, 0.10, 10*time.Millisecond
		if err := nm.setLink(l); err != nil {
			return nil, err
		}
		return func() error {
			l := nm.link
			l.Duplicate, l.Reorder, l.ReorderDelay = 0, 0, 0
			return nm.setLink(l)
		}, nil
	case MixStalls:
		return nm.stalls(take(0.10), rng, 200*time.Millisecond, 800*time.Millisecond, 2*time.Second, 5*time.Second, end, nil), nil
	case MixMassCrash:
		victims := take(0.3)
		for _, v := range victims {
			if err := nm.crash(v); err != nil {
				return nil, err
			}
		}
		return func() error {
			seeds := pick(rng, n, 3, free)
			for _, v := range victims {
				if err := nm.restart(v, seeds); err != nil {
					return err
				}
			}
			return nil
		}, nil
	}
	return nil, fmt.Errorf("bench: unknown nemesis mix kind %q", kind)
}
