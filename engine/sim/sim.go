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
}

// Sim is a deterministic simulated cluster: virtual time, an event queue,
// the in-memory network from netio, and one engine.Core per node. It is not
// safe for concurrent use.
type Sim struct {
	cfg    Config
	net    *netio.Network
	nodes  []*Node
	out    engine.Outbox
	pool   *engine.ShardPool
	timers timerHeap
	gens   uint64

	coreTime  time.Duration // time inside cores, with MeasureCore
	coreCalls uint64
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
	s := &Sim{
		cfg: cfg,
		net: netio.NewNetwork(netio.NetworkConfig{Seed: cfg.Seed, Link: cfg.Link}),
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

func (s *Sim) receive(n *Node, from netip.AddrPort, b []byte) {
	if n.crashed || n.paused {
		return
	}
	if s.cfg.MeasureCore {
		t0 := time.Now()
		n.Core.Receive(s.now(), from, b)
		s.coreTime += time.Since(t0)
		s.coreCalls++
	} else {
		n.Core.Receive(s.now(), from, b)
	}
	s.flush(n)
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
	n.ver++
	heap.Push(&s.timers, timer{at: d, node: int32(n.Index), ver: n.ver})
}

// RunFor advances the simulation by d.
func (s *Sim) RunFor(d time.Duration) { s.RunUntil(s.net.Now() + d) }

// RunUntil advances the simulation to virtual time t, delivering datagrams
// and running node timers in time order (deliveries first on ties).
func (s *Sim) RunUntil(t time.Duration) {
	end := epoch + engine.Time(t)
	for {
		nt, okN := s.net.NextEvent()
		okN = okN && nt <= t
		okT := len(s.timers) > 0 && s.timers[0].at <= end
		if !okN && !okT {
			break
		}
		if okN && (!okT || epoch+engine.Time(nt) <= s.timers[0].at) {
			s.net.Step()
			continue
		}
		tm := heap.Pop(&s.timers).(timer)
		n := s.nodes[tm.node]
		if tm.ver != n.ver || n.crashed || n.paused {
			continue
		}
		if at := epoch + engine.Time(s.net.Now()); tm.at > at {
			s.net.AdvanceTo(time.Duration(tm.at - epoch))
		}
		n.scheduled = 0
		if tm.at == n.lastTick {
			if n.spins++; n.spins > maxSpins {
				panic(fmt.Sprintf("sim: node %d ticked %d times at %v: its Deadline does not advance", n.Index, n.spins, Since(tm.at)))
			}
		} else {
			n.lastTick, n.spins = tm.at, 0
		}
		if s.cfg.MeasureCore {
			t0 := time.Now()
			n.Core.Tick(tm.at)
			n.Core.Publish()
			s.coreTime += time.Since(t0)
			s.coreCalls++
		} else {
			n.Core.Tick(tm.at)
			n.Core.Publish()
		}
		s.flush(n)
	}
	if s.net.Now() < t {
		s.net.AdvanceTo(t)
	}
}

type timer struct {
	at   engine.Time
	node int32
	ver  uint32
}

type timerHeap []timer

func (h timerHeap) Len() int { return len(h) }
func (h timerHeap) Less(i, j int) bool {
	if h[i].at != h[j].at {
		return h[i].at < h[j].at
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
