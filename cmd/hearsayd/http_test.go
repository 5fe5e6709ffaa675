package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hearsay-io/hearsay"
)

// testAgent starts an agent on loopback with the local preset and no HTTP
// listener (tests call its handler directly), and stops it at the end.
// args must say -key-file or -open.
func testAgent(t *testing.T, args ...string) *agent {
	t.Helper()
	return testAgentLog(t, slog.New(slog.DiscardHandler), args...)
}

// testAgentLog is testAgent logging to log.
func testAgentLog(t *testing.T, log *slog.Logger, args ...string) *agent {
	t.Helper()
	base := []string{"-bind", "127.0.0.1:0", "-preset", "local", "-http", "off", "-leave-timeout", "2s"}
	o, err := parseArgs(append(base, args...), io.Discard)
	if err != nil {
		t.Fatalf("parseArgs: %v", err)
	}
	set, err := o.build(context.Background(), systemResolver)
	if err != nil {
		t.Fatalf("build: %v", err)
	}
	a, err := startAgent(set, log)
	if err != nil {
		t.Fatalf("startAgent: %v", err)
	}
	t.Cleanup(func() { a.shutdown(nil) })
	return a
}

// waitUntil polls cond every 10 ms for up to d.
func waitUntil(t *testing.T, d time.Duration, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		ok, status := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v: %s", what, d, status)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// get serves one GET request through a's handler.
func get(t *testing.T, a *agent, path string) *httptest.ResponseRecorder {
	t.Helper()
	rec := httptest.NewRecorder()
	a.handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
	return rec
}

func decode[T any](t *testing.T, rec *httptest.ResponseRecorder) T {
	t.Helper()
	var v T
	if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type = %q, want application/json", ct)
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &v); err != nil {
		t.Fatalf("decoding %s: %v", rec.Body.String(), err)
	}
	return v
}

// testKey returns a 32-byte key of b.
func testKey(b byte) []byte { return bytes.Repeat([]byte{b}, 32) }

