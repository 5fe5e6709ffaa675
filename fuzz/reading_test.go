package fuzz_test

import (
	"errors"
	"math"
	"time"

	"github.com/hearsay-io/hearsay/codec"
	"github.com/hearsay-io/hearsay/codec/bulk"
	"github.com/hearsay-io/hearsay/engine"
)

// reading is the checker's own reading of a received datagram: whether the
// node's gate must pass it to the protocol and, if not, which counter the
// refusal must move.
type reading struct {
	ok    bool   // the gate passes it
	cause string // why not
	// count is the counter the refusal must move; nil when the cause is
	// one the checker does not pin to a counter.
	count    func(*engine.Stats) uint64
	header   codec.Header
	sections int
	body     []byte // plain (opened, decompressed) body
	// unsure: compressed shard data from an address the node may have an
	// open shard request to; the gate may pass it or refuse it as
	// DropUnsolicited (the checker does not follow every request's end).
	unsure bool
	// seen records the datagram in the replay model; the caller runs it
	// once it knows the gate got that far.
	seen func()
	// unbound: a sealed Join or Sync that opened for no receiver (0)
	// rather than for the node, as a first contact with a seed whose ID
	// the sender does not know is sealed. The node answers it as from an
	// address that has not proven itself: an Echo in it does not count.
	unbound bool
}

func refused(cause string, count func(*engine.Stats) uint64) reading {
	return reading{cause: cause, count: count}
}

// read decides, independently of the engine, what the node's gate does
// with b from the address from, in the order the gate looks (see
// engine.Core.Receive): a valid header of this cluster; compression only on
// shard data the node asked from for; sealed exactly when the node has keys
// and opening under its keyring; a body that decompresses within the
// engine's bound (a sealed datagram opens for the node's own ID or, a Join
// or Sync only, for no one: see open); a message type the codec defines;
// not claiming to come
// from this node; a plausible incarnation and generation; in a sealed
// cluster, not a replay nor a sequence number implausibly far ahead (the
// caller records it in the replay model, reading.seen); and every section
// and known record well formed.
func (ck *checker) read(b []byte) reading {
	hv, err := codec.NewHeaderView(b)
	if err != nil {
		return refused("a bad header", dropCounter(err))
	}
	if hv.Cluster() != worldCluster {
		return refused("another cluster's", func(s *engine.Stats) uint64 { return s.DropCluster })
	}
	unsure := false
	if hv.Flags()&codec.FlagCompressed != 0 {
		// Only shard data the node asked the source for may be compressed;
		// anything else is refused before the work of decompressing it.
		if hv.Type() != codec.MsgShardData {
			return refused("compressed, not shard data", func(s *engine.Stats) uint64 { return s.DropCompressed })
		}
		switch ck.wantsFrom(ck.from) {
		case no:
			return refused("compressed shard data not asked for", func(s *engine.Stats) uint64 { return s.DropUnsolicited })
		case maybe:
			unsure = true // settled by the counters (afterReceive)
		}
	}
	// From here on a refusal of compressed shard data may instead be the
	// gate's DropUnsolicited (the request had ended): it carries unsure.
	refused := func(cause string, count func(*engine.Stats) uint64) reading {
		return reading{cause: cause, count: count, unsure: unsure}
	}
	sealed := hv.Flags()&codec.FlagSealed != 0
	unbound := false
	switch {
	case sealed && ck.keys == nil:
		return refused("sealed without keys", func(s *engine.Stats) uint64 { return s.DropSealed })
	case !sealed && ck.keys != nil:
		return refused("unsealed with keys", func(s *engine.Stats) uint64 { return s.DropUnsealed })
	case sealed:
		p, u, err := ck.open(ck.scratch[:0], b, hv.Type())
		if err != nil {
			return refused("a seal that does not open", dropCounter(err))
		}
		ck.scratch = p[:0]
		b, unbound = p, u
	}
	h, err := codec.ParseHeader(b)
	if err != nil {
		return refused("a bad plain header", dropCounter(err))
	}
	body := b[codec.HeaderSize : codec.HeaderSize+int(h.Length)]
	if h.Flags&codec.FlagCompressed != 0 {
		// The engine bounds a decompressed body at 64 KiB.
		z, err := bulk.Decompress(ck.zip[:0], body, 64<<10)
		if err != nil {
			return refused("a body that does not decompress", dropCounter(err))
		}
		ck.zip = z[:0]
		body = z
	}
	// codec.MsgType: a receiver ignores (and the engine counts) datagrams
	// of kinds it does not know, before looking at their sender or body.
	if !h.Type.Known() {
		return refused("an unknown kind", func(s *engine.Stats) uint64 { return s.DropUnknownType })
	}
	if engine.ID(h.Sender) == ck.self {
		return refused("this node's own ID", func(s *engine.Stats) uint64 { return s.DropSelf })
	}
	if h.Incarnation > maxIncarnation || !ck.plausibleGen(h.Generation, ck.gen) {
		return refused("an implausible header", func(s *engine.Stats) uint64 { return s.RefusedImplausible })
	}
	var seen func()
	if ck.keys != nil {
		why, record := ck.fresh(&h)
		switch why {
		case "a replay":
			return reading{cause: why, count: func(s *engine.Stats) uint64 { return s.DropReplay }, unsure: unsure, seen: record}
		case "":
			seen = record
		default:
			return reading{cause: why, count: func(s *engine.Stats) uint64 { return s.RefusedImplausible }, unsure: unsure, seen: record}
		}
	}
	if err := wellFormed(int(h.Sections), body); err != nil {
		return reading{cause: "a malformed body", count: dropCounter(err), unsure: unsure, seen: seen}
	}
	return reading{ok: true, header: h, sections: int(h.Sections), body: body, unsure: unsure, seen: seen, unbound: unbound}
}

