package bench

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/hearsay-io/hearsay/engine"
)

// run is one scenario execution: the cluster, the result being filled, the
// clocks, and progress reporting.
type run struct {
	ctx   context.Context
	o     Options
	c     Cluster
	r     *Result
	start time.Time
	cpu0  time.Duration
	t0    time.Duration // cluster time when the scenario began
	plan  time.Duration // planned cluster time, for progress
	phase string
	// outside are the nodes build leaves to a process of their own
	// (ClusterConfig.Outside).
	outside []int

	// mu guards what event handlers write; the simulator calls them on the
	// scenario's goroutine, real drivers on their own.
	mu sync.Mutex
}

// newRun checks the options and starts a result; the caller then builds the
// cluster with build.
func newRun(ctx context.Context, o Options, name, title string, minN int) (*run, error) {
	o = o.withDefaults()
	if err := o.validate(minN); err != nil {
		return nil, err
	}
	return &run{ctx: ctx, o: o, r: o.newResult(name, title), start: time.Now(), cpu0: processCPU()}, nil
}

// build creates the cluster. onEvent may be nil.
func (rn *run) build(start Start, loss float64, onEvent func(node int, e engine.Event)) error {
	cfg := ClusterConfig{
		N:       rn.o.N,
		Seed:    rn.o.Seed,
		Engine:  rn.o.engineConfig(),
		Latency: rn.o.Preset.Latency(),
		Loss:    loss,
		Start:   start,
		Outside: rn.outside,
	}
	if onEvent != nil {
		cfg.OnEvent = func(node int, e engine.Event) {
			if rn.c == nil {
				return // events while the cluster is being built
			}
			onEvent(node, e)
		}
	}
	rn.progress("building the cluster")
	c, err := rn.o.Driver.NewCluster(cfg)
	if err != nil {
		return fmt.Errorf("bench: building a %d-node cluster: %w", rn.o.N, err)
	}
	rn.mu.Lock()
	rn.c = c
	rn.mu.Unlock()
	rn.t0 = c.Now()
	return nil
}

// buildWarm builds a converged cluster with the run's loss and lets it run
// healthy for warmup: how the fault scenarios begin.
func (rn *run) buildWarm(warmup time.Duration, onEvent func(node int, e engine.Event)) error {
	if err := rn.build(StartConverged, rn.o.Loss, onEvent); err != nil {
		return err
	}
	rn.progress("warm-up")
	return rn.advance(warmup)
}

// elapsed returns the cluster time since the scenario began.
func (rn *run) elapsed() time.Duration {
	if rn.c == nil {
		return 0
	}
	return rn.c.Now() - rn.t0
}

// progress reports a phase change.
func (rn *run) progress(phase string) {
	rn.phase = phase
	rn.report()
}

func (rn *run) report() {
	if rn.o.Progress == nil {
		return
	}
	done := 0.0
	if rn.plan > 0 {
		done = min(1, float64(rn.elapsed())/float64(rn.plan))
	}
	rn.o.Progress(Progress{Scenario: rn.r.Scenario, Phase: rn.phase, Done: done, Now: rn.elapsed()})
}

// advance runs the cluster for d, reporting progress every simulated
// second.
func (rn *run) advance(d time.Duration) error {
	end := rn.c.Now() + d
	for {
		left := end - rn.c.Now()
		if left <= 0 {
			return nil
		}
		if err := rn.c.Run(rn.ctx, min(left, time.Second)); err != nil {
			return err
		}
		rn.report()
	}
}

// advanceUntil runs the cluster in steps of step until done returns true or
// limit has passed; it returns how long it ran and whether done held.
func (rn *run) advanceUntil(limit, step time.Duration, done func() bool) (time.Duration, bool, error) {
	from := rn.c.Now()
	for {
		if done() {
			return rn.c.Now() - from, true, nil
		}
		if rn.c.Now()-from >= limit {
			return rn.c.Now() - from, false, nil
		}
		if err := rn.c.Run(rn.ctx, min(step, limit-(rn.c.Now()-from))); err != nil {
			return rn.c.Now() - from, false, err
		}
		rn.report()
	}
}

// finish closes the cluster and stamps the result.
func (rn *run) finish(err error) (*Result, error) {
	if rn.c != nil {
		rn.r.Simulated = Sec(rn.elapsed())
		if cerr := rn.c.Close(); err == nil && cerr != nil {
			err = cerr
		}
	}
	rn.r.Wall = Sec(time.Since(rn.start))
	rn.r.CPU = Sec(processCPU() - rn.cpu0)
	if err != nil {
		rn.r.Err = err.Error()
	}
	return rn.r, err
}

// running returns the indices of running nodes.
func (rn *run) running() []int {
	var r []int
	for i := 0; i < rn.c.Len(); i++ {
		if rn.c.Running(i) {
			r = append(r, i)
		}
	}
	return r
}

// sumStats adds up the counters of the running nodes.
func (rn *run) sumStats() (total statTotals) {
	for i := 0; i < rn.c.Len(); i++ {
		if !rn.c.Running(i) {
			continue
		}
		total.add(rn.c.Stats(i))
	}
	return total
}
