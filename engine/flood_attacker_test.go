package engine_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"net/netip"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hearsay-io/hearsay/codec"
	"github.com/hearsay-io/hearsay/codec/bulk"
	"github.com/hearsay-io/hearsay/engine"
	"github.com/hearsay-io/hearsay/netio"
)

// outcome is the counter that must count a hostile datagram at the node
// that receives it.
type outcome uint8

const (
	outTruncated   outcome = iota // Stats.DropTruncated
	outForeign                    // Stats.DropForeign: not Hearsay's magic or version
	outMalformed                  // Stats.DropMalformed
	outCluster                    // Stats.DropCluster
	outSealed                     // Stats.DropSealed: sealed, to an open node
	outUnsealed                   // Stats.DropUnsealed: plain, to a sealed node
	outUnknownKey                 // Stats.DropUnknownKey
	outAuth                       // Stats.DropAuth
	outTooLarge                   // Stats.DropTooLarge: decompresses past the bound (only shard data a node asked for gets there)
	outSelf                       // Stats.DropSelf: claims the receiver's own ID
	outUnknownType                // Stats.DropUnknownType: a message type of a later version
	outCompressed                 // Stats.DropCompressed: compressed, of a type that carries no bulk state
	outReplay                     // Stats.DropReplay: sealed, and seen before (sealed clusters)
	outImplausible                // Stats.RefusedImplausible: a header whose counters cannot be honest
	outUnsolicited                // Stats.DropUnsolicited: compressed shard data the node did not ask the sender for
	outNetTooLarge                // Transport.DropTooLarge: over the node's datagram size
	outAccepted                   // parsed and handled: Stats.In by message type
	numOutcomes
)

var outcomeNames = [numOutcomes]string{
	"truncated", "foreign", "malformed", "cluster", "sealed", "unsealed",
	"unknown key", "auth", "too large (decompressed)", "self", "unknown type", "compressed",
	"replay", "implausible", "unsolicited (compressed)", "too large (socket)", "accepted",
}

// count returns the counter of s that outcome o moves.
//
// Two counters count both whole datagrams, before a node accepts them, and
// parts of datagrams it accepted: RefusedImplausible (headers, and records
// of accepted datagrams) and DropUnsolicited (compressed shard data, and
// shard data, replies and Retries that an accepted datagram turned out not
// to answer). The flood sends no accepted datagram with implausible
// records, so RefusedImplausible counts only its whole datagrams (a
// record-level refusal would show as a count over what was sent). The
// whole datagrams DropUnsolicited counts are the ones no other counter
// counts: outUnsolicited counts them as what is left of DatagramsIn, and
// the flood checks that they are what it sent and that DropUnsolicited
// covers them.
func (o outcome) count(s *engine.NodeStats) uint64 {
	switch o {
	case outTruncated:
		return s.DropTruncated
	case outForeign:
		return s.DropForeign
	case outMalformed:
		return s.DropMalformed
	case outCluster:
		return s.DropCluster
	case outSealed:
		return s.DropSealed
	case outUnsealed:
		return s.DropUnsealed
	case outUnknownKey:
		return s.DropUnknownKey
	case outAuth:
		return s.DropAuth
	case outTooLarge:
		return s.DropTooLarge
	case outSelf:
		return s.DropSelf
	case outUnknownType:
		return s.DropUnknownType
	case outCompressed:
		return s.DropCompressed
	case outReplay:
		return s.DropReplay
	case outImplausible:
		return s.RefusedImplausible
	case outUnsolicited:
		return s.DatagramsIn - exclusive(s)
	case outNetTooLarge:
		return s.Transport.DropTooLarge
	default:
		var n uint64
		for _, v := range s.In {
			n += v
		}
		return n
	}
}

