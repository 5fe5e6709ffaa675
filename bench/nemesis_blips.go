package bench

import (
	"context"
	"fmt"
	"time"

	"github.com/hearsay-io/hearsay/engine"
)

// NemesisBlipsConfig configures RunNemesisBlips.
type NemesisBlipsConfig struct {
	Options
	// Blips is how many times a node is cut off, one at a time. Default 50.
	Blips int
	// Lengths are the lengths of successive blips, in turn. Default 1 s,
	// 2 s, 3 s.
	Lengths []time.Duration
	// Warmup runs the healthy cluster first. Default 10 s.
	Warmup time.Duration
	// Tail runs the cluster after the last blip. Default 20 s.
	Tail time.Duration
	// Options.Duration is the time from the end of one blip to the start
	// of the next. Default 5 s.
}

// RunNemesisBlips cuts single nodes off completely — every datagram to and
// from them dropped — for 1, 2 and 3 s, one at a time, as a switch port
// flapping or a VM migrating would, and checks that none is ever declared
// dead for it.
//
// False death: any dead event about a running process; blips excuse
// nothing, neither for the blipped node as a member nor as an observer.
// Target (issue "accuracy under real faults"): 0 false deaths — in
// particular 0 dead events, at any time, about a node that was blipped.
func RunNemesisBlips(ctx context.Context, cfg NemesisBlipsConfig) (*Result, error) {
	nm, err := newNemesis(ctx, cfg.Options, "nemesis-blips", "Nemesis: nodes cut off for 1–3 s", 4, featCut)
	if err != nil {
		return nil, err
	}
	setDefault(&cfg.Blips, 50)
	if len(cfg.Lengths) == 0 {
		cfg.Lengths = []time.Duration{time.Second, 2 * time.Second, 3 * time.Second}
	}
	setDefault(&cfg.Warmup, 10*time.Second)
	setDefault(&cfg.Tail, 20*time.Second)
	gap := nm.o.durationOr(5 * time.Second)
	var total, longest time.Duration
	for k := 0; k < cfg.Blips; k++ {
		l := cfg.Lengths[k%len(cfg.Lengths)]
		total += l + gap
		longest = max(longest, l)
	}
	r := nm.r
	r.param("blips", cfg.Blips)
	r.param("lengths", fmt.Sprint(cfg.Lengths))
	r.param("gap", gap)
	nm.plan = cfg.Warmup + total + cfg.Tail

	n := nm.o.N
	blipped := make([]bool, n)
	cur := -1   // the node cut off, or of the latest blip
	raised := 0 // blips whose node some observer suspected
	suspectedCur := false
	var aboutBlipped, aboutOthers, byBlipped, suspects int
	nm.hook = func(node int, e engine.Event, t time.Duration, v verdict) {
		if e.Type != engine.EventSuspect && v != verdictFalse {
			return
		}
		x, ok := nm.c.Index(e.Member.ID)
		if !ok {
			return
		}
		if e.Type == engine.EventSuspect {
			if blipped[x] {
				suspects++
			}
			if x == cur && !suspectedCur {
				suspectedCur = true
				raised++
			}
			return
		}
		switch {
		case blipped[x]:
			aboutBlipped++
		default:
			aboutOthers++
		}
		if blipped[node] {
			byBlipped++
		}
	}
	if err := nm.build(cfg.Warmup); err != nil {
		return nm.finish(err)
	}
	rng := nm.o.rng(0xb11b)
	for k := 0; k < cfg.Blips; k++ {
		v := rng.IntN(n)
		l := cfg.Lengths[k%len(cfg.Lengths)]
		nm.mu.Lock()
		blipped[v], cur, suspectedCur = true, v, false
		nm.mu.Unlock()
		nm.progress(fmt.Sprintf("blip %d/%d", k+1, cfg.Blips))
		if err := nm.blip(v, l); err != nil {
			return nm.finish(err)
		}
		if err := nm.runFor(l + gap); err != nil {
			return nm.finish(err)
		}
	}
	nm.progress("tail")
	err = nm.runFor(cfg.Tail)
	nm.mu.Lock()
	defer nm.mu.Unlock()
	const src = "issue: accuracy under real faults"
	r.add("blips", float64(cfg.Blips), "count")
	r.add("longest blip", longest.Seconds(), "s")
	nm.addNodeHours()
	r.add("dead events about blipped nodes", float64(aboutBlipped), "count", Goal("==", 0, src))
	r.add("dead events about other nodes", float64(aboutOthers), "count", Goal("==", 0, src))
	r.add("dead events declared by blipped nodes", float64(byBlipped), "count")
	nm.addFalseDeaths("false deaths", src)
	r.add("suspect events about blipped nodes", float64(suspects), "count")
	r.add("blips that raised a suspicion", float64(raised), "count")
	return nm.finish(err)
}
