package bench

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/hearsay-io/hearsay/engine"
)

// NemesisLossConfig configures RunNemesisLoss.
type NemesisLossConfig struct {
	Options
	// Loss is the loss on every link while the fault lasts, in place of
	// Options.Loss. Default 10%.
	Loss float64
	// Warmup runs the healthy cluster before anything is measured.
	// Default 5 s.
	Warmup time.Duration
	// Before is the healthy window measured before the loss, the baseline
	// of the rates. Default 15 s.
	Before time.Duration
	// Recovery is the time from the end of the loss to the first crash.
	// Default 60 s.
	Recovery time.Duration
	// Crashes is how many nodes are killed, one every Spacing, in both
	// clusters. Default 5.
	Crashes int
	// Spacing is the time between two crashes. Default 2 s.
	Spacing time.Duration
	// Tail is the time after the last crash for every node to learn it.
	// Default 20 s.
	Tail time.Duration
	// Options.Duration is how long the loss lasts. Default 45 s.
}

// RunNemesisLoss puts uniform loss on every link for a while, then none,
// and checks that no live node is declared dead, that the loss costs what
// it should, and that failure detection is back to normal a minute after
// the loss ends.
//
// It runs two clusters of the same seed (same IDs, same victims). The
// fresh one warms up, then loses Crashes nodes one every Spacing. The
// faulted one warms up, runs Before healthy (the baseline), runs Duration
// at Loss on every link, then Recovery at Options.Loss, then loses the
// same nodes at the same spacing. Detection time is, per crash, the time
// until every surviving node knows it dead.
//
// False death: any dead event, in either cluster, about a process that is
// running (see NemesisScenarios); loss excuses nothing. Targets (issue
// "accuracy under real faults"): 0 false deaths at 10%, 20% and 30% loss;
// p50 detection time after the loss within 20% of the fresh cluster's.
// Reported: suspicions, datagrams and bytes per node per second before,
// during and after the loss.
func RunNemesisLoss(ctx context.Context, cfg NemesisLossConfig) (*Result, error) {
	setDefault(&cfg.Loss, 0.10)
	name := "nemesis-loss-" + pct(cfg.Loss)
	nm, err := newNemesis(ctx, cfg.Options, name, "Nemesis: "+pct(cfg.Loss)+"% loss on every link", 8, featLinkLoss, featCrash)
	if err != nil {
		return nil, err
	}
	if cfg.Loss >= 1 {
		return nil, fmt.Errorf("bench: Loss must be below 1, got %v", cfg.Loss)
	}
	setDefault(&cfg.Warmup, 5*time.Second)
	setDefault(&cfg.Before, 15*time.Second)
	setDefault(&cfg.Recovery, 60*time.Second)
	setDefault(&cfg.Crashes, 5)
	cfg.Crashes = min(cfg.Crashes, nm.o.N/4)
	setDefault(&cfg.Spacing, 2*time.Second)
	setDefault(&cfg.Tail, 20*time.Second)
	d := nm.o.durationOr(45 * time.Second)
	r := nm.r
	r.param("loss", pct(cfg.Loss)+"%")
	r.param("loss for", d)
	r.param("baseline window", cfg.Before)
	r.param("crashes after", cfg.Recovery)
	r.param("crashes", cfg.Crashes)
	r.param("spacing", cfg.Spacing)
	crashPhase := time.Duration(cfg.Crashes-1)*cfg.Spacing + cfg.Tail
	nm.plan = 2*(cfg.Warmup+cfg.Before+crashPhase) + d + cfg.Recovery
	victims := pick(nm.o.rng(0x1055), nm.o.N, cfg.Crashes, nil)

	// The fresh cluster.
	fresh := newCrashTracker()
	nm.hook = func(node int, e engine.Event, t time.Duration, v verdict) { fresh.event(node, e, t) }
	if err := nm.build(cfg.Warmup + cfg.Before); err != nil {
		return nm.finish(err)
	}
	nm.progress("fresh cluster: crashes")
	if err := nm.crashSeries(fresh, victims, cfg.Spacing, cfg.Tail); err != nil {
		return nm.finish(err)
	}
	nm.mu.Lock()
	fs := fresh.summarize(nm.or.up)
	freshFalse, freshDetail := nm.or.counts[verdictFalse], nm.or.falseDetail()
	freshTime := nm.elapsed()
	nm.or, nm.hook = nil, nil
	nm.mu.Unlock()
	if err := nm.c.Close(); err != nil {
		return nm.finish(err)
	}

	// The faulted cluster.
	after := newCrashTracker()
	lossOn, suspects := false, 0
	nm.hook = func(node int, e engine.Event, t time.Duration, v verdict) {
		if lossOn && e.Type == engine.EventSuspect {
			suspects++
		}
		after.event(node, e, t)
	}
	if err := nm.build(cfg.Warmup); err != nil {
		return nm.finish(err)
	}
	nm.progress("baseline")
	s0 := nm.sumStats()
	if err := nm.runFor(cfg.Before); err != nil {
		return nm.finish(err)
	}
	s1 := nm.sumStats()
	if err := nm.setLinkLoss(cfg.Loss); err != nil {
		return nm.finish(err)
	}
	nm.mu.Lock()
	lossOn = true
	nm.mu.Unlock()
	nm.progress(pct(cfg.Loss) + "% loss")
	if err := nm.runFor(d); err != nil {
		return nm.finish(err)
	}
	if err := nm.setLinkLoss(nm.o.Loss); err != nil {
		return nm.finish(err)
	}
	nm.mu.Lock()
	lossOn = false
	nm.mu.Unlock()
	s2 := nm.sumStats()
	nm.progress("recovery")
	if err := nm.runFor(cfg.Recovery); err != nil {
		return nm.finish(err)
	}
	s3 := nm.sumStats()
	nm.progress("crashes after the loss")
	err = nm.crashSeries(after, victims, cfg.Spacing, cfg.Tail)

	nm.mu.Lock()
	as := after.summarize(nm.or.up)
	before, during, rec := s1.sub(s0), s2.sub(s1), s3.sub(s2)
	const src = "issue: accuracy under real faults"
	falseDeaths := nm.or.counts[verdictFalse] + freshFalse
	r.add("false deaths", float64(falseDeaths), "count", Goal("==", 0, src))
	r.check("no false deaths", falseDeaths == 0, "faulted cluster: %s; fresh cluster: %s", nm.or.falseDetail(), freshDetail)
	nm.addNodeHours()
	r.add("suspect events during the loss (all observers)", float64(suspects), "count")
	for _, w := range []struct {
		name string
		st   statTotals
		d    time.Duration
	}{{"before", before, cfg.Before}, {"during the loss", during, d}, {"after", rec, cfg.Recovery}} {
		r.add("suspicions raised per node per second, "+w.name, rate(w.st.Suspicions, w.st.Nodes, w.d), "1/s")
		r.add("refutations per node per second, "+w.name, rate(w.st.Refutations, w.st.Nodes, w.d), "1/s")
		r.add("datagrams sent per node per second, "+w.name, rate(w.st.DatagramsOut, w.st.Nodes, w.d), "1/s")
		r.add("bytes sent per node per second, "+w.name, rate(w.st.BytesOut, w.st.Nodes, w.d), "B/s")
	}
	r.add("fresh: first suspicion p50", fs.first.P50(), "s")
	r.add("fresh: all live nodes know p50", fs.allKnow.P50(), "s")
	r.add("fresh: all live nodes know max", fs.allKnow.Max(), "s")
	r.add("after the loss: first suspicion p50", as.first.P50(), "s", Ref(fs.first.P50(), "fresh"))
	r.add("after the loss: all live nodes know p50", as.allKnow.P50(), "s", Ref(fs.allKnow.P50(), "fresh"))
	r.add("after the loss: all live nodes know max", as.allKnow.Max(), "s", Ref(fs.allKnow.Max(), "fresh"))
	r.add("detection after the loss / fresh, p50", as.allKnow.P50()/fs.allKnow.P50(), "×", Goal("<=", 1.2, src+": within 20%"))
	r.add("detection after the loss / fresh, max", as.allKnow.Max()/fs.allKnow.Max(), "×")
	r.check("every crash known by every survivor", fs.undetected == 0 && as.undetected == 0,
		"fresh cluster: %d of %d%s; after the loss: %d of %d%s", fs.crashes-fs.undetected, fs.crashes, fs.missing,
		as.crashes-as.undetected, as.crashes, as.missing)
	nm.mu.Unlock()
	res, err := nm.finish(err)
	res.Simulated += Sec(freshTime)
	return res, err
}

