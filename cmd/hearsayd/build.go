package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/hearsay-io/hearsay"
)

// settings is what the agent runs with: the node's configuration and the
// agent's own settings, checked.
type settings struct {
	cfg          hearsay.Config
	preset       string
	http         listenAddr // zero: no HTTP server
	state        map[string]string
	leaveTimeout time.Duration
	keyFile      string // the key file SIGHUP re-reads; empty for an open cluster
	configFile   string // the JSON config file read, if any (for /config)
	idFile       string // the ID file, if any (for /config)
	logLevel     string // as given (for /config)
	logFormat    string // as given (for /config)
	idCreated    bool   // the ID file was created by this start
	keyWarning   string // a problem with the key file worth a log line
}

// listenAddr is where the HTTP server listens: network "tcp" or "unix".
type listenAddr struct {
	network, address string
}

func (l listenAddr) String() string {
	if l.network == "unix" {
		return "unix:" + l.address
	}
	return l.address
}

// systemResolver is the running agent's resolver, for the -advertise name
// and the -seeds names: the system's. Tests give build another.
var systemResolver hearsay.Resolver = net.DefaultResolver

// presetConfig returns the engine preset named by s.
func presetConfig(s string) (hearsay.Config, error) {
	switch strings.ToLower(s) {
	case "lan", "":
		return hearsay.DefaultLANConfig(), nil
	case "wan":
		return hearsay.DefaultWANConfig(), nil
	case "local":
		return hearsay.DefaultLocalConfig(), nil
	}
	return hearsay.Config{}, fmt.Errorf("preset: want lan, wan or local, got %q", s)
}

