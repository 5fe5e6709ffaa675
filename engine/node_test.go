package engine_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"reflect"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hearsay-io/hearsay/engine"
)

// testConfig is DefaultLocalConfig on 127.0.0.1 with a port picked by the
// system and no logging.
func testConfig() engine.Config {
	cfg := engine.DefaultLocalConfig()
	cfg.Open = true
	cfg.BindAddr = netip.MustParseAddrPort("127.0.0.1:0")
	cfg.Logger = slog.New(slog.DiscardHandler)
	return cfg
}

// bound returns how long to poll for a protocol outcome under cfg: a
// number of protocol periods generous enough for a loaded machine and the
// race detector.
func bound(cfg engine.Config, periods int) time.Duration {
	return time.Duration(periods) * cfg.HeartbeatInterval
}

// waitFor polls cond every 10 ms until it reports true, and fails the test
// with cond's last status if that takes longer than d.
func waitFor(t testing.TB, d time.Duration, what string, cond func() (bool, string)) {
	t.Helper()
	start := time.Now()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		ok, status := cond()
		if ok {
			t.Logf("%s: after %v", what, time.Since(start).Round(time.Millisecond))
			return
		}
		if time.Since(start) > d {
			t.Fatalf("%s: not reached within %v: %s", what, d, status)
		}
		<-tick.C
	}
}

// startNodes starts n nodes with cfg and closes them at the end of the test.
func startNodes(t testing.TB, n int, cfg engine.Config) []*engine.Node {
	t.Helper()
	nodes := make([]*engine.Node, n)
	for i := range nodes {
		nd, err := engine.NewNode(cfg)
		if err != nil {
			t.Fatalf("NewNode: %v", err)
		}
		nodes[i] = nd
		t.Cleanup(func() { nd.Close() })
	}
	return nodes
}

// joinAll joins nodes[1:] through nodes[0], concurrently.
func joinAll(t testing.TB, nodes []*engine.Node, d time.Duration) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	var wg sync.WaitGroup
	errs := make([]error, len(nodes))
	for i, nd := range nodes[1:] {
		wg.Go(func() { errs[i+1] = nd.Join(ctx, nodes[0].Addr()) })
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatalf("Join: %v", err)
	}
}

// converged reports whether every node sees want live members.
func converged(nodes []*engine.Node, want int) (bool, string) {
	for i, nd := range nodes {
		if live, _ := nd.NumMembers(); live != want {
			return false, fmt.Sprintf("node %d sees %d live members, want %d", i, live, want)
		}
	}
	return true, ""
}

// allSee reports whether every observer sees subject in state st.
func allSee(observers []*engine.Node, subject engine.ID, st engine.State) (bool, string) {
	for i, nd := range observers {
		m, ok := nd.Member(subject)
		if !ok || m.State != st {
			return false, fmt.Sprintf("node %d sees %v as %v (known %v), want %v", i, subject, m.State, ok, st)
		}
	}
	return true, ""
}

func without(nodes []*engine.Node, drop ...*engine.Node) []*engine.Node {
	var r []*engine.Node
	for _, n := range nodes {
		keep := true
		for _, d := range drop {
			keep = keep && n != d
		}
		if keep {
			r = append(r, n)
		}
	}
	return r
}

// noLeak fails if the goroutine count does not come back to before.
func noLeak(t testing.TB, before int) {
	t.Helper()
	waitFor(t, 5*time.Second, "goroutines back to their count before the test", func() (bool, string) {
		n := runtime.NumGoroutine()
		return n <= before, fmt.Sprintf("%d goroutines, %d before", n, before)
	})
}

