package bench

import (
	"context"
	"fmt"
	"net/netip"
	"time"

	"github.com/hearsay-io/hearsay/engine"
	"github.com/hearsay-io/hearsay/engine/sim"
	"github.com/hearsay-io/hearsay/netio"
)

// SimDriver runs clusters in the simulator (package engine/sim): virtual
// time, deterministic for a seed, thousands of nodes on one goroutine.
type SimDriver struct{}

// Name returns "sim".
func (SimDriver) Name() string { return "sim" }

// NewCluster builds a simulated cluster.
func (SimDriver) NewCluster(cfg ClusterConfig) (Cluster, error) {
	if len(cfg.Outside) > 0 {
		return nil, fmt.Errorf("bench: sim cluster: nodes outside the cluster: %w", ErrUnsupported)
	}
	c := &simCluster{
		ids:   make([]engine.ID, cfg.N),
		index: make(map[engine.ID]int32, cfg.N),
		link:  netio.Link{Latency: cfg.Latency, Loss: cfg.Loss},
	}
	for i := range c.ids {
		id := sim.ID(cfg.Seed, i)
		c.ids[i] = id
		c.index[id] = int32(i)
	}
	start := sim.Converged
	if cfg.Start == StartAlone {
		start = sim.Alone
	}
	s, err := sim.New(sim.Config{
		N:       cfg.N,
		Seed:    cfg.Seed,
		Engine:  cfg.Engine,
		Link:    c.link,
		Start:   start,
		OnEvent: cfg.OnEvent,
	})
	if err != nil {
		return nil, err
	}
	for i, n := range s.Nodes() {
		if n.ID != c.ids[i] {
			return nil, fmt.Errorf("bench: simulator gave node %d ID %v, want %v", i, n.ID, c.ids[i])
		}
	}
	c.s = s
	return c, nil
}

type simCluster struct {
	s       *sim.Sim
	ids     []engine.ID
	index   map[engine.ID]int32
	link    netio.Link
	leaving []int // nodes that called Leave and still run
}

func (c *simCluster) Len() int                  { return len(c.ids) }
func (c *simCluster) ID(i int) engine.ID        { return c.ids[i] }
func (c *simCluster) Now() time.Duration        { return c.s.Now() }
func (c *simCluster) Running(i int) bool        { return c.s.Node(i).Running() }
func (c *simCluster) Close() error              { return nil }
func (c *simCluster) addr(i int) netip.AddrPort { return sim.Addr(i) }

func (c *simCluster) Index(id engine.ID) (int, bool) {
	i, ok := c.index[id]
	return int(i), ok
}

func (c *simCluster) Elapsed(t engine.Time) time.Duration { return sim.Since(t) }

// Run advances virtual time in steps of at most a second, so that a
// cancelled context stops a long run promptly, and stops nodes whose
// leave has spread.
func (c *simCluster) Run(ctx context.Context, d time.Duration) error {
	end := c.s.Now() + d
	for c.s.Now() < end {
		if err := ctx.Err(); err != nil {
			return err
		}
		step := min(end-c.s.Now(), time.Second)
		if len(c.leaving) > 0 {
			step = min(step, 100*time.Millisecond)
		}
		c.s.RunUntil(c.s.Now() + step)
		c.reapLeavers()
	}
	return nil
}

func (c *simCluster) reapLeavers() {
	kept := c.leaving[:0]
	for _, i := range c.leaving {
		n := c.s.Node(i)
		if n.Crashed() {
			continue
		}
		if n.Core.Left() {
			c.s.Crash(i)
			continue
		}
		kept = append(kept, i)
	}
	c.leaving = kept
}

func (c *simCluster) Generation(i int) uint64 { return c.s.Node(i).Core.Generation() }

func (c *simCluster) Crash(i int) error {
	c.s.Crash(i)
	return nil
}

func (c *simCluster) seeds(list []int) []netip.AddrPort {
	a := make([]netip.AddrPort, len(list))
	for k, j := range list {
		a[k] = c.addr(j)
	}
	return a
}

func (c *simCluster) Restart(i int, seeds []int) error {
	return c.s.Restart(i, c.seeds(seeds)...)
}

func (c *simCluster) Join(i int, seeds []int) error {
	return c.s.Join(i, c.seeds(seeds)...)
}

func (c *simCluster) Leave(i int) error {
	n := c.s.Node(i)
	if !n.Running() {
		return fmt.Errorf("bench: node %d is not running", i)
	}
	c.s.Leave(i)
	c.leaving = append(c.leaving, i)
	return nil
}

func (c *simCluster) Pause(i int) error {
	c.s.Pause(i)
	return nil
}

func (c *simCluster) Resume(i int) error {
	c.s.Resume(i)
	return nil
}

func (c *simCluster) SetState(i int, key, value []byte) error {
	return c.s.SetState(i, key, value)
}

func (c *simCluster) Member(i, j int) (engine.Member, bool) {
	return c.s.Node(i).Core.Member(c.ids[j])
}

func (c *simCluster) State(i, j int, key []byte) ([]byte, uint64, bool) {
	return c.s.Node(i).Core.State(c.ids[j], key)
}

func (c *simCluster) NumMembers(i int) (int, int) { return c.s.Node(i).Core.NumMembers() }

func (c *simCluster) Stats(i int) engine.Stats { return c.s.Node(i).Core.Stats() }

func (c *simCluster) SetNodeLoss(i int, p float64) error {
	c.s.Network().SetEndpointFaults(c.addr(i), netio.Faults{Loss: p})
	return nil
}

func (c *simCluster) SetLinkDown(from, to int, down bool) error {
	if down {
		l := c.link
		l.Down = true
		c.s.Network().SetLink(c.addr(from), c.addr(to), l)
	} else {
		c.s.Network().ClearLink(c.addr(from), c.addr(to))
	}
	return nil
}

func (c *simCluster) Partition(groups ...[]int) error {
	g := make([][]netip.AddrPort, len(groups))
	for k, list := range groups {
		g[k] = c.seeds(list)
	}
	c.s.Network().Partition(g...)
	return nil
}

func (c *simCluster) Heal() error {
	c.s.Network().Heal()
	return nil
}
