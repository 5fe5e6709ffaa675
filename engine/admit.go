package engine

import (
	"iter"
	"net/netip"

	"github.com/hearsay-io/hearsay/codec"
)

// Admission by the application (Config.Admit) and by address
// (Config.AllowedPrefixes): the package documentation (Admission) says
// when a member is asked about and what a refusal does; the merge code
// (merge.go) calls refusesRecord for a member it would add, admitsUpdate
// for a record that brings one back, moves it or starts a new generation,
// and refusesState for a change of a live member's state.

// maxRefused bounds the refusals remembered.
const maxRefused = 4096

// StateView is the application state of a member, read-only: as
// Config.Admit is asked about it, or as Node.StateOf returns it. Its keys
// and values alias immutable memory: they stay valid after the call, but
// must not be modified.
type StateView struct{ a *appState }

// Get returns the value of key and whether the member holds it (a deleted
// key is not held).
func (v StateView) Get(key []byte) (value []byte, ok bool) {
	e := v.a.get(key)
	if e == nil || e.deleted {
		return nil, false
	}
	return e.Value(), true
}

// Version returns the version of key and whether the member holds it (a
// deleted key is not held).
func (v StateView) Version(key []byte) (version uint64, ok bool) {
	e := v.a.get(key)
	if e == nil || e.deleted {
		return 0, false
	}
	return e.version, true
}

// Len returns the number of keys the member holds, deleted ones left out.
func (v StateView) Len() int { return v.a.live() }

// All yields the member's keys and values in key order, deleted keys left
// out. Reserved keys (ReservedKeyPrefix, such as NameKey) are included.
func (v StateView) All() iter.Seq2[[]byte, []byte] {
	return func(yield func(key, value []byte) bool) {
		if v.a == nil {
			return
		}
		for i := range v.a.entries {
			e := &v.a.entries[i]
			if !e.deleted && !yield(e.Key(), e.Value()) {
				return
			}
		}
	}
}

// refusedSet remembers the members refused, by the generation refused.
type refusedSet struct {
	gen   map[ID]uint64
	order []ID // in the order refused, for forgetting the oldest
	head  int
}

// allowedPrefixes returns ps masked, with IPv4-mapped IPv6 prefixes as
// IPv4 ones, invalid ones left out.
func allowedPrefixes(ps []netip.Prefix) []netip.Prefix {
	var out []netip.Prefix
	for _, p := range ps {
		if !p.IsValid() {
			continue
		}
		if a := p.Addr(); a.Is4In6() && p.Bits() >= 96 {
			p = netip.PrefixFrom(a.Unmap(), p.Bits()-96)
		}
		out = append(out, p.Masked())
	}
	return out
}

