package engine

import (
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/netip"
	"strings"
	"time"

	"github.com/hearsay-io/hearsay/codec"
	"github.com/hearsay-io/hearsay/detector"
)

// Config configures a node. The zero value of every field means its default;
// start from DefaultLANConfig, DefaultWANConfig or DefaultLocalConfig and
// change what you need. Validate reports every problem at once.
//
// Durations that depend on the cluster size N (the number of live members the
// node knows) are given as a base and a documented formula.
type Config struct {
	// ID identifies this node for the life of its identity; it survives
	// restarts. Zero means a random ID (NewID), which makes every restart a
	// new member; persist the ID to restart as the same member.
	ID ID

	// Generation orders restarts of the same ID: a higher generation
	// supersedes every record of a lower one. Zero means the wall-clock time
	// in nanoseconds when the node starts, which rises across restarts as
	// long as the clock does not step back; persist and raise it yourself
	// where that matters.
	Generation uint64

	// ClusterName names the cluster. Datagrams from another cluster are
	// dropped and counted. Default "hearsay".
	ClusterName string

	// BindAddr is the UDP address the runtime listens on. Default
	// 0.0.0.0:7946. Use [::]:port for IPv6 (dual-stack when DualStack).
	BindAddr netip.AddrPort
	// AdvertiseAddr is the address other members use to reach this node (for
	// NAT and containers). Default: BindAddr; when BindAddr is unspecified
	// (0.0.0.0 or ::), the runtime advertises an address of one of this
	// host's interfaces (private, then global unicast, then loopback) and
	// logs its choice.
	AdvertiseAddr netip.AddrPort
	// DualStack lets an IPv6 bind address accept IPv4 too.
	DualStack bool
	// Seeds are contacted by Join and re-contacted every SeedInterval so that
	// logical partitions cannot persist. Optional after the first join.
	Seeds []netip.AddrPort
	// SeedNames are seeds given as text, used with Seeds: "ip:port",
	// "[ipv6]:port", "host:port", or an SRV name whose targets give the
	// ports ("_gossip._udp.db.ns.svc"). The runtime resolves names in the
	// background, at start and again shortly before every re-contact, so
	// that a name whose addresses change is followed (Node.SetSeeds).
	SeedNames []string
	// Resolver looks up SeedNames. Default net.DefaultResolver; tests
	// inject their own.
	Resolver Resolver

	// HeartbeatInterval is the protocol period: every period each node sends
	// one heartbeat to each of its Observers. Default 1s (LAN).
	HeartbeatInterval time.Duration
	// Observers is K, how many members watch each node (its successors on
	// the monitoring ring). Steady-state cost is K datagrams sent and K
	// received per node per period. Default 3.
	Observers int
	// Phi configures the phi accrual detector each observer keeps per
	// subject. Zero fields take detector defaults (threshold 8).
	Phi detector.PhiConfig
	// ProbeTimeout bounds a direct ping, stretched by local health. Default
	// 200ms (LAN).
	ProbeTimeout time.Duration
	// IndirectProbes is k, how many members are asked to probe a subject
	// that missed a direct ping (SWIM ping-req). Default 3.
	IndirectProbes int
	// IndirectTimeout bounds an indirect probe, stretched by local health.
	// Default 400ms (LAN).
	IndirectTimeout time.Duration
	// Suspicion configures how long a suspect has to refute before it is
	// declared dead: from Suspicion.Max(N) with one witness down to
	// Suspicion.Min(N) once Expected independent observers confirm.
	Suspicion detector.SuspicionConfig
	// MaxLocalHealth bounds the local health score, which multiplies this
	// node's own probe timeouts by (1 + score) when it misses acks and nacks.
	// Default 8.
	MaxLocalHealth int
	// RejoinProbes is how many pings, one to each of that many random
	// members, a node declared dead sends in one attempt to prove its links
	// before it refutes its death; it refutes when at most one in eight go
	// unanswered. This keeps a node with a bad network removed instead of
	// flapping, and lets a node whose links recovered back at once. Zero
	// refutes at once. Default 16.
	RejoinProbes int
	// MaxRefutations is how many suspicions a node refutes within
	// RefutationWindow while its own links look bad: while it misses half
	// or more of its subjects' heartbeats (flakyLoss). A node suspected
	// more often than that and losing that much has a link too bad to be
	// useful; it stops refuting, lets itself be declared dead, and comes
	// back only through RejoinProbes, so that it is removed once instead
	// of flapping between suspect and alive. A node whose links are fine
	// (a blip that ended, uniform loss the cluster shares, a stall)
	// always refutes. Default 3.
	MaxRefutations int
	// RefutationWindow is the window MaxRefutations counts over. Default
	// 60s.
	RefutationWindow time.Duration
	// RejoinBackoffMax caps the doubling wait between rejoin attempts
	// (a member held dead that talks cuts one wait short per
	// RejoinBackoffMax). Default 8s: a node on a bad link then sends
	// RejoinProbes pings every 8 to 12 s while removed, and a node whose
	// tries failed through a long cut rejoins within that of its heal
	// (30 s left members dead up to 45 s after a heal at 30% loss).
	RejoinBackoffMax time.Duration

	// GossipInterval is how often pending updates are pushed to
	// GossipFanout random members. Default 200ms.
	GossipInterval time.Duration
	// GossipFanout is F, the members each gossip round targets. Default 4.
	GossipFanout int
	// RetransmitMult is λ: each update is transmitted ceil(λ·log₂(N+1))
	// times by every node that learns it, least-sent first, divided by
	// the share of datagrams that arrive when the node sees loss on its
	// links (up to 42% loss; a node that sees more takes its own links
	// for the fault and sends the configured count). Default 1.
	RetransmitMult float64
	// MaxDatagramSize bounds every datagram on the wire, sealing included,
	// so that datagrams are never fragmented. Default 1400.
	MaxDatagramSize int

	// SyncInterval is the base anti-entropy period: every
	// SyncInterval·max(1, log₁₀N) a node compares digests with one random
	// member. Default 5s (LAN): 20s at 10,000 members.
	SyncInterval time.Duration
	// SeedInterval is how often a node re-contacts a random seed (and a
	// member it believes dead). Default 30s.
	SeedInterval time.Duration
	// TombstoneRetention is how long dead and left members are kept before
	// they are reaped. It should outlast partitions you expect to heal.
	// It counts from when the member was first buried in the cluster as far
	// as this node can tell: a node that learns a tombstone of a member it
	// never held (a joiner) keeps it only for what is left. While a node
	// holds a tombstone, replayed old records of the member change nothing.
	// Default 5m.
	TombstoneRetention time.Duration
	// ShardBits sets 2^ShardBits table shards, the unit of anti-entropy
	// transfer; one of 4, 8, 12, 16, the same on every member. Default 8
	// (256 shards: about 40 members per shard at 10,000 members).
	ShardBits int

	// MaxMembers bounds the membership table, tombstones included; records
	// of new members beyond it are dropped and counted. At about 110 bytes
	// a member, the default bounds what a flood of forged members could
	// make a node hold at 11 MB. Default 100,000.
	MaxMembers int
	// MaxPendingUpdates bounds the dissemination queue; when full, the most
	// transmitted updates are dropped (anti-entropy repairs them). Default
	// 8192.
	MaxPendingUpdates int
	// MaxStateKeys bounds the application-state keys of one member, deleted
	// keys included. Default 32.
	MaxStateKeys int
	// MaxStateBytes bounds the key and value bytes of one member's
	// application state. Default 2048.
	MaxStateBytes int
	// MaxTransfers bounds the shard transfers this node serves per
	// HeartbeatInterval and the relays (ping-req) it runs at once. Default
	// 256: at the default ShardBits, a whole table per interval, so that a
	// node whose view differs everywhere (after a partition heals) is
	// repaired by one exchange.
	MaxTransfers int

	// MaxReplyBytes bounds, in bytes per second, what this node sends in
	// answer to requests from peers whose address is validated
	// (anti-entropy digests and shard data, join answers): all peers
	// together get at most MaxReplyBytes per second, with a burst of one
	// second's worth, and each one at most an eighth of it per second,
	// with a burst of a quarter. Answers to addresses that are not
	// validated are never larger than the request, whatever this is.
	// Default 4 MiB: a seed can hand out several 10,000-member tables a
	// second.
	MaxReplyBytes int

	// MaxClockSkew is how far ahead of this node's wall clock a member's
	// generation may be. Generations default to the wall-clock time at
	// start, in nanoseconds, so a generation much further ahead cannot be
	// honest: records carrying one are refused and counted
	// (Stats.RefusedImplausible). Keep clocks within it of each other
	// (NTP does); a node whose clock runs further ahead is refused by
	// everyone. Default 1h.
	MaxClockSkew time.Duration

	// Keys seal every datagram with AES-GCM when set: Keys[0] seals, all of
	// them open. 16, 24 or 32 bytes each. One of Keys and Open is required.
	Keys [][]byte
	// Open runs the cluster without keys: datagrams are neither sealed nor
	// authenticated, so anyone who can reach the port can join, read every
	// member's state and forge datagrams. It is an explicit opt-in for
	// trusted networks (a test rig, a private segment you control) and is
	// refused together with Keys.
	//
	// What an open cluster cannot protect against, and a sealed one can:
	// a forged datagram from a spoofed source address (a heartbeat that
	// keeps a crashed member looking alive to its observers, a claim about
	// a member that the member must then supersede), eavesdropping, and
	// replays. What it still protects against: amplification (answers to
	// unvalidated addresses never exceed what they were sent), lasting
	// poison (a member supersedes whatever is claimed about it), and fake
	// members becoming observers, helpers or gossip targets before they
	// answer a probe.
	Open bool

	// Name is a human-readable name for this node (a host name, a pod
	// name), shown as Member.Name by every member: at most MaxNameSize (64)
	// bytes of UTF-8 without control characters. It travels as the
	// application-state key NameKey, reserved for it, so it counts toward
	// MaxStateKeys and MaxStateBytes. Names need not be unique: the ID
	// identifies a member. Default: none.
	Name string

	// MaxBroadcasts bounds the user broadcasts waiting in this node's
	// dissemination queue, its own (Node.Broadcast) and those it relays:
	// when it is full, the oldest is dropped (Stats.BroadcastsDropped).
	// Default 256.
	MaxBroadcasts int
	// MaxBroadcastBytes bounds the payload bytes of those broadcasts, the
	// same way; at least MaxMessageSize(). Default 256 KiB.
	MaxBroadcastBytes int
	// MaxMessageRate bounds the messages sent to this node alone
	// (Node.Send) that it takes, per second: from all members together at
	// most MaxMessageRate a second, with a burst of one second's worth,
	// and from each member an eighth of that (at least one). Messages over
	// either bound are dropped and counted (Stats.SendsRefused).
	// Broadcasts are bounded by MaxBroadcasts instead. Default 1024.
	MaxMessageRate int

	// Admit, when set, is asked about every member before this node takes
	// it in, and again whenever the member's application state changes;
	// an error refuses the member. See Admission in the package
	// documentation for when it is asked and what a refusal does. It is
	// called on the node's goroutine, synchronously, for every member a
	// join transfers: it must be fast, must not block, must not panic and
	// must not call the Node; it must be deterministic for the simulator.
	// Default: every member is admitted.
	Admit func(m Member, state StateView) error

	// AllowedPrefixes, when set, are the networks this node talks to:
	// datagrams from a source address in none of them are dropped before
	// any other work (Stats.DropAddr), and members whose address is in
	// none of them are refused like members Admit refuses
	// (Stats.RefusedAddr). IPv4-mapped IPv6 addresses match IPv4 prefixes.
	// Seeds must lie inside. Default: every address.
	AllowedPrefixes []netip.Prefix

	// Logger receives the node's logs. Default slog.Default(). Nothing is
	// logged per datagram or per suspicion at Info level.
	Logger *slog.Logger
}

