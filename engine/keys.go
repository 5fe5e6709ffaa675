package engine

import (
	"fmt"

	"github.com/hearsay-io/hearsay/codec"
)

// SetKeys replaces the keys the core seals and opens datagrams with: keys[0]
// seals, all of them open. It is the one step of a live key rotation:
//
//  1. on every node, SetKeys(old, new): new is accepted, old still seals;
//  2. on every node, SetKeys(new, old): new seals, old is still accepted
//     from nodes that have not switched yet;
//  3. on every node, SetKeys(new): old is no longer accepted.
//
// Each step must reach every node before the next starts; datagrams stay
// readable throughout. SetKeys with no keys opens the cluster: the core then
// sends plain datagrams and refuses sealed ones, so all nodes must make that
// step together. Keys must be 16, 24 or 32 bytes; on error nothing changes.
func (c *Core) SetKeys(keys [][]byte) error {
	if len(keys) == 0 {
		c.keys = nil
		return nil
	}
	kr, err := codec.NewKeyring(keys[0], keys[1:]...)
	if err != nil {
		return fmt.Errorf("%w: Keys: %w", ErrInvalidConfig, bare{err})
	}
	c.keys = kr
	if cap(c.sealBuf) < c.cfg.MaxDatagramSize {
		c.sealBuf = make([]byte, 0, c.cfg.MaxDatagramSize)
	}
	return nil
}

// KeyIDs appends the IDs of the keys the core accepts to dst, the primary
// first, and returns the extended slice.
func (c *Core) KeyIDs(dst []codec.KeyID) []codec.KeyID {
	if c.keys == nil {
		return dst
	}
	p := c.keys.Primary()
	dst = append(dst, p)
	for _, id := range c.keys.IDs(nil) {
		if id != p {
			dst = append(dst, id)
		}
	}
	return dst
}