func TestJoinNoSeedAnswered(t *testing.T) {
	before := runtime.NumGoroutine()
	cfg := testConfig()
	nd := startNodes(t, 1, cfg)[0]
	// A port nobody listens on: bind one, then close it.
	pc, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := pc.LocalAddr().(*net.UDPAddr).AddrPort()
	pc.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 3*cfg.IndirectTimeout)
	defer cancel()
	err = nd.Join(ctx, dead)
	if !errors.Is(err, engine.ErrNoSeedAnswered) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Join(unreachable seed) = %v, want ErrNoSeedAnswered and context.DeadlineExceeded", err)
	}
	if !strings.Contains(err.Error(), "keys") || strings.Count(err.Error(), "hearsay:") != 1 {
		t.Errorf("Join(unreachable seed) = %q: want one prefix and a hint at a key mismatch", err)
	}
	t.Logf("Join(unreachable seed) = %v", err)
	if got := nd.Seeds(); len(got) != 1 || got[0] != dead.String() {
		t.Errorf("Seeds() after Join(%v) = %q, want the seed given", dead, got)
	}

	if err := nd.SetSeeds(); err != nil {
		t.Fatal(err)
	}
	if err := nd.Join(context.Background()); !errors.Is(err, engine.ErrNoSeeds) {
		t.Errorf("Join(no seeds) = %v, want ErrNoSeeds", err)
	}
	if err := nd.Join(context.Background(), nd.Addr()); !errors.Is(err, engine.ErrNoSeeds) {
		t.Errorf("Join(own address) = %v, want ErrNoSeeds", err)
	}
	nd.Close()
	noLeak(t, before)
}

func TestCallsAfterClose(t *testing.T) {
	before := runtime.NumGoroutine()
	cfg := testConfig()
	nodes := startNodes(t, 2, cfg)
	a, b := nodes[0], nodes[1]
	joinAll(t, nodes, bound(cfg, 40))
	if err := a.SetState([]byte("k"), []byte("v")); err != nil {
		t.Fatal(err)
	}
	sub := a.Subscribe(4)
	if err := a.Close(); err != nil {
		t.Fatalf("Close() = %v", err)
	}
	if err := a.Close(); err != nil {
		t.Errorf("second Close() = %v, want nil", err)
	}
	ctx := context.Background()
	for name, err := range map[string]error{
		"Join":        a.Join(ctx, b.Addr()),
		"Leave":       a.Leave(ctx),
		"SetState":    a.SetState([]byte("k"), []byte("w")),
		"DeleteState": a.DeleteState([]byte("k")),
	} {
		if !errors.Is(err, engine.ErrClosed) {
			t.Errorf("%s after Close = %v, want ErrClosed", name, err)
		}
	}
	for range sub.Events() {
		// Drain: the channel must be closed.
	}
	if _, ok := <-a.Subscribe(1).Events(); ok {
		t.Errorf("Subscribe after Close: channel open")
	}
	// Reads keep answering from the final table.
	if live, _ := a.NumMembers(); live != 2 {
		t.Errorf("NumMembers after Close: live = %d, want 2", live)
	}
	if v, _, ok := a.State(a.ID(), []byte("k")); !ok || string(v) != "v" {
		t.Errorf("State after Close = %q, %v", v, ok)
	}
	if r := a.Ring(); r.Len() != 2 {
		t.Errorf("Ring after Close: Len = %d, want 2", r.Len())
	}
	if s := a.Stats(); s.DatagramsIn == 0 {
		t.Errorf("Stats after Close: DatagramsIn = 0")
	}
	b.Close()
	noLeak(t, before)
}

func TestInvalidConfig(t *testing.T) {
	cfg := testConfig()
	cfg.Observers = 99
	cfg.GossipFanout = -1
	cfg.ShardBits = 5
	cfg.Keys = [][]byte{[]byte("short")}
	cfg.Open = len(cfg.Keys) == 0
	cfg.MaxDatagramSize = 10
	_, err := engine.NewNode(cfg)
	if !errors.Is(err, engine.ErrInvalidConfig) {
		t.Fatalf("NewNode(invalid) = %v, want ErrInvalidConfig", err)
	}
	var fields []string
	for _, e := range err.(interface{ Unwrap() []error }).Unwrap() {
		var fe *engine.FieldError
		if !errors.As(e, &fe) {
			t.Errorf("error %v is not a *FieldError", e)
			continue
		}
		fields = append(fields, fe.Field)
	}
	want := []string{"Observers", "GossipFanout", "MaxDatagramSize", "ShardBits", "Keys[0]"}
	if fmt.Sprint(fields) != fmt.Sprint(want) {
		t.Errorf("invalid fields = %v, want %v\n%v", fields, want, err)
	}
}

