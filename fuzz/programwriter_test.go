package fuzz_test

import (
	"encoding/binary"
	"net/netip"

	"github.com/hearsay-io/hearsay/codec"
	"github.com/hearsay-io/hearsay/engine"
)

// progWriter writes programs: the corpus converts captured datagrams into
// datagram instructions with raw operands, which mutations then turn into
// relative ones.
type progWriter struct{ b []byte }

func newProgram(keyed bool, node int) *progWriter {
	var flags byte
	if keyed {
		flags = 1
	}
	return &progWriter{b: []byte{flags, byte(node)}}
}

func (w *progWriter) byte(v byte)    { w.b = append(w.b, v) }
func (w *progWriter) raw16(v uint16) { w.b = binary.BigEndian.AppendUint16(append(w.b, 0xff), v) }
func (w *progWriter) raw32(v uint32) { w.b = binary.BigEndian.AppendUint32(append(w.b, 0xff), v) }
func (w *progWriter) raw64(v uint64) { w.b = binary.BigEndian.AppendUint64(append(w.b, 0xff), v) }

func (w *progWriter) advance(k byte) { w.byte(0x90 | k&0xf) }

func (w *progWriter) id(v uint64) {
	if i, ok := worldByID[engine.ID(v)]; ok {
		w.byte(byte(i))
		return
	}
	if v == 0 {
		w.byte(0xfe)
		return
	}
	w.raw64(v)
}

func (w *progWriter) addr(a netip.AddrPort) {
	if i := worldIndexOf(a); i >= 0 {
		w.byte(byte(i))
		return
	}
	if !a.IsValid() {
		w.byte(0xfe)
		return
	}
	ip := a.Addr().As16()
	w.b = append(w.b, 0xff)
	w.b = append(w.b, ip[:]...)
	w.b = binary.BigEndian.AppendUint16(w.b, a.Port())
}

func (w *progWriter) u32(v uint32) {
	if v < 0xfe {
		w.byte(byte(v))
		return
	}
	w.raw32(v)
}

func (w *progWriter) u64(v uint64) {
	if v < 0xff {
		w.byte(byte(v))
		return
	}
	w.raw64(v)
}

func (w *progWriter) sum(v uint64) {
	w.byte(2)
	w.b = binary.BigEndian.AppendUint64(w.b, v)
}

func (w *progWriter) key(k []byte) {
	w.byte(0xff)
	w.byte(byte(len(k)))
	w.b = append(w.b, k...)
}

func (w *progWriter) value(v []byte) {
	w.byte(byte(len(v)))
	w.b = append(w.b, v...)
}

// datagram writes an instruction that rebuilds the plain datagram h, body
// (compressed if it was; in a cluster with keys sealed for no receiver if
// unbound, else for the node), received from from.
func (w *progWriter) datagram(from netip.AddrPort, h *codec.Header, body []byte, compressed, unbound bool) {
	w.byte(0x00)
	if h.Type < 16 {
		w.byte(byte(h.Type))
	} else {
		w.byte(0xff)
		w.byte(byte(h.Type))
	}
	w.addr(from)
	w.id(h.Sender)
	w.raw64(h.Generation)
	w.raw32(h.Incarnation)
	var r codec.Reader
	r.Reset(int(h.Sections), body)
	type sec struct {
		t       codec.RecType
		recs    [][]byte
		user    codec.UserMsg
		payload []byte
	}
	var secs []sec
	for r.Next() && len(secs) < 8 {
		if r.Type() == codec.RecUser {
			x, p, err := r.User()
			if err != nil {
				break
			}
			secs = append(secs, sec{t: codec.RecUser, user: x, payload: p})
			continue
		}
		if r.Type() < codec.RecHeartbeat || r.Type() > codec.RecRetry || r.Count() == 0 {
			continue
		}
		sc := sec{t: r.Type()}
		for i := 0; i < r.Count() && i < 255; i++ {
			sc.recs = append(sc.recs, r.Record(i))
		}
		secs = append(secs, sc)
	}
	opts := byte(len(secs)) << 1
	if compressed {
		opts |= 1
	}
	if unbound {
		opts |= optSealUnbound
	}
	w.byte(opts)
	w.u32(h.Seq)
	for _, sc := range secs {
		w.byte(sectionType(sc.t))
		if sc.t == codec.RecUser {
			w.byte(0xff)
			w.byte(1)
			w.user(&sc.user, sc.payload)
			continue
		}
		w.byte(0xff)
		w.byte(byte(len(sc.recs)))
		for _, rec := range sc.recs {
			w.record(sc.t, rec)
		}
	}
}

