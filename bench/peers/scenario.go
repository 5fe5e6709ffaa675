package peers

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Options configures a run of the scenarios on one engine at one N. Zero
// fields take the defaults of DefaultOptions.
type Options struct {
	N     int // nodes
	Seeds int // seed nodes every joiner contacts (3)

	// Scenarios to run, among "join", "burst", "steady", "crash", "loss".
	// "steady", "crash" and "loss" run on the cluster "join" formed (or,
	// without "join", on one formed by a burst join).
	Scenarios []string

	JoinRate  float64       // paced joins per second (10)
	JoinBound time.Duration // convergence bound after the last join call (30 s)
	// FormBound is how much longer than JoinBound the cluster that the
	// later scenarios run on may take to form (60 s).
	FormBound time.Duration

	Settle time.Duration // quiet time before a steady window (5 s)
	Window time.Duration // steady-cost window (10 s)

	Crash      int           // nodes killed at once (4)
	CrashBound time.Duration // bound on every survivor knowing (60 s)

	Losses     []float64     // loss probabilities of the loss scenario (0.1, 0.3)
	LossWindow time.Duration // false-death window under loss (15 s)

	// Poll is how often convergence is checked (20 ms).
	Poll time.Duration
}

// DefaultOptions returns the defaults for n nodes.
func DefaultOptions(n int) Options {
	return Options{
		N:          n,
		Seeds:      3,
		Scenarios:  []string{"join", "burst", "steady", "crash", "loss"},
		JoinRate:   10,
		JoinBound:  30 * time.Second,
		FormBound:  60 * time.Second,
		Settle:     5 * time.Second,
		Window:     10 * time.Second,
		Crash:      4,
		CrashBound: 60 * time.Second,
		Losses:     []float64{0.1, 0.3},
		LossWindow: 15 * time.Second,
		Poll:       20 * time.Millisecond,
	}
}

func (o Options) withDefaults() Options {
	d := DefaultOptions(o.N)
	set := func(v *time.Duration, def time.Duration) {
		if *v == 0 {
			*v = def
		}
	}
	if o.Seeds == 0 {
		o.Seeds = d.Seeds
	}
	if o.Scenarios == nil {
		o.Scenarios = d.Scenarios
	}
	if o.JoinRate == 0 {
		o.JoinRate = d.JoinRate
	}
	set(&o.JoinBound, d.JoinBound)
	set(&o.FormBound, d.FormBound)
	set(&o.Settle, d.Settle)
	set(&o.Window, d.Window)
	if o.Crash == 0 {
		o.Crash = d.Crash
	}
	set(&o.CrashBound, d.CrashBound)
	if o.Losses == nil {
		o.Losses = d.Losses
	}
	set(&o.LossWindow, d.LossWindow)
	set(&o.Poll, d.Poll)
	return o
}

func (o Options) has(s string) bool { return slices.Contains(o.Scenarios, s) }

// Run runs the selected scenarios for one engine at o.N and returns their
// figures. Scenarios that need a formed cluster are skipped, with a note,
// when it did not converge. It returns early, with the figures so far,
// when ctx ends.
func Run(ctx context.Context, e Engine, o Options) (r RunResult) {
	o = o.withDefaults()
	r = RunResult{Engine: e.Name(), Label: e.Label(), N: o.N, Settings: e.Settings()}
	start := time.Now()
	defer func() { r.Wall = time.Since(start).Seconds() }()
	if o.N < o.Seeds+o.Crash*(1+len(o.Losses)) && (o.has("crash") || o.has("loss")) {
		r.Err = fmt.Sprintf("N = %d is too small for %d seeds and %d crashes per phase", o.N, o.Seeds, o.Crash)
		return r
	}
	if o.has("burst") {
		if err := r.burst(ctx, e, o); err != nil {
			r.Err = err.Error()
			return r
		}
	}
	if !o.has("join") && !o.has("steady") && !o.has("crash") && !o.has("loss") {
		return r
	}
	if err := r.main(ctx, e, o); err != nil {
		r.Err = err.Error()
	}
	return r
}

// burst forms a cluster by a burst join and closes it.
func (r *RunResult) burst(ctx context.Context, e Engine, o Options) error {
	tr := NewTracker(o.N)
	c, err := e.Start(o.N, tr)
	if err != nil {
		return err
	}
	defer c.Close()
	_, err = join(ctx, c, tr, o, 0, r, "burst", 0)
	return err
}

