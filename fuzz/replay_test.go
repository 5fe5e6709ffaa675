package fuzz_test

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/hearsay-io/hearsay/codec"
	"github.com/hearsay-io/hearsay/engine"
)

// Replay tests (issue 9, item 3): datagrams captured from a running
// cluster are injected again, later, into every node. Because the merge
// rule orders records by (generation, incarnation, state) and state
// entries by version, none of them may change anything: not a member's
// state, incarnation or generation, not an application-state value or
// version, and no live node may be suspected or declared dead.

// replayConfig is worldConfig with the default tombstone retention, which
// outlasts the scenario, so that every tombstone is still there to
// outrank the old records replayed.
func replayConfig(keys [][]byte) engine.Config {
	cfg := worldConfig()
	cfg.TombstoneRetention = engine.DefaultLANConfig().TombstoneRetention
	cfg.Keys = keys
	cfg.Open = len(cfg.Keys) == 0
	return cfg
}

// replayKeys are the state keys the scenario writes.
var replayKeys = []stateKey{{worldIDs[1], "load"}, {worldIDs[2], "zone"}, {worldIDs[4], "role"}}

// nodeView is what a node believes, for comparison before and after a
// replay.
type nodeView struct {
	gen     uint64
	inc     uint32
	members []engine.Member
	state   []string
}

func viewOf(c *cluster, i int) nodeView {
	core := c.nodes[i].core
	v := nodeView{gen: core.Generation(), inc: core.Incarnation(), members: core.Members(nil)}
	for _, k := range replayKeys {
		val, ver, ok := core.State(k.owner, []byte(k.key))
		v.state = append(v.state, fmt.Sprintf("%v/%s=%q@%d(%v)", k.owner, k.key, val, ver, ok))
	}
	return v
}

func views(c *cluster) map[int]nodeView {
	m := map[int]nodeView{}
	for _, i := range c.running() {
		m[i] = viewOf(c, i)
	}
	return m
}

// diffViews returns the first difference between two sets of views.
func diffViews(before, after map[int]nodeView) error {
	for i, b := range before {
		a, ok := after[i]
		if !ok {
			return fmt.Errorf("node %d stopped", i)
		}
		if a.gen != b.gen || a.inc != b.inc {
			return fmt.Errorf("node %d moved from gen %d inc %d to gen %d inc %d", i, b.gen, b.inc, a.gen, a.inc)
		}
		if !slices.Equal(a.members, b.members) {
			for _, m := range b.members {
				j := slices.IndexFunc(a.members, func(x engine.Member) bool { return x.ID == m.ID })
				if j < 0 {
					return fmt.Errorf("node %d lost member %d (%+v)", i, worldByID[m.ID], m)
				}
				if a.members[j] != m {
					return fmt.Errorf("node %d's view of node %d went from %+v to %+v", i, worldByID[m.ID], m, a.members[j])
				}
			}
			for _, m := range a.members {
				if !slices.ContainsFunc(b.members, func(x engine.Member) bool { return x.ID == m.ID }) {
					return fmt.Errorf("node %d gained member %d: %v gen %d inc %d", i, worldByID[m.ID], m.State, m.Generation, m.Incarnation)
				}
			}
		}
		if !slices.Equal(a.state, b.state) {
			return fmt.Errorf("node %d's application state went from %v to %v", i, b.state, a.state)
		}
	}
	return nil
}

