package fuzz_test

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"reflect"
	"sync"
	"time"

	"github.com/hearsay-io/hearsay/codec"
	"github.com/hearsay-io/hearsay/engine"
)

// target is one core under fuzzing: a world node with a converged view,
// driven by datagrams and time steps, with a checker watching it.
type target struct {
	core *engine.Core
	out  engine.Outbox
	chk  *checker
	now  engine.Time
	node int
	// sealer seals frames that ask for it: the node's own keyring in a
	// keyed cluster, keyA's in an open one (which the node must refuse).
	// What it seals is bound to the node (codec.SealFor with the node's
	// member ID) unless the frame asks otherwise (sealing).
	sealer  *codec.Keyring
	sealBuf []byte
	// seen, when set, sees every datagram the core emits.
	seen func(to netip.AddrPort, h *codec.Header, body []byte)
}

// targetStart is the engine time a target starts at.
const targetStart = epoch + engine.Time(10*time.Minute)

// maxTicksPerStep bounds the ticks one time step runs at the core's own
// deadlines before it jumps to the end of the step.
const maxTicksPerStep = 32

var (
	keyringOnce         sync.Once
	keyringAB, keyringA *codec.Keyring
	keyringC            *codec.Keyring
	bootstrapOnce       sync.Once
	bootstraps          [worldN][2][]byte // by receiver, plain and sealed
)

func keyrings() (nodeRing, sealA, stranger *codec.Keyring) {
	keyringOnce.Do(func() {
		var err error
		if keyringAB, err = codec.NewKeyring(keyB, keyA); err != nil {
			panic(err)
		}
		if keyringA, err = codec.NewKeyring(keyA); err != nil {
			panic(err)
		}
		if keyringC, err = codec.NewKeyring(keyC); err != nil {
			panic(err)
		}
	})
	return keyringAB, keyringA, keyringC
}

// bootstrap returns a gossip datagram from world node to+1, to be sent
// from its own address (so from a trusted member), that gives node `to`
// the bootState of the others, plain or sealed with keyA for node `to`. A
// node is the authority on its own state: it writes its part of bootState
// itself (newTarget).
func bootstrap(to int, sealed bool) []byte {
	bootstrapOnce.Do(func() {
		_, ringA, _ := keyrings()
		for t := range bootstraps {
			s := (t + 1) % worldN
			var bld codec.Builder
			bld.Reset(make([]byte, 0, 1400), 1400-codec.SealOverhead, codec.Header{
				Type: codec.MsgGossip, Cluster: worldCluster, Sender: uint64(worldIDs[s]), Generation: 1, Seq: 1,
			})
			for _, e := range bootState {
				if engine.ID(e.Owner) != worldIDs[t] {
					bld.AddState(&e)
				}
			}
			plain := bld.Finish()
			sealedB, err := codec.SealFor(nil, plain, ringA, uint64(worldIDs[t]))
			if err != nil {
				panic(err)
			}
			bootstraps[t] = [2][]byte{plain, sealedB}
		}
	})
	if sealed {
		return bootstraps[to][1]
	}
	return bootstraps[to][0]
}

