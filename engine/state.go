package engine

import (
	"errors"
	"fmt"

	"github.com/cespare/xxhash/v2"
	"github.com/hearsay-io/hearsay/codec"
)

// Errors for application-state calls; match with errors.Is.
var (
	ErrKeySize   = errors.New("hearsay: state key is empty or longer than codec.MaxKeySize")
	ErrValueSize = errors.New("hearsay: state value is longer than codec.MaxValueSize")
	ErrStateFull = errors.New("hearsay: application state over MaxStateKeys or MaxStateBytes")
	ErrNoKey     = errors.New("hearsay: no such state key")
)

// SetState sets key to value in this node's application state, with a new
// version, and disseminates it. Keys beginning with ReservedKeyPrefix are
// Hearsay's own and refused with ErrReservedKey.
func (c *Core) SetState(now Time, key, value []byte) error {
	if reservedKey(key) {
		return fmt.Errorf("%w: %q", ErrReservedKey, key)
	}
	return c.setState(now, key, value, false)
}

// DeleteState deletes key from this node's application state. The deletion
// is itself a versioned entry, so that it reaches every member; it keeps
// counting toward MaxStateKeys until the node restarts.
func (c *Core) DeleteState(now Time, key []byte) error {
	if reservedKey(key) {
		return fmt.Errorf("%w: %q", ErrReservedKey, key)
	}
	return c.setState(now, key, nil, true)
}

func (c *Core) setState(now Time, key, value []byte, del bool) error {
	if c.leave.active {
		return ErrLeft
	}
	if len(key) == 0 || len(key) > codec.MaxKeySize {
		return fmt.Errorf("%w: %d bytes", ErrKeySize, len(key))
	}
	if len(value) > codec.MaxValueSize {
		return fmt.Errorf("%w: %d bytes", ErrValueSize, len(value))
	}
	if now > c.now {
		c.now = now
	}
	r := c.selfRecord()
	old := r.app.get(key)
	if del && (old == nil || old.deleted) {
		return fmt.Errorf("%w: %q", ErrNoKey, key)
	}
	e := appEntry{version: r.stateVersion() + 1, deleted: del}
	e.keyLen = uint8(copy(e.key[:], key))
	e.valLen = uint8(copy(e.val[:], value))
	if !c.stateFits(r.app, &e, old) {
		return ErrStateFull
	}
	rec := *r
	rec.app = r.app.with(&e)
	c.put(now, rec, r, 0)
	c.q.addState(c.id, e.Key(), stateKeyHash(c.id, e.Key()))
	c.updateDeadline()
	return nil
}

// State returns the value of key in member id's application state as this
// node holds it. The value aliases immutable memory.
func (c *Core) State(id ID, key []byte) (value []byte, version uint64, ok bool) {
	r := c.lookup(id)
	if r == nil {
		return nil, 0, false
	}
	e := r.app.get(key)
	if e == nil || e.deleted {
		return nil, 0, false
	}
	return e.Value(), e.version, true
}

func stateKeyHash(owner ID, key []byte) uint64 {
	var b [8 + codec.MaxKeySize]byte
	for i := 0; i < 8; i++ {
		b[i] = byte(owner >> (56 - 8*i))
	}
	n := 8 + copy(b[8:], key)
	return xxhash.Sum64(b[:n])
}
