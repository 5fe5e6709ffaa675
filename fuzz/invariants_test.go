package fuzz_test

import (
	"fmt"
	"net/netip"
	"slices"
	"time"

	"github.com/hearsay-io/hearsay/codec"
	"github.com/hearsay-io/hearsay/codec/bulk"
	"github.com/hearsay-io/hearsay/engine"
)

// checker watches one core through its public API and fails on the first
// broken invariant. The invariants, checked after every datagram and every
// tick:
//
//   - members: at most MaxMembers; for each member, (generation,
//     incarnation, state precedence) never goes back, Left is final within
//     a generation, and the application-state version never goes back
//     within a generation;
//   - tombstones: a live member never vanishes; a dead or left one is
//     reaped no earlier than TombstoneRetention after it died (for the
//     tombstone of a member the node did not hold, adopted with the wear
//     its sender gave, no earlier than 1/255 of it), and no later than the
//     first tick after TombstoneRetention;
//   - the local node: its own record stays alive at its generation and
//     current incarnation (left once it leaves); a record that accuses it
//     at its generation and an incarnation it has not refuted is answered
//     at once: by a higher incarnation, or by the rejoin check
//     (EventSelfDead), which refutes once the node's links are proven;
//   - resources: pending updates at most MaxPendingUpdates; for every
//     application-state key seen, per member at most MaxStateKeys live
//     keys and MaxStateBytes of keys and values, and versions that never
//     go back within the owner's generation;
//   - accounting: every datagram counts in DatagramsIn; a datagram that an
//     independent reading of the wire format rejects is counted in exactly
//     one drop counter (the cause's, for another cluster, a sealing
//     mismatch, an unknown key or failed authentication) and changes
//     nothing (no member, incarnation, event, counter or reply); one it
//     accepts is counted by type and in no drop
//     counter; one of a kind the codec does not define changes nothing;
//   - output: every datagram the core emits fits MaxDatagramSize, is from
//     this node at its generation and an incarnation it has had, is sealed
//     exactly when the cluster has keys, and is well formed;
//   - timers: after Tick(now) the core's Deadline is after now (a driver
//     would otherwise spin).
type checker struct {
	cfg     engine.Config
	core    *engine.Core
	out     *engine.Outbox
	keys    *codec.Keyring
	self    engine.ID
	gen     uint64
	now     engine.Time
	seen    map[engine.ID]seenMember
	tracked map[stateKey]seenState
	events  []engine.Event
	// rejoining is true between EventSelfDead and EventSelfAlive.
	rejoining bool
	leaving   bool

	members []engine.Member // scratch
	before  []engine.Member // the view before a datagram
	scratch []byte
	zip     []byte
	err     error
}

type seenMember struct {
	m       engine.Member
	deadAt  engine.Time // when it last became a tombstone; 0 while live
	deadInc uint32      // its incarnation then
	// adopted: the tombstone of a member this node did not hold, kept for
	// what its wear left of the retention, which may be as little as
	// 1/255 of it.
	adopted bool
}

type stateKey struct {
	owner engine.ID
	key   string
}

type seenState struct {
	gen     uint64
	version uint64
}

// maxTracked bounds the state keys a checker follows.
const maxTracked = 64

func newChecker(cfg engine.Config, keys *codec.Keyring) *checker {
	return &checker{
		cfg:     cfg,
		keys:    keys,
		seen:    make(map[engine.ID]seenMember),
		tracked: make(map[stateKey]seenState),
	}
}

// attach binds the checker to the core it watches and records its
// starting view.
func (ck *checker) attach(core *engine.Core, out *engine.Outbox, now engine.Time) {
	ck.core, ck.out, ck.now = core, out, now
	ck.self, ck.gen = core.ID(), core.Generation()
	ck.checkView(false)
}

// onEvent is the core's event hook.
func (ck *checker) onEvent(e engine.Event) {
	switch e.Type {
	case engine.EventSelfDead:
		ck.rejoining = true
	case engine.EventSelfAlive:
		ck.rejoining = false
	}
	ck.events = append(ck.events, e)
}

func (ck *checker) failf(format string, args ...any) {
	if ck.err == nil {
		ck.err = fmt.Errorf(format, args...)
	}
}

// snapshot is what a datagram must not change if it is rejected.
type snapshot struct {
	stats  engine.Stats
	inc    uint32
	digest uint64
	events int
}

func (ck *checker) snap() snapshot {
	ck.before = ck.core.Members(ck.before[:0])
	return snapshot{stats: ck.core.Stats(), inc: ck.core.Incarnation(), digest: ck.core.Digest(), events: len(ck.events)}
}

