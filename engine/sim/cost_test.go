package sim_test

import (
	"fmt"
	"hash/fnv"
	"net/netip"
	"testing"
	"time"

	"github.com/hearsay-io/hearsay/codec"
	"github.com/hearsay-io/hearsay/engine"
	"github.com/hearsay-io/hearsay/engine/sim"
	"github.com/hearsay-io/hearsay/netio"
)

// floodAddr is an address outside every simulated cluster, for a raw
// endpoint that floods nodes.
var floodAddr = netip.MustParseAddrPort("10.200.0.1:9")

// foreign returns a well-formed datagram of size bytes from another
// cluster: a node reads it, pays for it, and drops it.
func foreign(size int) []byte {
	h := codec.Header{Type: codec.MsgGossip, Cluster: 0xbad, Sender: 1, Length: uint16(size - codec.HeaderSize)}
	return append(h.Append(nil), make([]byte, size-codec.HeaderSize)...)
}

// roundCost is a cost model with round figures, so tests can say what a
// datagram costs: a foreign datagram of 1,000 bytes (960 of body) costs
// 1 µs + 9 µs + 960 ns = 10.96 µs, and 500 ns more if it finds the node
// idle.
var roundCost = sim.CostModel{
	Recv:     time.Microsecond,
	Wake:     500 * time.Nanosecond,
	Send:     2 * time.Microsecond,
	Datagram: 9 * time.Microsecond,
	BodyKiB:  1024 * time.Nanosecond, // 1 ns a byte
	EmitKiB:  1024 * time.Nanosecond,
	Tick:     5 * time.Microsecond,
	Open:     time.Microsecond,
	OpenKiB:  1024 * time.Nanosecond,
	Seal:     time.Microsecond,
	SealKiB:  1024 * time.Nanosecond,
}

const (
	foreignCost = 10960 * time.Nanosecond // of foreign(1000) under roundCost
	wake        = 500 * time.Nanosecond   // roundCost.Wake
)

// lone returns a one-node simulation under cost model c, run until the
// node has done what it does at start, and a raw endpoint to flood it
// from. The link delivers at once, so a datagram sent now arrives now.
func lone(t *testing.T, c sim.CostModel) (*sim.Sim, *sim.Node, *netio.Endpoint) {
	t.Helper()
	s, err := sim.New(sim.Config{N: 1, Seed: 31, Engine: openLAN(), Start: sim.Alone, Cost: c})
	if err != nil {
		t.Fatal(err)
	}
	s.RunFor(time.Second)
	ep, err := s.Network().Listen(floodAddr)
	if err != nil {
		t.Fatal(err)
	}
	return s, s.Node(0), ep
}

// idleWindow runs s past node n's next timer and the work it causes, and
// a microsecond more, and returns that time, from which the node is idle,
// and its next timer, failing the test unless at least need lies between
// them.
func idleWindow(t *testing.T, s *sim.Sim, n *sim.Node, need time.Duration) (free, next time.Duration) {
	t.Helper()
	s.RunUntil(sim.Since(n.Core.Deadline()))
	free = max(s.Now(), n.BusyUntil()) + time.Microsecond // idle, not just done
	s.RunUntil(free)
	next = sim.Since(n.Core.Deadline())
	if next-free < need {
		t.Fatalf("node's timers leave %v idle after %v, the test needs %v", next-free, free, need)
	}
	return free, next
}

