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
//
// User broadcasts (Core.Broadcast, and those this node relays) wait in a
// lane of their own, userLane, under the same rule: least-sent first, each
// dropped once sent ceil(λ·log₂(N+1)) times. A datagram takes them only
// after every membership and state update that fits, so that failure
// detection and refutations never wait behind application payloads. The
// lane holds the payloads themselves (a message is not in the table to be
// read back), bounded in items and bytes (MaxBroadcasts,
// MaxBroadcastBytes); when full, the oldest message is dropped, counted.

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
	user      userLane
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

// pending returns the updates and user broadcasts waiting: whether there
// is anything to gossip.
func (q *queue) pending() int { return q.n + q.user.n }

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
	q.user.finish(limit, q.uncounted)
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

// userItem is a pending user broadcast: the message origin wrote (at gen,
// numbered seq) and its payload, which the lane owns and never changes.
type userItem struct {
	live    bool
	sent    uint16
	ver     uint32 // bumped whenever the item is requeued, as item.ver
	born    uint64 // arrival number, for dropping the oldest
	origin  ID
	gen     uint64
	seq     uint32
	payload []byte
}

// arrival is an entry of userLane.order.
type arrival struct {
	idx  int32
	born uint64
}

// userLane is the dissemination queue's lane of user broadcasts.
type userLane struct {
	items    []userItem
	free     []int32
	buckets  []bucket
	order    []arrival // items in arrival order, oldest first from head; stale entries skipped lazily
	head     int
	born     uint64
	taken    []taken
	n, bytes int // live items and their payload bytes
	maxN     int
	maxBytes int
	dropped  uint64 // items dropped because the lane was full
}

// add queues a broadcast, dropping the oldest ones while the lane is
// over its bounds. payload is kept, not copied.
func (l *userLane) add(origin ID, gen uint64, seq uint32, payload []byte) {
	for l.n > 0 && (l.n >= l.maxN || l.bytes+len(payload) > l.maxBytes) {
		if !l.dropOldest() {
			break
		}
	}
	var i int32
	if n := len(l.free); n > 0 {
		i = l.free[n-1]
		l.free = l.free[:n-1]
	} else {
		l.items = append(l.items, userItem{})
		i = int32(len(l.items) - 1)
	}
	l.born++
	l.items[i] = userItem{live: true, ver: l.items[i].ver, born: l.born, origin: origin, gen: gen, seq: seq, payload: payload}
	l.n++
	l.bytes += len(payload)
	l.requeue(i)
	if l.head > 0 && len(l.order)-l.head < l.head && len(l.order) > 64 {
		l.order = l.order[:copy(l.order, l.order[l.head:])]
		l.head = 0
	}
	if len(l.order)-l.head > 2*l.maxN+64 {
		l.compactOrder()
	}
	l.order = append(l.order, arrival{i, l.born})
}

// compactOrder drops the entries of items no longer queued.
func (l *userLane) compactOrder() {
	k := 0
	for _, a := range l.order[l.head:] {
		if it := &l.items[a.idx]; it.live && it.born == a.born {
			l.order[k] = a
			k++
		}
	}
	l.order, l.head = l.order[:k], 0
}

// dropOldest releases the oldest queued broadcast, counting it. It reports
// false when none is queued.
func (l *userLane) dropOldest() bool {
	for l.head < len(l.order) {
		a := l.order[l.head]
		l.head++
		if it := &l.items[a.idx]; it.live && it.born == a.born {
			l.release(a.idx)
			l.dropped++
			return true
		}
	}
	l.order, l.head = l.order[:0], 0
	return false
}

func (l *userLane) requeue(i int32) {
	it := &l.items[i]
	it.ver++
	for int(it.sent) >= len(l.buckets) {
		l.buckets = append(l.buckets, bucket{})
	}
	l.buckets[it.sent].push(slot{i, it.ver})
}

func (l *userLane) release(i int32) {
	it := &l.items[i]
	l.n--
	l.bytes -= len(it.payload)
	it.live, it.payload = false, nil
	it.ver++
	l.free = append(l.free, i)
}

// take returns the next broadcast to transmit, least-sent first, or -1; as
// queue.take, it stays out of the lane until finish.
func (l *userLane) take() int32 {
	for b := range l.buckets {
		bk := &l.buckets[b]
		for !bk.empty() {
			s, _ := bk.pop()
			it := &l.items[s.idx]
			if !it.live || it.ver != s.ver || int(it.sent) != b {
				continue
			}
			l.taken = append(l.taken, taken{idx: s.idx})
			return s.idx
		}
	}
	return -1
}

// markSent records that the last broadcast taken went into the datagram.
func (l *userLane) markSent() { l.taken[len(l.taken)-1].outcome = outcomeSent }

// finish ends a datagram as queue.finish does: broadcasts sent count one
// more transmission (unless uncounted) and are dropped at limit; the others
// go back unchanged.
func (l *userLane) finish(limit int, uncounted bool) {
	for _, t := range l.taken {
		it := &l.items[t.idx]
		if !it.live {
			continue
		}
		if t.outcome == outcomeSent && !uncounted {
			it.sent++
			if int(it.sent) >= limit {
				l.release(t.idx)
				continue
			}
		}
		l.requeue(t.idx)
	}
	l.taken = l.taken[:0]
}
