package sim_test

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/hearsay-io/hearsay/codec"
	"github.com/hearsay-io/hearsay/engine"
	"github.com/hearsay-io/hearsay/engine/sim"
)

// allSeeAll reports how many running nodes see every running node alive.
func allSeeAll(s *sim.Sim) (full, running int) {
	run := s.Running()
	for _, i := range run {
		ok := true
		for _, j := range run {
			if m, found := s.View(i, j); !found || !m.State.Live() {
				ok = false
				break
			}
		}
		if ok {
			full++
		}
	}
	return full, len(run)
}

// runUntilAll runs s in steps of step until every running node sees every
// running node alive, or limit passes; it returns the time it took.
func runUntilAll(t *testing.T, s *sim.Sim, step, limit time.Duration) time.Duration {
	t.Helper()
	start := s.Now()
	for s.Now()-start < limit {
		s.RunFor(step)
		if full, n := allSeeAll(s); full == n {
			return s.Now() - start
		}
	}
	full, n := allSeeAll(s)
	t.Fatalf("after %v only %d of %d running nodes see every running node alive", limit, full, n)
	return 0
}

func TestBootstrapThroughSeeds(t *testing.T) {
	const n = 500
	s, err := sim.New(sim.Config{N: n, Seed: 20, Engine: openLAN(), Link: lan(), Start: sim.Alone})
	if err != nil {
		t.Fatal(err)
	}
	seeds := []netip.AddrPort{sim.Addr(0), sim.Addr(1), sim.Addr(2)}
	const spread = 5 * time.Second
	for i := 3; i < n; i++ {
		s.RunUntil(spread * time.Duration(i) / n)
		if err := s.Join(i, seeds...); err != nil {
			t.Fatal(err)
		}
	}
	took := runUntilAll(t, s, 250*time.Millisecond, 15*time.Second)
	t.Logf("%d nodes joined over %v through 3 seeds; all see all alive %v after the last start", n, spread, took)
}

func TestPartitionHeals(t *testing.T) {
	const n = 200
	rec := newRecorder()
	s := newSim(t, n, 21, lan(), rec)
	s.RunFor(5 * time.Second)
	var a, b []netip.AddrPort
	for i := range n {
		if i%2 == 0 {
			a = append(a, sim.Addr(i))
		} else {
			b = append(b, sim.Addr(i))
		}
	}
	s.Network().Partition(a, b)
	s.RunFor(120 * time.Second)
	for _, i := range []int{0, 1} {
		if live, _ := s.Node(i).Core.NumMembers(); live != n/2 {
			t.Fatalf("during the split node %d sees %d live members, want its own side's %d", i, live, n/2)
		}
	}
	s.Network().Heal()
	took := runUntilAll(t, s, 250*time.Millisecond, 10*time.Second)
	t.Logf("50/50 split for 120s healed: all see all alive %v after the heal", took)
}

func TestRollingRestart(t *testing.T) {
	const n = 200
	cfg := engine.DefaultLANConfig()
	cfg.Open = true
	cfg.TombstoneRetention = 30 * time.Second
	s, err := sim.New(sim.Config{N: n, Seed: 22, Engine: cfg, Link: lan()})
	if err != nil {
		t.Fatal(err)
	}
	s.RunFor(5 * time.Second)
	seeds := []netip.AddrPort{sim.Addr(0), sim.Addr(1), sim.Addr(2)}
	// 10% of the nodes restart at once: killed, then back a second later
	// with the next generation.
	var restarted []int
	for i := 10; i < n; i += 10 {
		s.Crash(i)
		restarted = append(restarted, i)
	}
	s.RunFor(time.Second)
	for _, i := range restarted {
		if err := s.Restart(i, seeds...); err != nil {
			t.Fatal(err)
		}
	}
	s.RunFor(10 * time.Second)
	for _, i := range s.Running() {
		for _, j := range s.Running() {
			m, ok := s.View(i, j)
			if !ok || !m.State.Live() {
				t.Fatalf("10s after a rolling restart node %d sees node %d as %v (known %v)", i, j, m.State, ok)
			}
			if want := s.Node(j).Core.Generation(); m.Generation != want {
				t.Fatalf("node %d holds generation %d of node %d, want %d", i, m.Generation, j, want)
			}
		}
	}
	// Tombstones: crash one node for good; its tombstone must be gone
	// everywhere once the retention (plus a sweep) has passed.
	s.Crash(5)
	s.RunFor(15 * time.Second)
	if _, total := s.Node(0).Core.NumMembers(); total != n {
		t.Fatalf("after the crash node 0 holds %d records, want %d (the tombstone included)", total, n)
	}
	s.RunFor(cfg.TombstoneRetention + 5*time.Second)
	for _, i := range s.Running() {
		live, total := s.Node(i).Core.NumMembers()
		if total != live {
			t.Fatalf("node %d still holds %d tombstones after the retention", i, total-live)
		}
	}
}

