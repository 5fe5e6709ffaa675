package engine

import (
	"expvar"
	"strings"

	"github.com/hearsay-io/hearsay/codec"
)

// Metric is one named number of a NodeStats.
type Metric struct {
	// Name is stable across releases: lowercase words joined by '_',
	// groups by '.'.
	Name string
	// Value is the counter or gauge value.
	Value uint64
	// Gauge is true for current values (which may fall), false for
	// counters (which only grow).
	Gauge bool
}

// Metrics appends every number of s to dst under its metric name and
// returns the extended slice. The names, with the NodeStats field each
// reports (g: gauge):
//
//	datagrams_in, datagrams_out      Stats.DatagramsIn, DatagramsOut (handled by the protocol)
//	bytes_in, bytes_out              Stats.BytesIn, BytesOut
//	msgs_in.<type>, msgs_out.<type>  Stats.In, Out by message type: heartbeat, ping, ack,
//	                                 ping_req, nack, gossip, sync, sync_reply, shard_request,
//	                                 shard_data, join, join_reply, leave, retry, user
//	msg_bytes_out.<type>             Stats.OutBytes by message type
//	drops.truncated                  Stats.DropTruncated
//	drops.malformed                  Stats.DropMalformed
//	drops.foreign                    Stats.DropForeign
//	drops.unknown_type               Stats.DropUnknownType
//	drops.cluster                    Stats.DropCluster
//	drops.sealed                     Stats.DropSealed
//	drops.unsealed                   Stats.DropUnsealed
//	drops.unknown_key                Stats.DropUnknownKey
//	drops.auth                       Stats.DropAuth
//	drops.too_large                  Stats.DropTooLarge
//	drops.self                       Stats.DropSelf
//	drops.unsolicited                Stats.DropUnsolicited
//	drops.busy                       Stats.DropBusy
//	drops.wrong_target               Stats.DropWrongTarget
//	drops.compressed                 Stats.DropCompressed
//	drops.replay                     Stats.DropReplay
//	seal_errors                      Stats.SealErrors
//	refused.members, refused.state   Stats.RefusedMembers, RefusedState
//	state_early                      Stats.StateEarly
//	id_conflicts                     Stats.IDConflicts
//	refused.requests                 Stats.RefusedRequests
//	refused.implausible              Stats.RefusedImplausible
//	forged_state, renewals           Stats.ForgedState, Renewals
//	replies.refused                  Stats.RefusedReplies
//	replies.refused_bytes            Stats.RefusedReplyBytes
//	replies.retries_sent             Stats.RetriesSent
//	replies.busy_sent                Stats.BusySent
//	replies.retries_followed         Stats.RetriesFollowed
//	refused.duplicate_refs           Stats.DuplicateRefs
//	replay_windows_evicted           Stats.ReplayWindowsEvicted
//	bytes_decompressed               Stats.BytesDecompressed
//	admission.pending                Stats.Pending
//	admission.refused                Stats.RefusedPending
//	admission.pings                  Stats.AdmissionPings
//	admission.admitted               Stats.Admitted
//	admission.expired                Stats.PendingExpired
//	drops.addr, refused.addr         Stats.DropAddr, RefusedAddr
//	admit.refused                    Stats.RefusedByAdmit
//	admit.refused_records            Stats.RefusedRecords
//	admit.removed                    Stats.RefusedHeld
//	user.broadcasts_sent, user.broadcasts_received, user.broadcasts_relayed,
//	user.broadcasts_dropped, user.broadcasts_refused
//	                                 Stats.BroadcastsSent, ...Received, ...Relayed, ...Dropped, ...Refused
//	user.sends_sent, user.sends_received, user.sends_dropped, user.sends_refused
//	                                 Stats.SendsSent, ...Received, ...Dropped, ...Refused
//	user.duplicates                  Stats.MessageDuplicates
//	user.bytes_sent, user.bytes_received
//	                                 Stats.MessageBytesOut, MessageBytesIn
//	user.queue (g), user.queue_bytes (g)
//	                                 Stats.BroadcastQueue, BroadcastQueueBytes
//	doubts, doubts_cleared           Stats.Doubts, DoubtsCleared
//	watches, watch_pings             Stats.Watches, WatchPings
//	late_acks                        Stats.LateAcks
//	probes_overtaken                 Stats.ProbesOvertaken
//	stalls                           Stats.Stalls
//	suspicions_held                  Stats.SuspicionsHeld
//	corrections                      Stats.Corrections
//	revivals, revivals_refused       Stats.Revivals, RevivalsRefused
//	revivals_unproven                Stats.RevivalsUnproven
//	tombstones_raised                Stats.TombstonesRaised
//	updates_sent, updates_received   Stats.UpdatesSent, UpdatesReceived
//	queue.dropped, queue.depth (g)   Stats.QueueDropped, QueueDepth
//	heartbeats                       Stats.Heartbeats
//	heartbeats_stale                 Stats.StaleHeartbeats
//	probes, indirect_probes          Stats.Probes, IndirectProbes
//	nacks, inconclusive              Stats.Nacks, Inconclusive
//	suspicions, refutations, deaths  Stats.Suspicions, Refutations, Deaths
//	refutations_withheld             Stats.RefutationsWithheld
//	ack_copies                       Stats.AckCopies
//	reaped                           Stats.Reaped
//	tombstones_adopted               Stats.TombstonesAdopted
//	sync.started                     Stats.SyncsStarted
//	sync.heal_contacts               Stats.HealContacts
//	sync.shards_sent                 Stats.ShardsSent
//	sync.shards_received             Stats.ShardsReceived
//	sync.compressed                  Stats.Compressed
//	sync.compress_misses             Stats.CompressMisses
//	events                           Stats.Events (emitted by the protocol)
//	local_health (g)                 Stats.LocalHealth
//	link_loss_permille (g)           Stats.LinkLoss
//	members (g), live_members (g)    Stats.Members, LiveMembers
//	transport.datagrams_in, transport.datagrams_out, transport.bytes_in,
//	transport.bytes_out, transport.batches_in, transport.batches_out
//	                                 Transport's counters of the same names
//	transport.drops.too_large        Transport.DropTooLarge
//	transport.drops.buffer_full      Transport.DropBufferFull
//	transport.drops.injected         Transport.DropInjected
//	transport.drops.other            Transport.DropOther
//	transport.gso_segments           Transport.SendGSO
//	transport.gso_fallbacks          Transport.GSOFallbacks
//	events.delivered, events.dropped EventsDelivered, EventsDropped
//	subscriptions (g)                Subscriptions
//	recv_backlog (g)                 RecvBacklog
//	read_errors                      ReadErrors
func (s *NodeStats) Metrics(dst []Metric) []Metric {
	for _, d := range metricDefs {
		dst = append(dst, Metric{Name: d.name, Value: d.get(s), Gauge: d.gauge})
	}
	for _, g := range [...]struct {
		prefix string
		count  *[msgTypes]uint64
	}{{"msgs_in.", &s.In}, {"msgs_out.", &s.Out}, {"msg_bytes_out.", &s.OutBytes}} {
		for t, name := range metricMsgNames {
			if name != "" {
				dst = append(dst, Metric{Name: g.prefix + name, Value: g.count[t]})
			}
		}
	}
	return dst
}

