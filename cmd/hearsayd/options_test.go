package main

import (
	"context"
	"errors"
	"flag"
	"io"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hearsay-io/hearsay"
)

func TestParseArgsDefaults(t *testing.T) {
	o, err := parseArgs(nil, io.Discard)
	if err != nil {
		t.Fatalf("parseArgs(nil) = %v", err)
	}
	want := defaultOptions()
	if !reflect.DeepEqual(o, want) {
		t.Errorf("parseArgs(nil) = %+v, want %+v", o, want)
	}
}

func TestParseArgsHelp(t *testing.T) {
	var out strings.Builder
	if _, err := parseArgs([]string{"-h"}, &out); !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("parseArgs(-h) = %v, want flag.ErrHelp", err)
	}
	for _, f := range []string{"-bind", "-advertise", "-seeds", "-cluster", "-key-file", "-open", "-max-members", "-preset", "-id", "-id-file", "-http", "-log-level", "-config", "-version", "SIGHUP"} {
		if !strings.Contains(out.String(), f) {
			t.Errorf("usage does not mention %s", f)
		}
	}
	// Keys lead: the first line and the first example use -key-file, and
	// -open comes with what it cannot protect against.
	text := out.String()
	if first, _, _ := strings.Cut(text, "\n"); !strings.Contains(first, "-key-file") {
		t.Errorf("usage's first line %q does not lead with -key-file", first)
	}
	_, example, _ := strings.Cut(text, "For example:\n\n")
	if !strings.HasPrefix(example, "  hearsayd -key-file") {
		t.Errorf("usage's first example does not use -key-file:\n%s", example)
	}
	for _, risk := range []string{"forged", "spoofed", "replayed"} {
		if !strings.Contains(text, risk) {
			t.Errorf("usage does not say what -open cannot protect against (%q)", risk)
		}
	}
}

func TestParseArgsVersion(t *testing.T) {
	if _, err := parseArgs([]string{"-version"}, io.Discard); !errors.Is(err, errVersion) {
		t.Errorf("parseArgs(-version) = %v, want errVersion", err)
	}
}

func TestParseArgsErrors(t *testing.T) {
	for _, args := range [][]string{
		{"-no-such-flag"},
		{"extra"},
		{"-leave-timeout", "soon"},
		{"-state", "novalue"},
		{"-config", "/nonexistent/hearsayd.json"},
	} {
		if _, err := parseArgs(args, io.Discard); err == nil {
			t.Errorf("parseArgs(%q) = nil error, want one", args)
		}
	}
}

// writeFile writes content to name in dir and returns its path.
func writeFile(t *testing.T, dir, name, content string, mode os.FileMode) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), mode); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestParseArgsFileThenFlags(t *testing.T) {
	dir := t.TempDir()
	cfg := writeFile(t, dir, "h.json", `{
		"bind": "10.0.0.1:7000",
		"advertise": "192.0.2.1:7000",
		"seeds": ["10.0.0.2:7000", "10.0.0.3:7000"],
		"cluster": "prod",
		"key_file": "keys",
		"open": false,
		"max_members": 20000,
		"preset": "wan",
		"id_file": "/var/lib/hearsay/id",
		"http": "unix:/run/hearsay.sock",
		"log_level": "debug",
		"log_format": "json",
		"dual_stack": false,
		"leave_timeout": "2s",
		"state": {"role": "db", "zone": "a"}
	}`, 0o600)
	o, err := parseArgs([]string{"-config", cfg, "-bind", "10.0.0.9:7001", "-seeds", " 10.0.0.4:7000 ,,10.0.0.5:7000", "-state", "zone=b", "-log-level", "warn", "-max-members", "30000"}, io.Discard)
	if err != nil {
		t.Fatalf("parseArgs = %v", err)
	}
	want := options{
		Config:       cfg,
		Bind:         "10.0.0.9:7001", // flag over file
		Advertise:    "192.0.2.1:7000",
		Seeds:        []string{"10.0.0.4:7000", "10.0.0.5:7000"}, // flag replaces the list
		Cluster:      "prod",
		KeyFile:      filepath.Join(dir, "keys"), // relative to the file
		MaxMembers:   30000,                      // flag over file
		Preset:       "wan",
		IDFile:       "/var/lib/hearsay/id",
		HTTP:         "unix:/run/hearsay.sock",
		LogLevel:     "warn",
		LogFormat:    "json",
		LeaveTimeout: 2 * time.Second,
		State:        map[string]string{"role": "db", "zone": "b"}, // flags merge per key
	}
	if !reflect.DeepEqual(o, want) {
		t.Errorf("parseArgs =\n%+v\nwant\n%+v", o, want)
	}
}

