package bench

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hearsay-io/hearsay/codec"
	"github.com/hearsay-io/hearsay/engine"
	"github.com/hearsay-io/hearsay/engine/sim"
	"github.com/hearsay-io/hearsay/netio"
)

// UDPDriver runs clusters of real nodes: N engine.Node values in this
// process, each with its own UDP socket on 127.0.0.1 (an ephemeral port),
// the batched transport of package netio and the real clock. Time is real:
// Run waits, and a scenario takes as long as it says.
//
// Nodes get the simulator's IDs for the seed (sim.ID) and generation 1. A
// converged cluster starts with every node given every other as alive (one
// node through engine.Node.AddMembers, the rest through engine.Node.AdoptView
// of its view, except those ClusterConfig.Outside leaves to another
// process); nodes share identical table shards through one
// engine.ShardPool, as the simulator's do, so that thousands fit in one
// process. Each node holds one socket (a file descriptor): NewCluster
// raises the soft RLIMIT_NOFILE to the hard limit and fails when N sockets
// do not fit.
//
// Faults are injected in the process, not in the kernel: each node's
// socket is wrapped in a netio.Faulty for loss (the cluster's Loss on every
// datagram sent; SetNodeLoss on top, on send and receive), and partitions
// and cut links drop what a node sends across them. A crash closes the
// node without leaving; a restart opens a new node with the same ID, the
// next generation and, when it is still free, the same port. Pause and
// Resume are not supported: a goroutine-based node cannot be frozen from
// outside without changing what is measured.
//
// Events are delivered to ClusterConfig.OnEvent on the goroutine that calls
// Run, while it runs: the nodes queue them, with their own times, which
// Elapsed converts. Nodes log nothing unless Engine.Logger is set.
type UDPDriver struct{}

// Name returns "udp".
func (UDPDriver) Name() string { return "udp" }

// udpFDMargin is the file descriptors kept free for the rest of the
// process (standard streams, the netpoller, output files).
const udpFDMargin = 64

// udpLeaveTimeout bounds how long a leaving node spreads its Left record
// before it stops; udpJoinTimeout bounds a join in the background.
const (
	udpLeaveTimeout = 30 * time.Second
	udpJoinTimeout  = 2 * time.Minute
)

// NewCluster starts cfg.N nodes on loopback. With StartConverged every node
// knows every other when it returns; with StartAlone each knows only
// itself.
func (UDPDriver) NewCluster(cfg ClusterConfig) (Cluster, error) {
	if cfg.N < 1 {
		return nil, fmt.Errorf("bench: udp cluster: N must be at least 1, got %d", cfg.N)
	}
	limit, err := raiseFileLimit()
	if err != nil {
		return nil, fmt.Errorf("bench: udp cluster: %w", err)
	}
	if need := uint64(cfg.N) + udpFDMargin; limit < need {
		return nil, fmt.Errorf("bench: udp cluster: %d nodes need about %d file descriptors (one socket each) but RLIMIT_NOFILE allows %d; raise the hard limit (ulimit -Hn) or lower N",
			cfg.N, need, limit)
	}
	ec := cfg.Engine
	if ec.Logger == nil {
		ec.Logger = slog.New(slog.DiscardHandler)
	}
	if ec.MaxDatagramSize == 0 {
		ec.MaxDatagramSize = codec.DefaultDatagramSize
	}
	ec.BindAddr, ec.AdvertiseAddr, ec.Seeds = netip.AddrPort{}, netip.AddrPort{}, nil
	c := &udpCluster{
		cfg:    cfg,
		ec:     ec,
		ids:    make([]engine.ID, cfg.N),
		index:  make(map[engine.ID]int32, cfg.N),
		nodes:  make([]udpNode, cfg.N),
		pool:   engine.NewShardPool(),
		evWake: make(chan struct{}, 1),
	}
	c.ctx, c.cancel = context.WithCancel(context.Background())
	for i := range c.ids {
		id := sim.ID(cfg.Seed, i)
		c.ids[i] = id
		c.index[id] = int32(i)
	}
	if err := c.start(); err != nil {
		c.Close()
		return nil, err
	}
	c.t0 = engine.NodeTime()
	c.evMu.Lock()
	clear(c.evs)
	c.evs = c.evs[:0] // events of the build, as the simulator's run drops them
	c.evMu.Unlock()
	return c, nil
}

