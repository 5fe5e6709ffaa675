package main

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/hearsay-io/hearsay"
)

// errReloadOpen: SIGHUP on an agent started with -open. It matches
// hearsay.ErrOpenCluster too.
var errReloadOpen = fmt.Errorf("no key file to re-read: the node runs an open cluster (-open); "+
	"restart the cluster's nodes with -key-file to seal it: %w", hearsay.ErrOpenCluster)

// keyring remembers the bytes of every key the agent gave its node, by
// KeyID. The node reports the keys it holds by ID only (Node.KeyIDs), and
// RemoveKey needs the key itself. Its mutex also serializes reloads.
type keyring struct {
	mu   sync.Mutex
	byID map[hearsay.KeyID][]byte
}

func newKeyring(keys [][]byte) *keyring {
	r := &keyring{byID: make(map[hearsay.KeyID][]byte, len(keys))}
	for _, k := range keys {
		r.byID[hearsay.KeyIDOf(k)] = bytes.Clone(k)
	}
	return r
}

// keyChange is what one reload did to the node's keyring.
type keyChange struct {
	installed []hearsay.KeyID
	primary   hearsay.KeyID // the new primary key, when it changed
	previous  hearsay.KeyID // the primary key before, when it changed
	removed   []hearsay.KeyID
}

func (c keyChange) empty() bool {
	return len(c.installed) == 0 && len(c.removed) == 0 && c.primary == c.previous
}

// reloadKeys re-reads the key file and applies it to the running node, as
// SIGHUP does: it installs the file's keys the node does not hold, makes
// the file's first key primary, and removes the keys the file no longer
// lists, in that order (hearsay.Node.UsePrimaryKey describes why). It logs
// what changed by key ID, never a key.
//
// A file that cannot be read or parsed changes nothing. A failed install
// or switch stops the reload there, leaving what was done before (every
// step on its own is safe); removals are all attempted and their errors
// joined. The operator procedure is in the package documentation.
func (a *agent) reloadKeys() (keyChange, error) {
	var ch keyChange
	if a.set.keyFile == "" {
		return ch, errReloadOpen
	}
	keys, warn, err := readKeyFile(a.set.keyFile)
	if warn != "" {
		a.warn.warn(warn)
	}
	if err != nil {
		return ch, err
	}
	keys = uniqueKeys(keys)
	r := a.keys
	r.mu.Lock()
	defer r.mu.Unlock()

	held := a.node.KeyIDs()
	want := make([]hearsay.KeyID, len(keys))
	for i, k := range keys {
		id := hearsay.KeyIDOf(k)
		want[i] = id
		if !slices.Contains(held, id) {
			continue
		}
		if !bytes.Equal(r.byID[id], k) {
			return ch, fmt.Errorf("key file line of key %v: %w (a different key with that ID is installed)", id, hearsay.ErrKeyCollision)
		}
	}
	// 1. Install the new keys: the node accepts them, still sealing with
	// its primary key.
	for i, k := range keys {
		if slices.Contains(held, want[i]) {
			continue
		}
		if err := a.node.InstallKey(k); err != nil {
			a.logPartial(ch)
			return ch, fmt.Errorf("installing key %v: %w", want[i], err)
		}
		r.byID[want[i]] = bytes.Clone(k)
		ch.installed = append(ch.installed, want[i])
	}
	// 2. Seal with the file's first key.
	if len(held) > 0 && held[0] != want[0] {
		if err := a.node.UsePrimaryKey(keys[0]); err != nil {
			a.logPartial(ch)
			return ch, fmt.Errorf("making key %v primary: %w", want[0], err)
		}
		ch.primary, ch.previous = want[0], held[0]
	}
	// 3. Stop accepting the keys the file no longer lists.
	var errs []error
	for _, id := range held {
		if slices.Contains(want, id) {
			continue
		}
		k, ok := r.byID[id]
		if !ok {
			errs = append(errs, fmt.Errorf("removing key %v: the agent does not hold its bytes (a bug)", id))
			continue
		}
		if err := a.node.RemoveKey(k); err != nil {
			errs = append(errs, fmt.Errorf("removing key %v: %w", id, err))
			continue
		}
		clear(k)
		delete(r.byID, id)
		ch.removed = append(ch.removed, id)
	}
	a.logKeyChange(ch)
	return ch, errors.Join(errs...)
}

// logKeyChange logs what a reload did, and warns when it did two steps of
// a rotation at once, which drops datagrams between this node and those
// that have not caught up.
func (a *agent) logKeyChange(ch keyChange) {
	now := keyIDList(a.node.KeyIDs())
	if ch.empty() {
		a.log.Info("key file re-read: no change", "file", a.set.keyFile, "keys", now)
		return
	}
	args := []any{"file", a.set.keyFile, "keys", now}
	if len(ch.installed) > 0 {
		args = append(args, "installed", keyIDList(ch.installed))
	}
	if ch.primary != ch.previous {
		args = append(args, "primary", ch.primary.String(), "previous_primary", ch.previous.String())
	}
	if len(ch.removed) > 0 {
		args = append(args, "removed", keyIDList(ch.removed))
	}
	a.log.Info("key file applied", args...)
	if ch.primary != ch.previous && slices.Contains(ch.installed, ch.primary) {
		a.warn.warn("a key was installed and made primary by one reload: members that do not hold it yet drop this node's datagrams until they do; "+
			"add a new key second in the file everywhere first, then move it first", "key", ch.primary.String())
	}
	if ch.primary != ch.previous && slices.Contains(ch.removed, ch.previous) {
		a.warn.warn("the previous primary key was removed by the reload that replaced it: members still sealing with it are refused until they switch; "+
			"move the new key first everywhere before removing the old one", "key", ch.previous.String())
	}
}

// logPartial logs what a reload that failed did before it failed.
func (a *agent) logPartial(ch keyChange) {
	if !ch.empty() {
		a.logKeyChange(ch)
	}
}

// uniqueKeys drops repeated keys, keeping the first of each.
func uniqueKeys(keys [][]byte) [][]byte {
	out := keys[:0:0]
	for _, k := range keys {
		if !slices.ContainsFunc(out, func(o []byte) bool { return bytes.Equal(o, k) }) {
			out = append(out, k)
		}
	}
	return out
}

// keyIDList formats key IDs for a log line: "0a1b2c3d,4e5f6a7b".
func keyIDList(ids []hearsay.KeyID) string {
	s := make([]string, len(ids))
	for i, id := range ids {
		s[i] = id.String()
	}
	return strings.Join(s, ",")
}
