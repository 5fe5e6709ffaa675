// Package bulk compresses bulk payloads for the wire (anti-entropy shard
// transfers and full-state join replies), with a hard cap on decompressed
// size.
//
// A compressed datagram has [codec.FlagCompressed] set and carries its
// whole body, every section, as one S2 block: a uvarint of the
// decompressed size followed by the compressed data. The header's section
// count is that of the decompressed body; its length, that of the block.
// [CompressDatagram] and [DecompressDatagram] convert between the plain
// and the compressed form of a datagram; [Compress] and [Decompress] work
// on raw blocks.
//
// A compressed datagram must still fit the datagram size limit (by
// default [codec.DefaultDatagramSize], less [codec.SealOverhead] when it
// will be sealed): the sender packs records until the compressed body
// fits, and sends the plain datagram instead when compression does not
// pay. Compression comes before sealing; a receiver opens, then
// decompresses, then parses.
//
// # Why S2
//
// Measured with BenchmarkChoice on realistic data, the Member records of a
// 10,000-member cluster (random 64-bit IDs, generations within an hour of
// one start time in Unix nanoseconds, small incarnations, addresses
// 10.x.y.z:7946, small state versions):
//
//	input                   codec          ratio  compress  decompress
//	full state, 560,000 B   s2             2.00   ~1.4 ms   ~0.40 ms
//	                        zstd fastest   2.42   ~3.7 ms   ~0.47 ms
//	                        zstd default   2.42   ~6.6 ms   ~0.44 ms
//	body of 24 members      s2             1.74   ~2 µs     ~0.9 µs
//	                        zstd fastest   2.20   ~15 µs    ~2.6 µs
//	body of 48 members      s2             1.82
//	                        zstd fastest   2.33   ~27 µs    ~3.5 µs
//
// (Times are medians on a shared, loaded 2-core machine and only
// indicative; the ratios are exact.) zstd sends about 20% fewer bytes, so
// a full-state transfer takes about 180 datagrams instead of 230; S2
// costs several times less CPU per datagram on both ends, needs no
// encoder or decoder objects (no window buffers; the encoder borrows its
// hash table from a pool, see [Compress]; safe for concurrent use), and
// its block header gives the decompressed size up front, which makes the
// size cap a one-line check. Since the kernel's cost per
// datagram is about 3 µs, S2's saving in compression time outweighs the
// extra datagrams, and it keeps a seed node cheap when many nodes join at
// once. EncodeBetter gained 2% in ratio at 2 to 10 times the time.
//
// # Guarantees
//
// [Decompress] reads the declared size before allocating or decoding and
// refuses a block over the caller's maximum with [ErrTooLarge], so a
// hostile block can make it allocate at most that maximum, and nothing
// when dst has the capacity. Corrupt input is [ErrCorrupt]; it never
// panics. Both errors wrap codec sentinels ([codec.ErrTooLarge],
// [codec.ErrMalformed]). Decompress allocates nothing when dst has the
// capacity, garbage collections or not. Compress allocates no output when
// dst has [MaxCompressedLen] of free capacity, and nothing at all while
// the S2 encoder's pooled hash tables are warm; the first compression of
// a size class after garbage collection has emptied the pool allocates
// its table (1 to 64 KiB) and the pool's bookkeeping, as [Compress]
// details. Both are safe for concurrent use.
//
// S2 blocks carry no checksum: corruption that still decodes to the
// declared size goes undetected here. Sealing ([codec.Seal]) is what
// protects datagrams against corruption and tampering.
//
// # References
//
// S2, an extension of the Snappy block format:
// https://github.com/klauspost/compress/tree/master/s2
package bulk