// exclusive returns the sum of the counters that each count a datagram a
// core read once and nothing else: one drop cause each, or accepted by
// message type. What DatagramsIn holds beyond it is compressed shard data
// nobody asked for (outUnsolicited).
func exclusive(s *engine.NodeStats) uint64 {
	var n uint64
	for o := range outUnsolicited {
		n += o.count(s)
	}
	return n + outAccepted.count(s)
}

// class is a kind of hostile datagram.
type class uint8

const (
	clRandom      class = iota // random bytes of random length, 0 to 1,500, not starting with the magic
	clTruncated                // proper prefixes of valid datagrams, captured or forged
	clGarbage                  // a valid header over garbage records, bad flags or version, a later message type
	clCompressed               // compressed datagrams: bombs and real bodies, of shard data and of other types
	clForeign                  // valid datagrams of another cluster (sealed with this cluster's key when keyed)
	clWrongKey                 // valid datagrams sealed with a key the cluster does not hold
	clBadTag                   // sealed datagrams altered after sealing
	clUnsealed                 // valid plain datagrams (to a sealed cluster)
	clReplay                   // the cluster's own datagrams, captured and replayed
	clImplausible              // forged gossip whose header carries an incarnation or generation no member can honestly have
	clMembers                  // forged gossip: the most Member records a datagram holds, random IDs
	clState                    // forged gossip: the most State records, over the per-member bounds or of unknown owners
	clRequests                 // forged requests: shard requests, pings, ping-reqs (padded or not), joins, syncs
	numClasses
)

var classNames = [numClasses]string{
	"random bytes", "truncated", "garbage records", "compressed", "foreign cluster", "wrong key",
	"altered after sealing", "unsealed", "replayed", "implausible", "forged members", "forged state", "forged requests",
}

// classWeights are the shares of each class in the flood, per thousand.
var classWeights = [numClasses]int{190, 110, 130, 40, 80, 70, 70, 70, 120, 20, 40, 40, 20}

// numSocks is the number of the flood's sockets: one per message type a
// datagram can declare (0 for datagrams without a Hearsay header).
const numSocks = 16

// declared returns the message type a datagram declares in its header,
// which names the flood socket that sends it, or 0 when it has none.
func declared(b []byte) int {
	if len(b) > 3 && b[0] == 'H' && b[1] == 'S' && b[3] < numSocks {
		return int(b[3])
	}
	return 0
}

// template is a prepared datagram and the counter it must move.
type template struct {
	b []byte
	// plain, when set, is the plain form of an insider's sealed datagram:
	// it is sealed afresh with a new sequence number each time it is
	// sent, so that it reaches the checks past the replay window.
	plain []byte
	pad   int // the least size on the wire: zero bytes after the datagram (a padded ping-req)
	out   outcome
}

// attacker is the hostile sender. It impersonates a member from one UDP
// socket (conn), which joins the cluster, captures what the cluster sends
// it and answers its pings while told to; and it floods from one socket per
// declared message type (socks), so that whatever the cluster sends back
// to a socket is the reflection of that type.
//
// Against a sealed cluster it plays two parts. As an outsider it sends
// what anyone on the network can: noise, truncations and replays of sealed
// datagrams it captured, datagrams sealed with other keys or altered, plain
// ones, another cluster's. As an insider holding the cluster's key (a
// compromised member) it seals garbage records, bombs and forged records
// so that they reach the parser and the bounds. Against an open cluster
// everyone is an insider.
type attacker struct {
	conn    *netio.UDP
	socks   [numSocks]*netio.UDP
	rng     *rand.Rand
	keyed   bool
	cluster uint64
	kr      *codec.Keyring // the cluster's key (an insider's), nil for an open cluster
	wrong   *codec.Keyring // a key the cluster does not hold
	limit   int            // plain datagram size so that sealed ones fit
	levels  int            // digest tree levels: a digest at this level names a shard
	targets []netip.AddrPort
	ids     []engine.ID
	index   map[engine.ID]int
	self    uint64        // the member conn impersonates
	seq     atomic.Uint32 // the last sequence number the attacker wrote

	noise     []byte // random bytes
	plainBuf  []byte // scratch for sealing templates afresh
	templates [numClasses][]template
	forged    []uint64 // IDs announced by forged member records

	sentClass [numClasses]uint64
	sentOut   [numOutcomes]uint64
	sentBytes [numSocks]uint64 // by flood socket
	sentN     [numSocks]uint64

	// Filled by the reader goroutines.
	mu        sync.Mutex
	capture   bool
	captured  [][]byte
	byType    map[codec.MsgType]int
	tokens    map[netip.AddrPort]codec.Echo // the last token each node gave conn
	answer    atomic.Bool                   // answer pings to self
	got       [numSocks]atomic.Uint64       // datagrams to conn, by type
	received  atomic.Uint64                 // datagrams to conn
	backBytes [numSocks]atomic.Uint64       // bytes to each flood socket
	backN     [numSocks]atomic.Uint64
	readers   sync.WaitGroup
}

