package engine

import (
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// DefaultSubscriptionBuffer is the channel capacity Subscribe uses for a
// buf below 1.
const DefaultSubscriptionBuffer = 1024

// MaxSubscriptionWait bounds SubscribeOptions.MaxWait.
const MaxSubscriptionWait = 100 * time.Millisecond

// SubscribeOptions configure a subscription (Node.SubscribeWith).
type SubscribeOptions struct {
	// Buffer is the channel's capacity; below 1 it is
	// DefaultSubscriptionBuffer. A join delivers one event per member
	// learned: size it for the cluster when every join must fit.
	Buffer int
	// Types, when not empty, are the only event types delivered (EventGap
	// always is).
	Types []EventType
	// MaxWait is how long the node waits for room in a full channel
	// before it drops the event and reports a gap. Zero, the default,
	// never waits. Waiting stalls the node's goroutine: no datagram is
	// handled and no heartbeat sent meanwhile, so a subscriber that keeps
	// the node waiting can make the cluster suspect it. The wait is
	// therefore bounded twice: MaxWait is capped at MaxSubscriptionWait,
	// and once a wait runs out the node does not wait again for this
	// subscription until its channel had room for the EventGap.
	MaxWait time.Duration
}

// Subscription receives a node's events through a bounded channel. Create
// one with Node.Subscribe or Node.SubscribeWith.
//
// Overflow policy: a subscription never loses events silently. When its
// channel is full, a new event is dropped for this subscription only (the
// events already queued are kept, so the channel holds the oldest
// undelivered ones), the drop is counted in Dropped and in the node's
// NodeStats.EventsDropped, and as soon as the channel has room again the
// subscriber receives an EventGap whose Missed says how many events it
// did not get. The node checks for that room at every step of its
// goroutine, so the EventGap comes at the latest one HeartbeatInterval
// after the subscriber made room. On EventGap, resynchronize from
// Node.Members (and State for application state): they are exact. With
// SubscribeOptions.MaxWait the node first waits, briefly and at a cost
// described there, for the subscriber to make room.
//
// Events arrive in the order the node saw them. When an event arrives, the
// node's Members, Member, State and Ring already reflect it (or a later
// change).
type Subscription struct {
	ch      chan Event
	mask    uint32        // bit t set: deliver EventType t; zero: deliver all
	wait    time.Duration // SubscribeOptions.MaxWait, capped
	quit    chan struct{} // closed when the subscription ends
	endOnce sync.Once
	mu      sync.Mutex // held by deliver while it sends; Close waits for it
	closed  bool
	missed  uint64 // events dropped since the last EventGap was queued (mu)
	stuck   bool   // a wait ran out; no wait until the gap is delivered (mu)
	dropped atomic.Uint64
	subs    *subscribers
}

// Events returns the channel the events arrive on. It is closed by Close,
// by Node.Unsubscribe and by Node.Close.
func (s *Subscription) Events() <-chan Event { return s.ch }

// Dropped returns how many events were dropped because the channel was
// full, in all.
func (s *Subscription) Dropped() uint64 { return s.dropped.Load() }

// Close ends the subscription and closes its channel. Events still queued
// in the channel can be read after Close. Close is idempotent.
func (s *Subscription) Close() {
	s.subs.remove(s)
	s.shut()
}

// shut closes the channel once; deliver never sends after it. A delivery
// waiting for room is cut short first.
func (s *Subscription) shut() {
	s.endOnce.Do(func() { close(s.quit) })
	s.mu.Lock()
	if !s.closed {
		s.closed = true
		if s.missed > 0 {
			s.missed = 0
			s.subs.gaps.Add(-1)
		}
		close(s.ch)
	}
	s.mu.Unlock()
}

// wants reports whether the subscription takes events of type t.
func (s *Subscription) wants(t EventType) bool {
	return s.mask == 0 || s.mask&(1<<t) != 0 || t == EventGap
}

// deliver offers e. When the channel is full it waits (for a subscription
// with MaxWait) or drops e and counts it toward the next EventGap. It runs
// on the node's goroutine only.
func (s *Subscription) deliver(e *Event, all *subscribers) {
	if !s.wants(e.Type) {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return
	}
	if s.missed > 0 && !s.sendGap(e.At, e.Time) {
		s.drop(all)
		return
	}
	select {
	case s.ch <- *e:
		all.delivered.Add(1)
		return
	default:
	}
	if s.wait > 0 && !s.stuck && s.waitSend(e, all) {
		all.delivered.Add(1)
		return
	}
	s.drop(all)
}

// drop counts one event lost to a full channel.
func (s *Subscription) drop(all *subscribers) {
	if s.missed == 0 {
		all.gaps.Add(1)
	}
	s.missed++
	s.dropped.Add(1)
	all.dropped.Add(1)
}

// sendGap queues the EventGap for the events missed, if the channel has
// room. s.mu is held.
func (s *Subscription) sendGap(at Time, wall time.Time) bool {
	select {
	case s.ch <- Event{Type: EventGap, At: at, Time: wall, Missed: s.missed}:
		s.missed = 0
		s.stuck = false
		s.subs.gaps.Add(-1)
		return true
	default:
		return false
	}
}

// waitSend waits up to s.wait for room for e. s.mu is held: Close cuts
// the wait short through s.quit.
func (s *Subscription) waitSend(e *Event, all *subscribers) bool {
	t := all.timer
	if t == nil {
		t = time.NewTimer(s.wait)
		all.timer = t
	} else {
		t.Reset(s.wait)
	}
	defer t.Stop()
	select {
	case s.ch <- *e:
		return true
	case <-t.C:
		s.stuck = true
	case <-s.quit:
	}
	return false
}

// flushGap delivers a pending EventGap if the channel has room now.
func (s *Subscription) flushGap(at Time, wall time.Time) {
	s.mu.Lock()
	if !s.closed && s.missed > 0 {
		s.sendGap(at, wall)
	}
	s.mu.Unlock()
}

// subscribers is a node's set of subscriptions: copy-on-write under mu,
// read lock-free by the core goroutine.
type subscribers struct {
	mu        sync.Mutex
	list      atomic.Pointer[[]*Subscription]
	closed    bool
	delivered atomic.Uint64
	dropped   atomic.Uint64
	gaps      atomic.Int32 // subscriptions with an EventGap to deliver
	timer     *time.Timer  // for MaxWait; the node's goroutine only
}

func (ss *subscribers) load() []*Subscription {
	if p := ss.list.Load(); p != nil {
		return *p
	}
	return nil
}

func (ss *subscribers) add(s *Subscription) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	if ss.closed {
		s.shut()
		return
	}
	l := append(slices.Clip(ss.load()), s)
	ss.list.Store(&l)
}

