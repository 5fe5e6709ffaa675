package netio_test

import (
	"bytes"
	"encoding/binary"
	"net/netip"
	"testing"
	"time"

	"github.com/hearsay-io/hearsay/netio"
)

// busyScript runs the operations in prog against endpoints whose handlers
// make them busy, as the simulator's nodes are, and returns the trace of
// deliveries. After every operation it checks that every datagram is
// accounted for, that queues keep within their bounds, and that no
// handler ran while its endpoint was busy or paused.
func busyScript(t *testing.T, prog []byte) []byte {
	const nodes, limit, overhead = 4, 400, 50
	n := netio.NewNetwork(netio.NetworkConfig{Seed: 9, QueueLimit: -1, QueueBytes: limit, QueueOverhead: overhead,
		Link: netio.Link{Latency: netio.Latency{Base: time.Microsecond, Jitter: 5 * time.Microsecond}}})
	var trace bytes.Buffer
	eps := make([]*netio.Endpoint, nodes)
	var paused [nodes]bool
	p := prog
	next := func() int {
		if len(p) == 0 {
			return 0
		}
		b := p[0]
		p = p[1:]
		return int(b)
	}
	listen := func(i int) {
		e, err := n.Listen(nodeAddr(i))
		if err != nil {
			return
		}
		eps[i], paused[i] = e, false
		e.SetHandler(func(from netip.AddrPort, b []byte) {
			if now := n.Now(); now < e.BusyUntil() || paused[i] {
				t.Fatalf("node %d handed a datagram at %v while busy until %v (paused %v)", i, now, e.BusyUntil(), paused[i])
			}
			binary.Write(&trace, binary.BigEndian, int64(n.Now()))
			trace.WriteString(from.String())
			trace.WriteByte(byte(i))
			trace.Write(b)
			e.SetBusy(n.Now() + time.Duration(b[0])*time.Microsecond)
			if b[0]%3 == 0 && len(b) > 1 { // reply, while busy
				e.Send(from, b[1:])
			}
		})
	}
	var last time.Duration
	for len(p) > 0 {
		op, k, j := next()%8, next()%nodes, next()%nodes
		switch op {
		case 0:
			if eps[k] == nil {
				listen(k)
			}
		case 1:
			if eps[k] != nil && next()%4 == 0 {
				eps[k].Close()
				eps[k] = nil
			}
		case 2, 3:
			if eps[k] != nil {
				b := make([]byte, 1+next()%120)
				b[0] = byte(next())
				eps[k].Send(nodeAddr(j), b)
			}
		case 4:
			if eps[k] != nil {
				eps[k].SetBusy(n.Now() + time.Duration(next())*time.Microsecond)
			}
		case 5:
			if eps[k] != nil {
				if paused[k] {
					paused[k] = false
					n.Resume(nodeAddr(k))
				} else {
					paused[k] = true
					n.Pause(nodeAddr(k))
				}
			}
		case 6:
			if next()%2 == 0 {
				n.AdvanceBefore(n.Now() + time.Duration(next())*time.Microsecond)
			} else {
				n.AdvanceTo(n.Now() + time.Duration(next())*time.Microsecond)
			}
		case 7:
			n.Step()
		}
		if trace.Len() > 1<<24 {
			t.Fatalf("runaway: %d bytes of trace", trace.Len())
		}
		s := n.Stats()
		checkConservation(t, s)
		if now := n.Now(); now < last {
			t.Fatalf("time went back from %v to %v", last, now)
		} else {
			last = now
		}
		for i, e := range eps {
			if e == nil {
				continue
			}
			if bl := e.Backlog(); bl.Bytes > limit || bl.PeakBytes > limit || bl.Bytes < bl.Datagrams*(overhead+1) {
				t.Fatalf("node %d backlog %+v: over the %d-byte bound, or not counting its datagrams", i, bl, limit)
			}
		}
	}
	// Unpause and run everything out: every queue drains.
	for i, e := range eps {
		if e != nil && paused[i] {
			paused[i] = false
			n.Resume(nodeAddr(i))
		}
	}
	for steps := 0; n.Step(); steps++ {
		if steps > 1e6 {
			t.Fatalf("the network did not run out after %d steps: %+v", steps, n.Stats())
		}
	}
	s := n.Stats()
	checkConservation(t, s)
	if s.Queued != 0 || s.QueuedBytes != 0 || s.Pending != 0 {
		t.Fatalf("after running out: Queued %d, QueuedBytes %d, Pending %d; want 0", s.Queued, s.QueuedBytes, s.Pending)
	}
	return trace.Bytes()
}

func FuzzBusyEndpoints(f *testing.F) {
	f.Add([]byte{0, 0, 0, 0, 1, 0, 2, 0, 1, 30, 9, 2, 1, 0, 60, 3, 4, 0, 0, 100, 6, 0, 0, 1, 200, 7, 0, 0})
	f.Add([]byte{0, 0, 0, 0, 1, 1, 4, 1, 0, 250, 2, 0, 1, 119, 6, 3, 0, 0, 5, 1, 0, 2, 0, 1, 3, 3, 6, 0, 0, 0, 255, 5, 1, 0})
	f.Add([]byte{0, 2, 0, 0, 3, 0, 2, 2, 3, 100, 200, 2, 2, 3, 100, 200, 2, 2, 3, 100, 200, 1, 3, 0, 0, 0, 3, 0, 7, 0, 0})
	f.Fuzz(func(t *testing.T, prog []byte) {
		if len(prog) > 4096 {
			return
		}
		a, b := busyScript(t, prog), busyScript(t, prog)
		if !bytes.Equal(a, b) {
			t.Fatalf("the same program gave two different traces")
		}
	})
}
