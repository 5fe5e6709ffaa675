package engine

import (
	"bytes"
	"errors"
	"fmt"
	"unicode"
	"unicode/utf8"

	"github.com/hearsay-io/hearsay/codec"
)

// Member names. A node's Config.Name travels in its application state under
// NameKey, like any key, so it reaches every member by the same gossip and
// anti-entropy, and a restarted node publishes it again with its state.
// The keys Hearsay writes for itself all begin with ReservedKeyPrefix,
// which SetState and DeleteState refuse: an application key can never
// collide with one, now or in a later version.

const (
	// ReservedKeyPrefix begins every application-state key Hearsay
	// reserves for itself; SetState and DeleteState refuse such keys with
	// ErrReservedKey.
	ReservedKeyPrefix = "hearsay/"
	// NameKey is the reserved key that carries a member's Config.Name.
	NameKey = ReservedKeyPrefix + "name"
	// MaxNameSize bounds Config.Name, in bytes: the size of a state value.
	MaxNameSize = codec.MaxValueSize
)

// ErrReservedKey is wrapped by the error SetState and DeleteState return
// for a key beginning with ReservedKeyPrefix.
var ErrReservedKey = errors.New("hearsay: state keys beginning with \"" + ReservedKeyPrefix + "\" are reserved")

var nameKey = []byte(NameKey)

// reservedKey reports whether key is one of Hearsay's own.
func reservedKey(key []byte) bool { return bytes.HasPrefix(key, []byte(ReservedKeyPrefix)) }

// checkName returns why name cannot be a member name, or nil: longer than
// MaxNameSize, not UTF-8, or holding a control character.
func checkName(name []byte) error {
	if len(name) > MaxNameSize {
		return fmt.Errorf("longer than %d bytes: %d", MaxNameSize, len(name))
	}
	for i := 0; i < len(name); {
		r, n := utf8.DecodeRune(name[i:])
		switch {
		case r == utf8.RuneError && n <= 1:
			return fmt.Errorf("not valid UTF-8 at byte %d", i)
		case unicode.IsControl(r):
			return fmt.Errorf("holds the control character %U at byte %d", r, i)
		}
		i += n
	}
	return nil
}

// nameOf returns the name a's NameKey holds, or "" when it holds none, or
// one that is not a valid name (another implementation's, or a forgery's:
// it is kept, as any state is, but not shown).
func nameOf(a *appState) string {
	e := a.get(nameKey)
	if e == nil || e.deleted || checkName(e.Value()) != nil {
		return ""
	}
	return string(e.Value())
}

// memberName returns the name held for the member whose state a is.
func (a *appState) memberName() string {
	if a == nil {
		return ""
	}
	return a.name
}

// initName publishes Config.Name as this node's NameKey.
func (c *Core) initName() {
	if c.cfg.Name == "" {
		return
	}
	// Validate checked the name, and MaxStateKeys and MaxStateBytes leave
	// room for one key: this cannot fail.
	_ = c.setState(c.now, nameKey, []byte(c.cfg.Name), false)
}