// Var returns the node's numbers as an expvar.Var: a JSON object mapping
// each metric name of NodeStats.Metrics to its value, read when the
// variable is. Publish it under a name of your choice, for example
// expvar.Publish("hearsay", node.Var()); it stays valid after Close.
func (n *Node) Var() expvar.Var {
	return expvar.Func(func() any {
		s := n.Stats()
		ms := s.Metrics(make([]Metric, 0, 96))
		m := make(map[string]uint64, len(ms))
		for _, x := range ms {
			m[x.Name] = x.Value
		}
		return m
	})
}

// metricMsgNames holds the metric name of each known message type.
var metricMsgNames = func() (names [msgTypes]string) {
	for t := range msgTypes {
		if mt := codec.MsgType(t); mt.Known() {
			names[t] = strings.ReplaceAll(mt.String(), "-", "_")
		}
	}
	return names
}()

type metricDef struct {
	name  string
	gauge bool
	get   func(*NodeStats) uint64
}

func metricCounter(name string, get func(*NodeStats) uint64) metricDef {
	return metricDef{name: name, get: get}
}

func metricGauge(name string, get func(*NodeStats) uint64) metricDef {
	return metricDef{name: name, gauge: true, get: get}
}

// metricDefs names every scalar field of NodeStats; TestMetricsCoverStats
// checks that none is missing.
var metricDefs = []metricDef{
	metricCounter("datagrams_in", func(s *NodeStats) uint64 { return s.DatagramsIn }),
	metricCounter("datagrams_out", func(s *NodeStats) uint64 { return s.DatagramsOut }),
	metricCounter("bytes_in", func(s *NodeStats) uint64 { return s.BytesIn }),
	metricCounter("bytes_out", func(s *NodeStats) uint64 { return s.BytesOut }),
	metricCounter("drops.truncated", func(s *NodeStats) uint64 { return s.DropTruncated }),
	metricCounter("drops.malformed", func(s *NodeStats) uint64 { return s.DropMalformed }),
	metricCounter("drops.foreign", func(s *NodeStats) uint64 { return s.DropForeign }),
	metricCounter("drops.unknown_type", func(s *NodeStats) uint64 { return s.DropUnknownType }),
	metricCounter("drops.cluster", func(s *NodeStats) uint64 { return s.DropCluster }),
	metricCounter("drops.sealed", func(s *NodeStats) uint64 { return s.DropSealed }),
	metricCounter("drops.unsealed", func(s *NodeStats) uint64 { return s.DropUnsealed }),
	metricCounter("drops.unknown_key", func(s *NodeStats) uint64 { return s.DropUnknownKey }),
	metricCounter("drops.auth", func(s *NodeStats) uint64 { return s.DropAuth }),
	metricCounter("drops.too_large", func(s *NodeStats) uint64 { return s.DropTooLarge }),
	metricCounter("drops.self", func(s *NodeStats) uint64 { return s.DropSelf }),
	metricCounter("drops.unsolicited", func(s *NodeStats) uint64 { return s.DropUnsolicited }),
	metricCounter("drops.busy", func(s *NodeStats) uint64 { return s.DropBusy }),
	metricCounter("drops.wrong_target", func(s *NodeStats) uint64 { return s.DropWrongTarget }),
	metricCounter("drops.compressed", func(s *NodeStats) uint64 { return s.DropCompressed }),
	metricCounter("drops.replay", func(s *NodeStats) uint64 { return s.DropReplay }),
	metricCounter("seal_errors", func(s *NodeStats) uint64 { return s.SealErrors }),
	metricCounter("refused.members", func(s *NodeStats) uint64 { return s.RefusedMembers }),
	metricCounter("refused.state", func(s *NodeStats) uint64 { return s.RefusedState }),
	metricCounter("state_early", func(s *NodeStats) uint64 { return s.StateEarly }),
	metricCounter("id_conflicts", func(s *NodeStats) uint64 { return s.IDConflicts }),
	metricCounter("refused.requests", func(s *NodeStats) uint64 { return s.RefusedRequests }),
	metricCounter("refused.implausible", func(s *NodeStats) uint64 { return s.RefusedImplausible }),
	metricCounter("forged_state", func(s *NodeStats) uint64 { return s.ForgedState }),
	metricCounter("renewals", func(s *NodeStats) uint64 { return s.Renewals }),
	metricCounter("replies.refused", func(s *NodeStats) uint64 { return s.RefusedReplies }),
	metricCounter("replies.refused_bytes", func(s *NodeStats) uint64 { return s.RefusedReplyBytes }),
	metricCounter("replies.retries_sent", func(s *NodeStats) uint64 { return s.RetriesSent }),
	metricCounter("replies.busy_sent", func(s *NodeStats) uint64 { return s.BusySent }),
	metricCounter("replies.retries_followed", func(s *NodeStats) uint64 { return s.RetriesFollowed }),
	metricCounter("refused.duplicate_refs", func(s *NodeStats) uint64 { return s.DuplicateRefs }),
	metricCounter("replay_windows_evicted", func(s *NodeStats) uint64 { return s.ReplayWindowsEvicted }),
	metricCounter("bytes_decompressed", func(s *NodeStats) uint64 { return s.BytesDecompressed }),
	metricCounter("admission.pending", func(s *NodeStats) uint64 { return s.Pending }),
	metricCounter("admission.refused", func(s *NodeStats) uint64 { return s.RefusedPending }),
	metricCounter("admission.pings", func(s *NodeStats) uint64 { return s.AdmissionPings }),
	metricCounter("admission.admitted", func(s *NodeStats) uint64 { return s.Admitted }),
	metricCounter("admission.expired", func(s *NodeStats) uint64 { return s.PendingExpired }),
	metricCounter("drops.addr", func(s *NodeStats) uint64 { return s.DropAddr }),
	metricCounter("refused.addr", func(s *NodeStats) uint64 { return s.RefusedAddr }),
	metricCounter("admit.refused", func(s *NodeStats) uint64 { return s.RefusedByAdmit }),
	metricCounter("admit.refused_records", func(s *NodeStats) uint64 { return s.RefusedRecords }),
	metricCounter("admit.removed", func(s *NodeStats) uint64 { return s.RefusedHeld }),
	metricCounter("user.broadcasts_sent", func(s *NodeStats) uint64 { return s.BroadcastsSent }),
	metricCounter("user.broadcasts_received", func(s *NodeStats) uint64 { return s.BroadcastsReceived }),
	metricCounter("user.broadcasts_relayed", func(s *NodeStats) uint64 { return s.BroadcastsRelayed }),
	metricCounter("user.broadcasts_dropped", func(s *NodeStats) uint64 { return s.BroadcastsDropped }),
	metricCounter("user.broadcasts_refused", func(s *NodeStats) uint64 { return s.BroadcastsRefused }),
	metricCounter("user.sends_sent", func(s *NodeStats) uint64 { return s.SendsSent }),
	metricCounter("user.sends_received", func(s *NodeStats) uint64 { return s.SendsReceived }),
	metricCounter("user.sends_dropped", func(s *NodeStats) uint64 { return s.SendsDropped }),
	metricCounter("user.sends_refused", func(s *NodeStats) uint64 { return s.SendsRefused }),
	metricCounter("user.duplicates", func(s *NodeStats) uint64 { return s.MessageDuplicates }),
	metricCounter("user.bytes_sent", func(s *NodeStats) uint64 { return s.MessageBytesOut }),
	metricCounter("user.bytes_received", func(s *NodeStats) uint64 { return s.MessageBytesIn }),
	metricGauge("user.queue", func(s *NodeStats) uint64 { return s.BroadcastQueue }),
	metricGauge("user.queue_bytes", func(s *NodeStats) uint64 { return s.BroadcastQueueBytes }),
	metricCounter("doubts", func(s *NodeStats) uint64 { return s.Doubts }),
	metricCounter("doubts_cleared", func(s *NodeStats) uint64 { return s.DoubtsCleared }),
	metricCounter("watches", func(s *NodeStats) uint64 { return s.Watches }),
	metricCounter("watch_pings", func(s *NodeStats) uint64 { return s.WatchPings }),
	metricCounter("late_acks", func(s *NodeStats) uint64 { return s.LateAcks }),
	metricCounter("probes_overtaken", func(s *NodeStats) uint64 { return s.ProbesOvertaken }),
	metricCounter("stalls", func(s *NodeStats) uint64 { return s.Stalls }),
	metricCounter("suspicions_held", func(s *NodeStats) uint64 { return s.SuspicionsHeld }),
	metricCounter("corrections", func(s *NodeStats) uint64 { return s.Corrections }),
	metricCounter("revivals", func(s *NodeStats) uint64 { return s.Revivals }),
	metricCounter("revivals_refused", func(s *NodeStats) uint64 { return s.RevivalsRefused }),
	metricCounter("revivals_unproven", func(s *NodeStats) uint64 { return s.RevivalsUnproven }),
	metricCounter("tombstones_raised", func(s *NodeStats) uint64 { return s.TombstonesRaised }),
	metricCounter("updates_sent", func(s *NodeStats) uint64 { return s.UpdatesSent }),
	metricCounter("updates_received", func(s *NodeStats) uint64 { return s.UpdatesReceived }),
	metricCounter("queue.dropped", func(s *NodeStats) uint64 { return s.QueueDropped }),
	metricGauge("queue.depth", func(s *NodeStats) uint64 { return s.QueueDepth }),
	metricCounter("heartbeats", func(s *NodeStats) uint64 { return s.Heartbeats }),
	metricCounter("heartbeats_stale", func(s *NodeStats) uint64 { return s.StaleHeartbeats }),
	metricCounter("probes", func(s *NodeStats) uint64 { return s.Probes }),
	metricCounter("indirect_probes", func(s *NodeStats) uint64 { return s.IndirectProbes }),
	metricCounter("nacks", func(s *NodeStats) uint64 { return s.Nacks }),
	metricCounter("inconclusive", func(s *NodeStats) uint64 { return s.Inconclusive }),
	metricCounter("suspicions", func(s *NodeStats) uint64 { return s.Suspicions }),
	metricCounter("refutations", func(s *NodeStats) uint64 { return s.Refutations }),
	metricCounter("refutations_withheld", func(s *NodeStats) uint64 { return s.RefutationsWithheld }),
	metricCounter("ack_copies", func(s *NodeStats) uint64 { return s.AckCopies }),
	metricCounter("deaths", func(s *NodeStats) uint64 { return s.Deaths }),
	metricCounter("reaped", func(s *NodeStats) uint64 { return s.Reaped }),
	metricCounter("tombstones_adopted", func(s *NodeStats) uint64 { return s.TombstonesAdopted }),
	metricCounter("sync.started", func(s *NodeStats) uint64 { return s.SyncsStarted }),
	metricCounter("sync.heal_contacts", func(s *NodeStats) uint64 { return s.HealContacts }),
	metricCounter("sync.shards_sent", func(s *NodeStats) uint64 { return s.ShardsSent }),
	metricCounter("sync.shards_received", func(s *NodeStats) uint64 { return s.ShardsReceived }),
	metricCounter("sync.compressed", func(s *NodeStats) uint64 { return s.Compressed }),
	metricCounter("sync.compress_misses", func(s *NodeStats) uint64 { return s.CompressMisses }),
	metricCounter("events", func(s *NodeStats) uint64 { return s.Events }),
	metricGauge("local_health", func(s *NodeStats) uint64 { return s.LocalHealth }),
	metricGauge("link_loss_permille", func(s *NodeStats) uint64 { return s.LinkLoss }),
	metricGauge("members", func(s *NodeStats) uint64 { return s.Members }),
	metricGauge("live_members", func(s *NodeStats) uint64 { return s.LiveMembers }),

	metricCounter("transport.datagrams_in", func(s *NodeStats) uint64 { return s.Transport.DatagramsIn }),
	metricCounter("transport.datagrams_out", func(s *NodeStats) uint64 { return s.Transport.DatagramsOut }),
	metricCounter("transport.bytes_in", func(s *NodeStats) uint64 { return s.Transport.BytesIn }),
	metricCounter("transport.bytes_out", func(s *NodeStats) uint64 { return s.Transport.BytesOut }),
	metricCounter("transport.batches_in", func(s *NodeStats) uint64 { return s.Transport.BatchesIn }),
	metricCounter("transport.batches_out", func(s *NodeStats) uint64 { return s.Transport.BatchesOut }),
	metricCounter("transport.drops.too_large", func(s *NodeStats) uint64 { return s.Transport.DropTooLarge }),
	metricCounter("transport.drops.buffer_full", func(s *NodeStats) uint64 { return s.Transport.DropBufferFull }),
	metricCounter("transport.drops.injected", func(s *NodeStats) uint64 { return s.Transport.DropInjected }),
	metricCounter("transport.drops.other", func(s *NodeStats) uint64 { return s.Transport.DropOther }),
	metricCounter("transport.gso_segments", func(s *NodeStats) uint64 { return s.Transport.SendGSO }),
	metricCounter("transport.gso_fallbacks", func(s *NodeStats) uint64 { return s.Transport.GSOFallbacks }),

	metricCounter("events.delivered", func(s *NodeStats) uint64 { return s.EventsDelivered }),
	metricCounter("events.dropped", func(s *NodeStats) uint64 { return s.EventsDropped }),
	metricGauge("subscriptions", func(s *NodeStats) uint64 { return s.Subscriptions }),
	metricGauge("recv_backlog", func(s *NodeStats) uint64 { return s.RecvBacklog }),
	metricCounter("read_errors", func(s *NodeStats) uint64 { return s.ReadErrors }),
}