// udpCluster is a Cluster of engine.Node values on loopback.
type udpCluster struct {
	cfg   ClusterConfig
	ec    engine.Config // every node's, before ID and Generation
	ids   []engine.ID
	index map[engine.ID]int32
	nodes []udpNode
	pool  *engine.ShardPool
	t0    engine.Time // engine time at Now() == 0

	// Read by every node's transport on its send path.
	addrs  atomic.Pointer[map[netip.AddrPort]int32] // node of each address
	groups atomic.Pointer[[]int32]                  // partition group of each node; nil: none

	ctx    context.Context // ends at Close: background joins and leaves
	cancel context.CancelFunc
	bg     sync.WaitGroup // background joins and leaves
	closed bool

	joinMu sync.Mutex
	joins  []JoinFigures // of the Join calls that returned

	evMu   sync.Mutex
	evs    []nodeEvent // queued by the nodes, delivered by Run
	spare  []nodeEvent
	evWake chan struct{} // a token when evs became non-empty
}

// udpNode is node slot i: its current process and the faults that outlive
// processes, as a network's would.
type udpNode struct {
	cur  *udpProc
	addr netip.AddrPort
	loss float64                            // SetNodeLoss
	down atomic.Pointer[map[int32]struct{}] // nodes this one's links to are cut
}

// udpProc is one process of a node: what a crash ends and a restart
// replaces.
type udpProc struct {
	node    *engine.Node
	link    *udpLink
	gen     uint64
	stopped atomic.Bool
}

// stop closes the node (no leave) and marks it stopped.
func (p *udpProc) stop() {
	p.stopped.Store(true)
	p.node.Close()
}

type nodeEvent struct {
	node int32
	e    engine.Event
}

// start opens every socket, then starts the nodes, seeded with each other
// when converged, on as many goroutines as there are CPUs.
func (c *udpCluster) start() error {
	outside := make([]bool, len(c.nodes))
	for _, i := range c.cfg.Outside {
		if i < 0 || i >= len(c.nodes) {
			return fmt.Errorf("bench: udp cluster: node %d outside the cluster is not one of its %d nodes", i, len(c.nodes))
		}
		outside[i] = true
	}
	addrs := make(map[netip.AddrPort]int32, len(c.nodes))
	socks := make([]*netio.UDP, len(c.nodes))
	for i := range c.nodes {
		u, err := c.listen(netip.AddrPortFrom(netip.IPv4Unspecified(), 0))
		if err != nil {
			for _, s := range socks[:i] {
				s.Close()
			}
			return fmt.Errorf("bench: udp cluster: opening socket %d of %d: %w", i+1, len(c.nodes), err)
		}
		socks[i] = u
		c.nodes[i].addr = u.LocalAddr()
		addrs[u.LocalAddr()] = int32(i)
	}
	c.addrs.Store(&addrs)
	// A node outside the cluster keeps its address; its socket is closed
	// for the process that will run it to bind.
	for i, out := range outside {
		if out {
			socks[i].Close()
			socks[i] = nil
		}
	}
	var members []engine.Member
	if c.cfg.Start == StartConverged {
		members = make([]engine.Member, len(c.nodes))
		for i := range c.nodes {
			members[i] = engine.Member{ID: c.ids[i], Addr: c.nodes[i].addr, Generation: 1, State: engine.StateAlive}
		}
	}
	procs := make([]*udpProc, len(c.nodes))
	errs := make([]error, len(c.nodes))
	parallel(len(c.nodes), func(i int) {
		if outside[i] {
			return
		}
		procs[i], errs[i] = c.boot(i, socks[i], 1)
		socks[i] = nil // owned by the node, or closed
	})
	root := -1
	for i, p := range procs {
		if p != nil {
			c.nodes[i].cur = p
			if root < 0 {
				root = i
			}
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("bench: udp cluster: starting nodes: %w", err)
	}
	if members == nil || root < 0 {
		return nil
	}
	// Seed every node only once all run: a node alone sends nothing. One
	// node is given every member; the rest adopt its view, sharing its
	// shards, in time proportional to the shards rather than the members.
	// The time from the first seeded node to the last, when seeded nodes
	// probe and reconcile with nodes that do not know them yet, is then
	// milliseconds even at 10,000 nodes; seeding each node with every
	// member took seconds at 3,000 nodes, and the traffic of the seeded
	// nodes slowed the seeding of the rest until it never ended at 4,000.
	if err := procs[root].node.AddMembers(members); err != nil {
		return fmt.Errorf("bench: udp cluster: seeding node %d: %w", root, err)
	}
	parallel(len(c.nodes), func(i int) {
		if i != root && procs[i] != nil {
			errs[i] = procs[i].node.AdoptView(procs[root].node)
		}
	})
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("bench: udp cluster: seeding nodes: %w", err)
	}
	return nil
}