// crashSeries kills the victims one every spacing, recording each in ct,
// then runs tail.
func (nm *nemesis) crashSeries(ct *crashTracker, victims []int, spacing, tail time.Duration) error {
	for k, v := range victims {
		nm.mu.Lock()
		ct.add(nm.c, v, nm.c.Now())
		nm.mu.Unlock()
		if err := nm.crash(v); err != nil {
			return err
		}
		if k < len(victims)-1 {
			if err := nm.runFor(spacing); err != nil {
				return err
			}
		}
	}
	return nm.runFor(tail)
}

// NemesisBurstsConfig configures RunNemesisBursts.
type NemesisBurstsConfig struct {
	Options
	// Levels are the loss of successive bursts, in turn. Default 80%, 90%.
	Levels []float64
	// Burst is how long each burst lasts. Default 2 s.
	Burst time.Duration
	// Every is the time from one burst's start to the next's. Default 30 s.
	Every time.Duration
	// Warmup runs the healthy cluster first. Default 10 s.
	Warmup time.Duration
	// Tail runs the cluster after the last burst, for late verdicts.
	// Default 30 s.
	Tail time.Duration
	// Options.Duration is the cluster time over which bursts recur.
	// Default 10 minutes.
}

// RunNemesisBursts drops 80% and then 90% of every datagram on every link
// for 2 s every 30 s — a switch flapping, a link saturated — and checks
// that no node is declared dead for it.
//
// False death: any dead event about a running process; loss excuses
// nothing. Target (issue "accuracy under real faults"): 0 false deaths.
func RunNemesisBursts(ctx context.Context, cfg NemesisBurstsConfig) (*Result, error) {
	nm, err := newNemesis(ctx, cfg.Options, "nemesis-loss-bursts", "Nemesis: loss bursts on every link", 4, featLinkLoss)
	if err != nil {
		return nil, err
	}
	if len(cfg.Levels) == 0 {
		cfg.Levels = []float64{0.8, 0.9}
	}
	for _, p := range cfg.Levels {
		if p < 0 || p >= 1 {
			return nil, fmt.Errorf("bench: burst loss %g is not in [0, 1)", p)
		}
	}
	setDefault(&cfg.Burst, 2*time.Second)
	setDefault(&cfg.Every, 30*time.Second)
	setDefault(&cfg.Warmup, 10*time.Second)
	setDefault(&cfg.Tail, 30*time.Second)
	d := nm.o.durationOr(10 * time.Minute)
	r := nm.r
	r.param("levels", fmt.Sprint(cfg.Levels))
	r.param("burst", cfg.Burst)
	r.param("every", cfg.Every)
	r.param("for", d)
	nm.plan = cfg.Warmup + d + cfg.Tail
	var suspects, refuted int
	nm.hook = func(node int, e engine.Event, t time.Duration, v verdict) {
		switch e.Type {
		case engine.EventSuspect:
			suspects++
		case engine.EventAlive:
			refuted++
		}
	}
	if err := nm.build(cfg.Warmup); err != nil {
		return nm.finish(err)
	}
	s0 := nm.sumStats()
	bursts, stop := nm.bursts(cfg.Levels, cfg.Burst, cfg.Every, nm.c.Now()+d)
	nm.progress(fmt.Sprintf("%d bursts", bursts))
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
	st := nm.sumStats().sub(s0)
	r.add("bursts", float64(bursts), "count")
	nm.addNodeHours()
	nm.addFalseDeaths("false deaths", "issue: accuracy under real faults")
	r.add("suspect events (all observers)", float64(suspects), "count")
	r.add("alive-again events (all observers)", float64(refuted), "count")
	r.add("suspicions raised per burst", float64(st.Suspicions)/float64(max(bursts, 1)), "count")
	r.add("refutations per burst", float64(st.Refutations)/float64(max(bursts, 1)), "count")
	r.add("datagrams sent per node per second", rate(st.DatagramsOut, st.Nodes, d+cfg.Tail), "1/s")
	r.add("bytes sent per node per second", rate(st.BytesOut, st.Nodes, d+cfg.Tail), "B/s")
	return nm.finish(err)
}

