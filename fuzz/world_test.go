package fuzz_test

import (
	"net/netip"
	"time"

	"github.com/hearsay-io/hearsay/codec"
	"github.com/hearsay-io/hearsay/engine"
	"github.com/hearsay-io/hearsay/engine/sim"
	"github.com/hearsay-io/hearsay/ring"
)

// The world every target and the corpus share: a cluster of worldN nodes
// with the simulator's identities for worldSeed. A fuzz target plays one of
// them (the input chooses which), starting from a converged view of all of
// them, so captured traffic names members the target knows, probes it by
// its own ID and carries its own records back to it.
const (
	worldN    = 8
	worldSeed = 9
)

var (
	worldIDs   [worldN]engine.ID
	worldAddrs [worldN]netip.AddrPort
	worldByID  = map[engine.ID]int{}

	// foreignIDs are members no node has heard of.
	foreignIDs = [13]engine.ID{
		0x0000000000000001, 0xffffffffffffffff, 0x8000000000000000, 0x00000000deadbeef,
		0x1111111111111111, 0x2222222222222222, 0x3333333333333333, 0x4444444444444444,
		0x5555555555555555, 0x6666666666666666, 0x7777777777777777, 0x0123456789abcdef,
		0xfedcba9876543210,
	}
	// foreignAddrs are sources outside the cluster, and odd addresses a
	// forged record may carry.
	foreignAddrs = [12]netip.AddrPort{
		netip.MustParseAddrPort("198.51.100.1:7946"),
		netip.MustParseAddrPort("198.51.100.2:7946"),
		netip.MustParseAddrPort("198.51.100.3:40000"),
		netip.MustParseAddrPort("203.0.113.9:1"),
		netip.MustParseAddrPort("[2001:db8::1]:7946"),
		netip.MustParseAddrPort("[2001:db8::2]:65535"),
		netip.MustParseAddrPort("127.0.0.1:7946"),
		netip.MustParseAddrPort("0.0.0.0:7946"),
		netip.MustParseAddrPort("255.255.255.255:7946"),
		netip.MustParseAddrPort("[::]:7946"),
		netip.MustParseAddrPort("[::ffff:10.0.0.1]:7946"),
		netip.MustParseAddrPort("224.0.0.1:7946"),
	}

	// stateKeys are the application-state keys the corpus and the
	// structured target use most.
	stateKeys = []string{"load", "zone", "role", "schema", "tokens", "x"}

	// The cluster keys. The sealed target's node has keyB as primary and
	// accepts keyA, which sealed the captured traffic; keyC is unknown.
	keyA = []byte("hearsay fuzz key A: 32 bytes !!!")
	keyB = []byte("hearsay fuzz B16")
	keyC = []byte("a stranger's key, 32 bytes long.")
)

// bootState is the application state every world node holds at the
// start: nodes 1 and 2 wrote it (the capture scenario writes the same).
var bootState []codec.StateEntry

func init() {
	for i := range worldIDs {
		worldIDs[i] = sim.ID(worldSeed, i)
		worldAddrs[i] = sim.Addr(i)
		worldByID[worldIDs[i]] = i
	}
	bootState = []codec.StateEntry{
		{Owner: uint64(worldIDs[1]), Generation: 1, Version: 1, Key: []byte("load"), Value: []byte("0.25")},
		{Owner: uint64(worldIDs[1]), Generation: 1, Version: 2, Key: []byte("zone"), Value: []byte("eu-west-1")},
		{Owner: uint64(worldIDs[2]), Generation: 1, Version: 1, Key: []byte("role"), Value: []byte("cache")},
	}
}

// worldIndexOf returns the node listening at a, or -1.
func worldIndexOf(a netip.AddrPort) int {
	for i, w := range worldAddrs {
		if w == a {
			return i
		}
	}
	return -1
}

// worldConfig is the engine configuration of every node in the world:
// LAN defaults with small resource bounds, so that a short input can reach
// each bound, and a short tombstone retention, so that reaping happens
// within one input.
func worldConfig() engine.Config {
	cfg := engine.DefaultLANConfig()
	cfg.Open = true
	cfg.MaxMembers = 24
	cfg.MaxPendingUpdates = 16
	cfg.MaxStateKeys = 4
	cfg.MaxStateBytes = 2 * (codec.MaxKeySize + codec.MaxValueSize)
	cfg.MaxTransfers = 4
	cfg.TombstoneRetention = 30 * time.Second
	cfg.Logger = quietLogger
	return cfg
}

// shardOf returns the shard (at the default 8 shard bits) that holds id.
func shardOf(id engine.ID) uint32 { return uint32(ring.Position(uint64(id)) >> 56) }

var worldCluster = codec.ClusterID(engine.DefaultLANConfig().ClusterName)
