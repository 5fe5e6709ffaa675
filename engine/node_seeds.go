package engine

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Resolver looks up the addresses behind seed names. *net.Resolver
// implements it; Config.Resolver nil means net.DefaultResolver. Tests and
// programs with their own discovery inject another.
type Resolver interface {
	// LookupNetIP returns the addresses of host; network is "ip".
	LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error)
	// LookupSRV returns the targets of an SRV name; service and proto are
	// empty and name is the full name (as _gossip._udp.example.com).
	LookupSRV(ctx context.Context, service, proto, name string) (string, []*net.SRV, error)
}

// ErrInvalidSeed is wrapped by the errors about a seed that is neither
// "host:port", "ip:port" nor an SRV name.
var ErrInvalidSeed = errors.New("hearsay: invalid seed")

// Bounds of seed resolution: a name (or an SRV name's targets together)
// yields at most maxSeedAddrs addresses, a node holds at most maxSeeds seeds
// as given and maxSeeds addresses, and a round of resolution takes at most
// resolveTimeout.
const (
	maxSeedAddrs   = 16
	maxSeeds       = 64
	resolveTimeout = 5 * time.Second
	// resolveLogInterval is the least time between two log lines about one
	// seed name that does not resolve.
	resolveLogInterval = 5 * time.Minute
)

// seed is one seed as given: an address, a host name and port, or an SRV
// name.
type seed struct {
	text string
	addr netip.AddrPort // an address literal; invalid for a name
	host string         // a host name, or an SRV name when srv
	port uint16
	srv  bool
}

func (s seed) name() bool { return !s.addr.IsValid() }

// parseSeed parses "ip:port", "[ipv6]:port", "host:port" or an SRV name
// ("_service._proto.name", without a port).
func parseSeed(s string) (seed, error) {
	bad := func(why string) (seed, error) {
		return seed{}, fmt.Errorf("%w %q: %s", ErrInvalidSeed, s, why)
	}
	if ap, err := netip.ParseAddrPort(s); err == nil {
		a := ap.Addr().Unmap()
		switch {
		case ap.Port() == 0:
			return bad("port 0")
		case a.IsUnspecified():
			return bad("unspecified address")
		case a.Zone() != "":
			return bad("zoned addresses are not supported")
		}
		return seed{text: s, addr: netip.AddrPortFrom(a, ap.Port())}, nil
	}
	host, port, err := net.SplitHostPort(s)
	if err != nil {
		if strings.HasPrefix(s, "_") && validName(s) {
			return seed{text: s, host: strings.TrimSuffix(s, "."), srv: true}, nil
		}
		return bad("want host:port, ip:port, [ipv6]:port or an SRV name (_service._proto.name)")
	}
	p, err := strconv.ParseUint(port, 10, 16)
	if err != nil || p == 0 {
		return bad("bad port")
	}
	if _, err := netip.ParseAddr(host); err == nil || strings.Contains(host, ":") {
		return bad("bad address")
	}
	if !validName(host) {
		return bad("bad host name")
	}
	return seed{text: s, host: strings.TrimSuffix(host, "."), port: uint16(p)}, nil
}

// validName reports whether s can be a DNS name: at most 253 bytes of
// labels of 1 to 63 letters, digits, '-' and '_', joined by dots.
func validName(s string) bool {
	s = strings.TrimSuffix(s, ".")
	if s == "" || len(s) > 253 {
		return false
	}
	for label := range strings.SplitSeq(s, ".") {
		if label == "" || len(label) > 63 {
			return false
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
				return false
			}
		}
	}
	return true
}

// parseSeeds parses every seed and reports every invalid one.
func parseSeeds(texts []string) ([]seed, error) {
	if len(texts) > maxSeeds {
		return nil, fmt.Errorf("%w: %d seeds, at most %d", ErrInvalidSeed, len(texts), maxSeeds)
	}
	var errs []error
	out := make([]seed, 0, len(texts))
	for _, t := range texts {
		s, err := parseSeed(t)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		out = append(out, s)
	}
	return out, errors.Join(errs...)
}

// seedState is a node's seeds: the list as given, and what each name
// resolved to last.
type seedState struct {
	mu       sync.Mutex
	list     []seed
	resolved map[string][]netip.AddrPort // by seed text; the last successful lookup
	logged   map[string]time.Time        // by seed text: the last line about a failure
	running  bool                        // the resolver goroutine runs
	stopped  bool                        // Close began: no resolver starts
	kick     chan struct{}               // wakes the resolver goroutine
}

// initSeeds takes the configured seeds. Addresses go to the core at once;
// names are resolved by the goroutine startLoops starts. It runs before the
// node's goroutines start.
func (n *Node) initSeeds() error {
	list := make([]seed, 0, len(n.cfg.Seeds)+len(n.cfg.SeedNames))
	for _, a := range n.cfg.Seeds {
		list = append(list, seed{text: a.String(), addr: a})
	}
	named, err := parseSeeds(n.cfg.SeedNames)
	if err != nil {
		return err
	}
	n.seeds.kick = make(chan struct{}, 1)
	n.seeds.resolved = make(map[string][]netip.AddrPort)
	n.seeds.logged = make(map[string]time.Time)
	n.seeds.list = append(list, named...)
	n.core.SetSeeds(n.now(), n.seedAddrs())
	return nil
}

