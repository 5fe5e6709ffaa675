package engine_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/hearsay-io/hearsay/engine"
)

// TestReadsDoNotWaitForTheLoop blocks a node's goroutine (in an OnEvent
// hook, which runs on it) and reads the node meanwhile: Stats, Counts,
// Members and Member answer from what the goroutine published last.
func TestReadsDoNotWaitForTheLoop(t *testing.T) {
	cfg := testConfig()
	release := make(chan struct{})
	blocked := make(chan struct{}, 1)
	nd, err := engine.NewNodeWith(cfg, engine.NodeOptions{OnEvent: func(e engine.Event) {
		if e.Type == engine.EventJoin {
			blocked <- struct{}{}
			<-release
		}
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer nd.Close()
	other := startNodes(t, 1, cfg)[0]
	ctx, cancel := context.WithTimeout(context.Background(), bound(cfg, 40))
	defer cancel()
	go other.Join(ctx, nd.Addr())
	select {
	case <-blocked:
	case <-ctx.Done():
		t.Fatal("the node never saw the other join")
	}
	done := make(chan string)
	go func() {
		s := nd.Stats()
		c := nd.Counts()
		ms := nd.Members()
		_, ok := nd.Member(nd.ID())
		done <- fmt.Sprintf("datagrams in %d, counts %+v, %d members, self known %v", s.DatagramsIn, c, len(ms), ok)
	}()
	select {
	case got := <-done:
		t.Logf("reads while the goroutine is blocked: %s", got)
	case <-time.After(bound(cfg, 40)):
		t.Fatal("Stats, Counts, Members or Member waited for the node's goroutine")
	}
	close(release)
}

// TestCountsAndRTT checks Counts against Members and AllMembers as a
// cluster changes, and that probes feed the round-trip histogram and RTTs.
func TestCountsAndRTT(t *testing.T) {
	cfg := testConfig()
	nodes := startNodes(t, 4, cfg)
	joinAll(t, nodes, bound(cfg, 40))
	a := nodes[0]
	waitFor(t, bound(cfg, 40), "four alive", func() (bool, string) {
		c := a.Counts()
		return c == engine.MemberCounts{Alive: 4}, fmt.Sprintf("%+v", c)
	})
	if err := nodes[3].Leave(context.Background()); err != nil {
		t.Fatal(err)
	}
	nodes[3].Close()
	nodes[2].Close()
	waitFor(t, bound(cfg, 80), "one left, one dead", func() (bool, string) {
		c := a.Counts()
		return c == engine.MemberCounts{Alive: 2, Dead: 1, Left: 1}, fmt.Sprintf("%+v", c)
	})
	c := a.Counts()
	if c.Live() != len(a.Members()) || c.Total() != len(a.AllMembers()) {
		t.Errorf("Counts %+v: live %d, total %d; Members %d, AllMembers %d", c, c.Live(), c.Total(), len(a.Members()), len(a.AllMembers()))
	}
	waitFor(t, bound(cfg, 80), "round trips measured", func() (bool, string) {
		h := a.Stats().ProbeRTT
		_, ok := a.RTT(nodes[1].ID())
		return h.Count() > 0 && ok, fmt.Sprintf("histogram %v, RTT to node 1 known %v", h.Counts, ok)
	})
	h := a.Stats().ProbeRTT
	if h.Sum <= 0 {
		t.Errorf("ProbeRTT.Sum = %v with %d samples", h.Sum, h.Count())
	}
	rtts := a.RTTs()
	if d, ok := rtts[nodes[1].ID()]; !ok || d <= 0 {
		t.Errorf("RTTs() = %v, want a round trip to node 1", rtts)
	}
}

// TestReadsNoAllocs: Stats, Counts (after its first call) and
// RTTHistogram.Observe allocate nothing.
func TestReadsNoAllocs(t *testing.T) {
	nd := startNodes(t, 1, testConfig())[0]
	nd.Counts()
	var h engine.RTTHistogram
	for name, f := range map[string]func(){
		"Stats":   func() { _ = nd.Stats() },
		"Counts":  func() { _ = nd.Counts() },
		"Observe": func() { h.Observe(300 * time.Microsecond) },
	} {
		if n := testing.AllocsPerRun(100, f); n != 0 {
			t.Errorf("%s: %v allocations, want 0", name, n)
		}
	}
	if h.Counts[3] != 101 { // (250µs, 500µs]
		t.Errorf("Observe(300µs) ×101: counts %v, want all in bucket 3", h.Counts)
	}
}