// build checks o and turns it into settings: it parses addresses, resolves
// the advertise host name, reads the key file and reads or creates the ID
// file. It reports every problem at once. Seed addresses are checked
// against the socket's family; seed names are checked for syntax and
// resolved by the node, with lookup, again before every re-contact.
func (o options) build(ctx context.Context, lookup hearsay.Resolver) (settings, error) {
	var errs []error
	fail := func(err error) { errs = append(errs, err) }

	s := settings{preset: strings.ToLower(o.Preset), state: o.State, leaveTimeout: o.LeaveTimeout,
		configFile: o.Config, idFile: o.IDFile, logLevel: strings.ToLower(o.LogLevel), logFormat: strings.ToLower(o.LogFormat)}
	cfg, err := presetConfig(o.Preset)
	if err != nil {
		fail(err)
		cfg = hearsay.DefaultLANConfig()
	}
	cfg.Logger = nil // set by the caller

	bind, err := parseBind(o.Bind)
	if err != nil {
		fail(err)
	}
	cfg.BindAddr = bind
	cfg.DualStack = o.DualStack
	if o.DualStack && bind.IsValid() && !bind.Addr().Is6() {
		fail(fmt.Errorf("dual-stack: needs an IPv6 bind address, got %v", bind))
	}
	fam := family{v4: bind.Addr().Is4() || (bind.Addr().Is6() && o.DualStack), v6: bind.Addr().Is6()}
	if !bind.IsValid() {
		fam = family{v4: true, v6: true} // reported above; do not cascade
	}

	if o.Advertise != "" {
		addrs, err := resolveAddrPort(ctx, lookup, o.Advertise, fam)
		switch {
		case err != nil:
			fail(fmt.Errorf("advertise: %w", err))
		case addrs[0].Addr().IsUnspecified() || addrs[0].Port() == 0:
			fail(fmt.Errorf("advertise: want a specific address and port, got %v", addrs[0]))
		default:
			cfg.AdvertiseAddr = addrs[0]
		}
	}
	cfg.Resolver = lookup
	for _, seed := range o.Seeds {
		if _, err := netip.ParseAddrPort(seed); err == nil {
			addrs, err := resolveAddrPort(ctx, lookup, seed, fam)
			if err != nil {
				fail(fmt.Errorf("seeds: %w", err))
			} else if !containsAddrPort(cfg.Seeds, addrs[0]) {
				cfg.Seeds = append(cfg.Seeds, addrs[0])
			}
			continue
		}
		if err := checkSeedName(seed); err != nil {
			fail(fmt.Errorf("seeds: %w", err))
		} else if !slices.Contains(cfg.SeedNames, seed) {
			cfg.SeedNames = append(cfg.SeedNames, seed) // resolved by the node
		}
	}
	if o.Cluster != "" {
		cfg.ClusterName = o.Cluster
	}
	switch {
	case o.KeyFile != "" && o.Open:
		fail(errOpenWithKeys)
	case o.KeyFile != "":
		keys, warn, err := readKeyFile(o.KeyFile)
		if err != nil {
			fail(err)
		}
		cfg.Keys, s.keyWarning, s.keyFile = keys, warn, o.KeyFile
	case o.Open:
		cfg.Open = true
	default:
		fail(errNoKeys)
	}
	switch {
	case o.MaxMembers < 0:
		fail(fmt.Errorf("max-members: want 0 (the engine's default) or a positive bound, got %d", o.MaxMembers))
	case o.MaxMembers > 0:
		cfg.MaxMembers = o.MaxMembers
	}
	cfg.Name = o.Name
	if cfg.Name == "" {
		cfg.Name = hostName()
	}
	if s.http, err = parseHTTPAddr(o.HTTP); err != nil {
		fail(err)
	}
	if o.LeaveTimeout <= 0 {
		fail(fmt.Errorf("leave-timeout: must be positive, got %v", o.LeaveTimeout))
	}
	for _, k := range sortedKeys(o.State) {
		if len(k) == 0 || len(k) > hearsay.MaxStateKeySize {
			fail(fmt.Errorf("state: key %q must be 1 to %d bytes", k, hearsay.MaxStateKeySize))
		}
		if v := o.State[k]; len(v) > hearsay.MaxStateValueSize {
			fail(fmt.Errorf("state: value of %q must be at most %d bytes, got %d", k, hearsay.MaxStateValueSize, len(v)))
		}
	}
	if _, err := parseLevel(o.LogLevel); err != nil {
		fail(err)
	}
	// The engine checks the rest (key sizes, address sanity) and reports
	// every problem too; whether keys or -open are given is checked above,
	// in the agent's terms.
	if err := withoutFields(cfg.Validate(), "Keys", "Open"); err != nil {
		fail(err)
	}
	// The ID file is written only when everything else is valid, so that a
	// mistyped command line creates nothing.
	if len(errs) == 0 {
		id, created, err := loadID(o.ID, o.IDFile)
		if err != nil {
			fail(err)
		}
		cfg.ID, s.idCreated = id, created
	} else if o.ID != "" {
		if _, err := hearsay.ParseID(o.ID); err != nil {
			fail(fmt.Errorf("id: %w", err))
		}
	}
	s.cfg = cfg
	return s, errors.Join(errs...)
}

// Usage errors about keys, matched with errors.Is.
var (
	// errNoKeys: neither -key-file nor -open was given.
	errNoKeys = errors.New("no keys: give -key-file FILE (recommended: every datagram is sealed and authenticated) " +
		"or -open (no keys, for a trusted network only); in a config file, key_file or open; see hearsayd -h")
	// errOpenWithKeys: both were given.
	errOpenWithKeys = errors.New("-open and -key-file exclude each other: a cluster is either sealed with keys or open")
)

// withoutFields drops, from the joined errors Config.Validate returns,
// every *hearsay.FieldError about one of fields.
func withoutFields(err error, fields ...string) error {
	if err == nil {
		return nil
	}
	errs := []error{err}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		errs = j.Unwrap()
	}
	var keep []error
	for _, e := range errs {
		var fe *hearsay.FieldError
		if errors.As(e, &fe) && slices.Contains(fields, fe.Field) {
			continue
		}
		keep = append(keep, e)
	}
	return errors.Join(keep...)
}

// parseBind parses the bind address: ip:port, [ipv6]:port, or :port for
// every IPv4 address.
func parseBind(s string) (netip.AddrPort, error) {
	if strings.HasPrefix(s, ":") {
		p, err := strconv.ParseUint(s[1:], 10, 16)
		if err != nil {
			return netip.AddrPort{}, fmt.Errorf("bind: bad port in %q", s)
		}
		return netip.AddrPortFrom(netip.IPv4Unspecified(), uint16(p)), nil
	}
	ap, err := netip.ParseAddrPort(s)
	if err != nil {
		return netip.AddrPort{}, fmt.Errorf("bind: want ip:port or [ipv6]:port, got %q", s)
	}
	if ap.Addr().Zone() != "" {
		return netip.AddrPort{}, fmt.Errorf("bind: zoned addresses are not supported, got %q", s)
	}
	return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port()), nil
}

