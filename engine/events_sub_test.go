package engine_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/hearsay-io/hearsay/engine"
)

// setKeys has b set count keys, k0 to k<count-1>.
func setKeys(t *testing.T, b *engine.Node, count int) {
	t.Helper()
	for i := range count {
		if err := b.SetState(fmt.Appendf(nil, "k%d", i), []byte("v")); err != nil {
			t.Fatal(err)
		}
	}
}

// TestSubscriptionGap checks that a subscriber whose channel overflowed
// learns it: once it makes room it receives an EventGap counting the
// events it missed (although it asked for EventState only), and then the
// events that follow.
func TestSubscriptionGap(t *testing.T) {
	cfg := testConfig()
	nodes := startNodes(t, 2, cfg)
	a, b := nodes[0], nodes[1]
	slow := a.Subscribe(2, engine.EventState)
	all := a.Subscribe(100, engine.EventState)
	joinAll(t, nodes, bound(cfg, 40))
	const keys = 10
	setKeys(t, b, keys)
	for i := range keys {
		waitEvent(t, all, bound(cfg, 40), fmt.Sprintf("state k%d", i))
	}
	for i := range 2 {
		e := waitEvent(t, slow, bound(cfg, 40), "a queued event")
		if e.Type != engine.EventState {
			t.Fatalf("slow subscriber's event %d: %v, want state", i, e.Type)
		}
	}
	e := waitEvent(t, slow, bound(cfg, 40), "the gap")
	if e.Type != engine.EventGap || e.Missed != keys-2 {
		t.Fatalf("after its queue, slow subscriber got %v (missed %d), want gap with %d missed", e.Type, e.Missed, keys-2)
	}
	if e.Time.IsZero() || e.At == 0 {
		t.Errorf("gap event times: Time %v, At %v; want both set", e.Time, e.At)
	}
	if err := b.SetState([]byte("after"), []byte("v")); err != nil {
		t.Fatal(err)
	}
	e = waitEvent(t, slow, bound(cfg, 40), "the event after the gap")
	if e.Type != engine.EventState || string(e.Key) != "after" {
		t.Fatalf("after the gap slow subscriber got %v %q, want state \"after\"", e.Type, e.Key)
	}
	if slow.Dropped() != keys-2 {
		t.Errorf("Dropped() = %d, want %d", slow.Dropped(), keys-2)
	}
}

// waitEvent returns the next event of s, failing the test after d.
func waitEvent(t *testing.T, s *engine.Subscription, d time.Duration, what string) engine.Event {
	t.Helper()
	select {
	case e, ok := <-s.Events():
		if !ok {
			t.Fatalf("waiting for %s: channel closed", what)
		}
		return e
	case <-time.After(d):
		t.Fatalf("waiting for %s: nothing within %v", what, d)
	}
	return engine.Event{}
}

// TestSubscriptionWait checks SubscribeOptions.MaxWait: a subscriber with
// a channel of one that reads continuously receives a burst whole, without
// a gap, because the node waits for it; a subscriber that never reads
// costs the node one wait and then loses the events as any full
// subscription does, counted.
func TestSubscriptionWait(t *testing.T) {
	cfg := testConfig()
	nodes := startNodes(t, 2, cfg)
	a, b := nodes[0], nodes[1]
	reader := a.SubscribeWith(engine.SubscribeOptions{Buffer: 1, Types: []engine.EventType{engine.EventState}, MaxWait: time.Second})
	stuck := a.SubscribeWith(engine.SubscribeOptions{Buffer: 1, Types: []engine.EventType{engine.EventState}, MaxWait: time.Second})
	joinAll(t, nodes, bound(cfg, 40))
	const keys = 20
	setKeys(t, b, keys)
	got := map[string]bool{}
	for i := range keys {
		e := waitEvent(t, reader, bound(cfg, 40), fmt.Sprintf("state event %d", i))
		if e.Type != engine.EventState || got[string(e.Key)] {
			t.Fatalf("event %d: %v %q, want state for a new key", i, e.Type, e.Key)
		}
		got[string(e.Key)] = true
	}
	if reader.Dropped() != 0 {
		t.Errorf("reading subscriber: %d dropped, want 0", reader.Dropped())
	}
	// The node offers each event to the reader first, then to the stuck
	// subscriber.
	waitFor(t, bound(cfg, 40), "the stuck subscriber's drops are counted", func() (bool, string) {
		d := stuck.Dropped()
		return d == keys-1, fmt.Sprintf("%d dropped, want %d", d, keys-1)
	})
	if s := a.Stats(); s.EventsDropped != keys-1 {
		t.Errorf("Stats().EventsDropped = %d, want %d", s.EventsDropped, keys-1)
	}
	stuck.Close() // must not wait for the node
}
