package peers

import (
	"sync"
	"time"
)

// Tracker holds what every node of a cluster believes about every other,
// as the engines report it through their event hooks (engine.Event for
// Hearsay, memberlist.EventDelegate for memberlist), and times the changes
// a scenario waits for. Both engines feed it the same two facts: observer
// o now holds subject s alive, or no longer does (dead or left). A suspect
// is still alive for both, as both engines count it.
//
// Nodes are numbered 0..N-1 by the harness. A tracker is safe for
// concurrent use; engines call it from their own goroutines while holding
// their own locks, so it never calls back into an engine.
type Tracker struct {
	mu      sync.Mutex
	n       int
	alive   [][]bool // alive[o][s]: o holds s alive
	seen    []int    // how many others each observer holds alive
	running []bool   // the node runs (not crashed)
	t0      time.Time

	// Crash detection: the victims and, for each (observer, victim) pair
	// of a running observer, when the observer first held the victim dead.
	victim   []bool
	crashAt  time.Time
	detected map[pair]time.Duration
	nVictims int

	// Deaths of running, non-victim members declared by running observers
	// since the last Mark: false positives.
	falseDeaths int
	falsePairs  map[pair]bool
}

type pair struct{ o, s int32 }

// NewTracker returns a tracker for n nodes, none running yet.
func NewTracker(n int) *Tracker {
	t := &Tracker{
		n:        n,
		alive:    make([][]bool, n),
		seen:     make([]int, n),
		running:  make([]bool, n),
		victim:   make([]bool, n),
		detected: make(map[pair]time.Duration),
		t0:       time.Now(),
	}
	for i := range t.alive {
		t.alive[i] = make([]bool, n)
	}
	return t
}

// Len returns the number of nodes.
func (t *Tracker) Len() int { return t.n }

// SetRunning records that node i runs (true) or was crashed (false). The
// views of a node that does not run are ignored.
func (t *Tracker) SetRunning(i int, on bool) {
	t.mu.Lock()
	t.running[i] = on
	t.mu.Unlock()
}

// Running reports whether node i runs.
func (t *Tracker) Running(i int) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.running[i]
}

// Set records that observer o now holds subject s alive (up) or dead or
// gone (!up). Reports about o itself, out of range, or from a node that
// does not run are ignored.
func (t *Tracker) Set(o, s int, up bool) {
	if o == s || o < 0 || s < 0 || o >= t.n || s >= t.n {
		return
	}
	now := time.Now()
	t.mu.Lock()
	defer t.mu.Unlock()
	if !t.running[o] || t.alive[o][s] == up {
		return
	}
	t.alive[o][s] = up
	if up {
		t.seen[o]++
		return
	}
	t.seen[o]--
	switch {
	case t.victim[s] && !t.victim[o]:
		p := pair{int32(o), int32(s)}
		if _, ok := t.detected[p]; !ok {
			t.detected[p] = now.Sub(t.crashAt)
		}
	case t.running[s] && !t.victim[s]:
		t.falseDeaths++
		if t.falsePairs == nil {
			t.falsePairs = make(map[pair]bool)
		}
		t.falsePairs[pair{int32(o), int32(s)}] = true
	}
}

// AllSeeAll reports whether every running node holds every other running
// node alive and no other node alive.
func (t *Tracker) AllSeeAll() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	live := 0
	for _, r := range t.running {
		if r {
			live++
		}
	}
	for o, r := range t.running {
		if !r {
			continue
		}
		if t.seen[o] != live-1 {
			return false
		}
		for s, up := range t.alive[o] {
			if up != (t.running[s] && s != o) {
				return false
			}
		}
	}
	return true
}

// SeeAll reports how many of the nodes in set hold every other node of set
// alive.
func (t *Tracker) SeeAll(set []int) int {
	t.mu.Lock()
	defer t.mu.Unlock()
	k := 0
	for _, o := range set {
		ok := true
		for _, s := range set {
			if s != o && !t.alive[o][s] {
				ok = false
				break
			}
		}
		if ok {
			k++
		}
	}
	return k
}

// Complete returns how many running nodes hold every other running node
// alive.
func (t *Tracker) Complete() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	live := 0
	for _, r := range t.running {
		if r {
			live++
		}
	}
	k := 0
	for o, r := range t.running {
		if r && t.seen[o] >= live-1 {
			k++
		}
	}
	return k
}

// Crash marks victims as crashed now: they stop running and detection of
// their death is timed from now. Observers that already hold a victim
// dead count as detecting it at once.
func (t *Tracker) Crash(victims []int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	clear(t.victim)
	clear(t.detected)
	t.crashAt = time.Now()
	t.nVictims = len(victims)
	for _, v := range victims {
		t.victim[v] = true
		t.running[v] = false
	}
	for o, r := range t.running {
		if !r {
			continue
		}
		for _, v := range victims {
			if !t.alive[o][v] {
				t.detected[pair{int32(o), int32(v)}] = 0
			}
		}
	}
}

// Detected returns how many (observer, victim) pairs are detected so far
// and how many there are in all. It is cheap enough to poll.
func (t *Tracker) Detected() (done, pairs int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	live := 0
	for o, r := range t.running {
		if r && !t.victim[o] {
			live++
		}
	}
	return len(t.detected), live * t.nVictims
}

// Detection returns the detection latency of every (running observer,
// victim) pair detected so far, and how many pairs there are in all.
func (t *Tracker) Detection() (lat []time.Duration, pairs int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	live := 0
	for o, r := range t.running {
		if r && !t.victim[o] {
			live++
		}
	}
	for p, d := range t.detected {
		if t.running[p.o] {
			lat = append(lat, d)
		}
	}
	return lat, live * t.nVictims
}

// EndCrash forgets the victims: their deaths are no longer timed.
func (t *Tracker) EndCrash() {
	t.mu.Lock()
	clear(t.victim)
	clear(t.detected)
	t.nVictims = 0
	t.mu.Unlock()
}

// ResetFalse zeroes the count of false deaths.
func (t *Tracker) ResetFalse() {
	t.mu.Lock()
	t.falseDeaths = 0
	t.falsePairs = nil
	t.mu.Unlock()
}

// FalseDeaths returns how many times since ResetFalse a running node
// declared dead another running node that was not crashed, and how many
// distinct (observer, subject) pairs that involved.
func (t *Tracker) FalseDeaths() (events, pairs int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.falseDeaths, len(t.falsePairs)
}

// WrongNow returns how many (running observer, running subject) pairs are
// currently wrong: the observer holds the subject dead.
func (t *Tracker) WrongNow() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	k := 0
	for o, r := range t.running {
		if !r {
			continue
		}
		for s, up := range t.alive[o] {
			if s != o && t.running[s] && !up {
				k++
			}
		}
	}
	return k
}