// open opens a sealed datagram of type t (as its header says) the way the
// node must: bound to the node's own member ID (codec.OpenFor); failing
// that authentication, a Join or Sync, the first contact with a seed whose
// ID the sender did not know, may be sealed for no one (receiver 0), and
// is then unbound. Anything else sealed for another receiver, or for no
// one, fails with codec.ErrAuth.
func (ck *checker) open(dst, b []byte, t codec.MsgType) (plain []byte, unbound bool, err error) {
	p, err := codec.OpenFor(dst, b, ck.keys, uint64(ck.self))
	if errors.Is(err, codec.ErrAuth) && (t == codec.MsgJoin || t == codec.MsgSync) {
		if p, err = codec.OpenFor(dst, b, ck.keys, 0); err == nil {
			return p, true, nil
		}
	}
	return p, false, err
}

// dropCounter is the counter of Stats that a datagram refused by the codec
// with err must move, as engine.Stats documents each.
func dropCounter(err error) func(*engine.Stats) uint64 {
	switch {
	case errors.Is(err, codec.ErrTruncated):
		return func(s *engine.Stats) uint64 { return s.DropTruncated }
	case errors.Is(err, codec.ErrMagic), errors.Is(err, codec.ErrVersion):
		return func(s *engine.Stats) uint64 { return s.DropForeign }
	case errors.Is(err, codec.ErrUnknownKey):
		return func(s *engine.Stats) uint64 { return s.DropUnknownKey }
	case errors.Is(err, codec.ErrAuth):
		return func(s *engine.Stats) uint64 { return s.DropAuth }
	case errors.Is(err, codec.ErrTooLarge):
		return func(s *engine.Stats) uint64 { return s.DropTooLarge }
	}
	return func(s *engine.Stats) uint64 { return s.DropMalformed }
}

// The bounds of honest counters (engine/authority.go): a record at a
// counter's maximum can never be superseded, so it cannot be honest.
const (
	maxIncarnation  = math.MaxUint32 - 1
	maxStateVersion = math.MaxUint64 - 1
)

// plausibleGen reports whether gen can be an honest generation for a node
// whose own generation is own: below the counter's maximum and at most
// MaxClockSkew ahead of the node's clock, which in the world (no wall
// clock) is its own generation.
func (ck *checker) plausibleGen(gen, own uint64) bool {
	if gen == math.MaxUint64 {
		return false
	}
	skew := uint64(ck.cfg.MaxClockSkew)
	return own > math.MaxUint64-skew || gen <= own+skew
}

// plausibleMember reports whether a member record's counters can be honest
// for a node at generation own.
func (ck *checker) plausibleMember(m *codec.Member, own uint64) bool {
	return m.Incarnation <= maxIncarnation && m.StateVersion <= maxStateVersion && ck.plausibleGen(m.Generation, own)
}

// wellFormed walks the sections of a plain body and decodes every record
// of a known type; it returns the first error. A user message is read with
// its payload section (codec.Reader.User); a payload section that follows
// none is malformed.
func wellFormed(sections int, body []byte) error {
	var r codec.Reader
	r.Reset(sections, body)
	for r.Next() {
		switch r.Type() {
		case codec.RecUser:
			if _, _, err := r.User(); err != nil {
				return err
			}
			continue
		case codec.RecPayload:
			return codec.ErrMalformed
		}
		for i := 0; i < r.Count(); i++ {
			rec := r.Record(i)
			var err error
			switch r.Type() {
			case codec.RecHeartbeat:
				_, _, err = codec.ParseHeartbeat(rec)
			case codec.RecPing:
				_, _, err = codec.ParsePing(rec)
			case codec.RecAck:
				_, _, err = codec.ParseAck(rec)
			case codec.RecNack:
				_, _, err = codec.ParseNack(rec)
			case codec.RecPingReq:
				_, _, err = codec.ParsePingReq(rec)
			case codec.RecMember:
				_, _, err = codec.ParseMember(rec)
			case codec.RecState:
				_, _, err = codec.ParseStateEntry(rec)
			case codec.RecDigest:
				_, _, err = codec.ParseDigest(rec)
			case codec.RecShardRef:
				_, _, err = codec.ParseShardRef(rec)
			case codec.RecPrint:
				_, _, err = codec.ParseFingerprint(rec)
			case codec.RecEcho:
				_, _, err = codec.ParseEcho(rec)
			case codec.RecVerdict:
				_, _, err = codec.ParseVerdict(rec)
			case codec.RecRetry:
				_, _, err = codec.ParseRetry(rec)
			}
			if err != nil {
				return err
			}
		}
	}
	return r.Err()
}

// tokenEpoch is the engine's token epoch (engine/validation.go): a token
// is accepted in the epoch it was made and the next.
const tokenEpoch = time.Minute

func epochAt(now engine.Time) uint32 { return uint32(int64(now) / int64(tokenEpoch)) }
