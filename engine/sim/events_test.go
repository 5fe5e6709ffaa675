package sim_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/hearsay-io/hearsay/engine"
	"github.com/hearsay-io/hearsay/engine/sim"
)

// TestEventUpdateMeaning checks that EventUpdate means what it documents:
// a live member changed address or restarted with a new generation. A
// member publishing application state raises EventState on every other
// node and nothing else; a member that restarts before anyone noticed its
// crash raises exactly one EventUpdate, with its new generation, on every
// other node.
func TestEventUpdateMeaning(t *testing.T) {
	const n, writer, restarted = 6, 2, 3
	type key struct {
		node, subject int
		typ           engine.EventType
	}
	counts := map[key]int{}
	var updates []string
	index := map[engine.ID]int{}
	s, err := sim.New(sim.Config{N: n, Seed: 7, Engine: openLAN(), Link: lan(), Start: sim.Converged,
		OnEvent: func(node int, e engine.Event) {
			subj, ok := index[e.Member.ID]
			if !ok {
				return
			}
			counts[key{node, subj, e.Type}]++
			if e.Type == engine.EventUpdate {
				updates = append(updates, fmt.Sprintf("node %d: %v generation %d", node, subj, e.Member.Generation))
			}
		}})
	if err != nil {
		t.Fatal(err)
	}
	for i := range n {
		index[s.Node(i).Core.ID()] = i
	}
	s.RunFor(3 * time.Second)

	const keys = 5
	for k := range keys {
		if err := s.SetState(writer, fmt.Appendf(nil, "k%d", k), []byte("v")); err != nil {
			t.Fatal(err)
		}
		s.RunFor(500 * time.Millisecond)
	}
	s.RunFor(5 * time.Second)
	for i := range n {
		if i == writer {
			continue
		}
		if got := counts[key{i, writer, engine.EventState}]; got != keys {
			t.Errorf("node %d: %d EventState for the writer, want %d", i, got, keys)
		}
	}
	if len(updates) > 0 {
		t.Fatalf("EventUpdate raised by application state:\n%v", updates)
	}

	gen := s.Node(restarted).Core.Generation()
	if err := s.Restart(restarted, sim.Addr(0)); err != nil {
		t.Fatal(err)
	}
	s.RunFor(10 * time.Second)
	if g := s.Node(restarted).Core.Generation(); g <= gen {
		t.Fatalf("restarted node's generation %d, want above %d", g, gen)
	}
	for i := range n {
		if i == restarted {
			continue
		}
		if got := counts[key{i, restarted, engine.EventUpdate}]; got != 1 {
			t.Errorf("node %d: %d EventUpdate for the restarted node, want 1", i, got)
		}
		for _, typ := range []engine.EventType{engine.EventJoin, engine.EventSuspect, engine.EventDead} {
			if got := counts[key{i, restarted, typ}]; got != 0 {
				t.Errorf("node %d: %d %v for the restarted node, want none", i, got, typ)
			}
		}
		if m, ok := s.View(i, restarted); !ok || m.Generation != gen+1 || m.State != engine.StateAlive {
			t.Errorf("node %d sees the restarted node as %+v (known %v), want alive at generation %d", i, m, ok, gen+1)
		}
	}
	t.Logf("updates: %v", updates)
}
