package engine_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"reflect"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hearsay-io/hearsay/engine"
)

// The flood: a real-UDP cluster on loopback receives a stream of hostile
// datagrams from one sender while it runs. The sender predicts, for every
// datagram it sends, the one counter of the receiving node that must count
// it (an outcome), so the test can check that every datagram is counted,
// under the right cause, and that nothing else moved: no false death, no
// bound exceeded, memory that does not grow with the datagrams.
//
// What can be counted exactly: the sender counts what it sent by outcome;
// each node counts what its socket dropped (receive-buffer overflow and
// oversize, netio.Stats) and what its core did with each datagram it read
// (one drop counter by cause, or one In counter by message type when the
// datagram was accepted). Healthy cluster traffic never moves the drop
// counters the flood targets, so for each drop counter c the test asserts
//
//	sent(c) - kernelDrops <= Δc <= sent(c)
//
// where kernelDrops is the nodes' receive-buffer overflow during the flood
// (zero in a run the cluster keeps up with, making each check exact), and
// for accepted datagrams Δ In >= sent(accepted) - kernelDrops. Per node,
// it checks that every datagram the core read is counted exactly once:
// DatagramsIn = Σ drop counters + Σ In, where the one counter that also
// counts parts of accepted datagrams, DropUnsolicited, contributes what the
// others leave (see outcome.count), and that the core read everything the
// socket delivered.
//
// In a sealed cluster every datagram the attacker captured and replays is
// counted as a replay (or as claiming the receiver's ID, when sent to its
// sender), none accepted; the insider's forged datagrams are sealed afresh
// at each send, so that they reach the parser and the bounds.
//
// The flood also measures reflection: every datagram leaves from a socket
// of the attacker's own, one per declared message type, none of which
// ever proves its address, and everything the cluster sends to a socket
// answers what that socket sent. For each type, the bytes sent back per
// byte sent must not exceed 1.

// floodSpec sizes a flood.
type floodSpec struct {
	nodes     int
	datagrams int
	keyed     bool
	rate      int           // datagrams a second the sender aims at
	idle      time.Duration // window measuring the idle cluster's CPU
	local     bool          // DefaultLocalConfig's timing instead of DefaultLANConfig's
	beats     int           // heartbeats to capture before the flood
}

// floodLog counts a cluster's log lines at Info level and above by
// message; the flood must not make them grow with the datagrams.
type floodLog struct {
	mu    sync.Mutex
	lines map[string]int
	total atomic.Int64
}

func (h *floodLog) Enabled(_ context.Context, l slog.Level) bool { return l >= slog.LevelInfo }
func (h *floodLog) WithAttrs([]slog.Attr) slog.Handler           { return h }
func (h *floodLog) WithGroup(string) slog.Handler                { return h }
func (h *floodLog) Handle(_ context.Context, r slog.Record) error {
	h.total.Add(1)
	h.mu.Lock()
	h.lines[r.Level.String()+" "+r.Message]++
	h.mu.Unlock()
	return nil
}

// sumStats adds up the nodes' counters: every uint64 counter of Stats and
// of Transport, by reflection so that each counter the engine adds is
// summed too; the gauges Members and QueueDepth are the largest node's.
func sumStats(nodes []*engine.Node) (sum engine.NodeStats, per []engine.NodeStats) {
	add := func(x, y uint64) uint64 { return x + y }
	var members, depth uint64
	for _, nd := range nodes {
		s := nd.Stats()
		per = append(per, s)
		combine(reflect.ValueOf(&sum.Stats).Elem(), reflect.ValueOf(s.Stats), add)
		combine(reflect.ValueOf(&sum.Transport).Elem(), reflect.ValueOf(s.Transport), add)
		members, depth = max(members, s.Members), max(depth, s.QueueDepth)
	}
	sum.Members, sum.QueueDepth = members, depth
	return sum, per
}

// delta returns the counters of after less those of before.
func delta(after, before engine.NodeStats) engine.NodeStats {
	sub := func(x, y uint64) uint64 { return x - y }
	combine(reflect.ValueOf(&after.Stats).Elem(), reflect.ValueOf(before.Stats), sub)
	combine(reflect.ValueOf(&after.Transport).Elem(), reflect.ValueOf(before.Transport), sub)
	return after
}

// combine sets each uint64 field, and each element of a uint64 array
// field, of the struct dst to op of it and the same field of src.
func combine(dst, src reflect.Value, op func(x, y uint64) uint64) {
	for i := range dst.NumField() {
		f, g := dst.Field(i), src.Field(i)
		switch {
		case f.Kind() == reflect.Uint64:
			f.SetUint(op(f.Uint(), g.Uint()))
		case f.Kind() == reflect.Array && f.Type().Elem().Kind() == reflect.Uint64:
			for j := range f.Len() {
				f.Index(j).SetUint(op(f.Index(j).Uint(), g.Index(j).Uint()))
			}
		}
	}
}

