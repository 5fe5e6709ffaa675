package fuzz_test

import (
	"time"

	"github.com/hearsay-io/hearsay/codec"
	"github.com/hearsay-io/hearsay/engine"
)

// The node is the authority on itself (engine/authority.go). The checker
// reads every claim a datagram makes about the node (member records with
// its ID, Verdict records, state entries it owns) and decides what the
// node must do about it:
//
//   - renew (start a new generation above the claim's) for a record at a
//     later generation, Left at its generation, an incarnation it cannot
//     exceed, or state at its generation under a key it never wrote: at
//     once, or within renewGap of its last renewal, by the first tick past
//     it;
//   - republish, above the claim, the true value of a key it wrote, for an
//     entry at a higher version or at its version with another value;
//   - refute an accusation at once (checkAboutSelf).
//
// Its generation rises only then: at most once per renewGap, and only
// while a claim that needs it (or a rejoin that refutes a death at an
// incarnation it cannot exceed) is outstanding.

// owedRenewal is a renewal a claim made necessary.
type owedRenewal struct {
	above uint64      // the renewal must reach a generation above this
	since engine.Time // when the claim arrived
	due   engine.Time // the renewal must have run by the first tick at or after due
}

// ownEntry is an application-state entry of the node, as the harness wrote
// it (or the node republished it).
type ownEntry struct {
	version uint64
	value   string
	deleted bool
}

// renewGap is the least time between two renewals: 2 × HeartbeatInterval.
func (ck *checker) renewGap() time.Duration { return 2 * ck.cfg.HeartbeatInterval }

// applied says whether the node applies the records of a datagram it
// accepted: not those of a Join from an address that has not proven
// itself, nor of shard data or a join reply it did not ask for.
func (ck *checker) applied(rd *reading) tri {
	if rd.unsure {
		return maybe
	}
	switch rd.header.Type {
	case codec.MsgJoin:
		return ck.validated(ck.from, rd)
	case codec.MsgJoinReply:
		return ck.expected(ck.from)
	case codec.MsgShardData:
		return ck.shardsAnswered(ck.from, rd)
	}
	return yes
}

// selfClaims reads what datagram rd says about the node and checks the
// node's answer. pre is the node before the datagram.
func (ck *checker) selfClaims(pre *snapshot, rd *reading, applied tri) {
	if applied == no || ck.leaving {
		return
	}
	genB, incB := pre.gen, pre.inc
	genF, incF := ck.core.Generation(), ck.core.Incarnation()
	var needs []uint64
	license := false
	need := func(above uint64) {
		switch {
		case above > genB && genF == above:
			// The datagram made the node renew to the generation of this
			// claim: read after that renewal, the claim was about the
			// node's own generation (and maybe no news).
			license = true
		case applied == yes:
			needs = append(needs, above)
		default:
			license = true
		}
	}
	// A record about the node's own member, from a member record or a
	// Verdict: plausible under the generation the node had when it read it
	// (genB, or genF after a renewal earlier in the datagram).
	member := func(m *codec.Member) {
		if !ck.plausibleMember(m, genB) {
			if ck.plausibleMember(m, genF) {
				license = true
			}
			return
		}
		// At the node's generation, the incarnation it had when it read
		// the record lies between incB and incF (or, if the datagram made
		// it renew, incB and whatever it refuted to before).
		incAt := incF
		if genF > genB {
			incAt = incB
		}
		switch {
		case m.Generation > genB:
			need(m.Generation)
		case m.Generation < genB:
		case m.State == codec.StateLeft:
			// Left is final within a generation, and the node did not
			// leave; unless the node refuted above it first.
			switch {
			case genF == genB && m.Incarnation >= incF:
				need(genB)
			case m.Incarnation >= incB:
				license = true
			}
		case m.Incarnation >= maxIncarnation && (m.State != codec.StateAlive || m.Incarnation > incAt):
			// An incarnation the node cannot exceed: refuting it is
			// renewing, at once unless the node waits to rejoin.
			// (Rejoining now: a death earlier in the datagram began it.)
			if m.State == codec.StateDead || pre.rejoining || ck.rejoining ||
				ck.core.Stats().RefutationsWithheld > pre.stats.RefutationsWithheld {
				ck.rejoinLicense = true
			} else {
				need(genB)
			}
		}
	}
	var r codec.Reader
	r.Reset(rd.sections, rd.body)
	for r.Next() {
		for i := 0; i < r.Count(); i++ {
			switch r.Type() {
			case codec.RecMember:
				m, _, _ := codec.ParseMember(r.Record(i))
				if engine.ID(m.ID) != ck.self || rd.header.Type == codec.MsgJoin {
					continue // a joiner speaks for itself only
				}
				member(&m)
			case codec.RecVerdict:
				v, _, _ := codec.ParseVerdict(r.Record(i))
				member(&codec.Member{ID: uint64(ck.self), Generation: v.Generation, Incarnation: v.Incarnation, State: v.State})
			case codec.RecState:
				e, _, _ := codec.ParseStateEntry(r.Record(i))
				if engine.ID(e.Owner) != ck.self || e.Version > maxStateVersion {
					continue
				}
				if !ck.plausibleGen(e.Generation, genB) {
					if ck.plausibleGen(e.Generation, genF) {
						license = true
					}
					continue
				}
				switch {
				case e.Generation > genB:
					need(e.Generation)
				case e.Generation < genB:
				case genF > genB:
					// Renewed by this datagram: the entry is of the
					// generation left behind, unless it was a cause.
					if !ck.ownStateClaim(&e, maybe, pre.selfStateVersion) {
						license = true
					}
				default:
					if !ck.ownStateClaim(&e, applied, pre.selfStateVersion) {
						need(genB)
					}
				}
			}
		}
	}
	if license {
		// The node may renew at once or, within the gap of its last
		// renewal (this datagram's, perhaps), when the gap is over.
		ck.renewLicense = max(ck.renewLicense, ck.now.Add(ck.renewGap()))
	}
	if len(needs) == 0 {
		return
	}
	ck.renewCause = true
	immediate := ck.renewedAt == 0 || ck.now >= ck.renewedAt.Add(ck.renewGap())
	if immediate && genF == genB {
		ck.failf("told claims about itself that need a renewal (above generations %v) at %v, the node stayed at generation %d",
			needs, ck.now, genB)
		return
	}
	due := ck.renewedAt.Add(ck.renewGap())
	if immediate {
		due = ck.now.Add(ck.renewGap())
	}
	for _, g := range needs {
		if genF <= g {
			ck.owed = append(ck.owed, owedRenewal{above: g, since: ck.now, due: due})
		}
	}
}

