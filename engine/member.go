package engine

import (
	"net/netip"

	"github.com/hearsay-io/hearsay/codec"
)

// State is a member's liveness state as the local node sees it.
type State uint8

// Member states, in merge precedence order: for the same generation and
// incarnation, a later state wins over an earlier one.
const (
	StateAlive   State = State(codec.StateAlive)
	StateSuspect State = State(codec.StateSuspect)
	StateDead    State = State(codec.StateDead)
	StateLeft    State = State(codec.StateLeft)
)

// String returns "alive", "suspect", "dead" or "left".
func (s State) String() string {
	switch s {
	case StateAlive:
		return "alive"
	case StateSuspect:
		return "suspect"
	case StateDead:
		return "dead"
	case StateLeft:
		return "left"
	}
	return "invalid"
}

// Live reports whether the state counts the member as part of the cluster:
// alive or suspect.
func (s State) Live() bool { return s == StateAlive || s == StateSuspect }

// valid reports whether s is one of the four states.
func (s State) valid() bool { return s >= StateAlive && s <= StateLeft }

// Member is a value snapshot of one member as the local node sees it. It never
// aliases the engine's internal state.
type Member struct {
	ID          ID
	Addr        netip.AddrPort
	Generation  uint64 // raised at each restart of the member's process
	Incarnation uint32 // raised by the member itself to refute suspicion
	State       State
	// StateVersion is the highest application-state version the local node
	// holds for this member.
	StateVersion uint64
	// Name is the member's Config.Name, as its application state carries
	// it (NameKey); empty when it has none, or before its state arrived.
	Name string
}