// A node flooded beyond its CPU queues what it cannot handle yet, up to
// its receive buffer in bytes, and drops the rest, counting the drops.
func TestCostQueueFullDrops(t *testing.T) {
	c := roundCost
	c.QueueOverhead = 24
	c.RecvBuffer = 10 * (1000 + 24) // room for ten datagrams of 1,000 bytes
	s, n, ep := lone(t, c)
	before, coreBefore := s.NodeStats(0), n.Core.Stats()
	const flood = 50
	for range flood {
		ep.Send(n.Addr, foreign(1000))
	}
	s.RunFor(time.Millisecond)
	st, core := s.NodeStats(0), n.Core.Stats()
	// The first is handled at once, ten wait, the rest find the queue full.
	const handled, dropped = 11, flood - 11
	if got := st.QueueDrops - before.QueueDrops; got != dropped {
		t.Errorf("NodeStats.QueueDrops rose by %d, want %d", got, dropped)
	}
	if got := s.Network().Stats().DropQueueFull; got != dropped {
		t.Errorf("network DropQueueFull = %d, want %d", got, dropped)
	}
	if st.PeakQueued != 10 || st.PeakQueuedBytes != c.RecvBuffer {
		t.Errorf("peak queue = %d datagrams, %d bytes; want 10, %d", st.PeakQueued, st.PeakQueuedBytes, c.RecvBuffer)
	}
	if got := st.Datagrams - before.Datagrams; got != handled {
		t.Errorf("NodeStats.Datagrams rose by %d, want %d", got, handled)
	}
	if got := core.DropCluster - coreBefore.DropCluster; got != handled {
		t.Errorf("core DropCluster rose by %d, want %d", got, handled)
	}
	if got, min := st.Busy-before.Busy, handled*foreignCost; got < min {
		t.Errorf("NodeStats.Busy rose by %v, want at least %v", got, min)
	}
	if st.Queued != 0 || st.QueuedBytes != 0 {
		t.Errorf("queue after the flood = %d datagrams, %d bytes; want empty", st.Queued, st.QueuedBytes)
	}
}

// A datagram that arrives while the node is busy waits, and is handled
// exactly when the work in hand is done.
func TestCostBusyDelaysDatagram(t *testing.T) {
	s, n, ep := lone(t, roundCost)
	t0, _ := idleWindow(t, s, n, 10*foreignCost)
	in := n.Core.Stats().DatagramsIn
	ep.Send(n.Addr, foreign(1000))
	s.RunUntil(t0 + foreignCost/2)
	// The first finds the node idle: it pays the wakeup.
	done := t0 + wake + foreignCost
	if got := n.BusyUntil(); got != done {
		t.Fatalf("after one datagram at %v the node is busy until %v, want %v", t0, got, done)
	}
	ep.Send(n.Addr, foreign(1000)) // arrives halfway through the first
	s.RunUntil(done - 1)
	if got := n.Core.Stats().DatagramsIn - in; got != 1 {
		t.Errorf("1ns before the first datagram's work ends, the core has read %d datagrams, want 1", got)
	}
	s.RunUntil(done)
	if got := n.Core.Stats().DatagramsIn - in; got != 2 {
		t.Errorf("when the first datagram's work ends, the core has read %d datagrams, want 2", got)
	}
	// The second waited: no wakeup.
	if got := n.BusyUntil(); got != done+foreignCost {
		t.Errorf("busy until %v, want %v", got, done+foreignCost)
	}
}

// A timer that comes due while the node is busy runs when the node is
// free, late, and before the datagrams that waited meanwhile.
func TestCostTimerRunsLate(t *testing.T) {
	s, n, ep := lone(t, roundCost)
	_, due := idleWindow(t, s, n, 10*foreignCost)
	const early = 5 * time.Microsecond
	s.RunUntil(due - early)
	if b := n.BusyUntil(); b > s.Now() {
		t.Fatalf("node busy until %v at %v", b, s.Now())
	}
	before, in := s.NodeStats(0), n.Core.Stats().DatagramsIn
	for range 3 {
		ep.Send(n.Addr, foreign(1000))
	}
	// The first datagram's work runs from due-5µs to due+6.46µs.
	free := due - early + wake + foreignCost
	s.RunUntil(free - 1)
	if st := s.NodeStats(0); st.Ticks != before.Ticks {
		t.Errorf("the timer ran while the node was busy (Ticks %d, was %d)", st.Ticks, before.Ticks)
	}
	s.RunUntil(free)
	st := s.NodeStats(0)
	if st.Ticks != before.Ticks+1 {
		t.Errorf("Ticks = %d when the node became free, want %d", st.Ticks, before.Ticks+1)
	}
	if got := n.Core.Stats().DatagramsIn - in; got != 1 {
		t.Errorf("when the node became free it had read %d datagrams, want 1: the late timer goes first", got)
	}
	if want := wake + foreignCost - early; st.MaxLag != want {
		t.Errorf("MaxLag = %v, want %v", st.MaxLag, want)
	}
	s.RunFor(time.Millisecond)
	if got := n.Core.Stats().DatagramsIn - in; got != 3 {
		t.Errorf("the core read %d datagrams in the end, want 3", got)
	}
}

