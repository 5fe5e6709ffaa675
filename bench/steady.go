package bench

import (
	"context"
	"fmt"
	"runtime"
	"time"

	"github.com/hearsay-io/hearsay/codec"
	"github.com/hearsay-io/hearsay/engine"
)

// SteadyConfig configures RunSteady.
type SteadyConfig struct {
	Options
	// Warmup runs the converged cluster before measuring. Default 5 s.
	Warmup time.Duration
	// Options.Duration is the measurement window. Default 20 s.

	// InProcess keeps every node in this process over real UDP. By default
	// the UDP driver runs node 0 in a child process of its own (see
	// steady_node.go), whose CPU time and allocations are the figures
	// "CPU per node per second" and "bytes allocated per node per second".
	InProcess bool
}

// RunSteady measures what a quiet cluster costs each node: datagrams and
// bytes per second (from every node's protocol counters), the message mix,
// anti-entropy traffic, and CPU time per node per second (the process's CPU
// time over the window divided by nodes and cluster seconds; in the
// simulator it includes the simulator's own work, so it is an upper bound
// on the protocol's), and bytes allocated per node per second.
//
// Over real UDP (the "udp" driver), node 0 runs in a process of its own,
// joined to the others in this process, and the CPU and allocation figures
// are that process's: what one node costs its host, the kernel's share
// (system time) reported beside it. The in-process figures remain, named
// "per in-process node".
//
// Target: at most K+1 datagrams sent per node per period.
func RunSteady(ctx context.Context, cfg SteadyConfig) (*Result, error) {
	rn, err := newRun(ctx, cfg.Options, "steady", "Steady-state cost", 2)
	if err != nil {
		return nil, err
	}
	setDefault(&cfg.Warmup, 5*time.Second)
	window := rn.o.durationOr(20 * time.Second)
	r := rn.r
	r.param("warm-up", cfg.Warmup)
	r.param("window", window)
	rn.plan = cfg.Warmup + window
	deaths := 0
	onEvent := func(node int, e engine.Event) {
		if e.Type == engine.EventDead {
			rn.mu.Lock()
			deaths++
			rn.mu.Unlock()
		}
	}
	ownProcess := rn.o.Driver.Name() == "udp" && !cfg.InProcess
	if ownProcess {
		rn.outside = []int{0}
	}
	if err := rn.build(StartConverged, rn.o.Loss, onEvent); err != nil {
		return rn.finish(err)
	}
	var child *childNode
	if ownProcess {
		rn.progress("starting node 0 in its own process")
		if child, err = startChildNode(rn, 0); err != nil {
			return rn.finish(err)
		}
	}
	err = runSteady(rn, cfg, window, child)
	rn.mu.Lock()
	r.add("deaths declared", float64(deaths), "count", Goal("==", 0, "no node fails"))
	r.check("no node declared dead", deaths == 0, "%d dead events", deaths)
	rn.mu.Unlock()
	return rn.finish(err)
}

