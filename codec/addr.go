package codec

import "net/netip"

// Addresses travel as 16 bytes of IPv6 (IPv4 as IPv4-mapped IPv6,
// ::ffff:a.b.c.d) plus a 2-byte port, in the order each record's layout
// gives. Zones are not carried. The zero AddrPort (and any AddrPort whose
// Addr is invalid) encodes as all zeros, and all zeros decode as the zero
// AddrPort; so do 16 zero bytes with port 0 written by a sender that meant
// [::]:0, which is not a usable member address anyway.

// putIP writes the 16-byte form of a into b.
//
// It avoids As16, whose 16-byte result is assembled from two 8-byte
// stores and then copied with one 16-byte load, a store-forwarding stall
// that doubled the cost of encoding a Member.
func putIP(b []byte, a netip.Addr) {
	_ = b[15]
	switch {
	case !a.IsValid():
		clear(b[:16])
	case a.Is4():
		clear(b[:10])
		b[10], b[11] = 0xff, 0xff
		v4 := a.As4()
		copy(b[12:16], v4[:])
	default:
		// WithZone("") drops the zone, so exactly 16 bytes are appended,
		// in place: the capacity is 16.
		a.WithZone("").AppendBinary(b[:0:16])
	}
}

// putPort writes the port of ap, or 0 if its address is invalid.
func putPort(b []byte, ap netip.AddrPort) {
	port := ap.Port()
	if !ap.Addr().IsValid() {
		port = 0
	}
	be.PutUint16(b, port)
}

// getAddrPort decodes a 16-byte address and a port. IPv4-mapped addresses
// come back as IPv4.
func getAddrPort(ip []byte, port uint16) netip.AddrPort {
	a := netip.AddrFrom16([16]byte(ip[:16]))
	if port == 0 && a == netip.IPv6Unspecified() {
		return netip.AddrPort{}
	}
	return netip.AddrPortFrom(a.Unmap(), port)
}
