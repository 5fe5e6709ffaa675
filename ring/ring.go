package ring

import (
	"cmp"
	"slices"
)

// Ring is a consistent-hash ring over a set of members: each member places
// Config.Tokens tokens on the 2^64 key circle, and a key belongs to the member
// whose token is the first at or clockwise after it.
//
// A Ring is an immutable snapshot. Add and Remove return a new snapshot and
// leave the receiver unchanged, so any number of goroutines may read a Ring
// while another derives the next one; publish snapshots through an
// atomic.Pointer. The answers of every method depend only on the Config and
// the member set, never on the order of construction: two processes holding
// the same members compute the same owners.
//
// The tokens are kept in ring order in leaves of about 128 (see
// defaultLeafSize), indexed by the last token of each leaf. A lookup is a
// binary search over the index and one over a leaf. Add and Remove copy the
// index and only the leaves the member's tokens fall in, sharing the rest with
// the previous snapshot.
//
// The zero Ring is an empty ring with the default Config.
type Ring struct {
	tokens   int // tokens per member
	leafSize int
	tokenFn  func(id uint64, i int) uint64 // nil: tokenHash

	leaves []leaf // the tokens in ring order
	index  index  // finds the leaf of a key

	ids     []uint64 // member ID by slot; free slots hold stale values
	free    []uint32 // slots no token refers to
	members []uint64 // member IDs, ascending
}

// New returns a ring holding the members ids. Duplicate IDs count once. A
// Config that fails Validate is normalized as Validate describes.
func New(cfg Config, ids []uint64) *Ring {
	r := &Ring{tokens: cfg.tokens(), leafSize: cfg.leaf(), tokenFn: cfg.tokenFn}
	r.members = slices.Clone(ids)
	slices.Sort(r.members)
	r.members = slices.Compact(r.members)
	// Slots follow the sorted members, so ordering tokens by (hash, slot)
	// orders them by (hash, member ID).
	r.ids = slices.Clone(r.members)
	toks := r.sortedTokens()
	r.leaves = chop(make([]leaf, 0, len(toks)/r.leafSize+1), toks, r.leafSize)
	r.index = newIndex(r.leaves)
	return r
}

// token returns token i of member id.
func (r *Ring) token(id uint64, i int) uint64 {
	if r.tokenFn != nil {
		return r.tokenFn(id, i)
	}
	return tokenHash(id, i)
}

// derive returns an empty ring with r's configuration.
func (r *Ring) derive() *Ring {
	return &Ring{tokens: r.tokens, leafSize: r.leafSize, tokenFn: r.tokenFn}
}

// Len returns the number of members.
func (r *Ring) Len() int { return len(r.members) }

// Contains reports whether id is a member.
func (r *Ring) Contains(id uint64) bool {
	_, ok := slices.BinarySearch(r.members, id)
	return ok
}

// Members appends the member IDs to dst in ascending order and returns the
// extended slice.
func (r *Ring) Members(dst []uint64) []uint64 {
	return append(dst, r.members...)
}

// Owner returns the member that owns key: the owner of the first token at or
// clockwise after key, wrapping past 2^64-1 to 0. Tokens at the same position
// are ordered by member ID, smallest first. Owner reports false on an empty
// ring. It takes no locks and does not allocate.
func (r *Ring) Owner(key uint64) (uint64, bool) {
	c, j, ok := r.search(key)
	if !ok {
		return 0, false
	}
	return r.ids[r.leaves[c].slot(j)], true
}

// Owners appends to dst up to n distinct members in preference order for key,
// the owner first: walking clockwise from key, each member is taken at its
// first token. It appends min(n, Len()) members and returns the extended
// slice; it does not allocate when dst has room for them.
//
// Owners is meant for small n, such as a replication factor: it checks each
// token walked against the members already taken, so its cost grows as n
// times the number of tokens walked, about n*n for n much smaller than Len.
func (r *Ring) Owners(key uint64, n int, dst []uint64) []uint64 {
	n = min(n, len(r.members))
	if n <= 0 {
		return dst
	}
	c, j, _ := r.search(key)
	start := len(dst)
	for {
		lf := r.leaves[c]
		for size := lf.size(); j < size; j++ {
			id := r.ids[lf.slot(j)]
			if slices.Contains(dst[start:], id) {
				continue
			}
			dst = append(dst, id)
			if len(dst)-start == n {
				return dst
			}
		}
		// Every member has a token, so n members are found within one
		// turn of the circle.
		j = 0
		if c++; c == len(r.leaves) {
			c = 0
		}
	}
}

