package engine

import (
	"bytes"
	"errors"
	"slices"

	"github.com/hearsay-io/hearsay/codec"
)

// Errors of the key-rotation calls (Node.InstallKey, Node.UsePrimaryKey,
// Node.RemoveKey). Match them with errors.Is. A key of the wrong length
// fails with an error matching codec.ErrKeySize; a key whose KeyID equals
// that of another installed key (about one pair in 2^32) with one matching
// codec.ErrKeyCollision.
var (
	// ErrKeyNotInstalled: the key is not in the node's keyring; install it
	// first.
	ErrKeyNotInstalled = errors.New("hearsay: key is not installed")
	// ErrPrimaryKey: the key is the one the node seals with and cannot be
	// removed; make another key primary first.
	ErrPrimaryKey = errors.New("hearsay: key is the primary key")
	// ErrOpenCluster: the node started without Config.Keys. An open node
	// sends plain datagrams and refuses sealed ones, so it cannot take keys
	// while running: restart the cluster's nodes with Keys set.
	ErrOpenCluster = errors.New("hearsay: node has no keys (open cluster); keys cannot be added while it runs")
)

// InstallKey adds key to the keys the node accepts: from now on it opens
// datagrams sealed with key, and still seals with its primary key. It is
// the first step of a live key rotation; see UsePrimaryKey for the
// procedure. Installing a key the node holds already does nothing. The
// node copies key; it logs the key's KeyID, never the key.
//
// Errors: codec.ErrKeySize (key is not 16, 24 or 32 bytes),
// codec.ErrKeyCollision, ErrOpenCluster, ErrClosed.
func (n *Node) InstallKey(key []byte) error {
	if err := checkKeySize("install key", key); err != nil {
		return err
	}
	k := bytes.Clone(key)
	var err error
	if e := n.do(func(Time) { err = n.installKey(k) }); e != nil {
		return e
	}
	return err
}

// UsePrimaryKey makes key, which must be installed, the key the node seals
// every datagram with. The previous primary key stays installed, so the
// node keeps accepting datagrams from members that still seal with it.
//
// Keys rotate in a live cluster, without a restart and without losing a
// datagram, in three steps. Each step must be done on every node before
// the next step starts on any node:
//
//  1. InstallKey(new) on every node: every node accepts the new key, and
//     all still seal with the old one.
//  2. UsePrimaryKey(new) on every node: nodes that switched seal with the
//     new key, which every node accepts since step 1; nodes that have not
//     switched yet seal with the old key, which every node still accepts.
//  3. RemoveKey(old) on every node: nobody seals with the old key any
//     more, so nothing is lost when it stops being accepted.
//
// Doing a step before the previous one reached every node makes the
// datagrams between the nodes out of step fail to open: they are dropped
// and counted in Stats.DropUnknownKey, and those nodes may suspect each
// other until the rotation completes. KeyIDs tells which keys a node holds,
// so a rotation tool can check each step everywhere before the next.
//
// Making the current primary key primary does nothing. Errors:
// codec.ErrKeySize, ErrKeyNotInstalled, ErrOpenCluster, ErrClosed.
func (n *Node) UsePrimaryKey(key []byte) error {
	if err := checkKeySize("use primary key", key); err != nil {
		return err
	}
	var err error
	if e := n.do(func(Time) { err = n.usePrimaryKey(key) }); e != nil {
		return e
	}
	return err
}

// RemoveKey removes key from the node's keyring: datagrams sealed with it
// are no longer accepted (they are dropped and counted in
// Stats.DropUnknownKey). It is the last step of a rotation (see
// UsePrimaryKey); do it once no node seals with key any more.
//
// Errors: ErrPrimaryKey (key is the primary key: make another primary
// first), codec.ErrKeySize, ErrKeyNotInstalled, ErrOpenCluster, ErrClosed.
func (n *Node) RemoveKey(key []byte) error {
	if err := checkKeySize("remove key", key); err != nil {
		return err
	}
	var err error
	if e := n.do(func(Time) { err = n.removeKey(key) }); e != nil {
		return e
	}
	return err
}

