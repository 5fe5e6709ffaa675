package bench

import (
	"time"

	"github.com/hearsay-io/hearsay/codec"
	"github.com/hearsay-io/hearsay/codec/bulk"
	"github.com/hearsay-io/hearsay/engine"
)

// JoinFigures is what one Join call cost the joining node: how long the
// call took and what the node sent and received while it ran. A driver
// that measures its joins implements JoinReporter.
type JoinFigures struct {
	Node int
	// Took is the time from the call to its return; OK is false when the
	// call ended without fetching the membership (the driver's bound).
	Took time.Duration
	OK   bool
	// ShardRequests counts the shard-request datagrams the node sent during
	// the call, ShardData the shard-data datagrams it received.
	ShardRequests, ShardData uint64
	// BytesIn counts every byte the node received during the call (all
	// message types, as read from the socket).
	BytesIn uint64
	// Busy counts the Retry answers asking it to wait that it followed
	// (engine.Stats.RetriesFollowed) during the call.
	RetriesFollowed uint64
	// Members is the live members the node held when the call returned.
	Members int
}

// JoinReporter is implemented by clusters that measure their joins.
type JoinReporter interface {
	// JoinFigures returns the figures of every Join call that has
	// returned, in the order they returned.
	JoinFigures() []JoinFigures
	// TableMembers returns the live members node i holds.
	TableMembers(i int) []engine.Member
}

// joinStarted is what a join records before its call.
type joinStarted struct {
	at time.Time
	s  engine.Stats
}

func (c *udpCluster) joinBegin(p *udpProc) joinStarted {
	return joinStarted{at: time.Now(), s: p.node.Stats().Stats}
}

// joinEnd records the figures of a Join call begun at b.
func (c *udpCluster) joinEnd(i int, p *udpProc, b joinStarted, err error) {
	s := p.node.Stats().Stats
	live, _ := p.node.NumMembers()
	f := JoinFigures{
		Node:            i,
		Took:            time.Since(b.at),
		OK:              err == nil,
		ShardRequests:   s.Out[codec.MsgShardRequest] - b.s.Out[codec.MsgShardRequest],
		ShardData:       s.In[codec.MsgShardData] - b.s.In[codec.MsgShardData],
		BytesIn:         s.BytesIn - b.s.BytesIn,
		RetriesFollowed: s.RetriesFollowed - b.s.RetriesFollowed,
		Members:         live,
	}
	c.joinMu.Lock()
	c.joins = append(c.joins, f)
	c.joinMu.Unlock()
}

// JoinFigures implements JoinReporter.
func (c *udpCluster) JoinFigures() []JoinFigures {
	c.joinMu.Lock()
	defer c.joinMu.Unlock()
	return append([]JoinFigures(nil), c.joins...)
}

// CompressedTable returns the size of members as one compressed block of
// their wire records (codec.Member, in the order given): the least a
// transfer of that table could carry, the floor a join's bytes are
// compared with.
func CompressedTable(members []engine.Member) int {
	raw := make([]byte, 0, len(members)*codec.MemberSize)
	for _, m := range members {
		w := codec.Member{
			ID:           uint64(m.ID),
			Generation:   m.Generation,
			Incarnation:  m.Incarnation,
			State:        codec.MemberState(m.State),
			Addr:         m.Addr,
			StateVersion: m.StateVersion,
		}
		raw = w.Append(raw)
	}
	return len(bulk.Compress(nil, raw))
}

// TableMembers implements JoinReporter; it returns nil for a node that
// does not run or does not exist.
func (c *udpCluster) TableMembers(i int) []engine.Member {
	if i < 0 || i >= len(c.nodes) {
		return nil
	}
	p := c.proc(i)
	if p == nil || p.stopped.Load() {
		return nil
	}
	return p.node.Members()
}
