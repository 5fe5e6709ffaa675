package engine_test

import (
	"fmt"
	"net/netip"
	"testing"
	"time"

	"github.com/hearsay-io/hearsay/codec"
	"github.com/hearsay-io/hearsay/codec/bulk"
	"github.com/hearsay-io/hearsay/engine"
)

// pair is two cores that exchange every datagram they send each other,
// without loss, and count the records their shard answers carry.
type pair struct {
	t    testing.TB
	now  engine.Time
	core [2]*engine.Core
	addr [2]netip.AddrPort
	seq  uint32
	// answered[i] counts the Member and State records in the shard-data
	// datagrams core i sent.
	answered [2]int
	// captured holds the shard requests core 1 sent, when capture is set.
	capture  bool
	captured [][]byte
}

func newPair(t testing.TB, cfg engine.Config) *pair {
	t.Helper()
	p := &pair{t: t, now: engine.Time(time.Hour)}
	for i := range p.core {
		c := cfg
		c.ID = engine.ID(i + 1)
		c.Generation = 1
		p.addr[i] = netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 0, 0, byte(i + 1)}), 7946)
		core, err := engine.NewCore(c, engine.Env{Addr: p.addr[i], Now: p.now, Seed: uint64(i + 1)})
		if err != nil {
			t.Fatal(err)
		}
		core.Seed(p.now, []engine.Member{senderMember})
		p.core[i] = core
	}
	return p
}

// tell delivers to the given cores one datagram of type typ from a third
// member, with the records add writes.
func (p *pair) tell(typ codec.MsgType, add func(b *codec.Builder), to ...int) {
	p.t.Helper()
	p.seq++
	d := senderDatagram(p.t, typ, p.seq, add)
	for _, i := range to {
		p.now = p.now.Add(time.Millisecond)
		p.core[i].Outbox().Reset()
		p.core[i].Receive(p.now, senderAddr, d)
		p.core[i].Outbox().Reset() // what it sends the third member is dropped
	}
}

// exchange has core 1 start an anti-entropy exchange with core 0 (a Sync
// with its root digest; core 0 first asks it to prove its address with a
// Retry) and delivers the datagrams between the two until
// neither sends any more.
func (p *pair) exchange() {
	p.t.Helper()
	b := p.core[1]
	b.Outbox().Reset()
	p.now = p.now.Add(time.Millisecond)
	b.SyncWith(p.now, p.addr[0])
	var queue [][]byte
	var to []int
	for _, m := range b.Outbox().Messages() {
		queue, to = append(queue, append([]byte(nil), m.Buf...)), append(to, 0)
	}
	for step := 0; len(queue) > 0; step++ {
		if step > 10000 {
			p.t.Fatal("the exchange did not end after 10,000 datagrams")
		}
		d, i := queue[0], to[0]
		queue, to = queue[1:], to[1:]
		c := p.core[i]
		c.Outbox().Reset()
		p.now = p.now.Add(time.Millisecond)
		c.Receive(p.now, p.addr[1-i], d)
		for _, m := range c.Outbox().Messages() {
			if m.Addr != p.addr[1-i] {
				continue
			}
			out := append([]byte(nil), m.Buf...)
			p.count(i, out)
			queue, to = append(queue, out), append(to, 1-i)
		}
	}
}

// token returns the Echo core i expects from core 1-i's address: it sends
// core i a request with none, which core i answers with a Retry.
func (p *pair) token(i int) codec.Echo {
	p.t.Helper()
	var bld codec.Builder
	bld.Reset(make([]byte, 0, codec.MaxDatagramSize), 1400, codec.Header{
		Type:       codec.MsgShardRequest,
		Cluster:    codec.ClusterID(engine.DefaultLANConfig().ClusterName),
		Sender:     uint64(p.core[1-i].ID()),
		Generation: p.core[1-i].Generation(),
	})
	bld.AddShardRef(codec.ShardRef{Shard: 0})
	c := p.core[i]
	c.Outbox().Reset()
	p.now = p.now.Add(time.Millisecond)
	c.Receive(p.now, p.addr[1-i], bld.Finish())
	for _, m := range c.Outbox().Messages() {
		h, body, err := codec.Parse(m.Buf)
		if err != nil || h.Type != codec.MsgRetry {
			continue
		}
		var rd codec.Reader
		rd.Reset(int(h.Sections), body)
		for rd.Next() {
			if rd.Type() == codec.RecRetry {
				r, _, _ := codec.ParseRetry(rd.Record(0))
				return codec.Echo{Token: r.Token, Epoch: r.Epoch}
			}
		}
	}
	p.t.Fatal("no Retry with a token in answer to a request without one")
	return codec.Echo{}
}

// count adds the records of a shard answer core i sent.
func (p *pair) count(i int, d []byte) {
	p.t.Helper()
	h, err := codec.ParseHeader(d)
	if err != nil {
		p.t.Fatalf("core %d sent a datagram that does not parse: %v", i, err)
	}
	switch h.Type {
	case codec.MsgShardRequest:
		if p.capture && i == 1 {
			p.captured = append(p.captured, d)
		}
		return
	case codec.MsgShardData:
		p.answered[i] += countShardRecords(p.t, d, nil)
	}
}

