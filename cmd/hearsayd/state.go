package main

import (
	"sort"
	"sync"

	"github.com/hearsay-io/hearsay"
)

// stateIndex remembers which application-state keys each member has, so
// that /state can list them: hearsay.Node reads one key at a time
// (Node.State) but cannot enumerate a member's keys. The index holds key
// names only; values are always read from the node, so they are never
// stale. It learns keys from EventState events and from this node's own
// SetState calls. If events are dropped (a full subscription buffer), keys
// first set during the gap stay unknown until they change again; the index
// then reports itself incomplete.
type stateIndex struct {
	mu         sync.Mutex
	members    map[hearsay.ID]*memberKeys
	incomplete bool
}

type memberKeys struct {
	gen  uint64
	keys map[string]struct{}
}

func newStateIndex() *stateIndex {
	return &stateIndex{members: make(map[hearsay.ID]*memberKeys)}
}

// at returns id's entry for generation gen, resetting it when the member
// restarted (its state starts afresh with its new generation). It returns
// nil for a generation older than the one held.
func (s *stateIndex) at(id hearsay.ID, gen uint64) *memberKeys {
	m := s.members[id]
	switch {
	case m == nil || gen > m.gen:
		m = &memberKeys{gen: gen, keys: make(map[string]struct{})}
		s.members[id] = m
	case gen < m.gen:
		return nil
	}
	return m
}

// add records that member id of generation gen has key.
func (s *stateIndex) add(id hearsay.ID, gen uint64, key string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if m := s.at(id, gen); m != nil {
		m.keys[key] = struct{}{}
	}
}

// apply updates the index from one event.
func (s *stateIndex) apply(e *hearsay.Event) {
	switch e.Type {
	case hearsay.EventState:
		s.mu.Lock()
		defer s.mu.Unlock()
		m := s.at(e.Member.ID, e.Member.Generation)
		if m == nil {
			return
		}
		if e.Deleted {
			delete(m.keys, string(e.Key))
		} else {
			m.keys[string(e.Key)] = struct{}{}
		}
	case hearsay.EventJoin, hearsay.EventUpdate:
		s.mu.Lock()
		defer s.mu.Unlock()
		s.at(e.Member.ID, e.Member.Generation)
	}
}

// keys returns id's known keys, sorted.
func (s *stateIndex) keys(id hearsay.ID) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := s.members[id]
	if m == nil {
		return nil
	}
	out := make([]string, 0, len(m.keys))
	for k := range m.keys {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// prune forgets members the node no longer holds (reaped tombstones).
func (s *stateIndex) prune(known map[hearsay.ID]bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for id := range s.members {
		if !known[id] {
			delete(s.members, id)
		}
	}
}

func (s *stateIndex) markIncomplete() {
	s.mu.Lock()
	s.incomplete = true
	s.mu.Unlock()
}

func (s *stateIndex) complete() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return !s.incomplete
}