// listen opens a socket as the engine does for a node, at 127.0.0.1 and
// the port of at (0: ephemeral).
func (c *udpCluster) listen(at netip.AddrPort) (*netio.UDP, error) {
	return netio.ListenUDP(netip.AddrPortFrom(netip.AddrFrom4([4]byte{127, 0, 0, 1}), at.Port()), netio.UDPOptions{
		MaxDatagram: c.ec.MaxDatagramSize,
		GSO:         true,
	})
}

// boot starts node i's process of generation gen on socket u, which it
// owns from then on.
func (c *udpCluster) boot(i int, u *netio.UDP, gen uint64) (*udpProc, error) {
	n := &c.nodes[i]
	f := netio.NewFaulty(u, netio.FaultConfig{Seed: c.cfg.Seed ^ uint64(i)<<20 ^ gen})
	link := &udpLink{t: f, c: c, self: int32(i)}
	c.applyLoss(link, n.loss)
	ec := c.ec
	ec.ID, ec.Generation = c.ids[i], gen
	opts := engine.NodeOptions{Transport: link, Pool: c.pool}
	if c.cfg.OnEvent != nil {
		idx := int32(i)
		opts.OnEvent = func(e engine.Event) { c.queue(idx, e) }
	}
	node, err := engine.NewNodeWith(ec, opts)
	if err != nil {
		return nil, fmt.Errorf("node %d: %w", i, err)
	}
	return &udpProc{node: node, link: link, gen: gen}, nil
}

// applyLoss sets a node's injected loss: the cluster's on every datagram it
// sends, and p on top of that on what it sends and, independently, on what
// it receives.
func (c *udpCluster) applyLoss(l *udpLink, p float64) {
	l.t.SetLoss(1 - (1-c.cfg.Loss)*(1-p))
	l.t.SetReadLoss(p)
}

// queue records an event for delivery by Run. It runs on node goroutines,
// inside a core call: it copies what the event aliases and returns.
func (c *udpCluster) queue(node int32, e engine.Event) {
	if e.Key != nil {
		e.Key = slices.Clone(e.Key)
	}
	if e.Value != nil {
		e.Value = slices.Clone(e.Value)
	}
	c.evMu.Lock()
	c.evs = append(c.evs, nodeEvent{node, e})
	first := len(c.evs) == 1
	c.evMu.Unlock()
	if first {
		select {
		case c.evWake <- struct{}{}:
		default:
		}
	}
}

// deliver hands the queued events to OnEvent, on the caller's goroutine.
func (c *udpCluster) deliver() {
	c.evMu.Lock()
	evs := c.evs
	c.evs = c.spare[:0]
	c.evMu.Unlock()
	for k := range evs {
		c.cfg.OnEvent(int(evs[k].node), evs[k].e)
	}
	clear(evs)
	c.spare = evs
}

func (c *udpCluster) Len() int           { return len(c.ids) }
func (c *udpCluster) ID(i int) engine.ID { return c.ids[i] }