// What a node sends leaves when the work that produced it is done: a join
// datagram reaches the seed (over a link without delay) a user call's cost
// and the cost of sending it after Join.
func TestCostSendsLeaveWhenDone(t *testing.T) {
	for _, c := range []sim.CostModel{{Free: true}, roundCost} {
		s, n, ep := lone(t, c)
		t0, _ := idleWindow(t, s, n, time.Millisecond)
		type arrival struct {
			at   time.Duration
			size int
		}
		var got []arrival
		ep.SetHandler(func(_ netip.AddrPort, b []byte) { got = append(got, arrival{s.Now(), len(b)}) })
		if err := s.Join(0, floodAddr); err != nil {
			t.Fatal(err)
		}
		s.RunFor(100 * time.Microsecond)
		if len(got) == 0 {
			t.Fatalf("Cost %+v: Join sent nothing to the seed", c)
		}
		want := t0
		if !c.Free {
			want += wake + c.Tick + c.Send + time.Duration(got[0].size)*time.Nanosecond
		}
		if got[0].at != want {
			t.Errorf("Cost %+v: the join datagram (%d bytes) arrived at %v, want %v", c, got[0].size, got[0].at, want)
		}
	}
}

// Nodes that share CPUs wait for one: two nodes given a datagram each at
// the same time on one CPU finish one after the other; on two, together.
func TestCostSharedCPUs(t *testing.T) {
	for _, cpus := range []int{1, 2} {
		c := roundCost
		c.CPUs = cpus
		s, err := sim.New(sim.Config{N: 2, Seed: 34, Engine: openLAN(), Start: sim.Alone, Cost: c})
		if err != nil {
			t.Fatal(err)
		}
		s.RunFor(time.Second)
		ep, err := s.Network().Listen(floodAddr)
		if err != nil {
			t.Fatal(err)
		}
		a, b := s.Node(0), s.Node(1)
		t0, _ := idleWindow(t, s, a, 10*foreignCost)
		if b.BusyUntil() > t0 || sim.Since(b.Core.Deadline()) < t0+10*foreignCost {
			t.Fatalf("node 1 is not idle around %v", t0)
		}
		busy0 := s.NodeStats(0).Busy + s.NodeStats(1).Busy
		ep.Send(a.Addr, foreign(1000))
		ep.Send(b.Addr, foreign(1000))
		s.RunUntil(t0)
		want := t0 + wake + foreignCost
		if cpus == 1 {
			want += wake + foreignCost
		}
		if got := b.BusyUntil(); got != want {
			t.Errorf("CPUs %d: node 1 busy until %v, want %v", cpus, got, want)
		}
		if got := s.NodeStats(0).Busy + s.NodeStats(1).Busy - busy0; got != 2*(wake+foreignCost) {
			t.Errorf("CPUs %d: Busy rose by %v, want %v: waiting for a CPU is not work", cpus, got, 2*(wake+foreignCost))
		}
	}
}

