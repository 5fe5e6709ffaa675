package engine

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hearsay-io/hearsay/codec"
	"github.com/hearsay-io/hearsay/netio"
	"github.com/hearsay-io/hearsay/ring"
)

// ErrClosed is returned, possibly wrapped, by Node methods called after
// Close, and by calls that were waiting when Close ran. Match it with
// errors.Is.
var ErrClosed = errors.New("hearsay: node is closed")

// ErrNoSeedAnswered is wrapped, together with the context's error, by the
// error Join returns when its context ends before any seed answered.
var ErrNoSeedAnswered = errors.New("hearsay: no seed answered the join")

// Node is a cluster member running in this process: a Core bound to the
// real clock and a batched UDP socket (package netio), with an API safe for
// concurrent use. Services use it through the root package hearsay, whose
// Node wraps this one without the harness hooks (NewNodeWith's options,
// AddMembers, AdoptView).
//
// A Node runs two goroutines, and a third while seeds are given by name.
// One owns the Core: it ticks it when its timers are due, feeds it every
// datagram, runs the API's writes, sends what the core emits in batches
// and publishes the membership table and the counters. One reads the
// socket in batches (recvmmsg on Linux) and hands them over; it blocks in
// the runtime's netpoller, not in a busy loop. The third resolves seed
// names (Config.Resolver) before every re-contact, so that no lookup ever
// runs on the core's goroutine. The protocol code is the same Core the
// simulator (package engine/sim) drives; the Node adds no protocol logic.
//
// Reads (Members, AllMembers, Member, NumMembers, Counts, State, Ring,
// Owner, KeyIDs, Seeds, Stats) never wait for the core: they read the
// immutable table shards and ring the core last published through atomic
// pointers, or the counters it copied after its last step under a lock
// held only for that copy. Writes (SetState, DeleteState, Join, Leave,
// SetSeeds, InstallKey, UsePrimaryKey, RemoveKey) and RTT are executed on
// the core's goroutine and wait for it. Every method is safe for
// concurrent use.
//
// With Config.Keys set, every datagram is sealed (AES-GCM) with the
// primary key and a datagram that does not open with one of the node's
// keys is dropped, counted, before it is parsed, and logged with its
// source address (at most one line per source a minute, for a bounded
// number of sources). Keys rotate in a running cluster in three steps,
// each done on every node before the next: install the new key
// (InstallKey), make it primary (UsePrimaryKey), remove the old one
// (RemoveKey); UsePrimaryKey documents why this loses nothing. A node
// without keys runs an open cluster, and its one log line at start warns
// about it.
//
// Input refused because a bound was reached (Config.MaxMembers,
// MaxStateKeys and MaxStateBytes, MaxPendingUpdates, MaxTransfers, the
// decompressed-size bound) is counted in Stats and logged at Warn level at
// most once a minute per bound, with the number refused since the last
// line; nothing is logged per datagram.
//
// On the steady-state path (heartbeats, probes, acks, gossip) the runtime
// allocates nothing per datagram: receive buffers, the outbox and the timer
// are reused, and events are delivered by value into preallocated channels.
//
// The node's clock, Event.At, is monotonic: nanoseconds since the process
// started, plus one second, common to every node of the process (NodeTime).
// Event.Time is that clock on the wall: the process's start plus the time
// elapsed since.
//
// Close stops the goroutines and closes the socket. Close does not leave
// the cluster: the others then detect the node as failed. Call Leave first
// for a graceful departure.
type Node struct {
	cfg    Config // defaults applied; ID and Generation set
	log    *slog.Logger
	conn   netio.Transport // a *netio.UDP unless NewNodeWith was given one
	id     ID
	addr   netip.AddrPort // advertised
	advHow string         // how addr was chosen among the host's, if it was
	snap   Snapshot

	// Owned by the core goroutine.
	core     *Core
	timer    *time.Timer
	armed    Time
	events   []Event // emitted during one step, dispatched after publishing
	waiters  []*waiter
	ringOn   bool
	ringMods map[ID]bool // pending ring changes: true adds, false removes
	scratch  []Member
	ids      []uint64
	keys     [][]byte // the keyring's keys, primary first (copies)
	refused  refusals // rate limit of the logs about refused input
	keyLog   keyLog   // rate limit of the logs about key mismatches

	keyIDs atomic.Pointer[[]codec.KeyID] // published after every key change

	ring atomic.Pointer[ring.Ring]
	subs subscribers

	reqs     chan request
	in       chan *batch // batches read, for the core goroutine
	free     chan *batch // batches handled (buffers back in rxPool), for the reader
	rxPool   *netio.MessagePool
	rxSize   int // reader goroutine only: slots of its next batch
	rxSmall  int // reader goroutine only: small reads in a row
	rxMost   int // reader goroutine only: the largest of those reads
	closing  chan struct{}
	loopDone chan struct{}
	wg       sync.WaitGroup

	seeds seedState

	life context.Context // ends at Close: bounds the resolver's lookups
	stop context.CancelFunc

	closed    atomic.Bool
	closeOnce sync.Once
	stats     statsBox // the core's counters, published after every step
	counts    counter  // Counts' cache

	readErrs    atomic.Uint64
	lastReadLog time.Time // reader goroutine only
}

