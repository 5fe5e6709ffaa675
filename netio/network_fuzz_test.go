package netio_test

import (
	"bytes"
	"encoding/binary"
	"net/netip"
	"testing"
	"time"

	"github.com/hearsay-io/hearsay/netio"
)

// script runs the operations encoded in prog against a fresh network and
// returns the trace of deliveries. It checks after every operation that
// every datagram is accounted for and that time does not go back.
//
// Each operation is one opcode byte followed by argument bytes; a program
// that ends early just stops. Eight node addresses are in play.
func script(t *testing.T, prog []byte) []byte {
	const nodes = 8
	n := netio.NewNetwork(netio.NetworkConfig{Seed: 7, QueueLimit: 6})
	var trace bytes.Buffer
	eps := make([]*netio.Endpoint, nodes)
	var paused [nodes]bool // whether the open endpoint at each node is paused
	msgs := netio.NewMessages(4, 256)
	p := prog
	next := func() int {
		if len(p) == 0 {
			return 0
		}
		b := p[0]
		p = p[1:]
		return int(b)
	}
	record := func(to int, from netip.AddrPort, b []byte) {
		binary.Write(&trace, binary.BigEndian, int64(n.Now()))
		trace.WriteString(from.String())
		trace.WriteByte(byte(to))
		trace.Write(b)
		trace.WriteByte('\n')
	}
	echoes := 0
	handler := func(i int) func(netip.AddrPort, []byte) {
		return func(from netip.AddrPort, b []byte) {
			record(i, from, b)
			// Echo odd payloads back, one byte shorter: reentrant sends.
			// A budget bounds the echoes, which duplication could
			// otherwise multiply exponentially.
			if len(b) > 1 && b[0]%2 == 1 && eps[i] != nil && echoes < 1000 {
				echoes++
				eps[i].Send(from, b[1:])
			}
		}
	}
	link := func() netio.Link {
		return netio.Link{
			Latency:      netio.Latency{Base: time.Duration(next()) * time.Millisecond, Jitter: time.Duration(next()) * time.Millisecond, Shape: netio.Shape(next() % 5), Max: time.Duration(next()) * time.Millisecond},
			Loss:         float64(next()) / 255,
			Duplicate:    float64(next()) / 255,
			Reorder:      float64(next()) / 255,
			ReorderDelay: time.Duration(next()) * time.Millisecond,
			MTU:          next() - 1, // -1 means the default
			Down:         next()%8 == 0,
		}
	}
	var last time.Duration
	for len(p) > 0 {
		op, k, j := next()%15, next()%nodes, next()%nodes
		switch op {
		case 0:
			if e, err := n.Listen(nodeAddr(k)); err == nil {
				eps[k], paused[k] = e, false
			}
		case 1:
			if eps[k] != nil {
				eps[k].Close()
				eps[k], paused[k] = nil, false
			}
		case 2:
			if eps[k] != nil {
				eps[k].Send(nodeAddr(j), bytes.Repeat([]byte{byte(next())}, next()%40))
			}
		case 3:
			if eps[k] != nil {
				eps[k].WriteBatch([]netio.Message{{Addr: nodeAddr(j), Buf: []byte{byte(next())}}, {Addr: nodeAddr(k), Buf: make([]byte, next())}})
			}
		case 4:
			n.Step()
		case 5:
			n.AdvanceTo(n.Now() + time.Duration(next())*time.Millisecond)
		case 6:
			n.SetLink(nodeAddr(k), nodeAddr(j), link())
		case 7:
			n.ClearLink(nodeAddr(k), nodeAddr(j))
		case 8:
			var a, b []netip.AddrPort
			mask := next()
			for i := range nodes {
				if mask&(1<<i) != 0 {
					a = append(a, nodeAddr(i))
				} else if i%2 == 0 {
					b = append(b, nodeAddr(i))
				}
			}
			n.Partition(a, b)
		case 9:
			n.Heal()
		case 10:
			n.Pause(nodeAddr(k))
			paused[k] = eps[k] != nil
		case 11:
			n.Resume(nodeAddr(k))
			paused[k] = false
		case 12:
			n.SetEndpointFaults(nodeAddr(k), netio.Faults{Loss: float64(next()) / 255, Delay: netio.Latency{Jitter: time.Duration(next()) * time.Millisecond}})
		case 13:
			if eps[k] != nil {
				if j%2 == 0 {
					eps[k].SetHandler(handler(k))
				} else {
					eps[k].SetHandler(nil)
				}
			}
		case 14:
			// Read only what is there: ReadBatch would block otherwise.
			// A paused endpoint's queue is not readable. The first buffer
			// holds any datagram the script sends, so at least one is
			// returned; the others have random sizes, so some datagrams
			// are dropped as too large.
			if eps[k] != nil && eps[k].Pending() > 0 && !paused[k] {
				for i := 1; i < len(msgs); i++ {
					msgs[i].Buf = msgs[i].Buf[:cap(msgs[i].Buf)][:next()%40]
				}
				c, err := eps[k].ReadBatch(msgs)
				if err != nil {
					t.Fatalf("ReadBatch on an open endpoint = %v", err)
				}
				for _, m := range msgs[:c] {
					if m.N > len(m.Buf) {
						t.Fatalf("ReadBatch filled N=%d of a %d-byte buffer", m.N, len(m.Buf))
					}
					record(k, m.Addr, m.Buf[:m.N])
				}
			}
		}
		s := n.Stats()
		if in, out := s.Sent+s.Duplicated, s.Delivered+s.Dropped()+s.Pending+s.Queued; in != out {
			t.Fatalf("after op %d: Sent+Duplicated = %d, Delivered+Dropped+Pending+Queued = %d (%+v)", op, in, out, s)
		}
		if now := n.Now(); now < last {
			t.Fatalf("after op %d: Now() went back from %v to %v", op, last, now)
		} else {
			last = now
		}
	}
	for n.Step() { // drain: every in-flight datagram ends somewhere
	}
	if s := n.Stats(); s.Pending != 0 {
		t.Fatalf("after draining, %d datagrams pending", s.Pending)
	}
	return trace.Bytes()
}

