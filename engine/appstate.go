package engine

import (
	"bytes"
	"encoding/binary"

	"github.com/cespare/xxhash/v2"
	"github.com/hearsay-io/hearsay/codec"
)

// appEntry is one key of a member's application state. Key and value are held
// in fixed arrays so that updating state allocates only the new appState.
type appEntry struct {
	version uint64
	keyLen  uint8
	valLen  uint8
	deleted bool
	key     [codec.MaxKeySize]byte
	val     [codec.MaxValueSize]byte
}

func (e *appEntry) Key() []byte   { return e.key[:e.keyLen] }
func (e *appEntry) Value() []byte { return e.val[:e.valLen] }

func (e *appEntry) hash() uint64 {
	var b [8 + 1 + 1 + 1 + codec.MaxKeySize + codec.MaxValueSize]byte
	binary.BigEndian.PutUint64(b[0:], e.version)
	b[8] = e.keyLen
	b[9] = e.valLen
	if e.deleted {
		b[10] = 1
	}
	n := 11
	n += copy(b[n:], e.Key())
	n += copy(b[n:], e.Value())
	return xxhash.Sum64(b[:n])
}

// appState is a member's application state: entries sorted by key, with the
// sum of their hashes and the highest version. It is immutable once stored in
// a record; every change builds a new one.
type appState struct {
	entries []appEntry
	hash    uint64
	version uint64
	bytes   int    // sum of key and value lengths of entries not deleted
	name    string // the member's name (NameKey), see name.go
}

// find returns the index of key, or where it would be inserted, and whether it
// is present.
func (a *appState) find(key []byte) (int, bool) {
	if a == nil {
		return 0, false
	}
	lo, hi := 0, len(a.entries)
	for lo < hi {
		m := (lo + hi) / 2
		if bytes.Compare(a.entries[m].Key(), key) < 0 {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return lo, lo < len(a.entries) && bytes.Equal(a.entries[lo].Key(), key)
}

// get returns the entry for key, or nil.
func (a *appState) get(key []byte) *appEntry {
	if i, ok := a.find(key); ok {
		return &a.entries[i]
	}
	return nil
}

// with returns a copy of a with e set (inserted or replacing the entry with
// the same key).
func (a *appState) with(e *appEntry) *appState {
	i, found := a.find(e.Key())
	var old []appEntry
	if a != nil {
		old = a.entries
	}
	n := &appState{}
	if found {
		n.entries = make([]appEntry, len(old))
		copy(n.entries, old)
		n.entries[i] = *e
	} else {
		n.entries = make([]appEntry, len(old)+1)
		copy(n.entries, old[:i])
		n.entries[i] = *e
		copy(n.entries[i+1:], old[i:])
	}
	for k := range n.entries {
		x := &n.entries[k]
		n.hash += x.hash()
		if x.version > n.version {
			n.version = x.version
		}
		if !x.deleted {
			n.bytes += int(x.keyLen) + int(x.valLen)
		}
	}
	n.name = nameOf(n)
	return n
}

// live returns the number of entries that are not deleted.
func (a *appState) live() int {
	if a == nil {
		return 0
	}
	n := 0
	for i := range a.entries {
		if !a.entries[i].deleted {
			n++
		}
	}
	return n
}

// equal reports whether a and b hold the same entries.
func (a *appState) equal(b *appState) bool {
	if a == b {
		return true
	}
	if a == nil || b == nil || a.hash != b.hash || len(a.entries) != len(b.entries) {
		return false
	}
	for i := range a.entries {
		if a.entries[i] != b.entries[i] {
			return false
		}
	}
	return true
}

// entryFromWire fills e from a decoded wire entry; the caller has validated
// the sizes.
func entryFromWire(e *appEntry, w *codec.StateEntry) {
	*e = appEntry{version: w.Version, deleted: w.Deleted}
	e.keyLen = uint8(copy(e.key[:], w.Key))
	e.valLen = uint8(copy(e.val[:], w.Value))
}

// wire fills w with e's wire form for the given owner.
func (e *appEntry) wire(w *codec.StateEntry, owner ID, gen uint64) {
	*w = codec.StateEntry{
		Owner:      uint64(owner),
		Generation: gen,
		Version:    e.version,
		Deleted:    e.deleted,
		Key:        e.Key(),
		Value:      e.Value(),
	}
}

// sameAs reports whether the wire entry w carries e's value and deletion
// flag.
func (e *appEntry) sameAs(w *codec.StateEntry) bool {
	return e.deleted == w.Deleted && string(e.Value()) == string(w.Value)
}
