package engine_test

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"net/netip"

	"github.com/hearsay-io/hearsay/codec"
	"github.com/hearsay-io/hearsay/codec/bulk"
	"github.com/hearsay-io/hearsay/engine"
)

// The flood's hostile datagrams: how the attacker builds each class, and
// the outcome it predicts for each at the node that receives it.

// seal seals a plain datagram with the cluster's key when it has one, for
// no receiver in particular (codec.Seal): a node opens it only as a first
// contact (a Join or Sync), so it serves datagrams refused before they are
// opened, or meant to fail to open.
func (a *attacker) seal(plain []byte) []byte { return a.sealFor(plain, 0) }

// sealFor seals a plain datagram with the cluster's key when it has one,
// for the member with the given ID (codec.SealFor).
func (a *attacker) sealFor(plain []byte, id engine.ID) []byte {
	if a.kr == nil {
		return plain
	}
	b, err := codec.SealFor(nil, plain, a.kr, uint64(id))
	if err != nil {
		panic(err)
	}
	return b
}

// sealTo seals a plain datagram for the node at to.
func (a *attacker) sealTo(plain []byte, to netip.AddrPort) []byte {
	for i, t := range a.targets {
		if t == to {
			return a.sealFor(plain, a.ids[i])
		}
	}
	panic(fmt.Sprintf("no node at %v", to))
}

// insider returns a template for a plain datagram of this cluster, sealed
// with the cluster's key when it has one, and sealed afresh at each send.
func (a *attacker) insider(plain []byte, out outcome) template {
	tp := template{b: a.seal(plain), out: out}
	if a.kr != nil {
		tp.plain = plain
	}
	return tp
}

// bytesOf returns the bytes to send for tp to the member id: its plain form
// sealed for id with a new sequence number into scratch, when it has one,
// else tp.b.
func (a *attacker) bytesOf(tp template, scratch []byte, id engine.ID) []byte {
	if tp.plain == nil {
		return tp.b
	}
	a.plainBuf = append(a.plainBuf[:0], tp.plain...)
	codec.HeaderView(a.plainBuf).SetSeq(a.seq.Add(1))
	b, err := codec.SealFor(scratch[:0], a.plainBuf, a.kr, uint64(id))
	if err != nil {
		panic(err)
	}
	return padded(b, tp.pad)
}

// padded returns b extended with zero bytes to n bytes, in place when its
// capacity allows. Receivers ignore bytes after a datagram's body, but
// count them in its size.
func padded(b []byte, n int) []byte {
	for len(b) < n {
		b = append(b, 0)
	}
	return b
}

// header returns a header of type t from sender, with the attacker's next
// sequence number: a sealed cluster refuses a sender's sequence number it
// saw, or one that falls behind the ones it saw by more than its window.
func (a *attacker) header(t codec.MsgType, sender uint64, cluster uint64) codec.Header {
	return codec.Header{Type: t, Cluster: cluster, Sender: sender, Generation: 1, Seq: a.seq.Add(1)}
}

// fakeID returns a random member ID that no node has.
func (a *attacker) fakeID() uint64 {
	for {
		id := a.rng.Uint64()
		if _, real := a.index[engine.ID(id)]; id != 0 && !real {
			return id
		}
	}
}

// fakeAddr returns a loopback address nobody listens on, for forged
// members: what the cluster sends them goes nowhere.
func (a *attacker) fakeAddr() netip.AddrPort {
	ip := netip.AddrFrom4([4]byte{127, 66, byte(a.rng.Uint32()), byte(1 + a.rng.IntN(254))})
	return netip.AddrPortFrom(ip, uint16(1024+a.rng.IntN(60000)))
}

// membersDatagram builds a plain gossip datagram from sender of at most
// limit bytes holding as many Member records as fit, each announcing a new
// random member.
func (a *attacker) membersDatagram(sender, cluster uint64, limit int) []byte {
	var bld codec.Builder
	bld.Reset(make([]byte, 0, limit), limit, a.header(codec.MsgGossip, sender, cluster))
	for {
		id := a.fakeID()
		m := codec.Member{ID: id, Generation: 1, State: codec.StateAlive, Addr: a.fakeAddr()}
		if !bld.AddMember(&m) {
			break
		}
		a.forged = append(a.forged, id)
	}
	return bld.Finish()
}