func TestParseArgsFileErrors(t *testing.T) {
	dir := t.TempDir()
	for name, content := range map[string]string{
		"unknown":  `{"bnid": "10.0.0.1:7000"}`,
		"syntax":   `{"bind": }`,
		"trailing": `{"bind": "10.0.0.1:7000"} {}`,
		"duration": `{"leave_timeout": "5"}`,
		"type":     `{"seeds": "10.0.0.1:7000"}`,
		"open":     `{"open": "yes"}`,
		"members":  `{"max_members": "many"}`,
	} {
		p := writeFile(t, dir, name+".json", content, 0o600)
		if _, err := parseArgs([]string{"-config", p}, io.Discard); err == nil {
			t.Errorf("config %s (%s): parseArgs = nil error, want one", name, content)
		}
	}
}

// tableResolver resolves names from a table, and SRV names from another.
type tableResolver struct {
	mu    sync.Mutex
	hosts map[string][]string
	srvs  map[string][]*net.SRV
	calls map[string]int
}

// fakeResolver resolves names from table.
func fakeResolver(table map[string][]string) *tableResolver {
	return &tableResolver{hosts: table, srvs: map[string][]*net.SRV{}, calls: map[string]int{}}
}

func (r *tableResolver) LookupNetIP(_ context.Context, _, host string) ([]netip.Addr, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls[host]++
	var out []netip.Addr
	for _, s := range r.hosts[host] {
		out = append(out, netip.MustParseAddr(s))
	}
	if out == nil {
		return nil, errors.New("no such host")
	}
	return out, nil
}

func (r *tableResolver) LookupSRV(_ context.Context, _, _, name string) (string, []*net.SRV, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls[name]++
	if s, ok := r.srvs[name]; ok {
		return name, s, nil
	}
	return "", nil, errors.New("no such host")
}

// set replaces the addresses of host.
func (r *tableResolver) set(host string, addrs ...string) {
	r.mu.Lock()
	r.hosts[host] = addrs
	r.mu.Unlock()
}

// count returns how often name was looked up.
func (r *tableResolver) count(name string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.calls[name]
}

func TestBuild(t *testing.T) {
	dir := t.TempDir()
	keys := writeFile(t, dir, "keys", strings.Repeat("ab", 16)+"\n", 0o600)
	o := defaultOptions()
	o.Bind = "10.0.0.1:7946"
	o.Advertise = "node1.example:7946"
	o.Seeds = []string{"10.0.0.2:7946", "seeds.example:7946", "10.0.0.2:7946"}
	o.Cluster = "prod"
	o.KeyFile = keys
	o.Preset = "local"
	o.IDFile = filepath.Join(dir, "id")
	o.HTTP = "unix:" + filepath.Join(dir, "h.sock")
	o.State = map[string]string{"role": "db"}
	lookup := fakeResolver(map[string][]string{
		"node1.example": {"2001:db8::1", "192.0.2.1"},
		"seeds.example": {"10.0.0.3", "2001:db8::3", "::ffff:10.0.0.4"},
	})
	s, err := o.build(context.Background(), lookup)
	if err != nil {
		t.Fatalf("build = %v", err)
	}
	c := s.cfg
	if got, want := c.BindAddr, netip.MustParseAddrPort("10.0.0.1:7946"); got != want {
		t.Errorf("BindAddr = %v, want %v", got, want)
	}
	if got, want := c.AdvertiseAddr, netip.MustParseAddrPort("192.0.2.1:7946"); got != want {
		t.Errorf("AdvertiseAddr = %v, want %v (the IPv4 address of the name, for an IPv4 socket)", got, want)
	}
	// Addresses are checked at start; names are the node's to resolve,
	// before every contact.
	if want := []netip.AddrPort{netip.MustParseAddrPort("10.0.0.2:7946")}; !reflect.DeepEqual(c.Seeds, want) {
		t.Errorf("Seeds = %v, want %v", c.Seeds, want)
	}
	if want := []string{"seeds.example:7946"}; !reflect.DeepEqual(c.SeedNames, want) || c.Resolver != lookup {
		t.Errorf("SeedNames = %q, resolver %v; want %q and the resolver given", c.SeedNames, c.Resolver, want)
	}
	if n := lookup.count("seeds.example"); n != 0 {
		t.Errorf("the seed name was looked up %d times at start, want 0", n)
	}
	if c.ClusterName != "prod" || len(c.Keys) != 1 || len(c.Keys[0]) != 16 {
		t.Errorf("ClusterName, Keys = %q, %d keys, want prod, one 16-byte key", c.ClusterName, len(c.Keys))
	}
	if local := hearsay.DefaultLocalConfig(); c.HeartbeatInterval != local.HeartbeatInterval || c.Suspicion != local.Suspicion {
		t.Errorf("preset local: HeartbeatInterval %v, Suspicion %+v; want the local preset's", c.HeartbeatInterval, c.Suspicion)
	}
	if c.ID == 0 || !s.idCreated {
		t.Errorf("ID = %v, created %v; want a new ID written to the file", c.ID, s.idCreated)
	}
	if s.http != (listenAddr{"unix", filepath.Join(dir, "h.sock")}) {
		t.Errorf("http = %+v", s.http)
	}
	// A second build reads the same ID.
	s2, err := o.build(context.Background(), lookup)
	if err != nil || s2.cfg.ID != c.ID || s2.idCreated {
		t.Errorf("second build: ID %v created %v err %v; want %v from the file", s2.cfg.ID, s2.idCreated, err, c.ID)
	}
}

