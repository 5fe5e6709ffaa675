package peers

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"strconv"
	"sync"
	"sync/atomic"

	"github.com/hashicorp/memberlist"
)

// MemberlistEngine runs hashicorp/memberlist nodes, each with its own
// NetTransport (a UDP socket and a TCP listener on 127.0.0.1) wrapped in a
// transport that counts and drops (mlTransport). Nodes are named "n<i>".
type MemberlistEngine struct {
	// Preset names Config ("lan", "local" or a sweep point's label).
	Preset string
	// Config returns the settings every node starts from; the harness sets
	// Name, Transport, Events and a silent Logger.
	Config func() *memberlist.Config
	// NoTCPLoss exempts TCP from injected loss. By default a TCP connection
	// attempt, under loss p, loses its SYN with probability p, as a real
	// network would; see mlTransport.
	NoTCPLoss bool
}

// MemberlistLAN is memberlist with DefaultLANConfig: 1 s probe interval,
// 500 ms probe timeout, suspicion 4·log₁₀N probe intervals, gossip every
// 200 ms to 3 nodes, push-pull every 30 s.
func MemberlistLAN() MemberlistEngine {
	return MemberlistEngine{Preset: "lan", Config: memberlist.DefaultLANConfig}
}

// MemberlistLocal is memberlist with DefaultLocalConfig: 1 s probe
// interval, 200 ms probe timeout, suspicion 3·log₁₀N probe intervals,
// gossip every 100 ms, one indirect check.
func MemberlistLocal() MemberlistEngine {
	return MemberlistEngine{Preset: "local", Config: memberlist.DefaultLocalConfig}
}

// Name returns "memberlist".
func (MemberlistEngine) Name() string { return "memberlist" }

// Label returns the preset's name.
func (e MemberlistEngine) Label() string { return e.Preset }

// Settings lists the timing settings of the engine's config.
func (e MemberlistEngine) Settings() []Param {
	c := e.Config()
	return []Param{
		{"ProbeInterval", c.ProbeInterval.String()},
		{"ProbeTimeout", c.ProbeTimeout.String()},
		{"IndirectChecks", fmt.Sprint(c.IndirectChecks)},
		{"SuspicionMult", fmt.Sprint(c.SuspicionMult)},
		{"SuspicionMaxTimeoutMult", fmt.Sprint(c.SuspicionMaxTimeoutMult)},
		{"GossipInterval", c.GossipInterval.String()},
		{"GossipNodes", fmt.Sprint(c.GossipNodes)},
		{"RetransmitMult", fmt.Sprint(c.RetransmitMult)},
		{"PushPullInterval", c.PushPullInterval.String()},
		{"TCPTimeout", c.TCPTimeout.String()},
	}
}

// Start opens n nodes.
func (e MemberlistEngine) Start(n int, tr *Tracker) (Cluster, error) {
	if err := raiseFileLimit(3*n + 64); err != nil {
		return nil, err
	}
	c := &mlCluster{tr: tr, nodes: make([]*memberlist.Memberlist, n), tcpLoss: !e.NoTCPLoss}
	quiet := log.New(io.Discard, "", 0)
	counted := log.New(&c.logs, "", 0)
	for i := range c.nodes {
		nt, err := newNetTransport(quiet)
		if err != nil {
			c.Close()
			return nil, fmt.Errorf("peers: memberlist node %d: %w", i, err)
		}
		cfg := e.Config()
		cfg.Name = "n" + strconv.Itoa(i)
		cfg.BindAddr, cfg.BindPort = "127.0.0.1", 0
		cfg.AdvertiseAddr, cfg.AdvertisePort = "", 0
		cfg.Transport = newMLTransport(nt, c)
		cfg.Events = mlEvents{c: c, obs: i}
		cfg.LogOutput, cfg.Logger = nil, counted
		m, err := memberlist.Create(cfg)
		if err != nil {
			c.Close()
			return nil, fmt.Errorf("peers: memberlist node %d: %w", i, err)
		}
		c.nodes[i] = m
		tr.SetRunning(i, true)
	}
	return c, nil
}

