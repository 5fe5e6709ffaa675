package netio_test

import (
	"bytes"
	"errors"
	"net"
	"net/netip"
	"strings"
	"sync"
	"testing"

	"github.com/hearsay-io/hearsay/netio"
)

func TestUDPRoundTrip(t *testing.T) {
	tests := []struct {
		name       string
		rx, tx     netip.AddrPort // listen addresses
		opts       netio.UDPOptions
		dst        func(rx netip.AddrPort) netip.AddrPort // where tx sends
		wantSource func(tx netip.AddrPort) netip.AddrPort
		ipv6       bool
	}{
		{
			name: "ipv4", rx: loop4, tx: loop4,
			dst:        func(rx netip.AddrPort) netip.AddrPort { return rx },
			wantSource: func(tx netip.AddrPort) netip.AddrPort { return tx },
		},
		{
			name: "ipv6", rx: loop6, tx: loop6, ipv6: true,
			dst:        func(rx netip.AddrPort) netip.AddrPort { return rx },
			wantSource: func(tx netip.AddrPort) netip.AddrPort { return tx },
		},
		{
			// An IPv4 peer of a dual-stack socket is reported as plain IPv4.
			name: "dual-stack receives ipv4", rx: netip.MustParseAddrPort("[::]:0"), tx: loop4, ipv6: true,
			opts: netio.UDPOptions{DualStack: true},
			dst: func(rx netip.AddrPort) netip.AddrPort {
				return netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), rx.Port())
			},
			wantSource: func(tx netip.AddrPort) netip.AddrPort { return tx },
		},
		{
			name: "small batches", rx: loop4, tx: loop4, opts: netio.UDPOptions{BatchSize: 3},
			dst:        func(rx netip.AddrPort) netip.AddrPort { return rx },
			wantSource: func(tx netip.AddrPort) netip.AddrPort { return tx },
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.ipv6 {
				skipWithoutIPv6(t)
			}
			rx := listenUDP(t, tt.rx, tt.opts)
			tx := listenUDP(t, tt.tx, tt.opts)
			safetyDeadline(t, rx)
			const count = 40
			out := make([]netio.Message, count)
			for i := range out {
				out[i] = netio.Message{Addr: tt.dst(rx.LocalAddr()), Buf: payload(i, 10+i)}
			}
			if n, err := tx.WriteBatch(out); n != count || err != nil {
				t.Fatalf("WriteBatch(%d messages) = %d, %v, want %d, nil", count, n, err, count)
			}
			got := readAll(t, rx, count, 2048)
			for i, m := range got {
				if !bytes.Equal(m.Buf, out[i].Buf) {
					t.Errorf("datagram %d = %x, want %x", i, m.Buf, out[i].Buf)
				}
				if want := tt.wantSource(tx.LocalAddr()); m.Addr != want {
					t.Errorf("datagram %d source = %v, want %v", i, m.Addr, want)
				}
			}
			var bytesOut uint64
			for _, m := range out {
				bytesOut += uint64(len(m.Buf))
			}
			ts, rs := tx.Stats(), rx.Stats()
			if ts.DatagramsOut != count || ts.BytesOut != bytesOut {
				t.Errorf("sender Stats() = %d datagrams, %d bytes out, want %d, %d", ts.DatagramsOut, ts.BytesOut, count, bytesOut)
			}
			if rs.DatagramsIn != count || rs.BytesIn != bytesOut {
				t.Errorf("receiver Stats() = %d datagrams, %d bytes in, want %d, %d", rs.DatagramsIn, rs.BytesIn, count, bytesOut)
			}
			if rs.BatchesIn == 0 || rs.BatchesIn > count {
				t.Errorf("receiver Stats().BatchesIn = %d, want 1..%d", rs.BatchesIn, count)
			}
		})
	}
}