// newTarget starts world node `node` (taken modulo worldN) with every
// member alive at generation 1 and the bootstrap state of nodes 1 and 2.
// keyed gives it the keyring keyB (primary) + keyA.
func newTarget(node int, keyed bool) (*target, error) {
	node %= worldN
	nodeRing, ringA, _ := keyrings()
	cfg := worldConfig()
	var keys *codec.Keyring
	if keyed {
		cfg.Keys = [][]byte{keyB, keyA}
		cfg.Open = len(cfg.Keys) == 0
		keys = nodeRing
	}
	t := &target{node: node, now: targetStart, sealer: ringA}
	if keyed {
		t.sealer = nodeRing
	}
	t.chk = newChecker(cfg, keys)
	cfg.ID = worldIDs[node]
	cfg.Generation = 1
	cfg.BindAddr = worldAddrs[node]
	seed := uint64(node) + 1
	t.chk.tokens = tokenOracle(cfg, seed, t.sealer)
	core, err := engine.NewCore(cfg, engine.Env{
		Addr:    worldAddrs[node],
		Now:     t.now,
		Seed:    seed,
		Outbox:  &t.out,
		OnEvent: t.chk.onEvent,
	})
	if err != nil {
		return nil, err
	}
	t.core = core
	members := make([]engine.Member, worldN)
	for i := range members {
		members[i] = engine.Member{ID: worldIDs[i], Addr: worldAddrs[i], Generation: 1, State: engine.StateAlive}
	}
	core.Seed(t.now, members)
	t.chk.attach(core, &t.out, t.now)
	for _, e := range bootState {
		if engine.ID(e.Owner) == worldIDs[node] {
			t.setState(e.Key, e.Value)
		}
	}
	from := (node + 1) % worldN
	t.receive(worldAddrs[from], bootstrap(node, keyed))
	for _, e := range bootState {
		t.chk.track(engine.ID(e.Owner), e.Key)
	}
	return t, t.chk.err
}

// tokenOracle returns the tokens a node made with cfg and seed issues: a
// token is a keyed hash of the address and the epoch, its key drawn from
// the node's seed (engine/validation.go), so a twin of the node, made
// afresh at the start of the epoch and sent a sync from the address whose
// digest differs, answers with the same token in its Retry. The checker
// asks it for an Echo of a token the node did not issue in the run (an
// input may carry one learnt from another run of the same node); answers
// are cached, and 0 means none.
func tokenOracle(cfg engine.Config, seed uint64, sealer *codec.Keyring) func(netip.AddrPort, uint32) uint64 {
	cfg.Logger = quietLogger
	type key struct {
		addr  netip.AddrPort
		epoch uint32
	}
	cache := map[key]uint64{}
	return func(addr netip.AddrPort, epoch uint32) uint64 {
		k := key{addr, epoch}
		if tok, ok := cache[k]; ok {
			return tok
		}
		cache[k] = 0
		now := engine.Time(int64(epoch)*int64(tokenEpoch)) + 1
		var out engine.Outbox
		twin, err := engine.NewCore(cfg, engine.Env{Addr: cfg.BindAddr, Now: now, Seed: seed, Outbox: &out})
		if err != nil {
			return 0
		}
		var b codec.Builder
		b.Reset(make([]byte, 0, 256), 256, codec.Header{
			Type: codec.MsgSync, Cluster: worldCluster, Sender: uint64(foreignIDs[0]), Generation: 1, Seq: 1,
		})
		b.AddDigest(codec.Digest{Count: 99, Sum: 1})
		d := b.Finish()
		if len(cfg.Keys) > 0 {
			if d, err = codec.SealFor(nil, d, sealer, uint64(cfg.ID)); err != nil {
				return 0
			}
		}
		twin.Receive(now, addr, d)
		for _, msg := range out.Messages() {
			p := msg.Buf[:msg.N]
			if len(cfg.Keys) > 0 {
				if p, err = codec.OpenFor(nil, p, sealer, uint64(foreignIDs[0])); err != nil {
					continue
				}
			}
			h, body, err := codec.Parse(p)
			if err != nil || msg.Addr != addr || h.Type != codec.MsgRetry {
				continue
			}
			var r codec.Reader
			r.Reset(int(h.Sections), body)
			for r.Next() {
				if r.Type() == codec.RecRetry && r.Count() > 0 {
					if x, _, err := codec.ParseRetry(r.Record(0)); err == nil && x.Epoch == epoch {
						cache[k] = x.Token
					}
				}
			}
		}
		return cache[k]
	}
}

// setState calls SetState and checks the core.
func (t *target) setState(key, value []byte) {
	t.chk.now = t.now
	t.chk.beginStep()
	t.chk.track(t.core.ID(), key)
	if t.core.SetState(t.now, key, value) == nil { // refusals are part of the contract
		t.chk.wrote(key, value, false)
	}
	t.chk.afterCall()
	t.flush()
}