// falseDeaths lists what running nodes believe of other running nodes
// that are not alive, and the suspicions and deaths of running nodes among
// the events since mark.
func falseDeaths(c *cluster, leftNodes map[int]bool, mark int) []string {
	var bad []string
	up := map[engine.ID]bool{}
	for _, i := range c.running() {
		if !leftNodes[i] {
			up[c.nodes[i].id] = true
		}
	}
	for _, i := range c.running() {
		for _, j := range c.running() {
			if leftNodes[j] || i == j {
				continue
			}
			if m, ok := c.nodes[i].core.Member(c.nodes[j].id); !ok || m.State != engine.StateAlive {
				bad = append(bad, fmt.Sprintf("node %d sees node %d as %v (known %v)", i, j, m.State, ok))
			}
		}
	}
	for _, e := range c.events[mark:] {
		switch e.ev.Type {
		case engine.EventSuspect, engine.EventDead:
			if up[e.ev.Member.ID] {
				bad = append(bad, fmt.Sprintf("node %d: %v of running node %d", e.node, e.ev.Type, worldByID[e.ev.Member.ID]))
			}
		case engine.EventSelfDead:
			bad = append(bad, fmt.Sprintf("node %d was told it is dead", e.node))
		}
	}
	return bad
}

// replayScenario runs the world through a restart at a higher generation,
// a crash, a partition and its healing (a refutation), state updates and a
// leave, capturing every delivery until the end. The restart comes before
// the crash, so that every node holds the crashed node's tombstone (see
// TestReplayIntoLaterJoiner for a node that does not).
func replayScenario(t *testing.T, keys [][]byte) (*cluster, []delivery) {
	t.Helper()
	c, err := newCluster(worldN, worldSeed, replayConfig(keys), lan(), true)
	if err != nil {
		t.Fatal(err)
	}
	var log []delivery
	c.tap = func(d delivery) { log = append(log, d) }
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	c.runFor(5 * time.Second)
	must(c.setState(1, "load", "0.25"))
	must(c.setState(2, "zone", "eu-west-1"))
	must(c.setState(4, "role", "cache"))
	c.runFor(3 * time.Second)
	// Node 7 restarts at generation 2.
	must(c.restart(7, 0))
	c.runFor(6 * time.Second)
	// Node 6 crashes and is declared dead.
	c.crash(6)
	c.runFor(20 * time.Second)
	// Node 3 is cut off until declared dead, then refutes after healing.
	c.partition([]int{3}, []int{0, 1, 2, 4, 5, 7})
	c.runFor(20 * time.Second)
	c.heal()
	c.runFor(15 * time.Second)
	// State moves on: a new version, a deletion, a rewrite.
	must(c.setState(1, "load", "0.75"))
	must(c.nodes[2].core.DeleteState(c.now(), []byte("zone")))
	c.flush(c.nodes[2])
	must(c.setState(4, "role", "db"))
	c.runFor(5 * time.Second)
	// Node 5 leaves.
	c.leave(5)
	c.runFor(8 * time.Second)
	c.tap = nil
	c.runFor(10 * time.Second)
	return c, log
}

// expectReplayScenario checks that the scenario went as planned, so that
// the replay has something to prove.
func expectReplayScenario(t *testing.T, c *cluster) {
	t.Helper()
	want := map[int]struct {
		st  engine.State
		gen uint64
		inc uint32
	}{
		3: {engine.StateAlive, 1, 1},
		5: {engine.StateLeft, 1, 0},
		6: {engine.StateDead, 1, 0},
		7: {engine.StateAlive, 2, 0},
	}
	for _, i := range []int{0, 1, 2, 4} {
		for j, w := range want {
			m, ok := c.nodes[i].core.Member(c.nodes[j].id)
			if !ok || m.State != w.st || m.Generation != w.gen || m.Incarnation != w.inc {
				t.Fatalf("scenario: node %d sees node %d as %v gen %d inc %d (known %v), want %v gen %d inc %d",
					i, j, m.State, m.Generation, m.Incarnation, ok, w.st, w.gen, w.inc)
			}
		}
	}
	if v, ver, ok := c.nodes[0].core.State(worldIDs[1], []byte("load")); !ok || string(v) != "0.75" || ver < 2 {
		t.Fatalf("scenario: node 0 holds node 1's load = %q@%d (%v), want 0.75 at a version >= 2", v, ver, ok)
	}
}

