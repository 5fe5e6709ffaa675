package hearsay_test

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/hearsay-io/hearsay"
)

// switchResolver resolves names from maps the test changes, and counts the
// lookups; it never touches the network.
type switchResolver struct {
	mu    sync.Mutex
	hosts map[string][]netip.Addr
	srvs  map[string][]*net.SRV
	calls map[string]int
}

func (r *switchResolver) LookupNetIP(_ context.Context, _, host string) ([]netip.Addr, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls[host]++
	if a, ok := r.hosts[host]; ok {
		return slices.Clone(a), nil
	}
	return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
}

func (r *switchResolver) LookupSRV(_ context.Context, _, _, name string) (string, []*net.SRV, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls[name]++
	if s, ok := r.srvs[name]; ok {
		return name, slices.Clone(s), nil
	}
	return "", nil, &net.DNSError{Err: "no such host", Name: name, IsNotFound: true}
}

// TestSeedNameFollowed joins a node through an SRV name whose target is a
// member of one cluster, then points the name at a member of another: the
// node resolves the name again before its next re-contact of a seed,
// contacts the new target, and the two clusters become one.
func TestSeedNameFollowed(t *testing.T) {
	cfg := hearsay.DefaultLocalConfig()
	cfg.BindAddr = netip.MustParseAddrPort("127.0.0.1:0")
	cfg.Keys = [][]byte{exampleKey}
	cfg.Logger = slog.New(slog.DiscardHandler)
	cfg.SeedInterval = time.Second
	var nodes []*hearsay.Node
	start := func(cfg hearsay.Config) *hearsay.Node {
		nd, err := hearsay.NewNode(cfg)
		if err != nil {
			t.Fatal(err)
		}
		nodes = append(nodes, nd)
		t.Cleanup(func() { nd.Close() })
		return nd
	}
	first, second := start(cfg), start(cfg)
	const name = "_gossip._udp.hearsay.test"
	res := &switchResolver{
		hosts: map[string][]netip.Addr{"first.test": {first.Addr().Addr()}, "second.test": {second.Addr().Addr()}},
		srvs:  map[string][]*net.SRV{name: {{Target: "first.test.", Port: first.Addr().Port()}}},
		calls: map[string]int{},
	}
	cfg.Resolver = res
	joiner := start(cfg)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := joiner.Join(ctx, name); err != nil {
		t.Fatalf("Join(%s) = %v", name, err)
	}
	res.mu.Lock()
	res.srvs[name] = []*net.SRV{{Target: "second.test.", Port: second.Addr().Port()}}
	before := res.calls[name]
	res.mu.Unlock()

	deadline := time.Now().Add(30 * time.Second)
	for {
		status := ""
		for i, nd := range nodes {
			if c := nd.Counts(); c.Live() != 3 {
				status += fmt.Sprintf(" node %d sees %+v;", i, c)
			}
		}
		if status == "" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the clusters did not merge through the renamed seed:%s", status)
		}
		time.Sleep(20 * time.Millisecond)
	}
	res.mu.Lock()
	defer res.mu.Unlock()
	if res.calls[name] <= before {
		t.Errorf("%s looked up %d times, %d before it changed: want again", name, res.calls[name], before)
	}
}
