package main

import (
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/hearsay-io/hearsay"
)

// TestMetricHelp checks that every metric the engine reports has a help
// text, or is replaced by an agent family, so that a new engine metric is
// documented here too.
func TestMetricHelp(t *testing.T) {
	var s hearsay.Stats
	for _, m := range s.Metrics(nil) {
		if metricsReplaced[m.Name] != "" {
			continue
		}
		base, _, _ := splitMetric(m.Name)
		if metricHelp[base] == "" {
			t.Errorf("engine metric %s (family %s) has no help text in metricHelp", m.Name, base)
		}
	}
	for name := range metricsReplaced {
		found := false
		for _, m := range s.Metrics(nil) {
			found = found || m.Name == name
		}
		if !found {
			t.Errorf("metricsReplaced names %s, which the engine does not report", name)
		}
	}
}

func TestWriteMetrics(t *testing.T) {
	ms := []hearsay.Metric{
		{Name: "datagrams_in", Value: 7},
		{Name: "bytes_out", Value: 1400},
		{Name: "queue.depth", Value: 3, Gauge: true},
		{Name: "members", Value: 9, Gauge: true}, // replaced by hearsay_members{state}
		{Name: "drops.auth", Value: 1},
		{Name: "drops.self", Value: 2},
		{Name: "msgs_in.ping_req", Value: 4},
		{Name: "transport.drops.buffer_full", Value: 5},
		{Name: "future.thing-x", Value: 6},
	}
	quantile := floatSample(0.000125)
	quantile.labels = [][2]string{{"quantile", "0.5"}}
	sum, count := floatSample(1.5), intSample(12)
	sum.suffix, count.suffix = "_sum", "_count"
	extra := []*metricFamily{
		{name: "hearsay_info", help: "line\nbreak \\ here", kind: gauge,
			samples: []metricSample{{labels: [][2]string{{"id", `a"b\c` + "\n"}}, val: 1}}},
		{name: "x_duration_seconds", help: "A summary.", kind: summary, samples: []metricSample{quantile, sum, count}},
		{name: "x_start_time_seconds", help: "A float gauge.", kind: gauge, samples: []metricSample{floatSample(1.7e9 + 0.25)}},
	}
	var b strings.Builder
	if err := writeMetrics(&b, ms, extra); err != nil {
		t.Fatal(err)
	}
	want := `# HELP hearsay_received_datagrams_total Datagrams handled by the protocol.
# TYPE hearsay_received_datagrams_total counter
hearsay_received_datagrams_total 7
# HELP hearsay_sent_bytes_total Bytes of datagrams sent by the protocol (sealed size).
# TYPE hearsay_sent_bytes_total counter
hearsay_sent_bytes_total 1400
# HELP hearsay_queue_depth Pending updates in the dissemination queue.
# TYPE hearsay_queue_depth gauge
hearsay_queue_depth 3
# HELP hearsay_drops_total Received datagrams dropped by the protocol, by cause.
# TYPE hearsay_drops_total counter
hearsay_drops_total{cause="auth"} 1
hearsay_drops_total{cause="self"} 2
# HELP hearsay_received_messages_total Datagrams received, by message type.
# TYPE hearsay_received_messages_total counter
hearsay_received_messages_total{type="ping_req"} 4
# HELP hearsay_transport_drops_total Datagrams the UDP socket dropped, by cause.
# TYPE hearsay_transport_drops_total counter
hearsay_transport_drops_total{cause="buffer_full"} 5
# HELP hearsay_future_thing_x_total Hearsay engine metric future.thing-x (see hearsay.Stats.Metrics).
# TYPE hearsay_future_thing_x_total counter
hearsay_future_thing_x_total 6
# HELP hearsay_info line\nbreak \\ here
# TYPE hearsay_info gauge
hearsay_info{id="a\"b\\c\n"} 1
# HELP x_duration_seconds A summary.
# TYPE x_duration_seconds summary
x_duration_seconds{quantile="0.5"} 0.000125
x_duration_seconds_sum 1.5
x_duration_seconds_count 12
# HELP x_start_time_seconds A float gauge.
# TYPE x_start_time_seconds gauge
x_start_time_seconds 1.70000000025e+09
`
	if got := b.String(); got != want {
		t.Errorf("writeMetrics =\n%s\nwant\n%s", got, want)
	}
	checkExposition(t, b.String())
}