// deathCounter counts dead and suspect events about the cluster's real
// nodes, and dead events about forged members, on every node.
type deathCounter struct {
	realDead, realSuspect, fakeDead atomic.Uint64
	dropped                         atomic.Uint64
	wg                              sync.WaitGroup

	mu    sync.Mutex
	first []string // the first dead and suspect events about real nodes
}

// note keeps a description of an event about a real node, the first few.
func (d *deathCounter) note(observer int, index map[engine.ID]int, e *engine.Event) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if len(d.first) < 8 {
		witness := "not a node"
		if w, ok := index[e.Witness]; ok {
			witness = fmt.Sprintf("node %d", w)
		}
		d.first = append(d.first, fmt.Sprintf("%s %v: node %d says node %d (incarnation %d, witness %s)",
			time.Now().Format("15:04:05.000"), e.Type, observer, index[e.Member.ID], e.Member.Incarnation, witness))
	}
}

func countDeaths(nodes []*engine.Node) *deathCounter {
	d := &deathCounter{}
	real := map[engine.ID]bool{}
	index := map[engine.ID]int{}
	for i, nd := range nodes {
		real[nd.ID()] = true
		index[nd.ID()] = i
	}
	for i, nd := range nodes {
		sub := nd.Subscribe(1024, engine.EventDead, engine.EventSuspect)
		d.wg.Go(func() {
			for e := range sub.Events() {
				if real[e.Member.ID] {
					d.note(i, index, &e)
				}
				switch {
				case real[e.Member.ID] && e.Type == engine.EventDead:
					d.realDead.Add(1)
				case real[e.Member.ID]:
					d.realSuspect.Add(1)
				case e.Type == engine.EventDead:
					d.fakeDead.Add(1)
				}
			}
			d.dropped.Add(sub.Dropped())
		})
	}
	return d
}

// memPeak samples the heap until stop is closed.
type memPeak struct {
	heapInuse, sys atomic.Uint64
	members, queue atomic.Uint64
}

func sampleMemory(nodes []*engine.Node, stop <-chan struct{}, done chan<- struct{}) *memPeak {
	p := &memPeak{}
	go func() {
		defer close(done)
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		var ms runtime.MemStats
		for k := 0; ; k++ {
			runtime.ReadMemStats(&ms)
			p.heapInuse.Store(max(p.heapInuse.Load(), ms.HeapInuse))
			p.sys.Store(max(p.sys.Load(), ms.Sys))
			if k%10 == 0 {
				for _, nd := range nodes {
					s := nd.Stats()
					p.members.Store(max(p.members.Load(), s.Members))
					p.queue.Store(max(p.queue.Load(), s.QueueDepth))
				}
			}
			select {
			case <-stop:
				return
			case <-tick.C:
			}
		}
	}()
	return p
}

// eventually polls cond every 10 ms until it holds or d passes, and
// returns its last status.
func eventually(d time.Duration, cond func() (bool, string)) (string, bool) {
	deadline := time.Now().Add(d)
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		ok, status := cond()
		if ok || time.Now().After(deadline) {
			return status, ok
		}
		<-tick.C
	}
}

func mib(b uint64) string { return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20)) }