// ownStateClaim checks the node's answer to a state entry about itself at
// its generation; stateVersion is the node's highest version before the
// datagram. It returns false when the entry needs a renewal: a key the
// node never wrote, or a version the node cannot exceed.
func (ck *checker) ownStateClaim(e *codec.StateEntry, applied tri, stateVersion uint64) bool {
	key := string(e.Key)
	own, wrote := ck.own[key]
	switch {
	case !wrote:
		return false
	case e.Version < own.version:
		return true // an old version of ours
	case e.Version == own.version && own.deleted == e.Deleted && own.value == string(e.Value):
		return true // ours
	case e.Version >= maxStateVersion-1 || stateVersion >= maxStateVersion-1:
		return false
	}
	// A higher version, or ours with another value: the node publishes its
	// true value above it at once.
	if applied != yes || own.deleted {
		return true // the version of a deleted key does not show
	}
	v, ver, ok := ck.core.State(ck.self, e.Key)
	switch {
	case !ok || string(v) != own.value:
		ck.failf("told %q=%q at version %d, the node changed its own %q=%q (v%d) to %q (v%d, held %v)",
			e.Key, e.Value, e.Version, e.Key, own.value, own.version, v, ver, ok)
	case ver < e.Version || ver == e.Version && !(own.deleted == e.Deleted && own.value == string(e.Value)):
		ck.failf("told %q=%q at version %d, the node holds its own %q at version %d, not above",
			e.Key, e.Value, e.Version, e.Key, ver)
	}
	return true
}

// noteOwnState records the node's own state after a call or a step: the
// versions of its live keys as it publishes them.
func (ck *checker) noteOwnState() {
	for key, e := range ck.own {
		if e.deleted {
			continue
		}
		if v, ver, ok := ck.core.State(ck.self, []byte(key)); ok && string(v) == e.value && ver > e.version {
			e.version = ver
			ck.own[key] = e
		}
	}
}

// wrote records a SetState (deleted false) or DeleteState call the node
// accepted.
func (ck *checker) wrote(key []byte, value []byte, deleted bool) {
	m, _ := ck.core.Member(ck.self)
	ck.own[string(key)] = ownEntry{version: m.StateVersion, value: string(value), deleted: deleted}
}

// checkGeneration checks the node's generation after a step: it never goes
// back, and rises only by a renewal a claim made necessary, at most once
// per renewGap; a renewal owed is done by the first tick past its due
// time.
func (ck *checker) checkGeneration(ticked bool) {
	g := ck.core.Generation()
	switch {
	case g < ck.gen:
		ck.failf("own generation went back from %d to %d", ck.gen, g)
	case g > ck.gen:
		if !ck.renewCause && ck.renewLicense == 0 && !ck.rejoinLicense && len(ck.owed) == 0 {
			ck.failf("own generation rose from %d to %d at %v with no claim that needs it", ck.gen, g, ck.now)
		}
		if ck.renewedAt != 0 && ck.now < ck.renewedAt.Add(ck.renewGap()) {
			ck.failf("renewed at %v and again at %v, within %v", ck.renewedAt, ck.now, ck.renewGap())
		}
		ck.gen, ck.renewedAt = g, ck.now
		if !ck.rejoining {
			ck.rejoinLicense = false
		}
		kept := ck.owed[:0]
		for _, o := range ck.owed {
			if o.above >= g {
				kept = append(kept, o)
			}
		}
		ck.owed = kept
	}
	ck.renewCause = false
	if ck.leaving {
		ck.owed = ck.owed[:0]
	}
	if ck.core.Incarnation() >= maxIncarnation {
		ck.rejoinLicense = true // the next refutation is a renewal
	}
	if !ticked {
		return
	}
	if ck.renewLicense != 0 && ck.now >= ck.renewLicense {
		ck.renewLicense = 0 // the renewal it allowed ran at this tick, or never will
	}
	for _, o := range ck.owed {
		if ck.now >= o.due {
			ck.failf("a claim at %v needs a renewal above generation %d by %v; at %v the node is still at %d",
				o.since, o.above, o.due, ck.now, g)
			return
		}
	}
}
