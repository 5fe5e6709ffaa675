package sim_test

import (
	"fmt"
	"net/netip"
	"reflect"
	"testing"
	"time"

	"github.com/hearsay-io/hearsay/engine"
	"github.com/hearsay-io/hearsay/engine/sim"
)

// TestSharingChangesNothing runs one seeded cluster twice, with the shard
// pool that lets the nodes of one process share identical table shards and
// without it, through joins, crashes, a partition and its heal, restarts
// and application state, and checks that every node saw exactly the same
// events and ended with exactly the same counters and digests: sharing
// saves memory and changes nothing else.
func TestSharingChangesNothing(t *testing.T) {
	run := func(noSharing bool) (events []string, stats []engine.Stats, digests []uint64) {
		const n = 60
		var s *sim.Sim
		cfg := sim.Config{N: n, Seed: 91, Engine: openLAN(), Link: lan(), Start: sim.Alone, NoSharing: noSharing,
			OnEvent: func(node int, e engine.Event) {
				events = append(events, fmt.Sprintf("%v %d %v %v %d %d %v %q %q %d %v",
					sim.Since(e.At), node, e.Type, e.Member.ID, e.Member.Generation, e.Member.Incarnation, e.Member.State,
					e.Key, e.Value, e.Version, e.Deleted))
			}}
		s, err := sim.New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		seeds := []netip.AddrPort{sim.Addr(0), sim.Addr(1)}
		for i := 2; i < n; i++ {
			s.RunFor(50 * time.Millisecond)
			if err := s.Join(i, seeds...); err != nil {
				t.Fatal(err)
			}
		}
		s.RunFor(10 * time.Second)
		for i := 0; i < n; i += 7 {
			if err := s.SetState(i, []byte("role"), fmt.Appendf(nil, "node %d", i)); err != nil {
				t.Fatal(err)
			}
		}
		s.RunFor(5 * time.Second)
		s.Crash(13)
		s.Crash(29)
		s.RunFor(10 * time.Second)
		var a, b []netip.AddrPort
		for i := range n {
			if i%2 == 0 {
				a = append(a, sim.Addr(i))
			} else {
				b = append(b, sim.Addr(i))
			}
		}
		s.Network().Partition(a, b)
		s.RunFor(20 * time.Second)
		s.Network().Heal()
		s.RunFor(15 * time.Second)
		if err := s.Restart(13, seeds...); err != nil {
			t.Fatal(err)
		}
		s.RunFor(10 * time.Second)
		for _, nd := range s.Nodes() {
			stats = append(stats, nd.Core.Stats())
			digests = append(digests, nd.Core.Digest())
		}
		return events, stats, digests
	}
	evShared, stShared, dgShared := run(false)
	evPrivate, stPrivate, dgPrivate := run(true)
	if len(evShared) != len(evPrivate) {
		t.Errorf("%d events with sharing, %d without", len(evShared), len(evPrivate))
	}
	for i := range min(len(evShared), len(evPrivate)) {
		if evShared[i] != evPrivate[i] {
			t.Fatalf("event %d differs:\nshared:  %s\nprivate: %s", i, evShared[i], evPrivate[i])
		}
	}
	for i := range stShared {
		if !reflect.DeepEqual(stShared[i], stPrivate[i]) {
			t.Errorf("node %d's counters differ:\nshared:  %+v\nprivate: %+v", i, stShared[i], stPrivate[i])
		}
		if dgShared[i] != dgPrivate[i] {
			t.Errorf("node %d's digest differs: %x shared, %x private", i, dgShared[i], dgPrivate[i])
		}
	}
	t.Logf("%d events, %d nodes' counters and digests identical with and without sharing", len(evShared), len(stShared))
}
