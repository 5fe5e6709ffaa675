package bulk_test

import (
	"testing"

	"github.com/hearsay-io/hearsay/codec"
	"github.com/hearsay-io/hearsay/codec/bulk"
)

// BenchmarkFullState compresses and decompresses the Member records of a
// 10,000-member full state (560,000 bytes). Throughput is of plain bytes.
func BenchmarkFullState(b *testing.B) {
	state := fullState(10000, 1)
	comp := bulk.Compress(nil, state)
	buf := make([]byte, 0, bulk.MaxCompressedLen(len(state)))
	out := make([]byte, 0, len(state))
	ratio := float64(len(state)) / float64(len(comp))
	b.Run("Compress", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(state)))
		for b.Loop() {
			sinkBytes = bulk.Compress(buf[:0], state)
		}
		b.ReportMetric(ratio, "ratio")
	})
	b.Run("Decompress", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(state)))
		for b.Loop() {
			sinkBytes, sinkErr = bulk.Decompress(out[:0], comp, len(state))
		}
		b.ReportMetric(ratio, "ratio")
	})
}

// BenchmarkDatagram compresses and decompresses a shard-data datagram of
// 48 members, which compresses to about one default datagram.
func BenchmarkDatagram(b *testing.B) {
	plain := shardData(fullState(48, 1), 48)
	comp, _ := bulk.CompressDatagram(nil, plain)
	buf := make([]byte, 0, codec.HeaderSize+bulk.MaxCompressedLen(len(plain)))
	b.Run("Compress", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(plain)))
		for b.Loop() {
			sinkBytes, sinkErr = bulk.CompressDatagram(buf[:0], plain)
		}
		b.ReportMetric(float64(len(comp)), "bytes")
	})
	b.Run("Decompress", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(plain)))
		for b.Loop() {
			sinkBytes, sinkErr = bulk.DecompressDatagram(buf[:0], comp, codec.MaxBodySize)
		}
	})
}