// checkKeySize returns an error matching codec.ErrKeySize, naming op, for
// a key that is not 16, 24 or 32 bytes.
func checkKeySize(op string, key []byte) error {
	switch len(key) {
	case 16, 24, 32:
		return nil
	}
	return errorf("%s: %w, got %d", op, codec.ErrKeySize, len(key))
}

// KeyIDs returns the IDs of the keys the node accepts, the primary key (the
// one it seals with) first, or nil for a node without keys. It is
// lock-free, and after Close it returns the keys the node last held.
func (n *Node) KeyIDs() []codec.KeyID {
	p := n.keyIDs.Load()
	if p == nil {
		return nil
	}
	return slices.Clone(*p)
}

// initKeys takes the node's keys from the configuration, without
// repetitions, and publishes their IDs. It runs before the node's
// goroutines start.
func (n *Node) initKeys() {
	for _, k := range n.cfg.Keys {
		if n.keyIndex(k) < 0 {
			n.keys = append(n.keys, bytes.Clone(k))
		}
	}
	n.publishKeyIDs()
}

// keyIndex returns the index of key in n.keys, or -1.
func (n *Node) keyIndex(key []byte) int {
	return slices.IndexFunc(n.keys, func(k []byte) bool { return bytes.Equal(k, key) })
}

func (n *Node) publishKeyIDs() {
	ids := n.core.KeyIDs(nil)
	n.keyIDs.Store(&ids)
}

// setKeys gives the core a new key list, primary first, and on success
// makes it the node's.
func (n *Node) setKeys(keys [][]byte) error {
	if err := n.core.SetKeys(keys); err != nil {
		return err
	}
	n.keys = keys
	n.publishKeyIDs()
	return nil
}

func (n *Node) installKey(k []byte) error {
	if len(n.keys) == 0 {
		return ErrOpenCluster
	}
	if n.keyIndex(k) >= 0 {
		return nil
	}
	next := append(slices.Clone(n.keys), k)
	if err := n.setKeys(next); err != nil {
		if errors.Is(err, codec.ErrKeyCollision) {
			return errorf("install key %v: %w", codec.KeyIDOf(k), codec.ErrKeyCollision)
		}
		return errorf("install key %v: %w", codec.KeyIDOf(k), err)
	}
	n.log.Info("installed a key: datagrams sealed with it are accepted; the primary key still seals",
		"key", codec.KeyIDOf(k).String(), "primary", codec.KeyIDOf(n.keys[0]).String(), "keys", len(n.keys))
	return nil
}

func (n *Node) usePrimaryKey(key []byte) error {
	if len(n.keys) == 0 {
		return ErrOpenCluster
	}
	i := n.keyIndex(key)
	switch {
	case i < 0:
		return errorf("use primary key %v: %w", codec.KeyIDOf(key), ErrKeyNotInstalled)
	case i == 0:
		return nil
	}
	next := make([][]byte, 0, len(n.keys))
	next = append(next, n.keys[i])
	next = append(next, n.keys[:i]...)
	next = append(next, n.keys[i+1:]...)
	old := n.keys[0]
	if err := n.setKeys(next); err != nil {
		return errorf("use primary key %v: %w", codec.KeyIDOf(key), err)
	}
	n.log.Info("switched the primary key: datagrams are now sealed with it; the previous one is still accepted",
		"key", codec.KeyIDOf(key).String(), "previous", codec.KeyIDOf(old).String())
	return nil
}

func (n *Node) removeKey(key []byte) error {
	if len(n.keys) == 0 {
		return ErrOpenCluster
	}
	i := n.keyIndex(key)
	switch {
	case i < 0:
		return errorf("remove key %v: %w", codec.KeyIDOf(key), ErrKeyNotInstalled)
	case i == 0:
		return errorf("remove key %v: %w", codec.KeyIDOf(key), ErrPrimaryKey)
	}
	gone := n.keys[i]
	next := slices.Delete(slices.Clone(n.keys), i, i+1)
	if err := n.setKeys(next); err != nil {
		return errorf("remove key %v: %w", codec.KeyIDOf(key), err)
	}
	clear(gone) // the node's own copy; the core's keyring keeps none
	n.log.Info("removed a key: datagrams sealed with it are refused",
		"key", codec.KeyIDOf(key).String(), "keys", len(n.keys))
	return nil
}
