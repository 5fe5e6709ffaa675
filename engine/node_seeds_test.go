package engine_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"sync"
	"testing"

	"github.com/hearsay-io/hearsay/engine"
)

// fakeResolver answers seed lookups from maps the test changes, and
// counts them. It never touches the network.
type fakeResolver struct {
	mu    sync.Mutex
	hosts map[string][]netip.Addr
	srvs  map[string][]*net.SRV
	calls map[string]int
}

func newFakeResolver() *fakeResolver {
	return &fakeResolver{hosts: map[string][]netip.Addr{}, srvs: map[string][]*net.SRV{}, calls: map[string]int{}}
}

func (r *fakeResolver) LookupNetIP(_ context.Context, network, host string) ([]netip.Addr, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls[host]++
	if a, ok := r.hosts[host]; ok {
		return slices.Clone(a), nil
	}
	return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
}

func (r *fakeResolver) LookupSRV(_ context.Context, service, proto, name string) (string, []*net.SRV, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls[name]++
	if s, ok := r.srvs[name]; ok {
		return name, slices.Clone(s), nil
	}
	return "", nil, &net.DNSError{Err: "no such host", Name: name, IsNotFound: true}
}

func (r *fakeResolver) set(host string, addrs ...netip.Addr) {
	r.mu.Lock()
	r.hosts[host] = addrs
	r.mu.Unlock()
}

func (r *fakeResolver) setSRV(name string, targets ...*net.SRV) {
	r.mu.Lock()
	r.srvs[name] = targets
	r.mu.Unlock()
}

func (r *fakeResolver) count(name string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.calls[name]
}

// TestSeedSyntax checks which seeds Config.Validate and SetSeeds accept.
func TestSeedSyntax(t *testing.T) {
	good := []string{"10.0.0.1:7946", "[fd00::1]:7946", "db-0.db.ns.svc:7946", "db-0.db.ns.svc.:7946",
		"localhost:1", "_gossip._udp.db.ns.svc", "_gossip._udp.db.ns.svc."}
	bad := []string{"", "10.0.0.1", "10.0.0.1:0", "0.0.0.0:7946", "db:port", "db:70000", ":7946",
		"db.ns.svc", "bad host:7946", "a..b:1", "[fe80::1%eth0]:7946", "_gossip._udp.db:7946:1"}
	for _, s := range good {
		cfg := testConfig()
		cfg.SeedNames = []string{s}
		if err := cfg.Validate(); err != nil {
			t.Errorf("Validate(SeedNames %q) = %v, want nil", s, err)
		}
	}
	nd := startNodes(t, 1, testConfig())[0]
	for _, s := range bad {
		cfg := testConfig()
		cfg.SeedNames = []string{s}
		err := cfg.Validate()
		var fe *engine.FieldError
		if !errors.Is(err, engine.ErrInvalidSeed) || !errors.Is(err, engine.ErrInvalidConfig) || !errors.As(err, &fe) || fe.Field != "SeedNames[0]" {
			t.Errorf("Validate(SeedNames %q) = %v, want a FieldError for SeedNames[0] matching ErrInvalidSeed", s, err)
		}
		if err := nd.SetSeeds(s); !errors.Is(err, engine.ErrInvalidSeed) {
			t.Errorf("SetSeeds(%q) = %v, want ErrInvalidSeed", s, err)
		}
	}
	if err := nd.SetSeeds(good...); err != nil {
		t.Errorf("SetSeeds(%q) = %v", good, err)
	}
	if got := nd.Seeds(); !slices.Equal(got, good) {
		t.Errorf("Seeds() = %q, want %q", got, good)
	}
}

