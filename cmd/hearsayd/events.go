package main

import (
	"context"
	"log/slog"

	"github.com/hearsay-io/hearsay"
)

// Event subscriptions. Membership and state events come in bursts (one per
// member learned on join); the two events about this node itself come on
// a subscription of their own, so that a burst can never crowd them out:
// a lost EventSelfAlive would leave /healthz failing for good.
const (
	// eventBuffer is the capacity of the membership subscription: one
	// event per member learned on join, so a cluster of this size joins
	// without drops.
	eventBuffer = 4096
	// selfEventBuffer is the capacity of the self subscription; the node
	// emits at most one EventSelfDead per death and one EventSelfAlive per
	// refutation.
	selfEventBuffer = 16
)

// memberEventTypes are the events of the membership subscription: every
// type but the two about this node.
var memberEventTypes = []hearsay.EventType{
	hearsay.EventJoin, hearsay.EventAlive, hearsay.EventSuspect, hearsay.EventDead,
	hearsay.EventLeft, hearsay.EventUpdate, hearsay.EventState,
}

// subscribe opens the agent's two subscriptions.
func (a *agent) subscribe() {
	a.sub = a.node.Subscribe(eventBuffer, memberEventTypes...)
	a.selfSub = a.node.Subscribe(selfEventBuffer, hearsay.EventSelfDead, hearsay.EventSelfAlive)
}

// readEvents hands every event of both subscriptions to handleEvent, in
// order within each, and reports events the membership subscription
// missed (its EventGap). It ends when both channels close (Node.Close).
func (a *agent) readEvents() {
	defer a.wg.Done()
	members, self := a.sub.Events(), a.selfSub.Events()
	var missed uint64 // membership events missed since the last warning
	for members != nil || self != nil {
		select {
		case e, ok := <-members:
			if !ok {
				members = nil
				continue
			}
			if e.Type == hearsay.EventGap {
				// Only the debug log misses them: /members and /state
				// read the node.
				missed += e.Missed
				if a.warn.warn("membership events dropped at a full buffer; the debug log misses them, /members and /state are still exact",
					"dropped", missed) {
					missed = 0
				}
				continue
			}
			a.handleEvent(&e)
		case e, ok := <-self:
			if !ok {
				self = nil
				continue
			}
			a.handleEvent(&e)
		}
	}
}

// handleEvent applies one event to the agent: the self-dead flag /healthz
// reports, and the log. Membership events are
// logged at Debug: at 10,000 members a join alone is 10,000 of them.
// Events about this node itself are logged by the engine, at Warn
// (declared dead) and Info (alive again).
func (a *agent) handleEvent(e *hearsay.Event) {
	ctx := context.Background()
	switch e.Type {
	case hearsay.EventSelfDead:
		a.selfDead.Store(true)
	case hearsay.EventSelfAlive:
		a.selfDead.Store(false)
	case hearsay.EventState:
		if a.log.Enabled(ctx, slog.LevelDebug) {
			a.log.LogAttrs(ctx, slog.LevelDebug, "state",
				slog.String("member", e.Member.ID.String()), slog.String("key", string(e.Key)),
				slog.Uint64("version", e.Version), slog.Bool("deleted", e.Deleted))
		}
	default:
		if !a.log.Enabled(ctx, slog.LevelDebug) {
			return
		}
		attrs := []slog.Attr{
			slog.String("event", e.Type.String()), slog.String("member", e.Member.ID.String()),
			slog.String("addr", e.Member.Addr.String()), slog.String("state", e.Member.State.String()),
			slog.Uint64("generation", e.Member.Generation), slog.Uint64("incarnation", uint64(e.Member.Incarnation)),
		}
		if e.Witness != 0 {
			attrs = append(attrs, slog.String("witness", e.Witness.String()))
		}
		a.log.LogAttrs(ctx, slog.LevelDebug, "membership", attrs...)
	}
}
