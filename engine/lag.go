package engine

import (
	"time"

	"github.com/hearsay-io/hearsay/codec"
)

// Slow members say so. A member whose links became slow (its datagrams
// delayed by seconds each way) is suspected by observers whose pings it
// answers late, and refutes; but the nodes that hear of its death from
// an accuser that could not wait (a flaky observer, a node that never
// measured its round trips) check it with pings that time out after
// 200 ms, long before its answers come, and take the death: 5% of 1,000
// nodes slow by 0.5-2 s each way beside 5% flaky ones, the nemesis mix's
// episode at seed 2, made 2,927 false deaths. The member knows it is slow
// (its own round trips to anyone, rttWindow), so each record it authors
// when it raises its incarnation carries the slowest of its latest round
// trips, in the flags of the live record (bits 1-7, in lagUnit steps; bit
// 0 is flagProven). Every node then waits that long, doubled and up to
// maxSlowRTT heartbeat intervals, for the member's answers (probeTimeout),
// whether or not it measured the member itself. A forged record can only
// make nodes wait that long for a member.

// lagUnit is the step of a record's lag.
const lagUnit = 50 * time.Millisecond

// maxLag is the largest lag the flags hold.
const maxLag = 127

// liveFlags returns the flags of a live record.
func liveFlags(proven bool, lag uint8) uint8 {
	f := min(lag, maxLag) << 1
	if proven {
		f |= flagProven
	}
	return f
}

// lagOf returns the lag a live wire record carries.
func lagOf(m *codec.Member) uint8 {
	if !State(m.State).Live() {
		return 0
	}
	return m.Flags >> 1
}

// ownLag is the lag this node puts in the records it authors: the slowest
// of its latest round trips, when that is over half a probe timeout, else
// 0 (the records of a cluster without slow members stay byte-identical
// from node to node, so that they can be shared).
func (c *Core) ownLag() uint8 {
	d := c.rtts.max()
	if d <= c.cfg.ProbeTimeout/2 {
		return 0
	}
	return uint8(min((d+lagUnit-1)/lagUnit, maxLag))
}

// saidLate is how late r's answers may come by the lag its record carries:
// twice the lag, up to maxSlowRTT heartbeat intervals.
func (c *Core) saidLate(r *record) time.Duration {
	if r.lag == 0 || !r.live() {
		return 0
	}
	return min(2*time.Duration(r.lag)*lagUnit, maxSlowRTT*c.cfg.HeartbeatInterval)
}
