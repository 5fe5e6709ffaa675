package netio

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync/atomic"
	"time"

	"golang.org/x/net/ipv4"
	"golang.org/x/net/ipv6"
)

// Defaults applied by ListenUDP to zero fields of UDPOptions.
const (
	DefaultSocketBuffer = 4 << 20 // bytes, for RecvBuffer and SendBuffer
	DefaultBatchSize    = 64      // datagrams per system call
	DefaultMaxDatagram  = 2048    // bytes
	maxBatchSize        = 1024    // the kernel's UIO_MAXIOV bound on vlen
)

// UDPOptions configures ListenUDP. The zero value gives the defaults.
type UDPOptions struct {
	// RecvBuffer is the socket receive buffer in bytes. Zero means 4 MiB
	// (DefaultSocketBuffer); negative leaves the kernel default. On Linux the
	// size is set with SO_RCVBUFFORCE when the process is privileged
	// (CAP_NET_ADMIN), which ignores net.core.rmem_max, and with SO_RCVBUF,
	// which the kernel silently caps at rmem_max, otherwise. The kernel
	// doubles the value for its bookkeeping; BufferSizes reports the result.
	// A 4 MiB buffer holds a few thousand datagrams, enough to ride out a
	// burst while the reader is descheduled.
	RecvBuffer int
	// SendBuffer is the socket send buffer in bytes, with the same rules as
	// RecvBuffer (SO_SNDBUFFORCE, SO_SNDBUF, net.core.wmem_max).
	SendBuffer int
	// ReusePort sets SO_REUSEPORT so several sockets can share the address
	// and the kernel spreads datagrams over them. Linux only.
	ReusePort bool
	// BatchSize is the most datagrams moved by one system call. Zero means
	// 64; values above 1,024 are capped. Larger batches save system calls
	// under load and cost 120 bytes of headers per slot, allocated on first
	// use and grown to the largest batch actually passed.
	BatchSize int
	// MaxDatagram bounds datagram size in bytes in both directions. A
	// received datagram larger than min(len(Buf), MaxDatagram) is dropped and
	// counted in Stats.DropTooLarge (detected with MSG_TRUNC, never truncated
	// silently); a written one larger than MaxDatagram is dropped and counted
	// the same way. Zero means 2,048; values above 65,507 are capped.
	MaxDatagram int
	// GSO enables UDP generic segmentation offload (UDP_SEGMENT, Linux 4.18
	// and later) for runs of two or more consecutive messages in a batch to
	// the same destination with equal sizes (the last may be shorter): the
	// run goes down the stack as one super-datagram that the kernel or the
	// NIC splits. Support is probed at open; if a GSO send fails with an
	// error that means the path cannot segment (EIO, EINVAL, EOPNOTSUPP), the
	// run is re-sent as plain datagrams, Stats.GSOFallbacks is counted and the
	// transport stops using GSO. Stats.SendGSO counts the segments sent.
	GSO bool
	// DualStack makes an IPv6 socket also carry IPv4 (IPV6_V6ONLY off), so
	// [::]:port serves both families. IPv4 peers then appear as plain IPv4
	// addresses, not v4-mapped ones. Without it an IPv6 socket is IPv6 only.
	// It has no effect on an IPv4 address.
	DualStack bool
	// TrafficClass, when positive, sets the IPv4 TOS byte or the IPv6
	// traffic class on every datagram the socket sends, so a network that
	// honours DSCP can give failure-detection traffic priority over bulk
	// traffic (CS6, 0xc0, is the usual class for network control). Zero
	// leaves the kernel default. Values above 255 are an error.
	TrafficClass int
}

// withDefaults returns o with zero fields replaced by defaults and others
// clamped to their bounds.
func (o UDPOptions) withDefaults() UDPOptions {
	if o.RecvBuffer == 0 {
		o.RecvBuffer = DefaultSocketBuffer
	}
	if o.SendBuffer == 0 {
		o.SendBuffer = DefaultSocketBuffer
	}
	if o.BatchSize <= 0 {
		o.BatchSize = DefaultBatchSize
	}
	o.BatchSize = min(o.BatchSize, maxBatchSize)
	if o.MaxDatagram <= 0 {
		o.MaxDatagram = DefaultMaxDatagram
	}
	o.MaxDatagram = min(o.MaxDatagram, MaxDatagramSize)
	return o
}

