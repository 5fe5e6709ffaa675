package engine

import (
	"sync"

	"github.com/hearsay-io/hearsay/netio"
)

// NodeStats is a value snapshot of a Node's numbers: the protocol's
// counters (the embedded Stats: datagrams and bytes by message type,
// probes, suspicions, refutations, deaths, drops by cause, queue depth,
// local health, the probe round-trip histogram), the socket's (Transport),
// and the runtime's own. Counters only grow; fields marked gauge are
// current values. Metrics lists them under stable names.
type NodeStats struct {
	Stats
	// Transport counts what the UDP socket moved and dropped: datagrams
	// the kernel refused or that arrived too large, receive-buffer
	// overflows, batches (system calls) and GSO use.
	Transport netio.Stats

	EventsDelivered uint64 // events put into subscribers' channels
	EventsDropped   uint64 // events dropped at full subscriber channels (all subscriptions)
	Subscriptions   uint64 // gauge: open subscriptions
	RecvBacklog     uint64 // gauge: received batches waiting for the core goroutine
	ReadErrors      uint64 // unexpected socket read errors (the reader retries)
}

// statsBox holds the protocol counters the node's goroutine published last.
// The goroutine copies the core's counters into it after every step, under
// a lock held only for that copy: readers never wait for the goroutine's
// work, and nothing is allocated.
type statsBox struct {
	mu sync.Mutex
	s  Stats
}

// publishStats copies the core's counters for Stats. Core goroutine only.
func (n *Node) publishStats() {
	s := n.core.Stats()
	n.stats.mu.Lock()
	n.stats.s = s
	n.stats.mu.Unlock()
}

// Stats returns a snapshot of the node's numbers. It never waits for the
// node's goroutine: the protocol counters are those it published after its
// last step (a datagram batch, a timer or an API call), and after Close
// those of when the node stopped.
func (n *Node) Stats() NodeStats {
	var s NodeStats
	n.stats.mu.Lock()
	s.Stats = n.stats.s
	n.stats.mu.Unlock()
	s.Transport = n.conn.Stats()
	s.EventsDelivered = n.subs.delivered.Load()
	s.EventsDropped = n.subs.dropped.Load()
	s.Subscriptions = uint64(len(n.subs.load()))
	s.RecvBacklog = uint64(len(n.in))
	s.ReadErrors = n.readErrs.Load()
	return s
}

// MemberCounts counts the members of a node's table by state.
type MemberCounts struct {
	Alive, Suspect, Dead, Left int
}

// Live returns the live members: alive and suspect.
func (c MemberCounts) Live() int { return c.Alive + c.Suspect }

// Total returns every member held, tombstones (dead, left) included.
func (c MemberCounts) Total() int { return c.Alive + c.Suspect + c.Dead + c.Left }

// countShard counts the records of sh by state.
func countShard(sh *shard) MemberCounts {
	var c MemberCounts
	for i := range sh.recs {
		switch sh.recs[i].state {
		case StateAlive:
			c.Alive++
		case StateSuspect:
			c.Suspect++
		case StateDead:
			c.Dead++
		case StateLeft:
			c.Left++
		}
	}
	return c
}

// counter keeps the counts by state of the published table, recounting
// only the shards published since the last call. Published shards are
// immutable, so a shard seen before has the same counts.
type counter struct {
	mu     sync.Mutex
	shards []*shard
	per    []MemberCounts
	total  MemberCounts
}

// Counts returns how many members this node holds in each state, itself
// included. It never waits for the node's goroutine: it reads the table
// published last, like Members, and recounts only the shards that changed
// since its previous call (a mutex orders concurrent callers). It
// allocates nothing after its first call.
func (n *Node) Counts() MemberCounts {
	c := &n.counts
	c.mu.Lock()
	defer c.mu.Unlock()
	t := n.snap.t
	if c.shards == nil {
		c.shards = make([]*shard, len(t.pub))
		c.per = make([]MemberCounts, len(t.pub))
	}
	for i := range t.pub {
		sh := t.pub[i].Load()
		if sh == c.shards[i] {
			continue
		}
		k := countShard(sh)
		old := c.per[i]
		c.total.Alive += k.Alive - old.Alive
		c.total.Suspect += k.Suspect - old.Suspect
		c.total.Dead += k.Dead - old.Dead
		c.total.Left += k.Left - old.Left
		c.shards[i], c.per[i] = sh, k
	}
	return c.total
}