// main forms a cluster (paced join, or burst when "join" is not selected)
// and runs steady, crash and loss on it.
func (r *RunResult) main(ctx context.Context, e Engine, o Options) error {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	baseHeap := ms.HeapInuse

	tr := NewTracker(o.N)
	c, err := e.Start(o.N, tr)
	if err != nil {
		return err
	}
	defer c.Close()
	rate, name := o.JoinRate, "join"
	if !o.has("join") {
		rate, name = 0, "formed"
	}
	ok, err := join(ctx, c, tr, o, rate, r, name, o.FormBound)
	if err != nil {
		return err
	}
	if !ok {
		r.Notes = append(r.Notes, "the cluster did not converge: steady, crash and loss skipped")
		return nil
	}
	if o.has("steady") {
		if err := steady(ctx, c, tr, o, baseHeap, r); err != nil {
			return err
		}
	}
	if o.has("crash") {
		if err := crash(ctx, c, tr, o, "crash", r); err != nil {
			return err
		}
	}
	if o.has("loss") {
		for _, p := range o.Losses {
			if err := loss(ctx, c, tr, o, p, r); err != nil {
				return err
			}
		}
	}
	return nil
}

// join forms the cluster: seeds 1..S-1 join seed 0, then every other node
// joins through the S seeds, rate per second (0: all at once). It waits
// until every node holds every other alive, up to o.JoinBound after the
// last join call, and records under scenario name:
//
//	converged      1 when all saw all within the bound, else 0
//	all_see_all_s  from the first joiner's call until all saw all
//	after_last_s   from the last joiner's call until all saw all
//	join_errors    join calls that returned an error
//
// When formBound is positive and the bound passes first, it waits up to
// formBound more for the cluster to form, recording formed_late_s, and
// reports whether it formed.
func join(ctx context.Context, c Cluster, tr *Tracker, o Options, rate float64, r *RunResult, name string, formBound time.Duration) (bool, error) {
	seeds := make([]int, o.Seeds)
	for i := range seeds {
		seeds[i] = i
	}
	for i := 1; i < o.Seeds; i++ {
		jctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		err := c.Join(jctx, i, seeds[:1])
		cancel()
		if err != nil {
			return false, fmt.Errorf("peers: seed %d joining seed 0: %w", i, err)
		}
	}
	if _, ok := waitFor(ctx, 10*time.Second, o.Poll, func() bool { return tr.SeeAll(seeds) == o.Seeds }); !ok {
		return false, errors.New("peers: the seeds did not see each other within 10 s")
	}
	var errs atomic.Int64
	var wg sync.WaitGroup
	tr0, rcv0 := c.Traffic(), udpRcvbufErrors()
	t0 := time.Now()
	var last time.Time
	for i := o.Seeds; i < o.N; i++ {
		if rate > 0 {
			at := t0.Add(time.Duration(float64(i-o.Seeds) / rate * float64(time.Second)))
			if err := sleepUntil(ctx, at); err != nil {
				return false, err
			}
		}
		last = time.Now()
		wg.Go(func() {
			jctx, cancel := context.WithTimeout(ctx, joinTimeout)
			defer cancel()
			if c.Join(jctx, i, seeds) != nil {
				errs.Add(1)
			}
		})
	}
	if last.IsZero() {
		last = t0
	}
	wstart := time.Now()
	d, ok := waitFor(ctx, o.JoinBound, o.Poll, func() bool { return tr.Complete() == o.N })
	d += wstart.Sub(t0) // from the first joiner's call
	r.add(name, "converged", "bool", b2f(ok), false)
	r.add(name, "all_see_all_s", "s", d.Seconds(), !ok)
	r.add(name, "after_last_s", "s", (d - last.Sub(t0)).Seconds(), !ok)
	wg.Wait()
	r.add(name, "join_errors", "", float64(errs.Load()), false)
	r.add(name, "queue_dropped", "msgs", float64(c.Traffic().Sub(tr0).QueueDropped), false)
	r.add(name, "machine_udp_rcvbuf_errors", "datagrams", float64(udpRcvbufErrors()-rcv0), false)
	if !ok {
		r.add(name, "complete_at_bound", "nodes", float64(tr.Complete()), false)
		if formBound > 0 {
			// The scenarios that follow need a formed cluster: give it
			// more time (memberlist repairs missed gossip only by its
			// periodic push-pull), and say so.
			extra, formed := waitFor(ctx, formBound, o.Poll, func() bool { return tr.Complete() == o.N })
			r.add(name, "formed_late_s", "s", (d + extra).Seconds(), !formed)
			if formed {
				r.Notes = append(r.Notes, fmt.Sprintf("%s: all saw all only %.1f s after the first join call, beyond the bound; the later scenarios ran on that cluster", name, (d+extra).Seconds()))
			}
			ok = formed
		}
	}
	return ok, ctx.Err()
}

