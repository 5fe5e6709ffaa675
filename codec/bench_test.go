package codec_test

import (
	"testing"

	"github.com/hearsay-io/hearsay/codec"
)

func BenchmarkRecord(b *testing.B) {
	buf := make([]byte, 0, 256)
	for _, r := range records {
		enc := r.append(nil)
		b.Run("Append/"+r.typ.String(), func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(enc)))
			for b.Loop() {
				sinkBytes = r.append(buf[:0])
			}
		})
		b.Run("Decode/"+r.typ.String(), func(b *testing.B) {
			decode := decodersInPlace[r.typ]
			b.ReportAllocs()
			b.SetBytes(int64(len(enc)))
			for b.Loop() {
				sinkErr = decode(enc)
			}
		})
		b.Run("Parse/"+r.typ.String(), func(b *testing.B) {
			parse := parsers[r.typ]
			b.ReportAllocs()
			b.SetBytes(int64(len(enc)))
			for b.Loop() {
				sinkErr = parse(enc)
			}
		})
	}
}

// parsers decode one record into a sink, without re-encoding.
var parsers = map[codec.RecType]func(b []byte) error{
	codec.RecHeartbeat: func(b []byte) (err error) { sinkHB, sinkInt, err = codec.ParseHeartbeat(b); return },
	codec.RecPing:      func(b []byte) (err error) { sinkPing, sinkInt, err = codec.ParsePing(b); return },
	codec.RecAck:       func(b []byte) (err error) { sinkAck, sinkInt, err = codec.ParseAck(b); return },
	codec.RecPingReq:   func(b []byte) (err error) { sinkPingReq, sinkInt, err = codec.ParsePingReq(b); return },
	codec.RecNack:      func(b []byte) (err error) { sinkNack, sinkInt, err = codec.ParseNack(b); return },
	codec.RecMember:    func(b []byte) (err error) { sinkMember, sinkInt, err = codec.ParseMember(b); return },
	codec.RecState:     func(b []byte) (err error) { sinkState, sinkInt, err = codec.ParseStateEntry(b); return },
	codec.RecDigest:    func(b []byte) (err error) { sinkDigest, sinkInt, err = codec.ParseDigest(b); return },
	codec.RecShardRef:  func(b []byte) (err error) { sinkRef, sinkInt, err = codec.ParseShardRef(b); return },
	codec.RecPrint:     func(b []byte) (err error) { sinkPrint, sinkInt, err = codec.ParseFingerprint(b); return },
	codec.RecEcho:      func(b []byte) (err error) { sinkEcho, sinkInt, err = codec.ParseEcho(b); return },
	codec.RecVerdict:   func(b []byte) (err error) { sinkVerdict, sinkInt, err = codec.ParseVerdict(b); return },
	codec.RecRetry:     func(b []byte) (err error) { sinkRetry, sinkInt, err = codec.ParseRetry(b); return },
	codec.RecUser:      func(b []byte) (err error) { sinkUser, sinkInt, err = codec.ParseUserMsg(b); return },
}

// decodersInPlace decode one record into a sink with the Decode method.
var decodersInPlace = map[codec.RecType]func(b []byte) error{
	codec.RecHeartbeat: func(b []byte) (err error) { sinkInt, err = sinkHB.Decode(b); return },
	codec.RecPing:      func(b []byte) (err error) { sinkInt, err = sinkPing.Decode(b); return },
	codec.RecAck:       func(b []byte) (err error) { sinkInt, err = sinkAck.Decode(b); return },
	codec.RecPingReq:   func(b []byte) (err error) { sinkInt, err = sinkPingReq.Decode(b); return },
	codec.RecNack:      func(b []byte) (err error) { sinkInt, err = sinkNack.Decode(b); return },
	codec.RecMember:    func(b []byte) (err error) { sinkInt, err = sinkMember.Decode(b); return },
	codec.RecState:     func(b []byte) (err error) { sinkInt, err = sinkState.Decode(b); return },
	codec.RecDigest:    func(b []byte) (err error) { sinkInt, err = sinkDigest.Decode(b); return },
	codec.RecShardRef:  func(b []byte) (err error) { sinkInt, err = sinkRef.Decode(b); return },
	codec.RecPrint:     func(b []byte) (err error) { sinkInt, err = sinkPrint.Decode(b); return },
	codec.RecEcho:      func(b []byte) (err error) { sinkInt, err = sinkEcho.Decode(b); return },
	codec.RecVerdict:   func(b []byte) (err error) { sinkInt, err = sinkVerdict.Decode(b); return },
	codec.RecRetry:     func(b []byte) (err error) { sinkInt, err = sinkRetry.Decode(b); return },
	codec.RecUser:      func(b []byte) (err error) { sinkInt, err = sinkUser.Decode(b); return },
}

