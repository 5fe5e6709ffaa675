package sim

import (
	"container/heap"
	"fmt"
	"net/netip"
	"time"

	"github.com/hearsay-io/hearsay/engine"
	"github.com/hearsay-io/hearsay/netio"
)

// epoch is added to the network's virtual time to form engine time, so that
// engine time is never zero.
const epoch = engine.Time(time.Hour)

// Start says how a simulated cluster begins.
type Start uint8

const (
	// Converged starts every node with the full membership, as if the
	// cluster had been running for a while: the fast way to measure steady
	// state, detection and dissemination at large N.
	Converged Start = iota
	// Alone starts every node knowing only itself; the caller joins them
	// (see JoinAll and Sim.Join).
	Alone
)

// Config configures a simulated cluster.
type Config struct {
	// N is the number of nodes.
	N int
	// Seed makes the run deterministic: the same Config gives the same run.
	Seed uint64
	// Engine is the configuration every node starts from; ID, Generation
	// and the addresses are set per node.
	Engine engine.Config
	// Link is the default link between every pair of nodes.
	Link netio.Link
	// Start says whether nodes start converged or alone.
	Start Start
	// NoSharing disables the shard pool, so that every node holds a private
	// table, as a real deployment does. Memory grows as N².
	NoSharing bool
	// OnEvent, when set, receives every node's membership and state events.
	OnEvent func(node int, e engine.Event)
	// MeasureCore makes the simulator time every call into a core (Tick,
	// Receive and Publish) with the monotonic clock, so that CoreTime
	// separates the protocol's cost from the simulator's. It costs two
	// clock reads per call.
	MeasureCore bool
	// Cost is what work costs a node in virtual time: each node is one CPU
	// that is busy while it handles a datagram or runs its timers, with a
	// receive queue bounded in bytes like a socket buffer. The zero value
	// is the model calibrated on real runs (DefaultCost); Cost{Free: true}
	// makes work free, as the simulator was before it charged for work.
	// See CostModel.
	Cost CostModel
}

// Sim is a deterministic simulated cluster: virtual time, an event queue,
// the in-memory network from netio, and one engine.Core per node. It is not
// safe for concurrent use.
type Sim struct {
	cfg    Config
	cost   CostModel       // resolved: defaults filled in, scaled
	free   bool            // cost.Free: work takes no time
	cpus   []time.Duration // with cost.CPUs: when each shared CPU is free
	net    *netio.Network
	nodes  []*Node
	out    engine.Outbox
	pool   *engine.ShardPool
	timers timerHeap
	gens   uint64

	coreTime  time.Duration // time inside cores, with MeasureCore
	coreCalls uint64

	// trace, when set (by the calibration tests), receives every timed
	// core call with MeasureCore: the datagram received (nil for a timer),
	// what the core emitted and the time it took. clock, when set, replaces
	// the monotonic clock for that timing (with a thread CPU clock).
	trace func(node int, in []byte, out []netio.Message, d time.Duration)
	clock func() time.Duration
}

// stopwatchBase is the origin of stopwatch readings.
var stopwatchBase = time.Now()

// stopwatch reads the clock that MeasureCore times core calls with.
func (s *Sim) stopwatch() time.Duration {
	if s.clock != nil {
		return s.clock()
	}
	return time.Since(stopwatchBase)
}

// CoreTime returns the wall time spent inside cores and the number of calls
// timed, when Config.MeasureCore is set.
func (s *Sim) CoreTime() (time.Duration, uint64) { return s.coreTime, s.coreCalls }

// Node is one simulated member.
type Node struct {
	Index int
	ID    engine.ID
	Addr  netip.AddrPort
	Core  *engine.Core

	s         *Sim
	ep        *netio.Endpoint
	crashed   bool
	paused    bool
	scheduled engine.Time
	ver       uint32
	lastTick  engine.Time // when Tick last ran
	spins     int         // Ticks in a row at lastTick

	busyUntil time.Duration // virtual time at which the node's CPU is free
	due       engine.Time   // when the scheduled timer came due, for MaxLag
	resumed   engine.Time   // when the node was last resumed, for MaxLag
	stats     NodeStats     // work counters; queue figures of past endpoints
}

// maxSpins is how many Ticks in a row one node may take at the same virtual
// time before the simulator reports a core whose Deadline does not advance.
const maxSpins = 10_000

// Addr returns the address of node i.
func Addr(i int) netip.AddrPort {
	n := i + 1
	return netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, byte(n >> 16), byte(n >> 8), byte(n)}), 7946)
}

// ID returns the ID the simulator gives node i: a fixed mix of the seed and
// the index, never zero.
func ID(seed uint64, i int) engine.ID {
	x := seed ^ (uint64(i)+1)*0x9e3779b97f4a7c15
	x ^= x >> 31
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 29
	if x == 0 {
		x = 1
	}
	return engine.ID(x)
}

