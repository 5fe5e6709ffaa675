package sim_test

import (
	"net/netip"
	"testing"
	"time"

	"github.com/hearsay-io/hearsay/codec"
	"github.com/hearsay-io/hearsay/codec/bulk"
	"github.com/hearsay-io/hearsay/engine"
	"github.com/hearsay-io/hearsay/engine/sim"
)

// rejoin restarts node i of a converged cluster with an empty table, joins
// it through nodes 0 to 2 and runs until its join completes or limit
// passes. It returns the virtual time the join took and the joiner's
// counters over it.
func rejoin(t *testing.T, s *sim.Sim, i int, limit time.Duration) (time.Duration, engine.Stats) {
	t.Helper()
	seeds := []netip.AddrPort{sim.Addr(0), sim.Addr(1), sim.Addr(2)}
	if err := s.Restart(i, seeds...); err != nil {
		t.Fatal(err)
	}
	c := s.Node(i).Core
	start := s.Now()
	for !c.Joined() {
		if s.Now()-start > limit {
			t.Fatalf("node %d: join not complete after %v", i, limit)
		}
		s.RunFor(time.Millisecond)
	}
	return s.Now() - start, c.Stats()
}

// compressedTable returns the size of c's table as one compressed block of
// its members' wire records: the least a transfer of it could carry.
func compressedTable(c *engine.Core) int {
	var raw []byte
	for _, m := range c.Members(nil) {
		w := codec.Member{ID: uint64(m.ID), Generation: m.Generation, Incarnation: m.Incarnation,
			State: codec.MemberState(m.State), Addr: m.Addr, StateVersion: m.StateVersion}
		raw = w.Append(raw)
	}
	return len(bulk.Compress(nil, raw))
}

// A joiner asks for the shards that hold records, many per datagram, from
// a few members at once: the request datagrams number about the table's
// shards over the shards one request carries, not one per shard, and the
// answers come packed: the shards that hold nothing together, the others
// sharing datagrams, so that the bytes received stay near the compressed
// size of the table. Before requests were packed, a join sent one request
// per shard of every group holding records (239 datagrams at N = 32, 501 at
// 2,000) and got one or more answers per shard (224, 762); before answers
// were packed, 256 data datagrams at 2,000 carried 133 KB, 3.6 times the
// compressed table.
func TestJoinFetchesInFewDatagrams(t *testing.T) {
	for _, tc := range []struct {
		n                 int
		maxReqs, maxDatas uint64
	}{
		{n: 32, maxReqs: 16, maxDatas: 32},
		{n: 2000, maxReqs: 24, maxDatas: 64},
	} {
		s, err := sim.New(sim.Config{N: tc.n, Seed: 40, Engine: openLAN(), Link: lan()})
		if err != nil {
			t.Fatal(err)
		}
		s.RunFor(3 * time.Second)
		joiner := tc.n - 1
		took, st := rejoin(t, s, joiner, 10*time.Second)
		reqs, datas := st.Out[codec.MsgShardRequest], st.In[codec.MsgShardData]
		floor := compressedTable(s.Node(joiner).Core)
		ratio := float64(st.BytesIn) / float64(floor)
		t.Logf("N=%d: join took %v, %d shard-request datagrams, %d shard-data datagrams, %d B in, %.2f times the compressed table (%d B)",
			tc.n, took, reqs, datas, st.BytesIn, ratio, floor)
		if tc.n >= 1000 && ratio > 2 {
			t.Errorf("N=%d: join received %d B, %.2f times the compressed table (%d B), want at most 2", tc.n, st.BytesIn, ratio, floor)
		}
		if reqs > tc.maxReqs {
			t.Errorf("N=%d: join sent %d shard-request datagrams, want at most %d", tc.n, reqs, tc.maxReqs)
		}
		if datas > tc.maxDatas {
			t.Errorf("N=%d: join received %d shard-data datagrams, want at most %d", tc.n, datas, tc.maxDatas)
		}
		if live, _ := s.Node(joiner).Core.NumMembers(); live != tc.n {
			t.Errorf("N=%d: joiner holds %d live members after its join, want %d", tc.n, live, tc.n)
		}
	}
}

// A member that cannot serve all of a join's request answers "busy, retry
// after" for the rest, and the joiner asks other members for those shards
// at once: the join completes without any request waiting out its timeout
// (four IndirectTimeouts).
func TestJoinFollowsBusy(t *testing.T) {
	cfg := openLAN()
	cfg.MaxTransfers = 16 // fewer than the shards of one request at N = 1,000
	const n = 1000
	s, err := sim.New(sim.Config{N: n, Seed: 41, Engine: cfg, Link: lan()})
	if err != nil {
		t.Fatal(err)
	}
	s.RunFor(3 * time.Second)
	var busy0 uint64
	for i := 0; i < n; i++ {
		busy0 += s.Node(i).Core.Stats().BusySent
	}
	took, st := rejoin(t, s, n-1, 10*time.Second)
	var busy uint64
	for i := 0; i < n-1; i++ {
		busy += s.Node(i).Core.Stats().BusySent
	}
	busy -= busy0
	t.Logf("join took %v; %d busy answers, %d retries followed, %d shard requests",
		took, busy, st.RetriesFollowed, st.Out[codec.MsgShardRequest])
	if busy == 0 || st.RetriesFollowed == 0 {
		t.Fatalf("%d busy answers sent, %d retries followed by the joiner; want both above 0 (MaxTransfers %d)",
			busy, st.RetriesFollowed, cfg.MaxTransfers)
	}
	if limit := 4 * cfg.IndirectTimeout; took >= limit {
		t.Errorf("join took %v, want under %v: a request waited out its timeout", took, limit)
	}
	if live, _ := s.Node(n - 1).Core.NumMembers(); live != n {
		t.Errorf("joiner holds %d live members after its join, want %d", live, n)
	}
}

// Every joiner's Join goes to the seeds; the shards are then asked of the
// other members it knows, so that the seeds serve no more transfers than
// anyone else. Before, the seeds were among the few members a joiner knew
// when it started fetching and served about twelve times the others' share
// (2,447 transfers each against 201 in a 1,000-node bootstrap), refusing
// thousands more as busy.
func TestJoinSparesSeeds(t *testing.T) {
	const n = 500
	link := lan()
	link.Loss = 0.01
	s, err := sim.New(sim.Config{N: n, Seed: 42, Engine: openLAN(), Link: link, Start: sim.Alone})
	if err != nil {
		t.Fatal(err)
	}
	seeds := []netip.AddrPort{sim.Addr(0), sim.Addr(1), sim.Addr(2)}
	const spread = 5 * time.Second
	for i := 3; i < n; i++ {
		s.RunUntil(spread * time.Duration(i) / n)
		if err := s.Join(i, seeds...); err != nil {
			t.Fatal(err)
		}
	}
	s.RunFor(time.Second)
	var seedSent, otherSent, seedBusy uint64
	for i := 0; i < n; i++ {
		st := s.Node(i).Core.Stats()
		if i < len(seeds) {
			seedSent += st.ShardsSent
			seedBusy += st.DropBusy
		} else {
			otherSent += st.ShardsSent
		}
	}
	perSeed, perOther := seedSent/uint64(len(seeds)), otherSent/uint64(n-len(seeds))
	t.Logf("shard transfers served: %d per seed, %d per other node; %d refused busy by the seeds", perSeed, perOther, seedBusy)
	if perSeed > 2*perOther {
		t.Errorf("each seed served %d shard transfers, the other nodes %d on average: want at most twice as many", perSeed, perOther)
	}
}