// NemesisDupReorderConfig configures RunNemesisDupReorder.
type NemesisDupReorderConfig struct {
	Options
	// Duplicate is the probability that a datagram is delivered twice.
	// Default 5%.
	Duplicate float64
	// Reorder is the probability that a datagram is held back by
	// ReorderDelay, so that what its sender sends next overtakes it.
	// Default 10%.
	Reorder float64
	// ReorderDelay is the extra delay of a reordered datagram. Default
	// 10 ms: far above a LAN's latency, below every protocol timeout.
	ReorderDelay time.Duration
	// Updates is how many state changes are published during the fault,
	// each at a different node, evenly spread. Default 5.
	Updates int
	// Warmup runs the healthy cluster first. Default 5 s.
	Warmup time.Duration
	// Tail runs the cluster after the fault. Default 10 s.
	Tail time.Duration
	// Options.Duration is how long the fault lasts. Default 60 s.
}

// RunNemesisDupReorder makes every link duplicate 5% and reorder 10% of
// the datagrams and checks that nobody is declared dead and that state
// changes still reach every node.
//
// False death: any dead event about a running process; duplication and
// reordering excuse nothing. Targets (issue "accuracy under real faults"):
// 0 false deaths; every update published during the fault known by every
// running node (by the end of the tail).
func RunNemesisDupReorder(ctx context.Context, cfg NemesisDupReorderConfig) (*Result, error) {
	nm, err := newNemesis(ctx, cfg.Options, "nemesis-dup-reorder", "Nemesis: duplication and reordering", 4, featDupReorder)
	if err != nil {
		return nil, err
	}
	setDefault(&cfg.Duplicate, 0.05)
	setDefault(&cfg.Reorder, 0.10)
	setDefault(&cfg.ReorderDelay, 10*time.Millisecond)
	setDefault(&cfg.Updates, 5)
	cfg.Updates = min(cfg.Updates, nm.o.N)
	setDefault(&cfg.Warmup, 5*time.Second)
	setDefault(&cfg.Tail, 10*time.Second)
	d := nm.o.durationOr(60 * time.Second)
	r := nm.r
	r.param("duplicate", pct(cfg.Duplicate)+"%")
	r.param("reorder", fmt.Sprintf("%s%% by %v", pct(cfg.Reorder), cfg.ReorderDelay))
	r.param("for", d)
	r.param("updates", cfg.Updates)
	nm.plan = cfg.Warmup + d + cfg.Tail

	key := []byte("nemesis.update")
	type update struct {
		origin  engine.ID
		version uint64
		at      time.Duration
		seen    bitset
		count   int
		last    time.Duration
	}
	var updates []*update
	nm.hook = func(node int, e engine.Event, t time.Duration, v verdict) {
		if e.Type != engine.EventState || !bytes.Equal(e.Key, key) {
			return
		}
		for _, u := range updates {
			if u.origin == e.Member.ID && e.Version >= u.version && !u.seen.has(node) {
				u.seen.set(node)
				u.count++
				u.last = max(u.last, t-u.at)
			}
		}
	}
	if err := nm.build(cfg.Warmup); err != nil {
		return nm.finish(err)
	}
	var net0 = nm.netCounters()
	l := nm.link
	l.Duplicate, l.Reorder, l.ReorderDelay = cfg.Duplicate, cfg.Reorder, cfg.ReorderDelay
	if err := nm.setLink(l); err != nil {
		return nm.finish(err)
	}
	start := nm.c.Now()
	origins := pick(nm.o.rng(0xd0b1e), nm.o.N, cfg.Updates, nil)
	for k, v := range origins {
		at := start + d*time.Duration(2*k+1)/time.Duration(2*len(origins))
		nm.at(at, nil, func() error {
			_, ver, _ := nm.c.State(v, v, key)
			u := &update{origin: nm.c.ID(v), version: ver + 1, at: nm.c.Now(), seen: newBitset(nm.c.Len())}
			u.seen.set(v)
			u.count = 1
			nm.mu.Lock()
			updates = append(updates, u)
			nm.mu.Unlock()
			return nm.c.SetState(v, key, fmt.Appendf(nil, "v%d", k))
		})
	}
	nm.progress("duplicating and reordering")
	if err := nm.runFor(d); err != nil {
		return nm.finish(err)
	}
	l.Duplicate, l.Reorder, l.ReorderDelay = 0, 0, 0
	if err := nm.setLink(l); err != nil {
		return nm.finish(err)
	}
	net1 := nm.netCounters()
	nm.progress("tail")
	err = nm.runFor(cfg.Tail)

	nm.mu.Lock()
	defer nm.mu.Unlock()
	var all Histogram
	missing, first := 0, ""
	for k, u := range updates {
		want := 0
		for i := 0; i < nm.c.Len(); i++ {
			if nm.or.up(i) {
				want++
			}
		}
		if u.count < want {
			missing++
			if first == "" {
				first = fmt.Sprintf("; update %d: %d of %d nodes", k+1, u.count, want)
			}
			continue
		}
		all.AddDuration(u.last)
	}
	nm.addNodeHours()
	nm.addFalseDeaths("false deaths", "issue: accuracy under real faults")
	r.add("updates published", float64(len(updates)), "count")
	r.add("updates known by all p50", all.P50(), "s")
	r.add("updates known by all max", all.Max(), "s")
	r.add("updates not known by all", float64(missing), "count", Goal("==", 0, "issue: dissemination still completes"))
	r.check("every update reaches every node", missing == 0 && len(updates) == cfg.Updates,
		"%d of %d updates known by every running node%s", len(updates)-missing, len(updates), first)
	if net0.ok {
		r.add("datagrams duplicated", float64(net1.dup-net0.dup), "count")
		r.add("datagrams reordered", float64(net1.reo-net0.reo), "count")
	}
	return nm.finish(err)
}

// pct formats a probability as a percentage without float noise: 0.3 →
// "30".
func pct(p float64) string { return strconv.FormatFloat(math.Round(p*1e8)/1e6, 'g', -1, 64) }

type netCounters struct {
	dup, reo uint64
	ok       bool
}

func (nm *nemesis) netCounters() netCounters {
	if nm.fc == nil {
		return netCounters{}
	}
	s, ok := nm.fc.netStats()
	return netCounters{s.Duplicated, s.Reordered, ok}
}