func TestSetStateLimits(t *testing.T) {
	cfg := testConfig()
	cfg.MaxStateKeys = 2
	nd := startNodes(t, 1, cfg)[0]
	for _, tc := range []struct {
		key, value []byte
		want       error
	}{
		{nil, []byte("v"), engine.ErrKeySize},
		{make([]byte, 1000), nil, engine.ErrKeySize},
		{[]byte("k"), make([]byte, 100000), engine.ErrValueSize},
		{[]byte("a"), []byte("1"), nil},
		{[]byte("b"), []byte("2"), nil},
		{[]byte("c"), []byte("3"), engine.ErrStateFull},
	} {
		if err := nd.SetState(tc.key, tc.value); !errors.Is(err, tc.want) {
			t.Errorf("SetState(%d-byte key, %d-byte value) = %v, want %v", len(tc.key), len(tc.value), err, tc.want)
		}
	}
	if err := nd.DeleteState([]byte("nope")); !errors.Is(err, engine.ErrNoKey) {
		t.Errorf("DeleteState(missing) = %v, want ErrNoKey", err)
	}
	if err := nd.DeleteState([]byte("a")); err != nil {
		t.Errorf("DeleteState(a) = %v", err)
	}
	if _, _, ok := nd.State(nd.ID(), []byte("a")); ok {
		t.Errorf("State(a) after delete: still there")
	}
}

// TestSubscriptionOverflow checks the drop-newest policy: a subscriber
// that does not read keeps its oldest events, loses the rest, and the drops
// are counted per subscription and in Stats; other subscribers are not
// affected.
func TestSubscriptionOverflow(t *testing.T) {
	cfg := testConfig()
	nodes := startNodes(t, 2, cfg)
	a, b := nodes[0], nodes[1]
	slow := a.Subscribe(2, engine.EventState)
	fast := a.Subscribe(100, engine.EventState)
	joinAll(t, nodes, bound(cfg, 40))
	const keys = 10
	for i := range keys {
		if err := b.SetState(fmt.Appendf(nil, "k%d", i), []byte("v")); err != nil {
			t.Fatal(err)
		}
	}
	got := 0
	waitFor(t, bound(cfg, 40), "the fast subscriber gets every state event", func() (bool, string) {
		for {
			select {
			case <-fast.Events():
				got++
				continue
			default:
			}
			return got == keys, fmt.Sprintf("%d of %d", got, keys)
		}
	})
	if len(slow.Events()) != 2 || slow.Dropped() != keys-2 {
		t.Errorf("slow subscriber: %d queued, %d dropped; want 2 and %d", len(slow.Events()), slow.Dropped(), keys-2)
	}
	if e := <-slow.Events(); string(e.Key) != "k0" {
		t.Errorf("slow subscriber's first event is for %q, want the oldest, k0", e.Key)
	}
	s := a.Stats()
	if s.EventsDropped != keys-2 || s.Subscriptions != 2 {
		t.Errorf("Stats: EventsDropped = %d, Subscriptions = %d; want %d, 2", s.EventsDropped, s.Subscriptions, keys-2)
	}
	a.Unsubscribe(slow)
	fast.Close()
	fast.Close()
	if s := a.Stats(); s.Subscriptions != 0 {
		t.Errorf("Stats after unsubscribing: Subscriptions = %d", s.Subscriptions)
	}
}

// freePort returns a UDP port on 127.0.0.1 that was free a moment ago.
func freePort(t testing.TB) uint16 {
	pc, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	return pc.LocalAddr().(*net.UDPAddr).AddrPort().Port()
}

// TestBindAdvertise binds one node to the IPv6 wildcard, dual-stack, and
// advertises an IPv4 loopback address: the others reach it there.
func TestBindAdvertise(t *testing.T) {
	cfg := testConfig()
	nodes := startNodes(t, 2, cfg)
	port := freePort(t)
	c := cfg
	c.BindAddr = netip.AddrPortFrom(netip.IPv6Unspecified(), port)
	c.DualStack = true
	c.AdvertiseAddr = netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), port)
	nd, err := engine.NewNode(c)
	if err != nil {
		t.Skipf("dual-stack IPv6 socket unavailable: %v", err)
	}
	t.Cleanup(func() { nd.Close() })
	if nd.Addr() != c.AdvertiseAddr || nd.LocalAddr().Port() != port || !nd.LocalAddr().Addr().Is6() {
		t.Fatalf("Addr() = %v, LocalAddr() = %v; want %v advertised on [::]:%d", nd.Addr(), nd.LocalAddr(), c.AdvertiseAddr, port)
	}
	nodes = append(nodes, nd)
	joinAll(t, nodes, bound(cfg, 40))
	waitFor(t, bound(cfg, 40), "3 nodes converge", func() (bool, string) { return converged(nodes, 3) })
	for i, o := range nodes[:2] {
		if m, _ := o.Member(nd.ID()); m.Addr != c.AdvertiseAddr {
			t.Errorf("node %d sees the node at %v, want %v", i, m.Addr, c.AdvertiseAddr)
		}
	}
}