// deleteState calls DeleteState and checks the core.
func (t *target) deleteState(key []byte) {
	t.chk.now = t.now
	t.chk.beginStep()
	if t.core.DeleteState(t.now, key) == nil {
		t.chk.wrote(key, nil, true)
	}
	t.chk.afterCall()
	t.flush()
}

// call runs a user call f and checks the core.
func (t *target) call(f func()) {
	t.chk.now = t.now
	t.chk.beginStep()
	f()
	t.chk.afterCall()
	t.flush()
}

// receive delivers one datagram at the current time and checks the core.
func (t *target) receive(from netip.AddrPort, b []byte) {
	t.chk.now = t.now
	pre := t.chk.snap(from)
	t.core.Receive(t.now, from, b)
	t.chk.afterReceive(pre, b)
	t.flush()
}

// advance moves time forward by d, ticking the core at each deadline on
// the way (up to maxTicksPerStep, then once at the end).
func (t *target) advance(d time.Duration) {
	end := t.now.Add(d)
	for i := 0; i < maxTicksPerStep; i++ {
		dl := t.core.Deadline()
		if dl > end {
			break
		}
		if dl > t.now {
			t.now = dl
		}
		t.tick()
	}
	if end > t.now {
		t.now = end
		t.tick()
	}
}

func (t *target) tick() {
	t.chk.now = t.now
	t.chk.beginStep()
	t.core.Tick(t.now)
	t.chk.afterTick(t.now)
	t.flush()
}

// flush checks and discards what the core emitted.
func (t *target) flush() {
	t.chk.checkOutput(t.seen)
	t.out.Reset()
}

// Input framing for the raw targets. An input is one byte choosing the
// node, then frames:
//
//	ctrl  1 byte: low nibble the source (0-7 a node's address, 8-15 a
//	              foreign one); high nibble k: advance time by 1ms<<(k-1)
//	              (k=0: not at all; k=15: about 16 s) before delivering
//	len   2 bytes, big-endian: bits 15-14 ask the harness to seal the
//	              data first (see sealing); the other 14 bits are the
//	              data's length (cut short at the end of the input)
//	data  len bytes: the datagram
//
// Frames shorter than their 3-byte head end the input. At most maxFrames
// are delivered.
const maxFrames = 48

// sealing is what the harness does with a frame's data before delivering
// it: bits 15-14 of the frame's length field.
type sealing uint8

const (
	sealNone    sealing = iota // deliver the data as it is
	sealOther                  // seal it for another member (sealedFor)
	sealForNode                // seal it for the node, as its peers do
	sealUnbound                // seal it for no one (receiver 0), as a first contact with a seed is
)

// sealedFor returns the member ID a frame's data is sealed for: the node's
// own, 0 for no one, or another member's: that of the world node at the
// source address, or the node after the target when the source is the
// target's own or a foreign address (a datagram captured on its way to
// one member and redirected to another).
func sealedFor(s sealing, node int, from netip.AddrPort) uint64 {
	switch s {
	case sealForNode:
		return uint64(worldIDs[node])
	case sealUnbound:
		return 0
	}
	if i := worldIndexOf(from); i >= 0 && i != node {
		return uint64(worldIDs[i])
	}
	return uint64(worldIDs[(node+1)%worldN])
}

type frame struct {
	from    netip.AddrPort
	advance time.Duration
	seal    sealing
	data    []byte
}

func sourceAddr(nibble byte) netip.AddrPort {
	if nibble < worldN {
		return worldAddrs[nibble]
	}
	return foreignAddrs[int(nibble-worldN)%len(foreignAddrs)]
}

func stepDuration(k byte) time.Duration {
	if k == 0 {
		return 0
	}
	return time.Millisecond << (k - 1)
}

// stepCode returns the smallest k whose step is at least d.
func stepCode(d time.Duration) byte {
	for k := byte(0); k < 15; k++ {
		if stepDuration(k) >= d {
			return k
		}
	}
	return 15
}

