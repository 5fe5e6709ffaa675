package netio

import "time"

// event is one scheduled delivery: the datagram buf from slot src to slot
// dst, due at time at. seq, unique and increasing in scheduling order,
// breaks ties, so the order of deliveries is a pure function of the seed and
// the order of calls.
type event struct {
	at       time.Duration
	seq      uint64
	src, dst int32
	buf      []byte // from the network's bufPool, owned by the event
}

// before reports whether e is due before f.
func (e *event) before(f *event) bool {
	return e.at < f.at || (e.at == f.at && e.seq < f.seq)
}

// eventHeap is a 4-ary min-heap of events ordered by (at, seq), stored by
// value so that scheduling does not allocate once the slice has grown. Four
// children per node halve the depth of a binary heap and keep siblings on
// adjacent cache lines, which matters with a million events in flight.
type eventHeap []event

// push adds e.
func (h *eventHeap) push(e event) {
	*h = append(*h, e)
	s := *h
	i := len(s) - 1
	for i > 0 {
		parent := (i - 1) / 4
		if !e.before(&s[parent]) {
			break
		}
		s[i] = s[parent]
		i = parent
	}
	s[i] = e
}

// pop removes and returns the earliest event; the heap must not be empty.
func (h *eventHeap) pop() event {
	s := *h
	top := s[0]
	n := len(s) - 1
	last := s[n]
	s[n] = event{} // drop the buffer reference
	s = s[:n]
	*h = s
	if n == 0 {
		return top
	}
	i := 0
	for {
		c := 4*i + 1
		if c >= n {
			break
		}
		for j, end := c+1, min(c+4, n); j < end; j++ {
			if s[j].before(&s[c]) {
				c = j
			}
		}
		if !s[c].before(&last) {
			break
		}
		s[i] = s[c]
		i = c
	}
	s[i] = last
	return top
}