// user writes a user message with raw operands (seqRun.record).
func (w *progWriter) user(x *codec.UserMsg, payload []byte) {
	if x.Broadcast {
		w.byte(0)
	} else {
		w.byte(1)
	}
	w.id(x.Origin)
	w.raw64(x.Generation)
	w.raw32(x.Seq)
	w.raw16(uint16(len(payload)))
	w.b = append(w.b, payload...)
}

// sectionType is the byte that makes a section of record type t.
func sectionType(t codec.RecType) byte {
	if t > codec.RecPrint {
		return 0xe0 + byte(t-codec.RecEcho)
	}
	return byte(t - 1)
}

func (w *progWriter) record(t codec.RecType, rec []byte) {
	switch t {
	case codec.RecHeartbeat:
		x, _, _ := codec.ParseHeartbeat(rec)
		w.u64(x.Counter)
		w.sum(x.Digest)
		w.u32(x.Members)
	case codec.RecPing:
		x, _, _ := codec.ParsePing(rec)
		w.raw32(x.Seq)
		w.id(x.Target)
	case codec.RecAck:
		x, _, _ := codec.ParseAck(rec)
		w.raw32(x.Seq)
		w.id(x.Target)
	case codec.RecNack:
		x, _, _ := codec.ParseNack(rec)
		w.raw32(x.Seq)
		w.id(x.Target)
	case codec.RecPingReq:
		x, _, _ := codec.ParsePingReq(rec)
		w.raw32(x.Seq)
		w.id(x.Target)
		w.addr(x.Addr)
	case codec.RecMember:
		x, _, _ := codec.ParseMember(rec)
		w.id(x.ID)
		w.raw64(x.Generation)
		w.raw32(x.Incarnation)
		w.byte(byte(x.State - 1))
		w.addr(x.Addr)
		w.u64(x.StateVersion)
		w.id(x.Witness)
	case codec.RecState:
		x, _, _ := codec.ParseStateEntry(rec)
		w.id(x.Owner)
		w.key(x.Key)
		w.raw64(x.Generation)
		w.raw64(x.Version)
		if x.Deleted {
			w.byte(1)
		} else {
			w.byte(0)
		}
		w.value(x.Value)
	case codec.RecDigest:
		x, _, _ := codec.ParseDigest(rec)
		w.byte(x.Level % 3)
		w.raw16(x.Index)
		w.u32(x.Count)
		w.sum(x.Sum)
	case codec.RecShardRef:
		x, _, _ := codec.ParseShardRef(rec)
		w.raw16(uint16(x.Shard))
		w.u32(x.Count)
		w.sum(x.Digest)
	case codec.RecPrint:
		x, _, _ := codec.ParseFingerprint(rec)
		w.raw64(x.Sum)
	case codec.RecEcho:
		x, _, _ := codec.ParseEcho(rec)
		w.echo(x)
	case codec.RecVerdict:
		x, _, _ := codec.ParseVerdict(rec)
		w.raw64(x.Generation)
		w.raw32(x.Incarnation)
		w.byte(byte(x.State - 1))
	case codec.RecRetry:
		x, _, _ := codec.ParseRetry(rec)
		if x.For < 16 {
			w.byte(byte(x.For))
		} else {
			w.byte(0xff)
			w.byte(byte(x.For))
		}
		w.u32(uint32(x.After))
		w.echo(codec.Echo{Token: x.Token, Epoch: x.Epoch})
	}
}

// echo writes a raw token and epoch (selEcho).
func (w *progWriter) echo(e codec.Echo) {
	w.byte(0xff)
	w.b = binary.BigEndian.AppendUint64(w.b, e.Token)
	w.b = binary.BigEndian.AppendUint32(w.b, e.Epoch)
}
