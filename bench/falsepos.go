package bench

import (
	"context"
	"fmt"
	"time"

	"github.com/hearsay-io/hearsay/codec"
	"github.com/hearsay-io/hearsay/engine"
)

// FalsePositiveConfig configures RunFalsePositives.
type FalsePositiveConfig struct {
	Options
	// Loss is the uniform loss on every link during the run, in place of
	// Options.Loss. Default 10%.
	Loss float64
	// Options.Duration is the length of the run. Default 20 s (56
	// node-hours at N = 10,000, which fits the default gossipbench run;
	// 360 s gives the 1,000 node-hours the target is set for).
}

// RunFalsePositives runs a cluster of healthy nodes under heavy uniform
// loss and counts false deaths: any node declared dead by any other. It
// reports the node-hours simulated, suspicions raised and refuted, and the
// cost of the loss in probes.
//
// Target: zero false deaths at 10% loss.
func RunFalsePositives(ctx context.Context, cfg FalsePositiveConfig) (*Result, error) {
	rn, err := newRun(ctx, cfg.Options, "false-positives", "False positives under uniform loss", 4)
	if err != nil {
		return nil, err
	}
	setDefault(&cfg.Loss, 0.10)
	if cfg.Loss >= 1 {
		return nil, fmt.Errorf("bench: Loss must be below 1, got %v", cfg.Loss)
	}
	d := rn.o.durationOr(20 * time.Second)
	r := rn.r
	r.Loss = cfg.Loss
	r.param("loss", fmt.Sprintf("%g%%", cfg.Loss*100))
	r.param("duration", d)
	rn.plan = d
	var deaths, suspects, refuted int
	first := ""
	onEvent := func(node int, e engine.Event) {
		switch e.Type {
		case engine.EventDead, engine.EventSuspect, engine.EventAlive:
		default:
			return
		}
		rn.mu.Lock()
		defer rn.mu.Unlock()
		switch e.Type {
		case engine.EventDead:
			deaths++
			if first == "" {
				j, _ := rn.c.Index(e.Member.ID)
				first = fmt.Sprintf("node %d declared node %d dead at %v", node, j, rn.c.Elapsed(e.At))
			}
		case engine.EventSuspect:
			suspects++
		case engine.EventAlive:
			refuted++
		}
	}
	if err := rn.build(StartConverged, cfg.Loss, onEvent); err != nil {
		return rn.finish(err)
	}
	before := rn.sumStats()
	rn.progress(fmt.Sprintf("running at %g%% loss", cfg.Loss*100))
	err = rn.advance(d)
	rn.mu.Lock()
	secs := rn.elapsed().Seconds()
	st := rn.sumStats().sub(before)
	nodeHours := float64(rn.c.Len()) * secs / 3600
	r.add("node-hours", nodeHours, "h")
	r.add("false deaths", float64(deaths), "count", Goal("==", 0, "design target"))
	r.add("suspect events (all observers)", float64(suspects), "count")
	r.add("suspicions raised per node-hour", float64(st.Suspicions)/nodeHours, "1/h")
	r.add("refutations per node-hour", float64(st.Refutations)/nodeHours, "1/h")
	r.add("direct probes per node per second", float64(st.Probes)/float64(st.Nodes)/secs, "1/s")
	r.add("indirect probes per node per second", float64(st.IndirectProbes)/float64(st.Nodes)/secs, "1/s")
	r.add("datagrams sent per node per second", float64(st.DatagramsOut)/float64(st.Nodes)/secs, "1/s")
	for t := codec.MsgType(1); int(t) < len(st.Out); t++ {
		if v := float64(st.Out[t]) / float64(st.Nodes) / secs; v >= 0.01 {
			r.add(fmt.Sprintf("%v datagrams per node per second", t), v, "1/s")
		}
	}
	detail := fmt.Sprintf("%d dead events over %.0f node-hours", deaths, nodeHours)
	if first != "" {
		detail += "; first: " + first
	}
	r.check("no node declared dead", deaths == 0, "%s", detail)
	rn.mu.Unlock()
	return rn.finish(err)
}