func newAttacker(t testing.TB, nodes []*engine.Node, cfg engine.Config, seed uint64) *attacker {
	t.Helper()
	conn, err := netio.ListenUDP(netip.MustParseAddrPort("127.0.0.1:0"), netio.UDPOptions{MaxDatagram: 2048, BatchSize: 64})
	if err != nil {
		t.Fatal(err)
	}
	shardBits := cfg.ShardBits
	if shardBits == 0 {
		shardBits = engine.DefaultLANConfig().ShardBits
	}
	a := &attacker{
		conn:    conn,
		rng:     rand.New(rand.NewPCG(seed, 0x600d)),
		keyed:   len(cfg.Keys) > 0,
		cluster: codec.ClusterID(cfg.ClusterName),
		limit:   cfg.MaxDatagramSize,
		levels:  shardBits / 4,
		index:   map[engine.ID]int{},
		byType:  map[codec.MsgType]int{},
		tokens:  map[netip.AddrPort]codec.Echo{},
	}
	if a.keyed {
		a.kr, _ = codec.NewKeyring(cfg.Keys[0])
		a.limit -= codec.SealOverhead
	}
	a.wrong, _ = codec.NewKeyring(key(0xee))
	for i, nd := range nodes {
		a.targets = append(a.targets, nd.Addr())
		a.ids = append(a.ids, nd.ID())
		a.index[nd.ID()] = i
	}
	a.self = a.fakeID()
	a.noise = make([]byte, 64<<10)
	for i := range a.noise {
		a.noise[i] = byte(a.rng.Uint32())
	}
	a.readers.Go(a.read)
	t.Cleanup(func() {
		a.conn.Close()
		for _, s := range a.socks {
			if s != nil {
				s.Close()
			}
		}
		a.readers.Wait()
	})
	return a
}

// listenFlood opens the flood's sockets.
func (a *attacker) listenFlood(t testing.TB) {
	t.Helper()
	for i := range a.socks {
		s, err := netio.ListenUDP(netip.MustParseAddrPort("127.0.0.1:0"), netio.UDPOptions{MaxDatagram: 2048, BatchSize: 64})
		if err != nil {
			t.Fatal(err)
		}
		a.socks[i] = s
		a.readers.Go(func() { a.readBack(i) })
	}
}

// readBack counts what the cluster sends to flood socket i.
func (a *attacker) readBack(i int) {
	msgs := netio.NewMessages(64, 2048)
	for {
		n, err := a.socks[i].ReadBatch(msgs)
		if err != nil {
			return
		}
		for _, m := range msgs[:n] {
			a.backBytes[i].Add(uint64(m.N))
		}
		a.backN[i].Add(uint64(n))
	}
}

// read handles what the cluster sends to the impersonated member.
func (a *attacker) read() {
	msgs := netio.NewMessages(64, 2048)
	open := make([]byte, 0, 2048)
	for {
		n, err := a.conn.ReadBatch(msgs)
		if err != nil {
			return
		}
		a.received.Add(uint64(n))
		for _, m := range msgs[:n] {
			open = a.look(m.Addr, m.Buf[:m.N], open)
		}
	}
}

