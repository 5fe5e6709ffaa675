package netns

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// seedName is the host name the names scenario gives every agent as its
// only seed. Each host namespace resolves it, through its own /etc/hosts,
// to the addresses of the seed hosts, as a Kubernetes headless Service's
// name resolves to its pods.
const seedName = "seeds.hearsay.test"

// etcNetns is where ip netns exec finds files to mount over /etc in the
// namespace it enters: /etc/netns/<namespace>/hosts becomes /etc/hosts
// for the agent it starts there, and so for the system resolver.
const etcNetns = "/etc/netns"

// writeHosts gives every host namespace of the suite an /etc/hosts that
// resolves name to addrs, removed when the test ends.
func (s *suite) writeHosts(t *testing.T, name string, addrs []netip.Addr) {
	t.Helper()
	var b strings.Builder
	b.WriteString("# written by Hearsay's test/netns for one scenario; removed after it\n127.0.0.1 localhost\n::1 localhost\n")
	for _, a := range addrs {
		fmt.Fprintf(&b, "%v %s\n", a, name)
	}
	createdRoot := false
	if _, err := os.Stat(etcNetns); errors.Is(err, fs.ErrNotExist) {
		createdRoot = true
	}
	t.Cleanup(func() {
		for _, hn := range s.topo.hosts {
			if err := os.RemoveAll(filepath.Join(etcNetns, hn.ns)); err != nil {
				t.Errorf("removing the namespace's hosts file: %v", err)
			}
		}
		if createdRoot {
			os.Remove(etcNetns) // only when empty: others may have put theirs there since
		}
	})
	for _, hn := range s.topo.hosts {
		dir := filepath.Join(etcNetns, hn.ns)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatalf("a hosts file for namespace %s: %v", hn.ns, err)
		}
		if err := os.WriteFile(filepath.Join(dir, "hosts"), []byte(b.String()), 0o644); err != nil {
			t.Fatalf("a hosts file for namespace %s: %v", hn.ns, err)
		}
	}
}

// names: every agent's only seed is seedName:7946, a name that resolves to
// the three seed hosts' addresses, host 0's first. Host 0 is not started:
// the seven others find each other through the two addresses of the name
// that answer, and list each other alive within Converge. Then host 0
// starts, its own address skipped, and every member lists all eight alive
// within Join. Each agent's /config shows the name as its seed and no
// address.
func (s *suite) names(t *testing.T) {
	if err := s.topo.reset(); err != nil {
		t.Fatalf("resetting the network: %v", err)
	}
	var addrs []netip.Addr
	for _, i := range seedHosts {
		addrs = append(addrs, s.topo.hosts[i].v4)
	}
	s.writeHosts(t, seedName, addrs)
	dir := t.TempDir()
	c := &cluster{s: s, seeds: []string{net.JoinHostPort(seedName, "7946")}}
	for i, hn := range s.topo.hosts {
		c.hosts = append(c.hosts, newHost(i, hn, dir, false))
	}
	t.Cleanup(func() { c.stop(t) })
	first, rest := c.hosts[0], c.hosts[1:]
	launched := time.Now()
	for _, h := range rest {
		if err := h.start(s.bin, c.args(h)); err != nil {
			t.Fatalf("starting %v: %v", h, err)
		}
	}
	up := c.waitUp(t, rest...)
	timings.add("startup", up.Sub(launched), 0)
	for _, h := range rest {
		var cfg struct {
			Seeds     []string `json:"seeds"`
			SeedNames []string `json:"seed_names"`
		}
		if _, err := h.getJSON("/config", &cfg); err != nil {
			t.Fatal(err)
		}
		if len(cfg.Seeds) != 0 || !slices.Equal(cfg.SeedNames, c.seeds) {
			t.Fatalf("%v: /config seeds %q, seed_names %q; want none and %q", h, cfg.Seeds, cfg.SeedNames, c.seeds)
		}
	}
	took := waitAll(t, "names: seven converge through a name whose first address is down", up, s.b.Converge, rest,
		sees(rest, "alive", aliveAtCurrentGen))
	timings.add("names", took, s.b.Converge)

	up = c.start(t, first)
	took = waitAll(t, "names: the first seed host joins through the name", up, s.b.Join, c.hosts,
		sees(c.hosts, "alive", aliveAtCurrentGen))
	timings.add("names-join", took, s.b.Join)
}
