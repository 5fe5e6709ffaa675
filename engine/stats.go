package engine

import (
	"time"

	"github.com/hearsay-io/hearsay/codec"
)

// msgTypes bounds the per-type counters; MsgType values are small and
// append-only.
const msgTypes = 16

// Stats is a value snapshot of a node's counters. Counters only grow; gauges
// (marked) are the current value.
type Stats struct {
	DatagramsIn, DatagramsOut uint64
	BytesIn, BytesOut         uint64
	// In and Out count datagrams by codec.MsgType.
	In, Out [msgTypes]uint64
	// OutBytes counts the bytes of the datagrams sent, by codec.MsgType
	// (sealed size, as BytesOut).
	OutBytes [msgTypes]uint64

	// Datagrams dropped, by cause.
	DropTruncated   uint64 // shorter than their header says
	DropMalformed   uint64 // invalid fields or sections
	DropForeign     uint64 // not Hearsay (magic) or an unsupported version
	DropUnknownType uint64 // a message type this version does not define
	DropCluster     uint64 // another cluster's ID
	DropSealed      uint64 // sealed, but this node has no keys
	DropUnsealed    uint64 // not sealed, but this node requires keys
	DropUnknownKey  uint64 // sealed with a key not in the keyring
	DropAuth        uint64 // failed authentication
	DropTooLarge    uint64 // decompressed size over the bound
	DropSelf        uint64 // carrying this node's own ID
	DropUnsolicited uint64 // shard data that was not requested
	DropBusy        uint64 // requests refused because MaxTransfers was reached
	DropWrongTarget uint64 // pings meant for another member at this address
	DropCompressed  uint64 // compressed, but of a type that carries no bulk state
	DropReplay      uint64 // sealed datagrams seen before, or older than the sender's replay window or generation
	SealErrors      uint64

	// Records refused, by cause.
	RefusedMembers uint64 // new members beyond MaxMembers
	RefusedState   uint64 // state over a member's key or byte bound
	// StateEarly counts application-state entries of a member not known
	// yet, or at a generation whose record has not arrived: not kept, as
	// the record that comes later carries their version and anti-entropy
	// brings them again. Ordinary during joins and restarts, and not
	// logged.
	StateEarly      uint64
	IDConflicts     uint64 // records claiming this node's ID with a newer generation
	RefusedRequests uint64 // ping and ping-req records beyond the first of each in a datagram
	// RefusedImplausible counts records and datagrams with a counter at
	// its maximum or a generation too far ahead of this node's clock.
	RefusedImplausible uint64
	ForgedState        uint64 // application-state entries about this node that it did not write, superseded
	Renewals           uint64 // new generations this node started to supersede claims about itself

	// Answers limited by address validation and reply budgets.
	RefusedReplies       uint64 // datagrams not sent because the reply budget was spent
	RefusedReplyBytes    uint64 // their bytes
	RetriesSent          uint64 // Retry answers with a token, to unvalidated addresses
	BusySent             uint64 // Retry answers asking a validated peer to wait
	RetriesFollowed      uint64 // requests sent again after a Retry
	DuplicateRefs        uint64 // repeated digest or shard references in one request, served once
	ReplayWindowsEvicted uint64 // replay windows of non-members forgotten to bound memory
	BytesDecompressed    uint64 // bytes of bodies after decompression

	// Admission of members heard of from untrusted sources.
	Pending        uint64 // members held until they answer at their address
	RefusedPending uint64 // members not held: the list was full, or another claim to the address was pending
	AdmissionPings uint64 // pings sent to pending members
	Admitted       uint64 // pending members that answered and entered the table
	PendingExpired uint64 // pending members that did not answer in time

	// Admission by the application (Config.Admit) and by address
	// (Config.AllowedPrefixes).
	DropAddr       uint64 // datagrams from a source outside AllowedPrefixes, dropped before any other work
	RefusedAddr    uint64 // member records whose address is outside AllowedPrefixes
	RefusedByAdmit uint64 // members Config.Admit refused (once per member and generation)
	RefusedRecords uint64 // member records dropped because their member was refused at that generation
	RefusedHeld    uint64 // members this node held, removed because they were refused (EventRefused)

	// User messages (Broadcast, Send).
	BroadcastsSent      uint64 // broadcasts this node started
	BroadcastsReceived  uint64 // broadcasts of other members delivered here
	BroadcastsRelayed   uint64 // broadcast transmissions, this node's own and others': records piggybacked
	BroadcastsDropped   uint64 // broadcasts pushed out of the full queue (MaxBroadcasts, MaxBroadcastBytes)
	BroadcastsRefused   uint64 // broadcasts not taken: from an untrusted source, of an origin not live here at its generation, or outside the origin's window
	SendsSent           uint64 // messages sent to one member
	SendsReceived       uint64 // messages to this node alone delivered here
	SendsDropped        uint64 // this node's sends that did not go: the member's address did not answer in time, or too many waited
	SendsRefused        uint64 // messages to this node not taken: over MaxMessageRate, not from their member at its address, or outside its window
	MessageDuplicates   uint64 // user messages received again, and this node's broadcasts relayed back to it, ignored
	MessageBytesOut     uint64 // payload bytes of user messages sent, every broadcast transmission counted
	MessageBytesIn      uint64 // payload bytes of user messages delivered
	BroadcastQueue      uint64 // gauge: broadcasts waiting in the queue
	BroadcastQueueBytes uint64 // gauge: their payload bytes

	Doubts           uint64 // deaths heard of for members held alive, checked before they are taken
	DoubtsCleared    uint64 // doubts settled without taking the death: the member answered or refuted
	Watches          uint64 // suspicions heard of that were watched: their suspect pinged ahead of its death (watch.go)
	WatchPings       uint64 // the pings those watches sent
	LateAcks         uint64 // acks that arrived after their probe ran out, taken as round-trip samples
	ProbesOvertaken  uint64 // probes of a subject ended by a new heartbeat of its arriving first (a slow link)
	Stalls           uint64 // ticks that came so late that the node must have stalled; its waiting timers were moved
	SuspicionsHeld   uint64 // suspicion timers that ran out while the suspect was still heard from, and were re-armed
	Corrections      uint64 // members' refutations sent to a member that told us an accusation they had superseded
	Revivals         uint64 // records bringing back a member held dead, held until it answers a ping
	RevivalsRefused  uint64 // such records dropped: the member did not answer in time, or too many were held
	RevivalsUnproven uint64 // live records of a member held dead that did not follow a rejoin: the member is told instead
	TombstonesRaised uint64 // deaths raised to a later incarnation the member refuted at without proof, and gossiped

	UpdatesSent     uint64 // records piggybacked or gossiped
	UpdatesReceived uint64 // records received that changed the view
	QueueDropped    uint64 // pending updates dropped because the queue was full
	QueueDepth      uint64 // gauge: pending updates

	Heartbeats          uint64 // heartbeats received from subjects
	StaleHeartbeats     uint64 // heartbeats ignored: counter not above the last seen, or an old generation
	Probes              uint64 // direct pings sent
	IndirectProbes      uint64 // ping-req rounds started
	Nacks               uint64 // nacks received
	Inconclusive        uint64 // indirect probes with neither ack nor nack
	Suspicions          uint64 // accusations this node made
	Refutations         uint64 // times this node refuted a suspicion or death
	RefutationsWithheld uint64 // suspicions not refuted because of MaxRefutations
	AckCopies           uint64 // further copies of acks to pings that claimed this node suspect or dead (ackCopies)
	Deaths              uint64 // deaths this node declared
	Reaped              uint64 // tombstones removed after retention
	TombstonesAdopted   uint64 // tombstones of members this node did not hold, kept for what is left of their retention
	SyncsStarted        uint64 // anti-entropy exchanges started
	HealContacts        uint64 // members held dead contacted because another one held dead talked to us (a healed partition)
	ShardsSent          uint64 // shard transfers served
	ShardsReceived      uint64 // shard transfers received
	Compressed          uint64 // shard-data datagrams sent compressed
	CompressMisses      uint64 // shard-data datagrams that did not compress to fit and were resent plain
	Events              uint64
	LocalHealth         uint64 // gauge: local health score
	LinkLoss            uint64 // gauge: per mille of its subjects' heartbeats this node misses (see MaxRefutations)
	Members             uint64 // gauge: members in the table, tombstones included
	LiveMembers         uint64 // gauge: alive and suspect members

	// ProbeRTT is the histogram of the round trips this node measured
	// with its probes: one sample per answered ping, to any member.
	ProbeRTT RTTHistogram
}

