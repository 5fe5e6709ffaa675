package hearsay

import (
	"context"
	"expvar"
	"net/netip"
	"time"

	"github.com/hearsay-io/hearsay/engine"
	"github.com/hearsay-io/hearsay/ring"
)

// Node is a cluster member running in this process: the protocol core
// bound to the real clock and a batched UDP socket, with an API safe for
// concurrent use.
//
// A Node runs a few goroutines: one owns the protocol state and runs its
// timers, one reads the socket, and, when seeds are given by name, one
// resolves them. Reads (Members, AllMembers, Member, Counts, State, Ring,
// Owner, Owners, Stats, KeyIDs, Seeds) never wait for them: they read what
// the node published after its last step, lock-free or under a lock held
// only for a copy. Writes (Join, Leave, SetState, DeleteState, SetSeeds,
// InstallKey, UsePrimaryKey, RemoveKey) and RTT run on the node's
// goroutine and wait for it.
//
// Close stops the goroutines and closes the socket. It does not leave the
// cluster: the others then detect the node as failed. Call Leave first for
// a graceful departure.
type Node struct {
	e *engine.Node
}

// NewNode validates cfg, listens on cfg.BindAddr and starts the node. The
// node starts alone: call Join to enter a cluster, or let others join it.
//
// Zero fields take DefaultLANConfig's values; a zero ID is drawn at random
// (persist it to restart as the same member); a zero Generation is the
// wall-clock time in nanoseconds. One of Keys and Open is required. A
// BindAddr port of 0 picks a free port: read it with LocalAddr and Addr.
// When AdvertiseAddr is unset the node advertises the bound address or,
// when that is unspecified (0.0.0.0 or ::), an address of this host's
// interfaces (private, then global unicast, then loopback), named in its
// one log line at start. The socket's options are SocketOptions(cfg).
//
// An invalid cfg returns an error that lists every problem (Config.Validate)
// and matches ErrInvalidConfig; a key of the wrong length matches
// ErrKeySize too.
func NewNode(cfg Config) (*Node, error) {
	e, err := engine.NewNode(cfg)
	if err != nil {
		return nil, err
	}
	return &Node{e: e}, nil
}

// ID returns the node's member ID.
func (n *Node) ID() ID { return n.e.ID() }

// Addr returns the address the node advertises to other members: what
// they send to, and what its Member record carries. Give it, as
// Addr().String(), to the nodes that join through this one.
func (n *Node) Addr() netip.AddrPort { return n.e.Addr() }

// LocalAddr returns the address the node's socket is bound to, with the
// port the system picked when BindAddr's port was 0.
func (n *Node) LocalAddr() netip.AddrPort { return n.e.LocalAddr() }

// Config returns the node's configuration with defaults applied and its ID
// and Generation set. Its slices alias the node's copies: do not modify
// them. Keys are those the node started with (KeyIDs tells which it holds
// now), Seeds and SeedNames those it was configured with (Seeds tells which
// it uses now).
func (n *Node) Config() Config { return n.e.Config() }

// Join enters the cluster through seeds and blocks until a seed answered
// and the node fetched the cluster's full membership, or ctx ends. A seed
// is a string: "ip:port", "[ipv6]:port", "host:port", or an SRV name such
// as "_gossip._udp.db.ns.svc" whose targets give the ports. Host and SRV
// names are resolved by the node (with Config.Resolver), before the first
// contact and again shortly before every later re-contact, so a name that
// follows a changing set of machines (a Kubernetes headless Service) keeps
// working; each name yields at most 16 addresses. JoinAddrs takes
// addresses instead.
//
// Seeds given here replace the node's seeds (see SetSeeds): once joined,
// the node re-contacts one of them every Config.SeedInterval, so that a
// cluster split by a partition merges again. Without seeds, Join uses the
// node's seeds (Config.Seeds and Config.SeedNames, or those set since).
// Seeds equal to the node's own address are skipped, so every member may
// be given the same list.
//
// Errors: ErrInvalidSeed (a seed that does not parse), ErrNoSeeds (no
// seed other than this node: it may start a new cluster), ErrLeft,
// ErrClosed; when ctx ends first, an error wrapping ctx.Err() and, if no
// seed answered at all, ErrNoSeedAnswered. No answer usually means the
// seeds are down, unreachable, or hold other keys: a node drops datagrams
// sealed with keys it does not hold and logs their source address. After
// ctx ends the node keeps trying in the background; a later Join replaces
// the attempt.
func (n *Node) Join(ctx context.Context, seeds ...string) error { return n.e.JoinSeeds(ctx, seeds...) }

