package ring

import "math/bits"

// index finds the leaf that holds a key. It keeps the last token of every
// leaf and a jump table over the top bits of the key: jump[p] is the first
// leaf whose last token is at or after p<<shift. Token positions are
// uniform, so the table has at least as many entries as there are leaves
// and a lookup has one or two leaves to choose from; a binary search between
// jump[p] and jump[p+1] keeps crowded positions at O(log n).
type index struct {
	lasts []uint64 // lasts[c] is the last token position of leaf c; ascending
	jump  []uint32 // 2^b+1 entries, jump[2^b] = len(lasts)
	shift uint     // 64-b
}

// newIndex returns the index of leaves.
func newIndex(leaves []leaf) index {
	x := index{lasts: make([]uint64, len(leaves))}
	for c, l := range leaves {
		x.lasts[c] = l.last()
	}
	b := bits.Len(uint(len(leaves)))
	x.shift = uint(64 - b)
	x.jump = make([]uint32, 1<<b+1)
	c := 0
	for p := range 1 << b {
		lo := uint64(p) << x.shift
		for c < len(x.lasts) && x.lasts[c] < lo {
			c++
		}
		x.jump[p] = uint32(c)
	}
	x.jump[1<<b] = uint32(len(x.lasts))
	return x
}

// find returns the first leaf whose last token is at or after key, or the
// number of leaves when there is none. The index must not be empty.
func (x *index) find(key uint64) int {
	p := key >> x.shift
	// lasts[jump[p]-1] < p<<shift <= key, and key < (p+1)<<shift <= the
	// last token of leaf jump[p+1], if any: the answer lies between them.
	lo, hi := int(x.jump[p]), int(x.jump[p+1])
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if x.lasts[m] < key {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return lo
}
