package bulk_test

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"testing"

	"github.com/hearsay-io/hearsay/codec"
	"github.com/klauspost/compress/s2"
	"github.com/klauspost/compress/zstd"
)

// fullState returns the Member records of a cluster of n members as a
// real cluster would hold them: random 64-bit IDs, generations near one
// start time in Unix nanoseconds, small incarnations, mostly alive,
// addresses 10.x.y.z:7946, small state versions.
func fullState(n int, seed uint64) []byte {
	rng := rand.New(rand.NewPCG(seed, seed))
	const start = 1_763_800_000_000_000_000 // late 2025 in Unix ns
	out := make([]byte, 0, n*codec.MemberSize)
	for range n {
		m := codec.Member{
			ID:           rng.Uint64(),
			Generation:   start + rng.Uint64N(3_600_000_000_000), // nodes started within an hour
			Incarnation:  uint32(rng.IntN(4)),
			State:        codec.StateAlive,
			Addr:         netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, byte(rng.IntN(256)), byte(rng.IntN(256)), byte(rng.IntN(256))}), 7946),
			StateVersion: uint64(rng.IntN(20)),
		}
		switch rng.IntN(100) {
		case 0:
			m.State, m.Witness = codec.StateSuspect, rng.Uint64()
		case 1:
			m.State, m.Witness = codec.StateDead, rng.Uint64()
		}
		out = m.Append(out)
	}
	return out
}

// datagramBody returns a datagram body of k Member records: one section
// header, then the records.
func datagramBody(state []byte, k int) []byte {
	body := []byte{byte(codec.RecMember), codec.MemberSize, byte(k >> 8), byte(k)}
	return append(body, state[:k*codec.MemberSize]...)
}

type candidate struct {
	name   string
	encode func(dst, src []byte) []byte
	decode func(dst, src []byte) ([]byte, error)
}

func candidates(b *testing.B) []candidate {
	zfast, err := zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedFastest), zstd.WithEncoderConcurrency(1), zstd.WithEncoderCRC(false))
	if err != nil {
		b.Fatal(err)
	}
	zdef, err := zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedDefault), zstd.WithEncoderConcurrency(1), zstd.WithEncoderCRC(false))
	if err != nil {
		b.Fatal(err)
	}
	zdec, err := zstd.NewReader(nil, zstd.WithDecoderConcurrency(1))
	if err != nil {
		b.Fatal(err)
	}
	s2dec := func(dst, src []byte) ([]byte, error) { return s2.Decode(dst[:cap(dst)], src) }
	return []candidate{
		{"s2", func(dst, src []byte) []byte { return s2.Encode(dst[:cap(dst)], src) }, s2dec},
		{"s2better", func(dst, src []byte) []byte { return s2.EncodeBetter(dst[:cap(dst)], src) }, s2dec},
		{"zstd-fastest", func(dst, src []byte) []byte { return zfast.EncodeAll(src, dst[:0]) }, func(dst, src []byte) ([]byte, error) { return zdec.DecodeAll(src, dst[:0]) }},
		{"zstd-default", func(dst, src []byte) []byte { return zdef.EncodeAll(src, dst[:0]) }, func(dst, src []byte) ([]byte, error) { return zdec.DecodeAll(src, dst[:0]) }},
	}
}

// BenchmarkChoice measures the candidate codecs on the realistic data the
// engine compresses: a 10,000-member full state, and datagram bodies of
// 24 (one plain datagram), 48 and 96 Member records. The ratio metric is
// uncompressed/compressed bytes. It is the measurement behind the choice
// of s2 documented in doc.go.
func BenchmarkChoice(b *testing.B) {
	state := fullState(10000, 1)
	inputs := []struct {
		name string
		data []byte
	}{
		{"full-10000", state},
		{"body-24", datagramBody(state, 24)},
		{"body-48", datagramBody(state, 48)},
		{"body-96", datagramBody(state, 96)},
	}
	for _, in := range inputs {
		for _, c := range candidates(b) {
			comp := c.encode(make([]byte, 0, 2*len(in.data)+1024), in.data)
			out := make([]byte, 0, len(in.data)+1024)
			if got, err := c.decode(out, comp); err != nil || string(got) != string(in.data) {
				b.Fatalf("%s round trip failed: %v", c.name, err)
			}
			ratio := float64(len(in.data)) / float64(len(comp))
			buf := make([]byte, 0, 2*len(in.data)+1024)
			b.Run(fmt.Sprintf("%s/%s/compress", in.name, c.name), func(b *testing.B) {
				b.ReportAllocs()
				b.SetBytes(int64(len(in.data)))
				for b.Loop() {
					buf = c.encode(buf[:0], in.data)
				}
				b.ReportMetric(ratio, "ratio")
			})
			b.Run(fmt.Sprintf("%s/%s/decompress", in.name, c.name), func(b *testing.B) {
				b.ReportAllocs()
				b.SetBytes(int64(len(in.data)))
				for b.Loop() {
					out, _ = c.decode(out[:0], comp)
				}
				b.ReportMetric(ratio, "ratio")
			})
		}
	}
}
