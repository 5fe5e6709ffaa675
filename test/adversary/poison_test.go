//go:build linux

package adversary

import (
	"fmt"
	"math"
	"net/netip"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/hearsay-io/hearsay/codec"
	"github.com/hearsay-io/hearsay/engine"
)

const (
	poisonBound    = 10 * time.Second       // every node right again within this
	poisonDeadline = 15 * time.Second       // how long the test watches
	poisonPoll     = 100 * time.Millisecond // how often it looks at every node
	poisonStable   = time.Second            // right for this long counts as recovered
	poisonTargets  = 3                      // nodes each forgery is sent to
)

// self is what the victim holds about itself.
type self struct {
	gen uint64
	inc uint32
}

// poison is one single-datagram attack on a victim: records writes the
// forged records of datagram k, given what the victim holds about itself.
type poison struct {
	name      string
	datagrams int
	records   func(b *codec.Builder, victim uint64, addr netip.AddrPort, s self, k int)
}

func poisons() []poison {
	member := func(st codec.MemberState, genAhead uint64, inc uint32) func(*codec.Builder, uint64, netip.AddrPort, self, int) {
		return func(b *codec.Builder, id uint64, addr netip.AddrPort, s self, _ int) {
			b.AddMember(&codec.Member{ID: id, Generation: s.gen + genAhead, Incarnation: inc, State: st, Addr: addr, Witness: 0xbad})
		}
	}
	state := func(version uint64) func(*codec.Builder, uint64, netip.AddrPort, self, int) {
		return func(b *codec.Builder, id uint64, _ netip.AddrPort, s self, _ int) {
			b.AddState(&codec.StateEntry{Owner: id, Generation: s.gen, Version: version, Key: []byte(trueKey), Value: []byte("forged")})
		}
	}
	return []poison{
		{"left at its generation", 1, func(b *codec.Builder, id uint64, addr netip.AddrPort, s self, _ int) {
			b.AddMember(&codec.Member{ID: id, Generation: s.gen, Incarnation: s.inc, State: codec.StateLeft, Addr: addr})
		}},
		{"dead at incarnation 2^32-1", 1, member(codec.StateDead, 0, math.MaxUint32)},
		{"dead at incarnation 2^32-2", 1, member(codec.StateDead, 0, math.MaxUint32-1)},
		{"suspect at incarnation 2^32-1", 1, member(codec.StateSuspect, 0, math.MaxUint32)},
		{"suspect at incarnation 2^32-2", 1, member(codec.StateSuspect, 0, math.MaxUint32-1)},
		{"left at generation 2^64-1", 1, func(b *codec.Builder, id uint64, addr netip.AddrPort, _ self, _ int) {
			b.AddMember(&codec.Member{ID: id, Generation: math.MaxUint64, State: codec.StateLeft, Addr: addr})
		}},
		{"left 30 minutes of generations ahead", 1, member(codec.StateLeft, uint64(30*time.Minute), 0)},
		{"state at version 2^64-1", 1, state(math.MaxUint64)},
		{"state at version 2^64-2", 1, state(math.MaxUint64 - 1)},
		{"state of its key, one version up", 1, state(2)},
		{"32 junk keys", 4, func(b *codec.Builder, id uint64, _ netip.AddrPort, s self, k int) {
			for j := range 8 {
				b.AddState(&codec.StateEntry{Owner: id, Generation: s.gen, Version: uint64(100 + 8*k + j),
					Key: fmt.Appendf(nil, "junk%02d", 8*k+j), Value: []byte("x")})
			}
		}},
	}
}

// poisonResult is what one attack measured.
type poisonResult struct {
	keyed     bool
	name      string
	victim    int
	targets   []int
	recovered time.Duration // -1: not within poisonDeadline
	landed    bool          // some node was seen holding something wrong
	firstBad  string        // the first wrong view seen
	before    self
	after     self
	renewals  float64 // the victim's renewals (new generations)
	refused   float64 // implausible records refused at the targets
	forged    float64 // forged state entries the victim superseded
}