// seedMembers gives both cores the same members 0x100 to 0x100+n-1, each
// with a state entry at version 1 (told by the third member).
func (p *pair) seedMembers(n int) {
	p.t.Helper()
	ms := make([]engine.Member, n)
	for j := range ms {
		m := deltaMember(j)
		ms[j] = engine.Member{ID: engine.ID(m.ID), Addr: m.Addr, Generation: m.Generation, State: engine.StateAlive}
	}
	for _, c := range p.core {
		c.Seed(p.now, ms)
	}
	for k := 0; k < n; k += 10 {
		p.tell(codec.MsgGossip, func(b *codec.Builder) {
			for j := k; j < min(k+10, n); j++ {
				b.AddState(deltaState(j, 1))
			}
		}, 0, 1)
	}
}

func deltaMember(k int) *codec.Member {
	return &codec.Member{ID: uint64(0x100 + k), Generation: 1, State: codec.StateAlive,
		Addr: netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 1, byte(k >> 8), byte(k)}), 7946)}
}

func deltaState(k int, version uint64) *codec.StateEntry {
	return &codec.StateEntry{Owner: uint64(0x100 + k), Generation: 1, Version: version,
		Key: []byte("load"), Value: fmt.Appendf(nil, "member %d version %d", k, version)}
}

// TestShardAnswerCarriesOnlyDifferences checks that anti-entropy between two
// nodes whose views differ in a few records moves those records only, both
// ways: each shard request lists the fingerprints of the requester's
// records, and the answer leaves out the ones it already holds.
func TestShardAnswerCarriesOnlyDifferences(t *testing.T) {
	cfg := engine.DefaultLANConfig()
	cfg.Open = true
	cfg.ShardBits = 4 // 16 shards of about 12 members each
	p := newPair(t, cfg)
	const members = 192
	p.seedMembers(members)
	// The two learn each other's own records by a first exchange.
	p.exchange()
	if a, b := p.core[0].Digest(), p.core[1].Digest(); a != b {
		t.Fatalf("after the first exchange digests differ: %x and %x", a, b)
	}

	// Core 0 alone learns new versions of three members' state, core 1
	// alone of a fourth's.
	p.tell(codec.MsgGossip, func(b *codec.Builder) {
		for _, k := range []int{3, 77, 150} {
			b.AddState(deltaState(k, 2))
		}
	}, 0)
	p.tell(codec.MsgGossip, func(b *codec.Builder) { b.AddState(deltaState(100, 2)) }, 1)
	p.answered = [2]int{}
	p.exchange()

	// Each changed member is one Member and one State record. A
	// fingerprint does not say which copy is newer, so core 0 also sends
	// its old copy of member 100, which core 1 refuses. Core 1 answers
	// core 0's request after it merged core 0's answer, so it holds the new
	// versions of 3, 77 and 150 by then and sends member 100 only. The
	// whole table is 194 members and 192 state entries.
	if p.answered[0] != 8 || p.answered[1] != 2 {
		t.Errorf("shard answers carried %d records from core 0 and %d from core 1; want 8 and 2 (only what differs)",
			p.answered[0], p.answered[1])
	}
	if a, b := p.core[0].Digest(), p.core[1].Digest(); a != b {
		t.Errorf("after the second exchange digests differ: %x and %x", a, b)
	}
	for _, k := range []int{3, 77, 100, 150} {
		for i, c := range p.core {
			if _, v, ok := c.State(engine.ID(0x100+k), []byte("load")); !ok || v != 2 {
				t.Errorf("core %d holds member %#x's state at version %d (present %v), want 2", i, 0x100+k, v, ok)
			}
		}
	}
}

// TestShardRequestWithoutFingerprints checks that a shard request that lists
// no fingerprints, as a joiner's does, is answered with the whole shard.
func TestShardRequestWithoutFingerprints(t *testing.T) {
	cfg := engine.DefaultLANConfig()
	cfg.Open = true
	cfg.ShardBits = 4
	p := newPair(t, cfg)
	const members = 48
	p.tell(codec.MsgGossip, func(b *codec.Builder) {
		for j := 0; j < 24; j++ {
			b.AddMember(deltaMember(j))
		}
	}, 0)
	p.tell(codec.MsgGossip, func(b *codec.Builder) {
		for j := 24; j < members; j++ {
			b.AddMember(deltaMember(j))
		}
	}, 0)
	a := p.core[0]
	echo := p.token(0)
	total := 0
	for s := 0; s < 16; s++ {
		var bld codec.Builder
		bld.Reset(make([]byte, 0, codec.MaxDatagramSize), 1400, codec.Header{
			Type:       codec.MsgShardRequest,
			Cluster:    codec.ClusterID(cfg.ClusterName),
			Sender:     uint64(p.core[1].ID()),
			Generation: 1,
		})
		bld.AddEcho(echo)
		bld.AddShardRef(codec.ShardRef{Shard: uint32(s)})
		a.Outbox().Reset()
		p.now = p.now.Add(time.Millisecond)
		a.Receive(p.now, p.addr[1], bld.Finish())
		for _, m := range a.Outbox().Messages() {
			p.count(0, append([]byte(nil), m.Buf...))
		}
		total = p.answered[0]
	}
	// Every member (the 48, the third member and core 0 itself), once.
	if want := members + 2; total != want {
		t.Errorf("answers to whole-shard requests carried %d records, want %d", total, want)
	}
}