// oldNews counts what the capture holds that the cluster has since
// superseded, as seen from the wire.
type oldNews struct {
	heartbeatsFrom3Inc0, heartbeatsFrom6, heartbeatsFrom7Gen1 int
	dead3Inc0, suspect3Inc0, suspect6, alive5                 int
	load1, zone2, role4                                       int
	// The handshakes of address validation: Retry tokens, and the
	// requests sent again with an Echo of them (the replay must not
	// make them valid again elsewhere or later).
	retries, echoes int
}

func countOldNews(t *testing.T, log []delivery, ring *codec.Keyring) oldNews {
	t.Helper()
	var n oldNews
	for _, d := range log {
		b := d.data
		if ring != nil {
			p, _, err := openCaptured(b, ring, d.to)
			if err != nil {
				t.Fatalf("a captured datagram does not open at node %d, which it went to: %v", d.to, err)
			}
			b = p
		}
		h, err := codec.ParseHeader(b)
		if err != nil || h.Flags&codec.FlagCompressed != 0 {
			continue
		}
		from := worldByID[engine.ID(h.Sender)]
		var r codec.Reader
		r.Reset(int(h.Sections), b[codec.HeaderSize:codec.HeaderSize+int(h.Length)])
		for r.Next() {
			for k := 0; k < r.Count(); k++ {
				switch r.Type() {
				case codec.RecRetry:
					n.retries++
				case codec.RecEcho:
					n.echoes++
				case codec.RecHeartbeat:
					switch {
					case from == 3 && h.Incarnation == 0:
						n.heartbeatsFrom3Inc0++
					case from == 6:
						n.heartbeatsFrom6++
					case from == 7 && h.Generation == 1:
						n.heartbeatsFrom7Gen1++
					}
				case codec.RecMember:
					m, _, _ := codec.ParseMember(r.Record(k))
					switch who := worldByID[engine.ID(m.ID)]; {
					case who == 3 && m.Incarnation == 0 && m.State == codec.StateDead:
						n.dead3Inc0++
					case who == 3 && m.Incarnation == 0 && m.State == codec.StateSuspect:
						n.suspect3Inc0++
					case who == 6 && m.State == codec.StateSuspect:
						n.suspect6++
					case who == 5 && m.State == codec.StateAlive:
						n.alive5++
					}
				case codec.RecState:
					e, _, _ := codec.ParseStateEntry(r.Record(k))
					switch who := worldByID[engine.ID(e.Owner)]; {
					case who == 1 && string(e.Key) == "load" && string(e.Value) == "0.25":
						n.load1++
					case who == 2 && string(e.Key) == "zone" && !e.Deleted:
						n.zone2++
					case who == 4 && string(e.Key) == "role" && string(e.Value) == "cache":
						n.role4++
					}
				}
			}
		}
	}
	return n
}

