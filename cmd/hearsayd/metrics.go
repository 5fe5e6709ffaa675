package main

import (
	"bufio"
	"io"
	"strconv"
	"strings"

	"github.com/hearsay-io/hearsay"
)

// Prometheus exposition of hearsay.Stats.Metrics, in the text format
// (version 0.0.4). Each engine metric name becomes hearsay_<name> with '.'
// replaced by '_', and counters take the conventional _total suffix.
// Counters of a direction are named by it, received or sent first, as
// Prometheus names go:
//
//	datagrams_in, datagrams_out        hearsay_received_datagrams_total, hearsay_sent_datagrams_total
//	bytes_in, bytes_out                hearsay_received_bytes_total, hearsay_sent_bytes_total
//	transport.datagrams_in, _out       hearsay_transport_received_datagrams_total, hearsay_transport_sent_datagrams_total
//	transport.bytes_in, _out           hearsay_transport_received_bytes_total, hearsay_transport_sent_bytes_total
//	transport.batches_in, _out         hearsay_transport_receive_batches_total, hearsay_transport_send_batches_total
//	bytes_decompressed                 hearsay_decompressed_bytes_total (units last)
//
// Metrics that differ only by a trailing part become one family with a
// label:
//
//	msgs_in.<type>          hearsay_received_messages_total{type="<type>"}
//	msgs_out.<type>         hearsay_sent_messages_total{type="<type>"}
//	msg_bytes_out.<type>    hearsay_sent_message_bytes_total{type="<type>"}
//	drops.<cause>           hearsay_drops_total{cause="<cause>"}
//	transport.drops.<cause> hearsay_transport_drops_total{cause="<cause>"}
//
// The engine's members and live_members gauges are not exported: the
// agent's hearsay_members{state="alive|suspect|dead|left"} says the same
// and more (live members are alive plus suspect; all four sum to the
// table). The agent adds hearsay_probe_rtt_seconds (a histogram of the
// round trips the node's probes measured, buckets from 50 µs to 5 s),
// hearsay_healthy (1 when /healthz answers 200), hearsay_info (constant 1,
// labelled with the node's ID, address and cluster) and hearsay_build_info
// (constant 1, labelled with the version, VCS revision and Go version),
// and the go_* and process_* families of metrics_runtime.go and
// metrics_process*.go.

// metricRenames name the engine metrics of a direction (base names, '.'
// replaced, without hearsay_ and _total).
var metricRenames = map[string]string{
	"datagrams_in":            "received_datagrams",
	"datagrams_out":           "sent_datagrams",
	"bytes_in":                "received_bytes",
	"bytes_out":               "sent_bytes",
	"transport.datagrams_in":  "transport_received_datagrams",
	"transport.datagrams_out": "transport_sent_datagrams",
	"transport.bytes_in":      "transport_received_bytes",
	"transport.bytes_out":     "transport_sent_bytes",
	"transport.batches_in":    "transport_receive_batches",
	"transport.batches_out":   "transport_send_batches",
	"bytes_decompressed":      "decompressed_bytes", // the unit last
}

// labelGroups turn a prefix of engine metric names into a labelled family.
var labelGroups = []struct{ prefix, family, label string }{
	{"msgs_in.", "received_messages", "type"},
	{"msgs_out.", "sent_messages", "type"},
	{"msg_bytes_out.", "sent_message_bytes", "type"},
	{"transport.drops.", "transport_drops", "cause"},
	{"drops.", "drops", "cause"},
}

// metricsReplaced are the engine metrics not exported, because an agent
// family covers them.
var metricsReplaced = map[string]string{
	"members":      "hearsay_members",
	"live_members": "hearsay_members",
}