// DefaultLANConfig returns defaults for a data-center network: 1 s periods,
// sub-second probe timeouts, detection of a crash at 10,000 nodes in about
// 4 s. A member is suspected after about 1.5 s of silence and declared
// dead no sooner than Suspicion.MinBase, 2 s, later, so that a node cut off
// for up to 3 s (a flapping switch port, a migrating VM) is never declared
// dead: it refutes as soon as it is back.
func DefaultLANConfig() Config {
	return Config{
		ClusterName:        "hearsay",
		BindAddr:           netip.AddrPortFrom(netip.IPv4Unspecified(), 7946),
		HeartbeatInterval:  time.Second,
		Observers:          3,
		Phi:                detector.PhiConfig{Threshold: 8, Window: 100, MinStdDev: 100 * time.Millisecond, FirstInterval: time.Second},
		ProbeTimeout:       200 * time.Millisecond,
		IndirectProbes:     3,
		IndirectTimeout:    400 * time.Millisecond,
		Suspicion:          detector.SuspicionConfig{MinBase: 2 * time.Second, MaxFactor: 6, Expected: 2},
		MaxLocalHealth:     8,
		RejoinProbes:       16,
		MaxRefutations:     3,
		RefutationWindow:   time.Minute,
		RejoinBackoffMax:   8 * time.Second,
		GossipInterval:     200 * time.Millisecond,
		GossipFanout:       4,
		RetransmitMult:     1,
		MaxDatagramSize:    codec.DefaultDatagramSize,
		SyncInterval:       5 * time.Second,
		SeedInterval:       30 * time.Second,
		TombstoneRetention: 5 * time.Minute,
		ShardBits:          8,
		MaxMembers:         100_000,
		MaxPendingUpdates:  8192,
		MaxStateKeys:       32,
		MaxStateBytes:      2048,
		MaxTransfers:       256,
		MaxReplyBytes:      4 << 20,
		MaxClockSkew:       time.Hour,
		MaxBroadcasts:      256,
		MaxBroadcastBytes:  256 << 10,
		MaxMessageRate:     1024,
	}
}