// TestPoisoning sends single forged datagrams about a victim (four for the
// junk keys) to three other nodes, open and sealed (an insider with the
// key), and measures the time until every node holds the victim alive at
// the generation and incarnation the victim holds itself at, with exactly
// its true application state (role=cache): at most 10 s for each attack.
// Each attack picks the next victim, so that one's aftermath does not
// weigh on the next.
func TestPoisoning(t *testing.T) {
	suiteMode(t)
	var results []poisonResult
	for _, keyed := range []bool{false, true} {
		t.Run(fmt.Sprintf("keyed=%v", keyed), func(t *testing.T) {
			c := startCluster(t, keyed)
			a := newAttacker(t, c, true, 2)
			from := listenUDP(t, netip.MustParseAddr("127.0.0.1"), nil)
			for k, p := range poisons() {
				r := runPoison(t, c, a, from, p, k)
				r.keyed = keyed
				results = append(results, r)
				if t.Failed() {
					break
				}
			}
		})
	}
	tb := newTable("keyed", "attack", "victim", "sent to", "landed", "recovered", "renewals", "refused", "forged state", "generation", "incarnation")
	for _, r := range results {
		rec := "never (15 s)"
		if r.recovered >= 0 {
			rec = r.recovered.Round(10 * time.Millisecond).String()
		}
		gen := "same"
		if r.after.gen != r.before.gen {
			gen = fmt.Sprintf("+%v", time.Duration(r.after.gen-r.before.gen))
		}
		tb.row(fmt.Sprint(r.keyed), r.name, fmt.Sprint(r.victim), fmt.Sprint(r.targets), fmt.Sprint(r.landed), rec,
			fmt.Sprint(r.renewals), fmt.Sprint(r.refused), fmt.Sprint(r.forged), gen, fmt.Sprintf("%d→%d", r.before.inc, r.after.inc))
	}
	t.Logf("single-datagram poisoning: time until every node holds the victim alive at its own generation and incarnation with exactly role=cache (bound %v; watched every %v, right for %v counts); landed: some node was seen wrong; refused: implausible records refused at the targets%s",
		poisonBound, poisonPoll, poisonStable, tb)
	for _, r := range results {
		if r.landed && r.firstBad != "" {
			t.Logf("keyed=%v %s: first wrong view seen: %s", r.keyed, r.name, r.firstBad)
		}
	}
}

// runPoison runs one attack on victim k mod the cluster size.
func runPoison(t *testing.T, c *cluster, a *attacker, from *udpSock, p poison, k int) poisonResult {
	t.Helper()
	victim := c.nodes[(k+3)%len(c.nodes)]
	r := poisonResult{name: p.name, victim: victim.i, recovered: -1}
	// Wait until the cluster is right about the victim before the attack.
	if bad, _ := settle(c, victim, 5*time.Second); bad != "" {
		t.Fatalf("%s: before the attack: %s", p.name, bad)
	}
	s0, err := selfOf(victim)
	if err != nil {
		t.Fatal(err)
	}
	r.before = s0
	var others []*node
	for _, n := range c.nodes {
		if n != victim {
			others = append(others, n)
		}
	}
	perm := a.perm(len(others))
	for _, i := range perm[:poisonTargets] {
		r.targets = append(r.targets, others[i].i)
	}
	sort.Ints(r.targets)
	m0 := c.allMetrics(t)
	start := time.Now()
	for d := range p.datagrams {
		for _, ti := range r.targets {
			b := a.datagram(c.nodes[ti].addr, a.header(codec.MsgGossip, 0xa77ac4e5+uint64(k)), func(b *codec.Builder) {
				p.records(b, uint64(victim.id), victim.addr, s0, d)
			})
			from.send(c.nodes[ti].addr, b)
		}
	}
	var streak time.Time // start of the current run of right views
	for time.Since(start) < poisonDeadline {
		polled := time.Now()
		bad := wrongAbout(c, victim)
		now := polled.Sub(start)
		switch {
		case bad != "":
			if !r.landed {
				r.landed, r.firstBad = true, fmt.Sprintf("at %v: %s", now.Round(time.Millisecond), bad)
			}
			streak = time.Time{}
		case streak.IsZero():
			streak = polled
		}
		if !streak.IsZero() && time.Since(streak) >= poisonStable {
			r.recovered = streak.Sub(start)
			break
		}
		time.Sleep(poisonPoll)
	}
	m1 := c.allMetrics(t)
	for _, ti := range r.targets {
		r.refused += m1[ti].sub(m0[ti], "hearsay_refused_implausible_total")
	}
	r.renewals = m1[victim.i].sub(m0[victim.i], "hearsay_renewals_total")
	r.forged = m1[victim.i].sub(m0[victim.i], "hearsay_forged_state_total")
	r.after, _ = selfOf(victim)
	switch {
	case r.recovered < 0:
		t.Errorf("%s (victim %v, forgery to nodes %v): %v after the attack, not every node holds the victim as it holds itself: %s",
			p.name, victim, r.targets, poisonDeadline, wrongAbout(c, victim))
	case r.recovered > poisonBound:
		t.Errorf("%s (victim %v): every node held the victim right %v after the attack, want at most %v",
			p.name, victim, r.recovered.Round(10*time.Millisecond), poisonBound)
	}
	return r
}