// writeKeys writes a key file (hex, mode 600) of keys to path.
func writeKeys(t *testing.T, path string, keys ...[]byte) string {
	t.Helper()
	var s strings.Builder
	s.WriteString("# test keys, primary first\n")
	for _, k := range keys {
		s.WriteString(hex.EncodeToString(k) + "\n")
	}
	if err := os.WriteFile(path, []byte(s.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestHTTP runs two agents of a sealed cluster joined over loopback and
// checks every endpoint on the second.
func TestHTTP(t *testing.T) {
	keys := writeKeys(t, filepath.Join(t.TempDir(), "keys"), testKey(1))
	a := testAgent(t, "-key-file", keys, "-state", "role=seed", "-state", "bin=\xff\xfe")
	b := testAgent(t, "-key-file", keys, "-seeds", a.node.Addr().String(), "-cluster", "hearsay", "-max-members", "5000")

	waitUntil(t, 10*time.Second, "b healthy", func() (bool, string) {
		rec := get(t, b, "/healthz")
		return rec.Code == http.StatusOK, rec.Body.String()
	})
	waitUntil(t, 10*time.Second, "b reads a's state", func() (bool, string) {
		_, _, ok := b.node.State(a.node.ID(), []byte("bin"))
		return ok, ""
	})

	t.Run("members", func(t *testing.T) {
		ms := decode[[]memberJSON](t, get(t, b, "/members"))
		if len(ms) != 2 {
			t.Fatalf("/members lists %d members, want 2: %+v", len(ms), ms)
		}
		if ms[0].ID >= ms[1].ID {
			t.Errorf("/members not sorted by id: %s, %s", ms[0].ID, ms[1].ID)
		}
		byID := map[string]memberJSON{}
		for _, m := range ms {
			byID[m.ID] = m
		}
		am, bm := byID[a.node.ID().String()], byID[b.node.ID().String()]
		if am.Addr != a.node.Addr().String() || am.State != "alive" || am.Self || am.Generation != a.node.Config().Generation {
			t.Errorf("/members entry of a = %+v; want addr %v, alive, generation %d, not self", am, a.node.Addr(), a.node.Config().Generation)
		}
		if !bm.Self || bm.State != "alive" {
			t.Errorf("/members entry of b = %+v, want self and alive", bm)
		}
	})

	t.Run("state", func(t *testing.T) {
		st := decode[stateJSON](t, get(t, b, "/state"))
		if len(st.Members) != 2 {
			t.Fatalf("/state = %+v, want 2 members", st)
		}
		ks := st.Members[a.node.ID().String()].Keys
		if e := ks["role"]; e.Value == nil || *e.Value != "seed" || e.Version == 0 {
			t.Errorf("/state role of a = %+v, want value seed", e)
		}
		if e := ks["bin"]; e.Value != nil || e.ValueBase64 != "//4=" {
			t.Errorf("/state bin of a = %+v, want value_base64 //4=", e)
		}
		// b set no state: it has its name only (hearsayd names a node
		// after its host when -name is not given).
		bks := st.Members[b.node.ID().String()].Keys
		if e := bks[hearsay.NameKey]; len(bks) != 1 || e.Value == nil || *e.Value != b.node.Config().Name {
			t.Errorf("/state: b has keys %+v, want its name %q only", bks, b.node.Config().Name)
		}
		// A change reaches the other node's /state.
		if err := a.node.SetState([]byte("role"), []byte("leader")); err != nil {
			t.Fatal(err)
		}
		waitUntil(t, 10*time.Second, "the new value in b's /state", func() (bool, string) {
			st := decode[stateJSON](t, get(t, b, "/state"))
			e := st.Members[a.node.ID().String()].Keys["role"]
			return e.Value != nil && *e.Value == "leader", fmt.Sprintf("%+v", e)
		})
	})

	t.Run("healthz", func(t *testing.T) {
		h := decode[healthJSON](t, get(t, b, "/healthz"))
		if h.Status != "ok" || h.Reason != "" || h.ID != b.node.ID().String() || h.LiveMembers != 2 {
			t.Errorf("/healthz = %+v, want ok without a reason, b's id, 2 live members", h)
		}
	})

	t.Run("config", func(t *testing.T) {
		rec := get(t, b, "/config")
		c := decode[map[string]any](t, rec)
		local := hearsay.DefaultLocalConfig()
		phi, _ := c["phi"].(map[string]any)
		susp, _ := c["suspicion"].(map[string]any)
		for key, want := range map[string]any{
			"preset":             "local",
			"cluster":            "hearsay",
			"heartbeat_interval": local.HeartbeatInterval.String(),
			"refutation_window":  local.RefutationWindow.String(),
			"max_members":        5000.0,
			"shard_bits":         float64(local.ShardBits),
			"open":               false,
			"key_ids":            []any{hearsay.KeyIDOf(testKey(1)).String()},
			"seeds":              []any{a.node.Addr().String()},
			"advertise":          b.node.Addr().String(),
			"leave_timeout":      "2s",
		} {
			if got := c[key]; !reflect.DeepEqual(got, want) {
				t.Errorf("/config %s = %#v, want %#v", key, got, want)
			}
		}
		if phi["max_interval"] == "0s" || phi["distribution"] != "normal" || susp["min_base"] != local.Suspicion.MinBase.String() {
			t.Errorf("/config phi = %v, suspicion = %v", phi, susp)
		}
		if body := rec.Body.String(); strings.Contains(body, hex.EncodeToString(testKey(1))) ||
			strings.Contains(body, base64.StdEncoding.EncodeToString(testKey(1))) {
			t.Errorf("/config shows the key bytes:\n%s", body)
		}
	})

	t.Run("metrics", func(t *testing.T) {
		rec := get(t, b, "/metrics")
		if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, "text/plain; version=0.0.4") {
			t.Errorf("Content-Type = %q", ct)
		}
		samples := checkExposition(t, rec.Body.String())
		for name, want := range map[string]float64{
			`hearsay_members{state="alive"}`:   2,
			`hearsay_members{state="suspect"}`: 0,
			`hearsay_members{state="dead"}`:    0,
			`hearsay_members{state="left"}`:    0,
			`hearsay_healthy`:                  1,
			`hearsay_subscriptions`:            2, // membership events, self events
		} {
			if got, ok := samples[name]; !ok || got != want {
				t.Errorf("%s = %v (present %v), want %v", name, got, ok, want)
			}
		}
		for _, name := range []string{
			`hearsay_received_datagrams_total`, `hearsay_received_bytes_total`, `hearsay_sent_bytes_total`,
			`hearsay_sent_messages_total{type="join"}`, `hearsay_sent_message_bytes_total{type="join"}`,
			`hearsay_received_messages_total{type="join_reply"}`,
			`hearsay_transport_received_bytes_total`, `hearsay_transport_sent_bytes_total`,
			`hearsay_drops_total{cause="auth"}`, `hearsay_transport_drops_total{cause="buffer_full"}`,
		} {
			if samples[name] == 0 && !strings.Contains(name, "drops") {
				t.Errorf("%s = 0 (or missing) after a join", name)
			}
			if _, ok := samples[name]; !ok {
				t.Errorf("%s missing", name)
			}
		}
		for _, name := range []string{`hearsay_live_members`, `hearsay_member_states{state="alive"}`, `hearsay_bytes_in_total`, `hearsay_datagrams_in_total`} {
			if _, ok := samples[name]; ok {
				t.Errorf("%s present; it was replaced", name)
			}
		}
		checkStandardMetrics(t, samples)
	})

	t.Run("methods and paths", func(t *testing.T) {
		for _, c := range []struct {
			method, path string
			code         int
		}{
			{http.MethodPost, "/members", http.StatusMethodNotAllowed},
			{http.MethodDelete, "/state", http.StatusMethodNotAllowed},
			{http.MethodGet, "/nope", http.StatusNotFound},
			{http.MethodGet, "/", http.StatusOK},
			{http.MethodHead, "/healthz", http.StatusOK},
		} {
			rec := httptest.NewRecorder()
			b.handler().ServeHTTP(rec, httptest.NewRequest(c.method, c.path, nil))
			if rec.Code != c.code {
				t.Errorf("%s %s = %d, want %d", c.method, c.path, rec.Code, c.code)
			}
		}
	})
}

func TestHealthStates(t *testing.T) {
	// A node whose seed never answers stays "joining".
	a := testAgent(t, "-open", "-seeds", "127.0.0.1:9") // discard port: nobody answers
	rec := get(t, a, "/healthz")
	if h := decode[healthJSON](t, rec); rec.Code != http.StatusServiceUnavailable || h.Status != "joining" || h.Reason == "" {
		t.Errorf("/healthz while joining = %d %+v, want 503 joining with a reason", rec.Code, h)
	}
	// A node without seeds is a new cluster: healthy at once.
	b := testAgent(t, "-open")
	waitUntil(t, 5*time.Second, "seedless node healthy", func() (bool, string) {
		rec := get(t, b, "/healthz")
		return rec.Code == http.StatusOK, rec.Body.String()
	})
	b.leaving.Store(true)
	rec = get(t, b, "/healthz")
	if h := decode[healthJSON](t, rec); rec.Code != http.StatusServiceUnavailable || h.Status != "leaving" || h.Reason == "" {
		t.Errorf("/healthz while leaving = %d %+v, want 503 leaving with a reason", rec.Code, h)
	}
}

var (
	sampleLine = regexp.MustCompile(`^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\.)*"(?:,[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\.)*")*\})? (\S+)$`)
	helpLine   = regexp.MustCompile(`^# HELP ([a-zA-Z_:][a-zA-Z0-9_:]*) \S.*$`)
	typeLine   = regexp.MustCompile(`^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge|summary|histogram)$`)
)

// checkExposition checks text against the Prometheus text format as
// hearsayd writes it (each family: HELP, TYPE, then its samples; families
// unique; counters, and only counters, named *_total; a summary's samples
// are its quantiles, _sum and _count; a histogram's its _bucket samples
// with an le label, ending with +Inf, never decreasing, then _sum and
// _count equal to the +Inf bucket; every value a number) and returns the
// samples by name and labels.
func checkExposition(t *testing.T, text string) map[string]float64 {
	t.Helper()
	samples := map[string]float64{}
	seen := map[string]bool{}
	var family, typ string
	var help string
	var lastBucket float64 // of the current histogram
	var lastLe string
	sc := bufio.NewScanner(strings.NewReader(text))
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "# HELP "):
			m := helpLine.FindStringSubmatch(line)
			if m == nil {
				t.Fatalf("line %d: bad HELP: %q", n, line)
			}
			if seen[m[1]] {
				t.Fatalf("line %d: family %s appears twice", n, m[1])
			}
			seen[m[1]] = true
			help, family, typ = m[1], "", ""
		case strings.HasPrefix(line, "# TYPE "):
			m := typeLine.FindStringSubmatch(line)
			if m == nil || m[1] != help {
				t.Fatalf("line %d: TYPE %q does not follow its HELP (%s)", n, line, help)
			}
			family, typ = m[1], m[2]
			lastBucket, lastLe = 0, ""
			if (typ == "counter") != strings.HasSuffix(family, "_total") {
				t.Errorf("line %d: %s %s: counters, and only counters, end in _total", n, typ, family)
			}
		default:
			m := sampleLine.FindStringSubmatch(line)
			if m == nil {
				t.Fatalf("line %d: bad sample: %q", n, line)
			}
			inFamily := m[1] == family
			switch typ {
			case "summary":
				inFamily = (m[1] == family && strings.Contains(m[2], `quantile="`)) ||
					(m[2] == "" && (m[1] == family+"_sum" || m[1] == family+"_count"))
			case "histogram":
				inFamily = (m[1] == family+"_bucket" && strings.HasPrefix(m[2], `{le="`)) ||
					(m[2] == "" && (m[1] == family+"_sum" || m[1] == family+"_count"))
			}
			if !inFamily {
				t.Fatalf("line %d: sample %s%s outside its family (current %q, %s)", n, m[1], m[2], family, typ)
			}
			v, err := strconv.ParseFloat(m[3], 64)
			if err != nil {
				t.Fatalf("line %d: value %q: %v", n, m[3], err)
			}
			key := m[1] + m[2]
			if _, dup := samples[key]; dup {
				t.Fatalf("line %d: duplicate sample %s", n, key)
			}
			samples[key] = v
			if typ == "histogram" {
				switch {
				case m[1] == family+"_bucket":
					if v < lastBucket {
						t.Errorf("line %d: histogram bucket %s%s = %v below the previous, %v", n, m[1], m[2], v, lastBucket)
					}
					lastBucket, lastLe = v, m[2]
				case m[1] == family+"_count" && (v != lastBucket || lastLe != `{le="+Inf"}`):
					t.Errorf("line %d: %s = %v, want the +Inf bucket's %v (last bucket %s)", n, m[1], v, lastBucket, lastLe)
				}
			}
		}
	}
	if len(samples) == 0 {
		t.Fatal("no samples")
	}
	return samples
}