// runFlood starts a cluster, floods it and checks and reports the result.
func runFlood(t *testing.T, spec floodSpec) {
	logs := &floodLog{lines: map[string]int{}}
	cfg, timing := engine.DefaultLANConfig(), "LAN"
	if spec.local {
		cfg, timing = engine.DefaultLocalConfig(), "local"
	}
	cfg.BindAddr = netip.MustParseAddrPort("127.0.0.1:0")
	cfg.Logger = slog.New(logs)
	cfg.MaxMembers = spec.nodes + 64
	cfg.Open = !spec.keyed
	if spec.keyed {
		cfg.Keys = [][]byte{key(7)}
	}
	nodes := startNodes(t, spec.nodes, cfg)
	joinAll(t, nodes, bound(cfg, 60))
	waitFor(t, bound(cfg, 60), "the cluster converges", func() (bool, string) { return converged(nodes, spec.nodes) })
	deaths := countDeaths(nodes)

	a := newAttacker(t, nodes, cfg, 42)
	a.listenFlood(t)
	a.impersonate(t, spec.beats, bound(cfg, 15))
	a.prepare()
	if spec.keyed {
		a.prime(t, nodes, bound(cfg, 20))
	}

	// The idle cluster's CPU, over a measurement window, to subtract from
	// the flood's.
	idleCPU0, cpuOK := processCPU()
	idleStart := time.Now()
	<-time.After(spec.idle)
	idleCPU1, _ := processCPU()
	idleRate := float64(idleCPU1-idleCPU0) / float64(time.Since(idleStart))

	before, _ := sumStats(nodes)
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	heapBefore, sysBefore := ms.HeapInuse, ms.Sys
	stop, sampled := make(chan struct{}), make(chan struct{})
	peak := sampleMemory(nodes, stop, sampled)

	cpu0, _ := processCPU()
	start := time.Now()
	var sockOut0 uint64
	for _, s := range a.socks {
		sockOut0 += s.Stats().DatagramsOut
	}
	reflect0 := a.reflected()
	senderCPU, sendWall, err := a.flood(spec.datagrams, spec.rate)
	if err != nil {
		t.Fatalf("flood: %v", err)
	}

	// Wait until every hostile datagram that reached a socket has been
	// read and counted: each drop counter has reached what was sent for it
	// less the kernel's drops, and each core has read all its socket
	// delivered.
	var after engine.NodeStats
	var per []engine.NodeStats
	var kernel uint64
	status, ok := eventually(60*time.Second, func() (bool, string) {
		after, per = sumStats(nodes)
		kernel = after.Transport.DropBufferFull - before.Transport.DropBufferFull
		for o := range outAccepted + 1 {
			got := o.count(&after) - o.count(&before)
			if want := a.sentOut[o]; got+kernel < want {
				return false, fmt.Sprintf("%s: %d counted of %d sent, %d kernel drops", outcomeNames[o], got, want, kernel)
			}
		}
		for i, s := range per {
			if s.Transport.DatagramsIn != s.DatagramsIn {
				return false, fmt.Sprintf("node %d: the socket delivered %d datagrams, the core read %d", i, s.Transport.DatagramsIn, s.DatagramsIn)
			}
		}
		return true, ""
	})
	wall := time.Since(start)
	if !ok {
		t.Errorf("%v after the flood began, not every datagram is counted: %s", wall.Round(time.Millisecond), status)
	}
	cpu1, _ := processCPU()
	close(stop)
	<-sampled

	// Every datagram a core read is counted once: by one drop cause or as
	// accepted by message type; those no counter of their own counts are
	// unsolicited shard data, which DropUnsolicited must cover.
	for i, s := range per {
		if got := exclusive(&s); got > s.DatagramsIn || s.DatagramsIn-got > s.DropUnsolicited {
			t.Errorf("node %d: read %d datagrams, counted %d by drop cause and message type; DropUnsolicited %d must cover the rest",
				i, s.DatagramsIn, got, s.DropUnsolicited)
		}
	}
	// Every hostile datagram is counted under the cause predicted for it;
	// healthy traffic moves none of these counters.
	var predictedDrops, countedDrops uint64
	t.Logf("%-26s %10s %10s", "outcome", "sent", "counted")
	for o := range outAccepted + 1 {
		got, want := o.count(&after)-o.count(&before), a.sentOut[o]
		t.Logf("%-26s %10d %10d", outcomeNames[o], want, got)
		if o == outAccepted {
			continue // healthy traffic is accepted too
		}
		predictedDrops += want
		countedDrops += got
		if got > want || got+kernel < want {
			t.Errorf("%s: counted %d, want %d sent less at most %d kernel drops", outcomeNames[o], got, want, kernel)
		}
	}
	if countedDrops+kernel < predictedDrops {
		t.Errorf("bad datagrams: %d counted as dropped plus %d kernel drops, fewer than the %d sent", countedDrops, kernel, predictedDrops)
	}

	// Bounds held.
	if m := peak.members.Load(); m > uint64(cfg.MaxMembers) || after.Members > uint64(cfg.MaxMembers) {
		t.Errorf("a node held %d members, over MaxMembers = %d", max(m, after.Members), cfg.MaxMembers)
	}
	if q := peak.queue.Load(); q > uint64(cfg.MaxPendingUpdates) {
		t.Errorf("a node's queue held %d updates, over MaxPendingUpdates = %d", q, cfg.MaxPendingUpdates)
	}
	heapGrowth := int64(peak.heapInuse.Load()) - int64(heapBefore)
	// A node's memory is bounded by its table (MaxMembers), its queue and
	// three receive batches of 64 datagrams: well under 1 MiB here.
	if limit := int64(spec.nodes)<<20 + 64<<20; heapGrowth > limit {
		t.Errorf("heap in use grew by %s during the flood, over %s", mib(uint64(heapGrowth)), mib(uint64(limit)))
	}

	// The cluster survived: no real node died, and every node still sees
	// every real node alive.
	// The check does not stop the test, so that the figures below are
	// reported either way.
	if status, ok := eventually(bound(cfg, 30), func() (bool, string) {
		for i, nd := range nodes {
			for j, other := range nodes {
				if m, ok := nd.Member(other.ID()); !ok || !m.State.Live() {
					return false, fmt.Sprintf("node %d sees node %d as %v", i, j, m.State)
				}
			}
		}
		return true, ""
	}); !ok {
		t.Errorf("%v after the flood, not every node sees every node alive: %s", bound(cfg, 30), status)
	}
	if d := deaths.realDead.Load(); d != 0 {
		t.Errorf("false deaths: %d dead events about live nodes", d)
	}
	deaths.mu.Lock()
	if len(deaths.first) > 0 {
		t.Logf("flood began %s; first events about live nodes:\n%s", start.Format("15:04:05.000"), strings.Join(deaths.first, "\n"))
	}
	deaths.mu.Unlock()

	// Figures.
	var sent, sockOut, sockRefused, sockTooLarge uint64
	for c := range numClasses {
		sent += a.sentClass[c]
	}
	for _, s := range a.socks {
		as := s.Stats()
		sockOut, sockRefused, sockTooLarge = sockOut+as.DatagramsOut, sockRefused+as.DropOther, sockTooLarge+as.DropTooLarge
	}
	if out := sockOut - sockOut0; out != sent || sockRefused != 0 || sockTooLarge != 0 {
		t.Errorf("the sender's sockets sent %d datagrams (%d refused, %d too large), want %d", out, sockRefused, sockTooLarge, sent)
	}

	// Reflection: once the answers to the last datagrams have arrived.
	var refl reflection
	eventually(2*time.Second, func() (bool, string) {
		prev := refl
		<-time.After(50 * time.Millisecond) // answers still on their way show as a change
		refl = a.reflected().since(reflect0)
		return refl == prev, ""
	})
	checkReflection(t, refl, spec.keyed)
	var classes []string
	for c := range numClasses {
		classes = append(classes, fmt.Sprintf("%s %d", classNames[c], a.sentClass[c]))
	}
	t.Logf("cluster: %d nodes over loopback UDP, %s timing, keys %v, MaxMembers %d", spec.nodes, timing, spec.keyed, cfg.MaxMembers)
	t.Logf("sent %d hostile datagrams in %v (%.0f a second): %s", sent, sendWall.Round(time.Millisecond),
		float64(sent)/sendWall.Seconds(), strings.Join(classes, ", "))
	t.Logf("all counted %v after the flood began; kernel receive-buffer drops %d; the cluster sent the impersonated member %d datagrams",
		wall.Round(time.Millisecond), kernel, a.received.Load())
	dd := delta(after, before)
	t.Logf("drops by cause, all nodes: truncated %d, foreign %d, malformed %d, unknown type %d, cluster %d, sealed %d, unsealed %d, unknown key %d, auth %d, compressed %d, replay %d, too large %d (socket %d), self %d, implausible %d",
		dd.DropTruncated, dd.DropForeign, dd.DropMalformed, dd.DropUnknownType, dd.DropCluster, dd.DropSealed, dd.DropUnsealed,
		dd.DropUnknownKey, dd.DropAuth, dd.DropCompressed, dd.DropReplay, dd.DropTooLarge, dd.Transport.DropTooLarge, dd.DropSelf,
		dd.RefusedImplausible)
	t.Logf("refused at bounds: members %d, held for admission %d (refused %d), state %d, pending updates %d, transfers and relays %d; unsolicited %d, pings for another %d",
		dd.RefusedMembers, dd.Pending, dd.RefusedPending, dd.RefusedState, dd.QueueDropped, dd.DropBusy, dd.DropUnsolicited, dd.DropWrongTarget)
	t.Logf("address validation: Retries with a token %d, busy %d; answers refused by the reply budget %d (%d bytes); replay windows evicted %d",
		dd.RetriesSent, dd.BusySent, dd.RefusedReplies, dd.RefusedReplyBytes, dd.ReplayWindowsEvicted)
	if cpuOK {
		total := cpu1 - cpu0
		idle := time.Duration(idleRate * float64(wall))
		nodesCPU := total - senderCPU - idle
		t.Logf("CPU: process %v over %v (idle cluster %.1f%% of a core, so %v), sender %v; the nodes' cost of the flood %v, %.2f µs per datagram (sender %.2f µs)",
			total.Round(time.Millisecond), wall.Round(time.Millisecond), 100*idleRate, idle.Round(time.Millisecond),
			senderCPU.Round(time.Millisecond), nodesCPU.Round(time.Millisecond),
			float64(nodesCPU.Microseconds())/float64(sent), float64(senderCPU.Microseconds())/float64(sent))
	}
	t.Logf("memory: heap in use %s before, peak %s during (%+.1f MiB); Sys %s before, peak %s during; largest table %d members (bound %d), largest queue %d",
		mib(heapBefore), mib(peak.heapInuse.Load()), float64(heapGrowth)/(1<<20), mib(sysBefore), mib(peak.sys.Load()),
		max(peak.members.Load(), after.Members), cfg.MaxMembers, peak.queue.Load())
	t.Logf("health: false deaths %d, suspect events about live nodes %d, forged members declared dead %d times; probes %d, suspicions %d, refutations %d",
		deaths.realDead.Load(), deaths.realSuspect.Load(), deaths.fakeDead.Load(),
		after.Probes-before.Probes, after.Suspicions-before.Suspicions, after.Refutations-before.Refutations)

	logs.mu.Lock()
	refusalLines, keyLines := 0, 0
	for msg, n := range logs.lines {
		switch {
		case strings.HasPrefix(msg, "WARN dropping datagrams this node cannot open"):
			keyLines += n
		case strings.HasPrefix(msg, "WARN refusing") || strings.HasPrefix(msg, "WARN dropping"):
			refusalLines += n
		default:
			continue
		}
		t.Logf("log: %d × %q", n, msg)
	}
	logs.mu.Unlock()
	// At most one line per bound per node per minute.
	if limit := spec.nodes * 5 * (1 + int(wall/time.Minute)); refusalLines > limit {
		t.Errorf("%d refusal log lines, over one per bound per node per minute (%d)", refusalLines, limit)
	}
	// Datagrams that do not open: at most one line per source, for 8
	// sources, and one about the others, per node per minute.
	if limit := spec.nodes * 9 * (1 + int(wall/time.Minute)); keyLines > limit {
		t.Errorf("%d log lines about datagrams that do not open, over 9 per node per minute (%d)", keyLines, limit)
	}
	if total := logs.total.Load(); total > int64(spec.nodes*40) {
		t.Errorf("%d log lines at Info and above from %d nodes: logging grows with the flood", total, spec.nodes)
	}
}