// Batching of received datagrams: the reader fills one batch while the core
// goroutine handles others, at most readBatches in all. The buffers come
// from the process's netio.SharedMessagePool just before a read and go back
// once handled, so an idle node holds one batch of minReadBatch buffers
// (the one its reader waits with) and the nodes of a process share the
// large batches that bursts need. The reader's batch doubles, up to
// maxReadBatch, each time a read fills it; after shrinkAfter reads in a
// row that fill at most a quarter of it, it drops to twice the largest of
// those reads (at least minReadBatch): a busy node reads 64 datagrams per
// system call, and a quiet one (a few datagrams a second) is back to a few
// KiB within seconds of a burst.
const (
	readBatches      = 3
	initialReadBatch = minReadBatch
	minReadBatch     = 4
	maxReadBatch     = 64
	shrinkAfter      = 16
)

// clockEpoch is added to the time since processStart to form engine time,
// which must never be zero. processStart is shared by every node of the
// process, so engine times of different nodes compare.
const clockEpoch = Time(time.Second)

var processStart = time.Now()

// monotime returns the engine time now, from the monotonic clock.
func monotime() Time { return clockEpoch + Time(time.Since(processStart)) }

// NewNode validates cfg, listens on cfg.BindAddr and starts the node. The
// node starts alone; call Join to enter a cluster, or let others join it.
//
// Defaults: zero fields take DefaultLANConfig's values; a zero ID is drawn
// at random (NewID); a zero Generation is the wall-clock time in
// nanoseconds. A BindAddr port of 0 picks a free port: read it with
// LocalAddr and Addr. When AdvertiseAddr is unset, the node advertises the
// bound address, or, when that is unspecified (0.0.0.0 or ::), an address
// of this host's interfaces, and logs its choice: a private address first,
// then a global unicast one, then loopback; in the bind address's family
// first, then, for a dual-stack IPv6 socket, IPv4.
//
// An invalid cfg returns the error of Config.Validate, which lists every
// problem and matches ErrInvalidConfig.
func NewNode(cfg Config) (*Node, error) { return NewNodeWith(cfg, NodeOptions{}) }

// newNode builds a node with its socket and core but starts no goroutine;
// tests drive it directly.
func newNode(cfg Config) (*Node, error) { return newNodeWith(cfg, NodeOptions{}) }