func BenchmarkHeader(b *testing.B) {
	h := testHeader(codec.MsgGossip)
	buf := make([]byte, 0, codec.HeaderSize)
	d := h.Append(nil)
	b.Run("Append", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			sinkBytes = h.Append(buf[:0])
		}
	})
	b.Run("Parse", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			sinkHeader, sinkErr = codec.ParseHeader(d)
		}
	})
	b.Run("View", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			sinkView, sinkErr = codec.NewHeaderView(d)
			sinkInt = int(sinkView.Seq())
		}
	})
}

// BenchmarkMessage builds and reads each message kind of the golden set.
func BenchmarkMessage(b *testing.B) {
	buf := make([]byte, 0, codec.DefaultDatagramSize)
	for _, m := range messages {
		d := build(m)
		b.Run("Build/"+m.typ.String(), func(b *testing.B) {
			var bl codec.Builder
			h := testHeader(m.typ)
			b.ReportAllocs()
			b.SetBytes(int64(len(d)))
			for b.Loop() {
				bl.Reset(buf[:0], codec.DefaultDatagramSize, h)
				m.add(&bl)
				sinkBytes = bl.Finish()
			}
		})
		b.Run("Validate/"+m.typ.String(), func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(d)))
			for b.Loop() {
				sinkErr = codec.Validate(d)
			}
		})
	}
}

// BenchmarkFullDatagram builds and reads a default 1,400-byte datagram
// packed with Member records (24 of them, 1,388 bytes). Read decodes each
// record with ParseMember into a variable; ReadDecode decodes each into a
// slice element with Member.Decode, as a table merge would.
func BenchmarkFullDatagram(b *testing.B) {
	members := randomMembers(64, 1)
	buf := make([]byte, 0, codec.DefaultDatagramSize)
	var bl codec.Builder
	full := fullMembers(&bl, make([]byte, 0, codec.DefaultDatagramSize), members)
	b.Run("Build", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(full)))
		for b.Loop() {
			sinkBytes = fullMembers(&bl, buf, members)
		}
	})
	b.Run("Read", func(b *testing.B) {
		var r codec.Reader
		b.ReportAllocs()
		b.SetBytes(int64(len(full)))
		for b.Loop() {
			sinkInt, sinkErr = readMembers(&r, full)
		}
	})
	b.Run("ReadDecode", func(b *testing.B) {
		var r codec.Reader
		b.ReportAllocs()
		b.SetBytes(int64(len(full)))
		for b.Loop() {
			sinkInt, sinkErr = readMembersInto(&r, full, sinkMembers)
		}
	})
	b.Run("Validate", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(full)))
		for b.Loop() {
			sinkErr = codec.Validate(full)
		}
	})
}

// sealable returns a plain datagram of DefaultDatagramSize-SealOverhead
// bytes, which seals to exactly DefaultDatagramSize bytes.
func sealable() []byte {
	h := testHeader(codec.MsgShardData)
	n := codec.DefaultDatagramSize - codec.SealOverhead - codec.HeaderSize
	h.Length = uint16(n)
	d := h.Append(nil)
	for i := range n {
		d = append(d, byte(i))
	}
	return d
}

// BenchmarkSeal seals and opens a datagram that is 1,400 bytes sealed.
func BenchmarkSeal(b *testing.B) {
	plain := sealable()
	out := make([]byte, 0, codec.DefaultDatagramSize)
	for _, key := range []struct {
		name string
		key  []byte
	}{{"AES128", key16}, {"AES256", key32}} {
		k := mustKeyring(b, key.key)
		sealed, _ := codec.Seal(nil, plain, k)
		b.Run("Seal/"+key.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(sealed)))
			for b.Loop() {
				sinkBytes, sinkErr = codec.Seal(out[:0], plain, k)
			}
		})
		b.Run("Open/"+key.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(sealed)))
			for b.Loop() {
				sinkBytes, sinkErr = codec.Open(out[:0], sealed, k)
			}
			if sinkErr != nil {
				b.Fatal(sinkErr)
			}
		})
	}
	k := mustKeyring(b, key32)
	sealed, _ := codec.Seal(nil, plain, k)
	other := mustKeyring(b, key16)
	b.Run("Open/UnknownKey", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			sinkBytes, sinkErr = codec.Open(out[:0], sealed, other)
		}
	})
	tampered := append([]byte(nil), sealed...)
	tampered[100] ^= 1
	b.Run("Open/Tampered", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			sinkBytes, sinkErr = codec.Open(out[:0], tampered, k)
		}
	})
}
