package engine_test

import (
	"math/rand/v2"
	"net/netip"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hearsay-io/hearsay/codec"
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
const numSocks = 17

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
	m.Buf = a.bytesOf(tp, scratch, a.ids[ti])
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
