// Package codec defines Hearsay's wire format: the datagram header, the
// fixed-size records that datagrams carry, a builder that packs records
// into a datagram within a size limit, a reader that walks them in place,
// and sealing with AES-GCM under a keyring.
//
// It does no I/O and holds no protocol logic: it does not decide what to
// send, check that a datagram comes from the right cluster (the caller
// compares [Header.Cluster], or calls [Header.CheckCluster]), order or
// deduplicate datagrams, or compress (package codec/bulk does, and the
// flag for it is defined here). It imports only the standard library.
//
// # Datagram
//
// A datagram is a 40-byte header followed by a body. All integers are
// big-endian.
//
//	off len field
//	0   2   magic "HS" (0x48 0x53)
//	2   1   version (Version = 1)
//	3   1   type (MsgType: the datagram kind)
//	4   1   flags (bit 0 sealed, bit 1 compressed; other bits reserved)
//	5   1   sections (number of sections in the body, 0..255)
//	6   2   length (bytes of body after the header)
//	8   8   cluster ID (ClusterID of the cluster name)
//	16  8   sender ID
//	24  8   sender generation
//	32  4   sender incarnation
//	36  4   sequence (per-sender datagram counter)
//
// The length field makes every truncation detectable, sealed or not: a
// datagram shorter than the header, or than the header plus the length,
// is [ErrTruncated]. Bytes after header+length are ignored (padding, or a
// newer sender's trailer). A flag bit this version does not know is
// [ErrMalformed], because flags change how the body is read.
//
// # Body and sections
//
// A plain body is a sequence of sections, as many as the header says.
// Each section holds records of one type and one size:
//
//	off len field
//	0   1   record type (RecType)
//	1   1   record size in bytes (at least 1)
//	2   2   record count
//	4   n   count × size bytes of records
//
// A section of an unknown record type is returned by the [Reader] like any
// other, for the caller to skip. A section of a known type whose record
// size is larger than this version's is accepted, and each record's
// trailing bytes ignored (fields of a newer version); a smaller size is
// [ErrMalformed]. A section that runs past the body is [ErrTruncated].
// Bytes of the body after the last section are ignored.
//
// # Records
//
// Reserved bytes are written as zero and ignored on reading, so a newer
// version may give them meaning. Addresses are 16 bytes of IPv6 (IPv4 as
// IPv4-mapped IPv6, ::ffff:a.b.c.d) and a 2-byte port; they decode to
// [net/netip.AddrPort] with IPv4-mapped addresses unmapped, so an IPv4 node
// round-trips as IPv4. Zones are not carried. The zero AddrPort encodes
// as all zeros, and all zeros decode as the zero AddrPort.
//
// Heartbeat (type 1, 24 bytes):
//
//	0   8   counter
//	8   8   digest (the sender's root membership digest)
//	16  4   members (how many members the sender knows)
//	20  4   reserved
//
// Ping (type 2), Ack (type 3) and Nack (type 5), 16 bytes each:
//
//	0   4   seq
//	4   2   Ack: the sender's loss estimate (0 none, else 1 + 10,000 × the
//	        lost fraction); Ping, Nack: reserved
//	6   2   reserved
//	8   8   target member ID
//
// PingReq (type 4, 40 bytes):
//
//	0   4   seq
//	4   4   reserved
//	8   8   target member ID
//	16  16  target address
//	32  2   target port
//	34  6   reserved
//
// Member (type 6, 56 bytes):
//
//	0   8   member ID
//	8   8   generation
//	16  4   incarnation
//	20  1   state (1 alive, 2 suspect, 3 dead, 4 left; anything else is ErrMalformed)
//	21  1   flags (carried verbatim; meaning defined by the engine)
//	22  2   port
//	24  16  address
//	40  8   state version (version of the member's application state)
//	48  8   witness (for suspect and dead: the accuser's ID; else 0)
//
// State entry (type 7, 128 bytes):
//
//	0   8   owner member ID
//	8   8   owner generation
//	16  8   version
//	24  1   flags (bit 0 deleted; other bits reserved)
//	25  1   key length (0..32; more is ErrMalformed)
//	26  1   value length (0..64; more is ErrMalformed)
//	27  5   reserved
//	32  32  key, zero-padded
//	64  64  value, zero-padded
//
// Digest (type 8, 16 bytes):
//
//	0   1   level (0 is the root)
//	1   1   reserved
//	2   2   index (the shard at this level)
//	4   4   count (records covered)
//	8   8   sum (order-independent hash of the records covered)
//
// Shard reference (type 9, 16 bytes):
//
//	0   4   shard
//	4   4   count
//	8   8   digest
//
// Fingerprint (type 10, 8 bytes), the hash of one record the sender of a
// shard request holds; the Fingerprint records after a ShardRef in a
// request belong to that shard:
//
//	0   8   sum
//
// Echo (type 11, 16 bytes), a token the receiver issued in a Retry,
// returned to it (see Address validation):
//
//	0   8   token
//	8   4   epoch (the issuer's token epoch; tokens expire with it)
//	12  4   reserved
//
// Verdict (type 12, 16 bytes), what the sender holds about the receiver
// (see Verdicts):
//
//	0   8   generation
//	8   4   incarnation
//	12  1   state (as in Member; anything else is ErrMalformed)
//	13  3   reserved
//
// Retry (type 13, 16 bytes), the record of a MsgRetry datagram (see
// Address validation):
//
//	0   1   for (the MsgType of the request to send again)
//	1   1   reserved
//	2   2   after (milliseconds to wait before sending again; 0 at once)
//	4   4   epoch (of the token)
//	8   8   token (0: none, the node was only busy)
//
// User message (type 14, 24 bytes), always followed at once by its
// Payload section (type 15: records of one byte, the payload, as many as
// the length says; see User messages):
//
//	0   8   origin (ID of the member that wrote the message)
//	8   8   origin generation
//	16  4   seq (the origin's user-message counter, from 1)
//	20  1   flags (bit 0 broadcast; other bits reserved)
//	21  1   reserved
//	22  2   length (payload bytes)
//
// # User messages
//
// Applications send each other opaque payloads. A message for one member
// is a [MsgUser] datagram holding one [UserMsg] record; a broadcast, with
// the UserMsg's broadcast flag set, rides in any datagram that carries
// membership updates, after them, and every member that receives it
// relays it in turn. Either way the payload is the [RecPayload] section
// right after the UserMsg's section: the section's record size is 1 and
// its record count the payload's length, so a payload is read in place,
// as one slice ([Reader.User]). A UserMsg section holds one record, and a
// Payload section that does not follow one, or whose count is not the
// UserMsg's length, is [ErrMalformed]. A user message costs
// [UserOverhead], 32 bytes, besides its payload: a default 1,400-byte
// datagram carries a payload of up to 1,328 bytes, 1,296 sealed.
// (Origin, generation, seq) names a message across relays, so that a
// receiver can deliver it once; this package carries the fields and
// leaves deduplication to the caller.
//
// # Address validation
//
// A node answers a datagram from an address that has not proven that it
// receives there with at most as many bytes as the datagram had, so that
// a forged source address cannot turn the node into an amplifier. When
// the full answer would be larger, the node answers with a [MsgRetry]
// datagram instead: its [Retry] record names the request and carries a
// token bound to the requester's address (a keyed hash of it that only
// the node can compute) and the epoch it was made in. The requester sends
// the request again with an [Echo] record of that token and epoch; as the
// token was sent only to that address, the Echo proves the requester
// receives there, and the node may answer in full. A Retry without a
// token, with After set, says only that the node was busy. This package
// carries the records; issuing and checking tokens, and counting the
// bytes, are the caller's.
//
// # Verdicts
//
// Each member is the authority on its own record. A node that hears from
// a member it holds suspect, dead or left tells it so with a [Verdict]
// record: the generation, incarnation and state the node holds for the
// receiver. The receiver can then supersede the claim with a record of
// its own that wins over it (a higher incarnation, or a new generation),
// instead of learning of it only when the gossip reaches it.
//
// # Capacity
//
// Records of one type that fit in one section of a default 1,400-byte
// datagram ([DefaultDatagramSize]); "sealed" leaves room for the
// [SealOverhead] of 32 bytes, so the sealed datagram is at most 1,400
// bytes too:
//
//	record          size  plain  sealed
//	Heartbeat         24     56      55
//	Ping, Ack, Nack   16     84      82
//	PingReq           40     33      33
//	Member            56     24      23
//	State            128     10      10
//	Digest            16     84      82
//	ShardRef          16     84      82
//	Fingerprint        8    169     165
//	Echo              16     84      82
//	Verdict           16     84      82
//	Retry             16     84      82
//	User + payload   32+n      1       1   (n up to 1,328 plain, 1,296 sealed)
//
// A heartbeat datagram is 68 bytes (100 sealed); with piggybacked
// membership updates a default datagram holds the heartbeat and 23 Member
// records, plain or sealed. Each further section costs 4 bytes.
//
// # Sealing
//
// A sealed datagram ([FlagSealed]) is the header, with the length
// covering the sealed body, then:
//
//	40  4   key ID (KeyID of the sealing key)
//	44  12  nonce (random)
//	56  n   AES-GCM ciphertext of the plain body
//	56+n 16 GCM tag
//
// The additional authenticated data is the 44 bytes at offset 0, the
// header as sent and the key ID, so no header field can be changed
// undetected. [Open] rejects a datagram before any of its body is parsed:
// a short one with [ErrTruncated], an unknown key ID with [ErrUnknownKey]
// (no AES work), a forgery with [ErrAuth]. A [Keyring] holds one primary
// key, which seals, and any number of accepted keys, which open, so keys
// rotate without downtime. Nonces are random, 96 bits; see [Seal] for the
// number of datagrams a key may seal before it must be rotated.
//
// # Compression
//
// A compressed datagram ([FlagCompressed]) carries its whole body as one
// compressed block (S2, see codec/bulk); the header's section count is
// that of the decompressed body, its length that of the block. A
// compressed datagram must still fit the datagram size limit: the sender
// packs records until the compressed body fits. Compression comes before
// sealing (ciphertext does not compress), so a receiver does, in order:
//
//  1. [NewHeaderView] or [ParseHeader], and a cluster check;
//  2. [Open], if [FlagSealed] is set;
//  3. bulk.DecompressDatagram, if [FlagCompressed] is set;
//  4. [Parse], then a [Reader] over the sections, decoding each record
//     with the Parse function or Decode method of its type.
//
// # Version policy
//
// The 40-byte header layout is frozen for the magic "HS". Protocols grow
// by new record types and by new trailing fields of existing records
// (older receivers skip the former and ignore the latter), and by giving
// meaning to reserved bytes whose zero value keeps the old meaning.
// [MsgType] and [RecType] numbers are append-only and never reused. A
// receiver accepts any version from 1 up and reads what it knows; the
// version byte tells it what the sender knew. A new flag bit is a breaking
// change for older receivers (they reject the datagram), so it is used
// only for features that must not be misread. A change that old receivers
// cannot read safely needs a new magic.
//
// # Guarantees
//
// Decoding never panics and never allocates; it reads in place. Errors are
// the sentinels of this package, matched with [errors.Is], and carry no
// data. Encoding appends to the caller's buffer and allocates only if the
// buffer lacks capacity; the [Builder] never allocates and never writes
// past the capacity it is given. [Seal] and [Open] allocate nothing when
// the destination has capacity. Values of this package are not safe for
// concurrent mutation; a [Keyring] is immutable and safe for concurrent
// use. All of this is tested: TestNoAllocs, the golden hex tests, the
// proper-prefix tests and the fuzz targets.
//
// # References
//
//   - A. Das, I. Gupta, A. Motivala. SWIM: Scalable Weakly-consistent
//     Infection-style Process Group Membership Protocol. DSN 2002. (Ping,
//     PingReq, suspicion, incarnations.)
//   - A. Dadgar, J. Phillips, J. Currey. Lifeguard: Local Health Awareness
//     for More Accurate Failure Detection. 2018. (Nack.)
//   - J. Iyengar, M. Thomson (eds.). RFC 9000: QUIC: A UDP-Based
//     Multiplexed and Secure Transport. 2021. Section 8.1. (Address
//     validation: the limit on bytes sent to an unvalidated address,
//     Retry tokens; QUIC allows three times the bytes received, Hearsay
//     one.)
//   - M. Dworkin. NIST SP 800-38D: Galois/Counter Mode (GCM) and GMAC.
//     2007. (Sealing; the limit on random nonces.)
package codec
