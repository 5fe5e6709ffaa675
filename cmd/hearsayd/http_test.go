package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hearsay-io/hearsay/engine"
)

// testAgent starts an agent on loopback with the local preset and no HTTP
// listener (tests call its handler directly), and stops it at the end.
func testAgent(t *testing.T, args ...string) *agent {
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
	a, err := startAgent(set, slog.New(slog.DiscardHandler))
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

// TestHTTP runs two agents joined over loopback and checks every endpoint
// on the second.
func TestHTTP(t *testing.T) {
	a := testAgent(t, "-state", "role=seed", "-state", "bin=\xff\xfe")
	b := testAgent(t, "-seeds", a.node.Addr().String(), "-cluster", "hearsay")

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
		if !st.Complete || len(st.Members) != 2 {
			t.Fatalf("/state = %+v, want complete, 2 members", st)
		}
		ks := st.Members[a.node.ID().String()].Keys
		if e := ks["role"]; e.Value == nil || *e.Value != "seed" || e.Version == 0 {
			t.Errorf("/state role of a = %+v, want value seed", e)
		}
		if e := ks["bin"]; e.Value != nil || e.ValueBase64 != "//4=" {
			t.Errorf("/state bin of a = %+v, want value_base64 //4=", e)
		}
		if n := len(st.Members[b.node.ID().String()].Keys); n != 0 {
			t.Errorf("/state: b has %d keys, want 0", n)
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
		if h.Status != "ok" || h.ID != b.node.ID().String() || h.LiveMembers != 2 {
			t.Errorf("/healthz = %+v, want ok, b's id, 2 live members", h)
		}
	})

	t.Run("config", func(t *testing.T) {
		c := decode[configJSON](t, get(t, b, "/config"))
		local := engine.DefaultLocalConfig()
		if c.Preset != "local" || c.HeartbeatInterval != local.HeartbeatInterval.String() ||
			c.Suspicion.MinBase != local.Suspicion.MinBase.String() || c.Phi.MaxInterval == "0s" ||
			len(c.Seeds) != 1 || c.Keys != 0 {
			t.Errorf("/config = %+v", c)
		}
	})

	t.Run("metrics", func(t *testing.T) {
		rec := get(t, b, "/metrics")
		if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, "text/plain; version=0.0.4") {
			t.Errorf("Content-Type = %q", ct)
		}
		samples := checkExposition(t, rec.Body.String())
		for name, want := range map[string]float64{
			`hearsay_live_members`:                 2,
			`hearsay_member_states{state="alive"}`: 2,
			`hearsay_member_states{state="dead"}`:  0,
			`hearsay_healthy`:                      1,
			`hearsay_subscriptions`:                1,
		} {
			if got, ok := samples[name]; !ok || got != want {
				t.Errorf("%s = %v (present %v), want %v", name, got, ok, want)
			}
		}
		for _, name := range []string{`hearsay_datagrams_in_total`, `hearsay_msgs_in_total{type="heartbeat"}`, `hearsay_drops_total{cause="auth"}`, `hearsay_transport_drops_total{cause="buffer_full"}`} {
			if _, ok := samples[name]; !ok {
				t.Errorf("%s missing", name)
			}
		}
		if samples[`hearsay_datagrams_in_total`] == 0 {
			t.Error("hearsay_datagrams_in_total = 0 after a join")
		}
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
	a := testAgent(t, "-seeds", "127.0.0.1:9") // discard port: nobody answers
	rec := get(t, a, "/healthz")
	if h := decode[healthJSON](t, rec); rec.Code != http.StatusServiceUnavailable || h.Status != "joining" {
		t.Errorf("/healthz while joining = %d %+v, want 503 joining", rec.Code, h)
	}
	// A node without seeds is a new cluster: healthy at once.
	b := testAgent(t)
	waitUntil(t, 5*time.Second, "seedless node healthy", func() (bool, string) {
		rec := get(t, b, "/healthz")
		return rec.Code == http.StatusOK, rec.Body.String()
	})
	b.leaving.Store(true)
	rec = get(t, b, "/healthz")
	if h := decode[healthJSON](t, rec); rec.Code != http.StatusServiceUnavailable || h.Status != "leaving" {
		t.Errorf("/healthz while leaving = %d %+v, want 503 leaving", rec.Code, h)
	}
	b.leaving.Store(false)
	b.selfDead.Store(true)
	if h := decode[healthJSON](t, get(t, b, "/healthz")); h.Status != "rejoining" {
		t.Errorf("/healthz after self-dead = %+v, want rejoining", h)
	}
}

var (
	sampleLine = regexp.MustCompile(`^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\.)*"(?:,[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\.)*")*\})? (\S+)$`)
	helpLine   = regexp.MustCompile(`^# HELP ([a-zA-Z_:][a-zA-Z0-9_:]*) \S.*$`)
	typeLine   = regexp.MustCompile(`^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge)$`)
)

// checkExposition checks text against the Prometheus text format as
// hearsayd writes it (each family: HELP, TYPE, then its samples; families
// unique; counters named *_total; every value a number) and returns the
// samples by name and labels.
func checkExposition(t *testing.T, text string) map[string]float64 {
	t.Helper()
	samples := map[string]float64{}
	seen := map[string]bool{}
	var family, typ string
	var help string
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
			if (typ == "counter") != strings.HasSuffix(family, "_total") {
				t.Errorf("line %d: %s %s: counters, and only counters, end in _total", n, typ, family)
			}
		default:
			m := sampleLine.FindStringSubmatch(line)
			if m == nil {
				t.Fatalf("line %d: bad sample: %q", n, line)
			}
			if m[1] != family {
				t.Fatalf("line %d: sample %s outside its family (current %q)", n, m[1], family)
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
		}
	}
	if len(samples) == 0 {
		t.Fatal("no samples")
	}
	return samples
}