// A datagram larger than the reader's buffer, or than MaxDatagram, is
// dropped and counted; the datagrams around it arrive intact.
func TestUDPTooLargeDropped(t *testing.T) {
	tests := []struct {
		name    string
		opts    netio.UDPOptions
		bufSize int
		sizes   []int
		want    []int // sizes that arrive
	}{
		{"larger than buffer", netio.UDPOptions{}, 100, []int{50, 101, 100, 3000, 60}, []int{50, 100, 60}},
		{"larger than MaxDatagram", netio.UDPOptions{MaxDatagram: 64}, 1000, []int{64, 65, 10}, []int{64, 10}},
		{"only too large, then one", netio.UDPOptions{}, 10, []int{11, 12, 13, 5}, []int{5}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rx := listenUDP(t, loop4, tt.opts)
			tx := listenUDP(t, loop4, netio.UDPOptions{MaxDatagram: netio.MaxDatagramSize})
			safetyDeadline(t, rx)
			var out []netio.Message
			for i, s := range tt.sizes {
				out = append(out, netio.Message{Addr: rx.LocalAddr(), Buf: payload(i, s)})
			}
			if _, err := tx.WriteBatch(out); err != nil {
				t.Fatalf("WriteBatch = %v", err)
			}
			got := readAll(t, rx, len(tt.want), tt.bufSize)
			for i, m := range got {
				if len(m.Buf) != tt.want[i] {
					t.Errorf("datagram %d has %d bytes, want %d", i, len(m.Buf), tt.want[i])
				}
			}
			if s, want := rx.Stats(), uint64(len(tt.sizes)-len(tt.want)); s.DropTooLarge != want {
				t.Errorf("Stats().DropTooLarge = %d, want %d", s.DropTooLarge, want)
			}
		})
	}
}

// WriteBatch drops and counts what it cannot send, and sends the rest.
func TestUDPWriteDrops(t *testing.T) {
	rx := listenUDP(t, loop4, netio.UDPOptions{})
	tx := listenUDP(t, loop4, netio.UDPOptions{MaxDatagram: 100})
	safetyDeadline(t, rx)
	out := []netio.Message{
		{Addr: rx.LocalAddr(), Buf: payload(1, 101)},                            // too large
		{Addr: netip.MustParseAddrPort("[2001:db8::1]:9"), Buf: payload(2, 10)}, // IPv6 from an IPv4 socket
		{Addr: netip.AddrPort{}, Buf: payload(3, 10)},                           // invalid
		{Addr: rx.LocalAddr(), Buf: payload(4, 100)},
	}
	if n, err := tx.WriteBatch(out); n != len(out) || err != nil {
		t.Fatalf("WriteBatch = %d, %v, want %d, nil", n, err, len(out))
	}
	got := readAll(t, rx, 1, 2048)
	if !bytes.Equal(got[0].Buf, out[3].Buf) {
		t.Errorf("received %x, want %x", got[0].Buf, out[3].Buf)
	}
	s := tx.Stats()
	if s.DropTooLarge != 1 || s.DropOther != 2 || s.DatagramsOut != 1 {
		t.Errorf("Stats() = TooLarge %d, Other %d, Out %d; want 1, 2, 1", s.DropTooLarge, s.DropOther, s.DatagramsOut)
	}
}

func TestUDPClosed(t *testing.T) {
	u := listenUDP(t, loop4, netio.UDPOptions{})
	if err := u.Close(); err != nil {
		t.Fatalf("Close() = %v", err)
	}
	if err := u.Close(); err != nil {
		t.Errorf("second Close() = %v, want nil", err)
	}
	msgs := netio.NewMessages(4, 64)
	if n, err := u.ReadBatch(msgs); n != 0 || !errors.Is(err, netio.ErrClosed) {
		t.Errorf("ReadBatch after Close = %d, %v, want 0, ErrClosed", n, err)
	}
	if n, err := u.WriteBatch([]netio.Message{{Addr: u.LocalAddr(), Buf: []byte("x")}}); n != 0 || !errors.Is(err, netio.ErrClosed) {
		t.Errorf("WriteBatch after Close = %d, %v, want 0, ErrClosed", n, err)
	}
	if !errors.Is(netio.ErrClosed, net.ErrClosed) {
		t.Errorf("errors.Is(ErrClosed, net.ErrClosed) = false, want true")
	}
}

// Close unblocks a reader waiting for datagrams.
func TestUDPCloseUnblocksRead(t *testing.T) {
	u := listenUDP(t, loop4, netio.UDPOptions{})
	done := make(chan error)
	go func() {
		_, err := u.ReadBatch(netio.NewMessages(4, 64))
		done <- err
	}()
	u.Close()
	if err := <-done; !errors.Is(err, netio.ErrClosed) {
		t.Errorf("blocked ReadBatch after Close returned %v, want ErrClosed", err)
	}
}

