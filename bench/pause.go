package bench

import (
	"context"
	"fmt"
	"time"

	"github.com/hearsay-io/hearsay/engine"
)

// PauseConfig configures RunPause.
type PauseConfig struct {
	Options
	// Pauses is how many pause events there are in all. Default 100.
	Pauses int
	// Length is how long each node stays frozen. Default 2 s.
	Length time.Duration
	// Concurrent is how many nodes are paused at the same time. Default 5.
	Concurrent int
	// Warmup runs the cluster before the first pause. Default 10 s.
	Warmup time.Duration
	// Options.Duration is the time between the end of one round of pauses
	// and the next. Default 3 s.
}

// RunPause freezes nodes as a long GC pause or SIGSTOP would — no timers
// run, datagrams queue — and checks that none is declared dead.
//
// Target: zero false deaths over 100 pause events of 2 s.
func RunPause(ctx context.Context, cfg PauseConfig) (*Result, error) {
	rn, err := newRun(ctx, cfg.Options, "pause", "Paused nodes", 8)
	if err != nil {
		return nil, err
	}
	setDefault(&cfg.Pauses, 100)
	setDefault(&cfg.Length, 2*time.Second)
	setDefault(&cfg.Concurrent, 5)
	cfg.Concurrent = min(cfg.Concurrent, rn.o.N/4)
	setDefault(&cfg.Warmup, 10*time.Second)
	gap := rn.o.durationOr(3 * time.Second)
	rounds := (cfg.Pauses + cfg.Concurrent - 1) / cfg.Concurrent
	r := rn.r
	r.param("pauses", cfg.Pauses)
	r.param("length", cfg.Length)
	r.param("at once", cfg.Concurrent)
	r.param("gap", gap)
	rn.plan = cfg.Warmup + time.Duration(rounds)*(cfg.Length+gap)

	var deaths, suspects int
	first := ""
	onEvent := func(node int, e engine.Event) {
		if e.Type != engine.EventDead && e.Type != engine.EventSuspect {
			return
		}
		rn.mu.Lock()
		defer rn.mu.Unlock()
		if e.Type == engine.EventSuspect {
			suspects++
			return
		}
		deaths++
		if first == "" {
			j, _ := rn.c.Index(e.Member.ID)
			first = fmt.Sprintf("node %d declared node %d dead at %v", node, j, rn.c.Elapsed(e.At))
		}
	}
	if err := rn.buildWarm(cfg.Warmup, onEvent); err != nil {
		return rn.finish(err)
	}
	c := rn.c
	rng := rn.o.rng(0x9a05)
	done := 0
	for done < cfg.Pauses {
		k := min(cfg.Concurrent, cfg.Pauses-done)
		rn.progress(fmt.Sprintf("pauses %d–%d of %d", done+1, done+k, cfg.Pauses))
		var frozen []int
		for _, v := range rng.Perm(c.Len())[:k] {
			if err := c.Pause(v); err != nil {
				return rn.finish(err)
			}
			frozen = append(frozen, v)
		}
		if err := rn.advance(cfg.Length); err != nil {
			return rn.finish(err)
		}
		for _, v := range frozen {
			if err := c.Resume(v); err != nil {
				return rn.finish(err)
			}
		}
		done += k
		if err := rn.advance(gap); err != nil {
			return rn.finish(err)
		}
	}
	rn.mu.Lock()
	r.add("pause events", float64(done), "count", Goal(">=", 100, "design target"))
	r.add("false deaths", float64(deaths), "count", Goal("==", 0, "design target"))
	r.add("suspect events", float64(suspects), "count")
	detail := fmt.Sprintf("%d dead events over %d pauses", deaths, done)
	if first != "" {
		detail += "; first: " + first
	}
	r.check("no paused node declared dead", deaths == 0, "%s", detail)
	rn.mu.Unlock()
	return rn.finish(nil)
}