func splitFrames(in []byte, visit func(frame)) (node int) {
	if len(in) == 0 {
		return 0
	}
	node = int(in[0])
	in = in[1:]
	for n := 0; n < maxFrames && len(in) >= 3; n++ {
		ctrl := in[0]
		l := binary.BigEndian.Uint16(in[1:])
		in = in[3:]
		size := int(l & 0x3fff)
		if size > len(in) {
			size = len(in)
		}
		visit(frame{
			from:    sourceAddr(ctrl & 0xf),
			advance: stepDuration(ctrl >> 4),
			seal:    sealing(l >> 14),
			data:    in[:size:size],
		})
		in = in[size:]
	}
	return node
}

// appendFrame encodes one frame; src is the source nibble. seal asks the
// harness to seal data for the node.
func appendFrame(dst []byte, src byte, gap time.Duration, seal bool, data []byte) []byte {
	s := sealNone
	if seal {
		s = sealForNode
	}
	return appendFrameSealing(dst, src, gap, s, data)
}

// appendFrameSealing encodes one frame whose data the harness seals as s
// says.
func appendFrameSealing(dst []byte, src byte, gap time.Duration, s sealing, data []byte) []byte {
	l := uint16(len(data))&0x3fff | uint16(s)<<14
	dst = append(dst, stepCode(gap)<<4|src&0xf)
	dst = binary.BigEndian.AppendUint16(dst, l)
	return append(dst, data...)
}

// sourceNibble returns the frame source for an address.
func sourceNibble(a netip.AddrPort) byte {
	if i := worldIndexOf(a); i >= 0 {
		return byte(i)
	}
	for i, f := range foreignAddrs {
		if f == a {
			return byte(worldN + i)
		}
	}
	return worldN
}

// runFrames drives a fresh target through a raw input and returns the
// first broken invariant.
func runFrames(in []byte, keyed bool) error {
	var frames []frame
	node := splitFrames(in, func(f frame) { frames = append(frames, f) })
	t, err := newTarget(node, keyed)
	if err != nil {
		return err
	}
	for _, f := range frames {
		var before engine.Stats
		if traceInput != nil {
			before = t.core.Stats()
		}
		b := t.deliver(f)
		if traceInput != nil {
			traceStep(t, fmt.Sprintf("+%v %d bytes from %v", f.advance, len(b), f.from), &before)
		}
		if t.chk.err != nil {
			return t.chk.err
		}
	}
	return t.chk.err
}

// deliver runs one frame: advances time, seals the data if the frame asks,
// and delivers it. It returns the datagram as delivered.
func (t *target) deliver(f frame) []byte {
	if f.advance > 0 {
		t.advance(f.advance)
	}
	b := f.data
	if f.seal != sealNone {
		if s, err := codec.SealFor(t.sealBuf[:0], b, t.sealer, sealedFor(f.seal, t.node, f.from)); err == nil {
			t.sealBuf = s[:0]
			b = s
		}
	}
	t.receive(f.from, b)
	return b
}

// traceInput, when set, is told every step runFrames and runProgram take
// and the counters it moved; TestTraceInput sets it.
var traceInput func(format string, args ...any)

// traceStep reports one step and the counters it moved.
func traceStep(t *target, what string, before *engine.Stats) {
	after := t.core.Stats()
	bv, av := reflect.ValueOf(*before), reflect.ValueOf(after)
	var moved []string
	for i := 0; i < av.NumField(); i++ {
		if f := av.Type().Field(i); f.Type.Kind() == reflect.Uint64 {
			if d := int64(av.Field(i).Uint() - bv.Field(i).Uint()); d != 0 {
				moved = append(moved, fmt.Sprintf("%s%+d", f.Name, d))
			}
		}
	}
	traceInput("%-28s at %-9v inc %d: %v in=%v", what, time.Duration(t.now-targetStart), t.core.Incarnation(), moved, after.In)
}
