package bench

import (
	"container/heap"
	"context"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/hearsay-io/hearsay/engine"
	"github.com/hearsay-io/hearsay/netio"
)

// nemesisGrace is how long after a cut or a lossy-node fault ends a dead
// event it explains is still excused: verdicts reached during the fault
// that arrive late. It is longer than any scenario's wait after a heal.
const nemesisGrace = 60 * time.Second

// nemesis is one run of a nemesis scenario: the run, the cluster's fault
// controls, the faults in force, actions scheduled in cluster time, and
// the oracle that judges every dead event.
type nemesis struct {
	*run
	fc faultControl // nil when the driver has none
	or *oracle

	link      linkFaults // in force on every link
	nodeLoss  []float64
	nodeDelay []netio.Latency
	paused    []bool

	acts actHeap
	seq  uint64

	// hook, when set, sees every event, with its cluster time and, for a
	// dead event, the oracle's verdict; it runs with mu held.
	hook func(node int, e engine.Event, t time.Duration, v verdict)
}

func newNemesis(ctx context.Context, o Options, name, title string, minN int, fs ...feature) (*nemesis, error) {
	if err := needs(o, name, fs...); err != nil {
		return nil, err
	}
	rn, err := newRun(ctx, o, name, title, minN)
	if err != nil {
		return nil, err
	}
	return &nemesis{run: rn}, nil
}

// build creates a converged cluster with the options' loss and runs it
// healthy for warmup.
func (nm *nemesis) build(warmup time.Duration) error {
	onEvent := func(node int, e engine.Event) {
		nm.mu.Lock()
		defer nm.mu.Unlock()
		if nm.or == nil {
			return
		}
		t := nm.c.Elapsed(e.At)
		v := verdictNone
		if e.Type == engine.EventDead {
			if x, ok := nm.c.Index(e.Member.ID); ok {
				v = nm.or.dead(node, x, e, t, nm.c)
			}
		}
		if nm.hook != nil {
			nm.hook(node, e, t, v)
		}
	}
	if err := nm.run.build(StartConverged, nm.o.Loss, onEvent); err != nil {
		return err
	}
	n := nm.c.Len()
	nm.mu.Lock()
	nm.or = newOracle(nm.c, nemesisGrace)
	nm.mu.Unlock()
	nm.fc, _ = nm.c.(faultControl)
	nm.link = linkFaults{Loss: nm.o.Loss}
	nm.nodeLoss = make([]float64, n)
	nm.nodeDelay = make([]netio.Latency, n)
	nm.paused = make([]bool, n)
	nm.progress("warm-up")
	return nm.runFor(warmup)
}

// act is an action scheduled at a cluster time.
type act struct {
	at     time.Duration
	seq    uint64
	f      func() error
	cancel *bool // the action is skipped once *cancel is true
}

type actHeap []act

func (h actHeap) Len() int { return len(h) }
func (h actHeap) Less(i, j int) bool {
	if h[i].at != h[j].at {
		return h[i].at < h[j].at
	}
	return h[i].seq < h[j].seq
}
func (h actHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *actHeap) Push(x any)   { *h = append(*h, x.(act)) }
func (h *actHeap) Pop() any {
	old := *h
	a := old[len(old)-1]
	*h = old[:len(old)-1]
	return a
}

// at schedules f at cluster time t (at once if t has passed); it is
// skipped once *cancel is true (cancel may be nil).
func (nm *nemesis) at(t time.Duration, cancel *bool, f func() error) {
	nm.seq++
	heap.Push(&nm.acts, act{at: t, seq: nm.seq, f: f, cancel: cancel})
}

// runUntil runs the cluster until cluster time end, performing the actions
// that come due on the way, in steps of at most a second.
func (nm *nemesis) runUntil(end time.Duration) error {
	c := nm.c
	for {
		for len(nm.acts) > 0 && nm.acts[0].at <= c.Now() {
			a := heap.Pop(&nm.acts).(act)
			if a.cancel != nil && *a.cancel {
				continue
			}
			if err := a.f(); err != nil {
				return err
			}
		}
		now := c.Now()
		if now >= end {
			return nil
		}
		next := end
		if len(nm.acts) > 0 {
			next = min(next, nm.acts[0].at)
		}
		if err := c.Run(nm.ctx, min(next-now, time.Second)); err != nil {
			return err
		}
		nm.report()
	}
}

// runFor runs the cluster for d (see runUntil).
func (nm *nemesis) runFor(d time.Duration) error { return nm.runUntil(nm.c.Now() + d) }

// runWhile runs the cluster in steps of step until done returns true or
// limit has passed, performing due actions; it returns how long it ran and
// whether done held.
func (nm *nemesis) runWhile(limit, step time.Duration, done func() bool) (time.Duration, bool, error) {
	from := nm.c.Now()
	for {
		if done() {
			return nm.c.Now() - from, true, nil
		}
		if nm.c.Now()-from >= limit {
			return nm.c.Now() - from, false, nil
		}
		if err := nm.runUntil(min(nm.c.Now()+step, from+limit)); err != nil {
			return nm.c.Now() - from, false, err
		}
	}
}

// controls returns the cluster's fault controls or an error wrapping
// ErrUnsupported.
func (nm *nemesis) controls() (faultControl, error) {
	if nm.fc == nil {
		return nil, fmt.Errorf("bench: the %s driver's clusters have no fault controls: %w", nm.o.Driver.Name(), ErrUnsupported)
	}
	return nm.fc, nil
}

// pick returns k distinct nodes, at random, among those for which ok is
// true (nil: all).
func pick(rng *rand.Rand, n, k int, ok func(int) bool) []int {
	var out []int
	for _, v := range rng.Perm(n) {
		if len(out) == k {
			break
		}
		if ok == nil || ok(v) {
			out = append(out, v)
		}
	}
	return out
}

// fractionOf returns round(f·n), at least 1 and at most n/2.
func fractionOf(f float64, n int) int {
	return min(max(1, int(f*float64(n)+0.5)), max(1, n/2))
}

// rate returns count per node per second.
func rate(count uint64, nodes int, d time.Duration) float64 {
	if nodes == 0 || d <= 0 {
		return nan()
	}
	return float64(count) / float64(nodes) / d.Seconds()
}

// addFalseDeaths adds the false-death figure and check every nemesis
// scenario has, from the oracle's counts.
func (nm *nemesis) addFalseDeaths(name, source string) {
	r := nm.r
	r.add(name, float64(nm.or.counts[verdictFalse]), "count", Goal("==", 0, source))
	r.check("no false deaths", nm.or.counts[verdictFalse] == 0, "%s", nm.or.falseDetail())
}

// addNodeHours adds the node-hours figure.
func (nm *nemesis) addNodeHours() {
	nm.r.add("node-hours", nm.or.nodeHours(nm.c.Now()), "h")
}

// allSeeAll reports whether every running node holds every running node
// live.
func (nm *nemesis) allSeeAll() bool {
	want := 0
	for i := 0; i < nm.c.Len(); i++ {
		if nm.or.up(i) {
			want++
		}
	}
	for i := 0; i < nm.c.Len(); i++ {
		if !nm.or.up(i) {
			continue
		}
		if live, _ := nm.c.NumMembers(i); live != want {
			return false
		}
	}
	return true
}
