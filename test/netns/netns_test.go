package netns

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// hosts is the cluster size of every scenario.
const hosts = 8

// maxRuns bounds HEARSAY_NETNS_RUNS.
const maxRuns = 20

// suite is one TestNetns: the agent binary, the network, the key file and
// the bounds, shared by its scenarios.
type suite struct {
	bin     string
	keyFile string
	topo    *topo
	tm      *timing // from the first cluster's /config
	b       bounds
}

// TestNetns runs the multi-host scenarios: eight hearsayd processes, one per
// network namespace, on a bridged namespace network; see the package
// documentation. It needs HEARSAY_NETNS=1, root and iproute2, and skips
// with the reason only without HEARSAY_NETNS=1 or without root. As root,
// a network it cannot build fails the test: without the ip command, or
// with the ip command's error. HEARSAY_NETNS_RUNS=n repeats the scenarios
// n times (default 1) and the summary gives each one's median and maximum;
// -count=n does the same, one network per run.
func TestNetns(t *testing.T) {
	if os.Getenv("HEARSAY_NETNS") != "1" {
		t.Skip("SKIP: multi-host namespace tests are off; run them with HEARSAY_NETNS=1 (needs root and iproute2)")
	}
	if os.Geteuid() != 0 {
		t.Skipf("SKIP: multi-host namespace tests need root to create network namespaces (euid %d)", os.Geteuid())
	}
	if _, err := exec.LookPath("ip"); err != nil {
		t.Fatalf("setting up the namespace network as root: the multi-host tests need the ip command (iproute2): %v", err)
	}
	runs := 1
	if s := os.Getenv("HEARSAY_NETNS_RUNS"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > maxRuns {
			t.Fatalf("HEARSAY_NETNS_RUNS=%q: want 1 to %d", s, maxRuns)
		}
		runs = n
	}
	began := time.Now()
	s := &suite{}
	// Registered before the network and the agents, so it runs after
	// their cleanups: nothing of this run may remain.
	t.Cleanup(func() {
		if left := checkClean(fmt.Sprintf("hs-%d-", os.Getpid()), s.bin); len(left) > 0 {
			t.Errorf("left behind after cleanup:\n%s", strings.Join(left, "\n"))
		} else {
			t.Logf("clean: no namespace, interface or agent process of this run remains (ip netns list, ip link, /proc)")
		}
	})
	sweepStale(t)
	s.topo = newTopo(t, hosts) // fails, as root, when the machine cannot
	dir := t.TempDir()
	s.bin = buildAgent(t, dir)
	s.keyFile = writeKey(t, dir)

	for r := 1; r <= runs; r++ {
		t.Run(fmt.Sprintf("run%d", r), func(t *testing.T) {
			t.Run("kill", s.kill)
			t.Run("link", s.link)
			t.Run("split", s.split)
			t.Run("restart", s.restart)
			t.Run("ipv6", s.ipv6)
			t.Run("names", s.names)
		})
	}
	t.Logf("%d run(s) in %v\n%s", runs, time.Since(began).Round(time.Second), timings.summary())
}

// buildAgent builds cmd/hearsayd into dir.
func buildAgent(t *testing.T, dir string) string {
	t.Helper()
	goCmd := filepath.Join(runtime.GOROOT(), "bin", "go")
	if _, err := os.Stat(goCmd); err != nil {
		goCmd = "go"
	}
	bin := filepath.Join(dir, "hearsayd")
	start := time.Now()
	out, err := exec.Command(goCmd, "build", "-o", bin, "github.com/hearsay-io/hearsay/cmd/hearsayd").CombinedOutput()
	if err != nil {
		t.Fatalf("building hearsayd: %v\n%s", err, out)
	}
	t.Logf("built %s in %v", bin, time.Since(start).Round(time.Millisecond))
	return bin
}

