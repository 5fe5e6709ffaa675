package engine_test

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"runtime"
	"strings"
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
	outTooLarge                   // Stats.DropTooLarge: decompresses past the bound
	outSelf                       // Stats.DropSelf: claims the receiver's own ID
	outNetTooLarge                // Transport.DropTooLarge: over the node's datagram size
	outAccepted                   // parsed and handled: Stats.In by message type
	numOutcomes
)

var outcomeNames = [numOutcomes]string{
	"truncated", "foreign", "malformed", "cluster", "sealed", "unsealed",
	"unknown key", "auth", "too large (decompressed)", "self", "too large (socket)", "accepted",
}

// count returns the counter of s that outcome o moves.
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

// class is a kind of hostile datagram.
type class uint8

const (
	clRandom    class = iota // random bytes of random length, 0 to 1,500, not starting with the magic
	clTruncated              // proper prefixes of valid datagrams, captured or forged
	clGarbage                // a valid header over garbage records, bad flags or version, compression bombs
	clForeign                // valid datagrams of another cluster (sealed with this cluster's key when keyed)
	clWrongKey               // valid datagrams sealed with a key the cluster does not hold
	clBadTag                 // sealed datagrams altered after sealing
	clUnsealed               // valid plain datagrams (to a sealed cluster)
	clReplay                 // the cluster's own datagrams, captured and replayed
	clMembers                // forged gossip: the most Member records a datagram holds, random IDs
	clState                  // forged gossip: the most State records, over the per-member bounds or of unknown owners
	clRequests               // forged requests: shard requests, pings, ping-reqs, joins, syncs
	numClasses
)

var classNames = [numClasses]string{
	"random bytes", "truncated", "garbage records", "foreign cluster", "wrong key", "altered after sealing",
	"unsealed", "replayed", "forged members", "forged state", "forged requests",
}

// classWeights are the shares of each class in the flood, per thousand.
var classWeights = [numClasses]int{200, 120, 150, 80, 80, 80, 80, 120, 40, 40, 10}

// template is a prepared datagram and the counter it must move.
type template struct {
	b   []byte
	out outcome
}

// attacker is the hostile sender: one UDP socket that sends the flood and
// reads whatever the cluster sends back to it.
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
	rng     *rand.Rand
	keyed   bool
	cluster uint64
	kr      *codec.Keyring // the cluster's key (an insider's), nil for an open cluster
	wrong   *codec.Keyring // a key the cluster does not hold
	limit   int            // plain datagram size so that sealed ones fit
	targets []netip.AddrPort
	ids     []engine.ID
	index   map[engine.ID]int

	noise     []byte // random bytes
	templates [numClasses][]template
	forged    []uint64 // IDs announced by forged member records

	sentClass [numClasses]uint64
	sentOut   [numOutcomes]uint64

	// Filled by the reader goroutine.
	mu       sync.Mutex
	capture  bool
	captured [][]byte
	byType   map[codec.MsgType]int
	received atomic.Uint64
	done     chan struct{}
}

