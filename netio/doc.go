// Package netio moves datagrams in batches, over real UDP sockets or an
// in-memory network, behind one small interface, [Transport].
//
// [ListenUDP] opens a UDP socket. On Linux it reads with recvmmsg and
// writes with sendmmsg on message headers, iovecs and socket addresses
// allocated once, issued through syscall.RawConn so that a blocked reader
// parks on the runtime netpoller; runs of equal-size datagrams to one
// destination go out as one UDP GSO send where the kernel supports it,
// probed at open and abandoned at run time if a send fails. Elsewhere it
// moves one datagram per system call. IPv4, IPv6 and dual-stack sockets,
// buffer sizes (forced when privileged), SO_REUSEPORT and traffic class
// are [UDPOptions].
//
// [Network] is an in-memory datagram network for tests and the simulator:
// thousands of [Endpoint]s in one process, links with latency drawn from a
// distribution, loss, duplication, reordering, an MTU, asymmetric
// partitions and paused endpoints, all driven by a virtual clock and one
// seeded random source, so that a run replays exactly.
//
// [NewFaulty] wraps any Transport to drop a fraction of datagrams, delay
// them, or cut it off from a set of addresses, so real-UDP runs can be
// stressed the same way as simulated ones.
//
// Every transport counts datagrams and bytes in and out, batches, and drops
// by cause, and returns them as a [Stats] value.
//
// # What it does not do
//
// netio does not interpret datagrams: it knows nothing of the wire format
// (package codec) or the protocol (package engine), does not retransmit,
// and does not reassemble. A datagram larger than the receive buffer or
// MaxDatagram is dropped and counted, never delivered truncated.
//
// # Buffer ownership
//
// The caller owns every buffer. ReadBatch fills the Buf of each [Message]
// up to its length and sets N and Addr; the transport keeps no reference
// after it returns (the UDP rings clear their pointers to the caller's
// buffers). WriteBatch reads each Buf[:N] during the call only.
//
// Receive buffers may come from a [MessagePool], which the sockets of a
// process share ([SharedMessagePool]): a reader takes a batch just before
// it reads and puts it back once the datagrams are handled, so an idle
// socket holds one small batch and bursts borrow large ones.
//
// # Concurrency and allocation
//
// ReadBatch and WriteBatch may run concurrently with each other and with
// Stats and Close; concurrent calls of the same one are serialized. In
// steady state a batched read or write allocates nothing per datagram;
// TestNoAllocs asserts it for UDP and for the in-memory network.
package netio