// TestFloodSmall floods a 10-node cluster with 50,000 hostile datagrams,
// sealed and open; it always runs.
func TestFloodSmall(t *testing.T) {
	for _, keyed := range []bool{true, false} {
		t.Run(fmt.Sprintf("keyed=%v", keyed), func(t *testing.T) {
			runFlood(t, floodSpec{nodes: 10, datagrams: 50_000, keyed: keyed, rate: 50_000,
				idle: 200 * time.Millisecond, local: true, beats: 3})
		})
	}
}

// TestFlood is the full flood: 1,000,000 hostile datagrams at a 100-node
// cluster, sealed and open. It takes minutes; set HEARSAY_FLOOD=1 to run
// it, HEARSAY_FLOOD_RATE to change the sending rate (datagrams a second,
// default 100,000; 0 sends as fast as the socket takes them),
// HEARSAY_FLOOD_MODE=sealed or open to run one of the two clusters, and
// HEARSAY_FLOOD_TIMING=local for DefaultLocalConfig's timing (250 ms
// heartbeats, 100 ms probe timeouts) instead of DefaultLANConfig's.
func TestFlood(t *testing.T) {
	if os.Getenv("HEARSAY_FLOOD") != "1" {
		t.Skip("the full flood (100 nodes, 1,000,000 datagrams) runs with HEARSAY_FLOOD=1; TestFloodSmall is its everyday variant")
	}
	rate := 100_000
	if s := os.Getenv("HEARSAY_FLOOD_RATE"); s != "" {
		var err error
		if rate, err = strconv.Atoi(s); err != nil {
			t.Fatalf("HEARSAY_FLOOD_RATE=%q: %v", s, err)
		}
	}
	for _, keyed := range []bool{true, false} {
		if m := os.Getenv("HEARSAY_FLOOD_MODE"); m == "open" && keyed || m == "sealed" && !keyed {
			continue
		}
		t.Run(fmt.Sprintf("keyed=%v", keyed), func(t *testing.T) {
			runFlood(t, floodSpec{nodes: 100, datagrams: 1_000_000, keyed: keyed, rate: rate,
				idle: 2 * time.Second, local: os.Getenv("HEARSAY_FLOOD_TIMING") == "local", beats: 8})
		})
	}
}
