package netio

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
)

// Message is one datagram in a batch.
//
// On read, Buf is the caller's buffer: len(Buf) is the space offered, and the
// transport fills Buf[:N] with the datagram and Addr with its source. A
// datagram that does not fit in Buf is dropped and counted in
// Stats.DropTooLarge; it is never truncated. When a batch read drops a
// datagram, the transport may exchange Buf slices among the messages of that
// batch to keep the returned ones contiguous; it only ever uses the buffers
// it was given.
//
// On write, Buf is the whole datagram, Addr its destination, and N is
// ignored. The transport does not retain Buf after WriteBatch returns (a
// delaying wrapper such as Faulty copies it).
type Message struct {
	// Addr is the source on read and the destination on write.
	Addr netip.AddrPort
	// Buf holds the datagram: the space offered on read, the payload on write.
	Buf []byte
	// N is the length of the datagram read into Buf; ignored on write.
	N int
}

// Transport moves datagrams in batches. Implementations in this package are
// *UDP, *Endpoint (the in-memory network) and *Faulty.
//
// ReadBatch and WriteBatch may be called concurrently with each other and
// with Stats and Close; concurrent calls to ReadBatch (or to WriteBatch) are
// serialized.
type Transport interface {
	// ReadBatch blocks until at least one datagram is available or the
	// transport is closed, then fills up to len(msgs) messages and returns
	// how many. After Close it returns 0 and an error matching ErrClosed.
	ReadBatch(msgs []Message) (int, error)
	// WriteBatch sends each msgs[i].Buf to msgs[i].Addr and returns how many
	// messages it processed, which is len(msgs) unless the transport is
	// closed. Per-datagram failures (unreachable, too large, injected loss)
	// are counted in Stats, not returned.
	WriteBatch(msgs []Message) (int, error)
	// LocalAddr returns the address the transport is bound to.
	LocalAddr() netip.AddrPort
	// Stats returns a snapshot of the transport's counters.
	Stats() Stats
	// Close releases the transport and unblocks ReadBatch, which then
	// returns ErrClosed. Close is idempotent.
	Close() error
}

// ErrClosed is returned (possibly wrapped) by operations on a closed
// transport. It also matches net.ErrClosed with errors.Is.
var ErrClosed = fmt.Errorf("netio: transport closed: %w", net.ErrClosed)

// ErrAddrInUse is returned by Network.Listen when an open endpoint already
// holds the address.
var ErrAddrInUse = errors.New("netio: address already in use")

// ErrInvalidAddr is returned when an address is not a valid IP address and
// port for the operation.
var ErrInvalidAddr = errors.New("netio: invalid address")

// ErrInvalidOption is returned by ListenUDP when an option is out of range.
var ErrInvalidOption = errors.New("netio: invalid option")

// MaxDatagramSize is the largest UDP payload IPv4 can carry (65,535 bytes
// minus the 20-byte IP and 8-byte UDP headers). Larger datagrams are dropped
// everywhere in this package.
const MaxDatagramSize = 65507

// NewMessages returns n messages whose Bufs are consecutive size-byte slices
// of one allocation, ready for ReadBatch. Each Buf has capacity size, so a
// reader cannot spill into its neighbour.
func NewMessages(n, size int) []Message {
	if n < 0 {
		n = 0
	}
	if size < 0 {
		size = 0
	}
	msgs := make([]Message, n)
	slab := make([]byte, n*size)
	for i := range msgs {
		msgs[i].Buf = slab[i*size : (i+1)*size : (i+1)*size]
	}
	return msgs
}

// compact moves the kept message at index i to index j (j < i) by exchanging
// the two messages' buffers, so the batch stays contiguous without copying
// payloads. It is shared by the transports that drop datagrams in a batch.
func compact(msgs []Message, j, i int) {
	msgs[j].Buf, msgs[i].Buf = msgs[i].Buf, msgs[j].Buf
	msgs[j].N = msgs[i].N
	msgs[j].Addr = msgs[i].Addr
}