// look handles one datagram to the impersonated member: it keeps a copy
// while capturing, keeps the token of a Retry, answers a ping to self while
// told to, and counts the datagram by type. It returns the scratch buffer
// it opened sealed datagrams in.
func (a *attacker) look(from netip.AddrPort, b, open []byte) []byte {
	hv, err := codec.NewHeaderView(b)
	if err != nil {
		return open
	}
	t := hv.Type()
	a.mu.Lock()
	if a.capture && a.byType[t] < 64 {
		a.byType[t]++
		a.captured = append(a.captured, bytes.Clone(b))
	}
	a.mu.Unlock()
	defer func() {
		if int(t) < numSocks {
			a.got[t].Add(1)
		}
	}()
	plain := b
	if a.kr != nil {
		p, err := codec.Open(open[:0], b, a.kr)
		if err != nil {
			return open
		}
		plain, open = p, p[:0]
	}
	h, body, err := codec.Parse(plain)
	if err != nil {
		return open // compressed: nothing the attacker reads
	}
	var rd codec.Reader
	rd.Reset(int(h.Sections), body)
	for rd.Next() {
		for i := range rd.Count() {
			switch rd.Type() {
			case codec.RecRetry:
				if r, _, err := codec.ParseRetry(rd.Record(i)); err == nil && r.Token != 0 {
					a.mu.Lock()
					a.tokens[from] = codec.Echo{Token: r.Token, Epoch: r.Epoch}
					a.mu.Unlock()
				}
			case codec.RecPing:
				if p, _, err := codec.ParsePing(rd.Record(i)); err == nil && p.Target == a.self && a.answer.Load() {
					a.ack(from, p.Seq)
				}
			}
		}
	}
	return open
}

// ack answers a ping to self.
func (a *attacker) ack(to netip.AddrPort, seq uint32) {
	var bld codec.Builder
	bld.Reset(make([]byte, 0, 128), 128, a.header(codec.MsgAck, a.self, a.cluster))
	bld.AddAck(codec.Ack{Seq: seq, Target: a.self})
	a.conn.WriteBatch([]netio.Message{{Addr: to, Buf: a.seal(bld.Finish())}})
}

// seal seals a plain datagram with the cluster's key when it has one.
func (a *attacker) seal(plain []byte) []byte {
	if a.kr == nil {
		return plain
	}
	b, err := codec.Seal(nil, plain, a.kr)
	if err != nil {
		panic(err)
	}
	return b
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

// bytesOf returns the bytes to send for tp: its plain form sealed with a
// new sequence number into scratch, when it has one, else tp.b.
func (a *attacker) bytesOf(tp template, scratch []byte) []byte {
	if tp.plain == nil {
		return tp.b
	}
	a.plainBuf = append(a.plainBuf[:0], tp.plain...)
	codec.HeaderView(a.plainBuf).SetSeq(a.seq.Add(1))
	b, err := codec.Seal(scratch[:0], a.plainBuf, a.kr)
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
		b[3] = byte(codec.MsgRetry + 1 + codec.MsgType(a.rng.IntN(numSocks-1-int(codec.MsgRetry))))
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
// cluster refuses the others as replays (see prime), an open one accepts
// them.
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
		return outReplay
	}
	return outAccepted
}