// steady measures a quiet, converged cluster: after o.Settle, over
// o.Window, the process's CPU time, the traffic, the allocations, and at
// the end the heap in use after a collection, each per node (and per
// second). Heap excludes what the process held before the cluster
// started. It also records the bytes by message type in r.ByType.
func steady(ctx context.Context, c Cluster, tr *Tracker, o Options, baseHeap uint64, r *RunResult) error {
	if err := sleep(ctx, o.Settle); err != nil {
		return err
	}
	var m0, m1, m2 runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&m0)
	t0, ty0 := c.Traffic(), c.ByType()
	cpu0, err := processCPU()
	if err != nil {
		return err
	}
	w0 := time.Now()
	if err := sleep(ctx, o.Window); err != nil {
		return err
	}
	cpu1, _ := processCPU()
	secs := time.Since(w0).Seconds()
	runtime.ReadMemStats(&m1)
	t1, ty1 := c.Traffic(), c.ByType()
	gor := runtime.NumGoroutine()
	runtime.GC()
	runtime.ReadMemStats(&m2)

	n := float64(o.N)
	per := func(v float64) float64 { return v / n / secs }
	tt := t1.Sub(t0)
	r.add("steady", "cpu_ms_per_node_s", "ms/s", per((cpu1-cpu0)*1000), false)
	r.add("steady", "datagrams_per_node_s", "1/s", per(float64(tt.Datagrams)), false)
	r.add("steady", "bytes_per_node_s", "B/s", per(float64(tt.Bytes)), false)
	r.add("steady", "tcp_bytes_per_node_s", "B/s", per(float64(tt.TCPBytes)), false)
	r.add("steady", "tcp_conns_per_node_min", "1/min", per(float64(tt.TCPConns))*60, false)
	r.add("steady", "allocs_per_node_s", "1/s", per(float64(m1.Mallocs-m0.Mallocs)), false)
	r.add("steady", "alloc_kib_per_node_s", "KiB/s", per(float64(m1.TotalAlloc-m0.TotalAlloc)/1024), false)
	heap := float64(0)
	if m2.HeapInuse > baseHeap {
		heap = float64(m2.HeapInuse - baseHeap)
	}
	r.add("steady", "heap_kib_per_node", "KiB", heap/1024/n, false)
	r.add("steady", "goroutines_per_node", "", float64(gor)/n, false)
	r.add("steady", "queue_dropped", "msgs", float64(tt.QueueDropped), false)
	r.add("steady", "all_see_all", "bool", b2f(tr.AllSeeAll()), false)

	r.ByType = make(map[string]Count)
	for k, v := range ty1 {
		u := ty0[k]
		r.ByType[k] = Count{Datagrams: v.Datagrams - u.Datagrams, Bytes: v.Bytes - u.Bytes}
	}
	r.ByTypeSeconds = secs
	return nil
}

// crash kills o.Crash random non-seed running nodes at once and waits, up
// to o.CrashBound, until every running node holds every one of them dead.
// Per (survivor, victim) pair it times the first moment the survivor held
// the victim dead, and records under scenario name:
//
//	k             nodes killed
//	complete      1 when every survivor knew within the bound
//	first_s       the first pair's detection
//	p50_s, p99_s  over all pairs; pairs not detected count as infinite
//	all_know_s    the last pair's detection (missing when not complete)
//	detected      fraction of pairs detected by the bound
func crash(ctx context.Context, c Cluster, tr *Tracker, o Options, name string, r *RunResult) error {
	var cands []int
	for i := o.Seeds; i < o.N; i++ {
		if tr.Running(i) {
			cands = append(cands, i)
		}
	}
	rand.Shuffle(len(cands), func(i, j int) { cands[i], cands[j] = cands[j], cands[i] })
	victims := cands[:min(o.Crash, len(cands))]
	slices.Sort(victims)
	tr.Crash(victims)
	for _, v := range victims {
		if err := c.Crash(v); err != nil {
			return fmt.Errorf("peers: crashing node %d: %w", v, err)
		}
	}
	_, ok := waitFor(ctx, o.CrashBound, o.Poll, func() bool {
		done, pairs := tr.Detected()
		return done == pairs
	})
	lat, pairs := tr.Detection()
	tr.EndCrash()
	slices.Sort(lat)
	q := func(p float64) (float64, bool) {
		if pairs == 0 {
			return 0, false
		}
		i := int(math.Ceil(p*float64(pairs))) - 1
		i = max(i, 0)
		if i >= len(lat) {
			return 0, false
		}
		return lat[i].Seconds(), true
	}
	r.add(name, "k", "nodes", float64(len(victims)), false)
	r.add(name, "complete", "bool", b2f(ok), false)
	if len(lat) > 0 {
		r.add(name, "first_s", "s", lat[0].Seconds(), false)
	} else {
		r.add(name, "first_s", "s", 0, true)
	}
	v, got := q(0.5)
	r.add(name, "p50_s", "s", v, !got)
	v, got = q(0.99)
	r.add(name, "p99_s", "s", v, !got)
	if ok && len(lat) > 0 {
		r.add(name, "all_know_s", "s", lat[len(lat)-1].Seconds(), false)
	} else {
		r.add(name, "all_know_s", "s", 0, true)
	}
	r.add(name, "detected", "frac", float64(len(lat))/float64(max(pairs, 1)), false)
	return nil
}

