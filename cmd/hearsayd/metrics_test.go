package main

import (
	"strings"
	"testing"

	"github.com/hearsay-io/hearsay/engine"
)

// TestMetricHelp checks that every metric the engine reports has a help
// text, so that a new engine metric is documented here too.
func TestMetricHelp(t *testing.T) {
	var s engine.NodeStats
	for _, m := range s.Metrics(nil) {
		base, _, _ := splitMetric(m.Name)
		if metricHelp[base] == "" {
			t.Errorf("engine metric %s (family %s) has no help text in metricHelp", m.Name, base)
		}
	}
}

func TestWriteMetrics(t *testing.T) {
	ms := []engine.Metric{
		{Name: "datagrams_in", Value: 7},
		{Name: "queue.depth", Value: 3, Gauge: true},
		{Name: "drops.auth", Value: 1},
		{Name: "drops.self", Value: 2},
		{Name: "msgs_in.ping_req", Value: 4},
		{Name: "transport.drops.buffer_full", Value: 5},
		{Name: "future.thing-x", Value: 6},
	}
	extra := []*metricFamily{{name: "hearsay_info", help: "line\nbreak \\ here", gauge: true,
		samples: []metricSample{{labels: [][2]string{{"id", `a"b\c` + "\n"}}, value: 1}}}}
	var b strings.Builder
	if err := writeMetrics(&b, ms, extra); err != nil {
		t.Fatal(err)
	}
	want := `# HELP hearsay_datagrams_in_total Datagrams handled by the protocol.
# TYPE hearsay_datagrams_in_total counter
hearsay_datagrams_in_total 7
# HELP hearsay_queue_depth Pending updates in the dissemination queue.
# TYPE hearsay_queue_depth gauge
hearsay_queue_depth 3
# HELP hearsay_drops_total Received datagrams dropped by the protocol, by cause.
# TYPE hearsay_drops_total counter
hearsay_drops_total{cause="auth"} 1
hearsay_drops_total{cause="self"} 2
# HELP hearsay_msgs_in_total Datagrams received, by message type.
# TYPE hearsay_msgs_in_total counter
hearsay_msgs_in_total{type="ping_req"} 4
# HELP hearsay_transport_drops_total Datagrams the UDP socket dropped, by cause.
# TYPE hearsay_transport_drops_total counter
hearsay_transport_drops_total{cause="buffer_full"} 5
# HELP hearsay_future_thing_x_total Hearsay engine metric future.thing-x (see engine.NodeStats.Metrics).
# TYPE hearsay_future_thing_x_total counter
hearsay_future_thing_x_total 6
# HELP hearsay_info line\nbreak \\ here
# TYPE hearsay_info gauge
hearsay_info{id="a\"b\\c\n"} 1
`
	if got := b.String(); got != want {
		t.Errorf("writeMetrics =\n%s\nwant\n%s", got, want)
	}
	checkExposition(t, b.String())
}

// TestWriteMetricsAll checks the exposition of every engine metric.
func TestWriteMetricsAll(t *testing.T) {
	var s engine.NodeStats
	s.DatagramsIn = 1
	var b strings.Builder
	if err := writeMetrics(&b, s.Metrics(nil), nil); err != nil {
		t.Fatal(err)
	}
	got := checkExposition(t, b.String())
	if got["hearsay_datagrams_in_total"] != 1 {
		t.Errorf("hearsay_datagrams_in_total = %v, want 1", got["hearsay_datagrams_in_total"])
	}
	if n, want := len(got), len(s.Metrics(nil)); n != want {
		t.Errorf("%d samples, want one per engine metric (%d)", n, want)
	}
}
