package ring

import "slices"

// Add returns a ring that also holds member id; r is unchanged. When id is
// already a member, Add returns r.
//
// Add places the new member's tokens with one index lookup each, copies each
// leaf that receives one (about Tokens leaves of about 128 tokens), and
// rebuilds the leaf index and member tables, which are O(Len × Tokens / 128)
// and O(Len); every other leaf is shared with r.
func (r *Ring) Add(id uint64) *Ring {
	at, found := slices.BinarySearch(r.members, id)
	if found {
		return r
	}
	if r.tokens == 0 {
		// The zero Ring: adopt the default Config.
		r = &Ring{tokens: Config{}.tokens(), leafSize: Config{}.leaf()}
	}
	nr := r.derive()
	nr.members = inserted(r.members, at, id)
	var slot uint32
	if n := len(r.free); n > 0 {
		slot = r.free[n-1]
		nr.free = slices.Clone(r.free[:n-1])
		nr.ids = slices.Clone(r.ids)
		nr.ids[slot] = id
	} else {
		slot = uint32(len(r.ids))
		nr.ids = append(slices.Clip(r.ids), id)
	}
	toks := r.memberTokens(id, slot)
	if len(r.leaves) == 0 {
		nr.leaves = chop(nil, toks, r.leafSize)
		nr.index = newIndex(nr.leaves)
		return nr
	}

	out := make([]leaf, 0, len(r.leaves)+len(toks)/r.leafSize+1)
	next := 0 // first leaf of r not yet copied to out
	var b builder
	for k := 0; k < len(toks); {
		// Merge into leaf c every new token that belongs there.
		c, j := r.seek(toks[k].hash, id)
		out = append(out, r.leaves[next:c]...)
		lf := r.leaves[c]
		b.reset()
		b.copyFrom(lf, 0, j)
		b.add(toks[k])
		for k++; k < len(toks); k++ {
			c2, j2 := r.seek(toks[k].hash, id)
			if c2 != c {
				break
			}
			b.copyFrom(lf, j, j2)
			b.add(toks[k])
			j = j2
		}
		b.copyFrom(lf, j, lf.size())
		out = b.emit(out, r.leafSize)
		next = c + 1
	}
	out = append(out, r.leaves[next:]...)
	nr.leaves = out
	nr.index = newIndex(out)
	return nr
}

// Remove returns a ring without member id; r is unchanged. When id is not a
// member, Remove returns r. Its cost is that of Add.
func (r *Ring) Remove(id uint64) *Ring {
	at, found := slices.BinarySearch(r.members, id)
	if !found {
		return r
	}
	nr := r.derive()
	nr.members = deleted(r.members, at)
	if len(nr.members) == 0 {
		// Drop every slot, so an emptied ring holds no memory.
		nr.index = newIndex(nil)
		return nr
	}
	toks := r.memberTokens(id, 0)
	c0, j0 := r.seek(toks[0].hash, id)
	nr.ids = r.ids // unchanged: id's slot becomes free
	nr.free = append(slices.Clip(r.free), r.leaves[c0].slot(j0))

	half := r.leafSize / 2
	out := make([]leaf, 0, len(r.leaves))
	next := 0
	var b builder
	for k := 0; k < len(toks); {
		// Drop from leaf c every token of id it holds.
		c, j := r.seek(toks[k].hash, id)
		out = append(out, r.leaves[next:c]...)
		lf := r.leaves[c]
		b.reset()
		b.copyFrom(lf, 0, j)
		for k++; k < len(toks); k++ {
			c2, j2 := r.seek(toks[k].hash, id)
			if c2 != c {
				break
			}
			b.copyFrom(lf, j+1, j2)
			j = j2
		}
		b.copyFrom(lf, j+1, lf.size())
		if b.len() < half && len(out) > 0 {
			// Too small: merge with the leaf before it.
			prev := out[len(out)-1]
			out = out[:len(out)-1]
			rest := b.leaf(0, b.len())
			b.reset()
			b.copyFrom(prev, 0, prev.size())
			b.copyFrom(rest, 0, rest.size())
		}
		out = b.emit(out, r.leafSize)
		next = c + 1
	}
	out = append(out, r.leaves[next:]...)
	nr.leaves = out
	nr.index = newIndex(out)
	return nr
}

// inserted returns a new slice holding s with v inserted at index i.
func inserted[T any](s []T, i int, v T) []T {
	out := make([]T, len(s)+1)
	copy(out, s[:i])
	out[i] = v
	copy(out[i+1:], s[i:])
	return out
}

// deleted returns a new slice holding s without the element at index i.
func deleted[T any](s []T, i int) []T {
	out := make([]T, len(s)-1)
	copy(out, s[:i])
	copy(out[i:], s[i+1:])
	return out
}