// SetSeeds replaces the node's seeds: what Join contacts and what the node
// re-contacts every Config.SeedInterval once joined, so that logical
// partitions heal. A seed is "ip:port", "[ipv6]:port", "host:port" or an
// SRV name ("_gossip._udp.db.ns.svc", whose targets give the ports). Names
// are resolved by the node, in the background: at once, then again shortly
// before every re-contact, so that a name whose addresses change is
// followed. A name that stops resolving keeps its last addresses. Each name
// yields at most 16 addresses, of the families the node's socket can
// reach; the node's own address is skipped.
//
// An invalid seed changes nothing and returns an error matching
// ErrInvalidSeed. After Close it returns ErrClosed.
func (n *Node) SetSeeds(seeds ...string) error {
	list, err := parseSeeds(seeds)
	if err != nil {
		return opError("set seeds", err)
	}
	return n.setSeeds(list)
}

// setSeeds makes list the node's seeds and hands the addresses known now to
// the core.
func (n *Node) setSeeds(list []seed) error {
	n.seeds.mu.Lock()
	n.seeds.list = list
	n.seeds.mu.Unlock()
	addrs := n.seedAddrs()
	if err := n.do(func(now Time) { n.core.SetSeeds(now, addrs) }); err != nil {
		return err
	}
	n.startResolver()
	return nil
}

// Seeds returns the node's seeds as given (Config.Seeds and SeedNames, or
// those of the last SetSeeds or Join with seeds).
func (n *Node) Seeds() []string {
	n.seeds.mu.Lock()
	defer n.seeds.mu.Unlock()
	out := make([]string, len(n.seeds.list))
	for i, s := range n.seeds.list {
		out[i] = s.text
	}
	return out
}

// seedAddrs returns the addresses of the seeds: the literal ones and those
// the names resolved to last, without repetitions, in random order (the
// core re-contacts seeds among the first 16), at most maxSeeds.
func (n *Node) seedAddrs() []netip.AddrPort {
	n.seeds.mu.Lock()
	defer n.seeds.mu.Unlock()
	var out []netip.AddrPort
	for _, s := range n.seeds.list {
		if !s.name() {
			if n.reachable(s.addr.Addr()) && !slices.Contains(out, s.addr) {
				out = append(out, s.addr)
			}
			continue
		}
		for _, a := range n.seeds.resolved[s.text] {
			if !slices.Contains(out, a) {
				out = append(out, a)
			}
		}
	}
	rand.Shuffle(len(out), func(i, j int) { out[i], out[j] = out[j], out[i] })
	if len(out) > maxSeeds {
		out = out[:maxSeeds]
	}
	return out
}

// names returns the seeds that need resolution.
func (n *Node) names() []seed {
	n.seeds.mu.Lock()
	defer n.seeds.mu.Unlock()
	var out []seed
	for _, s := range n.seeds.list {
		if s.name() {
			out = append(out, s)
		}
	}
	return out
}

// reachable reports whether the node's socket can send to a.
func (n *Node) reachable(a netip.Addr) bool {
	local := n.conn.LocalAddr().Addr()
	switch {
	case local.Is4() || local.Is4In6():
		return a.Is4()
	case n.cfg.DualStack:
		return true
	default:
		return a.Is6() && !a.Is4In6()
	}
}

// resolveSeeds looks up every name seed, within ctx and resolveTimeout,
// and keeps what each resolved to. It reports whether any name yielded an
// address and the errors of those that did not.
func (n *Node) resolveSeeds(ctx context.Context) (found bool, err error) {
	names := n.names()
	if len(names) == 0 {
		return false, nil
	}
	ctx, cancel := context.WithTimeout(ctx, resolveTimeout)
	defer cancel()
	r := n.cfg.Resolver
	if r == nil {
		r = net.DefaultResolver
	}
	var errs []error
	for _, s := range names {
		addrs, err := n.lookup(ctx, r, s)
		if err != nil {
			errs = append(errs, err)
			n.logResolveFailure(s, err)
			continue
		}
		found = true
		n.seeds.mu.Lock()
		n.seeds.resolved[s.text] = addrs
		delete(n.seeds.logged, s.text)
		n.seeds.mu.Unlock()
	}
	return found, errors.Join(errs...)
}

// lookup resolves one name seed to at most maxSeedAddrs addresses the
// socket can reach.
func (n *Node) lookup(ctx context.Context, r Resolver, s seed) ([]netip.AddrPort, error) {
	return lookupSeed(ctx, r, s, n.reachable)
}

