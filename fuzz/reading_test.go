package fuzz_test

import (
	"errors"

	"github.com/hearsay-io/hearsay/codec"
	"github.com/hearsay-io/hearsay/codec/bulk"
	"github.com/hearsay-io/hearsay/engine"
)

// reading is the checker's own reading of a received datagram.
type reading struct {
	ok       bool // the wire format accepts it for this node
	header   codec.Header
	sections int
	body     []byte // plain (opened, decompressed) body
}

// read decides, independently of the engine, whether the node must accept
// b: a valid header of this cluster, sealed exactly when the node has keys
// and opening under its keyring, decompressing within the engine's bound,
// not claiming to come from this node, and with every section and known
// record well formed.
func (ck *checker) read(b []byte) reading {
	hv, err := codec.NewHeaderView(b)
	if err != nil || hv.Cluster() != worldCluster {
		return reading{}
	}
	sealed := hv.Flags()&codec.FlagSealed != 0
	if sealed != (ck.keys != nil) {
		return reading{}
	}
	if sealed {
		p, err := codec.Open(ck.scratch[:0], b, ck.keys)
		if err != nil {
			return reading{}
		}
		ck.scratch = p[:0]
		b = p
	}
	h, err := codec.ParseHeader(b)
	if err != nil {
		return reading{}
	}
	body := b[codec.HeaderSize : codec.HeaderSize+int(h.Length)]
	if h.Flags&codec.FlagCompressed != 0 {
		// The engine bounds a decompressed body at 64 KiB.
		z, err := bulk.Decompress(ck.zip[:0], body, 64<<10)
		if err != nil {
			return reading{}
		}
		ck.zip = z[:0]
		body = z
	}
	// codec.MsgType: a receiver ignores (and the engine counts) datagrams
	// of kinds it does not know, before looking at their sender or body.
	if !h.Type.Known() || engine.ID(h.Sender) == ck.self || !wellFormed(int(h.Sections), body) {
		return reading{}
	}
	return reading{ok: true, header: h, sections: int(h.Sections), body: body}
}

// gateDrop returns, for a datagram refused before parsing for a reason the
// issue names (another cluster; sealed or not against the node's keys; a
// seal that does not open), that reason and the counter it must move. It
// returns a nil counter for any other datagram.
func (ck *checker) gateDrop(b []byte) (string, func(*engine.Stats) uint64) {
	hv, err := codec.NewHeaderView(b)
	switch {
	case err != nil:
		return "", nil
	case hv.Cluster() != worldCluster:
		return "another cluster's", func(s *engine.Stats) uint64 { return s.DropCluster }
	case hv.Flags()&codec.FlagSealed != 0 && ck.keys == nil:
		return "sealed without keys", func(s *engine.Stats) uint64 { return s.DropSealed }
	case hv.Flags()&codec.FlagSealed == 0 && ck.keys != nil:
		return "unsealed with keys", func(s *engine.Stats) uint64 { return s.DropUnsealed }
	case ck.keys == nil:
		return "", nil
	}
	_, err = codec.Open(ck.scratch[:0], b, ck.keys)
	switch {
	case errors.Is(err, codec.ErrUnknownKey):
		return "unknown key", func(s *engine.Stats) uint64 { return s.DropUnknownKey }
	case errors.Is(err, codec.ErrAuth):
		return "failed authentication", func(s *engine.Stats) uint64 { return s.DropAuth }
	}
	return "", nil
}

// wellFormed walks the sections of a plain body and decodes every record
// of a known type.
func wellFormed(sections int, body []byte) bool {
	var r codec.Reader
	r.Reset(sections, body)
	for r.Next() {
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
			}
			if err != nil {
				return false
			}
		}
	}
	return r.Err() == nil
}