func TestAppStateConverges(t *testing.T) {
	const n = 300
	link := lan()
	link.Loss = 0.01
	s := newSim(t, n, 23, link, nil)
	s.RunFor(5 * time.Second)
	key := []byte("load")
	for round := 1; round <= 2; round++ {
		for i := range n {
			if !s.Node(i).Running() {
				continue
			}
			if err := s.SetState(i, key, fmt.Appendf(nil, "node %d v%d", i, round)); err != nil {
				t.Fatal(err)
			}
			s.RunFor(10 * time.Millisecond)
		}
		// 1% churn: three nodes crash and come back.
		for _, i := range []int{round * 7, round*7 + 100, round*7 + 200} {
			s.Crash(i)
		}
		s.RunFor(2 * time.Second)
		for _, i := range []int{round * 7, round*7 + 100, round*7 + 200} {
			if err := s.Restart(i, sim.Addr(0)); err != nil {
				t.Fatal(err)
			}
			if err := s.SetState(i, key, fmt.Appendf(nil, "node %d v%d", i, round)); err != nil {
				t.Fatal(err)
			}
		}
	}
	// Quiescence: at most two anti-entropy periods.
	start := s.Now()
	var missing int
	for s.Now()-start < 60*time.Second {
		s.RunFor(time.Second)
		missing = 0
		for _, i := range s.Running() {
			for _, j := range s.Running() {
				v, _, ok := s.Node(i).Core.State(s.Node(j).ID, key)
				if !ok || string(v) != fmt.Sprintf("node %d v2", j) {
					missing++
				}
			}
		}
		if missing == 0 {
			break
		}
	}
	if missing != 0 {
		t.Fatalf("60s after the last update %d (node, member) pairs lack the member's latest value", missing)
	}
	t.Logf("every live node holds every live node's latest value %v after the last update", s.Now()-start)
}

func TestStateLimits(t *testing.T) {
	cfg := engine.DefaultLANConfig()
	cfg.Open = true
	s, err := sim.New(sim.Config{N: 3, Seed: 24, Engine: cfg, Link: lan()})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.SetState(0, []byte("k"), make([]byte, codec.MaxValueSize+1)); !errors.Is(err, engine.ErrValueSize) {
		t.Errorf("oversized value: error %v, want ErrValueSize", err)
	}
	if err := s.SetState(0, []byte(strings.Repeat("k", codec.MaxKeySize+1)), nil); !errors.Is(err, engine.ErrKeySize) {
		t.Errorf("oversized key: error %v, want ErrKeySize", err)
	}
	for k := range cfg.MaxStateKeys {
		if err := s.SetState(0, fmt.Appendf(nil, "k%d", k), []byte("v")); err != nil {
			t.Fatalf("key %d of %d: %v", k+1, cfg.MaxStateKeys, err)
		}
	}
	if err := s.SetState(0, []byte("one-too-many"), []byte("v")); !errors.Is(err, engine.ErrStateFull) {
		t.Errorf("key over MaxStateKeys: error %v, want ErrStateFull", err)
	}
}

func TestUnsolicitedShardDataDropped(t *testing.T) {
	s, err := sim.New(sim.Config{N: 3, Seed: 25, Engine: openLAN(), Link: lan()})
	if err != nil {
		t.Fatal(err)
	}
	s.RunFor(3 * time.Second)
	a, b := s.Node(0), s.Node(1)
	// A shard-data datagram from a member node 0 never asked.
	var bld codec.Builder
	bld.Reset(make([]byte, 0, 1400), 1400, codec.Header{
		Type:       codec.MsgShardData,
		Cluster:    codec.ClusterID(engine.DefaultLANConfig().ClusterName),
		Sender:     uint64(b.ID),
		Generation: b.Core.Generation(),
	})
	bld.AddShardRef(codec.ShardRef{Shard: 3, Count: 1})
	forged := codec.Member{ID: 0xdead, Generation: 1, State: codec.StateAlive, Addr: netip.MustParseAddrPort("10.9.9.9:7946")}
	bld.AddMember(&forged)
	dg := bld.Finish()
	before := a.Core.Stats().DropUnsolicited
	a.Core.Receive(a.Core.Deadline(), b.Addr, dg)
	a.Core.Outbox().Reset()
	if got := a.Core.Stats().DropUnsolicited - before; got != 1 {
		t.Errorf("unsolicited shard data: DropUnsolicited rose by %d, want 1", got)
	}
	if _, ok := a.Core.Member(0xdead); ok {
		t.Errorf("a member from unsolicited shard data was accepted")
	}
}
