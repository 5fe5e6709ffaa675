package codec_test

import (
	"math/rand/v2"
	"net/netip"

	"github.com/hearsay-io/hearsay/codec"
)

// randomMembers returns n members as a real cluster would hold them:
// random 64-bit IDs, generations near one start time in Unix nanoseconds,
// small incarnations, mostly alive, addresses 10.x.y.z:7946, small state
// versions.
func randomMembers(n int, seed uint64) []codec.Member {
	rng := rand.New(rand.NewPCG(seed, seed))
	const start = 1_763_800_000_000_000_000 // late 2025 in Unix ns
	ms := make([]codec.Member, n)
	for i := range ms {
		state := codec.StateAlive
		var witness uint64
		switch rng.IntN(100) {
		case 0:
			state, witness = codec.StateSuspect, rng.Uint64()
		case 1:
			state, witness = codec.StateDead, rng.Uint64()
		}
		ms[i] = codec.Member{
			ID:           rng.Uint64(),
			Generation:   start + rng.Uint64N(3_600_000_000_000),
			Incarnation:  uint32(rng.IntN(4)),
			State:        state,
			Addr:         netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, byte(rng.IntN(256)), byte(rng.IntN(256)), byte(rng.IntN(256))}), 7946),
			StateVersion: uint64(rng.IntN(20)),
			Witness:      witness,
		}
	}
	return ms
}