// FuzzNetworkScript runs arbitrary sequences of network operations: no
// panic, every datagram accounted for, time monotonic, and the same
// program gives the same trace twice.
func FuzzNetworkScript(f *testing.F) {
	// Seeds: open two nodes and exchange; a lossy jittery link; a
	// partition and a pause with queued deliveries; a reader with a too
	// small buffer.
	f.Add([]byte{0, 0, 0, 0, 1, 0, 2, 0, 1, 9, 20, 4, 0, 0})
	f.Add([]byte{0, 2, 0, 0, 3, 0, 6, 2, 3, 1, 5, 3, 10, 60, 60, 60, 0, 20, 3, 5, 5, 2, 3, 3, 8, 8, 5, 0, 0, 50})
	f.Add([]byte{0, 4, 0, 0, 5, 0, 13, 4, 0, 10, 5, 0, 2, 4, 5, 1, 4, 2, 5, 5, 9, 9, 4, 0, 0, 11, 5, 0, 8, 0, 0, 3})
	f.Add([]byte{0, 6, 0, 0, 7, 0, 2, 6, 7, 7, 30, 4, 0, 0, 14, 7, 0, 5})
	// Nasty inputs: empty, one opcode without arguments, all ones.
	f.Add([]byte{})
	f.Add([]byte{4})
	f.Add(bytes.Repeat([]byte{0xff}, 64))
	f.Fuzz(func(t *testing.T, prog []byte) {
		if len(prog) > 4096 {
			return // bound the work per input
		}
		a := script(t, prog)
		if b := script(t, prog); !bytes.Equal(a, b) {
			t.Fatalf("the same program gave two different traces (%d and %d bytes)", len(a), len(b))
		}
	})
}