// DefaultWANConfig returns defaults for links with tens to hundreds of
// milliseconds of latency and more jitter: longer periods and timeouts, an
// acceptable pause in the detector.
func DefaultWANConfig() Config {
	c := DefaultLANConfig()
	c.HeartbeatInterval = 2 * time.Second
	c.Phi = detector.PhiConfig{Threshold: 8, Window: 100, MinStdDev: 500 * time.Millisecond, AcceptablePause: time.Second, FirstInterval: 2 * time.Second}
	c.ProbeTimeout = time.Second
	c.IndirectTimeout = 2 * time.Second
	c.Suspicion = detector.SuspicionConfig{MinBase: 3 * time.Second, MaxFactor: 6, Expected: 2}
	c.GossipInterval = 500 * time.Millisecond
	c.SyncInterval = 30 * time.Second
	c.SeedInterval = time.Minute
	c.TombstoneRetention = 15 * time.Minute
	return c
}

// DefaultLocalConfig returns defaults for nodes on one host or loopback:
// short periods so that tests and demos converge in a second or two.
func DefaultLocalConfig() Config {
	c := DefaultLANConfig()
	c.BindAddr = netip.AddrPortFrom(netip.IPv4Unspecified(), 0)
	c.HeartbeatInterval = 250 * time.Millisecond
	c.Phi = detector.PhiConfig{Threshold: 8, Window: 100, MinStdDev: 50 * time.Millisecond, FirstInterval: 250 * time.Millisecond}
	c.ProbeTimeout = 100 * time.Millisecond
	c.IndirectTimeout = 200 * time.Millisecond
	c.Suspicion = detector.SuspicionConfig{MinBase: 250 * time.Millisecond, MaxFactor: 6, Expected: 2}
	c.GossipInterval = 50 * time.Millisecond
	c.SyncInterval = time.Second
	c.SeedInterval = 5 * time.Second
	c.TombstoneRetention = time.Minute
	return c
}