// perm returns a random permutation of n.
func (a *attacker) perm(n int) []int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.rng.Perm(n)
}

// selfOf reads what n holds about itself.
func selfOf(n *node) (self, error) {
	ms, err := n.members()
	if err != nil {
		return self{}, err
	}
	for _, m := range ms {
		if m.Self {
			return self{m.Generation, m.Incarnation}, nil
		}
	}
	return self{}, fmt.Errorf("%v does not list itself", n)
}

// settle waits up to d until every node is right about victim.
func settle(c *cluster, victim *node, d time.Duration) (string, time.Duration) {
	start := time.Now()
	for {
		bad := wrongAbout(c, victim)
		if bad == "" || time.Since(start) > d {
			return bad, time.Since(start)
		}
		time.Sleep(poisonPoll)
	}
}

// wrongAbout returns what some running node holds wrong about victim: not
// alive at the generation and incarnation the victim holds itself at, or
// its application state other than exactly role=cache (and its name,
// engine.NameKey, as it runs with). It returns "" when
// every node is right.
func wrongAbout(c *cluster, victim *node) string {
	s, err := selfOf(victim)
	if err != nil {
		return err.Error()
	}
	bad := make([]string, len(c.nodes))
	c.forEach(func(n *node) {
		ms, err := n.members()
		if err != nil {
			bad[n.i] = fmt.Sprintf("%v /members: %v", n, err)
			return
		}
		m, ok := findMember(ms, victim.id)
		switch {
		case !ok:
			bad[n.i] = fmt.Sprintf("node %d does not list the victim", n.i)
			return
		case m.State != "alive" || m.Generation != s.gen || m.Incarnation != s.inc:
			bad[n.i] = fmt.Sprintf("node %d holds the victim %s at generation %d incarnation %d; the victim holds itself alive at %d, %d",
				n.i, m.State, m.Generation, m.Incarnation, s.gen, s.inc)
			return
		}
		st, err := n.state()
		if err != nil {
			bad[n.i] = fmt.Sprintf("%v /state: %v", n, err)
			return
		}
		ms2, ok := st.Members[victim.id.String()]
		if !ok {
			bad[n.i] = fmt.Sprintf("node %d /state does not list the victim", n.i)
			return
		}
		var keys []string
		for k, e := range ms2.Keys {
			if strings.HasPrefix(k, engine.ReservedKeyPrefix) {
				continue // the name, checked from /members below
			}
			v := e.ValueBase64
			if e.Value != nil {
				v = *e.Value
			}
			keys = append(keys, k+"="+v)
		}
		slices.Sort(keys)
		if len(keys) != 1 || keys[0] != trueKey+"="+trueValue {
			bad[n.i] = fmt.Sprintf("node %d holds the victim's state as {%s} (generation %d, state version %d), want {%s=%s}",
				n.i, strings.Join(keys, ", "), ms2.Generation, ms2.StateVersion, trueKey, trueValue)
			return
		}
		if n != victim && m.Name != victim.name() {
			bad[n.i] = fmt.Sprintf("node %d holds the victim's name as %q, want %q", n.i, m.Name, victim.name())
		}
	})
	for _, b := range bad {
		if b != "" {
			return b
		}
	}
	return ""
}