// datagramDrops sums the counters of datagrams dropped whole before any
// of their content is used.
func datagramDrops(s *engine.Stats) uint64 {
	return s.DropTruncated + s.DropMalformed + s.DropForeign + s.DropCluster + s.DropSealed +
		s.DropUnsealed + s.DropUnknownKey + s.DropAuth + s.DropTooLarge + s.DropSelf + s.DropUnknownType
}

// stripDrops clears what a rejected datagram may change in Stats.
func stripDrops(s engine.Stats) engine.Stats {
	s.DatagramsIn, s.BytesIn = 0, 0
	s.DropTruncated, s.DropMalformed, s.DropForeign, s.DropCluster, s.DropSealed = 0, 0, 0, 0, 0
	s.DropUnsealed, s.DropUnknownKey, s.DropAuth, s.DropTooLarge, s.DropSelf = 0, 0, 0, 0, 0
	s.DropUnknownType = 0
	return s
}

// afterReceive checks the core after it handled datagram b.
func (ck *checker) afterReceive(pre snapshot, b []byte) {
	st := ck.core.Stats()
	if st.DatagramsIn != pre.stats.DatagramsIn+1 {
		ck.failf("DatagramsIn went from %d to %d for one datagram", pre.stats.DatagramsIn, st.DatagramsIn)
	}
	rd := ck.read(b)
	drops := datagramDrops(&st) - datagramDrops(&pre.stats)
	if !rd.ok {
		if drops != 1 {
			ck.failf("a datagram the wire format rejects moved the drop counters by %d, want 1", drops)
		}
		if cause, count := ck.gateDrop(b); count != nil && count(&st) != count(&pre.stats)+1 {
			ck.failf("a datagram refused as %s was not counted there", cause)
		}
		if stripDrops(st) != stripDrops(pre.stats) {
			ck.failf("a rejected datagram changed counters other than its drop:\nbefore %+v\nafter  %+v", pre.stats, st)
		}
		if ck.out.Len() != 0 || len(ck.events) != pre.events || ck.core.Incarnation() != pre.inc || ck.core.Digest() != pre.digest {
			ck.failf("a rejected datagram changed the node: %d replies, %d events, incarnation %d -> %d",
				ck.out.Len(), len(ck.events)-pre.events, pre.inc, ck.core.Incarnation())
		}
		ck.members = ck.core.Members(ck.members[:0])
		if !slices.Equal(ck.members, ck.before) {
			ck.failf("a rejected datagram changed the member view")
		}
		ck.checkView(false)
		return
	}
	if drops != 0 {
		ck.failf("a well-formed datagram of type %v was counted as dropped (%d)", rd.header.Type, drops)
	}
	if t := rd.header.Type; int(t) < len(st.In) && st.In[t] != pre.stats.In[t]+1 && !ck.leaving {
		ck.failf("a well-formed datagram of type %v was not counted in Stats.In", t)
	}
	applied := rd.header.Type != codec.MsgShardData || st.DropUnsolicited == pre.stats.DropUnsolicited
	if applied {
		ck.checkAboutSelf(pre, &rd)
		ck.trackKeys(&rd)
	}
	ck.checkView(false)
}

// checkAboutSelf checks that every record of the datagram accusing this
// node, at its generation and an incarnation it has not refuted, was
// answered: a higher incarnation, or (for dead and left) the rejoin check.
func (ck *checker) checkAboutSelf(pre snapshot, rd *reading) {
	if ck.leaving {
		return
	}
	withheld := ck.core.Stats().RefutationsWithheld > pre.stats.RefutationsWithheld
	var r codec.Reader
	r.Reset(rd.sections, rd.body)
	for r.Next() {
		if r.Type() != codec.RecMember {
			continue
		}
		for i := 0; i < r.Count(); i++ {
			m, _, err := codec.ParseMember(r.Record(i))
			if err != nil || engine.ID(m.ID) != ck.self || m.Generation != ck.gen {
				continue
			}
			if m.Incarnation < pre.inc || (m.Incarnation == pre.inc && m.State == codec.StateAlive) {
				continue // old news
			}
			inc := ck.core.Incarnation()
			switch {
			case inc > m.Incarnation:
			case m.State == codec.StateAlive && inc == m.Incarnation:
				// An incarnation the node reached while handling this
				// datagram (an earlier record made it refute): no news.
			case ck.rejoining:
				// Declared dead (now or before), or suspected too often
				// (Config.MaxRefutations): the node refutes once the
				// rejoin check proves its links.
			case withheld:
			default:
				ck.failf("told it is %v at incarnation %d, the node stayed at incarnation %d without refuting or rejoining",
					m.State, m.Incarnation, inc)
			}
		}
	}
}

