//go:build linux

package adversary

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hearsay-io/hearsay/codec"
	"github.com/hearsay-io/hearsay/codec/bulk"
	"github.com/hearsay-io/hearsay/engine"
)

// attacker builds datagrams of the cluster, sealed with the cluster's key
// when it holds it (an insider), and sends them from UDP sockets of its
// own. A sealed datagram is bound to its receiver (codec.SealFor): the
// attacker seals each for the member ID of the node it goes to, which the
// node's HTTP view names (/members lists it as self; see waitConverged),
// as the node's peers do.
type attacker struct {
	t       testing.TB
	c       *cluster
	cluster uint64
	kr      *codec.Keyring // nil: datagrams go out plain
	limit   int            // largest plain datagram, so that a sealed one fits the default size
	seq     atomic.Uint32  // the last sequence number written
	real    map[engine.ID]bool
	idAt    map[netip.AddrPort]engine.ID // the member at each node's address

	mu  sync.Mutex
	rng *rand.Rand
}

// newAttacker returns an attacker against c; insider says whether it
// holds the key of a sealed cluster.
func newAttacker(t testing.TB, c *cluster, insider bool, seed uint64) *attacker {
	a := &attacker{t: t, c: c, cluster: codec.ClusterID(clusterName), limit: codec.DefaultDatagramSize,
		rng: rand.New(rand.NewPCG(seed, 0xadd)), real: c.ids(), idAt: map[netip.AddrPort]engine.ID{}}
	for _, n := range c.nodes {
		if n.id == 0 {
			t.Fatalf("attacker: %v's member ID is not known (its /members lists no self)", n)
		}
		a.idAt[n.addr] = n.id
	}
	if c.keyed && insider {
		a.kr = c.keyring()
		a.limit -= codec.SealOverhead
	}
	return a
}

func (a *attacker) u64() uint64 {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.rng.Uint64()
}

func (a *attacker) intn(n int) int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.rng.IntN(n)
}

// fakeID returns a random ID no node has.
func (a *attacker) fakeID() uint64 {
	for {
		id := a.u64()
		if id != 0 && !a.real[engine.ID(id)] {
			return id
		}
	}
}

// unusedAddr returns an address on 127.66/16, where nothing listens.
func (a *attacker) unusedAddr() netip.AddrPort {
	v := a.u64()
	ip := netip.AddrFrom4([4]byte{127, 66, byte(v), byte(1 + (v>>8)%254)})
	return netip.AddrPortFrom(ip, uint16(1024+(v>>16)%60000))
}

// header returns a header of type t from sender (generation 1, plausible
// to any node) with the attacker's next sequence number.
func (a *attacker) header(t codec.MsgType, sender uint64) codec.Header {
	return codec.Header{Type: t, Cluster: a.cluster, Sender: sender, Generation: 1, Seq: a.seq.Add(1)}
}

// datagram builds a datagram for the node at to with header h (its Seq set
// afresh) and the records add writes, sealed for that node when the
// attacker holds the key.
func (a *attacker) datagram(to netip.AddrPort, h codec.Header, add func(b *codec.Builder)) []byte {
	return a.datagramFor(a.receiver(to), h, add)
}

// datagramFor is datagram sealed for the member ID receiver (0: for no
// one, as a first Join or Sync to a seed whose ID the sender does not
// know is).
func (a *attacker) datagramFor(receiver uint64, h codec.Header, add func(b *codec.Builder)) []byte {
	h.Seq = a.seq.Add(1)
	if h.Cluster == 0 {
		h.Cluster = a.cluster
	}
	var b codec.Builder
	b.Reset(make([]byte, 0, a.limit), a.limit, h)
	if add != nil {
		add(&b)
	}
	return a.sealFor(receiver, b.Finish())
}

// receiver returns the member ID of the node at to, which what the
// attacker sends there is sealed for; 0 (no one) for an address that is
// no node's.
func (a *attacker) receiver(to netip.AddrPort) uint64 { return uint64(a.idAt[to]) }