// Ranges appends to dst the arcs of the key circle that member id owns and
// returns the extended slice: a key k belongs to id exactly when one of the
// ranges contains k. Adjacent arcs are merged, so the ranges are maximal,
// disjoint and non-empty; they are ordered by End, so a range that wraps
// around zero comes first. A member that owns the whole circle gets one range
// with Start == End. Ranges appends nothing when id is not a member or owns
// no key (possible only when every one of its tokens collides with a token of
// a smaller ID).
//
// Ranges allocates nothing when dst has room for Config.Tokens more ranges.
func (r *Ring) Ranges(id uint64, dst []Range) []Range {
	if !r.Contains(id) {
		return dst
	}
	start := len(dst)
	for i := range r.tokens {
		h := r.token(id, i)
		c, j := r.seek(h, id)
		var prev uint64
		switch {
		case j > 0:
			prev = r.leaves[c][j-1]
		case c > 0:
			prev = r.leaves[c-1].last()
		default:
			// The first token of the ring owns the arc from the last
			// token, around zero: the whole circle when they are at the
			// same position.
			prev = r.leaves[len(r.leaves)-1].last()
			dst = append(dst, Range{Start: prev, End: h})
			continue
		}
		if prev != h {
			dst = append(dst, Range{Start: prev, End: h})
		}
	}
	return mergeRanges(dst, start)
}

// mergeRanges sorts dst[start:] by End, drops duplicates (two equal tokens
// of one member) and merges ranges that touch, including across zero.
func mergeRanges(dst []Range, start int) []Range {
	rs := dst[start:]
	if len(rs) <= 1 {
		return dst
	}
	slices.SortFunc(rs, compareEnd)
	rs = slices.Compact(rs)
	out := rs[:1]
	for _, g := range rs[1:] {
		last := &out[len(out)-1]
		switch {
		case g.Start == last.End:
			last.End = g.End
		default:
			out = append(out, g)
		}
	}
	// The last range may end where the first begins: join them across zero.
	if n := len(out); n > 1 && out[n-1].End == out[0].Start {
		out[0].Start = out[n-1].Start
		out = out[:n-1]
	}
	return dst[:start+len(out)]
}

func compareEnd(a, b Range) int { return cmp.Compare(a.End, b.End) }

// search returns the leaf c and index j of the first token at or clockwise
// after key; ok is false on an empty ring.
func (r *Ring) search(key uint64) (c, j int, ok bool) {
	if len(r.leaves) == 0 {
		return 0, 0, false
	}
	c = r.index.find(key)
	if c == len(r.leaves) {
		return 0, 0, true
	}
	return c, lowerBound(r.leaves[c].hashes(), key), true
}

// seek returns the position of the first token not less than (h, id) in ring
// order. When every token is less, it returns the end of the last leaf. The
// ring must not be empty.
func (r *Ring) seek(h, id uint64) (c, j int) {
	n := len(r.leaves)
	c = r.index.find(h)
	if c == n {
		return n - 1, r.leaves[n-1].size()
	}
	lf := r.leaves[c]
	j = lowerBound(lf.hashes(), h)
	for {
		for m := lf.size(); j < m && lf[j] == h && r.ids[lf.slot(j)] < id; j++ {
		}
		if j < lf.size() || c == n-1 {
			return c, j
		}
		// Tokens at position h may continue in the next leaf.
		c, j = c+1, 0
		lf = r.leaves[c]
	}
}

// lowerBound returns the index of the first element of s not less than x, or
// len(s).
func lowerBound(s []uint64, x uint64) int {
	lo, hi := 0, len(s)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if s[m] < x {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return lo
}