// withDefaults returns c with every zero field set from DefaultLANConfig.
func (c Config) withDefaults() Config {
	d := DefaultLANConfig()
	setDur := func(v *time.Duration, def time.Duration) {
		if *v == 0 {
			*v = def
		}
	}
	setInt := func(v *int, def int) {
		if *v == 0 {
			*v = def
		}
	}
	if c.ClusterName == "" {
		c.ClusterName = d.ClusterName
	}
	if !c.BindAddr.IsValid() {
		c.BindAddr = d.BindAddr
	}
	setDur(&c.HeartbeatInterval, d.HeartbeatInterval)
	setInt(&c.Observers, d.Observers)
	if c.Phi.FirstInterval == 0 {
		c.Phi.FirstInterval = c.HeartbeatInterval
	}
	c.Phi = c.Phi.WithDefaults()
	setDur(&c.ProbeTimeout, d.ProbeTimeout)
	setInt(&c.IndirectProbes, d.IndirectProbes)
	setDur(&c.IndirectTimeout, d.IndirectTimeout)
	if c.Suspicion.MinBase == 0 {
		c.Suspicion.MinBase = d.Suspicion.MinBase
	}
	if c.Suspicion.MaxFactor == 0 {
		c.Suspicion.MaxFactor = d.Suspicion.MaxFactor
	}
	if c.Suspicion.Expected == 0 {
		c.Suspicion.Expected = c.Observers - 1
		if c.Suspicion.Expected < 1 {
			c.Suspicion.Expected = 1
		}
	}
	setInt(&c.MaxLocalHealth, d.MaxLocalHealth)
	setInt(&c.RejoinProbes, d.RejoinProbes)
	setInt(&c.MaxRefutations, d.MaxRefutations)
	setDur(&c.RefutationWindow, d.RefutationWindow)
	setDur(&c.RejoinBackoffMax, d.RejoinBackoffMax)
	setDur(&c.GossipInterval, d.GossipInterval)
	setInt(&c.GossipFanout, d.GossipFanout)
	if c.RetransmitMult == 0 {
		c.RetransmitMult = d.RetransmitMult
	}
	setInt(&c.MaxDatagramSize, d.MaxDatagramSize)
	setDur(&c.SyncInterval, d.SyncInterval)
	setDur(&c.SeedInterval, d.SeedInterval)
	setDur(&c.TombstoneRetention, d.TombstoneRetention)
	setInt(&c.ShardBits, d.ShardBits)
	setInt(&c.MaxMembers, d.MaxMembers)
	setInt(&c.MaxPendingUpdates, d.MaxPendingUpdates)
	setInt(&c.MaxStateKeys, d.MaxStateKeys)
	setInt(&c.MaxStateBytes, d.MaxStateBytes)
	setInt(&c.MaxTransfers, d.MaxTransfers)
	setInt(&c.MaxReplyBytes, d.MaxReplyBytes)
	setDur(&c.MaxClockSkew, d.MaxClockSkew)
	c.userMsgDefaults(&d)
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return c
}

