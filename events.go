package hearsay

import "github.com/hearsay-io/hearsay/engine"

// Event is one change as the local node saw it: its Type, when (Time, by
// the wall clock), the Member after the change, the Witness of a
// suspicion or death, and for EventState the Key, Value, Version and
// Deleted of the entry. Events are values; Key and Value may be kept. It
// is engine.Event (whose At field is the node's internal clock, for
// harnesses).
type Event = engine.Event

// EventType says what happened. It is engine.EventType.
type EventType = engine.EventType

// Event types.
const (
	// EventJoin: a member appeared, or came back with a new generation
	// after being dead or left.
	EventJoin = engine.EventJoin
	// EventAlive: a suspect or dead member refuted and is alive again.
	EventAlive = engine.EventAlive
	// EventSuspect: a member is suspected of failure; it has a suspicion
	// timeout to refute.
	EventSuspect = engine.EventSuspect
	// EventDead: a member is declared dead.
	EventDead = engine.EventDead
	// EventLeft: a member left gracefully.
	EventLeft = engine.EventLeft
	// EventUpdate: a live member changed address, or restarted with a new
	// generation while it was believed alive. Not raised by application
	// state (EventState) nor by refutations.
	EventUpdate = engine.EventUpdate
	// EventState: a member's application state changed (Key, Value,
	// Version, Deleted).
	EventState = engine.EventState
	// EventSelfDead: the cluster declared this node dead; it refutes once
	// it proves it can reach Config.RejoinProbes members.
	EventSelfDead = engine.EventSelfDead
	// EventSelfAlive: this node refuted its death and is alive again.
	EventSelfAlive = engine.EventSelfAlive
	// EventGap: the subscription missed Missed events because its channel
	// was full. Delivered whatever types were asked for, as soon as the
	// channel has room. Read Members (and State) again: they are exact.
	EventGap = engine.EventGap
)

// Subscription receives a node's events through a bounded channel
// (Events), in the order the node saw them; when an event arrives,
// Members, Member, State and Ring already reflect it. A full channel never
// blocks the node: the events that do not fit are dropped for this
// subscriber, counted (Dropped), and reported by an EventGap as soon as
// the channel has room. It is engine.Subscription.
type Subscription = engine.Subscription

// SubscribeOptions configure a subscription (Node.SubscribeWith): buffer,
// event types, and MaxWait, how long the node may wait for room in a full
// channel before it reports a gap. Waiting stalls the node (no datagram
// handled, no heartbeat sent), so it is capped at MaxSubscriptionWait and
// happens at most once until the gap is delivered. It is
// engine.SubscribeOptions.
type SubscribeOptions = engine.SubscribeOptions

// DefaultSubscriptionBuffer is the channel capacity of a subscription
// asked with a buffer below 1.
const DefaultSubscriptionBuffer = engine.DefaultSubscriptionBuffer

// MaxSubscriptionWait bounds SubscribeOptions.MaxWait.
const MaxSubscriptionWait = engine.MaxSubscriptionWait