// trackKeys follows the state keys a datagram carries.
func (ck *checker) trackKeys(rd *reading) {
	var r codec.Reader
	r.Reset(rd.sections, rd.body)
	for r.Next() {
		if r.Type() != codec.RecState {
			continue
		}
		for i := 0; i < r.Count(); i++ {
			e, _, err := codec.ParseStateEntry(r.Record(i))
			if err == nil {
				ck.track(engine.ID(e.Owner), e.Key)
			}
		}
	}
}

func (ck *checker) track(owner engine.ID, key []byte) {
	k := stateKey{owner, string(key)}
	if _, ok := ck.tracked[k]; ok || len(ck.tracked) >= maxTracked {
		return
	}
	ck.tracked[k] = seenState{}
}

// afterTick checks the core after Tick(now).
func (ck *checker) afterTick(now engine.Time) {
	if d := ck.core.Deadline(); d <= now {
		ck.failf("after Tick(%d) the deadline is %d, not later", now, d)
	}
	ck.checkView(true)
}

// checkView checks the member table and application state. ticked says a
// Tick just ran, which must have reaped every tombstone that was due.
func (ck *checker) checkView(ticked bool) {
	cfg := &ck.cfg
	ms := ck.core.Members(ck.members[:0])
	ck.members = ms
	st := ck.core.Stats()
	if len(ms) > cfg.MaxMembers {
		ck.failf("%d members, over MaxMembers %d", len(ms), cfg.MaxMembers)
	}
	if st.Members != uint64(len(ms)) {
		ck.failf("Stats.Members = %d, table holds %d", st.Members, len(ms))
	}
	if st.QueueDepth > uint64(cfg.MaxPendingUpdates) {
		ck.failf("%d pending updates, over MaxPendingUpdates %d", st.QueueDepth, cfg.MaxPendingUpdates)
	}
	live, self := 0, false
	for _, m := range ms {
		if m.State.Live() {
			live++
		}
		if m.ID == ck.self {
			self = true
			want := engine.StateAlive
			if ck.leaving {
				want = engine.StateLeft
			}
			if m.State != want || m.Generation != ck.gen || m.Incarnation != ck.core.Incarnation() {
				ck.failf("own record is %v gen %d inc %d; want %v gen %d inc %d",
					m.State, m.Generation, m.Incarnation, want, ck.gen, ck.core.Incarnation())
			}
		}
		prev, known := ck.seen[m.ID]
		if known {
			ck.checkStep(&prev.m, &m)
		}
		next := seenMember{m: m}
		if !m.State.Live() {
			// A tombstone's reaping clock starts when the member stops
			// being live or, already dead, moves to a new generation.
			switch {
			case known && !prev.m.State.Live() && prev.m.Generation == m.Generation:
				next.deadAt, next.deadInc, next.adopted = prev.deadAt, prev.deadInc, prev.adopted
			default:
				next.deadAt, next.deadInc, next.adopted = ck.now, m.Incarnation, !known
			}
			// A leaving node only spreads its Left record; it reaps nothing.
			due := ticked && !ck.leaving && m.ID != ck.self && ck.now >= next.deadAt.Add(cfg.TombstoneRetention)
			if due {
				ck.failf("member %v is %v since %d, not reaped %v later", m.ID, m.State, next.deadAt, cfg.TombstoneRetention)
			}
		}
		ck.seen[m.ID] = next
	}
	if !self {
		ck.failf("own record missing from the table")
	}
	if st.LiveMembers != uint64(live) {
		ck.failf("Stats.LiveMembers = %d, table holds %d live", st.LiveMembers, live)
	}
	if len(ck.seen) != len(ms) {
		for id, prev := range ck.seen {
			if _, ok := ck.core.Member(id); ok {
				continue
			}
			if prev.m.State.Live() {
				ck.failf("live member %v (%v gen %d inc %d) vanished", id, prev.m.State, prev.m.Generation, prev.m.Incarnation)
			} else if keep := minKeep(prev, cfg.TombstoneRetention); ck.now < prev.deadAt.Add(keep) {
				ck.failf("tombstone %v reaped %v after it died, before %v (adopted: %v)", id, ck.now.Sub(prev.deadAt), keep, prev.adopted)
			}
			delete(ck.seen, id)
		}
	}
	ck.checkState()
}

// minKeep is the least time a tombstone is held: the whole retention, or
// for an adopted one what a wear of 254/255 leaves.
func minKeep(m seenMember, retention time.Duration) time.Duration {
	if m.adopted {
		return retention / 255
	}
	return retention
}