// newNodeWith is newNode with the options of NewNodeWith. It closes
// opts.Transport when it fails.
func newNodeWith(cfg Config, opts NodeOptions) (*Node, error) {
	if err := cfg.Validate(); err != nil {
		if opts.Transport != nil {
			opts.Transport.Close()
		}
		return nil, newConfigError(err)
	}
	cfg = cfg.withDefaults()
	if cfg.ID == 0 {
		cfg.ID = NewID()
	}
	if cfg.Generation == 0 {
		cfg.Generation = uint64(time.Now().UnixNano())
	}
	conn := opts.Transport
	if conn == nil {
		u, err := netio.ListenUDP(cfg.BindAddr, SocketOptions(cfg))
		if err != nil {
			return nil, errorf("listen on %v: %w", cfg.BindAddr, err)
		}
		conn = u
	}
	log := cfg.Logger.With(slog.String("node", cfg.ID.String()))
	adv, how, err := advertiseAddr(cfg.AdvertiseAddr, conn.LocalAddr(), cfg.DualStack)
	if err != nil {
		conn.Close()
		return nil, err
	}
	n := &Node{
		cfg:      cfg,
		log:      log,
		conn:     conn,
		id:       cfg.ID,
		addr:     adv,
		advHow:   how,
		ringMods: make(map[ID]bool),
		reqs:     make(chan request),
		in:       make(chan *batch, readBatches),
		free:     make(chan *batch, readBatches),
		closing:  make(chan struct{}),
		loopDone: make(chan struct{}),
	}
	core, err := NewCore(cfg, Env{
		Addr:    adv,
		Now:     monotime(),
		Seed:    randomSeed(),
		Pool:    opts.Pool,
		Publish: true,
		OnEvent: n.eventHook(opts.OnEvent),
	})
	if err != nil {
		conn.Close()
		return nil, err
	}
	n.core = core
	n.snap = core.Snapshot()
	n.publishStats()
	n.initKeys()
	if err := n.initSeeds(); err != nil {
		conn.Close()
		return nil, err
	}
	n.life, n.stop = context.WithCancel(context.Background())
	n.rxPool, n.rxSize = netio.SharedMessagePool(cfg.MaxDatagramSize), initialReadBatch
	for range readBatches {
		n.free <- new(batch)
	}
	return n, nil
}

// SocketOptions returns the options NewNode opens its UDP socket with for
// cfg: 4 MiB receive and send buffers (netio.DefaultSocketBuffer; set with
// SO_RCVBUFFORCE and SO_SNDBUFFORCE when the process may, else capped by
// the kernel's net.core.rmem_max and wmem_max), batches of up to 64
// datagrams per system call (recvmmsg and sendmmsg on Linux), UDP GSO
// where the kernel has it, datagrams up to cfg.MaxDatagramSize, and
// cfg.DualStack. A program that builds its own transport (NewNodeWith)
// starts from these.
func SocketOptions(cfg Config) netio.UDPOptions {
	cfg = cfg.withDefaults()
	return netio.UDPOptions{
		RecvBuffer:  netio.DefaultSocketBuffer,
		SendBuffer:  netio.DefaultSocketBuffer,
		DualStack:   cfg.DualStack,
		MaxDatagram: cfg.MaxDatagramSize,
		BatchSize:   maxReadBatch,
		GSO:         true,
	}
}

// startLoops starts the core's goroutine and the reader.
func (n *Node) startLoops() {
	n.timer = time.NewTimer(time.Hour)
	n.timer.Stop()
	n.wg.Add(2)
	go n.run()
	go n.read()
	n.startResolver()
}

// randomSeed draws the core's random seed from the operating system.
func randomSeed() uint64 {
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic("hearsay: crypto/rand failed: " + err.Error())
	}
	return binary.LittleEndian.Uint64(b[:])
}

// advertiseAddr picks the address to advertise: the configured one, the
// bound one, or, for an unspecified bound address, one of this host's. how
// names the choice when it was made from the interfaces.
func advertiseAddr(cfg, bound netip.AddrPort, dualStack bool) (netip.AddrPort, string, error) {
	if cfg.IsValid() {
		return cfg, "", nil
	}
	ip := bound.Addr().Unmap()
	if !ip.IsUnspecified() {
		return netip.AddrPortFrom(ip, bound.Port()), "", nil
	}
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return netip.AddrPort{}, "", fmt.Errorf("%w: config.AdvertiseAddr: unset and BindAddr %v is unspecified, and listing interfaces failed: %v", ErrInvalidConfig, bound, err)
	}
	var cands []netip.Addr
	for _, a := range addrs {
		if pfx, ok := a.(*net.IPNet); ok {
			if c, ok := netip.AddrFromSlice(pfx.IP); ok {
				cands = append(cands, c.Unmap())
			}
		}
	}
	best, how := chooseAddr(cands, ip.Is6(), dualStack)
	if !best.IsValid() {
		return netip.AddrPort{}, "", fmt.Errorf("%w: config.AdvertiseAddr: unset and BindAddr %v is unspecified, and no usable interface address was found", ErrInvalidConfig, bound)
	}
	return netip.AddrPortFrom(best, bound.Port()), how, nil
}

