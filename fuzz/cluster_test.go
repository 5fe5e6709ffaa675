package fuzz_test

import (
	"container/heap"
	"log/slog"
	"net/netip"
	"time"

	"github.com/hearsay-io/hearsay/engine"
	"github.com/hearsay-io/hearsay/engine/sim"
	"github.com/hearsay-io/hearsay/netio"
)

// This file is a small deterministic driver for a handful of cores on the
// in-memory network, like engine/sim but with a tap on every delivery: the
// corpus capture and the replay tests need the datagrams themselves, which
// the simulator does not expose. Node identities and addresses are the
// simulator's (sim.ID, sim.Addr), so traffic captured here is traffic the
// simulator would produce for the same seed.

// epoch is added to the network's virtual time to form engine time, as the
// simulator does, so that engine time is never zero.
const epoch = engine.Time(time.Hour)

// delivery is one datagram handed to a node, as the tap sees it.
type delivery struct {
	at   engine.Time
	from netip.AddrPort
	to   int // receiving node
	data []byte
}

// cluster runs n cores deterministically for a given seed.
type cluster struct {
	cfg    engine.Config
	seed   uint64
	net    *netio.Network
	nodes  []*cnode
	timers clusterTimers
	// tap, when set, sees every datagram delivered to a running node,
	// before the node does. data is a private copy.
	tap func(delivery)
	// events collects every node's events.
	events []nodeEvent
}

type nodeEvent struct {
	node int
	ev   engine.Event
}

// cnode is one member of a cluster.
type cnode struct {
	index     int
	id        engine.ID
	addr      netip.AddrPort
	core      *engine.Core
	ep        *netio.Endpoint
	out       engine.Outbox
	down      bool // crashed
	scheduled engine.Time
	ver       uint32
}

// quietLogger discards everything; fuzzing must not print per input.
var quietLogger = slog.New(slog.DiscardHandler)

// newCluster starts n nodes. converged nodes start with every member in
// their table, alive at generation 1; otherwise each starts alone.
func newCluster(n int, seed uint64, cfg engine.Config, link netio.Link, converged bool) (*cluster, error) {
	c := &cluster{
		cfg:  cfg,
		seed: seed,
		net:  netio.NewNetwork(netio.NetworkConfig{Seed: seed, Link: link}),
	}
	for i := 0; i < n; i++ {
		nd := &cnode{index: i, id: sim.ID(seed, i), addr: sim.Addr(i)}
		c.nodes = append(c.nodes, nd)
		if err := c.boot(nd, 1); err != nil {
			return nil, err
		}
	}
	if converged {
		members := c.members()
		for _, nd := range c.nodes {
			nd.core.Seed(c.now(), members)
			nd.core.Publish()
			c.schedule(nd)
		}
	}
	return c, nil
}

// members returns every node as an alive member at its current generation.
func (c *cluster) members() []engine.Member {
	var ms []engine.Member
	for _, nd := range c.nodes {
		ms = append(ms, engine.Member{ID: nd.id, Addr: nd.addr, Generation: nd.core.Generation(), State: engine.StateAlive})
	}
	return ms
}

func (c *cluster) boot(nd *cnode, gen uint64) error {
	ec := c.cfg
	ec.ID = nd.id
	ec.Generation = gen
	ec.BindAddr = nd.addr
	ec.AdvertiseAddr = nd.addr
	if ec.Logger == nil {
		ec.Logger = quietLogger
	}
	idx := nd.index
	core, err := engine.NewCore(ec, engine.Env{
		Addr:    nd.addr,
		Now:     c.now(),
		Seed:    c.seed ^ uint64(idx)<<20 ^ gen,
		Outbox:  &nd.out,
		OnEvent: func(e engine.Event) { c.events = append(c.events, nodeEvent{idx, e}) },
	})
	if err != nil {
		return err
	}
	ep, err := c.net.Listen(nd.addr)
	if err != nil {
		return err
	}
	nd.core, nd.ep, nd.down = core, ep, false
	ep.SetHandler(func(from netip.AddrPort, b []byte) { c.receive(nd, from, b) })
	c.schedule(nd)
	return nil
}

func (c *cluster) now() engine.Time { return epoch + engine.Time(c.net.Now()) }

func (c *cluster) receive(nd *cnode, from netip.AddrPort, b []byte) {
	if nd.down {
		return
	}
	if c.tap != nil {
		c.tap(delivery{at: c.now(), from: from, to: nd.index, data: append([]byte(nil), b...)})
	}
	nd.core.Receive(c.now(), from, b)
	c.flush(nd)
}

