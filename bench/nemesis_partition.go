package bench

import (
	"context"
	"fmt"
	"time"

	"github.com/hearsay-io/hearsay/engine"
)

// NemesisOneWayConfig configures RunNemesisOneWay.
type NemesisOneWayConfig struct {
	Options
	// Warmup runs the healthy cluster first. Default 5 s.
	Warmup time.Duration
	// HealLimit bounds the wait, after the links are restored, for every
	// node to see every node alive. Default 40 s.
	HealLimit time.Duration
	// Check is how often views are sampled after the heal. Default 250 ms.
	Check time.Duration
	// Options.Duration is how long the cut lasts. Default 60 s.
}

// RunNemesisOneWay splits the nodes into two random halves A and B and
// drops everything A sends to B, while B's datagrams still reach A — a
// one-way partition, as a misconfigured firewall or a broken route makes —
// then restores the links and measures how long until every node sees
// every node alive.
//
// False death: a dead event at observer O about a running member X of O's
// own side (including a verdict of the other side that O adopts by
// gossip). Deaths across the cut, in either direction, during the cut and
// for a minute after it, are reported and excused: O in B cannot hear X in
// A; O in A cannot reach X in B, so cannot probe it, and X, which hears
// nothing from A, takes A for dead and stops sending its heartbeats there.
// Targets (issue "accuracy under real faults": "about 14,000 deaths of
// nodes by nodes on their own side"): 0 false deaths; every node sees
// every node alive within 10 s of the heal.
func RunNemesisOneWay(ctx context.Context, cfg NemesisOneWayConfig) (*Result, error) {
	nm, err := newNemesis(ctx, cfg.Options, "nemesis-one-way", "Nemesis: one-way partition", 4, featCut)
	if err != nil {
		return nil, err
	}
	setDefault(&cfg.Warmup, 5*time.Second)
	setDefault(&cfg.HealLimit, 40*time.Second)
	setDefault(&cfg.Check, 250*time.Millisecond)
	d := nm.o.durationOr(60 * time.Second)
	r := nm.r
	r.param("cut", d)
	r.param("heal limit", cfg.HealLimit)
	nm.plan = cfg.Warmup + d + 10*time.Second

	n := nm.o.N
	perm := nm.o.rng(0x0e3a).Perm(n)
	a, b := perm[:n/2], perm[n/2:]
	side := make([]int8, n) // 0: A, 1: B
	for _, v := range b {
		side[v] = 1
	}
	healed := false
	var sameSide, aAboutB, bAboutA, afterHeal, selfDead int
	nm.hook = func(node int, e engine.Event, t time.Duration, v verdict) {
		if e.Type == engine.EventSelfDead {
			selfDead++
			return
		}
		if _, ok := nm.c.Index(e.Member.ID); !ok || e.Type != engine.EventDead {
			return
		}
		switch {
		case v == verdictCut && side[node] == 0:
			aAboutB++
		case v == verdictCut:
			bAboutA++
		case v == verdictFalse:
			sameSide++
		}
		if v == verdictFalse && healed {
			afterHeal++
		}
	}
	if err := nm.build(cfg.Warmup); err != nil {
		return nm.finish(err)
	}
	heal, err := nm.oneWay(a, b)
	if err != nil {
		return nm.finish(err)
	}
	nm.progress(fmt.Sprintf("A (%d nodes) cannot reach B (%d)", len(a), len(b)))
	if err := nm.runFor(d); err != nil {
		return nm.finish(err)
	}
	if err := heal(); err != nil {
		return nm.finish(err)
	}
	nm.mu.Lock()
	healed = true
	nm.mu.Unlock()
	nm.progress("healed")
	took, ok, err := nm.runWhile(cfg.HealLimit, cfg.Check, nm.allSeeAll)
	nm.mu.Lock()
	defer nm.mu.Unlock()
	const src = "issue: accuracy under real faults"
	nm.addNodeHours()
	nm.addFalseDeaths("false deaths", src)
	r.add("false deaths within a side", float64(sameSide), "count")
	r.add("false deaths after the heal", float64(afterHeal), "count")
	r.add("deaths across the cut: A nodes at B nodes (B cannot hear A)", float64(bAboutA), "count")
	r.add("deaths across the cut: B nodes at A nodes (A cannot reach B)", float64(aAboutB), "count")
	r.add("self-dead events (nodes told they are dead)", float64(selfDead), "count")
	healFig := took.Seconds()
	if !ok {
		healFig = nan()
	}
	r.add("all see all after the heal", healFig, "s", Goal("<=", 10, src))
	r.check("every node sees every node alive after the heal", ok, "after %v (limit %v)", took, cfg.HealLimit)
	return nm.finish(err)
}

