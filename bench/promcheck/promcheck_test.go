package promcheck

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil/promlint"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// agent is one hearsayd process with its HTTP server on a unix socket.
type agent struct {
	cmd    *exec.Cmd
	client *http.Client
	log    bytes.Buffer
	exited chan struct{}
}

// start runs bin with args and HTTP on a unix socket in dir, and stops it
// when the test ends (SIGTERM, SIGKILL after 15 s).
func start(t *testing.T, bin, dir, name string, args ...string) *agent {
	t.Helper()
	sock := filepath.Join(dir, name+".sock")
	a := &agent{exited: make(chan struct{}), client: &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", sock)
		},
	}}}
	a.cmd = exec.Command(bin, append([]string{"-http", "unix:" + sock, "-name", name}, args...)...)
	a.cmd.Stderr = &a.log
	if err := a.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { a.cmd.Wait(); close(a.exited) }()
	t.Cleanup(func() {
		a.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-a.exited:
		case <-time.After(15 * time.Second):
			a.cmd.Process.Kill()
			<-a.exited
			t.Errorf("%s: no exit within 15 s of SIGTERM; killed", name)
		}
	})
	return a
}

// scrape fetches /metrics and checks that it is served as the text format.
func (a *agent) scrape() ([]byte, error) {
	resp, err := a.client.Get("http://hearsayd/metrics")
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET /metrics: %s", resp.Status)
	}
	if f := expfmt.ResponseFormat(resp.Header); f.FormatType() != expfmt.TypeTextPlain {
		return nil, fmt.Errorf("GET /metrics: Content-Type %q is not Prometheus' text format", resp.Header.Get("Content-Type"))
	}
	return body, nil
}

// parse parses an exposition with Prometheus' text parser, with the
// classic (legacy) name rules every Prometheus version accepts.
func parse(body []byte) (map[string]*dto.MetricFamily, error) {
	p := expfmt.NewTextParser(model.LegacyValidation)
	return p.TextToMetricFamilies(bytes.NewReader(body))
}

// value returns the value of family name's series with the given labels.
func value(mfs map[string]*dto.MetricFamily, name string, labels ...string) (float64, bool) {
	mf, ok := mfs[name]
	if !ok {
		return 0, false
	}
	for _, m := range mf.GetMetric() {
		var got []string
		for _, l := range m.GetLabel() {
			got = append(got, l.GetName(), l.GetValue())
		}
		if !slices.Equal(got, labels) {
			continue
		}
		switch {
		case m.Counter != nil:
			return m.Counter.GetValue(), true
		case m.Gauge != nil:
			return m.Gauge.GetValue(), true
		case m.Histogram != nil:
			return float64(m.Histogram.GetSampleCount()), true
		case m.Untyped != nil:
			return m.Untyped.GetValue(), true
		}
	}
	return 0, false
}