// checkStep checks one member's change between two checks.
func (ck *checker) checkStep(prev, cur *engine.Member) {
	switch {
	case cur.Generation < prev.Generation:
		ck.failf("member %v went back from generation %d to %d", cur.ID, prev.Generation, cur.Generation)
	case cur.Generation > prev.Generation:
	case prev.State == engine.StateLeft && (cur.State != engine.StateLeft || cur.Incarnation != prev.Incarnation):
		ck.failf("member %v left at generation %d inc %d and came back as %v inc %d in the same generation",
			cur.ID, cur.Generation, prev.Incarnation, cur.State, cur.Incarnation)
	case cur.Incarnation < prev.Incarnation:
		ck.failf("member %v went back from incarnation %d to %d at generation %d", cur.ID, prev.Incarnation, cur.Incarnation, cur.Generation)
	case cur.Incarnation == prev.Incarnation && cur.State < prev.State:
		ck.failf("member %v went back from %v to %v at generation %d inc %d", cur.ID, prev.State, cur.State, cur.Generation, cur.Incarnation)
	}
	if cur.Generation == prev.Generation && cur.StateVersion < prev.StateVersion {
		ck.failf("member %v state version went back from %d to %d", cur.ID, prev.StateVersion, cur.StateVersion)
	}
}

// checkState checks the tracked application-state keys.
func (ck *checker) checkState() {
	if len(ck.tracked) == 0 {
		return
	}
	type usage struct{ keys, bytes int }
	var use map[engine.ID]usage
	for k, prev := range ck.tracked {
		v, ver, ok := ck.core.State(k.owner, []byte(k.key))
		if !ok {
			continue
		}
		m, present := ck.core.Member(k.owner)
		if !present {
			ck.failf("state %q of %v is held without the member", k.key, k.owner)
			continue
		}
		if len(k.key) > codec.MaxKeySize || len(v) > codec.MaxValueSize {
			ck.failf("state %q of %v holds a %d-byte value", k.key, k.owner, len(v))
		}
		if ver > m.StateVersion {
			ck.failf("state %q of %v at version %d, above the member's state version %d", k.key, k.owner, ver, m.StateVersion)
		}
		if prev.gen == m.Generation && ver < prev.version {
			ck.failf("state %q of %v went back from version %d to %d", k.key, k.owner, prev.version, ver)
		}
		ck.tracked[k] = seenState{gen: m.Generation, version: ver}
		if use == nil {
			use = make(map[engine.ID]usage)
		}
		u := use[k.owner]
		u.keys++
		u.bytes += len(k.key) + len(v)
		use[k.owner] = u
	}
	for id, u := range use {
		if u.keys > ck.cfg.MaxStateKeys || u.bytes > ck.cfg.MaxStateBytes {
			ck.failf("member %v holds %d live keys, %d bytes; bounds are %d and %d",
				id, u.keys, u.bytes, ck.cfg.MaxStateKeys, ck.cfg.MaxStateBytes)
		}
	}
}

// checkOutput checks every datagram the core emitted since the outbox was
// last reset, and passes each one, opened and decompressed, to seen.
func (ck *checker) checkOutput(seen func(to netip.AddrPort, h *codec.Header, body []byte)) {
	for _, msg := range ck.out.Messages() {
		b := msg.Buf[:msg.N]
		if len(b) > ck.cfg.MaxDatagramSize {
			ck.failf("emitted a %d-byte datagram, over MaxDatagramSize %d", len(b), ck.cfg.MaxDatagramSize)
		}
		if !msg.Addr.IsValid() {
			ck.failf("emitted a datagram to an invalid address")
		}
		hv, err := codec.NewHeaderView(b)
		if err != nil {
			ck.failf("emitted a datagram with a bad header: %v", err)
			continue
		}
		if sealed := hv.Flags()&codec.FlagSealed != 0; sealed != (ck.keys != nil) {
			ck.failf("emitted a datagram sealed=%v in a cluster with keys=%v", sealed, ck.keys != nil)
			continue
		}
		if ck.keys != nil {
			p, err := codec.Open(nil, b, ck.keys)
			if err != nil {
				ck.failf("emitted a sealed datagram that does not open: %v", err)
				continue
			}
			b = p
		}
		h, err := codec.ParseHeader(b)
		if err != nil {
			ck.failf("emitted an unreadable datagram: %v", err)
			continue
		}
		body := b[codec.HeaderSize : codec.HeaderSize+int(h.Length)]
		if h.Flags&codec.FlagCompressed != 0 {
			body, err = bulk.Decompress(nil, body, 64<<10)
			if err != nil {
				ck.failf("emitted a compressed datagram that does not decompress: %v", err)
				continue
			}
		}
		if h.Cluster != worldCluster || engine.ID(h.Sender) != ck.self || h.Generation != ck.gen ||
			h.Incarnation > ck.core.Incarnation() || !h.Type.Known() {
			ck.failf("emitted a datagram with header %+v (node %v gen %d inc %d)", h, ck.self, ck.gen, ck.core.Incarnation())
		}
		if !wellFormed(int(h.Sections), body) {
			ck.failf("emitted a malformed %v datagram", h.Type)
		}
		if seen != nil {
			seen(msg.Addr, &h, body)
		}
	}
}