// JoinAddrs is Join with seeds given as addresses.
func (n *Node) JoinAddrs(ctx context.Context, seeds ...netip.AddrPort) error {
	return n.e.Join(ctx, seeds...)
}

// SetSeeds replaces the node's seeds, in the forms Join takes, without
// joining: the node re-contacts them from now on (and a later Join without
// seeds uses them). Names are resolved in the background at once and
// before every re-contact; a name that stops resolving keeps its last
// addresses. An invalid seed changes nothing and returns an error matching
// ErrInvalidSeed.
func (n *Node) SetSeeds(seeds ...string) error { return n.e.SetSeeds(seeds...) }

// Seeds returns the node's seeds as they were given.
func (n *Node) Seeds() []string { return n.e.Seeds() }

// Leave leaves the cluster gracefully: the node marks itself left, tells
// its observers and gossips the record, and Leave blocks until the record
// has been sent as often as any update is, or ctx ends. A node that knows
// no other live member returns at once. After Leave the node answers no one
// and refuses SetState and Join with ErrLeft; Close it.
func (n *Node) Leave(ctx context.Context) error { return n.e.Leave(ctx) }

// Close stops the node: its goroutines end, the socket closes, every
// subscription's channel is closed, and calls waiting in Join or Leave
// return ErrClosed. It does not leave the cluster (see Leave). Close is
// idempotent. After Close, calls that return an error return one matching
// ErrClosed, and reads return the membership as it was when the node
// stopped.
func (n *Node) Close() error { return n.e.Close() }

// SetState sets key to value in this node's application state (a small
// versioned map every member holds a copy of), with a new version, and
// disseminates it: every member's State and EventState subscribers see it.
// key is 1 to MaxStateKeySize (32) bytes and value at most
// MaxStateValueSize (64) bytes; a node's keys (deleted ones included) are
// bounded by Config.MaxStateKeys and their bytes by Config.MaxStateBytes.
// The node copies key and value.
//
// Errors: ErrStateKeySize, ErrStateValueSize, ErrStateFull, ErrLeft,
// ErrClosed.
func (n *Node) SetState(key, value []byte) error { return n.e.SetState(key, value) }

// DeleteState deletes key from this node's application state. The deletion
// travels like any update and keeps counting toward Config.MaxStateKeys
// until the node restarts. Errors: ErrNoStateKey, ErrStateKeySize,
// ErrLeft, ErrClosed.
func (n *Node) DeleteState(key []byte) error { return n.e.DeleteState(key) }

// State returns the value of key in member id's application state as this
// node holds it, with its version. The value is a copy.
func (n *Node) State(id ID, key []byte) (value []byte, version uint64, ok bool) {
	return n.e.State(id, key)
}

// StateOf returns member id's whole application state as this node holds
// it, every key (reserved ones such as NameKey included) with its value
// and version, and whether the node holds the member. It is lock-free and
// consistent for the member; the keys and values alias immutable memory
// and must not be modified. Use it to list a member's keys: events are
// delivered only from Subscribe on, and a node that others contact (a
// seed) learns state as soon as NewNode returns.
func (n *Node) StateOf(id ID) (StateView, bool) { return n.e.StateOf(id) }

// Members returns the live members this node knows, alive and suspect,
// itself included (until it leaves), as value snapshots. AllMembers adds
// the tombstones.
func (n *Node) Members() []Member { return n.e.Members() }

// AllMembers returns every member this node holds: the live ones and the
// tombstones of dead and left members, which are kept for
// Config.TombstoneRetention so that stale news of them cannot bring them
// back. Member.State tells them apart.
func (n *Node) AllMembers() []Member { return n.e.AllMembers() }

// Member returns what this node knows of member id (itself included), and
// whether it knows it: a live member or a tombstone.
func (n *Node) Member(id ID) (Member, bool) { return n.e.Member(id) }

// Counts returns how many members this node holds in each state, itself
// included: cheap enough to call often (it recounts only the parts of the
// table that changed since its last call).
func (n *Node) Counts() MemberCounts { return n.e.Counts() }

// Ring returns the consistent-hash ring over the live members this node
// knows (itself included until it leaves), with the default ring.Config.
// The ring is an immutable snapshot: keep it as long as needed; the node
// publishes a new one after every change of the live set. Two members with
// the same view compute the same owners. The first call of Ring, Owner or
// Owners waits for the node to build the ring; from then on the node keeps
// it up to date.
func (n *Node) Ring() *ring.Ring { return n.e.Ring() }

