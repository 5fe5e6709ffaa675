//go:build linux

package netio_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/hearsay-io/hearsay/netio"
)

// TestRecvBufferCapacity measures how many datagrams a UDP socket with the
// runtime's default receive buffer (netio.DefaultSocketBuffer, asked with
// SO_RCVBUFFORCE when privileged) holds on loopback before the kernel
// drops, at the sizes of a heartbeat and of a full datagram. The figures
// calibrate the in-memory network's byte-bounded queues (QueueBytes and
// QueueOverhead), which the simulator's cost model sets from them: run
//
//	go test -run TestRecvBufferCapacity -v ./netio/
//
// It logs what it finds; it fails only if the buffer was not filled.
func TestRecvBufferCapacity(t *testing.T) {
	if testing.Short() {
		t.Skip("fills socket buffers")
	}
	for _, size := range []int{68, 1400} {
		t.Run(fmt.Sprintf("%dB", size), func(t *testing.T) {
			rx := listenUDP(t, loop4, netio.UDPOptions{})
			tx := listenUDP(t, loop4, netio.UDPOptions{})
			recv, _, forced, err := rx.BufferSizes()
			if err != nil {
				t.Fatal(err)
			}
			// Loopback queues each datagram in the receiver's buffer inside
			// the sender's system call, so what is not held is dropped at
			// once.
			const sent = 40000
			out := chunkTo(rx.LocalAddr(), size)
			for done := 0; done < sent; {
				k := min(len(out), sent-done)
				if _, err := tx.WriteBatch(out[:k]); err != nil {
					t.Fatal(err)
				}
				done += k
			}
			msgs := netio.NewMessages(netio.DefaultBatchSize, 2048)
			held := 0
			for {
				rx.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
				n, err := rx.ReadBatch(msgs)
				if err != nil {
					break
				}
				held += n
			}
			if held == 0 || held == sent {
				t.Fatalf("the socket held %d of %d datagrams: the buffer was not filled", held, sent)
			}
			t.Logf("SO_RCVBUF %d bytes (forced %v): held %d of %d datagrams of %d bytes: %.0f bytes of buffer each, %.0f besides the payload",
				recv, forced, held, sent, size, float64(recv)/float64(held), float64(recv)/float64(held)-float64(size))
		})
	}
}

// BenchmarkUDPPingPong bounces one 68-byte datagram between two sockets,
// each read by its own goroutine blocked in ReadBatch, so every hop costs
// a send, a wakeup of the reader and a receive of one datagram: what a
// node that is not busy pays per datagram, where the batch benchmarks show
// what a busy one pays. It reports the process's CPU time per hop
// (cpu-ns/hop); less a batched send and receive (BenchmarkUDPSend and
// BenchmarkUDPRecv), that is the cost of waking an idle node, which the
// simulator's cost model charges as CostModel.Wake:
//
//	go test -run '^$' -bench 'BenchmarkUDPPingPong' -benchmem -count=6 ./netio/
func BenchmarkUDPPingPong(b *testing.B) {
	a := listenUDP(b, loop4, netio.UDPOptions{})
	c := listenUDP(b, loop4, netio.UDPOptions{})
	a.SetReadDeadline(time.Now().Add(time.Minute))
	c.SetReadDeadline(time.Now().Add(time.Minute))
	const size = 68
	hops := b.N
	done := make(chan error, 1)
	// c echoes what it reads back to a.
	go func() {
		msgs := netio.NewMessages(1, 2048)
		out := []netio.Message{{Addr: a.LocalAddr(), Buf: make([]byte, size)}}
		for i := 1; i < hops; i += 2 {
			if _, err := c.ReadBatch(msgs); err != nil {
				done <- err
				return
			}
			if _, err := c.WriteBatch(out); err != nil {
				done <- err
				return
			}
		}
		done <- nil
	}()
	msgs := netio.NewMessages(1, 2048)
	out := []netio.Message{{Addr: c.LocalAddr(), Buf: make([]byte, size)}}
	b.ReportAllocs()
	b.ResetTimer()
	c0 := cpuTime(b)
	for i := 0; i < hops; i += 2 {
		if _, err := a.WriteBatch(out); err != nil {
			b.Fatal(err)
		}
		if i+1 < hops {
			if _, err := a.ReadBatch(msgs); err != nil {
				b.Fatal(err)
			}
		}
	}
	cpu := cpuTime(b) - c0
	b.StopTimer()
	if err := <-done; err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(cpu.Nanoseconds())/float64(hops), "cpu-ns/hop")
}