func TestBuildIPv6(t *testing.T) {
	o := defaultOptions()
	o.Open = true
	o.Bind = "[fd77::1]:7946"
	o.Seeds = []string{"[fd77::2]:7946"}
	s, err := o.build(context.Background(), fakeResolver(nil))
	if err != nil {
		t.Fatalf("build = %v", err)
	}
	if s.cfg.BindAddr != netip.MustParseAddrPort("[fd77::1]:7946") || len(s.cfg.Seeds) != 1 {
		t.Errorf("BindAddr %v Seeds %v", s.cfg.BindAddr, s.cfg.Seeds)
	}
	o.Seeds = []string{"10.0.0.2:7946"}
	if _, err := o.build(context.Background(), fakeResolver(nil)); err == nil || !strings.Contains(err.Error(), "dual-stack") {
		t.Errorf("IPv4 seed on an IPv6 socket: build = %v, want an error suggesting -dual-stack", err)
	}
	o.DualStack = true
	o.Bind = "[::]:7946"
	if s, err := o.build(context.Background(), fakeResolver(nil)); err != nil || s.cfg.Seeds[0] != netip.MustParseAddrPort("10.0.0.2:7946") {
		t.Errorf("dual-stack: build = %v, %v", s.cfg.Seeds, err)
	}
}

func TestBuildBindForms(t *testing.T) {
	for in, want := range map[string]string{
		"0.0.0.0:7946":        "0.0.0.0:7946",
		":7000":               "0.0.0.0:7000",
		"[::]:7946":           "[::]:7946",
		"[::ffff:10.0.0.1]:1": "10.0.0.1:1",
	} {
		got, err := parseBind(in)
		if err != nil || got.String() != want {
			t.Errorf("parseBind(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"", "localhost:7946", "10.0.0.1", ":x", "[fe80::1%eth0]:7946"} {
		if _, err := parseBind(in); err == nil {
			t.Errorf("parseBind(%q) = nil error, want one", in)
		}
	}
}

// TestBuildReportsEverything checks that every problem is reported at once
// and that an invalid configuration writes no ID file.
func TestBuildReportsEverything(t *testing.T) {
	dir := t.TempDir()
	o := defaultOptions()
	o.Bind = "nowhere"
	o.Advertise = "0.0.0.0:7946"
	o.Seeds = []string{"10.0.0.2", "missing.example:7946", "bad name:7946"}
	o.KeyFile = filepath.Join(dir, "no-keys")
	o.Preset = "fast"
	o.IDFile = filepath.Join(dir, "id")
	o.HTTP = "7947"
	o.LogLevel = "loud"
	o.LeaveTimeout = 0
	o.MaxMembers = -1
	o.State = map[string]string{strings.Repeat("k", 300): "v"}
	_, err := o.build(context.Background(), fakeResolver(nil))
	if err == nil {
		t.Fatal("build = nil error, want every problem")
	}
	for _, want := range []string{"bind:", "advertise:", `seeds: want host:port`, `"10.0.0.2"`, `"bad name:7946"`, "key file", "preset", "http:", "log level", "leave-timeout", "state: key", "max-members"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("build error does not mention %q:\n%v", want, err)
		}
	}
	// A name that does not resolve yet is not an error: the node resolves
	// it before every contact, and its join loop keeps trying.
	if strings.Contains(err.Error(), "missing.example") || strings.Contains(err.Error(), "config.SeedNames") {
		t.Errorf("build error mentions a seed name that is fine, or repeats the agent's seed errors:\n%v", err)
	}
	if _, err := os.Stat(o.IDFile); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("an invalid configuration created the ID file (stat: %v)", err)
	}
}

