package engine

import "time"

// EventType says what happened to a member.
type EventType uint8

// Event types. Numbers are stable.
const (
	// EventJoin: a member appeared, or came back with a new generation after
	// being dead or left.
	EventJoin EventType = iota + 1
	// EventAlive: a suspect or dead member refuted and is alive again.
	EventAlive
	// EventSuspect: a member is suspected of failure.
	EventSuspect
	// EventDead: a member is declared dead.
	EventDead
	// EventLeft: a member left gracefully.
	EventLeft
	// EventUpdate: a live member changed address or restarted with a new
	// generation while it was believed alive.
	EventUpdate
	// EventState: a member's application state changed (Key, Value,
	// Version, Deleted are set).
	EventState
	// EventSelfDead: other members declared this node dead; it will refute
	// after proving it can reach RejoinProbes members.
	EventSelfDead
	// EventSelfAlive: this node refuted its death and is alive again.
	EventSelfAlive
	// EventGap: this subscription missed events because its channel was
	// full; Missed says how many. Only Subscription delivers it, as soon as
	// its channel has room again, whatever types it asked for. The
	// membership reads (Node.Members, Member, State) are exact: read them
	// again to resynchronize.
	EventGap
)

// Events of user messages and admission. Their numbers are set apart from
// the membership events above.
const (
	// EventMessage: a user message arrived, from Member (its origin, as
	// this node holds it): a broadcast (Node.Broadcast) or a message sent
	// to this node alone (Node.Send). Payload and Broadcast are set.
	EventMessage EventType = 16
	// EventRefused: Config.Admit or Config.AllowedPrefixes refused a
	// member this node held, when its application state or address
	// changed: it is removed from this node's view (and only this node's:
	// no death is declared). Member is its last record, with State
	// StateLeft, as it left this node's view.
	EventRefused EventType = 17
)

// String returns the event type's lowercase name.
func (t EventType) String() string {
	switch t {
	case EventJoin:
		return "join"
	case EventAlive:
		return "alive"
	case EventSuspect:
		return "suspect"
	case EventDead:
		return "dead"
	case EventLeft:
		return "left"
	case EventUpdate:
		return "update"
	case EventState:
		return "state"
	case EventSelfDead:
		return "self-dead"
	case EventSelfAlive:
		return "self-alive"
	case EventGap:
		return "gap"
	case EventMessage:
		return "message"
	case EventRefused:
		return "refused"
	}
	return "invalid"
}

// Event is one change as the local node saw it. Events are values; Key and
// Value alias immutable memory and may be kept.
type Event struct {
	Type EventType
	// Time is when the node saw the change: the Node converts At to the
	// wall clock when it delivers the event (the wall-clock time at which
	// the process started plus the monotonic time elapsed since, so that
	// it never steps back). It is zero in events of the simulator, whose
	// clock is At.
	Time time.Time
	// At is the core's clock when the event happened: NodeTime's scale for
	// a Node, virtual time in the simulator.
	At     Time
	Member Member // the member after the change
	// Witness is the member that accused (EventSuspect) or declared
	// (EventDead) it, when known.
	Witness ID
	// For EventState.
	Key     []byte
	Value   []byte
	Version uint64
	Deleted bool
	// Missed, for EventGap: the events this subscription did not receive
	// since its previous EventGap (or since it started).
	Missed uint64

	// For EventMessage: the payload, a copy the receiver may keep (the
	// subscriptions of one node share it, so none may modify it), and
	// whether it was a broadcast.
	Payload   []byte
	Broadcast bool
}
