package fuzz_test

import (
	"fmt"
	"net/netip"
	"time"

	"github.com/hearsay-io/hearsay/codec"
	"github.com/hearsay-io/hearsay/codec/bulk"
	"github.com/hearsay-io/hearsay/engine"
)

// checker watches one core through its public API and fails on the first
// broken invariant. The invariants, checked after every datagram, every
// tick and every user call:
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
//   - the local node (self_test.go): its own record stays alive at its
//     current generation and incarnation (left once it leaves); its
//     generation never goes back and rises only by a renewal that a claim
//     about it made necessary, at most once per 2 × HeartbeatInterval, at
//     once or by the first tick past that; a record that accuses it at its
//     generation and an incarnation it has not refuted is answered at
//     once: by a higher incarnation, or by the rejoin check
//     (EventSelfDead), which refutes once the node's links are proven; an
//     entry of its own state that contradicts what it wrote is answered
//     at once by its true value at a higher version;
//   - resources: pending updates at most MaxPendingUpdates; for every
//     application-state key seen, per member at most MaxStateKeys live
//     keys and MaxStateBytes of keys and values, and versions that never
//     go back within the owner's generation;
//   - accounting: every datagram counts in DatagramsIn; a datagram that an
//     independent reading of the wire format and of the node's gate
//     (reading_test.go) refuses is counted in exactly one drop counter, the
//     cause's, and changes nothing (no member, incarnation, generation,
//     event, counter or reply); one it accepts is counted by type and in no
//     drop counter of whole datagrams; a shard-data datagram, sync reply,
//     join reply or Retry that answers no request of the node's is counted
//     once in DropUnsolicited (peers_test.go models the requests);
//   - address validation (budget_test.go): the bytes the node queues to a
//     datagram's source while handling it are at most the datagram's size
//     unless it carried a valid Echo or the node asked that address within
//     4 s, and so are the bytes to addresses that are no member's; a Join
//     or ShardRequest from an address that did not prove itself gets only
//     a Retry; a Retry the node follows for a Sync makes it send the Sync
//     again with an Echo of the token; new members enter the table only
//     from a trusted source or by answering an admission ping;
//   - output: every datagram the core emits fits MaxDatagramSize, is from
//     this node at its generation (or the one it renewed from in that
//     step) and an incarnation it has had, is sealed exactly when the
//     cluster has keys, and then for a member the node has seen at the
//     destination address (sealed for no one only a Join or Sync, the
//     first contact with a seed), and is well formed;
//   - timers: after Tick(now) the core's Deadline is after now (a driver
//     would otherwise spin).
type checker struct {
	cfg     engine.Config
	core    *engine.Core
	out     *engine.Outbox
	keys    *codec.Keyring
	self    engine.ID
	gen     uint64 // the node's generation, as last checked
	now     engine.Time
	from    netip.AddrPort // the source of the datagram being checked
	seen    map[engine.ID]seenMember
	tracked map[stateKey]seenState
	events  []engine.Event
	// rejoining is true between EventSelfDead and EventSelfAlive.
	rejoining bool
	leaving   bool

	// The node's authority on itself (self_test.go).
	own        map[string]ownEntry
	renewedAt  engine.Time
	owed       []owedRenewal
	renewCause bool // a claim in this step needs a renewal
	// renewLicense: a claim the checker cannot judge may need a renewal,
	// at once or by the first tick at or after this time (then it lapses);
	// 0 when none.
	renewLicense  engine.Time
	rejoinLicense bool // the rejoin check will refute at an incarnation the node cannot exceed

	// The step being checked: the node's generation and incarnation when
	// it began, for the headers of what it sends.
	stepGen uint64
	stepInc uint32

	peers peers
	// idsAt holds, for every address, the member IDs the node has seen
	// there: members of its table at their recorded address, the senders
	// of the datagrams it accepted at their source, the members and
	// ping-req targets those datagrams named at an address. A datagram
	// the node sends to an address is sealed for one of them.
	idsAt map[netip.AddrPort]map[uint64]bool
	// tokens, when set, returns the token the node would issue to an
	// address in an epoch (see tokenOracle).
	tokens func(addr netip.AddrPort, epoch uint32) uint64

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
		own:     make(map[string]ownEntry),
		peers:   newPeers(),
		idsAt:   make(map[netip.AddrPort]map[uint64]bool),
	}
}