// writeKey writes a random AES-256 key file: the agents seal every
// datagram, as a production cluster should.
func writeKey(t *testing.T, dir string) string {
	t.Helper()
	k := make([]byte, 32)
	rand.Read(k)
	p := filepath.Join(dir, "keys")
	if err := os.WriteFile(p, []byte(hex.EncodeToString(k)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// cluster is one scenario's eight agents.
type cluster struct {
	s     *suite
	hosts []*host
	seeds []string
	v6    bool
}

// seedHosts are the hosts every agent lists as seeds: spread over the
// network, so that every side of a split keeps one.
var seedHosts = []int{0, 3, 6}

// args returns hearsayd's command line for h.
func (c *cluster) args(h *host) []string {
	return []string{
		"-bind", h.addr.String(),
		"-seeds", strings.Join(c.seeds, ","),
		"-preset", "local",
		"-cluster", "netns-test",
		"-key-file", c.s.keyFile,
		"-id-file", h.idFile,
		"-http", "unix:" + h.sock,
		"-log-level", "info",
		"-leave-timeout", "3s",
	}
}

// start launches h's agent and waits until it answers, recording its ID
// and generation. It returns when the agent answered.
func (c *cluster) start(t *testing.T, h *host) time.Time {
	t.Helper()
	if err := h.start(c.s.bin, c.args(h)); err != nil {
		t.Fatalf("starting %v: %v", h, err)
	}
	return c.waitUp(t, h)
}

// waitUp waits, for all hosts at once, until each agent answers /config,
// records each one's ID and generation, and returns when the last one
// answered.
func (c *cluster) waitUp(t *testing.T, hs ...*host) time.Time {
	t.Helper()
	type answer struct {
		cfg agentConfig
		at  time.Time
		err error
	}
	answers := make([]answer, len(hs))
	var wg sync.WaitGroup
	for k, h := range hs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			a := &answers[k]
			a.err = h.awaitConfig(&a.cfg)
			a.at = time.Now()
		}()
	}
	wg.Wait()
	var last time.Time
	for k, h := range hs {
		a := &answers[k]
		if a.err != nil {
			t.Fatalf("%v: %v; log:\n%s", h, a.err, h.logTail(30))
		}
		h.id, h.gen = a.cfg.ID, a.cfg.Generation
		c.s.checkTiming(t, &a.cfg)
		if a.at.After(last) {
			last = a.at
		}
	}
	return last
}

// checkTiming derives the bounds from the first agent's configuration and
// checks that every later agent runs the same.
func (s *suite) checkTiming(t *testing.T, cfg *agentConfig) {
	t.Helper()
	tm, err := cfg.timing()
	if err != nil {
		t.Fatalf("reading /config: %v", err)
	}
	if s.tm == nil {
		resolve, err := s.topo.neighRetrans(0)
		if err != nil {
			t.Fatalf("reading the address-resolution retransmit time: %v", err)
		}
		s.tm = &tm
		s.b = computeBounds(tm, hosts, resolve)
		t.Logf("agents run heartbeat %v, probe %v/%v, suspicion %v..%v; %v",
			tm.HeartbeatInterval, tm.ProbeTimeout, tm.IndirectTimeout,
			tm.Suspicion.Min(hosts), tm.Suspicion.Max(hosts), s.b)
		return
	}
	if tm != *s.tm {
		t.Fatalf("an agent runs a different configuration: %+v, earlier %+v", tm, *s.tm)
	}
}

// startCluster starts eight agents on the namespace network (IPv6 when v6),
// waits until every one lists all eight alive (recorded as converge or
// converge-v6), then lets the cluster run warmBeats heartbeat periods.
func (s *suite) startCluster(t *testing.T, v6 bool) *cluster {
	t.Helper()
	if err := s.topo.reset(); err != nil {
		t.Fatalf("resetting the network: %v", err)
	}
	dir := t.TempDir()
	c := &cluster{s: s, v6: v6}
	for i, hn := range s.topo.hosts {
		c.hosts = append(c.hosts, newHost(i, hn, dir, v6))
	}
	for _, i := range seedHosts {
		c.seeds = append(c.seeds, c.hosts[i].addr.String())
	}
	t.Cleanup(func() { c.stop(t) })
	launched := time.Now()
	for _, h := range c.hosts {
		if err := h.start(s.bin, c.args(h)); err != nil {
			t.Fatalf("starting %v: %v", h, err)
		}
	}
	up := c.waitUp(t, c.hosts...)
	// Process start (exec, runtime start, socket bound, HTTP answering) is
	// not protocol time: recorded for information, with no bound.
	timings.add("startup", up.Sub(launched), 0)
	name := "converge"
	if v6 {
		name = "converge-v6"
	}
	took := waitAll(t, name, up, s.b.Converge, c.hosts, sees(c.hosts, "alive", aliveAtCurrentGen))
	timings.add(name, took, s.b.Converge)
	t.Logf("all %d agents answered %v after launch; converged %v after launch",
		hosts, up.Sub(launched).Round(time.Millisecond), time.Since(launched).Round(time.Millisecond))
	time.Sleep(warmBeats * s.tm.HeartbeatInterval)
	return c
}

// stop ends the scenario: SIGTERM to every running agent, each of which
// must leave and exit 0 within its leave timeout (plus exitSlack); agents
// still running after that are killed. On failure it prints the end of
// every host's log.
func (c *cluster) stop(t *testing.T) {
	exitBound := 10*time.Second + exitSlack // no agent answered yet
	if c.s.tm != nil {
		exitBound = c.s.tm.LeaveTimeout + exitSlack
	}
	for _, h := range c.hosts {
		if h.proc != nil && h.proc.running() {
			h.signal(syscall.SIGTERM)
		}
	}
	for _, h := range c.hosts {
		p := h.proc
		if p == nil {
			continue
		}
		if !p.wait(exitBound) {
			t.Errorf("%v: still running %v after SIGTERM; killing it", h, exitBound)
			h.signal(syscall.SIGKILL)
			if !p.wait(10 * time.Second) {
				t.Errorf("%v: did not die on SIGKILL", h)
			}
			continue
		}
		if p.err != nil && !p.killed {
			t.Errorf("%v: exit after SIGTERM: %v, want status 0", h, p.err)
		}
	}
	if t.Failed() || os.Getenv("HEARSAY_NETNS_LOGS") == "1" {
		for _, h := range c.hosts {
			t.Logf("--- %v log (last 40 lines):\n%s", h, h.logTail(40))
		}
	}
}

// others returns every host but the given ones.
func (c *cluster) others(except ...int) []*host {
	var out []*host
	for _, h := range c.hosts {
		if !slices.Contains(except, h.i) {
			out = append(out, h)
		}
	}
	return out
}

// crash kills host i's agent with SIGKILL and waits until it is gone.
func (c *cluster) crash(t *testing.T, i int) time.Time {
	t.Helper()
	h := c.hosts[i]
	at := time.Now()
	if err := h.signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	if !h.proc.wait(5 * time.Second) {
		t.Fatalf("%v: still running 5s after SIGKILL", h)
	}
	return at
}

// kill: SIGKILL one agent; every other member lists it dead within Detect.
func (s *suite) kill(t *testing.T) {
	c := s.startCluster(t, false)
	const victim = 5
	at := c.crash(t, victim)
	took := waitAll(t, "kill: dead at all others", at, s.b.Detect, c.others(victim), sees(c.hosts[victim:victim+1], "dead", state("dead")))
	timings.add("kill", took, s.b.Detect)
}

// link: cut one host's link at the switch; every other member lists it
// dead within Detect. Restore it; every member, itself included, lists
// all eight alive within Heal.
func (s *suite) link(t *testing.T) {
	c := s.startCluster(t, false)
	const victim = 7
	v := c.hosts[victim]
	at := time.Now()
	if err := s.topo.linkDown(victim); err != nil {
		t.Fatal(err)
	}
	took := waitAll(t, "link down: dead at all others", at, s.b.Detect, c.others(victim), sees([]*host{v}, "dead", state("dead")))
	timings.add("link-down", took, s.b.Detect)

	at = time.Now()
	if err := s.topo.linkUp(victim); err != nil {
		t.Fatal(err)
	}
	took = waitAll(t, "link up: all alive at all", at, s.b.Heal, c.hosts, sees(c.hosts, "alive", aliveAtCurrentGen))
	timings.add("link-up", took, s.b.Heal)
}

// split: hosts 0-2 and 3-7 lose each other (their ports move to separate
// bridges); each side lists the other dead within SplitDetect. Joined
// again, every member lists all eight alive within SplitHeal.
func (s *suite) split(t *testing.T) {
	c := s.startCluster(t, false)
	a, b := c.hosts[:3], c.hosts[3:]
	at := time.Now()
	for _, h := range a {
		if err := s.topo.attach(h.i, 1); err != nil {
			t.Fatal(err)
		}
	}
	took := waitAll(t, "split 3|5: each side lists the other dead", at, s.b.SplitDetect, c.hosts, func(obs *host, v view) string {
		other := b
		if obs.i >= 3 {
			other = a
		}
		return sees(other, "dead", state("dead"))(obs, v)
	})
	timings.add("split", took, s.b.SplitDetect)

	at = time.Now()
	for _, h := range a {
		if err := s.topo.attach(h.i, 0); err != nil {
			t.Fatal(err)
		}
	}
	took = waitAll(t, "split healed: all alive at all", at, s.b.SplitHeal, c.hosts, sees(c.hosts, "alive", aliveAtCurrentGen))
	timings.add("split-heal", took, s.b.SplitHeal)
}

// restart: SIGTERM one agent: it exits 0 and every other member lists it
// left within Leave. Start it again with the same ID file: every member
// lists it alive with the new, higher generation within Join. Then the same
// after SIGKILL (a crash and an immediate restart, so that the others still
// list the old process alive).
func (s *suite) restart(t *testing.T) {
	c := s.startCluster(t, false)
	for _, r := range []struct {
		name   string
		victim int
		sig    syscall.Signal
	}{
		{"restart", 4, syscall.SIGTERM},
		{"crash-restart", 6, syscall.SIGKILL},
	} {
		h := c.hosts[r.victim]
		id, gen := h.id, h.gen
		at := time.Now()
		if err := h.signal(r.sig); err != nil {
			t.Fatal(err)
		}
		if r.sig == syscall.SIGTERM {
			if !h.proc.wait(s.tm.LeaveTimeout + exitSlack) {
				t.Fatalf("%v: still running %v after SIGTERM", h, s.tm.LeaveTimeout+exitSlack)
			}
			if h.proc.err != nil {
				t.Errorf("%v: exit after SIGTERM: %v, want status 0", h, h.proc.err)
			}
			took := waitAll(t, "leave: left at all others", at, s.b.Leave, c.others(r.victim), sees([]*host{h}, "left", state("left")))
			timings.add("leave", took, s.b.Leave)
		} else if !h.proc.wait(5 * time.Second) {
			t.Fatalf("%v: still running 5s after SIGKILL", h)
		}
		up := c.start(t, h)
		if h.id != id || h.gen <= gen {
			t.Fatalf("%v restarted as %s generation %d; want ID %s (from its ID file) and a generation above %d", h, h.id, h.gen, id, gen)
		}
		took := waitAll(t, r.name+": new generation alive at all", up, s.b.Join, c.hosts, sees([]*host{h}, "alive with the new generation", aliveAtCurrentGen))
		timings.add(r.name, took, s.b.Join)
	}
}

// ipv6: the same convergence and crash detection over IPv6 addresses.
func (s *suite) ipv6(t *testing.T) {
	c := s.startCluster(t, true)
	const victim = 2
	at := c.crash(t, victim)
	took := waitAll(t, "kill over IPv6: dead at all others", at, s.b.Detect, c.others(victim), sees(c.hosts[victim:victim+1], "dead", state("dead")))
	timings.add("kill-v6", took, s.b.Detect)
}

// timings collects every measured time, across runs and -count, by
// scenario.
var timings = &recorder{samples: map[string][]time.Duration{}, bound: map[string]time.Duration{}}

type recorder struct {
	mu      sync.Mutex
	order   []string
	samples map[string][]time.Duration
	bound   map[string]time.Duration
}

func (r *recorder) add(name string, d, bound time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.samples[name]; !ok {
		r.order = append(r.order, name)
	}
	r.samples[name] = append(r.samples[name], d)
	r.bound[name] = bound
}

// summary is a table of each scenario's median and maximum.
func (r *recorder) summary() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var b strings.Builder
	fmt.Fprintf(&b, "%-14s %3s %9s %9s %9s\n", "scenario", "n", "median", "max", "bound")
	for _, name := range r.order {
		ds := slices.Clone(r.samples[name])
		sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
		med := ds[len(ds)/2]
		if len(ds)%2 == 0 {
			med = (ds[len(ds)/2-1] + ds[len(ds)/2]) / 2
		}
		bound := "-"
		if d := r.bound[name]; d > 0 {
			bound = d.Round(time.Millisecond).String()
		}
		fmt.Fprintf(&b, "%-14s %3d %9v %9v %9s\n", name, len(ds),
			med.Round(time.Millisecond), ds[len(ds)-1].Round(time.Millisecond), bound)
	}
	return b.String()
}
