//go:build linux

package netio_test

import (
	"bytes"
	"net/netip"
	"testing"

	"github.com/hearsay-io/hearsay/netio"
)

// A full receive buffer drops datagrams, and the kernel's count of them
// (SO_RXQ_OVFL) ends up in DropBufferFull: every datagram sent is either
// received or counted.
func TestUDPReceiveBufferFullCounted(t *testing.T) {
	// The smallest buffer the kernel allows holds a handful of datagrams.
	rx := listenUDP(t, loop4, netio.UDPOptions{RecvBuffer: 1})
	tx := listenUDP(t, loop4, netio.UDPOptions{})
	safetyDeadline(t, rx)
	if !rx.ReceiveDropsCounted() {
		t.Skip("the kernel does not report receive-buffer drops (SO_RXQ_OVFL)")
	}
	const flood = 2000
	out := make([]netio.Message, flood)
	for i := range out {
		out[i] = netio.Message{Addr: rx.LocalAddr(), Buf: payload(i, 64)}
	}
	if _, err := tx.WriteBatch(out); err != nil {
		t.Fatalf("WriteBatch = %v", err)
	}
	// On loopback the flood is queued or dropped before WriteBatch returns.
	// Read what the buffer kept; then, with room in the buffer, send a
	// marker, which carries the drop count, and read up to it.
	msgs := netio.NewMessages(64, 2048)
	marker := []byte("marker")
	received, sentMarker := 0, false
	for {
		n, err := rx.ReadBatch(msgs)
		if err != nil {
			t.Fatalf("ReadBatch = %v after %d datagrams", err, received)
		}
		done := false
		for _, m := range msgs[:n] {
			if bytes.Equal(m.Buf[:m.N], marker) {
				done = true
			} else {
				received++
			}
		}
		if done {
			break
		}
		if !sentMarker {
			tx.WriteBatch([]netio.Message{{Addr: rx.LocalAddr(), Buf: marker}})
			sentMarker = true
		}
	}
	if received >= flood {
		t.Fatalf("received all %d datagrams: the receive buffer never filled", flood)
	}
	t.Logf("sent %d, received %d, the kernel dropped the rest", flood, received)
	if got, want := rx.Stats().DropBufferFull, uint64(flood-received); got != want {
		t.Errorf("Stats().DropBufferFull = %d, want %d (sent %d, received %d)", got, want, flood, received)
	}
}

// Runs of equal-size datagrams to one destination go out with GSO and
// arrive as separate datagrams, in order, with the counts to show it.
func TestUDPGSO(t *testing.T) {
	rx := listenUDP(t, loop4, netio.UDPOptions{})
	other := listenUDP(t, loop4, netio.UDPOptions{})
	tx := listenUDP(t, loop4, netio.UDPOptions{GSO: true})
	safetyDeadline(t, rx)
	safetyDeadline(t, other)
	if !tx.GSO() {
		t.Skip("the kernel does not support UDP_SEGMENT")
	}
	var out []netio.Message
	for i := range 100 { // runs are cut at 64 segments
		out = append(out, netio.Message{Addr: rx.LocalAddr(), Buf: payload(i, 1000)})
	}
	out = append(out, netio.Message{Addr: rx.LocalAddr(), Buf: payload(100, 300)}) // a shorter last segment
	out = append(out, netio.Message{Addr: other.LocalAddr(), Buf: payload(101, 1000)})
	out = append(out, netio.Message{Addr: rx.LocalAddr(), Buf: payload(102, 1000)}) // alone: plain
	if _, err := tx.WriteBatch(out); err != nil {
		t.Fatalf("WriteBatch = %v", err)
	}
	got := readAll(t, rx, 102, 2048)
	want := append(append([]netio.Message(nil), out[:101]...), out[102])
	for i := range want {
		if !bytes.Equal(got[i].Buf, want[i].Buf) {
			t.Fatalf("datagram %d = %d bytes %x..., want %d bytes %x...", i, len(got[i].Buf), got[i].Buf[:4], len(want[i].Buf), want[i].Buf[:4])
		}
	}
	readAll(t, other, 1, 2048)
	s := tx.Stats()
	// The batch of 64 (BatchSize) is cut into runs of 64, then 36+1 (the
	// 300-byte tail), then two singles.
	if s.SendGSO != 101 || s.DatagramsOut != 103 || s.GSOFallbacks != 0 {
		t.Errorf("Stats() = SendGSO %d, DatagramsOut %d, GSOFallbacks %d; want 101, 103, 0", s.SendGSO, s.DatagramsOut, s.GSOFallbacks)
	}
}

// Without privileges the kernel caps the buffers; as root (as in CI) the
// forced size is what was asked, doubled by the kernel.
func TestUDPBufferSizes(t *testing.T) {
	u := listenUDP(t, loop4, netio.UDPOptions{RecvBuffer: 3 << 20, SendBuffer: 1 << 20})
	r, s, forced, err := u.BufferSizes()
	if err != nil {
		t.Fatalf("BufferSizes() = %v", err)
	}
	if !forced {
		t.Skipf("not privileged: buffers capped by the system at %d, %d", r, s)
	}
	if r != 6<<20 || s != 2<<20 {
		t.Errorf("BufferSizes() = %d, %d, want %d, %d", r, s, 6<<20, 2<<20)
	}
}

func TestUDPReusePort(t *testing.T) {
	a := listenUDP(t, loop4, netio.UDPOptions{ReusePort: true})
	b, err := netio.ListenUDP(a.LocalAddr(), netio.UDPOptions{ReusePort: true})
	if err != nil {
		t.Fatalf("ListenUDP(%v, ReusePort) = %v, want a second socket", a.LocalAddr(), err)
	}
	b.Close()
}

// An IPv6-only socket cannot reach IPv4 destinations; the datagram is
// counted, not returned as an error.
func TestUDPIPv6OnlyToIPv4(t *testing.T) {
	skipWithoutIPv6(t)
	rx := listenUDP(t, loop4, netio.UDPOptions{})
	tx := listenUDP(t, netip.MustParseAddrPort("[::1]:0"), netio.UDPOptions{})
	if n, err := tx.WriteBatch([]netio.Message{{Addr: rx.LocalAddr(), Buf: []byte("x")}}); n != 1 || err != nil {
		t.Fatalf("WriteBatch = %d, %v, want 1, nil", n, err)
	}
	if s := tx.Stats(); s.DropOther != 1 || s.DatagramsOut != 0 {
		t.Errorf("Stats() = DropOther %d, DatagramsOut %d, want 1, 0", s.DropOther, s.DatagramsOut)
	}
}