// seal seals plain with the cluster's key, for the node at to, when the
// attacker holds the key.
func (a *attacker) seal(to netip.AddrPort, plain []byte) []byte {
	return a.sealFor(a.receiver(to), plain)
}

// sealFor seals plain with the cluster's key for the member ID receiver
// when the attacker holds the key.
func (a *attacker) sealFor(receiver uint64, plain []byte) []byte {
	if a.kr == nil {
		return plain
	}
	b, err := codec.SealFor(nil, plain, a.kr, receiver)
	if err != nil {
		panic(fmt.Sprintf("sealing a %d-byte datagram: %v", len(plain), err)) // a bug of the test
	}
	return b
}

// compressed builds a compressed datagram for the node at to with header
// h whose plain body (sections sections) is body, sealed for that node
// when the attacker holds the key.
func (a *attacker) compressed(to netip.AddrPort, h codec.Header, sections int, body []byte) []byte {
	h.Seq = a.seq.Add(1)
	if h.Cluster == 0 {
		h.Cluster = a.cluster
	}
	z := bulk.Compress(nil, body)
	h.Flags = codec.FlagCompressed
	h.Sections = uint8(sections)
	h.Length = uint16(len(z))
	return a.seal(to, append(h.Append(nil), z...))
}

// section returns a body section header of n records of type t.
func section(t codec.RecType, n int) []byte {
	return []byte{byte(t), byte(t.Size()), byte(n >> 8), byte(n)}
}

// udpSock is one of the attacker's UDP sockets (or a listener at a third
// party's address): it counts what it sends and what comes back.
type udpSock struct {
	conn      *net.UDPConn
	addr      netip.AddrPort
	sentN     atomic.Uint64
	sentBytes atomic.Uint64
	backN     atomic.Uint64
	backBytes atomic.Uint64
	// onRead, when set before the first datagram arrives, sees each one
	// (from the reader goroutine; b is reused after it returns).
	onRead func(from netip.AddrPort, b []byte)
	wg     sync.WaitGroup
}

// listenUDP opens a socket on ip (any port) and starts counting what it
// receives; t.Cleanup closes it.
func listenUDP(t testing.TB, ip netip.Addr, onRead func(netip.AddrPort, []byte)) *udpSock {
	t.Helper()
	conn, err := net.ListenUDP("udp4", net.UDPAddrFromAddrPort(netip.AddrPortFrom(ip, 0)))
	if err != nil {
		t.Fatal(err)
	}
	conn.SetReadBuffer(4 << 20)
	s := &udpSock{conn: conn, addr: conn.LocalAddr().(*net.UDPAddr).AddrPort(), onRead: onRead}
	s.wg.Go(s.read)
	t.Cleanup(func() {
		conn.Close()
		s.wg.Wait()
	})
	return s
}

func (s *udpSock) read() {
	buf := make([]byte, 65536)
	for {
		n, from, err := s.conn.ReadFromUDPAddrPort(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue // ICMP errors of earlier sends surface here
		}
		s.backN.Add(1)
		s.backBytes.Add(uint64(n))
		if s.onRead != nil {
			s.onRead(from, buf[:n])
		}
	}
}

// send sends b to to and counts it. Errors are ICMP port-unreachable
// reports of earlier sends to addresses nobody listens on, and are
// ignored, as an attacker would.
func (s *udpSock) send(to netip.AddrPort, b []byte) {
	if _, err := s.conn.WriteToUDPAddrPort(b, to); err == nil {
		s.sentN.Add(1)
		s.sentBytes.Add(uint64(len(b)))
	}
}

// back returns the datagrams and bytes received so far.
func (s *udpSock) back() (n, bytes uint64) { return s.backN.Load(), s.backBytes.Load() }

// pace sleeps so that the k-th of n events spread over d from start
// happens no earlier than its time.
func pace(start time.Time, k, n int, d time.Duration) {
	if ahead := time.Duration(float64(k)/float64(n)*float64(d)) - time.Since(start); ahead > time.Millisecond {
		time.Sleep(ahead)
	}
}

// be is the wire's byte order.
var be = binary.BigEndian