func TestListenUDPInvalid(t *testing.T) {
	if _, err := netio.ListenUDP(netip.AddrPort{}, netio.UDPOptions{}); !errors.Is(err, netio.ErrInvalidAddr) {
		t.Errorf("ListenUDP(zero AddrPort) error = %v, want ErrInvalidAddr", err)
	}
	u := listenUDP(t, loop4, netio.UDPOptions{})
	if _, err := netio.ListenUDP(u.LocalAddr(), netio.UDPOptions{}); err == nil {
		t.Errorf("ListenUDP(%v) on a bound port without ReusePort succeeded, want an error", u.LocalAddr())
	}
}

// Concurrent readers and writers on one socket: run with -race.
func TestUDPConcurrent(t *testing.T) {
	rx := listenUDP(t, loop4, netio.UDPOptions{})
	safetyDeadline(t, rx)
	const writers, each = 4, 200
	var wg sync.WaitGroup
	for w := range writers {
		tx := listenUDP(t, loop4, netio.UDPOptions{})
		wg.Go(func() {
			out := make([]netio.Message, 10)
			for i := 0; i < each; i += len(out) {
				for j := range out {
					out[j] = netio.Message{Addr: rx.LocalAddr(), Buf: payload(w*each+i+j, 32)}
				}
				if _, err := tx.WriteBatch(out); err != nil {
					t.Errorf("WriteBatch = %v", err)
					return
				}
			}
		})
	}
	var mu sync.Mutex
	seen := map[string]bool{}
	var readers sync.WaitGroup
	for range 2 {
		readers.Go(func() {
			msgs := netio.NewMessages(8, 64)
			for {
				n, err := rx.ReadBatch(msgs)
				if err != nil {
					return
				}
				mu.Lock()
				for _, m := range msgs[:n] {
					seen[string(m.Buf[:m.N])] = true
				}
				full := len(seen) == writers*each
				mu.Unlock()
				if full {
					rx.Close()
				}
			}
		})
	}
	wg.Wait()
	readers.Wait()
	if len(seen) != writers*each {
		t.Errorf("received %d distinct datagrams, want %d", len(seen), writers*each)
	}
}

func TestNewMessages(t *testing.T) {
	msgs := netio.NewMessages(3, 10)
	if len(msgs) != 3 {
		t.Fatalf("NewMessages(3, 10) has %d messages, want 3", len(msgs))
	}
	for i, m := range msgs {
		if len(m.Buf) != 10 || cap(m.Buf) != 10 {
			t.Errorf("NewMessages(3, 10)[%d].Buf has len %d cap %d, want 10, 10", i, len(m.Buf), cap(m.Buf))
		}
	}
	msgs[0].Buf = append(msgs[0].Buf, 1) // must not spill into msgs[1]
	if msgs[1].Buf[0] != 0 {
		t.Errorf("appending to NewMessages(3, 10)[0].Buf overwrote [1]")
	}
	if got := netio.NewMessages(-1, -1); len(got) != 0 {
		t.Errorf("NewMessages(-1, -1) has %d messages, want 0", len(got))
	}
}

func TestUDPTrafficClass(t *testing.T) {
	for _, addr := range []string{"127.0.0.1:0", "[::1]:0"} {
		u, err := netio.ListenUDP(netip.MustParseAddrPort(addr), netio.UDPOptions{TrafficClass: 0xc0})
		if err != nil {
			if strings.Contains(addr, "::") {
				t.Logf("IPv6 loopback unavailable: %v", err)
				continue
			}
			t.Fatalf("ListenUDP(%s, TrafficClass 0xc0): %v", addr, err)
		}
		u.Close()
	}
	if _, err := netio.ListenUDP(netip.MustParseAddrPort("127.0.0.1:0"), netio.UDPOptions{TrafficClass: 256}); !errors.Is(err, netio.ErrInvalidOption) {
		t.Errorf("ListenUDP(TrafficClass 256) error = %v, want ErrInvalidOption", err)
	}
}