// stateDatagram builds a plain gossip datagram holding as many State
// records as fit: entries of unknown owners, and many distinct keys of
// forged members, more than MaxStateKeys allows one member.
func (a *attacker) stateDatagram() []byte {
	var bld codec.Builder
	bld.Reset(make([]byte, 0, a.limit), a.limit, a.header(codec.MsgGossip, a.fakeID(), a.cluster))
	value := a.noise[:codec.MaxValueSize]
	for i := 0; ; i++ {
		owner := a.fakeID()
		if i%2 == 0 && len(a.forged) > 0 {
			owner = a.forged[a.rng.IntN(min(len(a.forged), 256))]
		}
		e := codec.StateEntry{Owner: owner, Generation: 1, Version: 1 + a.rng.Uint64N(1000),
			Key: fmt.Appendf(nil, "k%d", a.rng.IntN(100)), Value: value}
		if !bld.AddState(&e) {
			break
		}
	}
	return bld.Finish()
}

// probeSize is the size on the wire of a datagram holding one Ping, Ack or
// Nack, as a node computes it.
func (a *attacker) probeSize() int {
	return a.limitOnWire() - a.limit + codec.HeaderSize + codec.SectionHeaderSize + codec.PingSize
}

// requestDatagram builds a plain request from a forged sender: the
// cluster answers it to the attacker.
func (a *attacker) requestDatagram(kind int) []byte {
	sender := a.fakeID()
	var bld codec.Builder
	switch kind % 6 {
	case 0:
		bld.Reset(make([]byte, 0, a.limit), a.limit, a.header(codec.MsgShardRequest, sender, a.cluster))
		for range 64 {
			bld.AddShardRef(codec.ShardRef{Shard: uint32(a.rng.IntN(256))})
		}
	case 1:
		bld.Reset(make([]byte, 0, a.limit), a.limit, a.header(codec.MsgPing, sender, a.cluster))
		bld.AddPing(codec.Ping{Seq: a.rng.Uint32(), Target: uint64(a.ids[a.rng.IntN(len(a.ids))])})
	case 2, 5: // see requestTemplate for the padding of kind 5
		bld.Reset(make([]byte, 0, a.limit), a.limit, a.header(codec.MsgPingReq, sender, a.cluster))
		i := a.rng.IntN(len(a.ids))
		bld.AddPingReq(codec.PingReq{Seq: a.rng.Uint32(), Target: uint64(a.ids[i]), Addr: a.targets[i]})
	case 3:
		bld.Reset(make([]byte, 0, a.limit), a.limit, a.header(codec.MsgJoin, sender, a.cluster))
		m := codec.Member{ID: sender, Generation: 1, State: codec.StateAlive, Addr: a.fakeAddr()}
		bld.AddMember(&m)
	default:
		bld.Reset(make([]byte, 0, a.limit), a.limit, a.header(codec.MsgSync, sender, a.cluster))
		bld.AddDigest(codec.Digest{Count: uint32(a.rng.IntN(1000)), Sum: a.rng.Uint64()})
	}
	return bld.Finish()
}

// requestTemplate returns a template for requestDatagram(kind). A ping-req
// of kind 5 is padded as a node pads its own, so that a helper relays it:
// its size pays for the relayed ping and the answer.
func (a *attacker) requestTemplate(kind int) template {
	tp := a.insider(a.requestDatagram(kind), outAccepted)
	if kind%6 == 5 {
		tp.pad = 2 * a.probeSize()
		tp.b = padded(tp.b, tp.pad)
	}
	return tp
}