// chooseAddr picks the address to advertise among a host's addresses for a
// socket of the given family, and names its kind. Ranks, best first: a
// private, then a global unicast address of the socket's family; the same
// of IPv4 on a dual-stack IPv6 socket; then loopback, the socket's family
// first. It returns the zero Addr when none fits.
func chooseAddr(cands []netip.Addr, v6, dualStack bool) (netip.Addr, string) {
	kinds := [...]string{"private", "global unicast", "private IPv4", "global unicast IPv4", "loopback", "loopback IPv4"}
	best, bestRank := netip.Addr{}, len(kinds)
	for _, c := range cands {
		var rank int
		switch {
		case c.IsPrivate():
			rank = 0
		case c.IsGlobalUnicast():
			rank = 1
		case c.IsLoopback():
			rank = 4
		default:
			continue
		}
		if c.Is6() != v6 {
			if !v6 || !dualStack {
				continue // the socket cannot carry the other family
			}
			if rank == 4 {
				rank = 5
			} else {
				rank += 2
			}
		}
		if rank < bestRank {
			best, bestRank = c, rank
		}
	}
	if !best.IsValid() {
		return best, ""
	}
	return best, kinds[bestRank]
}

// ID returns the node's member ID.
func (n *Node) ID() ID { return n.id }

// Addr returns the address the node advertises to other members, which is
// what they send to and what its Member record carries.
func (n *Node) Addr() netip.AddrPort { return n.addr }

// LocalAddr returns the address the node's socket is bound to, with the port
// the system picked when BindAddr's port was 0.
func (n *Node) LocalAddr() netip.AddrPort { return n.conn.LocalAddr() }

// Config returns the node's configuration with defaults applied and its ID
// and Generation set. Keys and Seeds alias the node's copies; do not modify
// them. Keys are the keys the node started with; KeyIDs reports the keys it
// holds after rotations.
func (n *Node) Config() Config { return n.cfg }

// Close stops the node: both goroutines end, the socket closes, every
// subscription's channel is closed, and calls waiting in Join or Leave
// return ErrClosed. It does not leave the cluster (see Leave). Close is
// idempotent; only the first call can return an error (from closing the
// socket). After Close, calls that return an error return one matching
// ErrClosed; reads return the membership as it was when the node stopped.
func (n *Node) Close() error {
	var err error
	n.closeOnce.Do(func() {
		n.closed.Store(true)
		n.seeds.mu.Lock()
		n.seeds.stopped = true // no resolver starts from now on
		n.seeds.mu.Unlock()
		close(n.closing)
		n.stop()
		err = n.conn.Close()
		n.wg.Wait()
		n.subs.closeAll()
		n.log.Debug("hearsay node closed")
	})
	return err
}

// logEvent logs a membership event: changes about other members at Debug
// (a large cluster has many), changes about this node at Warn and Info.
func (n *Node) logEvent(ctx context.Context, e *Event, debug bool) {
	switch e.Type {
	case EventSelfDead:
		n.log.Warn("this node was declared dead by the cluster; it rejoins once it reaches RejoinProbes members",
			"incarnation", e.Member.Incarnation)
	case EventSelfAlive:
		n.log.Info("this node refuted its death and is alive again", "incarnation", e.Member.Incarnation)
	case EventState:
		if debug {
			n.log.LogAttrs(ctx, slog.LevelDebug, "state",
				slog.String("member", e.Member.ID.String()), slog.String("key", string(e.Key)),
				slog.Uint64("version", e.Version), slog.Bool("deleted", e.Deleted))
		}
	default:
		if debug {
			n.log.LogAttrs(ctx, slog.LevelDebug, "member",
				slog.String("event", e.Type.String()), slog.String("member", e.Member.ID.String()),
				slog.String("addr", e.Member.Addr.String()), slog.String("state", e.Member.State.String()),
				slog.Uint64("incarnation", uint64(e.Member.Incarnation)))
		}
	}
}
