package bench

import (
	"context"
	"fmt"
	"time"

	"github.com/hearsay-io/hearsay/engine"
)

// NemesisStallsConfig configures RunNemesisStalls.
type NemesisStallsConfig struct {
	Options
	// Fraction is the share of nodes that stall (at least one). Default
	// 10%.
	Fraction float64
	// MinStall and MaxStall bound each stall, drawn uniformly. Default
	// 200 ms and 800 ms.
	MinStall, MaxStall time.Duration
	// MinGap and MaxGap bound the running time between two stalls of a
	// node, drawn uniformly. Default 2 s and 5 s.
	MinGap, MaxGap time.Duration
	// Warmup runs the healthy cluster first. Default 5 s.
	Warmup time.Duration
	// Tail runs the cluster after the last stall. Default 10 s.
	Tail time.Duration
	// Options.Duration is how long nodes keep stalling. Default 90 s.
}

// RunNemesisStalls freezes 10% of the nodes for 200–800 ms every 2–5 s —
// GC pauses, CPU throttling, a noisy neighbour — with Cluster.Pause: a
// stalled node runs no timer and reads nothing while datagrams queue for
// it. A stall must not get the node declared dead, and the node, on
// waking up to a backlog and overdue timers, must not accuse the members
// whose heartbeats it did not read.
//
// A stalled node's process runs: false death is any dead event about a
// running process. False accusation: a suspicion a stalled node raises
// itself (a suspect event at the node whose witness is the node) against
// a node that never stalls. Targets (issue "accuracy under real faults"):
// 0 false deaths; 0 false accusations by stalled nodes. Reported:
// suspicions of stalled nodes, and suspicions raised (engine.Stats) by
// stalled and other nodes.
func RunNemesisStalls(ctx context.Context, cfg NemesisStallsConfig) (*Result, error) {
	nm, err := newNemesis(ctx, cfg.Options, "nemesis-stalls", "Nemesis: CPU stalls", 4, featPause)
	if err != nil {
		return nil, err
	}
	setDefault(&cfg.Fraction, 0.10)
	setDefault(&cfg.MinStall, 200*time.Millisecond)
	setDefault(&cfg.MaxStall, 800*time.Millisecond)
	cfg.MaxStall = max(cfg.MaxStall, cfg.MinStall)
	setDefault(&cfg.MinGap, 2*time.Second)
	setDefault(&cfg.MaxGap, 5*time.Second)
	cfg.MaxGap = max(cfg.MaxGap, cfg.MinGap)
	setDefault(&cfg.Warmup, 5*time.Second)
	setDefault(&cfg.Tail, 10*time.Second)
	d := nm.o.durationOr(90 * time.Second)
	n := nm.o.N
	count := fractionOf(cfg.Fraction, n)
	r := nm.r
	r.param("stalling nodes", count)
	r.param("stalls", fmt.Sprintf("%v–%v every %v–%v", cfg.MinStall, cfg.MaxStall, cfg.MinGap, cfg.MaxGap))
	r.param("for", d)
	nm.plan = cfg.Warmup + d + cfg.Tail

	rng := nm.o.rng(0x57a11)
	nodes := pick(rng, n, count, nil)
	stalling := make([]bool, n)
	for _, v := range nodes {
		stalling[v] = true
	}
	var falseAcc, accStalled, ofStalled, stalledDeaths int
	firstAcc := ""
	nm.hook = func(node int, e engine.Event, t time.Duration, v verdict) {
		x, ok := nm.c.Index(e.Member.ID)
		if !ok {
			return
		}
		if e.Type == engine.EventDead {
			if v == verdictFalse && stalling[x] {
				stalledDeaths++
			}
			return
		}
		if e.Type != engine.EventSuspect || e.Witness != nm.c.ID(node) {
			return
		}
		// A suspicion this node raised itself.
		if stalling[x] {
			ofStalled++
		}
		if !stalling[node] {
			return
		}
		if stalling[x] {
			accStalled++
			return
		}
		falseAcc++
		if firstAcc == "" {
			firstAcc = fmt.Sprintf("stalling node %d suspected node %d at %v", node, x, t.Round(time.Millisecond))
		}
	}
	if err := nm.build(cfg.Warmup); err != nil {
		return nm.finish(err)
	}
	before := make([]uint64, n)
	for i := range before {
		before[i] = nm.c.Stats(i).Suspicions
	}
	stalls := 0
	var stalled time.Duration
	stop := nm.stalls(nodes, rng, cfg.MinStall, cfg.MaxStall, cfg.MinGap, cfg.MaxGap, nm.c.Now()+d,
		func(v int, d time.Duration) { stalls++; stalled += d })
	nm.progress(fmt.Sprintf("%d nodes stalling", count))
	if err := nm.runFor(d); err != nil {
		return nm.finish(err)
	}
	if err := stop(); err != nil {
		return nm.finish(err)
	}
	nm.progress("tail")
	err = nm.runFor(cfg.Tail)
	nm.mu.Lock()
	defer nm.mu.Unlock()
	var byStalling, byOthers uint64
	for i := 0; i < n; i++ {
		s := nm.c.Stats(i).Suspicions - before[i]
		if stalling[i] {
			byStalling += s
		} else {
			byOthers += s
		}
	}
	const src = "issue: accuracy under real faults"
	r.add("stalling nodes", float64(count), "count")
	r.add("stalls", float64(stalls), "count")
	r.add("time stalled per stalling node", stalled.Seconds()/float64(count), "s")
	nm.addNodeHours()
	r.add("stalling nodes declared dead", float64(stalledDeaths), "count", Goal("==", 0, src))
	nm.addFalseDeaths("false deaths", src)
	r.add("false accusations by stalling nodes", float64(falseAcc), "count", Goal("==", 0, src))
	r.add("accusations by stalling nodes of stalling nodes", float64(accStalled), "count")
	r.add("suspicions of stalling nodes raised (first-hand)", float64(ofStalled), "count")
	r.add("suspicions raised per stalling node (engine.Stats)", float64(byStalling)/float64(count), "count")
	r.add("suspicions raised per other node (engine.Stats)", float64(byOthers)/float64(max(1, n-count)), "count")
	detail := fmt.Sprintf("%d suspicions raised by stalling nodes against nodes that never stall", falseAcc)
	if firstAcc != "" {
		detail += "; first: " + firstAcc
	}
	r.check("no false accusations by stalling nodes", falseAcc == 0, "%s", detail)
	return nm.finish(err)
}