// loopbackPort returns a UDP port free on 127.0.0.1 to 127.0.0.<n> a moment
// ago.
func loopbackPort(t *testing.T, n int) uint16 {
	t.Helper()
	for range 20 {
		p := freePort(t)
		free := true
		for i := 2; i <= n && free; i++ {
			pc, err := net.ListenPacket("udp4", fmt.Sprintf("127.0.0.%d:%d", i, p))
			if err != nil {
				free = false
				continue
			}
			pc.Close()
		}
		if free {
			return p
		}
	}
	t.Fatal("no UDP port free on every loopback address")
	return 0
}

// TestJoinThroughName starts three nodes on 127.0.0.1 to 127.0.0.3 with one
// port; each joins through one name that resolves to all three addresses,
// and they form one cluster.
func TestJoinThroughName(t *testing.T) {
	const n = 3
	port := loopbackPort(t, n)
	res := newFakeResolver()
	var addrs []netip.Addr
	for i := 1; i <= n; i++ {
		addrs = append(addrs, netip.AddrFrom4([4]byte{127, 0, 0, byte(i)}))
	}
	res.set("seeds.hearsay.test", addrs...)
	nodes := make([]*engine.Node, n)
	for i := range nodes {
		cfg := testConfig()
		cfg.BindAddr = netip.AddrPortFrom(addrs[i], port)
		cfg.SeedNames = []string{fmt.Sprintf("seeds.hearsay.test:%d", port)}
		cfg.Resolver = res
		nodes[i] = startNodes(t, 1, cfg)[0]
	}
	cfg := testConfig()
	ctx, cancel := context.WithTimeout(context.Background(), bound(cfg, 40))
	defer cancel()
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i, nd := range nodes {
		wg.Go(func() { errs[i] = nd.Join(ctx) })
	}
	wg.Wait()
	for i, err := range errs {
		// A node may find the others' answers later than its own Join to
		// them, or find only itself among the first addresses it reaches.
		if err != nil && !errors.Is(err, engine.ErrNoSeeds) {
			t.Fatalf("node %d: Join = %v", i, err)
		}
	}
	waitFor(t, bound(cfg, 40), "all see all", func() (bool, string) { return converged(nodes, n) })
	if c := res.count("seeds.hearsay.test"); c < n {
		t.Errorf("the name was looked up %d times, want at least once per node (%d)", c, n)
	}
}

// TestSeedNameFollowed joins a node through an SRV name whose target is a
// member of one cluster, then points the name at a node of another
// cluster: at its next re-contact the node resolves the name again,
// contacts the new target, and the two clusters merge.
func TestSeedNameFollowed(t *testing.T) {
	cfg := testConfig()
	cfg.SeedInterval = 4 * cfg.HeartbeatInterval
	first := startNodes(t, 1, cfg)[0]
	second := startNodes(t, 1, cfg)[0]
	res := newFakeResolver()
	res.set("first.hearsay.test", first.Addr().Addr())
	res.set("second.hearsay.test", second.Addr().Addr())
	const name = "_gossip._udp.hearsay.test"
	res.setSRV(name, &net.SRV{Target: "first.hearsay.test.", Port: first.Addr().Port()})

	jc := cfg
	jc.Resolver = res
	joiner := startNodes(t, 1, jc)[0]
	ctx, cancel := context.WithTimeout(context.Background(), bound(cfg, 40))
	defer cancel()
	if err := joiner.JoinSeeds(ctx, name); err != nil {
		t.Fatalf("JoinSeeds(%s) = %v", name, err)
	}
	if _, ok := first.Member(joiner.ID()); !ok {
		t.Fatalf("the first cluster does not know the joiner")
	}
	lookups := res.count(name)
	res.setSRV(name, &net.SRV{Target: "second.hearsay.test.", Port: second.Addr().Port()})
	all := []*engine.Node{first, second, joiner}
	waitFor(t, bound(cfg, 80), "the clusters merge through the renamed seed", func() (bool, string) { return converged(all, 3) })
	if c := res.count(name); c <= lookups {
		t.Errorf("the SRV name was looked up %d times in all, %d before it changed: want again", c, lookups)
	}
}
