package netio

import "sync/atomic"

// Stats is a snapshot of one transport's counters. Counters only grow.
type Stats struct {
	// DatagramsIn and BytesIn count datagrams handed to the reader.
	DatagramsIn, BytesIn uint64
	// DatagramsOut and BytesOut count datagrams handed to the network.
	DatagramsOut, BytesOut uint64
	// BatchesIn counts receive calls that returned at least one datagram
	// (recvmmsg system calls for UDP, ReadBatch calls for an Endpoint), so
	// DatagramsIn/BatchesIn is the mean batch fill.
	BatchesIn uint64
	// BatchesOut counts send calls that sent at least one datagram (sendmmsg
	// system calls for UDP, WriteBatch and Send calls for an Endpoint).
	BatchesOut uint64

	// DropTooLarge counts datagrams dropped for size: received ones larger
	// than the reader's buffer (or UDPOptions.MaxDatagram), written ones
	// larger than MaxDatagram or than the kernel accepts (EMSGSIZE).
	DropTooLarge uint64
	// DropBufferFull counts datagrams lost because a queue was full: the
	// kernel's receive buffer for UDP (from SO_RXQ_OVFL on Linux), the
	// endpoint's queue in the in-memory network, the delay queue of Faulty.
	DropBufferFull uint64
	// DropInjected counts datagrams dropped on purpose by fault injection
	// (Faulty's loss and partitions).
	DropInjected uint64
	// DropOther counts written datagrams the kernel or network refused for
	// any other reason (unreachable, address family mismatch, invalid
	// address, destination closed).
	DropOther uint64

	// SendGSO counts datagrams sent as segments of a UDP GSO super-datagram
	// (a subset of DatagramsOut).
	SendGSO uint64
	// GSOFallbacks counts GSO sends that failed and were re-sent as plain
	// datagrams; after the first one the transport stops using GSO.
	GSOFallbacks uint64
}

// counters holds a transport's statistics as atomics. Receive-side and
// send-side counters live on separate cache lines because a reader and a
// writer goroutine usually update them at the same time.
type counters struct {
	datagramsIn    atomic.Uint64
	bytesIn        atomic.Uint64
	batchesIn      atomic.Uint64
	dropTooLargeIn atomic.Uint64
	dropBufferFull atomic.Uint64
	dropInjectedIn atomic.Uint64
	_              [64]byte // keeps the two groups on different cache lines

	datagramsOut    atomic.Uint64
	bytesOut        atomic.Uint64
	batchesOut      atomic.Uint64
	dropTooLargeOut atomic.Uint64
	dropInjectedOut atomic.Uint64
	dropOther       atomic.Uint64
	sendGSO         atomic.Uint64
	gsoFallbacks    atomic.Uint64
}

// snapshot returns the counters as a Stats value.
func (c *counters) snapshot() Stats {
	return Stats{
		DatagramsIn:    c.datagramsIn.Load(),
		BytesIn:        c.bytesIn.Load(),
		DatagramsOut:   c.datagramsOut.Load(),
		BytesOut:       c.bytesOut.Load(),
		BatchesIn:      c.batchesIn.Load(),
		BatchesOut:     c.batchesOut.Load(),
		DropTooLarge:   c.dropTooLargeIn.Load() + c.dropTooLargeOut.Load(),
		DropBufferFull: c.dropBufferFull.Load(),
		DropInjected:   c.dropInjectedIn.Load() + c.dropInjectedOut.Load(),
		DropOther:      c.dropOther.Load(),
		SendGSO:        c.sendGSO.Load(),
		GSOFallbacks:   c.gsoFallbacks.Load(),
	}
}
