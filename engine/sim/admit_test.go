package sim_test

import (
	"errors"
	"net/netip"
	"testing"
	"time"

	"github.com/hearsay-io/hearsay/engine"
	"github.com/hearsay-io/hearsay/engine/sim"
)

// joinedCluster starts n nodes alone with cfg and joins every one through
// node 0, one every 100 ms.
func joinedCluster(t *testing.T, n int, seed uint64, cfg engine.Config, onEvent func(int, engine.Event)) *sim.Sim {
	t.Helper()
	s, err := sim.New(sim.Config{N: n, Seed: seed, Engine: cfg, Link: lan(), Start: sim.Alone, OnEvent: onEvent})
	if err != nil {
		t.Fatal(err)
	}
	for i := 1; i < n; i++ {
		if err := s.Join(i, sim.Addr(0)); err != nil {
			t.Fatal(err)
		}
		s.RunFor(100 * time.Millisecond)
	}
	return s
}

// liveView returns the nodes whose members node i holds live.
func liveView(s *sim.Sim, i int) map[int]bool {
	idx := map[engine.ID]int{}
	for _, nd := range s.Nodes() {
		idx[nd.ID] = nd.Index
	}
	out := map[int]bool{}
	for _, m := range s.Node(i).Core.Members(nil) {
		if m.State.Live() {
			out[idx[m.ID]] = true
		}
	}
	return out
}

// TestAdmitHook runs a cluster whose members refuse node 7 by ID and any
// member whose state "role" is "bad": node 7 never enters a view, node 3 is
// removed from every view when it sets role=bad, without being declared
// dead, and neither's broadcasts are delivered.
func TestAdmitHook(t *testing.T) {
	const n = 8
	var refusedID engine.ID = sim.ID(3, 7)
	errRefused := errors.New("refused")
	asked := 0
	cfg := openLAN()
	cfg.Admit = func(m engine.Member, st engine.StateView) error {
		asked++
		if m.ID == refusedID {
			return errRefused
		}
		if v, ok := st.Get([]byte("role")); ok && string(v) == "bad" {
			return errRefused
		}
		return nil
	}
	log := newMsgLog()
	var removed, accused [n]map[engine.ID]bool
	for i := range n {
		removed[i], accused[i] = map[engine.ID]bool{}, map[engine.ID]bool{}
	}
	s := joinedCluster(t, n, 3, cfg, func(i int, e engine.Event) {
		log.onEvent(i, e)
		switch e.Type {
		case engine.EventRefused:
			removed[i][e.Member.ID] = true
		case engine.EventSuspect, engine.EventDead:
			accused[i][e.Member.ID] = true
		}
	})
	s.RunFor(10 * time.Second)
	for i := range n - 1 {
		v := liveView(s, i)
		if len(v) != n-1 || v[7] {
			t.Errorf("node %d holds %v live, want nodes 0-6", i, v)
		}
		// Node 0 refused node 7's join; the others may never have heard
		// of it (no one relays it), and refuse it once at most: the
		// refusal is remembered.
		if st := s.Node(i).Core.Stats(); st.RefusedByAdmit > 1 || i == 0 && st.RefusedByAdmit != 1 {
			t.Errorf("node %d: Admit refused %d times, want once at most (once at node 0)", i, st.RefusedByAdmit)
		}
	}
	if err := s.Broadcast(7, []byte("from 7")); err != nil {
		t.Fatal(err)
	}
	if err := s.SetState(3, []byte("role"), []byte("bad")); err != nil {
		t.Fatal(err)
	}
	s.RunFor(10 * time.Second)
	if err := s.Broadcast(3, []byte("from 3")); err != nil {
		t.Fatal(err)
	}
	s.RunFor(5 * time.Second)
	for i := range n - 1 {
		if i == 3 {
			continue
		}
		v := liveView(s, i)
		if len(v) != n-2 || v[3] || v[7] {
			t.Errorf("node %d holds %v live, want nodes 0-6 but 3", i, v)
		}
		if !removed[i][s.Node(3).ID] {
			t.Errorf("node %d: no EventRefused for node 3", i)
		}
		if accused[i][s.Node(3).ID] || accused[i][s.Node(7).ID] {
			t.Errorf("node %d suspected or declared dead a refused member", i)
		}
		if st := s.Node(i).Core.Stats(); st.RefusedHeld != 1 {
			t.Errorf("node %d: %d held members removed, want 1", i, st.RefusedHeld)
		}
	}
	for _, p := range []string{"from 7", "from 3"} {
		if got := log.got[p]; len(got) != 0 {
			t.Errorf("%q, from a refused member, was delivered to %v", p, got)
		}
	}
	t.Logf("Admit asked %d times in all", asked)
}

// TestAllowedPrefixes runs a cluster whose members talk only to 10.0.0.0/29
// (nodes 0-6): node 7, at 10.0.0.8, never gets in, and its datagrams are
// dropped before they are opened.
func TestAllowedPrefixes(t *testing.T) {
	const n = 8
	cfg := openLAN()
	cfg.AllowedPrefixes = []netip.Prefix{netip.MustParsePrefix("10.0.0.0/29")}
	s := joinedCluster(t, n, 4, cfg, nil)
	s.RunFor(10 * time.Second)
	for i := range n - 1 {
		if v := liveView(s, i); len(v) != n-1 || v[7] {
			t.Errorf("node %d holds %v live, want nodes 0-6", i, v)
		}
	}
	if st := s.Node(0).Core.Stats(); st.DropAddr == 0 {
		t.Errorf("node 0 dropped nothing from node 7's address")
	}
	// A mapped IPv6 prefix works as its IPv4 one; a seed outside is
	// refused at Validate.
	cfg.AllowedPrefixes = []netip.Prefix{netip.MustParsePrefix("::ffff:10.0.0.0/125")}
	cfg.Seeds = []netip.AddrPort{sim.Addr(7)}
	if err := cfg.Validate(); err == nil {
		t.Errorf("Validate accepted a seed outside AllowedPrefixes")
	}
}

// TestMemberNames checks that Config.Name reaches every member as
// Member.Name, and that the name's key is reserved.
func TestMemberNames(t *testing.T) {
	cfg := openLAN()
	cfg.Name = "rack-7 ☁"
	s := joinedCluster(t, 5, 5, cfg, nil)
	s.RunFor(5 * time.Second)
	for i := range 5 {
		ms := s.Node(i).Core.Members(nil)
		if len(ms) != 5 {
			t.Fatalf("node %d holds %d members, want 5", i, len(ms))
		}
		for _, m := range ms {
			if m.Name != cfg.Name {
				t.Errorf("node %d: member %v has Name %q, want %q", i, m.ID, m.Name, cfg.Name)
			}
		}
	}
	for _, key := range []string{engine.NameKey, engine.ReservedKeyPrefix + "other"} {
		if err := s.SetState(1, []byte(key), []byte("x")); !errors.Is(err, engine.ErrReservedKey) {
			t.Errorf("SetState(%q) = %v, want %v", key, err, engine.ErrReservedKey)
		}
		if err := s.Node(1).Core.DeleteState(s.Node(1).Core.Deadline(), []byte(key)); !errors.Is(err, engine.ErrReservedKey) {
			t.Errorf("DeleteState(%q) = %v, want %v", key, err, engine.ErrReservedKey)
		}
	}
	for _, bad := range []string{string(make([]byte, engine.MaxNameSize+1)), "a\x00b", "tab\there", "\xff"} {
		c := openLAN()
		c.Name = bad
		if err := c.Validate(); err == nil {
			t.Errorf("Validate accepted Name %q", bad)
		}
	}
}
