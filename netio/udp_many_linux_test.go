//go:build linux

package netio_test

import (
	"bytes"
	"encoding/binary"
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/hearsay-io/hearsay/netio"
)

// manyEndpoints is the size of the "as many real UDP nodes as the machine
// holds" check.
const manyEndpoints = 10000

// fleet is many UDP endpoints on loopback and one sender.
type fleet struct {
	eps  []*netio.UDP
	tx   *netio.UDP
	out  []netio.Message // one datagram to each endpoint
	msgs []netio.Message // the read batch, shared: reads are sequential

	heapPerEndpoint float64 // Go heap bytes per open endpoint
	rssPerEndpoint  float64 // resident bytes per open endpoint (Go heap, runtime and kernel-mapped)
}

// openFleet opens n endpoints, or skips the test if the process may not
// open that many files.
func openFleet(tb testing.TB, n int) *fleet {
	tb.Helper()
	var lim unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &lim); err != nil {
		tb.Fatalf("getrlimit(RLIMIT_NOFILE) = %v", err)
	}
	if need := uint64(n + 100); lim.Cur < need {
		tb.Skipf("RLIMIT_NOFILE is %d (hard %d); %d endpoints need %d: raise the hard limit (ulimit -Hn)", lim.Cur, lim.Max, n, need)
	}
	f := &fleet{tx: listenUDP(tb, loop4, netio.UDPOptions{})}
	heap0, rss0 := memNow(tb)
	f.eps = make([]*netio.UDP, n)
	for i := range f.eps {
		u, err := netio.ListenUDP(loop4, netio.UDPOptions{})
		if err != nil {
			for _, e := range f.eps[:i] {
				e.Close()
			}
			tb.Fatalf("ListenUDP #%d = %v", i, err)
		}
		f.eps[i] = u
	}
	tb.Cleanup(func() {
		for _, e := range f.eps {
			e.Close()
		}
	})
	f.out = make([]netio.Message, n)
	for i, e := range f.eps {
		b := make([]byte, 8)
		binary.BigEndian.PutUint64(b, uint64(i))
		f.out[i] = netio.Message{Addr: e.LocalAddr(), Buf: b}
	}
	f.msgs = netio.NewMessages(8, 64)
	// One round first, so every endpoint's read headers exist before the
	// memory is measured.
	f.round(tb, nil)
	heap1, rss1 := memNow(tb)
	f.heapPerEndpoint = float64(heap1-heap0) / float64(n)
	f.rssPerEndpoint = float64(rss1-rss0) / float64(n)
	return f
}

// round sends one datagram to every endpoint in batches, then reads one
// from each. If check is non-nil it verifies each endpoint got its own.
func (f *fleet) round(tb testing.TB, check func(i int, m netio.Message)) {
	if _, err := f.tx.WriteBatch(f.out); err != nil {
		tb.Fatalf("WriteBatch = %v", err)
	}
	for i, e := range f.eps {
		n, err := e.ReadBatch(f.msgs)
		if err != nil || n != 1 {
			tb.Fatalf("endpoint %d: ReadBatch = %d, %v, want 1, nil", i, n, err)
		}
		if check != nil {
			check(i, f.msgs[0])
		}
	}
}

// memNow returns the live Go heap after a collection and the process's
// resident set size.
func memNow(tb testing.TB) (heap, rss uint64) {
	// Closed sockets have finalizers, so their memory is freed only by the
	// collection after the one that finds them unreachable.
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		tb.Fatalf("read /proc/self/statm: %v", err)
	}
	fields := strings.Fields(string(b))
	pages, _ := strconv.ParseUint(fields[1], 10, 64)
	return ms.HeapAlloc, pages * uint64(os.Getpagesize())
}

// TestUDPManyEndpoints opens 10,000 UDP endpoints on loopback and delivers
// a round of one datagram to each.
func TestUDPManyEndpoints(t *testing.T) {
	if testing.Short() {
		t.Skip("opens 10,000 sockets; skipped with -short")
	}
	f := openFleet(t, manyEndpoints)
	for _, e := range f.eps {
		e.SetReadDeadline(time.Now().Add(20 * time.Second))
	}
	start := time.Now()
	f.round(t, func(i int, m netio.Message) {
		if !bytes.Equal(m.Buf[:m.N], f.out[i].Buf) || m.Addr != f.tx.LocalAddr() {
			t.Fatalf("endpoint %d got %x from %v, want %x from %v", i, m.Buf[:m.N], m.Addr, f.out[i].Buf, f.tx.LocalAddr())
		}
	})
	t.Logf("%d endpoints: %.0f B Go heap and %.0f B RSS per endpoint; one round (send %d, read %d) took %v",
		manyEndpoints, f.heapPerEndpoint, f.rssPerEndpoint, manyEndpoints, manyEndpoints, time.Since(start))
}

var benchFleet *fleet

// noCleanup hides Cleanup, so that what openFleet opens outlives the
// benchmark run that opened it.
type noCleanup struct{ *testing.B }

func (noCleanup) Cleanup(func()) {}

// BenchmarkUDPManyEndpoints times rounds over 10,000 UDP endpoints on
// loopback: one op is one round (10,000 datagrams sent in batches, one
// ReadBatch on each endpoint).
func BenchmarkUDPManyEndpoints(b *testing.B) {
	// The fleet is opened once and kept for the benchmark's later runs
	// (and closed at exit), so that memory is measured on a quiet heap.
	if benchFleet == nil {
		benchFleet = openFleet(noCleanup{b}, manyEndpoints)
	}
	f := benchFleet
	b.ReportAllocs()
	b.ResetTimer() // it would also delete metrics reported before it
	for range b.N {
		f.round(b, nil)
	}
	b.ReportMetric(f.heapPerEndpoint, "heap-B/endpoint")
	b.ReportMetric(f.rssPerEndpoint, "rss-B/endpoint")
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/manyEndpoints, "ns/dgram")
}