// TestBuildKeysOrOpen checks that a cluster is sealed or explicitly open:
// keys, -open, neither, both.
func TestBuildKeysOrOpen(t *testing.T) {
	dir := t.TempDir()
	keys := writeKeys(t, filepath.Join(dir, "keys"), testKey(1), testKey(2))
	build := func(keyFile string, open bool, maxMembers int) (settings, error) {
		o := defaultOptions()
		o.Bind = "127.0.0.1:0"
		o.KeyFile, o.Open, o.MaxMembers = keyFile, open, maxMembers
		return o.build(context.Background(), fakeResolver(nil))
	}
	s, err := build(keys, false, 0)
	if err != nil || len(s.cfg.Keys) != 2 || s.cfg.Open || s.keyFile != keys {
		t.Errorf("build(-key-file) = %d keys, open %v, key file %q, %v; want 2 keys, sealed", len(s.cfg.Keys), s.cfg.Open, s.keyFile, err)
	}
	if s.cfg.MaxMembers != hearsay.DefaultLANConfig().MaxMembers {
		t.Errorf("build(-max-members 0): MaxMembers = %d, want the preset's %d", s.cfg.MaxMembers, hearsay.DefaultLANConfig().MaxMembers)
	}
	s, err = build("", true, 100)
	if err != nil || len(s.cfg.Keys) != 0 || !s.cfg.Open || s.cfg.MaxMembers != 100 {
		t.Errorf("build(-open -max-members 100) = %d keys, open %v, MaxMembers %d, %v", len(s.cfg.Keys), s.cfg.Open, s.cfg.MaxMembers, err)
	}
	_, err = build("", false, 0)
	if !errors.Is(err, errNoKeys) {
		t.Errorf("build(no keys, not open) = %v, want errNoKeys", err)
	}
	if err != nil && strings.Contains(err.Error(), "config.Keys") {
		t.Errorf("build(no keys, not open) = %v: the engine's error repeats the agent's", err)
	}
	_, err = build(keys, true, 0)
	if !errors.Is(err, errOpenWithKeys) || strings.Contains(err.Error(), "config.Open") {
		t.Errorf("build(-open -key-file) = %v, want errOpenWithKeys alone", err)
	}
	// A missing key file is reported as such, not as "no keys" too.
	_, err = build(filepath.Join(dir, "missing"), false, 0)
	if err == nil || errors.Is(err, errNoKeys) || strings.Contains(err.Error(), "config.Keys") {
		t.Errorf("build(missing key file) = %v, want the file's error alone", err)
	}
}

func TestParseHTTPAddr(t *testing.T) {
	for in, want := range map[string]listenAddr{
		"":                 {},
		"off":              {},
		"127.0.0.1:7947":   {"tcp", "127.0.0.1:7947"},
		"[::1]:0":          {"tcp", "[::1]:0"},
		"unix:/run/h.sock": {"unix", "/run/h.sock"},
	} {
		got, err := parseHTTPAddr(in)
		if err != nil || got != want {
			t.Errorf("parseHTTPAddr(%q) = %+v, %v; want %+v", in, got, err, want)
		}
	}
	for _, in := range []string{"7947", "unix:", "http://x"} {
		if _, err := parseHTTPAddr(in); err == nil {
			t.Errorf("parseHTTPAddr(%q) = nil error, want one", in)
		}
	}
}

func TestNewLogger(t *testing.T) {
	var b strings.Builder
	log, err := newLogger(&b, "warn", "json")
	if err != nil {
		t.Fatal(err)
	}
	log.Info("hidden")
	log.Warn("shown")
	if got := b.String(); strings.Contains(got, "hidden") || !strings.Contains(got, `"msg":"shown"`) {
		t.Errorf("warn-level JSON logger wrote %q", got)
	}
	if _, err := newLogger(&b, "info", "xml"); err == nil {
		t.Error("newLogger(format xml) = nil error")
	}
}
