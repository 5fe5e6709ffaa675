package engine

import (
	"log/slog"
	"net/netip"
	"runtime"
	"testing"

	"github.com/hearsay-io/hearsay/codec"
	"github.com/hearsay-io/hearsay/netio"
)

// receiveBench is a node whose goroutines are not started, watching one
// peer, and a batch of datagrams from that peer: a heartbeat, and a ping
// that the node answers with an ack written to the socket (sendmmsg).
type receiveBench struct {
	n    *Node
	peer *netio.UDP // the watched peer's socket
	msgs []netio.Message
	fill func() // rebuilds msgs with the next heartbeat counter and ping
}

func newReceiveBench(tb testing.TB) *receiveBench {
	tb.Helper()
	cfg := DefaultLocalConfig()
	cfg.Open = true
	cfg.BindAddr = netip.MustParseAddrPort("127.0.0.1:0")
	cfg.Logger = slog.New(slog.DiscardHandler)
	n, err := newNode(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { n.Close() })

	// The peer is a socket that receives the node's replies; nobody reads
	// it, which costs the node nothing.
	peerConn, err := netio.ListenUDP(netip.MustParseAddrPort("127.0.0.1:0"), netio.UDPOptions{})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { peerConn.Close() })
	peer := Member{ID: NewID(), Addr: peerConn.LocalAddr(), Generation: 7, State: StateAlive}
	n.core.Seed(n.now(), []Member{peer})
	// Run the node's timers until it watches the peer (its first
	// heartbeat refreshes the monitoring topology).
	for i := 0; n.core.monitorOf(peer.ID) == nil; i++ {
		if i == 100 {
			tb.Fatal("the node does not watch its only peer")
		}
		n.core.Tick(n.core.Deadline())
		n.step()
	}

	hdr := codec.Header{
		Cluster:    codec.ClusterID(n.cfg.ClusterName),
		Sender:     uint64(peer.ID),
		Generation: peer.Generation,
	}
	var bld codec.Builder
	scratch := make([]byte, 0, n.cfg.MaxDatagramSize)
	build := func(dst *netio.Message, typ codec.MsgType, add func()) {
		hdr.Type = typ
		hdr.Seq++
		bld.Reset(scratch[:0], n.cfg.MaxDatagramSize, hdr)
		add()
		dst.N = copy(dst.Buf, bld.Finish())
		dst.Addr = peer.Addr
	}
	rb := &receiveBench{n: n, peer: peerConn, msgs: netio.NewMessages(2, n.cfg.MaxDatagramSize)}
	beat := uint64(0)
	rb.fill = func() {
		beat++
		build(&rb.msgs[0], codec.MsgHeartbeat, func() {
			bld.AddHeartbeat(codec.Heartbeat{Counter: beat, Digest: n.core.Digest(), Members: 2})
		})
		build(&rb.msgs[1], codec.MsgPing, func() {
			bld.AddPing(codec.Ping{Seq: uint32(beat), Target: uint64(n.id)})
		})
	}
	rb.fill()
	before := n.core.Stats()
	n.handle(rb.msgs)
	after := n.core.Stats()
	if after.Heartbeats != before.Heartbeats+1 || after.Out[codec.MsgAck] != before.Out[codec.MsgAck]+1 {
		tb.Fatalf("the datagrams were not handled as heartbeat and ping: heartbeats %d→%d, acks %d→%d; stats %+v",
			before.Heartbeats, after.Heartbeats, before.Out[codec.MsgAck], after.Out[codec.MsgAck], after)
	}
	return rb
}

// batches returns k batches built with fill, each new to the node: the
// heartbeat counters and ping sequence numbers rise from one batch to the
// next, so that handling them in order takes the steady-state path (a
// fresh heartbeat is counted and refreshes the detector; a replayed one
// would be ignored as stale).
func (rb *receiveBench) batches(k int) [][]netio.Message {
	out := make([][]netio.Message, k)
	for i := range out {
		rb.fill()
		b := netio.NewMessages(len(rb.msgs), rb.n.cfg.MaxDatagramSize)
		for j, m := range rb.msgs {
			b[j].N = copy(b[j].Buf, m.Buf[:m.N])
			b[j].Addr = m.Addr
		}
		out[i] = b
	}
	return out
}

// TestNodeNoAllocs asserts the runtime's per-datagram contract: handling a
// received batch in steady state (a heartbeat from a watched member, a ping
// answered with an ack written to the socket) allocates nothing. It drives
// the node's receive path directly, without its goroutines, so that nothing
// else runs on the node meanwhile.
//
// Every call of the measured function handles a batch the node has not
// seen: the batches are built beforehand, outside the measurement, and
// testing.AllocsPerRun's warm-up call takes one too. Each AllocsPerRun
// measures one call, so the sum is the exact number of allocations (a
// single AllocsPerRun over many calls rounds its average down).
func TestNodeNoAllocs(t *testing.T) {
	rb := newReceiveBench(t)
	const runs = 200
	// AllocsPerRun(1, f) calls f twice: a warm-up, then the measured call.
	batches := rb.batches(2 * runs)
	next := 0
	handle := func() {
		rb.n.handle(batches[next])
		next++
	}
	before := rb.n.core.Stats()
	sentBefore := rb.n.conn.Stats().DatagramsOut
	allocs := 0.0
	for range runs {
		allocs += testing.AllocsPerRun(1, handle)
	}
	after := rb.n.core.Stats()
	if allocs != 0 {
		t.Errorf("handling a fresh batch of a heartbeat and a ping: %v allocations in %d measured batches, want 0", allocs, runs)
	}
	if next != len(batches) {
		t.Fatalf("handled %d batches, want %d: each call must handle a batch of its own", next, len(batches))
	}
	// Every batch took the path measured: its heartbeat counted as new,
	// none as stale, and its ping answered with an ack on the socket.
	handled := uint64(len(batches))
	if got := after.Heartbeats - before.Heartbeats; got != handled {
		t.Errorf("heartbeats counted: %d, want %d (one per batch)", got, handled)
	}
	if got := after.StaleHeartbeats - before.StaleHeartbeats; got != 0 {
		t.Errorf("heartbeats ignored as stale: %d, want 0", got)
	}
	if got := after.Out[codec.MsgAck] - before.Out[codec.MsgAck]; got != handled {
		t.Errorf("acks sent: %d, want %d (one per ping)", got, handled)
	}
	if sent := rb.n.conn.Stats().DatagramsOut - sentBefore; sent < handled {
		t.Errorf("datagrams written to the socket: %d, want at least %d", sent, handled)
	}
}