// ErrInvalidConfig is wrapped by every error Validate returns.
var ErrInvalidConfig = errors.New("hearsay: invalid config")

// FieldError describes one invalid Config field.
type FieldError struct {
	Field  string
	Reason string
	// Err, when set, is the sentinel of the problem, as codec.ErrKeySize
	// for a key of the wrong length.
	Err error
}

// Error returns "config.<Field>: <Reason>".
func (e *FieldError) Error() string { return "config." + e.Field + ": " + e.Reason }

// Unwrap makes every FieldError match ErrInvalidConfig, and Err when set.
func (e *FieldError) Unwrap() []error {
	if e.Err != nil {
		return []error{ErrInvalidConfig, e.Err}
	}
	return []error{ErrInvalidConfig}
}

// Validate checks c after defaults are applied and reports every problem at
// once, as errors joined with errors.Join; each is a *FieldError and matches
// ErrInvalidConfig (a key of the wrong length matches codec.ErrKeySize too,
// an invalid seed name ErrInvalidSeed).
func (c Config) Validate() error {
	c = c.withDefaults()
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, &FieldError{Field: field, Reason: fmt.Sprintf(format, args...)})
	}
	pos := func(field string, d time.Duration) {
		if d < 0 {
			bad(field, "must not be negative, got %v", d)
		}
	}
	pos("HeartbeatInterval", c.HeartbeatInterval)
	pos("ProbeTimeout", c.ProbeTimeout)
	pos("IndirectTimeout", c.IndirectTimeout)
	pos("RejoinBackoffMax", c.RejoinBackoffMax)
	pos("RefutationWindow", c.RefutationWindow)
	pos("GossipInterval", c.GossipInterval)
	pos("SyncInterval", c.SyncInterval)
	pos("SeedInterval", c.SeedInterval)
	pos("TombstoneRetention", c.TombstoneRetention)
	if c.ProbeTimeout > 0 && c.IndirectTimeout > 0 && c.IndirectTimeout < c.ProbeTimeout {
		bad("IndirectTimeout", "must be at least ProbeTimeout (%v), got %v", c.ProbeTimeout, c.IndirectTimeout)
	}
	if c.Observers < 1 || c.Observers > 16 {
		bad("Observers", "must be in [1, 16], got %d", c.Observers)
	}
	if c.IndirectProbes < 0 || c.IndirectProbes > 16 {
		bad("IndirectProbes", "must be in [0, 16], got %d", c.IndirectProbes)
	}
	if c.GossipFanout < 1 || c.GossipFanout > 64 {
		bad("GossipFanout", "must be in [1, 64], got %d", c.GossipFanout)
	}
	if c.RetransmitMult < 0 || math.IsNaN(c.RetransmitMult) || c.RetransmitMult > 100 {
		bad("RetransmitMult", "must be in (0, 100], got %v", c.RetransmitMult)
	}
	if c.MaxLocalHealth < 0 || c.MaxLocalHealth > 64 {
		bad("MaxLocalHealth", "must be in [0, 64], got %d", c.MaxLocalHealth)
	}
	if c.MaxRefutations < 1 || c.MaxRefutations > maxRefutations {
		bad("MaxRefutations", "must be in [1, %d], got %d", maxRefutations, c.MaxRefutations)
	}
	if c.RejoinProbes < 0 || c.RejoinProbes > maxRejoinProbes {
		bad("RejoinProbes", "must be in [0, %d], got %d", maxRejoinProbes, c.RejoinProbes)
	}
	min := codec.HeaderSize + codec.SectionHeaderSize + 2*codec.RecState.Size()
	if len(c.Keys) > 0 {
		min += codec.SealOverhead
	}
	if c.MaxDatagramSize < min || c.MaxDatagramSize > 65507 {
		bad("MaxDatagramSize", "must be in [%d, 65507], got %d", min, c.MaxDatagramSize)
	}
	switch c.ShardBits {
	case 4, 8, 12, 16:
	default:
		bad("ShardBits", "must be 4, 8, 12 or 16, got %d", c.ShardBits)
	}
	if c.MaxMembers < 1 {
		bad("MaxMembers", "must be positive, got %d", c.MaxMembers)
	}
	if c.MaxPendingUpdates < 16 {
		bad("MaxPendingUpdates", "must be at least 16, got %d", c.MaxPendingUpdates)
	}
	if c.MaxStateKeys < 1 || c.MaxStateKeys > 4096 {
		bad("MaxStateKeys", "must be in [1, 4096], got %d", c.MaxStateKeys)
	}
	if c.MaxStateBytes < codec.MaxKeySize+codec.MaxValueSize {
		bad("MaxStateBytes", "must be at least %d, got %d", codec.MaxKeySize+codec.MaxValueSize, c.MaxStateBytes)
	}
	if c.MaxTransfers < 1 {
		bad("MaxTransfers", "must be positive, got %d", c.MaxTransfers)
	}
	if c.MaxReplyBytes < 4*c.MaxDatagramSize {
		bad("MaxReplyBytes", "must be at least 4×MaxDatagramSize (%d), got %d", 4*c.MaxDatagramSize, c.MaxReplyBytes)
	}
	pos("MaxClockSkew", c.MaxClockSkew)
	if err := c.Phi.Validate(); err != nil {
		bad("Phi", "%v", err)
	}
	if c.Suspicion.MaxFactor < 1 {
		bad("Suspicion.MaxFactor", "must be at least 1, got %v", c.Suspicion.MaxFactor)
	}
	if c.Suspicion.MinBase < 0 {
		bad("Suspicion.MinBase", "must not be negative, got %v", c.Suspicion.MinBase)
	}
	switch {
	case len(c.Keys) == 0 && !c.Open:
		bad("Keys", "no keys: set Keys to seal the cluster, or set Open to run it unauthenticated on a trusted network")
	case len(c.Keys) > 0 && c.Open:
		bad("Open", "set together with Keys: a cluster is either sealed or open")
	}
	for i, k := range c.Keys {
		switch len(k) {
		case 16, 24, 32:
		default:
			errs = append(errs, &FieldError{Field: fmt.Sprintf("Keys[%d]", i),
				Reason: fmt.Sprintf("must be 16, 24 or 32 bytes, got %d", len(k)), Err: codec.ErrKeySize})
		}
	}
	if c.AdvertiseAddr.IsValid() && (c.AdvertiseAddr.Addr().IsUnspecified() || c.AdvertiseAddr.Port() == 0) {
		bad("AdvertiseAddr", "must be a specific address and port, got %v", c.AdvertiseAddr)
	}
	if len(c.SeedNames) > maxSeeds {
		bad("SeedNames", "at most %d seeds, got %d", maxSeeds, len(c.SeedNames))
	}
	for i, s := range c.SeedNames {
		if _, err := parseSeed(s); err != nil {
			errs = append(errs, &FieldError{Field: fmt.Sprintf("SeedNames[%d]", i),
				Reason: strings.TrimPrefix(err.Error(), "hearsay: "), Err: ErrInvalidSeed})
		}
	}
	for i, s := range c.Seeds {
		if !s.IsValid() || s.Port() == 0 {
			bad(fmt.Sprintf("Seeds[%d]", i), "must be a valid address and port, got %v", s)
		}
	}
	c.validateUserMsgs(bad)
	return errors.Join(errs...)
}

// retransmits is ceil(λ·log₂(n+1)), at least 1.
func (c *Config) retransmits(n int) int {
	r := int(math.Ceil(c.RetransmitMult * math.Log2(float64(n)+1)))
	if r < 1 {
		r = 1
	}
	return r
}

// retransmitsAt is retransmits(n) divided by the share of datagrams that
// arrive at loss p (see repairShare).
func (c *Config) retransmitsAt(n int, p float64) int {
	return int(math.Ceil(float64(c.retransmits(n)) / (1 - repairShare(p))))
}

// repairShare is the loss p that repairs make up for: none for an
// estimate that is not a positive number, and none above rejoinMaxLoss,
// where the node's own links are the fault (a flaky or gray node): such a
// node spreading its updates harder would spread its false verdicts about
// the members it cannot hear harder too.
func repairShare(p float64) float64 {
	if !(p > 0) || p > rejoinMaxLoss {
		return 0
	}
	return p
}

// syncInterval is SyncInterval·max(1, log₁₀n).
func (c *Config) syncInterval(n int) time.Duration {
	f := math.Log10(float64(n))
	if f < 1 {
		f = 1
	}
	return time.Duration(float64(c.SyncInterval) * f)
}
