package peers

import (
	"errors"
	"math"
	"math/rand/v2"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/memberlist"
)

// mlTransport wraps a memberlist NetTransport to count what the node sends
// and to inject loss, as hearsayLink does for Hearsay:
//
//   - UDP: every datagram the node writes is counted (payload bytes), then
//     dropped with the cluster's loss probability p. Nothing is dropped on
//     receive, as for Hearsay.
//   - TCP (push-pull, join, and the fallback ping memberlist sends when
//     UDP probes fail): every connection attempt, under loss p, loses its
//     SYN with probability p. Linux retransmits a lost SYN after 1 s, so an
//     attempt whose timeout is at most 1 s (a fallback ping, whose deadline
//     is the probe interval; DefaultLocalConfig's TCPTimeout) waits out
//     its timeout and fails, and one with a longer timeout (push-pull,
//     DefaultLANConfig's 10 s) waits 1 s and then connects. Bytes on an
//     established connection are never dropped: TCP would retransmit them
//     after a few hundred milliseconds, which this does not model, so under
//     loss memberlist's streams are somewhat faster here than on a real
//     lossy network. MemberlistEngine.NoTCPLoss exempts TCP altogether.
//
// Bytes written on every connection, dialled or accepted, are counted, so
// each byte of a stream is counted once, at its writer.
type mlTransport struct {
	nt      *memberlist.NetTransport
	c       *mlCluster
	streams chan net.Conn
	done    chan struct{} // closed by Shutdown: stop handing over streams
	stopped chan struct{} // closed once nt has shut down
	once    sync.Once
}

var _ memberlist.NodeAwareTransport = (*mlTransport)(nil)

func newMLTransport(nt *memberlist.NetTransport, c *mlCluster) *mlTransport {
	t := &mlTransport{
		nt:      nt,
		c:       c,
		streams: make(chan net.Conn),
		done:    make(chan struct{}),
		stopped: make(chan struct{}),
	}
	go t.forward()
	return t
}

// forward hands the accepted connections over to memberlist, wrapped.
func (t *mlTransport) forward() {
	in := t.nt.StreamCh()
	for {
		select {
		case conn := <-in:
			select {
			case t.streams <- &countingConn{Conn: conn, c: &t.c.ctr}:
			case <-t.done:
				conn.Close()
			}
		case <-t.stopped:
			return
		}
	}
}

func (t *mlTransport) FinalAdvertiseAddr(ip string, port int) (net.IP, int, error) {
	return t.nt.FinalAdvertiseAddr(ip, port)
}

func (t *mlTransport) WriteTo(b []byte, addr string) (time.Time, error) {
	return t.WriteToAddress(b, memberlist.Address{Addr: addr})
}

func (t *mlTransport) WriteToAddress(b []byte, a memberlist.Address) (time.Time, error) {
	c := t.c
	c.ctr.datagrams.Add(1)
	c.ctr.bytes.Add(uint64(len(b)))
	tc := &c.types[mlType(b)]
	tc.datagrams.Add(1)
	tc.bytes.Add(uint64(len(b)))
	if p := c.loss.Load(); p > 0 && rand.Float64() < p {
		c.ctr.dropped.Add(1)
		return time.Now(), nil
	}
	return t.nt.WriteToAddress(b, a)
}

func (t *mlTransport) PacketCh() <-chan *memberlist.Packet { return t.nt.PacketCh() }

func (t *mlTransport) DialTimeout(addr string, timeout time.Duration) (net.Conn, error) {
	return t.DialAddressTimeout(memberlist.Address{Addr: addr}, timeout)
}

// synRetry is Linux's initial SYN retransmission timeout.
const synRetry = time.Second

// errSYNLost is returned for a connection attempt whose SYN the injected
// loss dropped, after its timeout.
var errSYNLost = errors.New("peers: injected loss: connection attempt timed out (SYN lost)")

func (t *mlTransport) DialAddressTimeout(a memberlist.Address, timeout time.Duration) (net.Conn, error) {
	c := t.c
	if p := c.loss.Load(); c.tcpLoss && p > 0 && rand.Float64() < p {
		if timeout <= synRetry {
			time.Sleep(timeout)
			c.ctr.tcpFailed.Add(1)
			return nil, errSYNLost
		}
		time.Sleep(synRetry)
		timeout -= synRetry
	}
	conn, err := t.nt.DialAddressTimeout(a, timeout)
	if err != nil {
		c.ctr.tcpFailed.Add(1)
		return nil, err
	}
	c.ctr.tcpConns.Add(1)
	return &countingConn{Conn: conn, c: &c.ctr}, nil
}

func (t *mlTransport) StreamCh() <-chan net.Conn { return t.streams }

func (t *mlTransport) Shutdown() error {
	var err error
	t.once.Do(func() {
		close(t.done)
		err = t.nt.Shutdown()
		close(t.stopped)
	})
	return err
}

// countingConn counts the bytes written on a TCP connection.
type countingConn struct {
	net.Conn
	c *counters
}

func (c *countingConn) Write(b []byte) (int, error) {
	n, err := c.Conn.Write(b)
	c.c.tcpBytes.Add(uint64(n))
	return n, err
}

// mlType returns the memberlist message type of a datagram, past a label
// (type 244) and a CRC header (type 12).
func mlType(b []byte) byte {
	if len(b) > 2 && b[0] == 244 {
		n := int(b[1])
		if len(b) < 2+n+1 {
			return b[0]
		}
		b = b[2+n:]
	}
	if len(b) > 5 && b[0] == 12 {
		b = b[5:]
	}
	if len(b) == 0 {
		return 255
	}
	return b[0]
}

// atomicFloat is a float64 read and written atomically.
type atomicFloat struct{ bits atomic.Uint64 }

func (f *atomicFloat) Load() float64   { return math.Float64frombits(f.bits.Load()) }
func (f *atomicFloat) Store(v float64) { f.bits.Store(math.Float64bits(v)) }

type atomicUint = atomic.Uint64