func runSteady(rn *run, cfg SteadyConfig, window time.Duration, child *childNode) error {
	if child != nil {
		defer func() {
			if child != nil {
				child.kill()
			}
		}()
	}
	rn.progress("warm-up")
	if err := rn.advance(cfg.Warmup); err != nil {
		return err
	}
	c := rn.c
	n := c.Len()
	prev := make([]uint64, n)
	start := make([]uint64, n)
	for i := 0; i < n; i++ {
		if c.Running(i) {
			start[i] = c.Stats(i).BytesOut
			prev[i] = start[i]
		}
	}
	if child != nil {
		if err := child.start(); err != nil {
			return fmt.Errorf("bench: the child node: %w", err)
		}
	}
	before := rn.sumStats()
	alloc0 := processAllocs()
	cpu0, wall0, t0 := processCPU(), time.Now(), c.Now()

	var mean, maxs Series
	mean.Name, maxs.Name = "mean over nodes", "busiest node"
	rn.progress("measuring")
	for c.Now()-t0 < window {
		step := min(time.Second, window-(c.Now()-t0))
		if err := c.Run(rn.ctx, step); err != nil {
			return err
		}
		rn.report()
		var sum, top uint64
		for i := 0; i < n; i++ {
			if !c.Running(i) {
				continue
			}
			b := c.Stats(i).BytesOut
			d := b - prev[i]
			prev[i] = b
			sum += d
			top = max(top, d)
		}
		x := (c.Now() - t0).Seconds()
		mean.Points = append(mean.Points, Point{X: x, Y: float64(sum) / float64(n) / step.Seconds()})
		maxs.Points = append(maxs.Points, Point{X: x, Y: float64(top) / step.Seconds()})
	}
	secs := (c.Now() - t0).Seconds()
	cpu, wall := processCPU()-cpu0, time.Since(wall0)
	allocs := processAllocs() - alloc0
	d := rn.sumStats().sub(before)
	var rep *nodeReport
	if child != nil {
		var err error
		rep, err = child.report()
		child = nil
		if err != nil {
			return err
		}
	}

	var perNode Histogram
	for i := 0; i < n; i++ {
		if c.Running(i) {
			perNode.Add(float64(prev[i]-start[i]) / secs)
		}
	}
	ec := rn.o.engineConfig()
	period := ec.HeartbeatInterval.Seconds()
	nodes := float64(d.Nodes)
	perSec := func(v uint64) float64 { return float64(v) / nodes / secs }
	r := rn.r
	r.add("datagrams sent per node per period", perSec(d.DatagramsOut)*period, "count",
		Goal("<=", float64(ec.Observers+1), "design target: K+1"))
	r.add("datagrams sent per node per second", perSec(d.DatagramsOut), "1/s")
	r.add("bytes sent per node per second", perSec(d.BytesOut), "B/s")
	r.add("bytes received per node per second", perSec(d.BytesIn), "B/s")
	r.add("bytes sent per node per second p50", perNode.P50(), "B/s")
	r.add("bytes sent per node per second p99", perNode.P99(), "B/s")
	r.add("bytes sent per node per second max", perNode.Max(), "B/s")
	r.add("anti-entropy datagrams per node per second", perSec(d.antiEntropyOut()), "1/s")
	r.add("anti-entropy bytes sent per node per second", perSec(d.antiEntropyBytesOut()), "B/s")
	for t := codec.MsgType(1); int(t) < len(d.Out); t++ {
		if d.Out[t] > 0 {
			r.add(fmt.Sprintf("%v datagrams per node per second", t), perSec(d.Out[t]), "1/s")
			r.add(fmt.Sprintf("%v bytes sent per node per second", t), perSec(d.OutBytes[t]), "B/s")
		}
	}
	r.add("suspicions per node per hour", perSec(d.Suspicions)*3600, "1/h")
	usPerNodeSec := cpu.Seconds() * 1e6 / nodes / secs
	allocPerNodeSec := float64(allocs) / nodes / secs
	if rep != nil {
		addChildFigures(r, rep, period)
		r.add("CPU per in-process node per second", usPerNodeSec, "µs")
		r.add("bytes allocated per in-process node per second", allocPerNodeSec, "B/s")
	} else {
		r.add("CPU per node per second", usPerNodeSec, "µs",
			Ref(5/period, "aim for the core alone: 5 µs per period"))
		r.add("CPU per node per period", usPerNodeSec*period, "µs")
		r.add("bytes allocated per node per second", allocPerNodeSec, "B/s")
	}
	r.add("wall time per cluster second", wall.Seconds()/secs, "s")
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	r.add("heap in use", float64(ms.HeapAlloc)/(1<<20), "MiB")
	if rn.o.Driver.Name() == "sim" {
		r.note("CPU and bytes allocated are the whole process's (protocol, simulated network, event queue, GC) over %d simulated nodes: an upper bound on the protocol's own cost.", n)
	}
	r.Plots = append(r.Plots, Plot{
		Title:  "Bytes sent per node per second",
		Kind:   "line",
		XLabel: "seconds into the window",
		YLabel: "bytes per second",
		Series: []Series{mean, maxs},
	}, Plot{
		Title:  "Distribution over nodes of bytes sent per second",
		Kind:   "bars",
		XLabel: "bytes per second",
		YLabel: "fraction of nodes",
		Series: []Series{{Name: "nodes", Points: perNode.Bins(40)}},
		XFree:  true,
	})
	return nil
}
