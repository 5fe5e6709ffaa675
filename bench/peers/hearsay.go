package peers

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"sync"
	"time"

	"github.com/hearsay-io/hearsay/codec"
	"github.com/hearsay-io/hearsay/engine"
	"github.com/hearsay-io/hearsay/netio"
)

// HearsayEngine runs Hearsay nodes (engine.Node), each on its own UDP
// socket on 127.0.0.1 through the engine's batched transport (package
// netio), as a deployment would, except for three things: the cluster is
// open (Config.Open, no sealing), every node's socket is wrapped in a
// netio.Faulty for loss and in a counter, and the nodes share nothing (no
// engine.ShardPool: heap per node is what one node per process would
// hold).
type HearsayEngine struct {
	// Preset names Config ("lan", "local" or a sweep point's label).
	Preset string
	// Config returns the settings every node starts from; the harness sets
	// Open, ID, Generation, the addresses and a silent Logger.
	Config func() engine.Config
}

// HearsayLAN is Hearsay with engine.DefaultLANConfig: 1 s heartbeats to
// K = 3 observers, 200/400 ms probe timeouts, suspicion from 1.5 s.
func HearsayLAN() HearsayEngine {
	return HearsayEngine{Preset: "lan", Config: engine.DefaultLANConfig}
}

// HearsayLocal is Hearsay with engine.DefaultLocalConfig: 250 ms
// heartbeats, 100/200 ms probe timeouts, suspicion from 250 ms.
func HearsayLocal() HearsayEngine {
	return HearsayEngine{Preset: "local", Config: engine.DefaultLocalConfig}
}

// Name returns "hearsay".
func (HearsayEngine) Name() string { return "hearsay" }

// Label returns the preset's name.
func (e HearsayEngine) Label() string { return e.Preset }

// Settings lists the timing settings of the engine's config.
func (e HearsayEngine) Settings() []Param {
	c := e.Config()
	return []Param{
		{"HeartbeatInterval", c.HeartbeatInterval.String()},
		{"Observers", fmt.Sprint(c.Observers)},
		{"Phi", fmt.Sprintf("threshold %g, min stddev %v", c.Phi.Threshold, c.Phi.MinStdDev)},
		{"ProbeTimeout", c.ProbeTimeout.String()},
		{"IndirectTimeout", c.IndirectTimeout.String()},
		{"IndirectProbes", fmt.Sprint(c.IndirectProbes)},
		{"Suspicion", fmt.Sprintf("min base %v, max factor %g, expected %d", c.Suspicion.MinBase, c.Suspicion.MaxFactor, c.Suspicion.Expected)},
		{"GossipInterval", c.GossipInterval.String()},
		{"GossipFanout", fmt.Sprint(c.GossipFanout)},
		{"SyncInterval", c.SyncInterval.String()},
	}
}

// Start opens n nodes.
func (e HearsayEngine) Start(n int, tr *Tracker) (Cluster, error) {
	if err := raiseFileLimit(n + 64); err != nil {
		return nil, err
	}
	c := &hearsayCluster{
		tr:    tr,
		nodes: make([]*engine.Node, n),
		links: make([]*hearsayLink, n),
		index: make(map[engine.ID]int, n),
		ids:   make([]engine.ID, n),
	}
	for i := range c.ids {
		id := engine.NewID()
		for _, dup := c.index[id]; dup || id == 0; _, dup = c.index[id] {
			id = engine.NewID()
		}
		c.ids[i] = id
		c.index[id] = i
	}
	base := e.Config()
	base.Open = true
	base.Logger = slog.New(slog.DiscardHandler)
	if base.MaxDatagramSize == 0 {
		base.MaxDatagramSize = codec.DefaultDatagramSize
	}
	for i := range c.nodes {
		u, err := netio.ListenUDP(netip.AddrPortFrom(netip.AddrFrom4([4]byte{127, 0, 0, 1}), 0), netio.UDPOptions{
			MaxDatagram: base.MaxDatagramSize,
			GSO:         true,
		})
		if err != nil {
			c.Close()
			return nil, fmt.Errorf("peers: hearsay node %d: %w", i, err)
		}
		link := &hearsayLink{f: netio.NewFaulty(u, netio.FaultConfig{Seed: uint64(i) + 1}), ctr: &c.ctr}
		cfg := base
		cfg.ID, cfg.Generation = c.ids[i], 1
		obs := i
		node, err := engine.NewNodeWith(cfg, engine.NodeOptions{
			Transport: link,
			OnEvent:   func(ev engine.Event) { c.event(obs, ev) },
		})
		if err != nil {
			c.Close()
			return nil, fmt.Errorf("peers: hearsay node %d: %w", i, err)
		}
		c.nodes[i], c.links[i] = node, link
		tr.SetRunning(i, true)
	}
	return c, nil
}