// Owner returns the live member that owns key on the ring (see Ring), and
// false when the ring is empty.
func (n *Node) Owner(key []byte) (Member, bool) { return n.e.Owner(key) }

// Owners appends to dst up to k distinct live members in preference order
// for key (the owner first, then the next members clockwise), as for
// replicas, and returns the extended slice.
func (n *Node) Owners(key []byte, k int, dst []Member) []Member { return n.e.Owners(key, k, dst) }

// RTT returns the smoothed round-trip time this node measured to member id
// with its own probes, and whether it has measured one: each node pings
// its subjects now and then and the members it gossips with, so it knows a
// few dozen members' round trips at any time. A member that answers slowly
// but steadily is slow, not dead: its probe timeouts stretch to fit. RTT
// waits for the node's goroutine; RTTs reads every measurement at once.
func (n *Node) RTT(id ID) (time.Duration, bool) { return n.e.RTT(id) }

// RTTs returns every round-trip time this node has measured (see RTT), by
// member.
func (n *Node) RTTs() map[ID]time.Duration { return n.e.RTTs() }

// Stats returns a snapshot of the node's counters: datagrams and bytes by
// message type, probes, suspicions, refutations, deaths, drops by cause
// (DropUnknownKey and DropAuth count datagrams sealed with other keys),
// refusals at bounds, the histogram of probe round trips, the socket's
// counters and the subscriptions'. It never waits for the node's
// goroutine. Stats.Metrics lists every number under a stable name.
func (n *Node) Stats() Stats { return n.e.Stats() }

// Var returns the node's numbers as an expvar.Var, a JSON object of
// Stats.Metrics read when the variable is: expvar.Publish("hearsay",
// node.Var()).
func (n *Node) Var() expvar.Var { return n.e.Var() }

// Subscribe returns a subscription to the node's events: members joining,
// becoming alive, suspect, dead or left, updates, application-state
// changes, and this node's own death and refutation. buf is the channel's
// capacity (below 1: DefaultSubscriptionBuffer); when types are given,
// only those are delivered (and EventGap). Subscribe before Join to see
// every member the join brings. Events before Subscribe are not delivered,
// and a node can be reached as soon as NewNode returns (a seed is, by its
// joiners): read Members and StateOf after subscribing for what it learned
// before.
//
// A subscription never loses events silently: when its channel is full it
// drops events for this subscriber only, counts them, and delivers an
// EventGap saying how many as soon as there is room; resynchronize from
// Members then. See Subscription.
func (n *Node) Subscribe(buf int, types ...EventType) *Subscription {
	return n.e.Subscribe(buf, types...)
}

// SubscribeWith is Subscribe with options, such as a brief wait for room
// in a full channel (SubscribeOptions.MaxWait) instead of a gap.
func (n *Node) SubscribeWith(opts SubscribeOptions) *Subscription { return n.e.SubscribeWith(opts) }

// InstallKey adds key to the keys the node accepts, the first step of a
// key rotation: from now on it opens datagrams sealed with key, and still
// seals with its primary key. Keys rotate in a running cluster in three
// steps, each done on every node before the next starts on any: InstallKey
// the new key, UsePrimaryKey it, RemoveKey the old one. The node copies
// key and logs its KeyID, never the key.
//
// Errors: ErrKeySize (not 16, 24 or 32 bytes), ErrKeyCollision,
// ErrOpenCluster, ErrClosed.
func (n *Node) InstallKey(key []byte) error { return n.e.InstallKey(key) }

// UsePrimaryKey makes key, which must be installed, the key the node seals
// every datagram with, the second step of a rotation (see InstallKey). The
// previous primary key stays installed, so datagrams of members that have
// not switched yet still open. Errors: ErrKeySize, ErrKeyNotInstalled,
// ErrOpenCluster, ErrClosed.
func (n *Node) UsePrimaryKey(key []byte) error { return n.e.UsePrimaryKey(key) }

// RemoveKey removes key from the keys the node accepts, the last step of a
// rotation (see InstallKey): do it once no node seals with key. Errors:
// ErrKeySize, ErrPrimaryKey, ErrKeyNotInstalled, ErrOpenCluster,
// ErrClosed.
func (n *Node) RemoveKey(key []byte) error { return n.e.RemoveKey(key) }

// KeyIDs returns the IDs of the keys the node accepts, the primary key
// (the one it seals with) first, or nil for an open cluster: a rotation
// tool checks each step on every node with it before the next.
func (n *Node) KeyIDs() []KeyID { return n.e.KeyIDs() }