func newAttacker(t testing.TB, nodes []*engine.Node, cfg engine.Config, seed uint64) *attacker {
	t.Helper()
	conn, err := netio.ListenUDP(netip.MustParseAddrPort("127.0.0.1:0"), netio.UDPOptions{MaxDatagram: 2048, BatchSize: 64})
	if err != nil {
		t.Fatal(err)
	}
	a := &attacker{
		conn:    conn,
		rng:     rand.New(rand.NewPCG(seed, 0x600d)),
		keyed:   len(cfg.Keys) > 0,
		cluster: codec.ClusterID(cfg.ClusterName),
		limit:   cfg.MaxDatagramSize,
		index:   map[engine.ID]int{},
		byType:  map[codec.MsgType]int{},
		done:    make(chan struct{}),
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
	a.noise = make([]byte, 64<<10)
	for i := range a.noise {
		a.noise[i] = byte(a.rng.Uint32())
	}
	go a.read()
	t.Cleanup(func() {
		a.conn.Close()
		<-a.done
	})
	return a
}

// read counts what the cluster sends to the attacker and, while capturing,
// keeps copies: replies to its requests, and the traffic of the member it
// impersonates.
func (a *attacker) read() {
	defer close(a.done)
	msgs := netio.NewMessages(64, 2048)
	for {
		n, err := a.conn.ReadBatch(msgs)
		if err != nil {
			return
		}
		a.received.Add(uint64(n))
		a.mu.Lock()
		if a.capture {
			for _, m := range msgs[:n] {
				hv, err := codec.NewHeaderView(m.Buf[:m.N])
				if err != nil || a.byType[hv.Type()] >= 64 {
					continue
				}
				a.byType[hv.Type()]++
				a.captured = append(a.captured, append([]byte(nil), m.Buf[:m.N]...))
			}
		}
		a.mu.Unlock()
	}
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

func (a *attacker) header(t codec.MsgType, sender uint64, cluster uint64) codec.Header {
	return codec.Header{Type: t, Cluster: cluster, Sender: sender, Generation: 1, Seq: a.rng.Uint32()}
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

// membersDatagram builds a plain gossip datagram of at most limit bytes
// holding as many Member records as fit, each announcing a new random
// member.
func (a *attacker) membersDatagram(cluster uint64, limit int) []byte {
	var bld codec.Builder
	bld.Reset(make([]byte, 0, limit), limit, a.header(codec.MsgGossip, a.fakeID(), cluster))
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

// requestDatagram builds a plain request from a forged sender: the
// cluster answers it to the attacker.
func (a *attacker) requestDatagram(kind int) []byte {
	sender := a.fakeID()
	var bld codec.Builder
	switch kind % 5 {
	case 0:
		bld.Reset(make([]byte, 0, a.limit), a.limit, a.header(codec.MsgShardRequest, sender, a.cluster))
		for range 64 {
			bld.AddShardRef(codec.ShardRef{Shard: uint32(a.rng.IntN(256))})
		}
	case 1:
		bld.Reset(make([]byte, 0, a.limit), a.limit, a.header(codec.MsgPing, sender, a.cluster))
		bld.AddPing(codec.Ping{Seq: a.rng.Uint32(), Target: uint64(a.ids[a.rng.IntN(len(a.ids))])})
	case 2:
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

// garbageDatagram builds a datagram of this cluster whose body or header
// is bad in one of several ways, sealed with the cluster's key when it has
// one, and says how the node must count it. The codec's own validator
// decides the outcome of random bodies.
func (a *attacker) garbageDatagram(kind int) template {
	h := a.header(codec.MsgType(1+a.rng.IntN(13)), a.fakeID(), a.cluster)
	body := make([]byte, 0, a.limit)
	var sections int
	switch kind % 8 {
	case 0, 1: // random sections
		sections = 1 + a.rng.IntN(8)
		n := a.rng.IntN(a.limit - codec.HeaderSize)
		off := a.rng.IntN(len(a.noise) - n)
		body = append(body, a.noise[off:off+n]...)
		if len(body) > 0 && a.rng.IntN(2) == 0 {
			body[0] = byte(1 + a.rng.IntN(9)) // a known record type
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
	case 6: // a compression bomb: declares a 1 MiB body
		h.Flags = codec.FlagCompressed
		sections = 1
		body = binary.AppendUvarint(body, 1<<20)
		body = append(body, a.noise[:32]...)
		h.Sections, h.Length = uint8(sections), uint16(len(body))
		return template{a.seal(append(h.Append(nil), body...)), outTooLarge}
	default: // a valid datagram with an unknown flag bit or version 0
		b := a.seal(a.membersDatagram(a.cluster, a.limit))
		if a.rng.IntN(2) == 0 {
			b[4] |= 0x80 // the flags byte
			return template{b, outMalformed}
		}
		b[2] = 0 // the version byte
		return template{b, outForeign}
	}
	h.Sections, h.Length = uint8(sections), uint16(len(body))
	return a.classify(append(h.Append(nil), body...))
}

// classify seals a plain datagram of this cluster and returns it with the
// outcome the codec's validator predicts for it.
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
	return template{a.seal(plain), out}
}

// impersonate makes the cluster talk to the attacker, so that it can
// capture real traffic to replay: it announces a forged member at its own
// address (the cluster then makes it an observer, sends it heartbeats,
// probes it and gossips to it until it declares it dead), and it sends
// requests that the cluster answers. It needs the cluster's key when the
// cluster has one.
func (a *attacker) impersonate(t testing.TB, beats int, d time.Duration) {
	t.Helper()
	a.mu.Lock()
	a.capture = true
	a.mu.Unlock()
	self := a.fakeID()
	var bld codec.Builder
	var msgs []netio.Message
	for i, to := range a.targets[:min(5, len(a.targets))] {
		bld.Reset(make([]byte, 0, a.limit), a.limit, a.header(codec.MsgGossip, self, a.cluster))
		m := codec.Member{ID: self, Generation: 1, State: codec.StateAlive, Addr: a.conn.LocalAddr()}
		bld.AddMember(&m)
		msgs = append(msgs, netio.Message{Addr: to, Buf: a.seal(bld.Finish())})
		msgs = append(msgs, netio.Message{Addr: to, Buf: a.seal(a.requestDatagram(i))})
	}
	if _, err := a.conn.WriteBatch(msgs); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
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
	for mt := range codec.MsgType(16) {
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
		members := a.membersDatagram(a.cluster, a.limit)
		a.templates[clMembers] = append(a.templates[clMembers], template{a.seal(members), outAccepted})
		a.templates[clUnsealed] = append(a.templates[clUnsealed], template{members, unsealed})
		foreign := a.membersDatagram(codec.ClusterID("intruders"), a.limit)
		a.templates[clForeign] = append(a.templates[clForeign], template{a.seal(foreign), outCluster})
		// Sealed datagrams must fit the nodes' datagram size too.
		w, err := codec.Seal(nil, a.membersDatagram(a.cluster, a.limitOnWire()-codec.SealOverhead), a.wrong)
		if err != nil {
			panic(err)
		}
		a.templates[clWrongKey] = append(a.templates[clWrongKey], template{w, wrongKey})
		sealed := w // an open cluster refuses any sealed datagram
		if a.kr != nil {
			sealed = a.seal(members)
		}
		a.templates[clBadTag] = append(a.templates[clBadTag], template{sealed, badTag})
		a.templates[clState] = append(a.templates[clState], template{a.seal(a.stateDatagram()), outAccepted})
		a.templates[clRequests] = append(a.templates[clRequests], template{a.seal(a.requestDatagram(i)), outAccepted})
		for range 4 {
			a.templates[clGarbage] = append(a.templates[clGarbage], a.garbageDatagram(a.rng.IntN(8)))
		}
	}
	for _, b := range a.captured {
		a.templates[clReplay] = append(a.templates[clReplay], template{b, outAccepted})
	}
	a.templates[clTruncated] = append(a.templates[clTruncated], a.templates[clReplay]...)
	a.templates[clTruncated] = append(a.templates[clTruncated], a.templates[clMembers]...)
}

// next fills m with the next hostile datagram for a random node, using
// scratch when the datagram must be altered, and returns its class and
// outcome.
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
		if hv, err := codec.NewHeaderView(tp.b); err == nil && engine.ID(hv.Sender()) == a.ids[ti] {
			return c, outSelf
		}
		return c, tp.out
	}
	tp := a.pick(c)
	m.Buf = tp.b
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

// flood sends n datagrams at about rate a second, in batches of 64, and
// returns the sending goroutine's CPU time and the wall time taken.
func (a *attacker) flood(n, rate int) (cpu, wall time.Duration, err error) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	cpu0, _ := threadCPU()
	start := time.Now()
	const batch = 64
	msgs := make([]netio.Message, batch)
	scratch := make([]byte, batch*2048)
	for sent := 0; sent < n; {
		k := min(batch, n-sent)
		for i := range k {
			c, o := a.next(&msgs[i], scratch[i*2048:(i+1)*2048])
			a.sentClass[c]++
			a.sentOut[o]++
		}
		w, err := a.conn.WriteBatch(msgs[:k])
		sent += w
		if err != nil {
			return 0, 0, err
		}
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