// lookupSeed resolves one name seed to at most maxSeedAddrs distinct
// addresses for which reach holds. What the resolver returns comes from
// the network and may be forged or huge: SRV targets beyond maxSeedAddrs,
// targets without a port or name, and unspecified addresses are ignored.
func lookupSeed(ctx context.Context, r Resolver, s seed, reach func(netip.Addr) bool) ([]netip.AddrPort, error) {
	type target struct {
		host string
		port uint16
	}
	targets := []target{{s.host, s.port}}
	if s.srv {
		_, srvs, err := r.LookupSRV(ctx, "", "", s.host)
		if err != nil {
			return nil, fmt.Errorf("seed %s: %w", s.text, err)
		}
		targets = targets[:0]
		for _, v := range srvs {
			if v == nil || v.Port == 0 || v.Target == "" || v.Target == "." {
				continue
			}
			targets = append(targets, target{strings.TrimSuffix(v.Target, "."), v.Port})
			if len(targets) == maxSeedAddrs {
				break
			}
		}
		if len(targets) == 0 {
			return nil, fmt.Errorf("seed %s: no SRV targets", s.text)
		}
	}
	var out []netip.AddrPort
	var errs []error
	for _, t := range targets {
		ips, err := r.LookupNetIP(ctx, "ip", t.host)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		for _, ip := range ips {
			ip = ip.Unmap()
			a := netip.AddrPortFrom(ip, t.port)
			if !reach(ip) || ip.IsUnspecified() || slices.Contains(out, a) {
				continue
			}
			out = append(out, a)
			if len(out) == maxSeedAddrs {
				return out, nil
			}
		}
	}
	if len(out) == 0 {
		if err := errors.Join(errs...); err != nil {
			return nil, fmt.Errorf("seed %s: %w", s.text, err)
		}
		return nil, fmt.Errorf("seed %s: no address this node's socket can reach", s.text)
	}
	return out, nil
}

// logResolveFailure logs that a name did not resolve, at most once per
// resolveLogInterval per name.
func (n *Node) logResolveFailure(s seed, err error) {
	now := time.Now()
	n.seeds.mu.Lock()
	last, ok := n.seeds.logged[s.text]
	if ok && now.Sub(last) < resolveLogInterval {
		n.seeds.mu.Unlock()
		return
	}
	n.seeds.logged[s.text] = now
	kept := len(n.seeds.resolved[s.text])
	n.seeds.mu.Unlock()
	n.log.Warn("a seed name did not resolve; the node keeps the addresses it resolved to before, if any, and tries again before the next re-contact",
		slog.String("seed", s.text), slog.Any("err", err), slog.Int("kept", kept))
}

// startResolver starts the goroutine that resolves the seed names, once,
// if there are names to resolve, and wakes it.
func (n *Node) startResolver() {
	if len(n.names()) == 0 {
		return
	}
	n.seeds.mu.Lock()
	start := !n.seeds.running && !n.seeds.stopped
	if start {
		n.seeds.running = true
		n.wg.Add(1)
	}
	n.seeds.mu.Unlock()
	if start {
		go n.resolveLoop()
	}
	select {
	case n.seeds.kick <- struct{}{}:
	default:
	}
}

// resolveLoop resolves the seed names when woken and shortly before each
// re-contact of a seed, and hands the addresses to the core. Resolution
// runs here, never on the core's goroutine.
func (n *Node) resolveLoop() {
	defer n.wg.Done()
	t := time.NewTimer(time.Hour)
	defer t.Stop()
	for {
		select {
		case <-n.closing:
			return
		case <-t.C:
		case <-n.seeds.kick:
		}
		if _, err := n.resolveSeeds(n.life); err != nil && n.closed.Load() {
			return
		}
		addrs := n.seedAddrs()
		var due Time
		if err := n.do(func(now Time) {
			n.core.SetSeeds(now, addrs)
			due = n.core.SeedContactDue()
		}); err != nil {
			return
		}
		// Resolve again before the next re-contact, leaving the lookup
		// time to finish.
		lead := min(resolveTimeout, n.cfg.SeedInterval/2)
		t.Reset(max(due.Sub(n.now())-lead, n.cfg.SeedInterval/4))
	}
}

// seedsForJoin returns the addresses to join through: the seeds' addresses,
// with the names resolved now. While no seed has an address (names that do
// not resolve yet) it retries, with doubling waits, until ctx ends.
func (n *Node) seedsForJoin(ctx context.Context) ([]netip.AddrPort, error) {
	wait := 250 * time.Millisecond
	for {
		_, rerr := n.resolveSeeds(ctx)
		addrs := n.seedAddrs()
		if len(addrs) > 0 || len(n.names()) == 0 {
			return addrs, nil
		}
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			if rerr == nil {
				rerr = errors.New("no address")
			}
			return nil, errorf("join: %w: no seed name resolved to an address the node can reach (%w): %w", ErrNoSeedAnswered, rerr, ctx.Err())
		case <-n.loopDone:
			t.Stop()
			return nil, ErrClosed
		}
		wait = min(2*wait, resolveTimeout)
	}
}
