package engine

import (
	"slices"
	"time"

	"github.com/hearsay-io/hearsay/ring"
)

// Members returns the live members this node knows (alive and suspect),
// itself included unless it left, as value snapshots. AllMembers adds the
// tombstones. It reads the published table without locks; each shard of
// the table is consistent, the whole is as of at most one step ago.
func (n *Node) Members() []Member {
	live, _ := n.NumMembers()
	dst := make([]Member, 0, live)
	t := n.snap.t
	for i := range t.pub {
		sh := t.pub[i].Load()
		for j := range sh.recs {
			if sh.recs[j].live() {
				dst = append(dst, sh.recs[j].member())
			}
		}
	}
	return dst
}

// AllMembers returns every member this node holds, as Members does, and
// the tombstones of dead and left members too, kept for
// Config.TombstoneRetention: filter on Member.State to tell them apart.
func (n *Node) AllMembers() []Member {
	_, total := n.NumMembers()
	return n.snap.Members(make([]Member, 0, total))
}

// Member returns what this node knows of member id (itself included), and
// whether it knows it. It is lock-free.
func (n *Node) Member(id ID) (Member, bool) {
	return n.snap.Member(id, ring.Position(uint64(id)))
}

// NumMembers returns the number of live members (alive and suspect, this
// node included) and of all members (tombstones included). It is lock-free.
func (n *Node) NumMembers() (live, total int) {
	t := n.snap.t
	for i := range t.pub {
		sh := t.pub[i].Load()
		live += int(sh.live)
		total += len(sh.recs)
	}
	return live, total
}

// State returns the value of key in member id's application state as this
// node holds it, with its version. The value is a copy. It is lock-free.
func (n *Node) State(id ID, key []byte) (value []byte, version uint64, ok bool) {
	st, held := n.StateOf(id)
	e := st.a.get(key)
	if !held || e == nil || e.deleted {
		return nil, 0, false
	}
	return slices.Clone(e.Value()), e.version, true
}

// StateOf returns member id's whole application state as this node holds
// it (every key, reserved ones such as NameKey included), and whether the
// node holds the member. It is lock-free, and consistent: one member's
// state as of one step of the node. Unlike a subscription, it never
// misses a key: state a node learned before anyone subscribed (a seed is
// contacted as soon as NewNode returns) is there too.
func (n *Node) StateOf(id ID) (StateView, bool) {
	pos := ring.Position(uint64(id))
	t := n.snap.t
	sh := t.pub[t.shardOf(pos)].Load()
	i, found := sh.find(id, pos)
	if !found {
		return StateView{}, false
	}
	return StateView{sh.recs[i].app}, true
}

// Ring returns the consistent-hash ring over the live members this node
// knows (alive and suspect, itself included until it leaves), with the
// default ring.Config. The ring is an immutable snapshot: keep it as long as
// needed; the node publishes a new one, derived by ring.Add and ring.Remove,
// after every step that changes the live set. Two members with the same view
// compute the same owners.
//
// The node maintains the ring from the first call of Ring, Owner or Owners
// on (before that it costs nothing); that first call waits for the node's
// goroutine to build it. After Close, Ring returns the last ring, or one
// built from the final membership.
func (n *Node) Ring() *ring.Ring {
	if r := n.ring.Load(); r != nil {
		return r
	}
	if err := n.do(func(Time) {
		if !n.ringOn {
			n.ringOn = true
			n.rebuildRing()
		}
	}); err != nil {
		// Closed: build from the final table.
		var ids []uint64
		for _, m := range n.Members() {
			ids = append(ids, uint64(m.ID))
		}
		n.ring.CompareAndSwap(nil, ring.New(ring.Config{}, ids))
	}
	return n.ring.Load()
}

// Owner returns the live member that owns key on the ring: the owner of
// ring.KeyHash(key). It reports false when the member is not in this node's
// table any more (possible only between two publications) or the ring is
// empty.
func (n *Node) Owner(key []byte) (Member, bool) {
	id, ok := n.Ring().Owner(ring.KeyHash(key))
	if !ok {
		return Member{}, false
	}
	return n.Member(ID(id))
}

// Owners appends to dst up to k distinct live members in preference order
// for key (the owner first, then the next distinct members clockwise), as
// for replicas, and returns the extended slice.
func (n *Node) Owners(key []byte, k int, dst []Member) []Member {
	var buf [8]uint64
	ids := n.Ring().Owners(ring.KeyHash(key), k, buf[:0])
	for _, id := range ids {
		if m, ok := n.Member(ID(id)); ok {
			dst = append(dst, m)
		}
	}
	return dst
}

// rebuildThreshold is how many pending changes make rebuilding the ring
// from scratch cheaper than applying them one by one: an Add or Remove
// copies about Tokens leaves of 128 tokens plus an index of Len·Tokens/128
// entries, a rebuild sorts Len·Tokens tokens.
func rebuildThreshold(members int) int { return max(8, members/4) }

// updateRing applies the pending membership changes to the ring and
// publishes it. Core goroutine only.
func (n *Node) updateRing() {
	r := n.ring.Load()
	if r == nil || len(n.ringMods) > rebuildThreshold(r.Len()) {
		n.rebuildRing()
		return
	}
	for id, add := range n.ringMods {
		if add {
			r = r.Add(uint64(id))
		} else {
			r = r.Remove(uint64(id))
		}
	}
	clear(n.ringMods)
	n.ring.Store(r)
}

// rebuildRing builds the ring from the core's table. Core goroutine only.
func (n *Node) rebuildRing() {
	n.scratch = n.core.Members(n.scratch[:0])
	n.ids = n.ids[:0]
	for i := range n.scratch {
		if n.scratch[i].State.Live() {
			n.ids = append(n.ids, uint64(n.scratch[i].ID))
		}
	}
	clear(n.ringMods)
	n.ring.Store(ring.New(ring.Config{}, n.ids))
}

// RTT returns the smoothed round-trip time this node measured to member id
// with its own probes (RFC 6298's estimator), and whether it has measured
// it: each node pings its subjects now and then, and the members it
// gossips with, so it knows a few dozen members' round trips at any time.
// A member that answers slowly but steadily is slow, not dead: its probe
// timeouts stretch to fit. Applications can use it to route around slow
// members. RTT runs on the node's goroutine and waits for it; RTTs reads
// every measurement at once. After Close it returns false.
func (n *Node) RTT(id ID) (time.Duration, bool) {
	var d time.Duration
	var ok bool
	if err := n.do(func(Time) { d, ok = n.core.RTT(id) }); err != nil {
		return 0, false
	}
	return d, ok
}

// RTTs returns every round-trip time this node has measured (see RTT), by
// member, in one call on the node's goroutine. After Close it returns nil.
func (n *Node) RTTs() map[ID]time.Duration {
	var out map[ID]time.Duration
	n.do(func(Time) { out = n.core.RTTs() })
	return out
}