// NemesisSplitConfig configures RunNemesisSplit.
type NemesisSplitConfig struct {
	Options
	// Groups is how many groups the cluster splits into. Default 3.
	Groups int
	// Warmup runs the healthy cluster first. Default 5 s.
	Warmup time.Duration
	// HealLimit bounds the wait, after the heal, for every node to see
	// every node alive. Default 40 s.
	HealLimit time.Duration
	// Check is how often views are sampled. Default 250 ms.
	Check time.Duration
	// Options.Duration is how long the split lasts. Default 60 s.
}

// RunNemesisSplit splits the cluster into three random groups that cannot
// reach each other, long enough for each to declare the others dead, then
// heals it and measures reconvergence.
//
// False death: a dead event at observer O about a running member X of O's
// own group, at any time — during the split, or after the heal when O
// adopts another group's stale verdict about X. Dead events about members
// of other groups, during the split and for a minute after the heal, are
// excused and reported. Targets (issue "accuracy under real faults"): 0
// false deaths; every node sees every node alive within 10 s of the heal.
// Reported: dead events per node from the heal until every node sees
// every node.
func RunNemesisSplit(ctx context.Context, cfg NemesisSplitConfig) (*Result, error) {
	nm, err := newNemesis(ctx, cfg.Options, "nemesis-split", "Nemesis: three-way split and heal", 6, featCut)
	if err != nil {
		return nil, err
	}
	setDefault(&cfg.Groups, 3)
	cfg.Groups = min(cfg.Groups, nm.o.N/2)
	setDefault(&cfg.Warmup, 5*time.Second)
	setDefault(&cfg.HealLimit, 40*time.Second)
	setDefault(&cfg.Check, 250*time.Millisecond)
	d := nm.o.durationOr(60 * time.Second)
	r := nm.r
	r.param("groups", cfg.Groups)
	r.param("split", d)
	r.param("heal limit", cfg.HealLimit)
	nm.plan = cfg.Warmup + d + 10*time.Second

	n := nm.o.N
	group := make([]int, n)
	groups := make([][]int, cfg.Groups)
	for k, v := range nm.o.rng(0x3ea1).Perm(n) {
		g := k * cfg.Groups / n
		group[v] = g
		groups[g] = append(groups[g], v)
	}
	healed, reconverged := false, false
	var during, after, across, reconvDead int
	nm.hook = func(node int, e engine.Event, t time.Duration, v verdict) {
		if e.Type != engine.EventDead {
			return
		}
		if healed && !reconverged {
			reconvDead++
		}
		switch {
		case v == verdictCut:
			across++
		case v != verdictFalse:
		case healed:
			after++
		default:
			during++
		}
	}
	if err := nm.build(cfg.Warmup); err != nil {
		return nm.finish(err)
	}
	heal, err := nm.partition(groups, true)
	if err != nil {
		return nm.finish(err)
	}
	splitAt := nm.c.Now()
	separated := time.Duration(-1)
	nm.progress(fmt.Sprintf("split in %d", cfg.Groups))
	for nm.c.Now()-splitAt < d {
		if err := nm.runFor(min(time.Second, d-(nm.c.Now()-splitAt))); err != nil {
			return nm.finish(err)
		}
		if separated < 0 {
			own := 0
			for i := 0; i < n; i++ {
				if live, _ := nm.c.NumMembers(i); live == len(groups[group[i]]) {
					own++
				}
			}
			if own == n {
				separated = nm.c.Now() - splitAt
			}
		}
	}
	if err := heal(); err != nil {
		return nm.finish(err)
	}
	nm.mu.Lock()
	healed = true
	nm.mu.Unlock()
	nm.progress("healed")
	took, ok, err := nm.runWhile(cfg.HealLimit, cfg.Check, nm.allSeeAll)
	nm.mu.Lock()
	defer nm.mu.Unlock()
	reconverged = true
	const src = "issue: accuracy under real faults"
	nm.addNodeHours()
	nm.addFalseDeaths("false deaths (about members of the observer's group)", src)
	r.add("false deaths during the split", float64(during), "count")
	r.add("false deaths after the heal (stale verdicts adopted)", float64(after), "count")
	r.add("deaths across groups", float64(across), "count")
	sep := nan()
	if separated >= 0 {
		sep = separated.Seconds()
	} else {
		r.note("The groups had not fully declared each other dead when the split ended.")
	}
	r.add("groups separated (each sees only itself)", sep, "s")
	healFig := took.Seconds()
	if !ok {
		healFig = nan()
	}
	r.add("all see all after the heal", healFig, "s", Goal("<=", 10, src))
	r.add("dead events per node during reconvergence", float64(reconvDead)/float64(n), "count")
	r.check("every node sees every node alive after the heal", ok, "after %v (limit %v)", took, cfg.HealLimit)
	return nm.finish(err)
}