// flush sends what nd's core emitted and reschedules nd.
func (c *cluster) flush(nd *cnode) {
	for _, m := range nd.out.Messages() {
		nd.ep.Send(m.Addr, m.Buf[:m.N])
	}
	nd.out.Reset()
	c.schedule(nd)
}

func (c *cluster) schedule(nd *cnode) {
	if nd.down {
		return
	}
	d := nd.core.Deadline()
	if d == nd.scheduled {
		return
	}
	nd.scheduled = d
	nd.ver++
	heap.Push(&c.timers, clusterTimer{at: d, node: nd.index, ver: nd.ver})
}

// runFor advances the cluster by d, delivering datagrams and running
// timers in time order (deliveries first on ties).
func (c *cluster) runFor(d time.Duration) {
	end := c.now().Add(d)
	for {
		nt, okN := c.net.NextEvent()
		netAt := epoch + engine.Time(nt)
		okN = okN && netAt <= end
		okT := len(c.timers) > 0 && c.timers[0].at <= end
		if !okN && !okT {
			break
		}
		if okN && (!okT || netAt <= c.timers[0].at) {
			c.net.Step()
			continue
		}
		tm := heap.Pop(&c.timers).(clusterTimer)
		nd := c.nodes[tm.node]
		if tm.ver != nd.ver || nd.down {
			continue
		}
		if tm.at > c.now() {
			c.net.AdvanceTo(time.Duration(tm.at - epoch))
		}
		nd.scheduled = 0
		nd.core.Tick(tm.at)
		nd.core.Publish()
		c.flush(nd)
	}
	if c.now() < end {
		c.net.AdvanceTo(time.Duration(end - epoch))
	}
}

// crash stops node i as a killed process: its socket closes, its state is
// lost.
func (c *cluster) crash(i int) {
	nd := c.nodes[i]
	if nd.down {
		return
	}
	nd.down = true
	nd.ver++
	nd.ep.Close()
}

// restart boots crashed node i again at the next generation and joins it
// through node seed.
func (c *cluster) restart(i, seed int) error {
	nd := c.nodes[i]
	c.crash(i)
	if err := c.boot(nd, nd.core.Generation()+1); err != nil {
		return err
	}
	if err := nd.core.Join(c.now(), []netip.AddrPort{c.nodes[seed].addr}); err != nil {
		return err
	}
	c.flush(nd)
	return nil
}

// join makes node i join through node seed.
func (c *cluster) join(i, seed int) error {
	nd := c.nodes[i]
	err := nd.core.Join(c.now(), []netip.AddrPort{c.nodes[seed].addr})
	c.flush(nd)
	return err
}

func (c *cluster) leave(i int) {
	nd := c.nodes[i]
	nd.core.Leave(c.now())
	c.flush(nd)
}

func (c *cluster) setState(i int, key, value string) error {
	nd := c.nodes[i]
	err := nd.core.SetState(c.now(), []byte(key), []byte(value))
	c.flush(nd)
	return err
}

// inject hands b to node i as if it had arrived from from, bypassing the
// network (and the tap); what the node answers goes out on the network.
func (c *cluster) inject(i int, from netip.AddrPort, b []byte) {
	nd := c.nodes[i]
	if nd.down {
		return
	}
	nd.core.Receive(c.now(), from, b)
	c.flush(nd)
}

// partition splits the network into groups of node indices; heal joins it.
func (c *cluster) partition(groups ...[]int) {
	var gs [][]netip.AddrPort
	for _, g := range groups {
		var as []netip.AddrPort
		for _, i := range g {
			as = append(as, c.nodes[i].addr)
		}
		gs = append(gs, as)
	}
	c.net.Partition(gs...)
}

func (c *cluster) heal() { c.net.Heal() }

// running returns the indices of nodes that are up.
func (c *cluster) running() []int {
	var r []int
	for _, nd := range c.nodes {
		if !nd.down {
			r = append(r, nd.index)
		}
	}
	return r
}

type clusterTimer struct {
	at   engine.Time
	node int
	ver  uint32
}

type clusterTimers []clusterTimer

func (h clusterTimers) Len() int { return len(h) }
func (h clusterTimers) Less(i, j int) bool {
	if h[i].at != h[j].at {
		return h[i].at < h[j].at
	}
	return h[i].node < h[j].node
}
func (h clusterTimers) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *clusterTimers) Push(x any)   { *h = append(*h, x.(clusterTimer)) }
func (h *clusterTimers) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}
