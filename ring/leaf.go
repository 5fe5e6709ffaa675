package ring

import "slices"

// A leaf holds a run of consecutive tokens in ring order, ascending by
// (position, member ID), in one allocation with no pointers: the n token
// positions, then the n member slots packed two to a word, slot j in the low
// half of word n+j/2 when j is even and in the high half when it is odd. A
// leaf of n tokens is n+ceil(n/2) words long, so n is two thirds of its
// length, rounded down.
//
// Leaves are never modified once built; Add and Remove build replacements
// and share the others with the previous snapshot.
type leaf []uint64

// size returns the number of tokens in l.
func (l leaf) size() int { return len(l) * 2 / 3 }

// hashes returns the token positions of l.
func (l leaf) hashes() []uint64 { return l[:l.size()] }

// slot returns the member slot of token j.
func (l leaf) slot(j int) uint32 {
	return uint32(l[l.size()+j>>1] >> (uint(j&1) << 5))
}

// last returns the position of the last token of l.
func (l leaf) last() uint64 { return l[l.size()-1] }

// slotToken is a token being placed: its position and its member's slot.
type slotToken struct {
	hash uint64
	slot uint32
}

// builder assembles the tokens of new leaves; one builder serves many.
type builder struct {
	hash []uint64
	slot []uint32
}

func (b *builder) reset() { b.hash, b.slot = b.hash[:0], b.slot[:0] }

func (b *builder) len() int { return len(b.hash) }

// add appends one token.
func (b *builder) add(t slotToken) {
	b.hash = append(b.hash, t.hash)
	b.slot = append(b.slot, t.slot)
}

// copyFrom appends the tokens of l from index i to index j.
func (b *builder) copyFrom(l leaf, i, j int) {
	b.hash = append(b.hash, l[i:j]...)
	for k := i; k < j; k++ {
		b.slot = append(b.slot, l.slot(k))
	}
}

// leaf returns a leaf holding the builder's tokens from index i to j.
func (b *builder) leaf(i, j int) leaf {
	n := j - i
	l := make(leaf, n+(n+1)/2)
	copy(l, b.hash[i:j])
	for k, s := range b.slot[i:j] {
		l[n+k>>1] |= uint64(s) << (uint(k&1) << 5)
	}
	return l
}

// emit appends the builder's tokens to dst as one leaf, or as leaves of
// about size tokens when there are more than twice size, and returns the
// extended slice.
func (b *builder) emit(dst []leaf, size int) []leaf {
	m := b.len()
	if m == 0 {
		return dst
	}
	n := 1
	if m > 2*size {
		n = (m + size - 1) / size
	}
	for i := range n {
		dst = append(dst, b.leaf(i*m/n, (i+1)*m/n))
	}
	return dst
}

// chop appends to dst leaves holding toks, of sizes as even as possible and
// close to size, and returns the extended slice.
func chop(dst []leaf, toks []slotToken, size int) []leaf {
	var b builder
	n := (len(toks) + size - 1) / size
	for i := range n {
		b.reset()
		for _, t := range toks[i*len(toks)/n : (i+1)*len(toks)/n] {
			b.add(t)
		}
		dst = append(dst, b.leaf(0, b.len()))
	}
	return dst
}

// memberTokens returns the tokens of member id, placed in slot, in ring
// order and without duplicates.
func (r *Ring) memberTokens(id uint64, slot uint32) []slotToken {
	toks := make([]slotToken, r.tokens)
	for i := range toks {
		toks[i] = slotToken{hash: r.token(id, i), slot: slot}
	}
	slices.SortFunc(toks, compareSlotTokens)
	return slices.Compact(toks)
}