// runDigest runs a scenario that exercises the cost model (a bootstrap
// with loss and jitter, a flood, a pause) and returns a digest of every
// event, the network's counters, and every node's core and cost counters.
func runDigest(t *testing.T, c sim.CostModel) (string, sim.NodeStats) {
	t.Helper()
	h := fnv.New64a()
	link := lan()
	link.Loss = 0.02
	const n = 120
	s, err := sim.New(sim.Config{N: n, Seed: 33, Engine: openLAN(), Link: link, Start: sim.Alone, Cost: c,
		OnEvent: func(node int, e engine.Event) {
			fmt.Fprintf(h, "%d %d %v %x %v %d\n", node, e.At, e.Type, e.Member.ID, e.Member.State, e.Member.Incarnation)
		}})
	if err != nil {
		t.Fatal(err)
	}
	seeds := []netip.AddrPort{sim.Addr(0), sim.Addr(1)}
	for i := 2; i < n; i++ {
		s.RunUntil(time.Second * time.Duration(i) / n)
		if err := s.Join(i, seeds...); err != nil {
			t.Fatal(err)
		}
	}
	s.RunFor(2 * time.Second)
	ep, err := s.Network().Listen(floodAddr)
	if err != nil {
		t.Fatal(err)
	}
	for range 5000 { // 10.8 MB as the queue counts it: over 8 MiB
		ep.Send(sim.Addr(7), foreign(1400))
	}
	s.Pause(9)
	s.RunFor(time.Second)
	s.Resume(9)
	s.RunFor(3 * time.Second)
	fmt.Fprintf(h, "%+v\n", s.Network().Stats())
	var sum sim.NodeStats
	for i := range n {
		st := s.NodeStats(i)
		fmt.Fprintf(h, "%d %+v %+v\n", i, st, s.Node(i).Core.Stats())
		sum.Busy += st.Busy
		sum.QueueDrops += st.QueueDrops
		sum.MaxLag = max(sum.MaxLag, st.MaxLag)
		sum.PeakQueuedBytes = max(sum.PeakQueuedBytes, st.PeakQueuedBytes)
	}
	return fmt.Sprintf("%x", h.Sum64()), sum
}

// The same seed gives the same run, byte for byte, with the cost model on.
func TestCostDeterministic(t *testing.T) {
	skipLargeUnderRace(t)
	a, sum := runDigest(t, sim.CostModel{})
	b, _ := runDigest(t, sim.CostModel{})
	if a != b {
		t.Errorf("two runs of the same seed differ: digests %s and %s", a, b)
	}
	if sum.Busy == 0 || sum.QueueDrops == 0 || sum.MaxLag == 0 {
		t.Errorf("the run did not exercise the cost model: %+v", sum)
	}
	free, fsum := runDigest(t, sim.CostModel{Free: true})
	if free == a {
		t.Errorf("the free model gave the same run as the default one")
	}
	if fsum.Busy != 0 || fsum.MaxLag != 0 {
		t.Errorf("under the free model: Busy %v, MaxLag %v; want 0", fsum.Busy, fsum.MaxLag)
	}
	t.Logf("default model: %v busy over 120 nodes, %d queue drops, max timer lag %v, peak queue %d bytes",
		sum.Busy, sum.QueueDrops, sum.MaxLag, sum.PeakQueuedBytes)
}

func TestCostModelDefaults(t *testing.T) {
	s, err := sim.New(sim.Config{N: 1, Seed: 1, Engine: openLAN()})
	if err != nil {
		t.Fatal(err)
	}
	if got := s.CostModel(); got != sim.DefaultCost {
		t.Errorf("the zero CostModel runs as %+v, want DefaultCost %+v", got, sim.DefaultCost)
	}
	s, err = sim.New(sim.Config{N: 1, Seed: 1, Engine: openLAN(), Cost: sim.CostModel{Scale: 2, Recv: 3 * time.Microsecond, RecvBuffer: 1 << 20}})
	if err != nil {
		t.Fatal(err)
	}
	got, d := s.CostModel(), sim.DefaultCost
	if got.Recv != 6*time.Microsecond || got.Send != 2*d.Send || got.Tick != 2*d.Tick || got.RecvBuffer != 1<<20 || got.QueueOverhead != d.QueueOverhead || got.Scale != 1 {
		t.Errorf("CostModel{Scale: 2, Recv: 3µs, RecvBuffer: 1MiB} runs as %+v", got)
	}
	s, err = sim.New(sim.Config{N: 1, Seed: 1, Engine: openLAN(), Cost: sim.CostModel{Wake: -1, QueueOverhead: -1}})
	if err != nil {
		t.Fatal(err)
	}
	if got := s.CostModel(); got.Wake != 0 || got.QueueOverhead != 0 || got.Send != d.Send {
		t.Errorf("CostModel{Wake: -1, QueueOverhead: -1} runs as %+v, want no wakeup cost nor overhead, the rest default", got)
	}
	for _, bad := range []sim.CostModel{{Scale: -1}, {RecvBuffer: -1}, {CPUs: -1}} {
		if _, err := sim.New(sim.Config{N: 1, Engine: openLAN(), Cost: bad}); err == nil {
			t.Errorf("sim.New with Cost %+v: no error", bad)
		}
	}
}
