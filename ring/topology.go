package ring

import "slices"

// Topology is the monitoring relation: who observes whom. Members are placed
// on a circle by Position and ordered by (Position(id), id) as unsigned
// integers; the observers of a member are the k members that follow it
// clockwise in that order and its subjects are the k members that precede
// it. Every member is therefore observed by exactly min(k, n-1) others and
// observes exactly min(k, n-1), and the relation depends only on the member
// set: every process that holds the same members computes the same
// observers.
//
// One join or leave changes the relation little. When x joins a set of n
// members it gains min(k, n) observers and min(k, n) subjects; when n > k
// each of its k predecessors also loses the observer that x displaced, its
// former k-th successor. So a join changes exactly 3k (observer, subject)
// pairs when n > k and 2n when n <= k; a leave is the reverse of a join and
// changes as many.
//
// A Topology is an immutable snapshot, like Ring: Add and Remove return a new
// one and leave the receiver unchanged, and any number of goroutines may read
// it. It stores the members in circle order; Add and Remove copy that order
// (16 bytes per member).
//
// The zero Topology is empty and ready to use.
type Topology struct {
	pos   []uint64               // Position of each member, in circle order
	ids   []uint64               // member IDs, in circle order
	posFn func(id uint64) uint64 // nil: Position; tests set colliding ones
}

// position returns the place of id on the circle.
func (t *Topology) position(id uint64) uint64 {
	if t.posFn != nil {
		return t.posFn(id)
	}
	return Position(id)
}

// NewTopology returns the topology of the members ids. Duplicate IDs count
// once.
func NewTopology(ids []uint64) *Topology {
	return newTopology(nil, ids)
}

func newTopology(posFn func(uint64) uint64, ids []uint64) *Topology {
	t := &Topology{posFn: posFn}
	type entry struct{ pos, id uint64 }
	es := make([]entry, len(ids))
	for i, id := range ids {
		es[i] = entry{t.position(id), id}
	}
	slices.SortFunc(es, func(a, b entry) int {
		if a.pos != b.pos {
			if a.pos < b.pos {
				return -1
			}
			return 1
		}
		switch {
		case a.id < b.id:
			return -1
		case a.id > b.id:
			return 1
		}
		return 0
	})
	es = slices.Compact(es)
	t.pos, t.ids = make([]uint64, len(es)), make([]uint64, len(es))
	for i, e := range es {
		t.pos[i], t.ids[i] = e.pos, e.id
	}
	return t
}

// Len returns the number of members.
func (t *Topology) Len() int { return len(t.ids) }

// Contains reports whether id is a member.
func (t *Topology) Contains(id uint64) bool {
	i := t.lower(t.position(id), id)
	return i < len(t.ids) && t.ids[i] == id
}

// Members appends the member IDs to dst in circle order, that is ascending
// by (Position, id), and returns the extended slice.
func (t *Topology) Members(dst []uint64) []uint64 {
	return append(dst, t.ids...)
}

// Add returns a topology that also holds member id; t is unchanged. When id
// is already a member, Add returns t.
func (t *Topology) Add(id uint64) *Topology {
	p := t.position(id)
	i := t.lower(p, id)
	if i < len(t.ids) && t.ids[i] == id {
		return t
	}
	return &Topology{
		pos:   inserted(t.pos, i, p),
		ids:   inserted(t.ids, i, id),
		posFn: t.posFn,
	}
}

// Remove returns a topology without member id; t is unchanged. When id is
// not a member, Remove returns t.
func (t *Topology) Remove(id uint64) *Topology {
	i := t.lower(t.position(id), id)
	if i == len(t.ids) || t.ids[i] != id {
		return t
	}
	return &Topology{
		pos:   deleted(t.pos, i),
		ids:   deleted(t.ids, i),
		posFn: t.posFn,
	}
}

// Observers appends to dst the observers of id, the min(k, m) members that
// follow it clockwise, nearest first, where m is the number of members other
// than id, and returns the extended slice. id need not be a member: the
// observers of an outsider are the members that would observe it if it
// joined. Observers does not allocate when dst has room for k more IDs.
func (t *Topology) Observers(id uint64, k int, dst []uint64) []uint64 {
	p := t.position(id)
	i := t.lower(p, id) // id itself, if a member, or its successor
	n := len(t.ids)
	if i < n && t.ids[i] == id {
		i++
		n--
	}
	// Walking forward from the successor, id (when a member) is the n-th
	// entry after it, so the first n never include it.
	for range min(k, n) {
		if i >= len(t.ids) {
			i = 0
		}
		dst = append(dst, t.ids[i])
		i++
	}
	return dst
}

// Subjects appends to dst the subjects of id, the min(k, m) members that
// precede it counterclockwise, nearest first, where m is the number of
// members other than id, and returns the extended slice. x is a subject of y
// exactly when y is an observer of x. id need not be a member. Subjects does
// not allocate when dst has room for k more IDs.
func (t *Topology) Subjects(id uint64, k int, dst []uint64) []uint64 {
	p := t.position(id)
	i := t.lower(p, id) - 1 // the predecessor of id
	n := len(t.ids)
	if i+1 < n && t.ids[i+1] == id {
		n--
	}
	for range min(k, n) {
		if i < 0 {
			i = len(t.ids) - 1
		}
		dst = append(dst, t.ids[i])
		i--
	}
	return dst
}

// lower returns the index of the first member not less than (p, id) in
// circle order, or Len().
func (t *Topology) lower(p, id uint64) int {
	i := lowerBound(t.pos, p)
	for i < len(t.ids) && t.pos[i] == p && t.ids[i] < id {
		i++
	}
	return i
}