// prefixesContain reports whether a, unmapped, lies in one of ps.
func prefixesContain(ps []netip.Prefix, a netip.Addr) bool {
	a = a.Unmap().WithZone("")
	for _, p := range ps {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// sourceAllowed reports whether a datagram from from may be read at all,
// counting it when not.
func (c *Core) sourceAllowed(from netip.AddrPort) bool {
	if len(c.allowed) == 0 || prefixesContain(c.allowed, from.Addr()) {
		return true
	}
	c.stats.DropAddr++
	return false
}

// refusesRecord reports whether this node refuses the member that record
// m describes, with application state app (nil when none is held for m's
// generation), counting the refusal. See refuses.
func (c *Core) refusesRecord(m *codec.Member, app *appState) bool {
	if ID(m.ID) == c.id {
		return false
	}
	mem := Member{
		ID:           ID(m.ID),
		Addr:         m.Addr,
		Generation:   m.Generation,
		Incarnation:  m.Incarnation,
		State:        State(m.State),
		StateVersion: app.versionOr(m.StateVersion),
		Name:         app.memberName(),
	}
	return c.refuses(&mem, app)
}

// versionOr returns a's version, or v when a is nil.
func (a *appState) versionOr(v uint64) uint64 {
	if a == nil {
		return v
	}
	return a.version
}

// refuses reports whether this node refuses member m with application
// state app: its address is outside AllowedPrefixes, it was refused at its
// generation before, or Config.Admit refuses it now (which is remembered).
// It counts the refusal.
func (c *Core) refuses(m *Member, app *appState) bool {
	if c.refusedBefore(m.ID, m.Generation, m.Addr) {
		return true
	}
	if c.cfg.Admit == nil {
		return false
	}
	if err := c.cfg.Admit(*m, StateView{app}); err == nil {
		return false
	}
	c.stats.RefusedByAdmit++
	c.rememberRefusal(m.ID, m.Generation)
	return true
}

// rememberRefusal notes that id was refused at generation gen.
func (c *Core) rememberRefusal(id ID, gen uint64) {
	rs := &c.refused
	if rs.gen == nil {
		rs.gen = make(map[ID]uint64)
	}
	if _, ok := rs.gen[id]; !ok {
		if len(rs.gen) >= maxRefused {
			for rs.head < len(rs.order) {
				old := rs.order[rs.head]
				rs.head++
				if _, held := rs.gen[old]; held {
					delete(rs.gen, old)
					break
				}
			}
		}
		if rs.head > 0 && rs.head >= len(rs.order)/2 {
			rs.order = rs.order[:copy(rs.order, rs.order[rs.head:])]
			rs.head = 0
		}
		rs.order = append(rs.order, id)
	}
	rs.gen[id] = max(rs.gen[id], gen)
}

// knownRefused reports whether the member record m describes is refused
// without asking Config.Admit: by address, or by a refusal remembered. It
// counts the refusal.
func (c *Core) knownRefused(m *codec.Member) bool {
	return c.refusedBefore(ID(m.ID), m.Generation, m.Addr)
}

// refusedBefore reports whether member id at generation gen and address
// addr is refused by address, or was refused at gen, counting it.
func (c *Core) refusedBefore(id ID, gen uint64, addr netip.AddrPort) bool {
	if len(c.allowed) > 0 && !prefixesContain(c.allowed, addr.Addr()) {
		c.stats.RefusedAddr++
		return true
	}
	if g, ok := c.refused.gen[id]; ok && gen <= g {
		c.stats.RefusedRecords++
		return true
	}
	return false
}

// refusedSender reports whether the sender of a datagram with header h
// was refused at the generation the header carries: such a member gets no
// join answer, digests or shard data from this node.
func (c *Core) refusedSender(h *codec.Header) bool {
	g, ok := c.refused.gen[ID(h.Sender)]
	return ok && h.Generation <= g
}

// admitsUpdate reports whether this node takes record m, which supersedes
// r: a record that brings r back to life, moves it to another address or
// starts a new generation of it is a member to admit again. A live r whose
// update is refused is removed.
func (c *Core) admitsUpdate(r *record, m *codec.Member) bool {
	st := State(m.State)
	moved := m.Addr.IsValid() && m.Addr.Port() != 0 && m.Addr != r.addr()
	if !st.Live() || (m.Generation == r.gen && r.live() && !moved) {
		return true
	}
	var app *appState
	if m.Generation == r.gen {
		app = r.app
	}
	next := *m
	if !moved {
		next.Addr = r.addr() // a record without an address keeps the one held (apply)
	}
	if !c.refusesRecord(&next, app) {
		return true
	}
	if r.live() {
		as := newRecord(r.id, next.Addr, m.Generation, m.Incarnation, st)
		as.app = app
		c.dropRefused(r, &as)
	}
	return false
}

// refusesState reports whether Config.Admit refuses the live member rec
// holds now that its application state changed to rec.app.
func (c *Core) refusesState(rec *record) bool {
	if c.cfg.Admit == nil || rec.id == c.id || !rec.live() {
		return false
	}
	m := rec.member()
	return c.refuses(&m, rec.app)
}

// dropRefused removes a member this node held and now refuses: from the
// table and everything that follows it, without declaring it dead. as is
// the record refused (the new state or address), shown in EventRefused.
func (c *Core) dropRefused(r, as *record) {
	rec := *r // r points into the table
	c.tab.remove(rec.id, rec.pos)
	c.q.forget(rec.id)
	c.cancelSuspicion(rec.id)
	delete(c.buriedAt, rec.id)
	if t := c.adm.trust[rec.id]; t != nil {
		c.unverify(rec.id, t)
	}
	k := 0
	for _, p := range c.probes {
		if p.target != rec.id {
			c.probes[k] = p
			k++
		}
	}
	clear(c.probes[k:])
	c.probes = c.probes[:k]
	delete(c.um.wins, rec.id)
	c.topoGen++
	c.stats.RefusedHeld++
	e := Event{Type: EventRefused, Member: as.member()}
	e.Member.State = StateLeft // it left this node's view
	c.emit(e)
}