// BenchmarkNodeReceive measures the runtime's handling of a received batch
// of two datagrams (a heartbeat, and a ping answered by an ack sent with
// one sendmmsg), from core.Receive to the socket write and the publication.
func BenchmarkNodeReceive(b *testing.B) {
	rb := newReceiveBench(b)
	b.ReportAllocs()
	for b.Loop() {
		b.StopTimer()
		rb.fill()
		b.StartTimer()
		rb.n.handle(rb.msgs)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(2*b.N), "ns/datagram")
}

// BenchmarkNodeReadLoop measures the runtime's whole receive path with its
// goroutines running: a peer writes chunks of 64 datagrams (heartbeats and
// pings, alternating) to the node's socket, and the node's reader
// (recvmmsg into its batches) and core goroutine (handling, acks written
// with sendmmsg) take them in. Each iteration is one datagram.
func BenchmarkNodeReadLoop(b *testing.B) {
	rb := newReceiveBench(b)
	peer := rb.peer
	const chunk = 64
	out := netio.NewMessages(chunk, rb.n.cfg.MaxDatagramSize)
	fill := func() {
		for i := 0; i < chunk; i += 2 {
			rb.fill()
			for j, m := range rb.msgs {
				out[i+j].Buf = out[i+j].Buf[:cap(out[i+j].Buf)]
				out[i+j].Buf = out[i+j].Buf[:copy(out[i+j].Buf, m.Buf[:m.N])]
				out[i+j].Addr = rb.n.LocalAddr()
			}
		}
	}
	rb.n.startLoops()
	b.ReportAllocs()
	done := 0
	for done < b.N {
		b.StopTimer()
		fill()
		want := rb.n.Stats().Heartbeats + chunk/2
		b.StartTimer()
		if _, err := peer.WriteBatch(out); err != nil {
			b.Fatal(err)
		}
		for spins := 0; rb.n.Stats().Heartbeats < want; spins++ {
			if spins > 1e7 {
				b.Fatalf("the node handled %d of %d heartbeats", rb.n.Stats().Heartbeats, want)
			}
			runtime.Gosched()
		}
		done += chunk
	}
}

// BenchmarkNodeHeap measures the heap a running node holds beyond its
// table: receive batches, outbox and the like. It opens 32 nodes on
// loopback, alone (no members), and reports the heap in use per node after
// a collection, three times: just opened ("B/node-fresh"); after a burst of
// 256 datagrams to each, which grows the reader's batches
// ("B/node-burst"); and after 64 single datagrams to each, read one at a
// time, as in a quiet cluster ("B/node-quiet"). The datagrams are not
// Hearsay's: each node reads and drops them, which is what sizes its
// batches.
func BenchmarkNodeHeap(b *testing.B) {
	const nodes = 32
	heap := func() uint64 {
		var ms runtime.MemStats
		runtime.GC()
		runtime.GC()
		runtime.ReadMemStats(&ms)
		return ms.HeapAlloc
	}
	tx, err := netio.ListenUDP(netip.MustParseAddrPort("127.0.0.1:0"), netio.UDPOptions{})
	if err != nil {
		b.Fatal(err)
	}
	defer tx.Close()
	junk := netio.NewMessages(256, 100)
	for b.Loop() {
		base := heap()
		ns := make([]*Node, nodes)
		for i := range ns {
			cfg := DefaultLocalConfig()
			cfg.Open = true
			cfg.BindAddr = netip.MustParseAddrPort("127.0.0.1:0")
			cfg.Logger = slog.New(slog.DiscardHandler)
			n, err := NewNode(cfg)
			if err != nil {
				b.Fatal(err)
			}
			ns[i] = n
		}
		fresh := heap()
		read := func(n *Node, want uint64) {
			for spins := 0; n.Stats().Transport.DatagramsIn < want; spins++ {
				if spins > 1e7 {
					b.Fatalf("the node read %d of %d datagrams", n.Stats().Transport.DatagramsIn, want)
				}
				runtime.Gosched()
			}
		}
		for _, n := range ns {
			for i := range junk {
				junk[i].Addr = n.LocalAddr()
			}
			tx.WriteBatch(junk)
		}
		for _, n := range ns {
			read(n, uint64(len(junk)))
		}
		burst := heap()
		for k := range 128 {
			for _, n := range ns {
				junk[0].Addr = n.LocalAddr()
				tx.WriteBatch(junk[:1:1])
				read(n, uint64(len(junk)+k+1))
			}
		}
		quiet := heap()
		for _, n := range ns {
			n.Close()
		}
		per := func(h uint64) float64 { return float64(int64(h)-int64(base)) / nodes }
		b.ReportMetric(per(fresh), "B/node-fresh")
		b.ReportMetric(per(burst), "B/node-burst")
		b.ReportMetric(per(quiet), "B/node-quiet")
	}
}
