//go:build linux

package netio

import (
	"net"
	"net/netip"
	"strconv"
	"unsafe"

	"golang.org/x/sys/unix"
)

// sockaddr is storage for one socket address: large enough for
// sockaddr_in6, reinterpreted as sockaddr_in for IPv4 sockets.
type sockaddr = unix.RawSockaddrInet6

// The ports in raw socket addresses are in network byte order; these
// helpers read and write them as bytes so the code is endian-neutral.

func putPort(p *uint16, port uint16) {
	b := (*[2]byte)(unsafe.Pointer(p))
	b[0], b[1] = byte(port>>8), byte(port)
}

func getPort(p *uint16) uint16 {
	b := (*[2]byte)(unsafe.Pointer(p))
	return uint16(b[0])<<8 | uint16(b[1])
}

// encodeSockaddr writes ap into sa in the form a socket of the given family
// expects and returns the address length, or 0 if ap cannot be sent from
// that socket (invalid, or IPv6 on an IPv4 socket). On an IPv6 socket an
// IPv4 destination is written v4-mapped, which reaches it only when the
// socket is dual-stack; otherwise the kernel refuses and the datagram is
// counted in DropOther.
func encodeSockaddr(sa *sockaddr, ap netip.AddrPort, v6 bool) uint32 {
	ip := ap.Addr()
	if !ip.IsValid() {
		return 0
	}
	if !v6 {
		ip = ip.Unmap()
		if !ip.Is4() {
			return 0
		}
		sa4 := (*unix.RawSockaddrInet4)(unsafe.Pointer(sa))
		sa4.Family = unix.AF_INET
		putPort(&sa4.Port, ap.Port())
		sa4.Addr = ip.As4()
		sa4.Zero = [8]byte{}
		return unix.SizeofSockaddrInet4
	}
	sa.Family = unix.AF_INET6
	putPort(&sa.Port, ap.Port())
	sa.Flowinfo = 0
	sa.Addr = ip.As16()
	sa.Scope_id = 0
	if z := ip.Zone(); z != "" {
		sa.Scope_id = zoneIndex(z)
	}
	return unix.SizeofSockaddrInet6
}

// zoneIndex resolves an IPv6 zone (a number or an interface name) to a scope
// ID; 0 if unknown. Only link-local destinations carry zones, so the
// allocation of an interface lookup stays off the common path.
func zoneIndex(z string) uint32 {
	if n, err := strconv.ParseUint(z, 10, 32); err == nil {
		return uint32(n)
	}
	if ifi, err := net.InterfaceByName(z); err == nil {
		return uint32(ifi.Index)
	}
	return 0
}

// decodeSockaddr returns the address in sa, as filled in by the kernel. IPv4
// peers of a dual-stack socket arrive v4-mapped and are returned as plain
// IPv4. Zones are not reported. An unknown family gives the zero AddrPort.
func decodeSockaddr(sa *sockaddr) netip.AddrPort {
	switch sa.Family {
	case unix.AF_INET:
		sa4 := (*unix.RawSockaddrInet4)(unsafe.Pointer(sa))
		return netip.AddrPortFrom(netip.AddrFrom4(sa4.Addr), getPort(&sa4.Port))
	case unix.AF_INET6:
		return netip.AddrPortFrom(netip.AddrFrom16(sa.Addr).Unmap(), getPort(&sa.Port))
	}
	return netip.AddrPort{}
}
