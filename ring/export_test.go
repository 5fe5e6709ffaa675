package ring

import (
	"fmt"
	"slices"
)

// WithLeafSize returns cfg with the leaf size set to n, so that tests
// exercise leaf splits and merges with few tokens.
func WithLeafSize(cfg Config, n int) Config {
	cfg.leafSize = n
	return cfg
}

// Leaves returns the number of leaves of r.
func (r *Ring) Leaves() int { return len(r.leaves) }

// Check verifies the structural invariants of r and returns the first
// violation found.
func (r *Ring) Check() error {
	if !slices.IsSorted(r.members) {
		return fmt.Errorf("members not sorted: %v", r.members)
	}
	for i := 1; i < len(r.members); i++ {
		if r.members[i] == r.members[i-1] {
			return fmt.Errorf("member %#x listed twice", r.members[i])
		}
	}
	if err := r.index.check(r.leaves); err != nil {
		return err
	}
	if len(r.members) == 0 && len(r.leaves) != 0 {
		return fmt.Errorf("empty ring has %d leaves", len(r.leaves))
	}
	// Every slot that tokens use holds a member; free slots are unused.
	isFree := make(map[uint32]bool)
	for _, s := range r.free {
		if int(s) >= len(r.ids) {
			return fmt.Errorf("free slot %d out of range %d", s, len(r.ids))
		}
		if isFree[s] {
			return fmt.Errorf("slot %d free twice", s)
		}
		isFree[s] = true
	}
	if live := len(r.ids) - len(r.free); live != len(r.members) {
		return fmt.Errorf("%d live slots, %d members", live, len(r.members))
	}
	count := make(map[uint64]int)
	var prevHash, prevID uint64
	first := true
	for c, lf := range r.leaves {
		n := lf.size()
		if n == 0 || len(lf) != n+(n+1)/2 {
			return fmt.Errorf("leaf %d: %d words for %d tokens", c, len(lf), n)
		}
		if n > 2*r.leafSize {
			return fmt.Errorf("leaf %d holds %d tokens, more than 2×%d", c, n, r.leafSize)
		}
		if c > 0 && n < r.leafSize/2 {
			return fmt.Errorf("leaf %d holds %d tokens, fewer than %d/2", c, n, r.leafSize)
		}
		if n%2 == 1 && lf[len(lf)-1]>>32 != 0 {
			return fmt.Errorf("leaf %d: padding half-word is %#x", c, lf[len(lf)-1]>>32)
		}
		for j, h := range lf.hashes() {
			s := lf.slot(j)
			if int(s) >= len(r.ids) || isFree[s] {
				return fmt.Errorf("leaf %d token %d: slot %d is not live", c, j, s)
			}
			id := r.ids[s]
			if !first && (h < prevHash || h == prevHash && id <= prevID) {
				return fmt.Errorf("leaf %d token %d: (%#x, %#x) not after (%#x, %#x)", c, j, h, id, prevHash, prevID)
			}
			first, prevHash, prevID = false, h, id
			count[id]++
		}
	}
	for _, id := range r.members {
		if count[id] == 0 || count[id] > r.tokens {
			return fmt.Errorf("member %#x has %d tokens, want 1 to %d", id, count[id], r.tokens)
		}
		delete(count, id)
	}
	if len(count) != 0 {
		return fmt.Errorf("tokens of non-members: %v", count)
	}
	return nil
}

// WithTokenFunc returns cfg with token positions computed by fn instead of
// xxhash, so that tests can make tokens collide.
func WithTokenFunc(cfg Config, fn func(id uint64, i int) uint64) Config {
	cfg.tokenFn = fn
	return cfg
}

// NewTopologyWith returns a topology that places members by pos instead of
// Position, so that tests can make positions collide.
func NewTopologyWith(pos func(id uint64) uint64, ids []uint64) *Topology {
	return newTopology(pos, ids)
}

// check verifies that x indexes leaves.
func (x *index) check(leaves []leaf) error {
	if len(x.lasts) != len(leaves) {
		return fmt.Errorf("index holds %d leaves, ring %d", len(x.lasts), len(leaves))
	}
	for c, l := range leaves {
		if x.lasts[c] != l.last() {
			return fmt.Errorf("lasts[%d] = %#x, leaf ends at %#x", c, x.lasts[c], l.last())
		}
	}
	if len(x.jump) != 1<<(64-x.shift)+1 || int(x.jump[len(x.jump)-1]) != len(leaves) {
		return fmt.Errorf("jump table of %d entries for shift %d and %d leaves", len(x.jump), x.shift, len(leaves))
	}
	for p := range len(x.jump) - 1 {
		lo := uint64(p) << x.shift
		want := 0
		for want < len(leaves) && x.lasts[want] < lo {
			want++
		}
		if int(x.jump[p]) != want {
			return fmt.Errorf("jump[%d] = %d, want %d", p, x.jump[p], want)
		}
	}
	return nil
}
