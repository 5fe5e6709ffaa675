package ring_test

import (
	"cmp"
	"encoding/binary"
	"slices"

	"github.com/cespare/xxhash/v2"

	"github.com/hearsay-io/hearsay/ring"
)

// This file holds slow reference implementations of Ring and Topology,
// written from the documented rules alone: every answer is computed from
// scratch over the whole member set, in O(members × tokens) per lookup.

// refToken is token i of member id as the package documents it: xxhash64,
// seed 0, of id (8 bytes, big-endian) followed by i (4 bytes, big-endian).
func refToken(id uint64, i int) uint64 {
	var b [12]byte
	binary.BigEndian.PutUint64(b[:8], id)
	binary.BigEndian.PutUint32(b[8:], uint32(i))
	return xxhash.Sum64(b[:])
}

// refPosition is Position as documented.
func refPosition(id uint64) uint64 {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], id)
	return xxhash.Sum64(b[:])
}

// refRing is the reference ring: a member set and a token count.
type refRing struct {
	tokens  int
	members []uint64                      // ascending
	tok     func(id uint64, i int) uint64 // token positions
}

func newRefRing(tokens int, ids []uint64) *refRing {
	r := &refRing{tokens: tokens, tok: refToken}
	for _, id := range ids {
		r.add(id)
	}
	return r
}

func (r *refRing) clone() *refRing {
	return &refRing{tokens: r.tokens, members: slices.Clone(r.members), tok: r.tok}
}

func (r *refRing) add(id uint64) {
	if i, ok := slices.BinarySearch(r.members, id); !ok {
		r.members = slices.Insert(r.members, i, id)
	}
}

func (r *refRing) remove(id uint64) {
	if i, ok := slices.BinarySearch(r.members, id); ok {
		r.members = slices.Delete(r.members, i, i+1)
	}
}

type refTok struct{ hash, id uint64 }

// tokens returns every token in ring order: ascending by (hash, id).
func (r *refRing) tokensSorted() []refTok {
	var ts []refTok
	for _, id := range r.members {
		for i := range r.tokens {
			ts = append(ts, refTok{r.tok(id, i), id})
		}
	}
	slices.SortFunc(ts, func(a, b refTok) int {
		return cmp.Or(cmp.Compare(a.hash, b.hash), cmp.Compare(a.id, b.id))
	})
	return slices.Compact(ts)
}

// owner returns the member whose token has the smallest clockwise distance
// from key (distance 0 being the key itself), smallest ID on a tie.
func (r *refRing) owner(key uint64) (uint64, bool) {
	var best, bestD uint64
	found := false
	for _, id := range r.members {
		for i := range r.tokens {
			d := r.tok(id, i) - key
			if !found || d < bestD || d == bestD && id < best {
				best, bestD, found = id, d, true
			}
		}
	}
	return best, found
}

// owners lists every token by clockwise distance from key and takes the
// first n distinct members.
func (r *refRing) owners(key uint64, n int) []uint64 {
	ts := r.tokensSorted()
	slices.SortStableFunc(ts, func(a, b refTok) int {
		return cmp.Compare(a.hash-key, b.hash-key)
	})
	var out []uint64
	for _, t := range ts {
		if len(out) >= n {
			break
		}
		if !slices.Contains(out, t.id) {
			out = append(out, t.id)
		}
	}
	return out
}

// ranges cuts the circle at every token into intervals (t[i-1], t[i]], each
// owned by the member of t[i], drops the empty ones, and joins the runs of
// consecutive intervals owned by id.
func (r *refRing) ranges(id uint64) []ring.Range {
	if _, ok := slices.BinarySearch(r.members, id); !ok {
		return nil
	}
	ts := r.tokensSorted()
	type interval struct {
		g   ring.Range
		own bool
	}
	var ivs []interval
	for i, t := range ts {
		prev := ts[(i+len(ts)-1)%len(ts)].hash
		if i > 0 && prev == t.hash {
			continue // empty
		}
		ivs = append(ivs, interval{ring.Range{Start: prev, End: t.hash}, t.id == id})
	}
	// Rotate so that the walk starts just after an interval id does not
	// own; when there is none, id owns the circle.
	k := slices.IndexFunc(ivs, func(iv interval) bool { return !iv.own })
	if k < 0 {
		last := ts[len(ts)-1].hash
		return []ring.Range{{Start: last, End: last}}
	}
	var out []ring.Range
	inRun := false
	for n := 1; n <= len(ivs); n++ {
		iv := ivs[(k+n)%len(ivs)]
		switch {
		case !iv.own:
			inRun = false
		case inRun:
			out[len(out)-1].End = iv.g.End
		default:
			out = append(out, iv.g)
			inRun = true
		}
	}
	slices.SortFunc(out, func(a, b ring.Range) int { return cmp.Compare(a.End, b.End) })
	return out
}

// refTopology is the reference monitoring relation: a member set.
type refTopology struct {
	members []uint64               // ascending by ID
	pos     func(id uint64) uint64 // nil: refPosition
}

func (t *refTopology) position(id uint64) uint64 {
	if t.pos != nil {
		return t.pos(id)
	}
	return refPosition(id)
}

func (t *refTopology) add(id uint64) {
	if i, ok := slices.BinarySearch(t.members, id); !ok {
		t.members = slices.Insert(t.members, i, id)
	}
}

func (t *refTopology) remove(id uint64) {
	if i, ok := slices.BinarySearch(t.members, id); ok {
		t.members = slices.Delete(t.members, i, i+1)
	}
}

// walk returns the members other than id in the order met walking from id
// around the circle ordered by (Position, ID): clockwise when forward,
// counterclockwise otherwise.
func (t *refTopology) walk(id uint64, forward bool) []uint64 {
	p := t.position(id)
	type step struct {
		wrapped bool   // same position as id but on the far side of it
		dist    uint64 // distance from p in the direction of the walk
		id      uint64
	}
	var ss []step
	for _, m := range t.members {
		if m == id {
			continue
		}
		q := t.position(m)
		s := step{dist: q - p, id: m}
		if !forward {
			s.dist = p - q
		}
		// At id's own position, members with a larger ID follow it and
		// those with a smaller one precede it.
		s.wrapped = s.dist == 0 && (m > id) != forward
		ss = append(ss, s)
	}
	slices.SortFunc(ss, func(a, b step) int {
		if a.wrapped != b.wrapped {
			if a.wrapped {
				return 1
			}
			return -1
		}
		if c := cmp.Compare(a.dist, b.dist); c != 0 {
			return c
		}
		// Members at one position are met in ascending ID order going
		// forward and descending going backward.
		if forward {
			return cmp.Compare(a.id, b.id)
		}
		return cmp.Compare(b.id, a.id)
	})
	out := make([]uint64, len(ss))
	for i, s := range ss {
		out[i] = s.id
	}
	return out
}

func (t *refTopology) observers(id uint64, k int) []uint64 {
	w := t.walk(id, true)
	return w[:max(0, min(k, len(w)))]
}

func (t *refTopology) subjects(id uint64, k int) []uint64 {
	w := t.walk(id, false)
	return w[:max(0, min(k, len(w)))]
}
