package bench

import (
	"math"

	"github.com/hearsay-io/hearsay/codec"
	"github.com/hearsay-io/hearsay/engine"
)

// statTotals adds up the protocol counters of many nodes.
type statTotals struct {
	Nodes                     int
	DatagramsIn, DatagramsOut uint64
	BytesIn, BytesOut         uint64
	Out, OutBytes             [16]uint64
	Probes, IndirectProbes    uint64
	Suspicions, Refutations   uint64
	Deaths, UpdatesSent       uint64
	SyncsStarted, ShardsSent  uint64
	QueueDropped              uint64
}

func (t *statTotals) add(s engine.Stats) {
	t.Nodes++
	t.DatagramsIn += s.DatagramsIn
	t.DatagramsOut += s.DatagramsOut
	t.BytesIn += s.BytesIn
	t.BytesOut += s.BytesOut
	for k := range t.Out {
		if k < len(s.Out) {
			t.Out[k] += s.Out[k]
			t.OutBytes[k] += s.OutBytes[k]
		}
	}
	t.Probes += s.Probes
	t.IndirectProbes += s.IndirectProbes
	t.Suspicions += s.Suspicions
	t.Refutations += s.Refutations
	t.Deaths += s.Deaths
	t.UpdatesSent += s.UpdatesSent
	t.SyncsStarted += s.SyncsStarted
	t.ShardsSent += s.ShardsSent
	t.QueueDropped += s.QueueDropped
}

// sub returns t − u for the counters (Nodes is kept from t).
func (t statTotals) sub(u statTotals) statTotals {
	d := t
	d.DatagramsIn -= u.DatagramsIn
	d.DatagramsOut -= u.DatagramsOut
	d.BytesIn -= u.BytesIn
	d.BytesOut -= u.BytesOut
	for k := range d.Out {
		d.Out[k] -= u.Out[k]
		d.OutBytes[k] -= u.OutBytes[k]
	}
	d.Probes -= u.Probes
	d.IndirectProbes -= u.IndirectProbes
	d.Suspicions -= u.Suspicions
	d.Refutations -= u.Refutations
	d.Deaths -= u.Deaths
	d.UpdatesSent -= u.UpdatesSent
	d.SyncsStarted -= u.SyncsStarted
	d.ShardsSent -= u.ShardsSent
	d.QueueDropped -= u.QueueDropped
	return d
}

// antiEntropyOut returns the anti-entropy datagrams sent: digest pushes and
// replies, shard requests and shard data.
func (t *statTotals) antiEntropyOut() uint64 {
	return sumTypes(&t.Out, antiEntropyTypes)
}

// antiEntropyBytesOut returns the bytes of the anti-entropy datagrams sent.
func (t *statTotals) antiEntropyBytesOut() uint64 {
	return sumTypes(&t.OutBytes, antiEntropyTypes)
}

// antiEntropyTypes are the message types of anti-entropy.
var antiEntropyTypes = []codec.MsgType{codec.MsgSync, codec.MsgSyncReply, codec.MsgShardRequest, codec.MsgShardData}

func sumTypes(counts *[16]uint64, types []codec.MsgType) uint64 {
	var n uint64
	for _, t := range types {
		n += counts[t]
	}
	return n
}

// bitset is a set of node numbers.
type bitset []uint64

func newBitset(n int) bitset { return make(bitset, (n+63)/64) }

func (b bitset) set(i int)      { b[i>>6] |= 1 << (uint(i) & 63) }
func (b bitset) clear(i int)    { b[i>>6] &^= 1 << (uint(i) & 63) }
func (b bitset) has(i int) bool { return b[i>>6]&(1<<(uint(i)&63)) != 0 }
func (b bitset) reset() {
	for k := range b {
		b[k] = 0
	}
}

// covers reports whether b holds every member of want.
func (b bitset) covers(want bitset) bool {
	for k, w := range want {
		if b[k]&w != w {
			return false
		}
	}
	return true
}

// count returns the number of members of b that are also in want.
func (b bitset) countIn(want bitset) int {
	n := 0
	for k, w := range want {
		n += popcount(b[k] & w)
	}
	return n
}

func popcount(x uint64) int {
	n := 0
	for x != 0 {
		x &= x - 1
		n++
	}
	return n
}

func nan() float64 { return math.NaN() }
