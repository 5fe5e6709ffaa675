//go:build linux

package netio_test

import (
	"fmt"
	"net"
	"net/netip"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/hearsay-io/hearsay/netio"
)

// The loopback benchmarks compare the plain path (net.UDPConn's
// WriteToUDPAddrPort and ReadFromUDPAddrPort, one system call per datagram)
// with netio's batched path, as sibling sub-benchmarks per datagram size.
//
// Batches are full by construction: the work is done in chunks of 1,024
// datagrams. For a receive benchmark the sender first writes a whole chunk
// (untimed) into the receiver's 4 MiB socket buffer, which on loopback has
// queued every datagram by the time WriteBatch returns; the timed part then
// drains the chunk, so every recvmmsg finds at least 64 datagrams waiting
// (except the last of a chunk). A chunk fits the buffer at every size, and
// a missing datagram would fail the benchmark through the read deadline
// rather than skew it. The send+receive benchmark times both halves,
// sequentially on one goroutine, so nothing is lost and no batch is short.
//
// Each reports b.N's unit (one datagram) plus:
//   - cpu-ns/dgram: process CPU time (CLOCK_PROCESS_CPUTIME_ID: user and
//     system time of every thread, so kernel work done on our behalf counts)
//     over the timed parts, per datagram;
//   - dgrams/s: datagrams per second of wall time over the timed parts.

const benchChunk = 1024

var benchSizes = []int{64, 512, 1400}

// cpuTime returns the CPU time consumed by the process so far.
func cpuTime(b *testing.B) time.Duration {
	d, ok := processCPU()
	if !ok {
		b.Fatal("clock_gettime(CLOCK_PROCESS_CPUTIME_ID) failed")
	}
	return d
}

// meter accumulates CPU and wall time over the timed parts of a benchmark.
type meter struct {
	b         *testing.B
	cpu, wall time.Duration
	c0        time.Duration
	w0        time.Time
}

func (m *meter) start() {
	m.b.StartTimer()
	m.w0 = time.Now()
	m.c0 = cpuTime(m.b)
}

func (m *meter) stop() {
	m.cpu += cpuTime(m.b) - m.c0
	m.wall += time.Since(m.w0)
	m.b.StopTimer()
}

func (m *meter) report() {
	m.b.ReportMetric(float64(m.cpu.Nanoseconds())/float64(m.b.N), "cpu-ns/dgram")
	m.b.ReportMetric(float64(m.b.N)/m.wall.Seconds(), "dgrams/s")
}

// plainConn opens a net.UDPConn on loopback with the same 4 MiB forced
// buffers netio uses, so the comparison is about the system calls only.
func plainConn(b *testing.B) *net.UDPConn {
	c, err := net.ListenUDP("udp4", net.UDPAddrFromAddrPort(loop4))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { c.Close() })
	raw, err := c.SyscallConn()
	if err != nil {
		b.Fatal(err)
	}
	raw.Control(func(fd uintptr) {
		for _, opt := range []int{unix.SO_RCVBUFFORCE, unix.SO_SNDBUFFORCE} {
			if err := unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, opt, netio.DefaultSocketBuffer); err != nil {
				c.SetReadBuffer(netio.DefaultSocketBuffer)
				c.SetWriteBuffer(netio.DefaultSocketBuffer)
			}
		}
	})
	c.SetReadDeadline(time.Now().Add(time.Minute))
	return c
}

// chunkTo returns benchChunk messages of the given size to dst.
func chunkTo(dst netip.AddrPort, size int) []netio.Message {
	out := make([]netio.Message, benchChunk)
	buf := make([]byte, size)
	for i := range out {
		out[i] = netio.Message{Addr: dst, Buf: buf}
	}
	return out
}

// drain reads k datagrams with the plain or the batched path.
func drain(b *testing.B, k int, plain *net.UDPConn, batched *netio.UDP, msgs []netio.Message) {
	for got := 0; got < k; {
		if plain != nil {
			if _, _, err := plain.ReadFromUDPAddrPort(msgs[0].Buf); err != nil {
				b.Fatalf("ReadFromUDPAddrPort after %d of %d: %v", got, k, err)
			}
			got++
			continue
		}
		n, err := batched.ReadBatch(msgs)
		if err != nil {
			b.Fatalf("ReadBatch after %d of %d: %v", got, k, err)
		}
		got += n
	}
}

