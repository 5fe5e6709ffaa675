package engine

import (
	"slices"
	"sync"
	"sync/atomic"
)

// DefaultSubscriptionBuffer is the channel capacity Subscribe uses for a
// buf below 1.
const DefaultSubscriptionBuffer = 1024

// Subscription receives a node's events through a bounded channel. Create
// one with Node.Subscribe.
//
// Overflow policy: the node never blocks on a subscriber. When the channel
// is full, the new event is dropped for this subscriber only (the events
// already queued are kept, so the channel holds the oldest undelivered
// ones), and the drop is counted in Dropped and in the node's
// NodeStats.EventsDropped. A subscriber that must not miss changes should
// size its buffer for bursts (a join delivers one event per member learned)
// and, when Dropped grows, resynchronize from Node.Members.
//
// Events arrive in the order the node saw them. When an event arrives, the
// node's Members, Member, State and Ring already reflect it
// (or a later change).
type Subscription struct {
	ch      chan Event
	mask    uint32 // bit t set: deliver EventType t; zero: deliver all
	mu      sync.Mutex
	closed  bool
	dropped atomic.Uint64
	subs    *subscribers
}

// Events returns the channel the events arrive on. It is closed by Close,
// by Node.Unsubscribe and by Node.Close.
func (s *Subscription) Events() <-chan Event { return s.ch }

// Dropped returns how many events were dropped because the channel was
// full.
func (s *Subscription) Dropped() uint64 { return s.dropped.Load() }

// Close ends the subscription and closes its channel. Events still queued
// in the channel can be read after Close. Close is idempotent.
func (s *Subscription) Close() {
	s.subs.remove(s)
	s.shut()
}

// shut closes the channel once; deliver never sends after it.
func (s *Subscription) shut() {
	s.mu.Lock()
	if !s.closed {
		s.closed = true
		close(s.ch)
	}
	s.mu.Unlock()
}

// deliver offers e without blocking; a full channel drops it.
func (s *Subscription) deliver(e *Event, all *subscribers) {
	if s.mask != 0 && s.mask&(1<<e.Type) == 0 {
		return
	}
	s.mu.Lock()
	if !s.closed {
		select {
		case s.ch <- *e:
			all.delivered.Add(1)
		default:
			s.dropped.Add(1)
			all.dropped.Add(1)
		}
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

// Subscribe returns a subscription to the node's events: members joining,
// becoming alive, suspect, dead or left, updates, application-state changes,
// and this node's own death and refutation (EventSelfDead, EventSelfAlive).
// buf is the channel's capacity; below 1 it is DefaultSubscriptionBuffer.
// When types are given, only events of those types are delivered.
//
// See Subscription for the overflow policy. After Close, Subscribe returns
// a subscription whose channel is already closed.
func (n *Node) Subscribe(buf int, types ...EventType) *Subscription {
	if buf < 1 {
		buf = DefaultSubscriptionBuffer
	}
	s := &Subscription{ch: make(chan Event, buf), subs: &n.subs}
	for _, t := range types {
		if t < 32 {
			s.mask |= 1 << t
		}
	}
	n.subs.add(s)
	return s
}

// Unsubscribe ends s, as s.Close does.
func (n *Node) Unsubscribe(s *Subscription) { s.Close() }
