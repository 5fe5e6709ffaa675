package engine

import (
	"net/netip"

	"github.com/hearsay-io/hearsay/netio"
)

// Outbox chunks start at outboxFirstChunk bytes, which holds a steady
// step's datagrams (a few heartbeats, probes and acks), and each new chunk
// doubles the last, up to outboxChunk, so an idle node holds a few KiB
// and a busy one sends from 64 KiB chunks. Chunks past the first are
// dropped after outboxShrinkAfter Resets in a row that used only the first,
// so a burst (a join's transfers) does not pin its peak forever.
const (
	outboxFirstChunk  = 4 << 10
	outboxChunk       = 64 << 10
	outboxShrinkAfter = 64
)

// Outbox collects the datagrams a Core emits during one call. Datagram bytes
// live in reused chunks; Messages returns them ready for a netio batch write.
// The driver sends them and calls Reset before the next call into the core.
//
// An Outbox may be shared by many cores that a single goroutine drives (the
// simulator does this to keep one set of buffers for thousands of nodes); it
// is not safe for concurrent use.
type Outbox struct {
	chunks  [][]byte
	cur     int
	quiet   int // Resets in a row that used only chunks[0]
	msgs    []netio.Message
	scratch []byte // a work buffer for one datagram, apart from the chunks
}

// scratchBuffer returns an empty slice with capacity at least n that does
// not overlap the chunks, for building a datagram that is transformed
// (compressed) before it is committed. It is reused by the next call.
func (o *Outbox) scratchBuffer(n int) []byte {
	if cap(o.scratch) < n {
		o.scratch = make([]byte, 0, n)
	}
	return o.scratch[:0]
}

// Messages returns the datagrams emitted since the last Reset. They alias the
// outbox's buffers and stay valid until Reset.
func (o *Outbox) Messages() []netio.Message { return o.msgs }

// Len returns the number of datagrams waiting.
func (o *Outbox) Len() int { return len(o.msgs) }

// Reset forgets every datagram and makes the buffers reusable.
func (o *Outbox) Reset() {
	for i := range o.msgs {
		o.msgs[i] = netio.Message{}
	}
	o.msgs = o.msgs[:0]
	for i := 0; i <= o.cur && i < len(o.chunks); i++ {
		o.chunks[i] = o.chunks[i][:0]
	}
	switch {
	case o.cur > 0:
		o.quiet = 0
	case len(o.chunks) > 1:
		if o.quiet++; o.quiet >= outboxShrinkAfter {
			clear(o.chunks[1:])
			o.chunks = o.chunks[:1]
			o.quiet = 0
		}
	}
	o.cur = 0
}

// buffer returns an empty slice with capacity n at the end of the outbox.
func (o *Outbox) buffer(n int) []byte {
	for {
		if o.cur >= len(o.chunks) {
			size := outboxFirstChunk
			if k := len(o.chunks); k > 0 {
				size = min(2*cap(o.chunks[k-1]), outboxChunk)
			}
			o.chunks = append(o.chunks, make([]byte, 0, max(size, n)))
		}
		c := o.chunks[o.cur]
		if cap(c)-len(c) >= n {
			return c[len(c):len(c):cap(c)]
		}
		o.cur++
	}
}

// commit records b, which must have been built in the slice buffer returned,
// as a datagram to addr.
func (o *Outbox) commit(to netip.AddrPort, b []byte) {
	c := o.chunks[o.cur]
	o.chunks[o.cur] = c[:len(c)+len(b)]
	o.msgs = append(o.msgs, netio.Message{Addr: to, Buf: b, N: len(b)})
}