func TestReplay(t *testing.T) {
	replayModes(t, func(t *testing.T, keys [][]byte, ring *codec.Keyring) {
		c, log := replayScenario(t, keys)
		expectReplayScenario(t, c)
		news := countOldNews(t, log, ring)
		for name, n := range map[string]int{
			"heartbeats of node 3 at inc 0": news.heartbeatsFrom3Inc0, "heartbeats of node 6": news.heartbeatsFrom6,
			"heartbeats of node 7 at gen 1": news.heartbeatsFrom7Gen1, "DEAD records of node 3 at inc 0": news.dead3Inc0,
			"SUSPECT records of node 3 at inc 0": news.suspect3Inc0, "SUSPECT records of node 6": news.suspect6,
			"ALIVE records of node 5": news.alive5,
			"node 1's load at 0.25":   news.load1, "node 2's zone": news.zone2, "node 4's role at cache": news.role4,
			"Retry records": news.retries, "Echo records": news.echoes,
		} {
			if n == 0 {
				t.Errorf("the capture holds no %s to replay", name)
			}
		}
		// What each captured datagram is: its plain reading (for the
		// Verdicts of an open cluster) and, sealed, whether it was sealed
		// for no one (a Join or Sync to a seed) rather than for the node
		// it went to.
		plain, unbound := make([][]byte, len(log)), make([]bool, len(log))
		for k, d := range log {
			plain[k] = d.data
			if ring != nil {
				p, u, err := openCaptured(d.data, ring, d.to)
				if err != nil {
					t.Fatalf("a captured datagram does not open at node %d, which it went to: %v", d.to, err)
				}
				plain[k], unbound[k] = p, u
			}
		}
		left := map[int]bool{5: true}
		before := views(c)
		skipped, auths, nUnbound := 0, uint64(0), 0
		for _, u := range unbound {
			if u {
				nUnbound++
			}
		}
		for _, order := range []string{"in order", "in reverse"} {
			mark := len(c.events)
			// In a sealed cluster, a datagram redirected to a node it was
			// not sealed for fails authentication there (codec.SealFor
			// binds it to its receiver): each moves DropAuth by one and
			// does nothing else. Only a Join or Sync sealed for no one
			// opens anywhere, as from an address that has not proven
			// itself.
			auth, wantAuth := dropAuths(c), uint64(0)
			for k := range log {
				if order == "in reverse" {
					k = len(log) - 1 - k
				}
				d := log[k]
				for _, i := range c.running() {
					if i == d.to {
						c.inject(i, d.from, d.data)
						continue
					}
					if ring == nil && carriesVerdict(plain[k]) {
						// An open cluster authenticates nothing, so anyone
						// may send a node any record, and a Verdict names
						// no subject (it is what the sender holds about
						// its receiver): a Verdict redirected to another
						// node is a claim about that node, no different
						// from a forged one, which the node answers as it
						// must (Left at its own generation: it renews).
						// That answer is the point of the node's authority
						// on itself, not a replay's effect (finding 7 of
						// findings/README.md, closed: fixed for sealed
						// clusters by the receiver binding, by design for
						// open ones). Such a datagram goes back only to
						// the node it was for; every other is redirected.
						skipped++
						continue
					}
					if ring != nil && !unbound[k] {
						wantAuth++
					}
					c.inject(i, d.from, d.data)
				}
			}
			auths += wantAuth
			if got := dropAuths(c) - auth; got != wantAuth {
				t.Errorf("replaying %d datagrams %s: DropAuth rose by %d, want %d (one per datagram redirected to a node it was not sealed for)",
					len(log), order, got, wantAuth)
			}
			if err := diffViews(before, views(c)); err != nil {
				t.Fatalf("replaying %d datagrams %s into every node: %v", len(log), order, err)
			}
			c.runFor(20 * time.Second)
			if err := diffViews(before, views(c)); err != nil {
				t.Fatalf("20 s after replaying %d datagrams %s: %v", len(log), order, err)
			}
			if bad := falseDeaths(c, left, mark); len(bad) > 0 {
				t.Fatalf("after replaying %d datagrams %s: %v", len(log), order, bad)
			}
		}
		t.Logf("replayed %d captured datagrams (%d sealed for no one) into %d nodes, twice (%d redirections of a Verdict left out, %d refused as DropAuth): no change (%+v)",
			len(log), nUnbound, len(c.running()), skipped, auths, news)
	})
}

// dropAuths sums DropAuth over the running nodes.
func dropAuths(c *cluster) uint64 {
	var n uint64
	for _, i := range c.running() {
		n += c.nodes[i].core.Stats().DropAuth
	}
	return n
}

// carriesVerdict reports whether a plain captured datagram carries a
// Verdict record.
func carriesVerdict(b []byte) bool {
	h, body, err := codec.Parse(b)
	if err != nil {
		return false
	}
	var r codec.Reader
	r.Reset(int(h.Sections), body)
	for r.Next() {
		if r.Type() == codec.RecVerdict && r.Count() > 0 {
			return true
		}
	}
	return false
}

