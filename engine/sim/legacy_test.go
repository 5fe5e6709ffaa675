package sim

import (
	"container/heap"
	"fmt"
	"hash/fnv"
	"io"
	"net/netip"
	"testing"
	"time"

	"github.com/hearsay-io/hearsay/engine"
	"github.com/hearsay-io/hearsay/netio"
)

// legacy is the simulator's driver as it was before it charged for work,
// kept verbatim (less MeasureCore) so that a test can show that
// CostModel{Free: true} runs exactly as it did: same deliveries, same
// events, same counters.
type legacy struct {
	cfg    Config
	net    *netio.Network
	nodes  []*legacyNode
	out    engine.Outbox
	pool   *engine.ShardPool
	timers timerHeap
}

type legacyNode struct {
	Index     int
	ID        engine.ID
	Addr      netip.AddrPort
	Core      *engine.Core
	ep        *netio.Endpoint
	crashed   bool
	paused    bool
	scheduled engine.Time
	ver       uint32
}

func newLegacy(cfg Config) (*legacy, error) {
	s := &legacy{cfg: cfg, net: netio.NewNetwork(netio.NetworkConfig{Seed: cfg.Seed, Link: cfg.Link})}
	if !cfg.NoSharing {
		s.pool = engine.NewShardPool()
	}
	s.nodes = make([]*legacyNode, cfg.N)
	for i := range s.nodes {
		n := &legacyNode{Index: i, ID: ID(cfg.Seed, i), Addr: Addr(i)}
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

func (s *legacy) boot(n *legacyNode, gen uint64) error {
	ec := s.cfg.Engine
	ec.ID = n.ID
	ec.Generation = gen
	ec.BindAddr = n.Addr
	ec.AdvertiseAddr = n.Addr
	idx := n.Index
	env := engine.Env{Addr: n.Addr, Now: s.now(), Seed: s.cfg.Seed ^ uint64(idx)<<20 ^ gen, Outbox: &s.out, Pool: s.pool}
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

func (s *legacy) now() engine.Time { return epoch + engine.Time(s.net.Now()) }

func (s *legacy) receive(n *legacyNode, from netip.AddrPort, b []byte) {
	if n.crashed || n.paused {
		return
	}
	n.Core.Receive(s.now(), from, b)
	s.flush(n)
}

func (s *legacy) flush(n *legacyNode) {
	for _, m := range s.out.Messages() {
		n.ep.Send(m.Addr, m.Buf)
	}
	s.out.Reset()
	s.schedule(n)
}

func (s *legacy) schedule(n *legacyNode) {
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

func (s *legacy) RunUntil(t time.Duration) {
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
		n.Core.Tick(tm.at)
		n.Core.Publish()
		s.flush(n)
	}
	if s.net.Now() < t {
		s.net.AdvanceTo(t)
	}
}

func (s *legacy) Crash(i int) {
	n := s.nodes[i]
	if n.crashed {
		return
	}
	n.crashed = true
	n.ver++
	n.ep.Close()
}

func (s *legacy) Restart(i int, seeds ...netip.AddrPort) error {
	n := s.nodes[i]
	if !n.crashed {
		s.Crash(i)
	}
	if err := s.boot(n, n.Core.Generation()+1); err != nil {
		return err
	}
	if len(seeds) > 0 {
		return s.Join(i, seeds...)
	}
	return nil
}

func (s *legacy) Join(i int, seeds ...netip.AddrPort) error {
	n := s.nodes[i]
	err := n.Core.Join(s.now(), seeds)
	s.flush(n)
	return err
}

func (s *legacy) SetState(i int, key, value []byte) error {
	n := s.nodes[i]
	err := n.Core.SetState(s.now(), key, value)
	s.flush(n)
	return err
}

func (s *legacy) Pause(i int) {
	n := s.nodes[i]
	if n.crashed || n.paused {
		return
	}
	n.paused = true
	n.ver++
	s.net.Pause(n.Addr)
}

func (s *legacy) Resume(i int) {
	n := s.nodes[i]
	if !n.paused {
		return
	}
	n.paused = false
	s.net.Resume(n.Addr)
	n.scheduled = 0
	n.Core.Tick(s.now())
	n.Core.Publish()
	s.flush(n)
}

// driver is what the scenario below needs of a simulator.
type driver interface {
	RunUntil(time.Duration)
	Join(int, ...netip.AddrPort) error
	SetState(int, []byte, []byte) error
	Pause(int)
	Resume(int)
	Crash(int)
	Restart(int, ...netip.AddrPort) error
}

// legacyScenario joins 150 nodes through two seeds over lossy, jittery
// links, updates state, pauses a node long enough to be suspected,
// crashes and restarts others, and writes every event to w.
func legacyScenario(t *testing.T, w io.Writer, build func(Config) (driver, error)) driver {
	const n = 150
	link := netio.Link{Loss: 0.02, Duplicate: 0.01, Reorder: 0.01,
		Latency: netio.Latency{Base: 100 * time.Microsecond, Jitter: 50 * time.Microsecond, Shape: netio.Normal}}
	ec := engine.DefaultLANConfig()
	ec.Open = true
	d, err := build(Config{N: n, Seed: 41, Engine: ec, Link: link, Start: Alone,
		OnEvent: func(node int, e engine.Event) {
			fmt.Fprintf(w, "%d %d %v %x %v %d %d\n", node, e.At, e.Type, e.Member.ID, e.Member.State, e.Member.Incarnation, e.Member.Generation)
		}})
	if err != nil {
		t.Fatal(err)
	}
	seeds := []netip.AddrPort{Addr(0), Addr(1)}
	for i := 2; i < n; i++ {
		d.RunUntil(2 * time.Second * time.Duration(i) / n)
		if err := d.Join(i, seeds...); err != nil {
			t.Fatal(err)
		}
	}
	d.RunUntil(5 * time.Second)
	for i := range 20 {
		if err := d.SetState(i*7, []byte("k"), fmt.Appendf(nil, "v%d", i)); err != nil {
			t.Fatal(err)
		}
	}
	d.Pause(5)
	d.RunUntil(8 * time.Second)
	d.Resume(5)
	d.Crash(6)
	d.Crash(8)
	d.RunUntil(12 * time.Second)
	if err := d.Restart(6, seeds...); err != nil {
		t.Fatal(err)
	}
	d.RunUntil(20 * time.Second)
	return d
}

// CostModel{Free: true} runs exactly as the simulator did before it
// charged for work.
func TestFreeCostIsLegacy(t *testing.T) {
	hl, hs := fnv.New64a(), fnv.New64a()
	l := legacyScenario(t, hl, func(c Config) (driver, error) { return newLegacy(c) }).(*legacy)
	s := legacyScenario(t, hs, func(c Config) (driver, error) {
		c.Cost = CostModel{Free: true}
		return New(c)
	}).(*Sim)
	if a, b := hl.Sum64(), hs.Sum64(); a != b {
		t.Errorf("events differ: legacy digest %x, free cost model %x", a, b)
	}
	if a, b := l.net.Stats(), s.net.Stats(); a != b {
		t.Errorf("network stats differ:\nlegacy %+v\nfree   %+v", a, b)
	}
	for i := range l.nodes {
		if a, b := l.nodes[i].Core.Stats(), s.nodes[i].Core.Stats(); a != b {
			t.Errorf("node %d stats differ:\nlegacy %+v\nfree   %+v", i, a, b)
		}
	}
	if st := s.net.Stats(); st.Delivered == 0 || st.DropLoss == 0 {
		t.Errorf("the scenario did not run: %+v", st)
	}
}