// New builds a cluster of cfg.N nodes.
func New(cfg Config) (*Sim, error) {
	if cfg.N < 1 || cfg.N > 1<<22 {
		return nil, fmt.Errorf("sim: N must be in [1, %d], got %d", 1<<22, cfg.N)
	}
	cost, err := cfg.Cost.resolve()
	if err != nil {
		return nil, err
	}
	nc := netio.NetworkConfig{Seed: cfg.Seed, Link: cfg.Link}
	if !cost.Free {
		nc.QueueLimit = -1 // bounded in bytes only, as a socket is
		nc.QueueBytes = cost.RecvBuffer
		nc.QueueOverhead = cost.QueueOverhead
	}
	s := &Sim{
		cfg:  cfg,
		cost: cost,
		free: cost.Free,
		net:  netio.NewNetwork(nc),
	}
	if !cost.Free && cost.CPUs > 0 {
		s.cpus = make([]time.Duration, cost.CPUs)
	}
	if !cfg.NoSharing {
		s.pool = engine.NewShardPool()
	}
	s.nodes = make([]*Node, cfg.N)
	for i := range s.nodes {
		n := &Node{Index: i, ID: ID(cfg.Seed, i), Addr: Addr(i), s: s}
		s.nodes[i] = n
		if err := s.boot(n, 1); err != nil {
			return nil, err
		}
	}
	if cfg.Start == Converged {
		members := make([]engine.Member, 0, cfg.N)
		for _, n := range s.nodes {
			members = append(members, engine.Member{ID: n.ID, Addr: n.Addr, Generation: n.Core.Generation(), State: engine.StateAlive})
		}
		first := s.nodes[0].Core
		first.Seed(s.now(), members)
		first.Publish()
		for _, n := range s.nodes[1:] {
			n.Core.AdoptView(first)
		}
		for _, n := range s.nodes {
			s.schedule(n)
		}
	}
	return s, nil
}

// boot starts a fresh core for n with the given generation.
func (s *Sim) boot(n *Node, gen uint64) error {
	ec := s.cfg.Engine
	ec.ID = n.ID
	ec.Generation = gen
	ec.BindAddr = n.Addr
	ec.AdvertiseAddr = n.Addr
	idx := n.Index
	env := engine.Env{
		Addr:   n.Addr,
		Now:    s.now(),
		Seed:   s.cfg.Seed ^ uint64(idx)<<20 ^ gen,
		Outbox: &s.out,
		Pool:   s.pool,
	}
	if s.cfg.OnEvent != nil {
		h := s.cfg.OnEvent
		env.OnEvent = func(e engine.Event) { h(idx, e) }
	}
	c, err := engine.NewCore(ec, env)
	if err != nil {
		return err
	}
	ep, err := s.net.Listen(n.Addr)
	if err != nil {
		return err
	}
	n.Core, n.ep = c, ep
	n.crashed, n.paused = false, false
	n.busyUntil = 0
	ep.SetHandler(func(from netip.AddrPort, b []byte) { s.receive(n, from, b) })
	s.schedule(n)
	return nil
}

// Now returns the virtual time since the simulation started.
func (s *Sim) Now() time.Duration { return s.net.Now() }

func (s *Sim) now() engine.Time { return epoch + engine.Time(s.net.Now()) }

// Time converts a virtual time to the engine time that cores and events use.
func Time(d time.Duration) engine.Time { return epoch + engine.Time(d) }

// Since converts an engine time back to virtual time since the start.
func Since(t engine.Time) time.Duration { return time.Duration(t - epoch) }

// Network returns the simulated network, for fault injection.
func (s *Sim) Network() *netio.Network { return s.net }

// Nodes returns every node, crashed ones included.
func (s *Sim) Nodes() []*Node { return s.nodes }

// Node returns node i.
func (s *Sim) Node(i int) *Node { return s.nodes[i] }

// Pool returns the shard pool, or nil without sharing.
func (s *Sim) Pool() *engine.ShardPool { return s.pool }

// receive hands a datagram to n's core. The network calls it only when n
// is free (not busy, not paused), at the time n gets to the datagram.
func (s *Sim) receive(n *Node, from netip.AddrPort, b []byte) {
	if n.crashed || n.paused {
		return
	}
	now := s.net.Now()
	if s.cfg.MeasureCore {
		t0 := s.stopwatch()
		n.Core.Receive(epoch+engine.Time(now), from, b)
		d := s.stopwatch() - t0
		s.coreTime += d
		s.coreCalls++
		if s.trace != nil {
			s.trace(n.Index, b, s.out.Messages(), d)
		}
	} else {
		n.Core.Receive(epoch+engine.Time(now), from, b)
	}
	n.stats.Datagrams++
	if !s.free {
		s.charge(n, now, s.cost.receive(b)+s.cost.emit(s.out.Messages()))
	}
	s.flush(n)
}