func (ss *subscribers) remove(s *Subscription) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	old := ss.load()
	i := slices.Index(old, s)
	if i < 0 {
		return
	}
	l := slices.Delete(slices.Clone(old), i, i+1)
	ss.list.Store(&l)
}

// closeAll closes every subscription; later ones are born closed.
func (ss *subscribers) closeAll() {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	ss.closed = true
	for _, s := range ss.load() {
		s.shut()
	}
	ss.list.Store(nil)
}

// flushGaps offers their EventGap to the subscriptions that have one
// pending. The node's goroutine runs it after every step; it costs one
// atomic load when no gap is pending.
func (ss *subscribers) flushGaps(at Time, wall time.Time) {
	if ss.gaps.Load() == 0 {
		return
	}
	for _, s := range ss.load() {
		s.flushGap(at, wall)
	}
}

// Subscribe returns a subscription to the node's events: members joining,
// becoming alive, suspect, dead or left, updates, application-state changes,
// and this node's own death and refutation (EventSelfDead, EventSelfAlive).
// buf is the channel's capacity; below 1 it is DefaultSubscriptionBuffer.
// When types are given, only events of those types are delivered, and
// EventGap.
//
// See Subscription for the overflow policy. After Close, Subscribe returns
// a subscription whose channel is already closed.
func (n *Node) Subscribe(buf int, types ...EventType) *Subscription {
	return n.SubscribeWith(SubscribeOptions{Buffer: buf, Types: types})
}

// SubscribeWith is Subscribe with options: see SubscribeOptions.
func (n *Node) SubscribeWith(opts SubscribeOptions) *Subscription {
	buf := opts.Buffer
	if buf < 1 {
		buf = DefaultSubscriptionBuffer
	}
	s := &Subscription{
		ch:   make(chan Event, buf),
		quit: make(chan struct{}),
		wait: min(max(opts.MaxWait, 0), MaxSubscriptionWait),
		subs: &n.subs,
	}
	for _, t := range opts.Types {
		if t < 32 {
			s.mask |= 1 << t
		}
	}
	n.subs.add(s)
	return s
}

// Unsubscribe ends s, as s.Close does.
func (n *Node) Unsubscribe(s *Subscription) { s.Close() }
