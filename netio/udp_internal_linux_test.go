//go:build linux

package netio

import (
	"bytes"
	"encoding/binary"
	"net/netip"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// A GSO send that the kernel refuses falls back to plain datagrams, counts
// the fallback, and turns GSO off. SO_NO_CHECK makes the kernel refuse GSO
// with EINVAL (segmentation needs checksum offload) while plain IPv4
// datagrams still go out.
func TestUDPGSOFallback(t *testing.T) {
	rx, err := ListenUDP(netip.MustParseAddrPort("127.0.0.1:0"), UDPOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer rx.Close()
	tx, err := ListenUDP(netip.MustParseAddrPort("127.0.0.1:0"), UDPOptions{GSO: true})
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Close()
	if !tx.GSO() {
		t.Skip("the kernel does not support UDP_SEGMENT")
	}
	var serr error
	tx.sys.raw.Control(func(fd uintptr) {
		serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_NO_CHECK, 1)
	})
	if serr != nil {
		t.Skipf("SO_NO_CHECK: %v", serr)
	}
	out := make([]Message, 10)
	for i := range out {
		out[i] = Message{Addr: rx.LocalAddr(), Buf: bytes.Repeat([]byte{byte(i)}, 500)}
	}
	if n, err := tx.WriteBatch(out); n != len(out) || err != nil {
		t.Fatalf("WriteBatch = %d, %v, want %d, nil", n, err, len(out))
	}
	rx.SetReadDeadline(time.Now().Add(20 * time.Second))
	msgs := NewMessages(16, 1024)
	for got := 0; got < len(out); {
		n, err := rx.ReadBatch(msgs)
		if err != nil {
			t.Fatalf("ReadBatch = %v after %d datagrams", err, got)
		}
		for _, m := range msgs[:n] {
			if !bytes.Equal(m.Buf[:m.N], out[got].Buf) {
				t.Errorf("datagram %d starts %x, want %x", got, m.Buf[:1], out[got].Buf[:1])
			}
			got++
		}
	}
	s := tx.Stats()
	if s.GSOFallbacks != 1 || s.SendGSO != 0 || s.DatagramsOut != 10 {
		t.Errorf("Stats() = GSOFallbacks %d, SendGSO %d, DatagramsOut %d; want 1, 0, 10", s.GSOFallbacks, s.SendGSO, s.DatagramsOut)
	}
	if tx.GSO() {
		t.Errorf("GSO() after an EINVAL fallback = true, want false")
	}
}

func TestSockaddrRoundTrip(t *testing.T) {
	tests := []struct {
		in   string
		v6   bool
		want string // "" means not encodable
	}{
		{"1.2.3.4:80", false, "1.2.3.4:80"},
		{"[::ffff:1.2.3.4]:80", false, "1.2.3.4:80"},
		{"[2001:db8::1]:65535", false, ""},
		{"1.2.3.4:80", true, "1.2.3.4:80"}, // sent v4-mapped, reported plain
		{"[2001:db8::1]:65535", true, "[2001:db8::1]:65535"},
		{"[fe80::1%7]:1", true, "[fe80::1]:1"}, // the zone becomes the scope ID
	}
	for _, tt := range tests {
		var sa sockaddr
		n := encodeSockaddr(&sa, netip.MustParseAddrPort(tt.in), tt.v6)
		if tt.want == "" {
			if n != 0 {
				t.Errorf("encodeSockaddr(%s, v6=%v) = %d, want 0", tt.in, tt.v6, n)
			}
			continue
		}
		if got := decodeSockaddr(&sa); got.String() != tt.want {
			t.Errorf("decodeSockaddr(encodeSockaddr(%s, v6=%v)) = %v, want %s", tt.in, tt.v6, got, tt.want)
		}
	}
	var sa sockaddr
	encodeSockaddr(&sa, netip.MustParseAddrPort("[fe80::1%7]:1"), true)
	if sa.Scope_id != 7 {
		t.Errorf("encodeSockaddr([fe80::1%%7]:1).Scope_id = %d, want 7", sa.Scope_id)
	}
}

// FuzzSockaddr decodes arbitrary kernel-style address bytes (it must not
// panic, and must give the zero address for unknown families) and checks
// that every valid address survives encode then decode.
func FuzzSockaddr(f *testing.F) {
	f.Add([]byte{}, false)
	f.Add([]byte{unix.AF_INET, 0, 0, 80, 127, 0, 0, 1}, false)
	f.Add(append([]byte{unix.AF_INET6, 0, 1, 187, 0, 0, 0, 0}, netip.MustParseAddr("::ffff:10.0.0.1").AsSlice()...), true)
	// Nasty inputs: unknown family, family with garbage, all ones.
	f.Add([]byte{0xff, 0xff}, true)
	f.Add(bytes.Repeat([]byte{0xff}, 28), true)
	f.Fuzz(func(t *testing.T, raw []byte, v6 bool) {
		var sa sockaddr
		b := unsafe.Slice((*byte)(unsafe.Pointer(&sa)), unsafe.Sizeof(sa))
		copy(b, raw)
		// The family is host-endian; take it from the first two bytes.
		if len(raw) >= 2 {
			sa.Family = binary.LittleEndian.Uint16(raw)
		}
		got := decodeSockaddr(&sa)
		if sa.Family != unix.AF_INET && sa.Family != unix.AF_INET6 && got.IsValid() {
			t.Fatalf("decodeSockaddr(family %d) = %v, want the zero AddrPort", sa.Family, got)
		}
		if !got.Addr().IsValid() {
			return
		}
		var sb sockaddr
		if encodeSockaddr(&sb, got, v6) == 0 {
			if v6 || got.Addr().Is4() {
				t.Fatalf("encodeSockaddr(%v, v6=%v) = 0, want it encodable", got, v6)
			}
			return
		}
		if back := decodeSockaddr(&sb); back != got {
			t.Fatalf("decodeSockaddr(encodeSockaddr(%v, v6=%v)) = %v", got, v6, back)
		}
	})
}

// FuzzRxControl parses arbitrary control-message bytes as the receive path
// does: no panic, no read past the buffer, and a drop count only from a
// well-formed SO_RXQ_OVFL message.
func FuzzRxControl(f *testing.F) {
	ovfl := func(v uint32) []byte {
		b := make([]byte, unix.CmsgSpace(4))
		h := (*unix.Cmsghdr)(unsafe.Pointer(&b[0]))
		h.Level, h.Type = unix.SOL_SOCKET, unix.SO_RXQ_OVFL
		h.SetLen(unix.CmsgLen(4))
		*(*uint32)(unsafe.Pointer(&b[unix.CmsgLen(0)])) = v
		return b
	}
	f.Add(ovfl(5), 24)
	f.Add(ovfl(0xffffffff), 24)
	// Nasty inputs: empty, a length of zero, a length past the buffer, a
	// length that does not cover the data, a claimed length beyond the data.
	f.Add([]byte{}, 0)
	f.Add(make([]byte, 24), 24)
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 1, 0, 0, 0, 40, 0, 0, 0}, 16)
	f.Add(ovfl(3)[:16], 16)
	f.Add(ovfl(3), 1000)
	f.Fuzz(func(t *testing.T, ctrl []byte, n int) {
		var c counters
		r := rxBatch{ctr: &c}
		r.grow(1)
		b := unsafe.Slice((*byte)(unsafe.Pointer(&r.ctrl[0])), rxCtrlWords*8)
		copy(b, ctrl)
		if n < 0 {
			n = -n
		}
		r.control(0, n%4096)
		if got := c.dropBufferFull.Load(); got != uint64(r.ovflLast) {
			t.Fatalf("control counted %d drops but recorded %d as the last count", got, r.ovflLast)
		}
	})
}
