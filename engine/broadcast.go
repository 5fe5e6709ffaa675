package engine

// The dissemination queue. Every pending update (a member's record, or one
// application-state key of a member) is an item with a transmission count.
// Datagrams take items least-sent first; an item is dropped once sent
// ceil(λ·log₂(N+1)) times. A newer update for the same member or key replaces
// the item in place and starts its count again. Items name what to send, not
// the bytes: the current record is read from the table when a datagram is
// built, so a datagram never carries a superseded version.
//
// Buckets are FIFO lists of item indices, one per transmission count; an
// entry whose item moved on (replaced or re-counted) is skipped lazily.

type itemKind uint8

const (
	itemMember itemKind = iota + 1
	itemState
)

type item struct {
	kind    itemKind
	live    bool
	sent    uint16
	ver     uint32 // bumped whenever the item is requeued, to skip stale bucket entries
	id      ID     // the member, or the owner of the state key
	witness ID     // for member items: the accuser of a suspicion, the declarer of a death
	keyHash uint64 // for state items
	keyLen  uint8
	key     [32]byte
}

type slot struct {
	idx int32
	ver uint32
}

type bucket struct {
	q    []slot
	head int
}

func (b *bucket) push(s slot) { b.q = append(b.q, s) }

func (b *bucket) pop() (slot, bool) {
	if b.head >= len(b.q) {
		return slot{}, false
	}
	s := b.q[b.head]
	b.head++
	if b.head == len(b.q) {
		b.q, b.head = b.q[:0], 0
	} else if b.head > 64 && b.head > len(b.q)/2 {
		n := copy(b.q, b.q[b.head:])
		b.q, b.head = b.q[:n], 0
	}
	return s, true
}

func (b *bucket) empty() bool { return b.head >= len(b.q) }

type queue struct {
	items     []item
	free      []int32
	members   map[ID]int32
	states    map[uint64]int32
	buckets   []bucket
	n         int // live items
	max       int
	dropped   uint64 // items dropped because the queue was full
	taken     []taken
	uncounted bool // the datagram being filled does not count as a transmission
}

func newQueue(max int) *queue {
	return &queue{
		members: make(map[ID]int32),
		states:  make(map[uint64]int32),
		max:     max,
	}
}

func (q *queue) len() int { return q.n }

func (q *queue) alloc() int32 {
	if n := len(q.free); n > 0 {
		i := q.free[n-1]
		q.free = q.free[:n-1]
		return i
	}
	q.items = append(q.items, item{})
	return int32(len(q.items) - 1)
}

func (q *queue) requeue(i int32) {
	it := &q.items[i]
	it.ver++
	for int(it.sent) >= len(q.buckets) {
		q.buckets = append(q.buckets, bucket{})
	}
	q.buckets[it.sent].push(slot{i, it.ver})
}

// makeRoom drops the most transmitted item when the queue is full.
func (q *queue) makeRoom() {
	for q.n >= q.max {
		dropped := false
		for b := len(q.buckets) - 1; b >= 0 && !dropped; b-- {
			for {
				s, ok := q.buckets[b].pop()
				if !ok {
					break
				}
				if it := &q.items[s.idx]; it.live && it.ver == s.ver {
					q.release(s.idx)
					q.dropped++
					dropped = true
					break
				}
			}
		}
		if !dropped {
			return
		}
	}
}

// addMember queues (or requeues) an update of member id's record.
func (q *queue) addMember(id, witness ID) {
	if i, ok := q.members[id]; ok {
		it := &q.items[i]
		it.witness, it.sent = witness, 0
		q.requeue(i)
		return
	}
	q.makeRoom()
	i := q.alloc()
	q.items[i] = item{kind: itemMember, live: true, id: id, witness: witness, ver: q.items[i].ver}
	q.members[id] = i
	q.n++
	q.requeue(i)
}

// addState queues (or requeues) an update of owner's key.
func (q *queue) addState(owner ID, key []byte, h uint64) {
	if i, ok := q.states[h]; ok {
		it := &q.items[i]
		if it.id == owner && string(it.key[:it.keyLen]) == string(key) {
			it.sent = 0
			q.requeue(i)
			return
		}
	}
	q.makeRoom()
	i := q.alloc()
	it := &q.items[i]
	*it = item{kind: itemState, live: true, id: owner, keyHash: h, ver: it.ver}
	it.keyLen = uint8(copy(it.key[:], key))
	if _, exists := q.states[h]; !exists {
		q.states[h] = i
	}
	q.n++
	q.requeue(i)
}

func (q *queue) release(i int32) {
	it := &q.items[i]
	switch it.kind {
	case itemMember:
		if q.members[it.id] == i {
			delete(q.members, it.id)
		}
	case itemState:
		if j, ok := q.states[it.keyHash]; ok && j == i {
			delete(q.states, it.keyHash)
		}
	}
	it.live = false
	it.ver++
	q.free = append(q.free, i)
	q.n--
}

// forget drops a pending member update (e.g. the member was reaped).
func (q *queue) forget(id ID) {
	if i, ok := q.members[id]; ok {
		q.release(i)
	}
}

// take returns the next item to transmit, least-sent first, or -1 when none
// is left. Items taken stay out of the queue until finish, so a datagram
// never carries one twice; the caller reports each with markSent or
// markDropped, and untouched ones go back unchanged.
func (q *queue) take() int32 {
	for b := range q.buckets {
		bk := &q.buckets[b]
		for !bk.empty() {
			s, _ := bk.pop()
			it := &q.items[s.idx]
			if !it.live || it.ver != s.ver || int(it.sent) != b {
				continue
			}
			q.taken = append(q.taken, taken{idx: s.idx})
			return s.idx
		}
	}
	return -1
}

// markSent records that the last item taken went into the datagram.
func (q *queue) markSent() { q.taken[len(q.taken)-1].outcome = outcomeSent }

// markDropped records that the last item taken is obsolete and releases it.
func (q *queue) markDropped() {
	t := &q.taken[len(q.taken)-1]
	t.outcome = outcomeDropped
	q.release(t.idx)
}

// finish ends a datagram: items sent count one more transmission and are
// dropped at limit; items not sent go back unchanged.
func (q *queue) finish(limit int) {
	for _, t := range q.taken {
		switch t.outcome {
		case outcomeDropped:
			continue
		case outcomeSent:
			if q.uncounted {
				break // requeued unchanged
			}
			it := &q.items[t.idx]
			it.sent++
			if int(it.sent) >= limit {
				q.release(t.idx)
				continue
			}
		}
		q.requeue(t.idx)
	}
	q.taken = q.taken[:0]
}

const (
	outcomeNone uint8 = iota
	outcomeSent
	outcomeDropped
)

type taken struct {
	idx     int32
	outcome uint8
}
