package main

import (
	"bufio"
	"io"
	"strconv"
	"strings"

	"github.com/hearsay-io/hearsay/engine"
)

// Prometheus exposition of engine.NodeStats.Metrics, in the text format
// (version 0.0.4). Each engine metric name becomes hearsay_<name> with '.'
// replaced by '_', and counters take the conventional _total suffix.
// Metrics that differ only by a trailing part become one family with a
// label:
//
//	msgs_in.<type>          hearsay_msgs_in_total{type="<type>"}
//	msgs_out.<type>         hearsay_msgs_out_total{type="<type>"}
//	msg_bytes_out.<type>    hearsay_msg_bytes_out_total{type="<type>"}
//	drops.<cause>           hearsay_drops_total{cause="<cause>"}
//	transport.drops.<cause> hearsay_transport_drops_total{cause="<cause>"}
//
// The agent adds hearsay_member_states{state=...} (members this node knows
// by state), hearsay_healthy (1 when /healthz answers 200) and hearsay_info
// (constant 1, labelled with the node's ID, address and cluster).

// labelGroups turn a prefix of engine metric names into a labelled family.
var labelGroups = []struct{ prefix, family, label string }{
	{"msgs_in.", "msgs_in", "type"},
	{"msgs_out.", "msgs_out", "type"},
	{"msg_bytes_out.", "msg_bytes_out", "type"},
	{"transport.drops.", "transport_drops", "cause"},
	{"drops.", "drops", "cause"},
}

// metricHelp documents every family, by its name without the hearsay_
// prefix and _total suffix. TestMetricHelp checks that every engine metric
// has an entry.
var metricHelp = map[string]string{
	"datagrams_in":            "Datagrams handled by the protocol.",
	"datagrams_out":           "Datagrams sent by the protocol.",
	"bytes_in":                "Bytes of datagrams handled by the protocol.",
	"bytes_out":               "Bytes of datagrams sent by the protocol.",
	"msgs_in":                 "Datagrams received, by message type.",
	"msgs_out":                "Datagrams sent, by message type.",
	"msg_bytes_out":           "Bytes of datagrams sent, by message type.",
	"drops":                   "Received datagrams dropped by the protocol, by cause.",
	"seal_errors":             "Datagrams that could not be sealed and were not sent.",
	"refused_members":         "Member records refused because the table was full (MaxMembers).",
	"refused_state":           "Application-state updates refused (MaxStateKeys, MaxStateBytes, stale generation).",
	"refused_requests":        "Ping and ping-req records beyond the first of each in one datagram, ignored.",
	"id_conflicts":            "Records seen claiming this node's ID from another address or generation.",
	"updates_sent":            "Updates piggybacked or gossiped.",
	"updates_received":        "Updates received that changed the table.",
	"queue_dropped":           "Pending updates dropped from the full dissemination queue.",
	"queue_depth":             "Pending updates in the dissemination queue.",
	"heartbeats":              "Heartbeats received from subjects this node observes.",
	"heartbeats_stale":        "Heartbeats ignored because their counter did not rise (duplicates, late arrivals, replays).",
	"probes":                  "Direct probes (pings) sent.",
	"indirect_probes":         "Indirect probes (ping-req rounds) started.",
	"nacks":                   "Nacks received from helpers of indirect probes.",
	"inconclusive":            "Indirect probes that ended with no answer from any helper (no accusation made).",
	"suspicions":              "Accusations this node made.",
	"refutations":             "Suspicions of this node that it refuted.",
	"refutations_withheld":    "Suspicions of this node it did not refute because its links looked bad.",
	"deaths":                  "Members this node declared dead.",
	"reaped":                  "Tombstones removed after TombstoneRetention.",
	"tombstones_adopted":      "Tombstones of members this node did not hold, kept for what was left of their retention.",
	"sync_started":            "Anti-entropy exchanges started.",
	"sync_shards_sent":        "Table shards sent in anti-entropy and joins.",
	"sync_shards_received":    "Table shards received in anti-entropy and joins.",
	"sync_compressed":         "Shard transfers sent compressed.",
	"sync_compress_misses":    "Shard transfers that did not shrink when compressed.",
	"events":                  "Events emitted by the protocol.",
	"local_health":            "Local health score: this node's timeouts are multiplied by 1 + score.",
	"members":                 "Members in this node's table, tombstones included.",
	"live_members":            "Live (alive or suspect) members in this node's table.",
	"transport_datagrams_in":  "Datagrams the UDP socket received.",
	"transport_datagrams_out": "Datagrams the UDP socket sent.",
	"transport_bytes_in":      "Bytes the UDP socket received.",
	"transport_bytes_out":     "Bytes the UDP socket sent.",
	"transport_batches_in":    "Receive system calls (batches) that returned datagrams.",
	"transport_batches_out":   "Send system calls (batches).",
	"transport_drops":         "Datagrams the UDP socket dropped, by cause.",
	"transport_gso_segments":  "Datagrams sent as UDP GSO segments.",
	"transport_gso_fallbacks": "GSO sends that fell back to one datagram per call.",
	"events_delivered":        "Events delivered to subscribers.",
	"events_dropped":          "Events dropped at full subscriber channels.",
	"subscriptions":           "Open event subscriptions.",
	"recv_backlog":            "Received batches waiting for the node's goroutine.",
	"read_errors":             "Unexpected socket read errors.",
	"member_states":           "Members this node knows, by state.",
	"healthy":                 "1 when the agent is joined and not leaving or rejoining, else 0.",
	"info":                    "Constant 1, labelled with this node's identity.",
}