// tick runs n's timers at now and publishes its table.
func (s *Sim) tick(n *Node, now engine.Time) {
	if s.cfg.MeasureCore {
		t0 := s.stopwatch()
		n.Core.Tick(now)
		n.Core.Publish()
		d := s.stopwatch() - t0
		s.coreTime += d
		s.coreCalls++
		if s.trace != nil {
			s.trace(n.Index, nil, s.out.Messages(), d)
		}
	} else {
		n.Core.Tick(now)
		n.Core.Publish()
	}
	n.stats.Ticks++
	if !s.free {
		s.charge(n, time.Duration(now-epoch), s.cost.Tick+s.cost.emit(s.out.Messages()))
	}
	s.flush(n)
}

// call charges n for a user call (Join, Leave, SetState) that emitted what
// is in the outbox, and sends it.
func (s *Sim) call(n *Node) {
	if !s.free {
		s.charge(n, s.net.Now(), s.cost.Tick+s.cost.emit(s.out.Messages()))
	}
	s.flush(n)
}

// charge makes n busy for d (and Wake more if n was idle) from start, or
// from the end of the work it is already doing, or, with shared CPUs, from
// when one of them is free. The datagrams it then sends leave when the
// work is done.
func (s *Sim) charge(n *Node, start, d time.Duration) {
	if start > n.busyUntil {
		d += s.cost.Wake
		n.stats.Wakes++
	}
	start = max(n.busyUntil, start)
	if len(s.cpus) > 0 {
		k := 0
		for i := 1; i < len(s.cpus); i++ {
			if s.cpus[i] < s.cpus[k] {
				k = i
			}
		}
		start = max(start, s.cpus[k])
		s.cpus[k] = start + d
	}
	n.busyUntil = start + d
	n.stats.Busy += d
	n.ep.SetBusy(n.busyUntil)
}

// flush sends what n's core emitted and reschedules n.
func (s *Sim) flush(n *Node) {
	for _, m := range s.out.Messages() {
		n.ep.Send(m.Addr, m.Buf)
	}
	s.out.Reset()
	s.schedule(n)
}

func (s *Sim) schedule(n *Node) {
	if n.crashed || n.paused {
		return
	}
	d := n.Core.Deadline()
	if d == n.scheduled {
		return
	}
	n.scheduled = d
	n.due = max(d, s.now()) // a core may name a deadline already past
	n.ver++
	t := timer{at: d, node: int32(n.Index), ver: n.ver}
	if b := epoch + engine.Time(n.busyUntil); !s.free && d < b {
		t.at, t.late = b, true
	}
	heap.Push(&s.timers, t)
}

// RunFor advances the simulation by d.
func (s *Sim) RunFor(d time.Duration) { s.RunUntil(s.net.Now() + d) }

// RunUntil advances the simulation to virtual time t, delivering datagrams
// and running node timers in time order (deliveries first on ties, except
// that a timer held back by a busy node runs as soon as the node is free,
// before the datagrams that waited meanwhile).
func (s *Sim) RunUntil(t time.Duration) {
	end := epoch + engine.Time(t)
	for {
		nt, okN := s.net.NextEvent()
		okN = okN && nt <= t
		okT := len(s.timers) > 0 && s.timers[0].at <= end
		if !okN && !okT {
			break
		}
		if okN && (!okT || epoch+engine.Time(nt) < s.timers[0].at ||
			epoch+engine.Time(nt) == s.timers[0].at && !s.timers[0].late) {
			s.net.Step()
			continue
		}
		tm := heap.Pop(&s.timers).(timer)
		n := s.nodes[tm.node]
		if tm.ver != n.ver || n.crashed || n.paused {
			continue
		}
		if b := epoch + engine.Time(n.busyUntil); !s.free && tm.at < b {
			// Busy: the timer runs when the node is free, late.
			tm.at, tm.late = b, true
			heap.Push(&s.timers, tm)
			continue
		}
		if at := epoch + engine.Time(s.net.Now()); tm.at > at {
			// Nothing is due before tm.at (it would have gone first);
			// what is due at tm.at waits for a late timer.
			s.net.AdvanceBefore(time.Duration(tm.at - epoch))
		}
		if tm.late {
			if lag := time.Duration(tm.at - max(n.due, n.resumed)); lag > n.stats.MaxLag {
				n.stats.MaxLag = lag
			}
		}
		n.scheduled = 0
		if tm.at == n.lastTick {
			if n.spins++; n.spins > maxSpins {
				panic(fmt.Sprintf("sim: node %d ticked %d times at %v: its Deadline does not advance", n.Index, n.spins, Since(tm.at)))
			}
		} else {
			n.lastTick, n.spins = tm.at, 0
		}
		s.tick(n, tm.at)
	}
	if s.net.Now() < t {
		s.net.AdvanceTo(t)
	}
}

type timer struct {
	at   engine.Time
	node int32
	ver  uint32
	late bool // held back by a busy node: runs before deliveries at the same time
}

type timerHeap []timer

func (h timerHeap) Len() int { return len(h) }
func (h timerHeap) Less(i, j int) bool {
	if h[i].at != h[j].at {
		return h[i].at < h[j].at
	}
	if h[i].late != h[j].late {
		return h[i].late
	}
	return h[i].node < h[j].node
}
func (h timerHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *timerHeap) Push(x any)   { *h = append(*h, x.(timer)) }
func (h *timerHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}
