package bench

import (
	"fmt"
	"time"

	"github.com/hearsay-io/hearsay/engine"
)

// verdict classifies one dead event of a nemesis run (see the package's
// nemesis documentation, NemesisScenarios).
type verdict uint8

const (
	// verdictNone: not a dead event.
	verdictNone verdict = iota
	// verdictFalse: a false death. The member's process was running
	// (crashed neither then nor since; paused counts as running), and no
	// excuse below applied.
	verdictFalse
	// verdictCrashed: the process the event is about had crashed by the
	// event's time, or is an older generation than the member's current
	// one.
	verdictCrashed
	// verdictCut: the observer and the member could not exchange datagrams
	// both ways — a partition, or a one-way cut in either direction (an
	// observer that cannot reach a member cannot probe it, and a member
	// that cannot reach the observer's side stops counting it among its
	// observers) — at the event's time or within the grace period before
	// it. A death on the observer's own side of a cut is never excused.
	verdictCut
	// verdictImpaired: the member or the observer had a lossy-node fault
	// (gray or flaky) at the event's time or within the grace period
	// before it.
	verdictImpaired
	verdicts
)

func (v verdict) String() string {
	return [...]string{"none", "false", "crashed", "cut", "impaired"}[v]
}

// span is a time interval of cluster time; until < 0 means it is still
// open.
type span struct{ from, until time.Duration }

// covers reports whether t falls in the span or within grace after its end.
func (s span) covers(t, grace time.Duration) bool {
	return t >= s.from && (s.until < 0 || t <= s.until+grace)
}

// cut is a network fault that keeps some observers from hearing some
// members: a partition into groups (oneWay < 0), or a one-way cut that
// drops what group oneWay sends to every other group.
type cut struct {
	span
	group  []int8
	oneWay int8
}

// deaf reports whether observer o and member x cannot exchange datagrams
// both ways under the cut: they are on different sides of it, whichever
// way a one-way cut drops.
func (c *cut) deaf(o, x int) bool { return c.group[o] != c.group[x] }

// oracle is what the nemesis knows and the nodes do not: which process of
// each node runs, since when, and which observers may legitimately lose
// sight of which members. It classifies every dead event, counts them, and
// adds up node-hours (the time each node's process ran).
type oracle struct {
	grace    time.Duration
	gen      []uint64        // current process generation of each node
	downAt   []time.Duration // when the current process crashed; −1 while it runs
	upSince  []time.Duration
	upTotal  time.Duration // uptime of processes no longer running
	impaired [][]span      // per node: when it had a lossy-node fault
	cuts     []*cut

	counts     [verdicts]int
	firstFalse string
}

func newOracle(c Cluster, grace time.Duration) *oracle {
	n := c.Len()
	o := &oracle{
		grace:    grace,
		gen:      make([]uint64, n),
		downAt:   make([]time.Duration, n),
		upSince:  make([]time.Duration, n),
		impaired: make([][]span, n),
	}
	now := c.Now()
	for i := range n {
		o.gen[i] = c.Generation(i)
		o.downAt[i] = -1
		o.upSince[i] = now
		if !c.Running(i) {
			o.downAt[i] = now
		}
	}
	return o
}

// crashed records that node i's process stopped at t.
func (o *oracle) crashed(i int, t time.Duration) {
	if o.downAt[i] >= 0 {
		return
	}
	o.downAt[i] = t
	o.upTotal += t - o.upSince[i]
}

// restarted records that node i runs a new process of generation gen
// from t.
func (o *oracle) restarted(i int, gen uint64, t time.Duration) {
	o.crashed(i, t)
	o.gen[i], o.downAt[i], o.upSince[i] = gen, -1, t
}

// up reports whether node i's process runs at the end of the record.
func (o *oracle) up(i int) bool { return o.downAt[i] < 0 }

// impair opens a lossy-node span for node i at t; heal closes it.
func (o *oracle) impair(i int, t time.Duration) {
	o.impaired[i] = append(o.impaired[i], span{t, -1})
}

func (o *oracle) heal(i int, t time.Duration) {
	if s := o.impaired[i]; len(s) > 0 && s[len(s)-1].until < 0 {
		s[len(s)-1].until = t
	}
}

// addCut records a cut that starts at t; the caller closes it by setting
// its until.
func (o *oracle) addCut(group []int8, oneWay int8, t time.Duration) *cut {
	c := &cut{span: span{t, -1}, group: group, oneWay: oneWay}
	o.cuts = append(o.cuts, c)
	return c
}

// classify returns the verdict on a dead event at observer obs about
// member x's process of generation gen at time t.
func (o *oracle) classify(obs, x int, gen uint64, t time.Duration) verdict {
	if gen < o.gen[x] || (o.downAt[x] >= 0 && t >= o.downAt[x]) {
		return verdictCrashed
	}
	for _, c := range o.cuts {
		if c.covers(t, o.grace) && c.deaf(obs, x) {
			return verdictCut
		}
	}
	for _, i := range [2]int{x, obs} {
		for _, s := range o.impaired[i] {
			if s.covers(t, o.grace) {
				return verdictImpaired
			}
		}
	}
	return verdictFalse
}

// dead classifies and counts a dead event at observer obs about member x.
func (o *oracle) dead(obs, x int, e engine.Event, t time.Duration, c Cluster) verdict {
	v := o.classify(obs, x, e.Member.Generation, t)
	o.counts[v]++
	if v == verdictFalse && o.firstFalse == "" {
		w := "unknown"
		if j, ok := c.Index(e.Witness); ok {
			w = fmt.Sprintf("node %d", j)
		}
		o.firstFalse = fmt.Sprintf("node %d declared node %d (generation %d, incarnation %d) dead at %v, witness %s",
			obs, x, e.Member.Generation, e.Member.Incarnation, t.Round(time.Millisecond), w)
	}
	return v
}

// nodeHours returns the hours the nodes' processes ran until t.
func (o *oracle) nodeHours(t time.Duration) float64 {
	d := o.upTotal
	for i := range o.gen {
		if o.downAt[i] < 0 {
			d += t - o.upSince[i]
		}
	}
	return d.Hours()
}

// falseDetail describes the false deaths for a check.
func (o *oracle) falseDetail() string {
	s := fmt.Sprintf("%d false dead events (%d about crashed processes, %d excused by cuts, %d by lossy-node faults)",
		o.counts[verdictFalse], o.counts[verdictCrashed], o.counts[verdictCut], o.counts[verdictImpaired])
	if o.firstFalse != "" {
		s += "; first: " + o.firstFalse
	}
	return s
}