// sawAt notes that the node has seen member id at addr (0 included: a
// datagram's sender may claim it, and is answered sealed for it).
func (ck *checker) sawAt(addr netip.AddrPort, id uint64) {
	if !addr.IsValid() {
		return
	}
	ids := ck.idsAt[addr]
	if ids == nil {
		ids = make(map[uint64]bool)
		ck.idsAt[addr] = ids
	}
	ids[id] = true
}

// sawDatagram notes the member IDs an accepted datagram from ck.from shows
// at an address: its sender at the source, its member records and ping-req
// targets at theirs.
func (ck *checker) sawDatagram(rd *reading) {
	ck.sawAt(ck.from, rd.header.Sender)
	var r codec.Reader
	r.Reset(rd.sections, rd.body)
	for r.Next() {
		for i := 0; i < r.Count(); i++ {
			switch r.Type() {
			case codec.RecMember:
				if m, _, err := codec.ParseMember(r.Record(i)); err == nil {
					ck.sawAt(m.Addr, m.ID)
				}
			case codec.RecPingReq:
				if p, _, err := codec.ParsePingReq(r.Record(i)); err == nil {
					ck.sawAt(p.Addr, p.Target)
				}
			}
		}
	}
}

// attach binds the checker to the core it watches and records its
// starting view.
func (ck *checker) attach(core *engine.Core, out *engine.Outbox, now engine.Time) {
	ck.core, ck.out, ck.now = core, out, now
	ck.self, ck.gen = core.ID(), core.Generation()
	ck.beginStep()
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

// beginStep notes the node before a tick or a user call.
func (ck *checker) beginStep() {
	ck.stepGen, ck.stepInc = ck.core.Generation(), ck.core.Incarnation()
}

// snapshot is what a datagram must not change if it is rejected.
type snapshot struct {
	stats            engine.Stats
	gen              uint64
	inc              uint32
	digest           uint64
	events           int
	rejoining        bool
	selfStateVersion uint64
}

// snap notes the node before a datagram from from.
func (ck *checker) snap(from netip.AddrPort) snapshot {
	ck.from = from
	ck.beginStep()
	ck.before = ck.core.Members(ck.before[:0])
	self, _ := ck.core.Member(ck.self)
	return snapshot{
		stats: ck.core.Stats(), gen: ck.core.Generation(), inc: ck.core.Incarnation(), digest: ck.core.Digest(),
		events: len(ck.events), rejoining: ck.rejoining, selfStateVersion: self.StateVersion,
	}
}

// checkAboutSelf checks that every record of the datagram accusing this
// node, at its generation and an incarnation it has not refuted, was
// answered: a higher incarnation, the rejoin check (for dead), or a
// renewal.
func (ck *checker) checkAboutSelf(pre snapshot, rd *reading) {
	if ck.leaving || ck.core.Generation() > pre.gen {
		return
	}
	withheld := ck.core.Stats().RefutationsWithheld > pre.stats.RefutationsWithheld
	check := func(m *codec.Member) {
		if m.Generation != pre.gen || !ck.plausibleMember(m, pre.gen) || m.Incarnation >= maxIncarnation || m.State == codec.StateLeft {
			return // not about this generation, refused, or a renewal (selfClaims)
		}
		if m.Incarnation < pre.inc || (m.Incarnation == pre.inc && m.State == codec.StateAlive) {
			return // old news
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
	var r codec.Reader
	r.Reset(rd.sections, rd.body)
	for r.Next() {
		for i := 0; i < r.Count(); i++ {
			switch r.Type() {
			case codec.RecMember:
				m, _, err := codec.ParseMember(r.Record(i))
				if err == nil && engine.ID(m.ID) == ck.self && rd.header.Type != codec.MsgJoin {
					check(&m)
				}
			case codec.RecVerdict:
				v, _, err := codec.ParseVerdict(r.Record(i))
				if err == nil {
					check(&codec.Member{ID: uint64(ck.self), Generation: v.Generation, Incarnation: v.Incarnation, State: v.State})
				}
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
	ck.peers.lastTick = now
	if d := ck.core.Deadline(); d <= now {
		ck.failf("after Tick(%d) the deadline is %d, not later", now, d)
	}
	ck.checkView(true)
}

// afterCall checks the core after a user call.
func (ck *checker) afterCall() { ck.checkView(false) }

// checkView checks the member table and application state. ticked says a
// Tick just ran, which must have reaped every tombstone that was due.
func (ck *checker) checkView(ticked bool) {
	cfg := &ck.cfg
	ck.checkGeneration(ticked)
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
		ck.sawAt(m.Addr, uint64(m.ID))
		if m.State.Live() {
			live++
		}
		if m.ID == ck.self {
			self = true
			want := engine.StateAlive
			if ck.leaving {
				want = engine.StateLeft
			}
			if m.State != want || m.Generation != ck.core.Generation() || m.Incarnation != ck.core.Incarnation() {
				ck.failf("own record is %v gen %d inc %d; want %v gen %d inc %d",
					m.State, m.Generation, m.Incarnation, want, ck.core.Generation(), ck.core.Incarnation())
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
	ck.noteOwnState()
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

// openOut opens and decompresses a datagram the node emitted to addr
// (sealed, for a member seen at addr: see sealedFor).
func (ck *checker) openOut(to netip.AddrPort, b []byte) (codec.Header, []byte, bool) {
	if ck.keys != nil {
		p, _, ok := ck.openSent(to, b)
		if !ok {
			return codec.Header{}, nil, false
		}
		b = p
	}
	h, err := codec.ParseHeader(b)
	if err != nil {
		return codec.Header{}, nil, false
	}
	body := b[codec.HeaderSize : codec.HeaderSize+int(h.Length)]
	if h.Flags&codec.FlagCompressed != 0 {
		if body, err = bulk.Decompress(nil, body, 64<<10); err != nil {
			return codec.Header{}, nil, false
		}
	}
	return h, body, true
}

// openSent opens a sealed datagram the node emitted to addr, as its
// receiver there would: for a member ID the node has seen at addr, or, a
// Join or Sync only, for no one (receiver 0). It returns the plain
// datagram and the receiver it was sealed for.
func (ck *checker) openSent(to netip.AddrPort, b []byte) ([]byte, uint64, bool) {
	for id := range ck.idsAt[to] {
		if p, err := codec.OpenFor(nil, b, ck.keys, id); err == nil {
			return p, id, true
		}
	}
	if hv, err := codec.NewHeaderView(b); err == nil && (hv.Type() == codec.MsgJoin || hv.Type() == codec.MsgSync) {
		if p, err := codec.OpenFor(nil, b, ck.keys, 0); err == nil {
			return p, 0, true
		}
	}
	return nil, 0, false
}

// whySealed says whom a sealed datagram the node emitted to addr was
// sealed for, when not for its receiver there: no one, a member seen at
// addr, a member seen only elsewhere, or no member the checker knows.
func (ck *checker) whySealed(to netip.AddrPort, b []byte) string {
	if _, err := codec.OpenFor(nil, b, ck.keys, 0); err == nil {
		return "sealed for no one (only a Join or Sync may be)"
	}
	for id := range ck.idsAt[to] {
		if _, err := codec.OpenFor(nil, b, ck.keys, id); err == nil {
			return fmt.Sprintf("sealed for member %#x, which the node has seen at %v", id, to)
		}
	}
	for addr, ids := range ck.idsAt {
		for id := range ids {
			if _, err := codec.OpenFor(nil, b, ck.keys, id); err == nil {
				return fmt.Sprintf("sealed for member %#x, seen at %v and never at %v", id, addr, to)
			}
		}
	}
	return "sealed for no member the checker knows, or not opening at all"
}

// checkOutput checks every datagram the core emitted since the outbox was
// last reset, records it in the model of the node's requests, and passes
// each one, opened and decompressed, to seen.
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
			if _, _, ok := ck.openSent(msg.Addr, b); !ok {
				ck.failf("emitted a %v datagram to %v that its receiver cannot open: %s", hv.Type(), msg.Addr, ck.whySealed(msg.Addr, b))
				continue
			}
		}
		h, body, ok := ck.openOut(msg.Addr, b)
		if !ok {
			ck.failf("emitted a datagram that does not open, parse or decompress")
			continue
		}
		gen, inc := ck.core.Generation(), ck.core.Incarnation()
		// A datagram sent in a step that renewed, before the renewal, names
		// the generation the node left, at an incarnation it had there.
		if h.Cluster != worldCluster || engine.ID(h.Sender) != ck.self || !h.Type.Known() ||
			!(h.Generation == gen && h.Incarnation <= inc || h.Generation == ck.stepGen && h.Generation < gen && h.Incarnation >= ck.stepInc) {
			ck.failf("emitted a datagram with header %+v (node %v gen %d inc %d)", h, ck.self, gen, inc)
		}
		if err := wellFormed(int(h.Sections), body); err != nil {
			ck.failf("emitted a malformed %v datagram: %v", h.Type, err)
		}
		ck.noteSent(msg.Addr, &h, body)
		if seen != nil {
			seen(msg.Addr, &h, body)
		}
	}
}