// family says which address families the node's socket can reach.
type family struct{ v4, v6 bool }

func (f family) fits(a netip.Addr) bool { return (a.Is4() && f.v4) || (a.Is6() && f.v6) }

func (f family) String() string {
	switch {
	case f.v4 && f.v6:
		return "IPv4 or IPv6"
	case f.v6:
		return "IPv6 (use -dual-stack to reach IPv4)"
	}
	return "IPv4"
}

// resolveAddrPort parses host:port; a host that is not an IP literal is
// looked up, and its addresses of a family the socket can reach are
// returned, in the resolver's order.
func resolveAddrPort(ctx context.Context, lookup hearsay.Resolver, s string, fam family) ([]netip.AddrPort, error) {
	host, portStr, err := net.SplitHostPort(s)
	if err != nil {
		return nil, fmt.Errorf("want host:port, got %q", s)
	}
	port, err := strconv.ParseUint(portStr, 10, 16)
	if err != nil || port == 0 {
		return nil, fmt.Errorf("bad port in %q", s)
	}
	if ip, err := netip.ParseAddr(host); err == nil {
		ip = ip.Unmap()
		if !fam.fits(ip) {
			return nil, fmt.Errorf("%s: the socket reaches %v only", s, fam)
		}
		return []netip.AddrPort{netip.AddrPortFrom(ip, uint16(port))}, nil
	}
	if host == "" {
		return nil, fmt.Errorf("missing host in %q", s)
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	ips, err := lookup.LookupNetIP(ctx, "ip", host)
	if err != nil {
		return nil, fmt.Errorf("resolving %s: %w", host, err)
	}
	var out []netip.AddrPort
	for _, ip := range ips {
		if ip = ip.Unmap(); fam.fits(ip) {
			out = append(out, netip.AddrPortFrom(ip, uint16(port)))
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s resolves to no %v address", host, fam)
	}
	return out, nil
}

// checkSeedName checks a seed that is not an address: host:port, or an
// SRV name (_service._proto.name) whose targets give the ports.
func checkSeedName(s string) error {
	cfg := hearsay.Config{Open: true, SeedNames: []string{s}}
	if err := cfg.Validate(); errors.Is(err, hearsay.ErrInvalidSeed) {
		return fmt.Errorf("want host:port, ip:port or an SRV name (_service._proto.name), got %q", s)
	}
	return nil
}

func containsAddrPort(list []netip.AddrPort, a netip.AddrPort) bool {
	for _, x := range list {
		if x == a {
			return true
		}
	}
	return false
}

// parseHTTPAddr parses -http: host:port, unix:/path, or "" / "off" for no
// server.
func parseHTTPAddr(s string) (listenAddr, error) {
	switch {
	case s == "" || s == "off":
		return listenAddr{}, nil
	case strings.HasPrefix(s, "unix:"):
		p := strings.TrimPrefix(s, "unix:")
		if p == "" {
			return listenAddr{}, fmt.Errorf("http: unix: needs a socket path")
		}
		return listenAddr{"unix", p}, nil
	}
	_, port, err := net.SplitHostPort(s)
	if err == nil {
		_, err = strconv.ParseUint(port, 10, 16)
	}
	if err != nil {
		return listenAddr{}, fmt.Errorf("http: want host:port, unix:/path or off, got %q", s)
	}
	return listenAddr{"tcp", s}, nil
}

// hostName is the default member name: this host's name, cut to
// hearsay.MaxNameSize bytes; empty when the system has none.
func hostName() string {
	h, err := os.Hostname()
	if err != nil {
		return ""
	}
	for len(h) > hearsay.MaxNameSize {
		_, n := utf8.DecodeLastRuneInString(h)
		h = h[:len(h)-n]
	}
	if !utf8.ValidString(h) {
		return ""
	}
	return h
}