// metricHelp documents every family, by its name without the hearsay_
// prefix and _total suffix. TestMetricHelp checks that every engine metric
// has an entry.
var metricHelp = map[string]string{
	"received_datagrams":           "Datagrams handled by the protocol.",
	"sent_datagrams":               "Datagrams sent by the protocol.",
	"received_bytes":               "Bytes of datagrams handled by the protocol.",
	"sent_bytes":                   "Bytes of datagrams sent by the protocol (sealed size).",
	"received_messages":            "Datagrams received, by message type.",
	"sent_messages":                "Datagrams sent, by message type.",
	"sent_message_bytes":           "Bytes of datagrams sent, by message type (sealed size).",
	"drops":                        "Received datagrams dropped by the protocol, by cause.",
	"seal_errors":                  "Datagrams that could not be sealed and were not sent.",
	"refused_members":              "Member records refused because the table was full (MaxMembers).",
	"refused_state":                "Application-state updates refused at a member's MaxStateKeys or MaxStateBytes.",
	"state_early":                  "Application-state updates of a member not known yet (its record had not arrived), not kept.",
	"refused_requests":             "Ping and ping-req records beyond the first of each in one datagram, ignored.",
	"id_conflicts":                 "Records seen claiming this node's ID from another address or generation.",
	"updates_sent":                 "Updates piggybacked or gossiped.",
	"updates_received":             "Updates received that changed the table.",
	"queue_dropped":                "Pending updates dropped from the full dissemination queue.",
	"queue_depth":                  "Pending updates in the dissemination queue.",
	"heartbeats":                   "Heartbeats received from subjects this node observes.",
	"heartbeats_stale":             "Heartbeats ignored because their counter did not rise (duplicates, late arrivals, replays).",
	"probes":                       "Direct probes (pings) sent.",
	"indirect_probes":              "Indirect probes (ping-req rounds) started.",
	"nacks":                        "Nacks received from helpers of indirect probes.",
	"inconclusive":                 "Indirect probes that ended with no answer from any helper (no accusation made).",
	"suspicions":                   "Accusations this node made.",
	"refutations":                  "Suspicions of this node that it refuted.",
	"refutations_withheld":         "Suspicions of this node it did not refute because its links looked bad.",
	"ack_copies":                   "Further copies of acks to pings that claimed this node suspect or dead.",
	"deaths":                       "Members this node declared dead.",
	"reaped":                       "Tombstones removed after TombstoneRetention.",
	"tombstones_adopted":           "Tombstones of members this node did not hold, kept for what was left of their retention.",
	"sync_started":                 "Anti-entropy exchanges started.",
	"sync_heal_contacts":           "Members held dead contacted because another member held dead talked to this node (a healed partition).",
	"sync_shards_sent":             "Table shards sent in anti-entropy and joins.",
	"sync_shards_received":         "Table shards received in anti-entropy and joins.",
	"sync_compressed":              "Shard transfers sent compressed.",
	"sync_compress_misses":         "Shard transfers that did not shrink when compressed.",
	"events":                       "Events emitted by the protocol.",
	"refused_implausible":          "Records and datagrams refused because a counter was at its maximum or a generation too far ahead of this node's clock (MaxClockSkew).",
	"forged_state":                 "Application-state entries about this node that it did not write, superseded.",
	"renewals":                     "New generations this node started to supersede claims about itself.",
	"replies_refused":              "Answers not sent because the reply budget (MaxReplyBytes) was spent.",
	"replies_refused_bytes":        "Bytes of the answers not sent because the reply budget was spent.",
	"replies_retries_sent":         "Retry answers with an address-validation token, sent to unvalidated addresses.",
	"replies_busy_sent":            "Retry answers asking a validated peer to wait.",
	"replies_retries_followed":     "Requests sent again after a Retry answer.",
	"refused_duplicate_refs":       "Repeated digest or shard references in one request, served once.",
	"replay_windows_evicted":       "Replay windows of non-members forgotten to bound memory.",
	"decompressed_bytes":           "Bytes of received bodies after decompression.",
	"admission_pending":            "Members heard of from untrusted sources, held until they answer a ping at their address.",
	"admission_refused":            "Members not held for admission: the pending list was full, or another claim to the address was pending.",
	"admission_pings":              "Pings sent to members held for admission.",
	"admission_admitted":           "Members held for admission that answered and entered the table.",
	"admission_expired":            "Members held for admission that did not answer in time.",
	"doubts":                       "Deaths heard of for members this node holds alive, checked by a ping before they are taken.",
	"doubts_cleared":               "Doubted deaths not taken: the member answered or refuted.",
	"watches":                      "Suspicions heard of that this node watched, pinging the suspect ahead of its death.",
	"watch_pings":                  "Pings sent to suspects held on hearsay, the suspicion attached.",
	"late_acks":                    "Acks that arrived after their probe ran out, taken as round-trip samples.",
	"probes_overtaken":             "Probes of a subject ended by a new heartbeat of its arriving first (a slow link).",
	"stalls":                       "Ticks so late that the node must have stalled; its waiting timers were moved.",
	"suspicions_held":              "Suspicion timers that ran out while the suspect was still heard from first-hand, and were re-armed.",
	"corrections":                  "Refutations sent to a member that told this node an accusation the refutation supersedes.",
	"revivals":                     "Records bringing back a member held dead, held until it answers pings.",
	"revivals_refused":             "Records bringing back a member held dead, dropped: it did not answer in time.",
	"revivals_unproven":            "Live records of a member held dead that did not follow its rejoin: the member is told it is held dead instead.",
	"tombstones_raised":            "Deaths this node raised to a later incarnation that the member refuted at without proof, and gossiped.",
	"refused_addr":                 "Member records refused because their address is outside AllowedPrefixes.",
	"admit_refused":                "Members the application's Admit hook refused (once per member and generation).",
	"admit_refused_records":        "Member records dropped because their member was refused at that generation.",
	"admit_removed":                "Members this node held and removed because they were refused.",
	"user_broadcasts_sent":         "User broadcasts this node started.",
	"user_broadcasts_received":     "User broadcasts of other members delivered here.",
	"user_broadcasts_relayed":      "User broadcast transmissions, this node's own and others'.",
	"user_broadcasts_dropped":      "User broadcasts dropped from the full queue (MaxBroadcasts, MaxBroadcastBytes).",
	"user_broadcasts_refused":      "User broadcasts not taken: untrusted source, origin not live here, or outside the origin's window.",
	"user_sends_sent":              "User messages sent to one member.",
	"user_sends_received":          "User messages sent to this node, delivered.",
	"user_sends_dropped":           "User messages this node did not send: the member's address did not answer in time, or too many waited.",
	"user_sends_refused":           "User messages sent to this node and refused: over MaxMessageRate, not from their member's address, or outside its window.",
	"user_duplicates":              "User messages received again, ignored.",
	"user_bytes_sent":              "Payload bytes of user messages sent, every broadcast transmission counted.",
	"user_bytes_received":          "Payload bytes of user messages delivered.",
	"user_queue":                   "User broadcasts waiting in the dissemination queue.",
	"user_queue_bytes":             "Payload bytes of the user broadcasts waiting in the queue.",
	"link_loss_permille":           "Per mille of its subjects' heartbeats this node misses.",
	"local_health":                 "Local health score: this node's timeouts are multiplied by 1 + score.",
	"transport_received_datagrams": "Datagrams the UDP socket received.",
	"transport_sent_datagrams":     "Datagrams the UDP socket sent.",
	"transport_received_bytes":     "Bytes the UDP socket received.",
	"transport_sent_bytes":         "Bytes the UDP socket sent.",
	"transport_receive_batches":    "Receive system calls (batches) that returned datagrams.",
	"transport_send_batches":       "Send system calls (batches).",
	"transport_drops":              "Datagrams the UDP socket dropped, by cause.",
	"transport_gso_segments":       "Datagrams sent as UDP GSO segments.",
	"transport_gso_fallbacks":      "GSO sends that fell back to one datagram per call.",
	"events_delivered":             "Events delivered to subscribers.",
	"events_dropped":               "Events dropped at full subscriber channels.",
	"subscriptions":                "Open event subscriptions.",
	"recv_backlog":                 "Received batches waiting for the node's goroutine.",
	"read_errors":                  "Unexpected socket read errors.",
	"members":                      "Members in this node's table by state; live members are alive and suspect, dead and left are tombstones.",
	"probe_rtt_seconds":            "Round trips this node measured with its probes, one sample per answered ping.",
	"healthy":                      "1 when the agent is joined and not leaving or rejoining (/healthz answers 200), else 0.",
	"info":                         "Constant 1, labelled with this node's identity.",
	"build_info":                   "Constant 1, labelled with the agent's module version, VCS revision and Go version.",
}

