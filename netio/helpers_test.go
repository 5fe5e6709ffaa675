package netio_test

import (
	"errors"
	"net/netip"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/hearsay-io/hearsay/netio"
)

var (
	loop4 = netip.MustParseAddrPort("127.0.0.1:0")
	loop6 = netip.MustParseAddrPort("[::1]:0")
)

// listenUDP opens a UDP transport on addr, closed at the end of the test.
func listenUDP(t testing.TB, addr netip.AddrPort, opts netio.UDPOptions) *netio.UDP {
	t.Helper()
	u, err := netio.ListenUDP(addr, opts)
	if err != nil {
		t.Fatalf("ListenUDP(%v) = %v", addr, err)
	}
	t.Cleanup(func() { u.Close() })
	return u
}

// skipWithoutIPv6 skips the test when the host has no IPv6 loopback.
func skipWithoutIPv6(t testing.TB) {
	t.Helper()
	u, err := netio.ListenUDP(loop6, netio.UDPOptions{})
	if err != nil {
		t.Skipf("no IPv6 loopback: %v", err)
	}
	u.Close()
}

// safetyDeadline makes a UDP read fail instead of hanging the test run if a
// datagram the test waits for never comes. It is not how tests wait: every
// read here is for a datagram already sent on loopback.
func safetyDeadline(t testing.TB, u *netio.UDP) {
	t.Helper()
	if err := u.SetReadDeadline(time.Now().Add(20 * time.Second)); err != nil {
		t.Fatalf("SetReadDeadline = %v", err)
	}
}

// readAll reads from tr until want datagrams have arrived and returns
// copies of them with their sources.
func readAll(t testing.TB, tr netio.Transport, want, bufSize int) []netio.Message {
	t.Helper()
	msgs := netio.NewMessages(16, bufSize)
	var got []netio.Message
	for len(got) < want {
		n, err := tr.ReadBatch(msgs)
		if err != nil {
			if errors.Is(err, os.ErrDeadlineExceeded) {
				t.Fatalf("ReadBatch: %d of %d datagrams arrived before the safety deadline", len(got), want)
			}
			t.Fatalf("ReadBatch = %d, %v", n, err)
		}
		for _, m := range msgs[:n] {
			got = append(got, netio.Message{Addr: m.Addr, Buf: append([]byte(nil), m.Buf[:m.N]...), N: m.N})
		}
	}
	return got
}

// payload returns a datagram of the given size whose bytes identify i.
func payload(i, size int) []byte {
	b := make([]byte, size)
	for j := range b {
		b[j] = byte(i + j*7)
	}
	if size >= 4 {
		b[0], b[1], b[2], b[3] = byte(i>>24), byte(i>>16), byte(i>>8), byte(i)
	}
	return b
}

// checkNoGoroutineLeak fails the test if, at its end, a goroutine is still
// running code of package netio (other than tests). Close must have stopped
// every goroutine the package starts; the check yields to the scheduler a
// bounded number of times so an exiting goroutine can finish returning.
func checkNoGoroutineLeak(t *testing.T) {
	t.Helper()
	t.Cleanup(func() {
		var leaked string
		for range 1000 {
			leaked = netioGoroutines()
			if leaked == "" {
				return
			}
			runtime.Gosched()
		}
		t.Errorf("goroutines of package netio still running after Close:\n%s", leaked)
	})
}

// netioGoroutines returns the stacks of goroutines running package netio's
// own code (its tests are package netio_test, which does not match). Tests
// that check for leaks do not run in parallel with others.
func netioGoroutines() string {
	buf := make([]byte, 1<<20)
	buf = buf[:runtime.Stack(buf, true)]
	var out []string
	for _, g := range strings.Split(string(buf), "\n\n") {
		if strings.Contains(g, "hearsay-io/hearsay/netio.") {
			out = append(out, g)
		}
	}
	return strings.Join(out, "\n\n")
}
