package sim_test

import (
	"testing"
	"time"

	"github.com/hearsay-io/hearsay/engine"
	"github.com/hearsay-io/hearsay/engine/sim"
	"github.com/hearsay-io/hearsay/netio"
	"github.com/hearsay-io/hearsay/ring"
)

// recorder keeps, per observing node, the events it raised about each
// member, so tests can assert exactly who learned what and when.
type recorder struct {
	index  map[engine.ID]int // member ID → node index
	deaths map[[2]int]int    // (observer, subject) → dead events
	first  map[int]time.Duration
	last   map[int]time.Duration // subject → last dead event anywhere
	alive  map[[2]int]int        // (observer, subject) → alive or join events after a death
	susp   map[int]int           // subject → suspect events
}

func newRecorder() *recorder {
	return &recorder{
		index:  map[engine.ID]int{},
		deaths: map[[2]int]int{},
		first:  map[int]time.Duration{},
		last:   map[int]time.Duration{},
		alive:  map[[2]int]int{},
		susp:   map[int]int{},
	}
}

func (r *recorder) on(node int, e engine.Event) {
	subj, ok := r.index[e.Member.ID]
	if !ok {
		return
	}
	at := sim.Since(e.At)
	switch e.Type {
	case engine.EventDead:
		r.deaths[[2]int{node, subj}]++
		if _, seen := r.first[subj]; !seen {
			r.first[subj] = at
		}
		r.last[subj] = at
	case engine.EventAlive, engine.EventJoin:
		if r.deaths[[2]int{node, subj}] > 0 {
			r.alive[[2]int{node, subj}]++
		}
	case engine.EventSuspect:
		r.susp[subj]++
	}
}

// deadSubjects returns every member some node declared dead.
func (r *recorder) deadSubjects() map[int]bool {
	out := map[int]bool{}
	for k := range r.deaths {
		out[k[1]] = true
	}
	return out
}

// newSim builds a converged cluster of n nodes whose events feed rec.
func newSim(t *testing.T, n int, seed uint64, link netio.Link, rec *recorder) *sim.Sim {
	t.Helper()
	cfg := sim.Config{N: n, Seed: seed, Engine: openLAN(), Link: link}
	if rec != nil {
		cfg.OnEvent = rec.on
	}
	s, err := sim.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if rec != nil {
		for _, nd := range s.Nodes() {
			rec.index[nd.ID] = nd.Index
		}
	}
	return s
}

// viewsOf counts how running nodes other than j see node j.
func viewsOf(s *sim.Sim, j int) (alive, dead int) {
	for _, i := range s.Running() {
		if i == j {
			continue
		}
		m, ok := s.View(i, j)
		switch {
		case ok && m.State.Live():
			alive++
		default:
			dead++
		}
	}
	return alive, dead
}

func TestCrashDetectedEverywhere(t *testing.T) {
	const n = 1000
	rec := newRecorder()
	link := lan()
	link.Loss = 0.01
	s := newSim(t, n, 1, link, rec)
	s.RunFor(10 * time.Second)
	victim := 123
	at := s.Now()
	s.Crash(victim)
	s.RunFor(15 * time.Second)
	if alive, _ := viewsOf(s, victim); alive != 0 {
		t.Errorf("%d of %d running nodes still see the crashed node alive 15s after the crash", alive, n-1)
	}
	for subj := range rec.deadSubjects() {
		if subj != victim {
			t.Errorf("node %d was declared dead but never crashed", subj)
		}
	}
	t.Logf("crash at %v: first knew after %v, every node knew after %v", at, rec.first[victim]-at, rec.last[victim]-at)
}

func TestSuspectRefutes(t *testing.T) {
	const n = 100
	rec := newRecorder()
	s := newSim(t, n, 2, lan(), rec)
	s.RunFor(10 * time.Second)
	subj := 7
	// Freeze the node (a long GC pause or a stalled VM) long enough to be
	// suspected, not long enough for the suspicion to run out. Its links
	// stay healthy, so it must refute as soon as it runs again. 3 s: the
	// detector crosses 1.3 to 2.3 s after the last heartbeat, depending on
	// where in its period the pause begins, and the probes take 0.6 s more.
	s.Pause(subj)
	s.RunFor(3 * time.Second)
	s.Resume(subj)
	s.RunFor(10 * time.Second)
	if rec.susp[subj] == 0 {
		t.Fatalf("node %d was never suspected: the test did not exercise refutation", subj)
	}
	if inc := s.Node(subj).Core.Incarnation(); inc == 0 {
		t.Errorf("suspected node's incarnation = 0, want it raised by a refutation")
	}
	if alive, dead := viewsOf(s, subj); dead != 0 {
		t.Errorf("after refutation %d nodes see node %d alive and %d do not", alive, subj, dead)
	}
	if len(rec.deaths) != 0 {
		t.Errorf("deaths declared: %v", rec.deaths)
	}
}