// metricKind is a family's TYPE.
type metricKind uint8

const (
	counter metricKind = iota
	gauge
	summary
	histogram
)

func (k metricKind) String() string {
	switch k {
	case gauge:
		return "gauge"
	case summary:
		return "summary"
	case histogram:
		return "histogram"
	}
	return "counter"
}

type metricFamily struct {
	name    string // full name, with prefix and suffix
	help    string
	kind    metricKind
	samples []metricSample
}

// metricSample is one line of a family: its value is val, or fval when
// float is set (seconds, quantiles). suffix extends the family name, for
// a summary's _sum and _count.
type metricSample struct {
	suffix string
	labels [][2]string
	val    uint64
	fval   float64
	float  bool
}

func intSample(v uint64) metricSample    { return metricSample{val: v} }
func floatSample(v float64) metricSample { return metricSample{fval: v, float: true} }

// splitMetric returns the family base name and label of an engine metric.
func splitMetric(name string) (base, label, value string) {
	for _, g := range labelGroups {
		if v, ok := strings.CutPrefix(name, g.prefix); ok {
			return g.family, g.label, v
		}
	}
	if r, ok := metricRenames[name]; ok {
		return r, "", ""
	}
	return strings.ReplaceAll(name, ".", "_"), "", ""
}

// families groups engine metrics into Prometheus families, in the order the
// engine lists them, leaving out metricsReplaced.
func families(ms []hearsay.Metric) []*metricFamily {
	var out []*metricFamily
	byName := map[string]*metricFamily{}
	for _, m := range ms {
		if metricsReplaced[m.Name] != "" {
			continue
		}
		base, label, lv := splitMetric(m.Name)
		name := "hearsay_" + sanitizeName(base)
		kind := gauge
		if !m.Gauge {
			name += "_total"
			kind = counter
		}
		f := byName[name]
		if f == nil {
			help := metricHelp[base]
			if help == "" {
				help = "Hearsay engine metric " + m.Name + " (see hearsay.Stats.Metrics)."
			}
			f = &metricFamily{name: name, help: help, kind: kind}
			byName[name] = f
			out = append(out, f)
		}
		s := intSample(m.Value)
		if label != "" {
			s.labels = [][2]string{{label, lv}}
		}
		f.samples = append(f.samples, s)
	}
	return out
}

