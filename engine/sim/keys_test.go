package sim_test

import (
	"bytes"
	"fmt"
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/hearsay-io/hearsay/codec"
	"github.com/hearsay-io/hearsay/engine"
	"github.com/hearsay-io/hearsay/engine/sim"
)

// testKey returns a 32-byte key filled with b.
func testKey(b byte) []byte { return bytes.Repeat([]byte{b}, 32) }

// authDrops sums, over every node, the drops that a rotation done right
// never causes: datagrams sealed with a key the receiver lacks, failing
// authentication, or sealed differently from what the receiver expects.
func authDrops(s *sim.Sim) (unknownKey, auth, other uint64) {
	for _, nd := range s.Nodes() {
		st := nd.Core.Stats()
		unknownKey += st.DropUnknownKey
		auth += st.DropAuth
		other += st.DropSealed + st.DropUnsealed + st.DropMalformed + st.DropTruncated
	}
	return unknownKey, auth, other
}

// missingValues counts the (node, member) pairs where the node does not
// hold the member's value want(member) under key.
func missingValues(s *sim.Sim, key []byte, want func(j int) string) (missing int, example string) {
	for _, i := range s.Running() {
		for _, j := range s.Running() {
			v, _, ok := s.Node(i).Core.State(s.Node(j).ID, key)
			if !ok || string(v) != want(j) {
				if missing == 0 {
					example = fmt.Sprintf("node %d holds %q for node %d, want %q", i, v, j, want(j))
				}
				missing++
			}
		}
	}
	return missing, example
}

// TestKeyRotation rotates the cluster key of 100 sealed nodes in the three
// documented steps (install the new key, make it primary, remove the old
// one), one node at a time with simulated time between nodes, so that
// every step runs with the cluster half switched. Every node publishes a
// state update while the step is under way. At the end of each step: no
// datagram was refused for its key or its authentication, every node holds
// every node's update of that step, every node holds the expected keys,
// and nobody was declared dead.
func TestKeyRotation(t *testing.T) {
	const n = 100
	old, next := testKey(1), testKey(2)
	rec := newRecorder()
	cfg := engine.DefaultLANConfig()
	cfg.Open = true
	cfg.Keys = [][]byte{old}
	cfg.Open = len(cfg.Keys) == 0
	s, err := sim.New(sim.Config{N: n, Seed: 31, Engine: cfg, Link: lan(), OnEvent: rec.on})
	if err != nil {
		t.Fatal(err)
	}
	for _, nd := range s.Nodes() {
		rec.index[nd.ID] = nd.Index
	}
	s.RunFor(2 * time.Second)

	steps := []struct {
		name string
		keys [][]byte
		want []codec.KeyID
	}{
		{"install the new key", [][]byte{old, next}, []codec.KeyID{codec.KeyIDOf(old), codec.KeyIDOf(next)}},
		{"make it primary", [][]byte{next, old}, []codec.KeyID{codec.KeyIDOf(next), codec.KeyIDOf(old)}},
		{"remove the old key", [][]byte{next}, []codec.KeyID{codec.KeyIDOf(next)}},
	}
	key := []byte("step")
	for k, st := range steps {
		start := s.Now()
		for i := range n {
			if err := s.Node(i).Core.SetKeys(st.keys); err != nil {
				t.Fatalf("step %d (%s), node %d: SetKeys: %v", k+1, st.name, i, err)
			}
			if err := s.SetState(i, key, fmt.Appendf(nil, "step %d node %d", k+1, i)); err != nil {
				t.Fatal(err)
			}
			s.RunFor(10 * time.Millisecond)
		}
		want := func(j int) string { return fmt.Sprintf("step %d node %d", k+1, j) }
		var missing int
		var example string
		for s.Now()-start < 60*time.Second {
			s.RunFor(250 * time.Millisecond)
			if missing, example = missingValues(s, key, want); missing == 0 {
				break
			}
		}
		if missing != 0 {
			t.Fatalf("step %d (%s): %v after it started, %d (node, member) pairs lack the step's update; %s",
				k+1, st.name, s.Now()-start, missing, example)
		}
		unknown, auth, other := authDrops(s)
		if unknown != 0 || auth != 0 || other != 0 {
			t.Errorf("step %d (%s): drops: unknown key %d, authentication %d, other sealing or parsing %d; want 0",
				k+1, st.name, unknown, auth, other)
		}
		for i := range n {
			if got := s.Node(i).Core.KeyIDs(nil); !slices.Equal(got, st.want) {
				t.Fatalf("step %d: node %d KeyIDs = %v, want %v", k+1, i, got, st.want)
			}
		}
		if d := rec.deadSubjects(); len(d) != 0 {
			t.Fatalf("step %d (%s): nodes declared dead: %v", k+1, st.name, d)
		}
		t.Logf("step %d (%s): every update on every node %v after the step started; suspect events so far %d",
			k+1, st.name, s.Now()-start, len(rec.susp))
	}
	if full, running := allSeeAll(s); full != running {
		t.Errorf("after the rotation %d of %d nodes see every node alive", full, running)
	}
}