// TestReplayHeartbeatsOfCrashedNode replays a crashed node's captured
// heartbeats to its observers, over and over, while the cluster detects
// the crash: replayed heartbeats must not keep the node alive.
func TestReplayHeartbeatsOfCrashedNode(t *testing.T) {
	replayModes(t, func(t *testing.T, keys [][]byte, ring *codec.Keyring) {
		c, err := newCluster(worldN, worldSeed, replayConfig(keys), lan(), true)
		if err != nil {
			t.Fatal(err)
		}
		var beats []delivery
		c.tap = func(d delivery) {
			if d.from != worldAddrs[6] {
				return
			}
			b := d.data
			if ring != nil {
				b, _, _ = openCaptured(b, ring, d.to)
			}
			if h, err := codec.ParseHeader(b); err == nil && h.Type == codec.MsgHeartbeat {
				beats = append(beats, d)
			}
		}
		c.runFor(10 * time.Second)
		c.tap = nil
		if len(beats) == 0 {
			t.Fatal("node 6 sent nothing to capture")
		}
		c.crash(6)
		crashed := c.now()
		// Replay the heartbeats node 6 sent in its last second every
		// 250 ms, as an attacker on the path would, for 30 s.
		var recent []delivery
		for _, d := range beats {
			if d.at >= beats[len(beats)-1].at-engine.Time(time.Second) {
				recent = append(recent, d)
			}
		}
		for k := 0; k < 120; k++ {
			for _, d := range recent {
				c.inject(d.to, d.from, d.data)
			}
			c.runFor(250 * time.Millisecond)
		}
		for _, i := range c.running() {
			if m, _ := c.nodes[i].core.Member(c.nodes[6].id); m.State.Live() {
				t.Errorf("node %d still sees crashed node 6 as %v %v after the crash, its %d old heartbeats replayed every 250 ms",
					i, m.State, time.Duration(c.now()-crashed), len(recent))
			}
		}
	})
}

// TestReplayIntoLaterJoiner replays, into a node that restarted (and so
// joined afresh) after another member died, the traffic captured while that
// member was being declared dead: the joiner never held the tombstone, but
// old records must still not bring the dead member back.
func TestReplayIntoLaterJoiner(t *testing.T) {
	replayModes(t, func(t *testing.T, keys [][]byte, ring *codec.Keyring) {
		c, err := newCluster(worldN, worldSeed, replayConfig(keys), lan(), true)
		if err != nil {
			t.Fatal(err)
		}
		var log []delivery
		c.tap = func(d delivery) { log = append(log, d) }
		c.runFor(5 * time.Second)
		c.crash(6)
		c.runFor(20 * time.Second)
		c.tap = nil
		if err := c.restart(7, 0); err != nil {
			t.Fatal(err)
		}
		c.runFor(10 * time.Second)
		before := viewOf(c, 7)
		for _, d := range log {
			c.inject(7, d.from, d.data)
		}
		c.runFor(time.Second)
		if err := diffViews(map[int]nodeView{7: before}, map[int]nodeView{7: viewOf(c, 7)}); err != nil {
			t.Errorf("replaying %d datagrams captured before node 7 restarted: %v", len(log), err)
		}
	})
}

// replayModes runs f for an open cluster and for a sealed one: keys are the
// cluster's keys (nil when open), ring the keyring that opens its datagrams
// (nil when open).
func replayModes(t *testing.T, f func(t *testing.T, keys [][]byte, ring *codec.Keyring)) {
	for _, tc := range []struct {
		name string
		keys [][]byte
	}{
		{"open", nil},
		{"sealed", [][]byte{keyA}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var ring *codec.Keyring
			if tc.keys != nil {
				ring, _ = codec.NewKeyring(keyA)
			}
			f(t, tc.keys, ring)
		})
	}
}
