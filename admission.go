package hearsay

import "github.com/hearsay-io/hearsay/engine"

// Admission: Config.Admit, a function of the member and its application
// state, decides which members a node takes in, in place of memberlist's
// Alive and Merge delegates; Config.AllowedPrefixes, the networks a node
// talks to, in place of its CIDRsAllowed.
//
// Admit is asked, synchronously on the node's goroutine, before the node
// takes in a member it does not hold (a joiner, or one learned from
// others), when a record brings a member back, moves it to another
// address or starts a new generation of it, and whenever a live member's
// application state changes. It must be fast and deterministic, must not
// block and must not call the Node: a join can ask it about every member
// of the cluster. An error refuses the member: the node does not add it,
// or removes it from its own view (EventRefused; no one is told it died),
// stops relaying its records and messages, and remembers the refusal for
// the member's generation. The others decide for themselves, so give
// every node the same hook. A member's record can arrive before its state
// (its Name included): a hook that refuses by state or name should admit
// a member whose key is absent, and refuse it once the key holds a refused
// value. The engine package documentation (Admission) has the details.
//
// With AllowedPrefixes set, datagrams from any other source address are
// dropped before they are opened (Stats.DropAddr), and members whose
// address is outside are refused (Stats.RefusedAddr). Seeds must lie
// inside.
//
// Config.Name gives a node a human-readable name, at most MaxNameSize
// bytes of UTF-8 without control characters, that every member shows as
// Member.Name. It travels in the node's application state under NameKey;
// keys beginning with ReservedKeyPrefix are Hearsay's, and SetState
// refuses them (ErrReservedKey).
//
// StateView is a member's application state as Config.Admit sees it: Get a
// key, or range over All. It is engine.StateView.
type StateView = engine.StateView

// EventRefused: Config.Admit or AllowedPrefixes refused a member this node
// held; it left this node's view (Member.State is StateLeft), and only
// this node's.
const EventRefused = engine.EventRefused

// Member names and reserved state keys.
const (
	// MaxNameSize bounds Config.Name, in bytes.
	MaxNameSize = engine.MaxNameSize
	// NameKey is the application-state key that carries Config.Name.
	NameKey = engine.NameKey
	// ReservedKeyPrefix begins every application-state key Hearsay uses
	// for itself.
	ReservedKeyPrefix = engine.ReservedKeyPrefix
)

// ErrReservedKey: SetState or DeleteState of a key beginning with
// ReservedKeyPrefix.
var ErrReservedKey = engine.ErrReservedKey