// TestKeyRotationOutOfStep is the control for TestKeyRotation: a node that
// switches its primary key before the others installed it is not
// understood, and the drops say why.
func TestKeyRotationOutOfStep(t *testing.T) {
	old, next := testKey(1), testKey(2)
	cfg := engine.DefaultLANConfig()
	cfg.Open = true
	cfg.Keys = [][]byte{old}
	cfg.Open = len(cfg.Keys) == 0
	s, err := sim.New(sim.Config{N: 5, Seed: 32, Engine: cfg, Link: lan()})
	if err != nil {
		t.Fatal(err)
	}
	s.RunFor(3 * time.Second)
	if err := s.Node(0).Core.SetKeys([][]byte{next, old}); err != nil {
		t.Fatal(err)
	}
	s.RunFor(3 * time.Second)
	unknown, auth, _ := authDrops(s)
	if unknown == 0 {
		t.Errorf("a node sealing with a key the others lack: DropUnknownKey = 0, want > 0")
	}
	if auth != 0 {
		t.Errorf("DropAuth = %d, want 0: an unknown key is refused by its ID, before any AES work", auth)
	}
	t.Logf("3s with one node out of step: %d datagrams dropped for an unknown key", unknown)
}

// TestForeignClusterDropped feeds a node datagrams of another cluster: a
// gossip datagram announcing a new member, plain, sealed with the node's
// own key and sealed with another key. Each is dropped and counted in
// DropCluster, before any authentication work, and the member is not
// learned; with and without keys.
func TestForeignClusterDropped(t *testing.T) {
	for _, keyed := range []bool{false, true} {
		t.Run(fmt.Sprintf("keyed=%v", keyed), func(t *testing.T) {
			cfg := engine.DefaultLANConfig()
			cfg.Open = true
			if keyed {
				cfg.Keys = [][]byte{testKey(1)}
				cfg.Open = len(cfg.Keys) == 0
			}
			s, err := sim.New(sim.Config{N: 3, Seed: 33, Engine: cfg, Link: lan()})
			if err != nil {
				t.Fatal(err)
			}
			s.RunFor(2 * time.Second)
			a, b := s.Node(0), s.Node(1)
			const stranger = 0x5eed
			var bld codec.Builder
			bld.Reset(make([]byte, 0, 1400), 1400-codec.SealOverhead, codec.Header{
				Type:       codec.MsgGossip,
				Cluster:    codec.ClusterID("another cluster"),
				Sender:     uint64(b.ID),
				Generation: b.Core.Generation(),
			})
			m := codec.Member{ID: stranger, Generation: 1, State: codec.StateAlive, Addr: netip.MustParseAddrPort("10.9.9.9:7946")}
			bld.AddMember(&m)
			plain := bld.Finish()
			datagrams := [][]byte{plain}
			for _, k := range [][]byte{testKey(1), testKey(9)} {
				kr, err := codec.NewKeyring(k)
				if err != nil {
					t.Fatal(err)
				}
				sealed, err := codec.Seal(nil, plain, kr)
				if err != nil {
					t.Fatal(err)
				}
				datagrams = append(datagrams, sealed)
			}
			before := a.Core.Stats()
			for _, dg := range datagrams {
				a.Core.Receive(a.Core.Deadline(), b.Addr, dg)
			}
			a.Core.Outbox().Reset()
			after := a.Core.Stats()
			if got := after.DropCluster - before.DropCluster; got != uint64(len(datagrams)) {
				t.Errorf("DropCluster rose by %d, want %d", got, len(datagrams))
			}
			if after.DropAuth != before.DropAuth || after.DropUnknownKey != before.DropUnknownKey || after.DropSealed != before.DropSealed {
				t.Errorf("foreign datagrams reached the sealing checks: %+v", after)
			}
			if _, ok := a.Core.Member(stranger); ok {
				t.Errorf("a member announced by another cluster was learned")
			}
		})
	}
}