// loss injects uniform loss p on every datagram every node sends. Over
// o.LossWindow it counts false deaths (a running node declaring another
// running node dead) and the traffic; then it runs a crash under the same
// loss; then it removes the loss, waits o.Settle, and checks whether the
// views healed. It records under "loss<percent>":
//
//	false_deaths_per_node_h  false deaths per node-hour in the window
//	false_pairs              distinct (observer, subject) pairs involved
//	wrong_at_end             pairs holding a live node dead at the end of the window
//	bytes_per_node_s, datagrams_per_node_s, tcp_bytes_per_node_s   in the window
//	crash.*                  the crash figures, under loss
//	healed                   1 when all saw all o.Settle after the loss ended
func loss(ctx context.Context, c Cluster, tr *Tracker, o Options, p float64, r *RunResult) error {
	name := fmt.Sprintf("loss%d", int(math.Round(p*100)))
	live := 0
	for i := range o.N {
		if tr.Running(i) {
			live++
		}
	}
	c.SetLoss(p)
	tr.ResetFalse()
	t0 := c.Traffic()
	w0 := time.Now()
	if err := sleep(ctx, o.LossWindow); err != nil {
		return err
	}
	secs := time.Since(w0).Seconds()
	tt := c.Traffic().Sub(t0)
	events, pairs := tr.FalseDeaths()
	n := float64(live)
	r.add(name, "false_deaths_per_node_h", "1/h", float64(events)/n/secs*3600, false)
	r.add(name, "false_pairs", "pairs", float64(pairs), false)
	r.add(name, "wrong_at_end", "pairs", float64(tr.WrongNow()), false)
	r.add(name, "datagrams_per_node_s", "1/s", float64(tt.Datagrams)/n/secs, false)
	r.add(name, "bytes_per_node_s", "B/s", float64(tt.Bytes)/n/secs, false)
	r.add(name, "tcp_bytes_per_node_s", "B/s", float64(tt.TCPBytes)/n/secs, false)
	if err := crash(ctx, c, tr, o, name+".crash", r); err != nil {
		return err
	}
	c.SetLoss(0)
	_, ok := waitFor(ctx, o.Settle*2, 5*o.Poll, tr.AllSeeAll) // O(N²): polled less often
	r.add(name, "healed", "bool", b2f(ok), false)
	return nil
}

// udpRcvbufErrors returns the kernel's count of UDP datagrams dropped for a
// full socket receive buffer, machine-wide (/proc/net/snmp), or 0 when it
// cannot be read. Other processes' sockets count too.
func udpRcvbufErrors() uint64 {
	b, err := os.ReadFile("/proc/net/snmp")
	if err != nil {
		return 0
	}
	var names []string
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) == 0 || f[0] != "Udp:" {
			continue
		}
		if names == nil {
			names = f
			continue
		}
		for i, n := range names {
			if n == "RcvbufErrors" && i < len(f) {
				v, _ := strconv.ParseUint(f[i], 10, 64)
				return v
			}
		}
	}
	return 0
}

// waitFor polls cond every poll until it holds or bound passes, and
// returns how long it took and whether it held.
func waitFor(ctx context.Context, bound, poll time.Duration, cond func() bool) (time.Duration, bool) {
	start := time.Now()
	t := time.NewTicker(poll)
	defer t.Stop()
	for {
		if cond() {
			return time.Since(start), true
		}
		if time.Since(start) > bound {
			return time.Since(start), false
		}
		select {
		case <-ctx.Done():
			return time.Since(start), false
		case <-t.C:
		}
	}
}

func sleep(ctx context.Context, d time.Duration) error {
	return sleepUntil(ctx, time.Now().Add(d))
}

func sleepUntil(ctx context.Context, at time.Time) error {
	d := time.Until(at)
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
