package engine

import (
	"math"

	"github.com/hearsay-io/hearsay/codec"
)

// Replay protection for sealed clusters. Every datagram's header carries
// the sender's generation and a sequence number that rises by one per
// datagram the sender builds; both are authenticated (they are part of the
// AEAD's additional data). A receiver keeps, per sender, the highest
// sequence number seen in the sender's current generation and a bitmap of
// the replayWindow numbers below it (RFC 6479's sliding window, as
// WireGuard keeps per peer). A datagram whose number was seen, or is older
// than the window, or whose generation is older than the sender's current
// one, is dropped before any work and counted (Stats.DropReplay), and is
// never answered.
//
// A window also refuses a sequence number implausibly far above its top
// (see maxSeqRate), and a datagram of a later generation than this node
// holds for the sender goes to a second window until the cluster agrees
// the sender restarted (see senderWins): so a forged header cannot make a
// member's real datagrams look like replays.
//
// Memory is bounded: windows are kept for at most MaxMembers senders plus
// maxStrangerWindows that are not in the table. When the map is full, the
// window of a sender the table does not hold is forgotten first; a member's
// window is kept while it is in the table, tombstones included, so replays
// of a member's datagrams are refused for as long as anything is known of
// it.

// replayWindow is how many sequence numbers below the highest one seen are
// remembered per sender: datagrams reordered further than this are dropped.
const replayWindow = 128

// maxStrangerWindows bounds the windows kept for senders not in the table
// (joiners, before they are members).
const maxStrangerWindows = 1024

// seqRenewAt is the sequence number at which a node starts a new generation,
// so that its sequence numbers never wrap.
const seqRenewAt = math.MaxUint32 - 1<<20

type replayWin struct {
	gen  uint64
	top  uint32
	at   Time                      // when top last rose
	bits [replayWindow / 64]uint64 // bit i: top-i was seen
}

// senderWins are the windows kept for one sender: one for the generation
// this node holds for it (cur), and one for a later generation it has not
// learned yet (next), so that a datagram claiming a later generation
// cannot make the sender's real datagrams look old before the cluster
// agrees the sender restarted.
type senderWins struct {
	cur, next replayWin
}

// Sequence numbers a window accepts above its top: maxSeqJump, plus
// maxSeqRate for every second since the top last rose. A sender does not
// build datagrams faster than that, so a datagram far above the top is
// not honest, and refusing it keeps one forged header from making every
// real datagram of the sender look old.
const (
	maxSeqJump = 1 << 16
	maxSeqRate = 1 << 20
)

// fresh reports whether the sealed datagram with header h is new from its
// sender, and records it. It counts what it refuses.
func (c *Core) fresh(now Time, h *codec.Header) bool {
	id := ID(h.Sender)
	if c.windows == nil {
		c.windows = make(map[ID]*senderWins)
	}
	sw, ok := c.windows[id]
	if !ok {
		if len(c.windows) >= c.cfg.MaxMembers+maxStrangerWindows && !c.forgetStranger() {
			c.stats.DropReplay++
			return false
		}
		// A sender this node has no window for: its generation must not be
		// older than what the table holds of it.
		if r := c.lookup(id); r != nil && h.Generation < r.gen {
			c.stats.DropReplay++
			return false
		}
		sw = &senderWins{}
		sw.cur.start(h, now)
		c.windows[id] = sw
		return true
	}
	if sw.next.gen != 0 {
		if r := c.lookup(id); r != nil && r.gen >= sw.next.gen {
			// The cluster agrees the sender restarted: its new
			// generation's window becomes the current one.
			sw.cur, sw.next = sw.next, replayWin{}
		}
	}
	w := &sw.cur
	switch {
	case h.Generation < w.gen:
		c.stats.DropReplay++
		return false
	case h.Generation > w.gen:
		if r := c.lookup(id); r != nil && r.gen >= h.Generation {
			sw.cur.start(h, now)
			sw.next = replayWin{}
			return true
		}
		w = &sw.next
		if h.Generation != w.gen {
			w.start(h, now)
			return true
		}
	}
	return w.accept(h.Seq, now, &c.stats)
}

// start makes w a window of h's generation holding only h's sequence.
func (w *replayWin) start(h *codec.Header, now Time) {
	*w = replayWin{gen: h.Generation, top: h.Seq, at: now}
	w.bits[0] = 1
}

// accept records seq in w, reporting false (and counting) for a sequence
// seen before, older than the window, or implausibly far above it.
func (w *replayWin) accept(seq uint32, now Time, st *Stats) bool {
	if seq > w.top {
		jump := uint64(seq - w.top)
		if limit := maxSeqJump + uint64(max(0, now.Sub(w.at).Seconds()))*maxSeqRate; jump > limit {
			st.RefusedImplausible++
			return false
		}
		w.shift(seq - w.top)
		w.top, w.at = seq, now
		w.bits[0] |= 1
		return true
	}
	d := w.top - seq
	if d >= replayWindow {
		st.DropReplay++
		return false
	}
	word, bit := d/64, d%64
	if w.bits[word]&(1<<bit) != 0 {
		st.DropReplay++
		return false
	}
	w.bits[word] |= 1 << bit
	return true
}

// shift moves the window up by n sequence numbers.
func (w *replayWin) shift(n uint32) { shiftWindow(w.bits[:], n) }

// shiftWindow moves a sliding window's bitmap (bit i of the whole: the
// sequence number i below the top was seen) up by n sequence numbers:
// bits move toward higher positions and those past the end are dropped.
// The replay windows and the user-message windows share it.
func shiftWindow(bits []uint64, n uint32) {
	if n >= uint32(64*len(bits)) {
		clear(bits)
		return
	}
	words, b := int(n/64), n%64
	for i := len(bits) - 1; i >= 0; i-- {
		var v uint64
		if j := i - words; j >= 0 {
			v = bits[j] << b
			if b > 0 && j-1 >= 0 {
				v |= bits[j-1] >> (64 - b)
			}
		}
		bits[i] = v
	}
}

// forgetStranger drops the window of one sender the table does not hold.
// It reports false when every window belongs to a member.
func (c *Core) forgetStranger() bool {
	for id := range c.windows {
		if c.lookup(id) == nil {
			delete(c.windows, id)
			c.stats.ReplayWindowsEvicted++
			return true
		}
	}
	return false
}

// nextSeq advances the datagram sequence number. It never wraps: past
// seqRenewAt the node schedules a new generation (see renew), and at the
// maximum it stays there (receivers then refuse the datagrams as replays)
// until the renewal runs.
func (c *Core) nextSeq() {
	if c.seq >= seqRenewAt && c.renewAt == 0 {
		c.renewAt = c.now
	}
	if c.seq < math.MaxUint32 {
		c.seq++
	}
}