// shardAnswerFixture returns two cores that hold the same members (with
// state) but for one newer state version in each of ten members that core 0
// holds, and the first shard request core 1 sent core 0 about them.
func shardAnswerFixture(tb testing.TB, members int) (*pair, []byte) {
	tb.Helper()
	cfg := engine.DefaultLANConfig()
	cfg.Open = true
	cfg.MaxTransfers = 1 << 30 // serve every request: the window resets only at a tick
	p := newPair(tb, cfg)
	p.seedMembers(members)
	p.exchange()
	p.tell(codec.MsgGossip, func(bl *codec.Builder) {
		for k := 0; k < 10; k++ {
			bl.AddState(deltaState(k*(members/10)+k, 2))
		}
	}, 0)
	p.capture = true
	p.exchange()
	if len(p.captured) == 0 {
		tb.Fatal("core 1 sent no shard request")
	}
	return p, p.captured[0]
}

// TestShardAnswerAllocs checks that answering a shard request with
// fingerprints allocates nothing once the node's buffers have grown.
func TestShardAnswerAllocs(t *testing.T) {
	p, req := shardAnswerFixture(t, 2000)
	a := p.core[0]
	allocs := testing.AllocsPerRun(100, func() {
		a.Outbox().Reset()
		a.Receive(p.now, p.addr[1], req)
	})
	if allocs != 0 {
		t.Errorf("answering a shard request allocated %v times per request, want 0", allocs)
	}
	if len(a.Outbox().Messages()) == 0 {
		t.Errorf("the request was not answered")
	}
}

// BenchmarkShardAnswer measures a node answering a shard request for a
// table of 10,000 members with state (39 per shard at the default
// ShardBits), in which the requester lacks the newer state of ten members:
// with the fingerprints of the requester's records, and the same request
// without them, which the answer carries whole. It reports the records
// answered per request datagram.
func BenchmarkShardAnswer(b *testing.B) {
	p, withPrints := shardAnswerFixture(b, 10000)
	whole := stripPrints(b, withPrints)
	for _, bc := range []struct {
		name string
		req  []byte
	}{{"fingerprints", withPrints}, {"whole", whole}} {
		b.Run(bc.name, func(b *testing.B) {
			a := p.core[0]
			records := 0
			buf := make([]byte, 0, 1<<16)
			b.ReportAllocs()
			b.SetBytes(int64(len(bc.req)))
			for b.Loop() {
				a.Outbox().Reset()
				a.Receive(p.now, p.addr[1], bc.req)
				for _, m := range a.Outbox().Messages() {
					records += countShardRecords(b, m.Buf, buf)
				}
			}
			b.ReportMetric(float64(records)/float64(b.N), "records/op")
		})
	}
}

// stripPrints returns the shard request d without its Fingerprint records.
func stripPrints(tb testing.TB, d []byte) []byte {
	tb.Helper()
	h, body, err := codec.Parse(d)
	if err != nil {
		tb.Fatal(err)
	}
	var bld codec.Builder
	bld.Reset(make([]byte, 0, codec.MaxDatagramSize), codec.MaxDatagramSize, h)
	var r codec.Reader
	r.Reset(int(h.Sections), body)
	for r.Next() {
		if r.Type() != codec.RecShardRef {
			continue
		}
		for i := range r.Count() {
			ref, _, _ := codec.ParseShardRef(r.Record(i))
			bld.AddShardRef(ref)
		}
	}
	return bld.Finish()
}

// countShardRecords counts the Member and State records of a shard-data
// datagram, decompressing it into buf if needed. A datagram that does not
// parse or decompress fails the test.
func countShardRecords(tb testing.TB, d, buf []byte) int {
	tb.Helper()
	h, err := codec.ParseHeader(d)
	if err != nil || h.Type != codec.MsgShardData {
		return 0
	}
	if h.Flags&codec.FlagCompressed != 0 {
		if d, err = bulk.DecompressDatagram(buf[:0], d, 1<<16); err != nil {
			tb.Fatal(err)
		}
	}
	h, body, err := codec.Parse(d)
	if err != nil {
		tb.Fatal(err)
	}
	n := 0
	var r codec.Reader
	r.Reset(int(h.Sections), body)
	for r.Next() {
		if r.Type() == codec.RecMember || r.Type() == codec.RecState {
			n += r.Count()
		}
	}
	return n
}