// agentMetrics are the agent's own families.
func (a *agent) agentMetrics() []*metricFamily {
	c := a.node.Counts()
	members := &metricFamily{name: "hearsay_members", help: metricHelp["members"], kind: gauge}
	for _, s := range []struct {
		state hearsay.State
		n     int
	}{{hearsay.StateAlive, c.Alive}, {hearsay.StateSuspect, c.Suspect}, {hearsay.StateDead, c.Dead}, {hearsay.StateLeft, c.Left}} {
		ms := intSample(uint64(s.n))
		ms.labels = [][2]string{{"state", s.state.String()}}
		members.samples = append(members.samples, ms)
	}
	var h uint64
	if ok, _, _ := a.status(); ok {
		h = 1
	}
	cfg := a.node.Config()
	return []*metricFamily{
		members,
		{name: "hearsay_healthy", help: metricHelp["healthy"], kind: gauge, samples: []metricSample{intSample(h)}},
		{name: "hearsay_info", help: metricHelp["info"], kind: gauge, samples: []metricSample{{
			labels: [][2]string{{"id", a.node.ID().String()}, {"addr", a.node.Addr().String()}, {"cluster", cfg.ClusterName}},
			val:    1,
		}}},
		buildInfoFamily(readBuildInfo()),
	}
}

// rttFamily is hearsay_probe_rtt_seconds, the histogram of probe round
// trips (hearsay.Stats.ProbeRTT): cumulative buckets by upper bound, then
// +Inf, _sum and _count. The node fills the histogram without allocating;
// this renders it.
func rttFamily(h *hearsay.RTTHistogram) *metricFamily {
	f := &metricFamily{name: "hearsay_probe_rtt_seconds", help: metricHelp["probe_rtt_seconds"], kind: histogram}
	var cum uint64
	for i, c := range h.Counts {
		cum += c
		le := "+Inf"
		if i < len(hearsay.RTTBuckets) {
			le = strconv.FormatFloat(hearsay.RTTBuckets[i].Seconds(), 'g', -1, 64)
		}
		s := intSample(cum)
		s.suffix = "_bucket"
		s.labels = [][2]string{{"le", le}}
		f.samples = append(f.samples, s)
	}
	sum := floatSample(h.Sum.Seconds())
	sum.suffix = "_sum"
	count := intSample(cum)
	count.suffix = "_count"
	f.samples = append(f.samples, sum, count)
	return f
}

// buildInfoFamily is hearsay_build_info.
func buildInfoFamily(b buildInfo) *metricFamily {
	return &metricFamily{name: "hearsay_build_info", help: metricHelp["build_info"], kind: gauge, samples: []metricSample{{
		labels: [][2]string{{"version", b.version}, {"revision", b.revision}, {"goversion", b.goVersion}},
		val:    1,
	}}}
}

// writeMetrics writes the engine's metrics and extra families in the
// Prometheus text format.
func writeMetrics(w io.Writer, ms []hearsay.Metric, extra []*metricFamily) error {
	bw := bufio.NewWriter(w)
	var num []byte
	for _, f := range append(families(ms), extra...) {
		bw.WriteString("# HELP " + f.name + " " + escapeHelp(f.help) + "\n")
		bw.WriteString("# TYPE " + f.name + " " + f.kind.String() + "\n")
		for _, s := range f.samples {
			bw.WriteString(f.name + s.suffix)
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
			if s.float {
				num = strconv.AppendFloat(num[:0], s.fval, 'g', -1, 64)
			} else {
				num = strconv.AppendUint(num[:0], s.val, 10)
			}
			bw.Write(num)
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