// newNetTransport opens a NetTransport on an ephemeral port of 127.0.0.1.
// NetTransport takes a free TCP port and then binds UDP to the same
// number, which another process may hold: it tries again a few times.
func newNetTransport(logger *log.Logger) (*memberlist.NetTransport, error) {
	var err error
	for range 20 {
		var nt *memberlist.NetTransport
		nt, err = memberlist.NewNetTransport(&memberlist.NetTransportConfig{
			BindAddrs: []string{"127.0.0.1"},
			BindPort:  0,
			Logger:    logger,
		})
		if err == nil {
			return nt, nil
		}
	}
	return nil, err
}

// mlCluster is a Cluster of memberlist nodes.
type mlCluster struct {
	tr      *Tracker
	nodes   []*memberlist.Memberlist
	tcpLoss bool
	loss    atomicFloat
	ctr     counters
	types   [256]typeCounter
	logs    logCounter
}

// logCounter counts memberlist's log lines that say it dropped a message
// because its handler queue (Config.HandoffQueueDepth) was full.
type logCounter struct{ dropped atomic.Uint64 }

func (l *logCounter) Write(b []byte) (int, error) {
	if bytes.Contains(b, []byte("handler queue full")) {
		l.dropped.Add(1)
	}
	return len(b), nil
}

type typeCounter struct{ datagrams, bytes atomicUint }

func (c *mlCluster) Join(ctx context.Context, i int, seeds []int) error {
	addrs := make([]string, len(seeds))
	for k, s := range seeds {
		addrs[k] = c.nodes[s].LocalNode().Address()
	}
	done := make(chan error, 1)
	go func() {
		_, err := c.nodes[i].Join(addrs)
		done <- err
	}()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		return fmt.Errorf("peers: memberlist join: %w", ctx.Err())
	}
}

func (c *mlCluster) Crash(i int) error {
	c.tr.SetRunning(i, false)
	return c.nodes[i].Shutdown()
}

func (c *mlCluster) SetLoss(p float64) { c.loss.Store(p) }

func (c *mlCluster) Traffic() Traffic {
	t := c.ctr.snapshot()
	t.QueueDropped = c.logs.dropped.Load()
	return t
}

func (c *mlCluster) ByType() map[string]Count {
	m := make(map[string]Count)
	for t := range c.types {
		d := c.types[t].datagrams.Load()
		if d == 0 {
			continue
		}
		m[mlTypeName(byte(t))] = Count{Datagrams: d, Bytes: c.types[t].bytes.Load()}
	}
	return m
}

func (c *mlCluster) Close() error {
	var wg sync.WaitGroup
	errs := make([]error, len(c.nodes))
	for i, m := range c.nodes {
		if m != nil {
			wg.Go(func() { errs[i] = m.Shutdown() })
		}
	}
	wg.Wait()
	return errors.Join(errs...)
}

// mlEvents feeds one node's join and leave notifications to the tracker.
// memberlist calls it under its own locks; it only takes the tracker's.
type mlEvents struct {
	c   *mlCluster
	obs int
}

func (e mlEvents) NotifyJoin(n *memberlist.Node)   { e.set(n, true) }
func (e mlEvents) NotifyLeave(n *memberlist.Node)  { e.set(n, false) }
func (e mlEvents) NotifyUpdate(n *memberlist.Node) {}

func (e mlEvents) set(n *memberlist.Node, up bool) {
	if len(n.Name) < 2 {
		return
	}
	s, err := strconv.Atoi(n.Name[1:])
	if err != nil {
		return
	}
	e.c.tr.Set(e.obs, s, up)
}

// memberlist's message types (its net.go), for the breakdown by type.
var mlTypes = [...]string{
	"ping", "indirect-ping", "ack", "suspect", "alive", "dead", "push-pull",
	"compound", "user", "compressed", "encrypted", "nack", "crc", "err",
}

func mlTypeName(t byte) string {
	if int(t) < len(mlTypes) {
		return mlTypes[t]
	}
	return "type(" + strconv.Itoa(int(t)) + ")"
}
