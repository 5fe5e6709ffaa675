//go:build linux

package adversary

import (
	"errors"
	"fmt"
	"net/netip"
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/hearsay-io/hearsay/codec"
)

// Raw sockets: sending IPv4/UDP datagrams with a forged source address, and
// reading copies of the UDP datagrams that cross loopback. Both need root
// (CAP_NET_RAW).

// needRaw skips t when the process is not root, and fails it when it is
// root and err (from opening a raw socket) is set: a run that was asked
// for does not pass in silence.
func needRaw(t *testing.T, what string, err error) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skipf("SKIP: %s needs a raw socket: run as root (euid %d)", what, os.Geteuid())
	}
	if err != nil {
		t.Fatalf("%s: opening a raw socket as root: %v", what, err)
	}
}

// spoofer sends UDP datagrams with any source address.
type spoofer struct {
	fd  int
	buf []byte
}

// openSpoofer opens a raw IPv4 socket that takes whole IP packets
// (IPPROTO_RAW implies IP_HDRINCL).
func openSpoofer(t testing.TB) (*spoofer, error) {
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_RAW, syscall.IPPROTO_RAW)
	if err != nil {
		return nil, err
	}
	if err := syscall.SetsockoptInt(fd, syscall.IPPROTO_IP, syscall.IP_HDRINCL, 1); err != nil {
		syscall.Close(fd)
		return nil, err
	}
	t.Cleanup(func() { syscall.Close(fd) })
	return &spoofer{fd: fd, buf: make([]byte, 0, 65536)}, nil
}

// send sends payload from from to to, both IPv4. The kernel fills in the
// IP header checksum, total length and identification; the UDP checksum
// is 0 (none), which IPv4 allows.
func (s *spoofer) send(from, to netip.AddrPort, payload []byte) error {
	if !from.Addr().Is4() || !to.Addr().Is4() {
		return fmt.Errorf("spoofer: IPv4 only (%v → %v)", from, to)
	}
	const ipLen, udpLen = 20, 8
	p := s.buf[:ipLen+udpLen+len(payload)]
	clear(p[:ipLen+udpLen])
	p[0] = 0x45 // version 4, 5 words
	be.PutUint16(p[2:], uint16(len(p)))
	p[8] = 64 // TTL
	p[9] = syscall.IPPROTO_UDP
	src, dst := from.Addr().As4(), to.Addr().As4()
	copy(p[12:16], src[:])
	copy(p[16:20], dst[:])
	u := p[ipLen:]
	be.PutUint16(u[0:], from.Port())
	be.PutUint16(u[2:], to.Port())
	be.PutUint16(u[4:], uint16(udpLen+len(payload)))
	copy(u[udpLen:], payload)
	return syscall.Sendto(s.fd, p, 0, &syscall.SockaddrInet4{Addr: dst})
}

// sniffer reads copies of the UDP datagrams this host receives: a raw
// IPPROTO_UDP socket is handed every incoming UDP packet, IP header
// included, before the UDP layer delivers it.
type sniffer struct {
	fd   int
	runs int // GSO super-datagrams seen and split (see segments)
}

func openSniffer(t testing.TB) (*sniffer, error) {
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_RAW, syscall.IPPROTO_UDP)
	if err != nil {
		return nil, err
	}
	tv := syscall.NsecToTimeval(int64(50 * time.Millisecond))
	if err := syscall.SetsockoptTimeval(fd, syscall.SOL_SOCKET, syscall.SO_RCVTIMEO, &tv); err != nil {
		syscall.Close(fd)
		return nil, err
	}
	syscall.SetsockoptInt(fd, syscall.SOL_SOCKET, syscall.SO_RCVBUF, 8<<20)
	sn := &sniffer{fd: fd}
	t.Cleanup(sn.close)
	return sn, nil
}

// close closes the socket, so that it stops taking copies of traffic.
func (s *sniffer) close() {
	if s.fd >= 0 {
		syscall.Close(s.fd)
		s.fd = -1
	}
}

// packet is one captured UDP datagram.
type packet struct {
	src, dst netip.AddrPort
	payload  []byte
	at       time.Time
}

// capture reads datagrams until d has passed or keep has accepted max of
// them; keep sees each datagram and says whether to keep it.
func (s *sniffer) capture(d time.Duration, max int, keep func(p *packet) bool) ([]packet, error) {
	var out []packet
	buf := make([]byte, 65536)
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) && len(out) < max {
		n, _, err := syscall.Recvfrom(s.fd, buf, 0)
		if err != nil {
			if errors.Is(err, syscall.EAGAIN) || errors.Is(err, syscall.EINTR) {
				continue
			}
			return out, err
		}
		b := buf[:n]
		if n < 28 || b[0]>>4 != 4 {
			continue
		}
		ihl := int(b[0]&0xf) * 4
		if n < ihl+8 {
			continue
		}
		u := b[ihl:]
		ulen := int(be.Uint16(u[4:]))
		if ulen < 8 || ulen > len(u) {
			continue
		}
		src := netip.AddrPortFrom(netip.AddrFrom4([4]byte(b[12:16])), be.Uint16(u[0:]))
		dst := netip.AddrPortFrom(netip.AddrFrom4([4]byte(b[16:20])), be.Uint16(u[2:]))
		segs := segments(u[8:ulen])
		if len(segs) > 1 {
			s.runs++
		}
		for _, payload := range segs {
			p := packet{src: src, dst: dst, payload: payload, at: time.Now()}
			if keep(&p) && len(out) < max {
				p.payload = append([]byte(nil), p.payload...)
				out = append(out, p)
			}
		}
	}
	return out, nil
}

// segments splits a UDP payload the raw socket saw into the datagrams the
// receiving socket gets. A sender using UDP GSO (as hearsayd does) hands
// the kernel one super-datagram of equal-sized segments, the last one
// possibly shorter; loopback passes it up whole, and the raw socket sees
// it whole, while the UDP layer segments it. Its segment size is the size
// of its first datagram, which the Hearsay header gives (HeaderSize plus
// its length field). A payload that is not Hearsay, or no longer than its
// header says, is one datagram.
func segments(payload []byte) [][]byte {
	hv, err := codec.NewHeaderView(payload)
	if err != nil {
		return [][]byte{payload}
	}
	size := codec.HeaderSize + hv.Length()
	if size >= len(payload) {
		return [][]byte{payload}
	}
	var out [][]byte
	for len(payload) > 0 {
		k := min(size, len(payload))
		out = append(out, payload[:k])
		payload = payload[k:]
	}
	return out
}