// RTTBuckets are the upper bounds of RTTHistogram's buckets: from a
// loopback round trip to a probe that barely made its timeout.
var RTTBuckets = [...]time.Duration{
	50 * time.Microsecond, 100 * time.Microsecond, 250 * time.Microsecond, 500 * time.Microsecond,
	time.Millisecond, 2500 * time.Microsecond, 5 * time.Millisecond, 10 * time.Millisecond,
	25 * time.Millisecond, 50 * time.Millisecond, 100 * time.Millisecond, 250 * time.Millisecond,
	500 * time.Millisecond, time.Second, 2500 * time.Millisecond, 5 * time.Second,
}

// RTTHistogram counts round-trip samples by size. Counts[i] holds the
// samples in (RTTBuckets[i-1], RTTBuckets[i]], and the last element those
// above every bound; the counts are not cumulative. Recording a sample
// allocates nothing.
type RTTHistogram struct {
	Counts [len(RTTBuckets) + 1]uint64
	Sum    time.Duration // of every sample
}

// Observe records one sample.
func (h *RTTHistogram) Observe(d time.Duration) {
	i := 0
	for i < len(RTTBuckets) && d > RTTBuckets[i] {
		i++
	}
	h.Counts[i]++
	h.Sum += d
}

// Count returns the number of samples.
func (h *RTTHistogram) Count() uint64 {
	var n uint64
	for _, c := range h.Counts {
		n += c
	}
	return n
}

func (s *Stats) countIn(t codec.MsgType) {
	if int(t) < msgTypes {
		s.In[t]++
	}
}

func (s *Stats) countOut(t codec.MsgType, size int) {
	if int(t) < msgTypes {
		s.Out[t]++
		s.OutBytes[t] += uint64(size)
	}
}

// Stats returns the core's counters.
func (c *Core) Stats() Stats {
	s := c.stats
	s.QueueDropped = c.q.dropped
	s.QueueDepth = uint64(c.q.len())
	s.LocalHealth = uint64(c.health.Score())
	s.LinkLoss = uint64(c.linkLoss()*1000 + 0.5)
	s.Members = uint64(c.tab.total)
	s.LiveMembers = uint64(c.tab.live)
	s.BroadcastsDropped = c.q.user.dropped
	s.BroadcastQueue, s.BroadcastQueueBytes = uint64(c.q.user.n), uint64(c.q.user.bytes)
	return s
}

// RTTs returns the smoothed round-trip time this node measured to each
// member it has a measurement for (see RTT).
func (c *Core) RTTs() map[ID]time.Duration {
	out := make(map[ID]time.Duration)
	for id := range c.adm.trust {
		if d, ok := c.RTT(id); ok {
			out[id] = d
		}
	}
	return out
}