// TestMetrics runs two sealed hearsayd agents on loopback, waits until
// the first lists both alive and has measured probe round trips, and
// checks its /metrics with Prometheus' parser and linter.
func TestMetrics(t *testing.T) {
	goCmd, err := exec.LookPath("go")
	if err != nil {
		t.Skip("the go command is not on PATH")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "hearsayd")
	// Built in the library's module, from this tree.
	build := exec.Command(goCmd, "build", "-o", bin, "./cmd/hearsayd")
	build.Dir = filepath.Join("..", "..")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build hearsayd: %v\n%s", err, out)
	}
	key := make([]byte, 32)
	rand.Read(key)
	keyFile := filepath.Join(dir, "keys")
	if err := os.WriteFile(keyFile, []byte(hex.EncodeToString(key)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	common := []string{"-bind", "127.0.0.1:0", "-preset", "local", "-key-file", keyFile, "-leave-timeout", "2s"}
	first := start(t, bin, dir, "first", common...)

	// The second joins through the first, whose address its info series
	// gives.
	var mfs map[string]*dto.MetricFamily
	var body []byte
	poll := func(what string, a *agent, cond func() bool) {
		t.Helper()
		deadline := time.Now().Add(20 * time.Second)
		for {
			var err error
			if body, err = a.scrape(); err == nil {
				mfs, err = parse(body)
				if err != nil {
					t.Fatalf("Prometheus' text parser: %v\n%s", err, body)
				}
				if cond() {
					return
				}
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: not within 20 s (last error %v); log:\n%s", what, err, a.log.String())
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	var seed string
	poll("the first agent serves /metrics", first, func() bool {
		for _, m := range mfs["hearsay_info"].GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "addr" {
					seed = l.GetValue()
				}
			}
		}
		return seed != ""
	})
	start(t, bin, dir, "second", append(common, "-seeds", seed)...)
	poll("the first agent lists two alive members and has probe round trips", first, func() bool {
		alive, _ := value(mfs, "hearsay_members", "state", "alive")
		rtts, _ := value(mfs, "hearsay_probe_rtt_seconds")
		return alive == 2 && rtts > 0
	})
	t.Logf("scraped %d bytes, %d families", len(body), len(mfs))

	problems, err := promlint.New(bytes.NewReader(body)).Lint()
	if err != nil {
		t.Fatalf("promlint: %v", err)
	}
	for _, p := range problems {
		t.Errorf("promlint: %s: %s", p.Metric, p.Text)
	}
	t.Logf("promlint: %d problems", len(problems))

	// The parser does not check that a series appears once.
	names := make([]string, 0, len(mfs))
	for name, mf := range mfs {
		names = append(names, name)
		seen := map[model.Fingerprint]bool{}
		for _, m := range mf.GetMetric() {
			ls := model.LabelSet{}
			for _, l := range m.GetLabel() {
				ls[model.LabelName(l.GetName())] = model.LabelValue(l.GetValue())
			}
			if seen[ls.Fingerprint()] {
				t.Errorf("%s%v appears twice", name, ls)
			}
			seen[ls.Fingerprint()] = true
		}
	}
	sort.Strings(names)

	// No family collides with the samples of another: a histogram's or
	// summary's _sum, _count and _bucket; and no hearsay_ counter shares
	// its name without _total with another family, as it would in
	// OpenMetrics. (go_memstats_alloc_bytes and its _total counter keep
	// the names of client_golang's Go collector, which dashboards expect.)
	for _, name := range names {
		suffixes := []string{"_sum", "_count", "_bucket"}
		if strings.HasPrefix(name, "hearsay_") {
			suffixes = append(suffixes, "_total", "_created")
		}
		for _, suffix := range suffixes {
			if base, ok := strings.CutSuffix(name, suffix); ok && mfs[base] != nil {
				t.Errorf("families %s and %s overlap", base, name)
			}
		}
	}

	// The families the agent documents, with their types.
	for name, typ := range map[string]dto.MetricType{
		"go_goroutines":                          dto.MetricType_GAUGE,
		"go_info":                                dto.MetricType_GAUGE,
		"go_gc_duration_seconds":                 dto.MetricType_SUMMARY,
		"go_memstats_alloc_bytes_total":          dto.MetricType_COUNTER,
		"process_cpu_seconds_total":              dto.MetricType_COUNTER,
		"process_resident_memory_bytes":          dto.MetricType_GAUGE,
		"process_start_time_seconds":             dto.MetricType_GAUGE,
		"process_open_fds":                       dto.MetricType_GAUGE,
		"hearsay_build_info":                     dto.MetricType_GAUGE,
		"hearsay_info":                           dto.MetricType_GAUGE,
		"hearsay_members":                        dto.MetricType_GAUGE,
		"hearsay_probe_rtt_seconds":              dto.MetricType_HISTOGRAM,
		"hearsay_received_bytes_total":           dto.MetricType_COUNTER,
		"hearsay_sent_bytes_total":               dto.MetricType_COUNTER,
		"hearsay_received_datagrams_total":       dto.MetricType_COUNTER,
		"hearsay_sent_datagrams_total":           dto.MetricType_COUNTER,
		"hearsay_transport_received_bytes_total": dto.MetricType_COUNTER,
		"hearsay_transport_sent_bytes_total":     dto.MetricType_COUNTER,
		"hearsay_drops_total":                    dto.MetricType_COUNTER,
	} {
		mf, ok := mfs[name]
		if !ok {
			t.Errorf("no family %s", name)
			continue
		}
		if mf.GetType() != typ {
			t.Errorf("%s is a %v, want a %v", name, mf.GetType(), typ)
		}
		if len(mf.GetMetric()) == 0 {
			t.Errorf("%s has no series", name)
		}
	}
	// Names the agent no longer uses: the unit before the direction, and
	// families that said what hearsay_members says.
	for _, name := range []string{"hearsay_bytes_in_total", "hearsay_bytes_out_total", "hearsay_live_members", "hearsay_member_states"} {
		if mfs[name] != nil {
			t.Errorf("family %s is exported; hearsay_members and the direction-named counters replace it", name)
		}
	}
	// hearsay_members has one series per state, and nothing else counts
	// members.
	var states []string
	for _, m := range mfs["hearsay_members"].GetMetric() {
		for _, l := range m.GetLabel() {
			states = append(states, l.GetName()+"="+l.GetValue())
		}
	}
	sort.Strings(states)
	if want := []string{"state=alive", "state=dead", "state=left", "state=suspect"}; !slices.Equal(states, want) {
		t.Errorf("hearsay_members series %v, want %v", states, want)
	}
	for _, name := range names {
		if name != "hearsay_members" && strings.Contains(name, "members") && mfs[name].GetType() == dto.MetricType_GAUGE {
			t.Errorf("gauge %s counts members too, beside hearsay_members", name)
		}
	}
	var hearsay, goFams, process int
	for _, name := range names {
		switch {
		case strings.HasPrefix(name, "hearsay_"):
			hearsay++
		case strings.HasPrefix(name, "go_"):
			goFams++
		case strings.HasPrefix(name, "process_"):
			process++
		default:
			t.Errorf("family %s is outside hearsay_, go_ and process_", name)
		}
	}
	t.Logf("families: %d hearsay_, %d go_, %d process_", hearsay, goFams, process)
}

// TestToolsCatch checks that the parser and the linter, as called here,
// do find the mistakes the agent once made, so that a clean result means
// something.
func TestToolsCatch(t *testing.T) {
	if _, err := parse([]byte("# TYPE x counter\n# TYPE x gauge\nx 1\n")); err == nil {
		t.Error("parse of a family typed twice: nil error")
	}
	if _, err := parse([]byte("hearsay-bytes 1\n")); err == nil {
		t.Error("parse of a name with a dash: nil error")
	}
	bad := "# HELP hearsay_bytes_in Bytes in.\n# TYPE hearsay_bytes_in counter\nhearsay_bytes_in 3\n" +
		"# TYPE hearsay_rtt_milliseconds gauge\nhearsay_rtt_milliseconds 2\n"
	problems, err := promlint.New(strings.NewReader(bad)).Lint()
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, p := range problems {
		got = append(got, p.Metric+": "+p.Text)
	}
	// A counter without _total, a family without HELP, a unit that is not
	// a base unit.
	if len(got) < 3 {
		t.Errorf("promlint found %d problems in a bad exposition, want at least 3: %q", len(got), got)
	}
}