// impersonate makes the cluster talk to the attacker, so that it can
// capture real traffic to replay: it joins as a member at its own address
// (echoing the token of the Retry its first Join gets) and answers the
// pings it is sent, so that the cluster sends it heartbeats, probes and
// gossip; and it sends requests that the cluster answers. It needs the
// cluster's key when the cluster has one. When it returns, the attacker no
// longer answers pings: the cluster declares the member dead in time.
func (a *attacker) impersonate(t testing.TB, beats int, d time.Duration) {
	t.Helper()
	a.mu.Lock()
	a.capture = true
	a.mu.Unlock()
	a.answer.Store(true)
	defer a.answer.Store(false)
	start := time.Now()
	targets := a.targets[:min(5, len(a.targets))]
	a.join(t, targets, d)
	var msgs []netio.Message
	for i, to := range targets {
		msgs = append(msgs, netio.Message{Addr: to, Buf: a.seal(a.requestDatagram(i))})
	}
	if _, err := a.conn.WriteBatch(msgs); err != nil {
		t.Fatal(err)
	}
	for {
		a.mu.Lock()
		hb, total := a.byType[codec.MsgHeartbeat], len(a.captured)
		a.mu.Unlock()
		if hb >= beats && total >= 32 || time.Since(start) > d {
			break
		}
		<-time.After(10 * time.Millisecond) // polling interval, bounded by d
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	a.capture = false
	if len(a.captured) == 0 {
		t.Fatalf("captured no datagram of the cluster in %v", d)
	}
	var kinds []string
	for mt := range codec.MsgType(numSocks) {
		if n := a.byType[mt]; n > 0 {
			kinds = append(kinds, fmt.Sprintf("%v %d", mt, n))
		}
	}
	t.Logf("captured %d datagrams of the cluster in %v: %s",
		len(a.captured), time.Since(start).Round(time.Millisecond), strings.Join(kinds, ", "))
}

// prepare builds the datagrams of every class.
func (a *attacker) prepare() {
	const variants = 256
	// A sealed cluster refuses plain datagrams, datagrams sealed with
	// another key and altered ones; an open cluster accepts plain ones and
	// refuses every sealed one.
	unsealed, wrongKey, badTag := outUnsealed, outUnknownKey, outAuth
	if !a.keyed {
		unsealed, wrongKey, badTag = outAccepted, outSealed, outSealed
	}
	for i := range variants {
		members := a.membersDatagram(a.fakeID(), a.cluster, a.limit)
		a.templates[clMembers] = append(a.templates[clMembers], a.insider(members, outAccepted))
		a.templates[clUnsealed] = append(a.templates[clUnsealed], template{b: members, out: unsealed})
		foreign := a.membersDatagram(a.fakeID(), codec.ClusterID("intruders"), a.limit)
		a.templates[clForeign] = append(a.templates[clForeign], template{b: a.seal(foreign), out: outCluster})
		// Sealed datagrams must fit the nodes' datagram size too.
		w, err := codec.Seal(nil, a.membersDatagram(a.fakeID(), a.cluster, a.limitOnWire()-codec.SealOverhead), a.wrong)
		if err != nil {
			panic(err)
		}
		a.templates[clWrongKey] = append(a.templates[clWrongKey], template{b: w, out: wrongKey})
		sealed := w // an open cluster refuses any sealed datagram
		if a.kr != nil {
			sealed = a.seal(members)
		}
		a.templates[clBadTag] = append(a.templates[clBadTag], template{b: sealed, out: badTag})
		a.templates[clState] = append(a.templates[clState], a.insider(a.stateDatagram(), outAccepted))
		a.templates[clRequests] = append(a.templates[clRequests], a.requestTemplate(i))
		a.templates[clImplausible] = append(a.templates[clImplausible], a.insider(a.implausibleDatagram(i), outImplausible))
		a.templates[clCompressed] = append(a.templates[clCompressed], a.compressedDatagram(i))
		for range 4 {
			a.templates[clGarbage] = append(a.templates[clGarbage], a.garbageDatagram(a.rng.IntN(9)))
		}
	}
	for _, b := range a.captured {
		a.templates[clReplay] = append(a.templates[clReplay], template{b: b, out: a.replayOutcome(b)})
	}
	a.templates[clTruncated] = append(a.templates[clTruncated], a.templates[clReplay]...)
	a.templates[clTruncated] = append(a.templates[clTruncated], a.templates[clMembers]...)
}

// next fills m with the next hostile datagram for a random node, using
// scratch when the datagram must be altered or sealed, and returns its
// class and outcome.
func (a *attacker) next(m *netio.Message, scratch []byte) (class, outcome) {
	ti := a.rng.IntN(len(a.targets))
	m.Addr = a.targets[ti]
	w := a.rng.IntN(1000)
	c := class(0)
	for w >= classWeights[c] {
		w -= classWeights[c]
		c++
	}
	switch c {
	case clRandom:
		n := a.rng.IntN(1501)
		off := a.rng.IntN(len(a.noise) - n)
		for n > 0 && a.noise[off] == 'H' {
			off = a.rng.IntN(len(a.noise) - n)
		}
		m.Buf = a.noise[off : off+n]
		switch {
		case n < codec.HeaderSize:
			return c, outTruncated
		case n > a.limitOnWire():
			return c, outNetTooLarge
		}
		return c, outForeign
	case clTruncated:
		tp := a.pick(c)
		m.Buf = tp.b[:a.rng.IntN(len(tp.b))]
		return c, outTruncated
	case clBadTag:
		tp := a.pick(c)
		b := append(scratch[:0], tp.b...)
		b[codec.HeaderSize+4+a.rng.IntN(len(b)-codec.HeaderSize-4)] ^= byte(1 + a.rng.IntN(255))
		m.Buf = b
		return c, tp.out
	case clReplay:
		tp := a.pick(c)
		m.Buf = tp.b
		if hv, err := codec.NewHeaderView(tp.b); err == nil && engine.ID(hv.Sender()) == a.ids[ti] &&
			(tp.out == outReplay || tp.out == outAccepted) {
			return c, outSelf
		}
		return c, tp.out
	}
	tp := a.pick(c)
	m.Buf = a.bytesOf(tp, scratch)
	return c, tp.out
}

// limitOnWire is the largest datagram a node reads.
func (a *attacker) limitOnWire() int {
	if a.keyed {
		return a.limit + codec.SealOverhead
	}
	return a.limit
}

func (a *attacker) pick(c class) template {
	ts := a.templates[c]
	return ts[a.rng.IntN(len(ts))]
}

// flood sends n datagrams at about rate a second, in batches of 64 split
// over the flood's sockets by declared type, and returns the sending
// goroutine's CPU time and the wall time taken.
func (a *attacker) flood(n, rate int) (cpu, wall time.Duration, err error) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	cpu0, _ := threadCPU()
	start := time.Now()
	const batch = 64
	msgs := make([]netio.Message, batch)
	var bySock [numSocks][]netio.Message
	scratch := make([]byte, batch*2048)
	for sent := 0; sent < n; {
		k := min(batch, n-sent)
		for i := range k {
			c, o := a.next(&msgs[i], scratch[i*2048:(i+1)*2048:(i+1)*2048])
			a.sentClass[c]++
			a.sentOut[o]++
			s := declared(msgs[i].Buf)
			bySock[s] = append(bySock[s], msgs[i])
			a.sentBytes[s] += uint64(len(msgs[i].Buf))
			a.sentN[s]++
		}
		for s, ms := range bySock {
			for len(ms) > 0 {
				w, err := a.socks[s].WriteBatch(ms)
				if err != nil {
					return 0, 0, err
				}
				ms = ms[w:]
			}
			bySock[s] = bySock[s][:0]
		}
		sent += k
		if rate > 0 {
			// Pace: sleep when ahead of schedule.
			if ahead := time.Duration(float64(sent)/float64(rate)*float64(time.Second)) - time.Since(start); ahead > time.Millisecond {
				time.Sleep(ahead)
			}
		}
	}
	cpu1, _ := threadCPU()
	return cpu1 - cpu0, time.Since(start), nil
}