func (c *udpCluster) Index(id engine.ID) (int, bool) {
	i, ok := c.index[id]
	return int(i), ok
}

// Now returns the real time since the cluster finished starting.
func (c *udpCluster) Now() time.Duration { return time.Duration(engine.NodeTime() - c.t0) }

// Elapsed converts a node's time to the scale of Now.
func (c *udpCluster) Elapsed(t engine.Time) time.Duration { return time.Duration(t - c.t0) }

// Run waits d, delivering events as they come.
func (c *udpCluster) Run(ctx context.Context, d time.Duration) error {
	c.deliver()
	t := time.NewTimer(d)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			c.deliver()
			return ctx.Err()
		case <-t.C:
			c.deliver()
			return nil
		case <-c.evWake:
			c.deliver()
		}
	}
}

func (c *udpCluster) proc(i int) *udpProc { return c.nodes[i].cur }

func (c *udpCluster) Running(i int) bool {
	p := c.proc(i)
	return p != nil && !p.stopped.Load()
}

// Generation returns node i's generation: its process's, or 1 for a node
// outside the cluster (ClusterConfig.Outside), as the others were given it.
func (c *udpCluster) Generation(i int) uint64 {
	if p := c.proc(i); p != nil {
		return p.gen
	}
	return 1
}

// running returns node i's process, or an error if it does not run.
func (c *udpCluster) running(i int) (*udpProc, error) {
	p := c.proc(i)
	if p == nil || p.stopped.Load() {
		return nil, fmt.Errorf("bench: node %d is not running", i)
	}
	return p, nil
}

// Crash closes node i without leaving.
func (c *udpCluster) Crash(i int) error {
	if p := c.proc(i); p != nil && !p.stopped.Load() {
		p.stop()
	}
	return nil
}

func (c *udpCluster) seeds(list []int) []netip.AddrPort {
	a := make([]netip.AddrPort, len(list))
	for k, j := range list {
		a[k] = c.nodes[j].addr
	}
	return a
}

// Restart crashes node i if it runs, then starts it again with the next
// generation, on its old port when free, and joins it through seeds in the
// background.
func (c *udpCluster) Restart(i int, seeds []int) error {
	old := c.proc(i)
	if old != nil && !old.stopped.Load() {
		old.stop()
	}
	gen := uint64(1)
	if old != nil {
		gen = old.gen + 1
	}
	n := &c.nodes[i]
	u, err := c.listen(n.addr)
	if err != nil {
		if u, err = c.listen(netip.AddrPort{}); err != nil {
			return fmt.Errorf("bench: restarting node %d: %w", i, err)
		}
		c.moved(i, u.LocalAddr())
	}
	p, err := c.boot(i, u, gen)
	if err != nil {
		return fmt.Errorf("bench: restarting %w", err)
	}
	n.cur = p
	if len(seeds) > 0 {
		c.join(i, p, c.seeds(seeds))
	}
	return nil
}

// moved records that node i now listens on a.
func (c *udpCluster) moved(i int, a netip.AddrPort) {
	old := *c.addrs.Load()
	m := make(map[netip.AddrPort]int32, len(old))
	for k, v := range old {
		if v != int32(i) {
			m[k] = v
		}
	}
	m[a] = int32(i)
	c.nodes[i].addr = a
	c.addrs.Store(&m)
}

// Join makes node i join through seeds in the background.
func (c *udpCluster) Join(i int, seeds []int) error {
	p, err := c.running(i)
	if err != nil {
		return err
	}
	if len(seeds) == 0 {
		return fmt.Errorf("bench: node %d: %w", i, engine.ErrNoSeeds)
	}
	c.join(i, p, c.seeds(seeds))
	return nil
}

// join makes node i's process p join through seeds in the background and
// records what the call cost (JoinFigures).
func (c *udpCluster) join(i int, p *udpProc, seeds []netip.AddrPort) {
	c.bg.Go(func() {
		ctx, cancel := context.WithTimeout(c.ctx, udpJoinTimeout)
		defer cancel()
		b := c.joinBegin(p)
		err := p.node.Join(ctx, seeds...) // a failed join keeps trying until Close
		if c.ctx.Err() == nil {
			c.joinEnd(i, p, b, err)
		}
	})
}

