package hearsay

import (
	"github.com/hearsay-io/hearsay/codec"
	"github.com/hearsay-io/hearsay/engine"
)

// ID identifies a member for the life of its identity: keep it across
// restarts (Config.ID) to restart as the same member. It is engine.ID; its
// String form is 16 hexadecimal digits.
type ID = engine.ID

// NewID returns a random member ID.
func NewID() ID { return engine.NewID() }

// ParseID parses the String form of an ID. It returns an error matching
// ErrInvalidID.
func ParseID(s string) (ID, error) { return engine.ParseID(s) }

// Member is a value snapshot of one member as the local node sees it: ID,
// address, generation (raised at each restart), incarnation (raised by the
// member to refute a suspicion), state and application-state version. It
// is engine.Member.
type Member = engine.Member

// State is a member's liveness state as the local node sees it. It is
// engine.State.
type State = engine.State

// Member states. Alive and suspect members are live: part of the cluster,
// on the ring. Dead and left members are tombstones, kept for
// Config.TombstoneRetention.
const (
	StateAlive   = engine.StateAlive
	StateSuspect = engine.StateSuspect
	StateDead    = engine.StateDead
	StateLeft    = engine.StateLeft
)

// MemberCounts counts a node's members by state (Node.Counts). It is
// engine.MemberCounts.
type MemberCounts = engine.MemberCounts

// KeyID identifies a key without revealing it (Node.KeyIDs): the first four
// bytes of a hash of the key. It is codec.KeyID.
type KeyID = codec.KeyID

// KeyIDOf returns the ID of key.
func KeyIDOf(key []byte) KeyID { return codec.KeyIDOf(key) }

// Bounds of application state (Node.SetState).
const (
	MaxStateKeySize   = codec.MaxKeySize   // bytes in a key
	MaxStateValueSize = codec.MaxValueSize // bytes in a value
)