// TestIPv6 runs a small cluster over the IPv6 loopback.
func TestIPv6(t *testing.T) {
	cfg := testConfig()
	cfg.BindAddr = netip.MustParseAddrPort("[::1]:0")
	first, err := engine.NewNode(cfg)
	if err != nil {
		t.Skipf("IPv6 loopback unavailable: %v", err)
	}
	first.Close()
	nodes := startNodes(t, 3, cfg)
	joinAll(t, nodes, bound(cfg, 40))
	waitFor(t, bound(cfg, 40), "3 nodes converge over IPv6", func() (bool, string) { return converged(nodes, 3) })
	if m, _ := nodes[1].Member(nodes[2].ID()); !m.Addr.Addr().Is6() {
		t.Errorf("member address %v is not IPv6", m.Addr)
	}
}

// TestUnspecifiedBind checks the advertised address chosen for a wildcard
// bind without AdvertiseAddr: a specific address with the bound port.
func TestUnspecifiedBind(t *testing.T) {
	cfg := testConfig()
	cfg.BindAddr = netip.MustParseAddrPort("0.0.0.0:0")
	nd := startNodes(t, 1, cfg)[0]
	if a := nd.Addr(); a.Addr().IsUnspecified() || !a.Addr().Is4() || a.Port() != nd.LocalAddr().Port() {
		t.Errorf("Addr() = %v with LocalAddr() = %v; want a specific IPv4 address and the bound port", a, nd.LocalAddr())
	}
}

// TestMetrics checks that every scalar of NodeStats has one unique metric
// name and that Var renders them as a JSON object.
func TestMetrics(t *testing.T) {
	cfg := testConfig()
	nodes := startNodes(t, 2, cfg)
	joinAll(t, nodes, bound(cfg, 40))
	s := nodes[0].Stats()
	ms := s.Metrics(nil)
	seen := map[string]bool{}
	for _, m := range ms {
		if seen[m.Name] {
			t.Errorf("metric %q named twice", m.Name)
		}
		seen[m.Name] = true
		if strings.ContainsAny(m.Name, " -ABCDEFGHIJKLMNOPQRSTUVWXYZ") {
			t.Errorf("metric name %q: want lowercase words joined by '_' and '.'", m.Name)
		}
	}
	for _, name := range []string{"datagrams_in", "msgs_in.join_reply", "msgs_out.join", "msg_bytes_out.sync", "probes", "suspicions",
		"refutations", "deaths", "queue.depth", "local_health", "drops.auth", "transport.drops.buffer_full", "events.dropped"} {
		if !seen[name] {
			t.Errorf("metric %q missing", name)
		}
	}
	if want := scalars(reflect.TypeFor[engine.NodeStats]()) + 3*15; len(ms) != want {
		t.Errorf("Metrics: %d metrics, want %d (every scalar field of NodeStats and 15 message types: in, out and bytes out)", len(ms), want)
	}
	var got map[string]uint64
	if err := json.Unmarshal([]byte(nodes[0].Var().String()), &got); err != nil {
		t.Fatalf("Var().String() is not a JSON object: %v", err)
	}
	if len(got) != len(ms) || got["msgs_out.join"] == 0 && got["msgs_in.join"] == 0 {
		t.Errorf("Var: %d names, want %d; join counters %d/%d", len(got), len(ms), got["msgs_in.join"], got["msgs_out.join"])
	}
}

// scalars counts the uint64 fields of a struct type, recursively.
func scalars(t reflect.Type) int {
	n := 0
	for i := range t.NumField() {
		f := t.Field(i)
		switch f.Type.Kind() {
		case reflect.Uint64:
			n++
		case reflect.Struct:
			n += scalars(f.Type)
		}
	}
	return n
}