func BenchmarkUDPRecv(b *testing.B) {
	for _, size := range benchSizes {
		for _, path := range []string{"plain", "batch"} {
			b.Run(fmt.Sprintf("%dB/%s", size, path), func(b *testing.B) {
				tx := listenUDP(b, loop4, netio.UDPOptions{})
				var plain *net.UDPConn
				var batched *netio.UDP
				dst := netip.AddrPort{}
				if path == "plain" {
					plain = plainConn(b)
					dst = plain.LocalAddr().(*net.UDPAddr).AddrPort()
				} else {
					batched = listenUDP(b, loop4, netio.UDPOptions{})
					batched.SetReadDeadline(time.Now().Add(time.Minute))
					dst = batched.LocalAddr()
				}
				out := chunkTo(dst, size)
				msgs := netio.NewMessages(netio.DefaultBatchSize, 2048)
				m := meter{b: b}
				b.ReportAllocs()
				b.ResetTimer()
				b.StopTimer()
				for done := 0; done < b.N; {
					k := min(benchChunk, b.N-done)
					if _, err := tx.WriteBatch(out[:k]); err != nil {
						b.Fatal(err)
					}
					m.start()
					drain(b, k, plain, batched, msgs)
					m.stop()
					done += k
				}
				m.report()
				if batched != nil {
					s := batched.Stats()
					b.ReportMetric(float64(s.DatagramsIn)/float64(s.BatchesIn), "dgrams/batch")
				}
			})
		}
	}
}

func BenchmarkUDPSendRecv(b *testing.B) {
	for _, size := range benchSizes {
		for _, path := range []string{"plain", "batch", "batch-gso"} {
			b.Run(fmt.Sprintf("%dB/%s", size, path), func(b *testing.B) {
				var plainTx, plainRx *net.UDPConn
				var tx, rx *netio.UDP
				if path == "plain" {
					plainTx, plainRx = plainConn(b), plainConn(b)
				} else {
					tx = listenUDP(b, loop4, netio.UDPOptions{GSO: path == "batch-gso"})
					rx = listenUDP(b, loop4, netio.UDPOptions{})
					rx.SetReadDeadline(time.Now().Add(time.Minute))
					if path == "batch-gso" && !tx.GSO() {
						b.Skip("no UDP GSO in this kernel")
					}
				}
				var out []netio.Message
				if rx != nil {
					out = chunkTo(rx.LocalAddr(), size)
				} else {
					out = chunkTo(plainRx.LocalAddr().(*net.UDPAddr).AddrPort(), size)
				}
				msgs := netio.NewMessages(netio.DefaultBatchSize, 2048)
				m := meter{b: b}
				b.ReportAllocs()
				b.ResetTimer()
				b.StopTimer()
				for done := 0; done < b.N; {
					k := min(benchChunk, b.N-done)
					m.start()
					if plainTx != nil {
						for i := range k {
							if _, err := plainTx.WriteToUDPAddrPort(out[i].Buf, out[i].Addr); err != nil {
								b.Fatal(err)
							}
						}
					} else if _, err := tx.WriteBatch(out[:k]); err != nil {
						b.Fatal(err)
					}
					drain(b, k, plainRx, rx, msgs)
					m.stop()
					done += k
				}
				m.report()
			})
		}
	}
}

// BenchmarkUDPSend times the send half alone (the receiver drains
// untimed), to show where the send+receive savings come from.
func BenchmarkUDPSend(b *testing.B) {
	for _, size := range benchSizes {
		for _, path := range []string{"plain", "batch", "batch-gso"} {
			b.Run(fmt.Sprintf("%dB/%s", size, path), func(b *testing.B) {
				rx := listenUDP(b, loop4, netio.UDPOptions{})
				rx.SetReadDeadline(time.Now().Add(time.Minute))
				var plainTx *net.UDPConn
				var tx *netio.UDP
				if path == "plain" {
					plainTx = plainConn(b)
				} else {
					tx = listenUDP(b, loop4, netio.UDPOptions{GSO: path == "batch-gso"})
					if path == "batch-gso" && !tx.GSO() {
						b.Skip("no UDP GSO in this kernel")
					}
				}
				out := chunkTo(rx.LocalAddr(), size)
				msgs := netio.NewMessages(netio.DefaultBatchSize, 2048)
				m := meter{b: b}
				b.ReportAllocs()
				b.ResetTimer()
				b.StopTimer()
				for done := 0; done < b.N; {
					k := min(benchChunk, b.N-done)
					m.start()
					if plainTx != nil {
						for i := range k {
							if _, err := plainTx.WriteToUDPAddrPort(out[i].Buf, out[i].Addr); err != nil {
								b.Fatal(err)
							}
						}
					} else if _, err := tx.WriteBatch(out[:k]); err != nil {
						b.Fatal(err)
					}
					m.stop()
					drain(b, k, nil, rx, msgs)
					done += k
				}
				m.report()
			})
		}
	}
}