type metricFamily struct {
	name    string // full name, with prefix and suffix
	help    string
	gauge   bool
	samples []metricSample
}

type metricSample struct {
	labels [][2]string
	value  uint64
}

// splitMetric returns the family base name and label of an engine metric.
func splitMetric(name string) (base, label, value string) {
	for _, g := range labelGroups {
		if v, ok := strings.CutPrefix(name, g.prefix); ok {
			return g.family, g.label, v
		}
	}
	return strings.ReplaceAll(name, ".", "_"), "", ""
}

// families groups engine metrics into Prometheus families, in the order the
// engine lists them.
func families(ms []engine.Metric) []*metricFamily {
	var out []*metricFamily
	byName := map[string]*metricFamily{}
	for _, m := range ms {
		base, label, lv := splitMetric(m.Name)
		name := "hearsay_" + sanitizeName(base)
		if !m.Gauge {
			name += "_total"
		}
		f := byName[name]
		if f == nil {
			help := metricHelp[base]
			if help == "" {
				help = "Hearsay engine metric " + m.Name + " (see engine.NodeStats.Metrics)."
			}
			f = &metricFamily{name: name, help: help, gauge: m.Gauge}
			byName[name] = f
			out = append(out, f)
		}
		s := metricSample{value: m.Value}
		if label != "" {
			s.labels = [][2]string{{label, lv}}
		}
		f.samples = append(f.samples, s)
	}
	return out
}

// extraMetrics are the agent's own families.
func (a *agent) extraMetrics() []*metricFamily {
	counts := map[engine.State]uint64{}
	for _, m := range a.node.Members() {
		counts[m.State]++
	}
	states := &metricFamily{name: "hearsay_member_states", help: metricHelp["member_states"], gauge: true}
	for _, s := range []engine.State{engine.StateAlive, engine.StateSuspect, engine.StateDead, engine.StateLeft} {
		states.samples = append(states.samples, metricSample{labels: [][2]string{{"state", s.String()}}, value: counts[s]})
	}
	var h uint64
	if ok, _ := a.status(); ok {
		h = 1
	}
	c := a.node.Config()
	return []*metricFamily{
		states,
		{name: "hearsay_healthy", help: metricHelp["healthy"], gauge: true, samples: []metricSample{{value: h}}},
		{name: "hearsay_info", help: metricHelp["info"], gauge: true, samples: []metricSample{{
			labels: [][2]string{{"id", a.node.ID().String()}, {"addr", a.node.Addr().String()}, {"cluster", c.ClusterName}},
			value:  1,
		}}},
	}
}

// writeMetrics writes the engine's metrics and extra families in the
// Prometheus text format.
func writeMetrics(w io.Writer, ms []engine.Metric, extra []*metricFamily) error {
	bw := bufio.NewWriter(w)
	for _, f := range append(families(ms), extra...) {
		typ := "counter"
		if f.gauge {
			typ = "gauge"
		}
		bw.WriteString("# HELP " + f.name + " " + escapeHelp(f.help) + "\n")
		bw.WriteString("# TYPE " + f.name + " " + typ + "\n")
		for _, s := range f.samples {
			bw.WriteString(f.name)
			if len(s.labels) > 0 {
				bw.WriteByte('{')
				for i, l := range s.labels {
					if i > 0 {
						bw.WriteByte(',')
					}
					bw.WriteString(sanitizeName(l[0]) + `="` + escapeLabel(l[1]) + `"`)
				}
				bw.WriteByte('}')
			}
			bw.WriteByte(' ')
			bw.WriteString(strconv.FormatUint(s.value, 10))
			bw.WriteByte('\n')
		}
	}
	return bw.Flush()
}

// sanitizeName maps a name onto the metric name alphabet [a-zA-Z0-9_:].
func sanitizeName(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case 'a' <= r && r <= 'z', 'A' <= r && r <= 'Z', '0' <= r && r <= '9', r == '_', r == ':':
			return r
		}
		return '_'
	}, s)
}

var (
	helpEscaper  = strings.NewReplacer(`\`, `\\`, "\n", `\n`)
	labelEscaper = strings.NewReplacer(`\`, `\\`, "\n", `\n`, `"`, `\"`)
)

func escapeHelp(s string) string  { return helpEscaper.Replace(s) }
func escapeLabel(s string) string { return labelEscaper.Replace(s) }