// UDP is a UDP socket that reads and writes datagrams in batches. On Linux
// it uses recvmmsg and sendmmsg on preallocated headers through
// syscall.RawConn, so a blocked ReadBatch parks its goroutine on the runtime
// netpoller like any net.Conn; on other systems it moves one datagram per
// system call. It implements Transport.
type UDP struct {
	conn  *net.UDPConn
	local netip.AddrPort
	v6    bool // the socket is AF_INET6
	opts  UDPOptions

	closed atomic.Bool
	ctr    counters
	sys    udpSys // the platform's batching state
}

// ListenUDP opens a UDP socket bound to addr (an IPv4 or IPv6 address, the
// unspecified address for all interfaces, port 0 for an ephemeral port).
// An IPv4-mapped IPv6 address is treated as the IPv4 address.
func ListenUDP(addr netip.AddrPort, opts UDPOptions) (*UDP, error) {
	if !addr.Addr().IsValid() {
		return nil, fmt.Errorf("netio: listen udp %v: %w", addr, ErrInvalidAddr)
	}
	opts = opts.withDefaults()
	ip := addr.Addr()
	if ip.Is4In6() {
		ip = ip.Unmap()
	}
	addr = netip.AddrPortFrom(ip, addr.Port())
	network := "udp4"
	if ip.Is6() {
		network = "udp6"
	}
	u := &UDP{v6: ip.Is6(), opts: opts}
	lc := net.ListenConfig{Control: u.control}
	// The string form of the address is used once, here, because that is
	// what the net package accepts; nothing on the packet path uses strings.
	pc, err := lc.ListenPacket(context.Background(), network, addr.String())
	if err != nil {
		return nil, fmt.Errorf("netio: listen udp %v: %w", addr, err)
	}
	u.conn = pc.(*net.UDPConn)
	u.local = u.conn.LocalAddr().(*net.UDPAddr).AddrPort()
	if err := u.init(); err != nil {
		u.conn.Close()
		return nil, fmt.Errorf("netio: listen udp %v: %w", addr, err)
	}
	if err := u.setTrafficClass(); err != nil {
		u.conn.Close()
		return nil, fmt.Errorf("netio: listen udp %v: %w", addr, err)
	}
	return u, nil
}

// setTrafficClass applies UDPOptions.TrafficClass through the x/net option
// setters, which work on every platform the net package supports.
func (u *UDP) setTrafficClass() error {
	tc := u.opts.TrafficClass
	switch {
	case tc == 0:
		return nil
	case tc < 0 || tc > 255:
		return fmt.Errorf("traffic class %d out of range 0..255: %w", tc, ErrInvalidOption)
	case u.v6:
		return ipv6.NewConn(u.conn).SetTrafficClass(tc)
	default:
		return ipv4.NewConn(u.conn).SetTOS(tc)
	}
}

// LocalAddr returns the address the socket is bound to.
func (u *UDP) LocalAddr() netip.AddrPort { return u.local }

// Stats returns a snapshot of the socket's counters.
func (u *UDP) Stats() Stats { return u.ctr.snapshot() }

// Close closes the socket and unblocks ReadBatch and WriteBatch, which then
// return ErrClosed. Close is idempotent and safe for concurrent use.
func (u *UDP) Close() error {
	if !u.closed.CompareAndSwap(false, true) {
		return nil
	}
	if err := u.conn.Close(); err != nil && !errors.Is(err, net.ErrClosed) {
		return fmt.Errorf("netio: close udp %v: %w", u.local, err)
	}
	return nil
}

// SetReadDeadline makes ReadBatch return an error matching
// os.ErrDeadlineExceeded once t has passed; the zero time removes the
// deadline. It is a safety net for callers that must not block forever;
// the engine's runtime stops a reader with Close instead.
func (u *UDP) SetReadDeadline(t time.Time) error {
	if err := u.conn.SetReadDeadline(t); err != nil {
		return u.wrapErr("set read deadline", err)
	}
	return nil
}

// wrapErr maps errors from the net package: a closed socket becomes
// ErrClosed, anything else is kept with its context.
func (u *UDP) wrapErr(op string, err error) error {
	if u.closed.Load() || errors.Is(err, net.ErrClosed) {
		return ErrClosed
	}
	return fmt.Errorf("netio: udp %v: %s: %w", u.local, op, err)
}