// TestStateLearnedBeforeSubscribing checks that /state lists the state a
// node learned before the agent subscribed to its events. A node is
// contacted as soon as NewNode returns (a seed is, by every joiner), so
// an agent that listed the keys its events named missed, for good, the
// state of members that reached it first: the adversary suite saw a node
// list a member with no keys at all. Here the node joins, and learns the
// seed's state, with no subscription at all.
func TestStateLearnedBeforeSubscribing(t *testing.T) {
	seed := testAgent(t, "-open", "-state", "role=seed", "-name", "the-seed")
	cfg := hearsay.DefaultLocalConfig()
	cfg.Open = true
	cfg.BindAddr = netip.MustParseAddrPort("127.0.0.1:0")
	n, err := hearsay.NewNode(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := n.Join(ctx, seed.node.Addr().String()); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, 10*time.Second, "the node reads the seed's state", func() (bool, string) {
		_, _, ok := n.State(seed.node.ID(), []byte("role"))
		return ok, ""
	})
	a := &agent{node: n, log: slog.New(slog.DiscardHandler)}
	st := decode[stateJSON](t, get(t, a, "/state"))
	ks := st.Members[seed.node.ID().String()].Keys
	if e := ks["role"]; e.Value == nil || *e.Value != "seed" || e.Version == 0 {
		t.Errorf("/state role of the seed = %+v, want value seed at a version", e)
	}
	if e := ks[hearsay.NameKey]; e.Value == nil || *e.Value != "the-seed" {
		t.Errorf("/state %s of the seed = %+v, want the-seed", hearsay.NameKey, e)
	}
	if len(ks) != 2 {
		t.Errorf("/state lists %d keys of the seed, want 2 (role and the name): %+v", len(ks), ks)
	}
}