// TestWriteMetricsAll checks the exposition of every engine metric: one
// sample each, but for those an agent family replaces.
func TestWriteMetricsAll(t *testing.T) {
	var s hearsay.Stats
	s.DatagramsIn, s.BytesIn, s.BytesOut = 1, 100, 200
	var b strings.Builder
	if err := writeMetrics(&b, s.Metrics(nil), nil); err != nil {
		t.Fatal(err)
	}
	got := checkExposition(t, b.String())
	for name, want := range map[string]float64{
		"hearsay_received_datagrams_total": 1,
		"hearsay_received_bytes_total":     100,
		"hearsay_sent_bytes_total":         200,
	} {
		if got[name] != want {
			t.Errorf("%s = %v, want %v", name, got[name], want)
		}
	}
	if n, want := len(got), len(s.Metrics(nil))-len(metricsReplaced); n != want {
		t.Errorf("%d samples, want one per engine metric not replaced (%d)", n, want)
	}
	for name := range got {
		if strings.Contains(name, "_in_total") || strings.Contains(name, "_out_total") || strings.Contains(name, "_in{") || strings.Contains(name, "_out{") {
			t.Errorf("%s: named by in/out, want received/sent", name)
		}
	}
}

// TestRuntimeMetrics checks the go_* and process_* families on their own.
func TestRuntimeMetrics(t *testing.T) {
	runtime.GC() // so that the pause summary has a pause
	var b strings.Builder
	extra := append(runtimeMetrics(), processMetrics()...)
	extra = append(extra, buildInfoFamily(buildInfo{version: "v1.2.3", revision: "abc", goVersion: "go1.99"}))
	if err := writeMetrics(&b, nil, extra); err != nil {
		t.Fatal(err)
	}
	samples := checkExposition(t, b.String())
	checkStandardMetrics(t, samples)
	if samples[`hearsay_build_info{version="v1.2.3",revision="abc",goversion="go1.99"}`] != 1 {
		t.Errorf("hearsay_build_info with the given labels missing:\n%s", b.String())
	}
	if samples["go_gc_duration_seconds_count"] < 1 || samples[`go_gc_duration_seconds{quantile="1"}`] <= 0 ||
		samples["go_memstats_last_gc_time_seconds"] <= 0 {
		t.Errorf("go_gc_duration_seconds count %v, max %v, last GC at %v after runtime.GC; want all > 0",
			samples["go_gc_duration_seconds_count"], samples[`go_gc_duration_seconds{quantile="1"}`], samples["go_memstats_last_gc_time_seconds"])
	}
}

// checkStandardMetrics checks that samples hold the go_* families, the
// process_* ones on Linux, and hearsay_build_info, with plausible values.
func checkStandardMetrics(t *testing.T, samples map[string]float64) {
	t.Helper()
	positive := []string{
		"go_goroutines", "go_threads", "go_sched_gomaxprocs_threads",
		"go_memstats_alloc_bytes", "go_memstats_alloc_bytes_total", "go_memstats_sys_bytes",
		"go_memstats_mallocs_total", "go_memstats_heap_alloc_bytes", "go_memstats_heap_sys_bytes",
		"go_memstats_heap_inuse_bytes", "go_memstats_heap_objects", "go_memstats_stack_inuse_bytes",
		"go_memstats_next_gc_bytes",
	}
	present := []string{
		"go_memstats_frees_total", "go_memstats_heap_idle_bytes", "go_memstats_heap_released_bytes",
		"go_memstats_last_gc_time_seconds", `go_gc_duration_seconds{quantile="0"}`, "go_gc_duration_seconds_sum",
		"go_gc_duration_seconds_count", `go_info{version="` + runtime.Version() + `"}`,
	}
	if runtime.GOOS == "linux" {
		positive = append(positive, "process_resident_memory_bytes", "process_virtual_memory_bytes",
			"process_open_fds", "process_max_fds")
		present = append(present, "process_cpu_seconds_total")
	}
	for _, name := range positive {
		if v, ok := samples[name]; !ok || v <= 0 {
			t.Errorf("%s = %v (present %v), want > 0", name, v, ok)
		}
	}
	for _, name := range present {
		if _, ok := samples[name]; !ok {
			t.Errorf("%s missing", name)
		}
	}
	start := samples["process_start_time_seconds"]
	if now := float64(time.Now().Unix()); start < now-24*3600 || start > now+2 {
		t.Errorf("process_start_time_seconds = %v, want within the last day (now %v)", start, now)
	}
	n := 0
	for name := range samples {
		if strings.HasPrefix(name, "hearsay_build_info{") {
			n++
			if samples[name] != 1 {
				t.Errorf("%s = %v, want 1", name, samples[name])
			}
		}
	}
	if n != 1 {
		t.Errorf("%d hearsay_build_info samples, want 1", n)
	}
}