func TestBadLinkToObserverNotDead(t *testing.T) {
	const n = 100
	rec := newRecorder()
	s := newSim(t, n, 3, lan(), rec)
	ids := make([]uint64, n)
	for i, nd := range s.Nodes() {
		ids[i] = uint64(nd.ID)
	}
	subj := 11
	obs := ring.NewTopology(ids).Observers(ids[subj], 3, nil)
	o := rec.index[engine.ID(obs[0])]
	// The link between the subject and its first observer fails both ways;
	// every other path works, so indirect probes must save the subject.
	down := netio.Link{Down: true}
	s.Network().SetLink(sim.Addr(subj), sim.Addr(o), down)
	s.Network().SetLink(sim.Addr(o), sim.Addr(subj), down)
	s.RunFor(60 * time.Second)
	if got := s.Node(o).Core.Stats().IndirectProbes; got == 0 {
		t.Fatalf("observer %d started no indirect probe of node %d: the link fault was not exercised", o, subj)
	}
	if d := rec.deadSubjects(); len(d) != 0 {
		t.Errorf("nodes declared dead behind one bad link: %v", d)
	}
	if _, dead := viewsOf(s, subj); dead != 0 {
		t.Errorf("%d nodes do not see node %d alive", dead, subj)
	}
}

func TestPausedNodeNotDead(t *testing.T) {
	skipLargeUnderRace(t)
	const n, pauses = 200, 100
	rec := newRecorder()
	s := newSim(t, n, 4, lan(), rec)
	s.RunFor(10 * time.Second)
	for k := range pauses {
		v := (k*31 + 7) % n
		s.Pause(v)
		s.RunFor(2 * time.Second)
		s.Resume(v)
		s.RunFor(8 * time.Second)
	}
	if d := rec.deadSubjects(); len(d) != 0 {
		t.Errorf("over %d pauses of 2s, nodes declared dead: %v", pauses, d)
	}
	total := 0
	for _, c := range rec.susp {
		total += c
	}
	t.Logf("%d pauses of 2s: %d suspect events, 0 deaths", pauses, total)
}

func TestFlakyNodesRemovedOnce(t *testing.T) {
	skipLargeUnderRace(t)
	const n = 500
	rec := newRecorder()
	s := newSim(t, n, 6, lan(), rec)
	flaky := map[int]bool{}
	for i := 0; i < n/100; i++ {
		flaky[(i*97+11)%n] = true
	}
	s.RunFor(5 * time.Second)
	for i := range flaky {
		s.Network().SetEndpointFaults(sim.Addr(i), netio.Faults{Loss: 0.8})
	}
	s.RunFor(120 * time.Second)
	for subj := range rec.deadSubjects() {
		if !flaky[subj] {
			t.Errorf("healthy node %d declared dead", subj)
		}
	}
	for k, c := range rec.deaths {
		if c > 1 {
			t.Errorf("node %d declared flaky node %d dead %d times: it oscillates", k[0], k[1], c)
		}
	}
	for k, c := range rec.alive {
		t.Errorf("node %d saw flaky node %d alive %d times after declaring it dead", k[0], k[1], c)
	}
	for i := range flaky {
		alive, dead := 0, 0
		for _, j := range s.Running() {
			if flaky[j] {
				continue
			}
			if m, ok := s.View(j, i); ok && m.State.Live() {
				alive++
			} else {
				dead++
			}
		}
		if alive != 0 {
			t.Errorf("flaky node %d: %d healthy nodes still see it alive, %d removed it", i, alive, dead)
		}
	}
}

func TestUniformLossNoFalseDeath(t *testing.T) {
	skipLargeUnderRace(t)
	const n, secs = 200, 600
	rec := newRecorder()
	link := lan()
	link.Loss = 0.10
	s := newSim(t, n, 5, link, rec)
	s.RunFor(secs * time.Second)
	if d := rec.deadSubjects(); len(d) != 0 {
		t.Errorf("at 10%% loss, nodes declared dead: %v", d)
	}
	t.Logf("%.1f node-hours at 10%% loss: 0 deaths, %d suspect events", float64(n*secs)/3600, len(rec.susp))
}

// lan is a LAN link: 100 µs ± 50 µs one way.
// openLAN is the LAN preset for an open (keyless) simulated cluster.
func openLAN() engine.Config {
	c := engine.DefaultLANConfig()
	c.Open = true
	return c
}

func lan() netio.Link {
	return netio.Link{Latency: netio.Latency{Base: 100 * time.Microsecond, Jitter: 50 * time.Microsecond, Shape: netio.Normal}}
}