// hearsayCluster is a Cluster of engine.Node values.
type hearsayCluster struct {
	tr    *Tracker
	ids   []engine.ID
	index map[engine.ID]int // read-only once started
	nodes []*engine.Node
	links []*hearsayLink
	ctr   counters

	mu      sync.Mutex
	crashed []bool
}

// event feeds a node's events to the tracker. It runs on the node's core
// goroutine and must not call the node.
func (c *hearsayCluster) event(obs int, ev engine.Event) {
	s, ok := c.index[ev.Member.ID]
	if !ok {
		return
	}
	switch ev.Type {
	case engine.EventJoin, engine.EventAlive, engine.EventUpdate:
		c.tr.Set(obs, s, true)
	case engine.EventDead, engine.EventLeft:
		c.tr.Set(obs, s, false)
	}
}

func (c *hearsayCluster) Join(ctx context.Context, i int, seeds []int) error {
	addrs := make([]netip.AddrPort, len(seeds))
	for k, s := range seeds {
		addrs[k] = c.nodes[s].Addr()
	}
	return c.nodes[i].Join(ctx, addrs...)
}

func (c *hearsayCluster) Crash(i int) error {
	c.tr.SetRunning(i, false)
	c.mu.Lock()
	if c.crashed == nil {
		c.crashed = make([]bool, len(c.nodes))
	}
	c.crashed[i] = true
	c.mu.Unlock()
	return c.nodes[i].Close()
}

func (c *hearsayCluster) SetLoss(p float64) {
	for _, l := range c.links {
		if l != nil {
			l.f.SetLoss(p)
		}
	}
}

func (c *hearsayCluster) Traffic() Traffic {
	t := c.ctr.snapshot()
	for _, l := range c.links {
		if l != nil {
			s := l.f.Stats()
			t.Dropped += s.DropInjected
			t.QueueDropped += s.DropBufferFull
		}
	}
	return t
}

func (c *hearsayCluster) ByType() map[string]Count {
	m := make(map[string]Count)
	c.mu.Lock()
	crashed := c.crashed
	c.mu.Unlock()
	for i, n := range c.nodes {
		if n == nil || (crashed != nil && crashed[i]) {
			continue
		}
		s := n.Stats().Stats
		for t := range s.Out {
			if s.Out[t] == 0 {
				continue
			}
			name := codec.MsgType(t).String()
			v := m[name]
			v.Datagrams += s.Out[t]
			v.Bytes += s.OutBytes[t]
			m[name] = v
		}
	}
	return m
}

func (c *hearsayCluster) Close() error {
	var wg sync.WaitGroup
	errs := make([]error, len(c.nodes))
	for i, n := range c.nodes {
		if n != nil {
			wg.Go(func() { errs[i] = n.Close() })
		}
	}
	wg.Wait()
	return errors.Join(errs...)
}

// hearsayLink is a node's transport: a netio.Faulty over its UDP socket,
// counting what the node hands it before loss is applied.
type hearsayLink struct {
	f   *netio.Faulty
	ctr *counters
}

func (l *hearsayLink) WriteBatch(msgs []netio.Message) (int, error) {
	var b uint64
	for i := range msgs {
		b += uint64(len(msgs[i].Buf))
	}
	l.ctr.datagrams.Add(uint64(len(msgs)))
	l.ctr.bytes.Add(b)
	return l.f.WriteBatch(msgs)
}

func (l *hearsayLink) ReadBatch(msgs []netio.Message) (int, error) { return l.f.ReadBatch(msgs) }
func (l *hearsayLink) LocalAddr() netip.AddrPort                   { return l.f.LocalAddr() }
func (l *hearsayLink) Stats() netio.Stats                          { return l.f.Stats() }
func (l *hearsayLink) Close() error                                { return l.f.Close() }

// joinTimeout bounds one node's join call in the scenarios.
const joinTimeout = 2 * time.Minute