// implausibleDatagram builds a plain gossip datagram whose header carries
// an incarnation or a generation no member can honestly have: the
// incarnation's maximum (it could not be refuted), the generation's, or a
// generation centuries ahead of any clock.
func (a *attacker) implausibleDatagram(kind int) []byte {
	h := a.header(codec.MsgGossip, a.fakeID(), a.cluster)
	switch kind % 3 {
	case 0:
		h.Incarnation = math.MaxUint32
	case 1:
		h.Generation = math.MaxUint64
	default:
		h.Generation = 1<<63 + a.rng.Uint64N(1<<62)
	}
	var bld codec.Builder
	bld.Reset(make([]byte, 0, a.limit), a.limit, h)
	for range 4 {
		m := codec.Member{ID: a.fakeID(), Generation: 1, State: codec.StateAlive, Addr: a.fakeAddr()}
		bld.AddMember(&m)
	}
	return bld.Finish()
}

// bomb builds a plain compressed datagram of type t from sender whose
// block declares a 1 MiB body.
func (a *attacker) bomb(t codec.MsgType, sender uint64) []byte {
	h := a.header(t, sender, a.cluster)
	h.Flags = codec.FlagCompressed
	body := binary.AppendUvarint(nil, 1<<20)
	body = append(body, a.noise[:32]...)
	h.Sections, h.Length = 1, uint16(len(body))
	return append(h.Append(nil), body...)
}

// compressedDatagram builds a compressed datagram of this cluster: a bomb,
// or a real body compressed, of shard data or of another type. A node
// refuses all of them before decompressing: shard data because it asked
// the sender for none, the rest because only shard data is compressed.
func (a *attacker) compressedDatagram(kind int) template {
	var plain []byte
	switch kind % 4 {
	case 0:
		t := codec.MsgType(1 + a.rng.IntN(int(codec.MsgRetry)))
		if t == codec.MsgShardData {
			t = codec.MsgGossip
		}
		return a.insider(a.bomb(t, a.fakeID()), outCompressed)
	case 1:
		plain = a.membersDatagram(a.fakeID(), a.cluster, a.limit/2)
	case 2:
		return a.insider(a.bomb(codec.MsgShardData, a.fakeID()), outUnsolicited)
	default:
		var bld codec.Builder
		bld.Reset(make([]byte, 0, a.limit/2), a.limit/2, a.header(codec.MsgShardData, a.fakeID(), a.cluster))
		bld.AddShardRef(codec.ShardRef{Shard: uint32(a.rng.IntN(256)), Count: 1000})
		for {
			m := codec.Member{ID: a.fakeID(), Generation: 1, State: codec.StateAlive, Addr: a.fakeAddr()}
			if !bld.AddMember(&m) {
				break
			}
		}
		plain = bld.Finish()
	}
	z, err := bulk.CompressDatagram(nil, plain)
	if err != nil || len(z) > a.limit {
		panic(fmt.Sprintf("compressing %d bytes: %d bytes, %v", len(plain), len(z), err))
	}
	out := outCompressed
	if codec.MsgType(plain[3]) == codec.MsgShardData {
		out = outUnsolicited
	}
	return a.insider(z, out)
}

// garbageDatagram builds a datagram of this cluster whose body or header
// is bad in one of several ways, sealed with the cluster's key when it has
// one, and says how the node must count it. The codec's own validator
// decides the outcome of random bodies; garbageDatagram draws again when a
// random body turns out valid, so that every garbage datagram is refused.
func (a *attacker) garbageDatagram(kind int) template {
	for {
		if tp := a.garbage(kind); tp.out != outAccepted {
			return tp
		}
	}
}