// Leave makes node i leave in the background; it stops once its Left
// record has spread, or after udpLeaveTimeout.
func (c *udpCluster) Leave(i int) error {
	p, err := c.running(i)
	if err != nil {
		return err
	}
	c.bg.Go(func() {
		ctx, cancel := context.WithTimeout(c.ctx, udpLeaveTimeout)
		defer cancel()
		_ = p.node.Leave(ctx)
		p.stop()
	})
	return nil
}

// Pause is not supported.
func (c *udpCluster) Pause(i int) error {
	return fmt.Errorf("bench: udp driver cannot pause node %d: %w", i, ErrUnsupported)
}

// Resume is not supported.
func (c *udpCluster) Resume(i int) error {
	return fmt.Errorf("bench: udp driver cannot resume node %d: %w", i, ErrUnsupported)
}

func (c *udpCluster) SetState(i int, key, value []byte) error {
	p, err := c.running(i)
	if err != nil {
		return err
	}
	return p.node.SetState(key, value)
}

func (c *udpCluster) Member(i, j int) (engine.Member, bool) {
	p := c.proc(i)
	if p == nil {
		return engine.Member{}, false // outside the cluster
	}
	return p.node.Member(c.ids[j])
}

func (c *udpCluster) State(i, j int, key []byte) ([]byte, uint64, bool) {
	p := c.proc(i)
	if p == nil {
		return nil, 0, false // outside the cluster
	}
	return p.node.State(c.ids[j], key)
}

func (c *udpCluster) NumMembers(i int) (int, int) {
	p := c.proc(i)
	if p == nil {
		return 0, 0 // outside the cluster
	}
	return p.node.NumMembers()
}

func (c *udpCluster) Stats(i int) engine.Stats {
	p := c.proc(i)
	if p == nil {
		return engine.Stats{} // outside the cluster
	}
	return p.node.Stats().Stats
}

func (c *udpCluster) SetNodeLoss(i int, p float64) error {
	if p < 0 || p > 1 {
		return fmt.Errorf("bench: node loss %g is not in [0, 1]", p)
	}
	c.nodes[i].loss = p
	if cur := c.proc(i); cur != nil {
		c.applyLoss(cur.link, p)
	}
	return nil
}

func (c *udpCluster) SetLinkDown(from, to int, down bool) error {
	n := &c.nodes[from]
	m := make(map[int32]struct{})
	if old := n.down.Load(); old != nil {
		for k := range *old {
			m[k] = struct{}{}
		}
	}
	if down {
		m[int32(to)] = struct{}{}
	} else {
		delete(m, int32(to))
	}
	if len(m) == 0 {
		n.down.Store(nil)
	} else {
		n.down.Store(&m)
	}
	return nil
}

func (c *udpCluster) Partition(groups ...[]int) error {
	g := make([]int32, len(c.nodes))
	for i := range g {
		g[i] = int32(len(groups)) // the group of every node not listed
	}
	for k, list := range groups {
		for _, j := range list {
			g[j] = int32(k)
		}
	}
	c.groups.Store(&g)
	return nil
}

func (c *udpCluster) Heal() error {
	c.groups.Store(nil)
	return nil
}

// Close stops every node and waits for the background joins and leaves
// and for every node's goroutines.
func (c *udpCluster) Close() error {
	if c.closed {
		return nil
	}
	c.closed = true
	c.cancel()
	var wg sync.WaitGroup
	for i := range c.nodes {
		if p := c.nodes[i].cur; p != nil && !p.stopped.Load() {
			wg.Go(p.stop)
		}
	}
	wg.Wait()
	c.bg.Wait()
	return nil
}

// parallel calls f(i) for every i in [0, n) on GOMAXPROCS goroutines and
// returns when all calls have.
func parallel(n int, f func(i int)) {
	var next atomic.Int64
	var wg sync.WaitGroup
	for range runtime.GOMAXPROCS(0) {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				f(i)
			}
		})
	}
	wg.Wait()
}