func (a *attacker) garbage(kind int) template {
	h := a.header(codec.MsgType(1+a.rng.IntN(int(codec.MsgRetry))), a.fakeID(), a.cluster)
	body := make([]byte, 0, a.limit)
	var sections int
	switch kind % 9 {
	case 0, 1: // random sections
		sections = 1 + a.rng.IntN(8)
		n := a.rng.IntN(a.limit - codec.HeaderSize)
		off := a.rng.IntN(len(a.noise) - n)
		body = append(body, a.noise[off:off+n]...)
		if len(body) > 0 && a.rng.IntN(2) == 0 {
			body[0] = byte(1 + a.rng.IntN(int(codec.RecRetry))) // a known record type
		}
	case 2: // a known record type with records too small
		sections = 1
		body = append(body, byte(codec.RecMember), 8, 0, 1)
		body = append(body, a.noise[:8]...)
	case 3: // records past the end of the body
		sections = 1
		body = append(body, byte(codec.RecState), codec.StateSize, 0, 200)
		body = append(body, a.noise[:codec.StateSize]...)
	case 4: // member records with a state out of range
		var bld codec.Builder
		bld.Reset(make([]byte, 0, a.limit), a.limit, h)
		m := codec.Member{ID: a.fakeID(), Generation: 1, State: codec.StateAlive, Addr: a.fakeAddr()}
		for bld.AddMember(&m) {
		}
		b := bld.Finish()
		b[codec.HeaderSize+codec.SectionHeaderSize+20] = byte(5 + a.rng.IntN(250))
		return a.classify(b)
	case 5: // a state entry whose key length is over MaxKeySize
		var bld codec.Builder
		bld.Reset(make([]byte, 0, a.limit), a.limit, h)
		e := codec.StateEntry{Owner: a.fakeID(), Generation: 1, Version: 1, Key: []byte("k"), Value: []byte("v")}
		bld.AddState(&e)
		b := bld.Finish()
		b[codec.HeaderSize+codec.SectionHeaderSize+25] = byte(codec.MaxKeySize + 1 + a.rng.IntN(200))
		return a.classify(b)
	case 6: // a compression bomb: declares a 1 MiB body; only shard data is compressed
		out := outCompressed
		if h.Type == codec.MsgShardData {
			out = outUnsolicited // from an address the node asked nothing
		}
		return a.insider(a.bomb(h.Type, h.Sender), out)
	case 7: // a valid datagram with an unknown flag bit or version 0
		b := a.seal(a.membersDatagram(a.fakeID(), a.cluster, a.limit))
		if a.rng.IntN(2) == 0 {
			b[4] |= 0x80 // the flags byte
			return template{b: b, out: outMalformed}
		}
		b[2] = 0 // the version byte
		return template{b: b, out: outForeign}
	default: // a valid datagram of a message type this version does not define
		b := a.membersDatagram(a.fakeID(), a.cluster, a.limit/4)
		b[3] = byte(codec.MsgUser + 1 + codec.MsgType(a.rng.IntN(numSocks-1-int(codec.MsgUser))))
		return a.insider(b, outUnknownType)
	}
	h.Sections, h.Length = uint8(sections), uint16(len(body))
	return a.classify(append(h.Append(nil), body...))
}

// classify returns a template for a plain datagram of this cluster with
// the outcome the codec's validator predicts for it.
func (a *attacker) classify(plain []byte) template {
	out := outAccepted
	switch err := codec.Validate(plain); {
	case err == nil:
	case errors.Is(err, codec.ErrTruncated):
		out = outTruncated
	case errors.Is(err, codec.ErrMagic), errors.Is(err, codec.ErrVersion):
		out = outForeign
	case errors.Is(err, codec.ErrTooLarge):
		out = outTooLarge
	default:
		out = outMalformed
	}
	return a.insider(plain, out)
}

// replayOutcome predicts how a node other than its sender counts a
// captured datagram of the cluster replayed to it: compressed ones are
// refused as any compressed datagram from the attacker is; a sealed
// cluster refuses the others because they were sealed for the attacker's
// member, not for the node (codec.SealFor), an open one accepts them.
func (a *attacker) replayOutcome(b []byte) outcome {
	hv, err := codec.NewHeaderView(b)
	switch {
	case err != nil:
		panic(fmt.Sprintf("captured an invalid datagram: %v", err))
	case hv.Flags()&codec.FlagCompressed != 0 && hv.Type() != codec.MsgShardData:
		return outCompressed
	case hv.Flags()&codec.FlagCompressed != 0:
		return outUnsolicited
	case a.keyed:
		return outAuth
	}
	return outAccepted
}
