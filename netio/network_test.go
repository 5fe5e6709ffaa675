package netio_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"testing"
	"time"

	"github.com/hearsay-io/hearsay/netio"
)

// nodeAddr returns a distinct address for node i.
func nodeAddr(i int) netip.AddrPort {
	return netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)}), 7946)
}

// delivery is one observed delivery.
type delivery struct {
	at       time.Duration
	from, to netip.AddrPort
	data     string
}

// recorder collects the deliveries of handler-mode endpoints.
type recorder struct {
	net *netio.Network
	got []delivery
}

// listen opens an endpoint at addr whose handler records deliveries and
// then calls then (if not nil).
func (r *recorder) listen(t testing.TB, addr netip.AddrPort, then func(e *netio.Endpoint, from netip.AddrPort, b []byte)) *netio.Endpoint {
	t.Helper()
	e, err := r.net.Listen(addr)
	if err != nil {
		t.Fatalf("Listen(%v) = %v", addr, err)
	}
	e.SetHandler(func(from netip.AddrPort, b []byte) {
		r.got = append(r.got, delivery{r.net.Now(), from, addr, string(b)})
		if then != nil {
			then(e, from, b)
		}
	})
	return e
}

func TestNetworkLatency(t *testing.T) {
	n := netio.NewNetwork(netio.NetworkConfig{Link: netio.Link{Latency: netio.Latency{Base: 10 * time.Millisecond}}})
	r := &recorder{net: n}
	a := r.listen(t, nodeAddr(1), nil)
	r.listen(t, nodeAddr(2), nil)
	a.Send(nodeAddr(2), []byte("x"))
	if at, ok := n.NextEvent(); at != 10*time.Millisecond || !ok {
		t.Fatalf("NextEvent() = %v, %v, want 10ms, true", at, ok)
	}
	n.AdvanceTo(9 * time.Millisecond)
	if len(r.got) != 0 || n.Now() != 9*time.Millisecond {
		t.Fatalf("AdvanceTo(9ms): %d deliveries, Now() = %v; want 0, 9ms", len(r.got), n.Now())
	}
	if !n.Step() {
		t.Fatalf("Step() = false, want true")
	}
	want := []delivery{{10 * time.Millisecond, nodeAddr(1), nodeAddr(2), "x"}}
	if fmt.Sprint(r.got) != fmt.Sprint(want) {
		t.Errorf("deliveries = %v, want %v", r.got, want)
	}
	if n.Step() {
		t.Errorf("Step() with nothing pending = true, want false")
	}
	if _, ok := n.NextEvent(); ok {
		t.Errorf("NextEvent() with nothing pending reports an event")
	}
	n.AdvanceTo(5 * time.Millisecond) // time never goes back
	if n.Now() != 10*time.Millisecond {
		t.Errorf("Now() after AdvanceTo(earlier) = %v, want 10ms", n.Now())
	}
}

// Handlers send from inside Step; their datagrams are scheduled from the
// delivery time, and AdvanceTo delivers the chain as long as it is due.
func TestNetworkReentrantSend(t *testing.T) {
	n := netio.NewNetwork(netio.NetworkConfig{Link: netio.Link{Latency: netio.Latency{Base: time.Millisecond}}})
	r := &recorder{net: n}
	echo := func(e *netio.Endpoint, from netip.AddrPort, b []byte) {
		if len(b) < 5 {
			e.Send(from, append(b, '+')) // b is only lent: append copies it here
		}
	}
	a := r.listen(t, nodeAddr(1), echo)
	r.listen(t, nodeAddr(2), echo)
	a.Send(nodeAddr(2), []byte("a"))
	n.AdvanceTo(3 * time.Millisecond)
	want := []delivery{
		{1 * time.Millisecond, nodeAddr(1), nodeAddr(2), "a"},
		{2 * time.Millisecond, nodeAddr(2), nodeAddr(1), "a+"},
		{3 * time.Millisecond, nodeAddr(1), nodeAddr(2), "a++"},
	}
	if fmt.Sprint(r.got) != fmt.Sprint(want) {
		t.Errorf("deliveries = %v, want %v", r.got, want)
	}
	if at, ok := n.NextEvent(); at != 4*time.Millisecond || !ok {
		t.Errorf("NextEvent() = %v, %v, want 4ms, true", at, ok)
	}
}

// trace runs a busy scenario and returns every delivery as bytes: time,
// source, destination, payload. Handlers forward each datagram to a peer
// chosen from its content, with delays, loss, duplication, reordering, a
// partition and a pause in play.
func trace(t testing.TB, seed uint64) []byte {
	const nodes = 40
	n := netio.NewNetwork(netio.NetworkConfig{
		Seed: seed,
		Link: netio.Link{
			Latency:   netio.Latency{Base: time.Millisecond, Jitter: 3 * time.Millisecond, Shape: netio.LogNormal},
			Loss:      0.05,
			Duplicate: 0.05,
			Reorder:   0.1,
		},
		QueueLimit: 8,
	})
	n.SetLink(nodeAddr(1), nodeAddr(2), netio.Link{Latency: netio.Latency{Base: 5 * time.Millisecond, Jitter: time.Millisecond, Shape: netio.Exponential}})
	n.SetEndpointFaults(nodeAddr(3), netio.Faults{Loss: 0.5, Delay: netio.Latency{Jitter: time.Millisecond, Shape: netio.Normal}})
	var out bytes.Buffer
	eps := make([]*netio.Endpoint, nodes)
	for i := range eps {
		e, err := n.Listen(nodeAddr(i))
		if err != nil {
			t.Fatalf("Listen(%v) = %v", nodeAddr(i), err)
		}
		eps[i] = e
		e.SetHandler(func(from netip.AddrPort, b []byte) {
			binary.Write(&out, binary.BigEndian, int64(n.Now()))
			out.WriteString(from.String() + ">" + nodeAddr(i).String() + ":")
			out.Write(b)
			out.WriteByte('\n')
			hops := binary.BigEndian.Uint32(b)
			if hops == 0 {
				return
			}
			next := make([]byte, len(b))
			copy(next, b)
			binary.BigEndian.PutUint32(next, hops-1)
			dst := nodeAddr(int(uint32(i)*31+hops) % nodes)
			e.Send(dst, next)
			if hops%5 == 0 {
				e.WriteBatch([]netio.Message{{Addr: nodeAddr(int(hops) % nodes), Buf: next}, {Addr: dst, Buf: next[:4]}})
			}
		})
	}
	for i, e := range eps {
		b := make([]byte, 4+i%7)
		binary.BigEndian.PutUint32(b, 20)
		e.Send(nodeAddr((i+1)%nodes), b)
	}
	n.AdvanceTo(5 * time.Millisecond)
	n.Partition(addrs(0, 10), addrs(10, 20))
	n.Pause(nodeAddr(25))
	n.AdvanceTo(20 * time.Millisecond)
	n.Heal()
	n.Resume(nodeAddr(25))
	for n.Step() {
	}
	return out.Bytes()
}

// addrs returns the addresses of nodes lo..hi-1.
func addrs(lo, hi int) []netip.AddrPort {
	var a []netip.AddrPort
	for i := lo; i < hi; i++ {
		a = append(a, nodeAddr(i))
	}
	return a
}

func TestNetworkDeterministic(t *testing.T) {
	a, b := trace(t, 42), trace(t, 42)
	if len(a) < 10000 {
		t.Fatalf("trace(42) has %d bytes: the scenario delivered too little to prove anything", len(a))
	}
	if !bytes.Equal(a, b) {
		t.Errorf("trace(42) differs between two runs: %d and %d bytes", len(a), len(b))
	}
	if c := trace(t, 43); bytes.Equal(a, c) {
		t.Errorf("trace(42) == trace(43): the seed changes nothing")
	}
}

func TestNetworkLinkEffects(t *testing.T) {
	const count = 10000
	tests := []struct {
		name  string
		link  netio.Link
		size  int
		check func(t *testing.T, s netio.NetworkStats, got []delivery)
	}{
		{
			name: "lossless", link: netio.Link{}, size: 10,
			check: func(t *testing.T, s netio.NetworkStats, got []delivery) {
				if len(got) != count || s.Delivered != count {
					t.Errorf("%d deliveries (Stats().Delivered %d), want %d", len(got), s.Delivered, count)
				}
			},
		},
		{
			name: "loss 1", link: netio.Link{Loss: 1}, size: 10,
			check: func(t *testing.T, s netio.NetworkStats, got []delivery) {
				if len(got) != 0 || s.DropLoss != count {
					t.Errorf("%d deliveries, DropLoss %d; want 0, %d", len(got), s.DropLoss, count)
				}
			},
		},
		{
			name: "loss 0.3", link: netio.Link{Loss: 0.3}, size: 10,
			check: func(t *testing.T, s netio.NetworkStats, got []delivery) {
				if s.DropLoss < 2700 || s.DropLoss > 3300 || len(got) != count-int(s.DropLoss) {
					t.Errorf("DropLoss %d, deliveries %d; want about 3000 and the rest", s.DropLoss, len(got))
				}
			},
		},
		{
			name: "duplicate 0.2", link: netio.Link{Duplicate: 0.2}, size: 10,
			check: func(t *testing.T, s netio.NetworkStats, got []delivery) {
				if s.Duplicated < 1800 || s.Duplicated > 2200 || len(got) != count+int(s.Duplicated) {
					t.Errorf("Duplicated %d, deliveries %d; want about 2000 and count plus them", s.Duplicated, len(got))
				}
			},
		},
		{
			name: "mtu", link: netio.Link{MTU: 9}, size: 10,
			check: func(t *testing.T, s netio.NetworkStats, got []delivery) {
				if len(got) != 0 || s.DropMTU != count {
					t.Errorf("%d deliveries, DropMTU %d; want 0, %d", len(got), s.DropMTU, count)
				}
			},
		},
		{
			name: "mtu exact", link: netio.Link{MTU: 10}, size: 10,
			check: func(t *testing.T, s netio.NetworkStats, got []delivery) {
				if len(got) != count {
					t.Errorf("%d deliveries of datagrams of exactly the MTU, want %d", len(got), count)
				}
			},
		},
		{
			name: "down", link: netio.Link{Down: true}, size: 10,
			check: func(t *testing.T, s netio.NetworkStats, got []delivery) {
				if len(got) != 0 || s.DropDown != count {
					t.Errorf("%d deliveries, DropDown %d; want 0, %d", len(got), s.DropDown, count)
				}
			},
		},
		{
			name: "reorder", link: netio.Link{Latency: netio.Latency{Base: time.Millisecond}, Reorder: 0.1, ReorderDelay: 10 * time.Millisecond}, size: 10,
			check: func(t *testing.T, s netio.NetworkStats, got []delivery) {
				inversions := 0
				for i := 1; i < len(got); i++ {
					if got[i].data < got[i-1].data {
						inversions++
					}
				}
				late := 0
				for _, d := range got {
					if d.at == 11*time.Millisecond {
						late++
					}
				}
				if s.Reordered < 800 || s.Reordered > 1200 || late != int(s.Reordered) || inversions == 0 {
					t.Errorf("Reordered %d, delivered late %d, inversions %d; want about 1000, equal, > 0", s.Reordered, late, inversions)
				}
			},
		},
		{
			name: "jitter reorders", link: netio.Link{Latency: netio.Latency{Base: time.Millisecond, Jitter: time.Millisecond}}, size: 10,
			check: func(t *testing.T, s netio.NetworkStats, got []delivery) {
				for i := 1; i < len(got); i++ {
					if got[i].at < got[i-1].at {
						t.Fatalf("delivery %d at %v after one at %v", i, got[i].at, got[i-1].at)
					}
					if got[i].at < time.Millisecond || got[i].at >= 2*time.Millisecond {
						t.Fatalf("delivery %d at %v, want in [1ms, 2ms)", i, got[i].at)
					}
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n := netio.NewNetwork(netio.NetworkConfig{Seed: 1, Link: tt.link})
			r := &recorder{net: n}
			a := r.listen(t, nodeAddr(1), nil)
			r.listen(t, nodeAddr(2), nil)
			for i := range count {
				b := fmt.Appendf(nil, "%0*d", tt.size, i)
				a.Send(nodeAddr(2), b)
			}
			for n.Step() {
			}
			tt.check(t, n.Stats(), r.got)
			checkConservation(t, n.Stats())
		})
	}
}

// checkConservation checks that every datagram is accounted for once.
func checkConservation(t testing.TB, s netio.NetworkStats) {
	t.Helper()
	if in, out := s.Sent+s.Duplicated, s.Delivered+s.Dropped()+s.Pending+s.Queued; in != out {
		t.Errorf("Sent %d + Duplicated %d != Delivered %d + Dropped %d + Pending %d + Queued %d (%+v)",
			s.Sent, s.Duplicated, s.Delivered, s.Dropped(), s.Pending, s.Queued, s)
	}
}

// Per-pair links are one-way; ClearLink restores the default.
func TestNetworkSetLink(t *testing.T) {
	n := netio.NewNetwork(netio.NetworkConfig{Link: netio.Link{Latency: netio.Latency{Base: time.Millisecond}}})
	r := &recorder{net: n}
	a := r.listen(t, nodeAddr(1), nil)
	b := r.listen(t, nodeAddr(2), nil)
	n.SetLink(nodeAddr(1), nodeAddr(2), netio.Link{Down: true})
	a.Send(nodeAddr(2), []byte("a→b down"))
	b.Send(nodeAddr(1), []byte("b→a up"))
	n.SetLink(nodeAddr(2), nodeAddr(1), netio.Link{Latency: netio.Latency{Base: 7 * time.Millisecond}})
	b.Send(nodeAddr(1), []byte("b→a slow"))
	n.ClearLink(nodeAddr(1), nodeAddr(2))
	a.Send(nodeAddr(2), []byte("a→b restored"))
	for n.Step() {
	}
	want := []delivery{
		{time.Millisecond, nodeAddr(2), nodeAddr(1), "b→a up"},
		{time.Millisecond, nodeAddr(1), nodeAddr(2), "a→b restored"},
		{7 * time.Millisecond, nodeAddr(2), nodeAddr(1), "b→a slow"},
	}
	if fmt.Sprint(r.got) != fmt.Sprint(want) {
		t.Errorf("deliveries = %v, want %v", r.got, want)
	}
	if s := n.Stats(); s.DropDown != 1 {
		t.Errorf("Stats().DropDown = %d, want 1", s.DropDown)
	}
}

func TestNetworkPartition(t *testing.T) {
	tests := []struct {
		name   string
		groups [][]netip.AddrPort
		// reach[i][j]: whether node i reaches node j (nodes 0..3)
		reach [4][4]bool
	}{
		{"none", nil, [4][4]bool{{true, true, true, true}, {true, true, true, true}, {true, true, true, true}, {true, true, true, true}}},
		{"two halves", [][]netip.AddrPort{addrs(0, 2), addrs(2, 4)}, [4][4]bool{{true, true, false, false}, {true, true, false, false}, {false, false, true, true}, {false, false, true, true}}},
		// Unlisted nodes (2, 3) form one group of their own.
		{"one isolated", [][]netip.AddrPort{addrs(0, 1)}, [4][4]bool{{true, false, false, false}, {false, true, true, true}, {false, true, true, true}, {false, true, true, true}}},
		// The last group an address is listed in wins.
		{"listed twice", [][]netip.AddrPort{addrs(0, 2), addrs(1, 2)}, [4][4]bool{{true, false, false, false}, {false, true, false, false}, {false, false, true, true}, {false, false, true, true}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n := netio.NewNetwork(netio.NetworkConfig{})
			eps := make([]*netio.Endpoint, 4)
			got := [4][4]bool{}
			for i := range eps {
				e, err := n.Listen(nodeAddr(i))
				if err != nil {
					t.Fatal(err)
				}
				e.SetHandler(func(from netip.AddrPort, b []byte) { got[b[0]][i] = true })
				eps[i] = e
			}
			n.Partition(tt.groups...)
			for i, e := range eps {
				for j := range eps {
					e.Send(nodeAddr(j), []byte{byte(i)})
				}
			}
			for n.Step() {
			}
			if got != tt.reach {
				t.Errorf("reachability = %v, want %v", got, tt.reach)
			}
			n.Heal()
			got = [4][4]bool{}
			eps[0].Send(nodeAddr(3), []byte{0})
			n.Step()
			if !got[0][3] {
				t.Errorf("after Heal, node 0 does not reach node 3")
			}
		})
	}
}

// Faults on one endpoint apply to what it sends and what it receives, not
// to traffic between others.
func TestNetworkEndpointFaults(t *testing.T) {
	n := netio.NewNetwork(netio.NetworkConfig{Seed: 3})
	r := &recorder{net: n}
	eps := []*netio.Endpoint{r.listen(t, nodeAddr(0), nil), r.listen(t, nodeAddr(1), nil), r.listen(t, nodeAddr(2), nil)}
	n.SetEndpointFaults(nodeAddr(0), netio.Faults{Loss: 1})
	eps[0].Send(nodeAddr(1), []byte("from faulty"))
	eps[1].Send(nodeAddr(0), []byte("to faulty"))
	eps[1].Send(nodeAddr(2), []byte("bystanders"))
	n.SetEndpointFaults(nodeAddr(1), netio.Faults{Delay: netio.Latency{Base: time.Second}})
	eps[2].Send(nodeAddr(1), []byte("slow receiver"))
	for n.Step() {
	}
	want := []delivery{{0, nodeAddr(1), nodeAddr(2), "bystanders"}, {time.Second, nodeAddr(2), nodeAddr(1), "slow receiver"}}
	if fmt.Sprint(r.got) != fmt.Sprint(want) {
		t.Errorf("deliveries = %v, want %v", r.got, want)
	}
	if s := n.Stats(); s.DropFault != 2 {
		t.Errorf("Stats().DropFault = %d, want 2", s.DropFault)
	}
	n.SetEndpointFaults(nodeAddr(0), netio.Faults{}) // cleared
	eps[0].Send(nodeAddr(2), []byte("healed"))
	n.Step()
	if last := r.got[len(r.got)-1]; last.data != "healed" {
		t.Errorf("after clearing faults the last delivery is %q, want \"healed\"", last.data)
	}
}

// A paused endpoint queues deliveries (bounded) and gets them, in order,
// at Resume.
func TestNetworkPauseResume(t *testing.T) {
	n := netio.NewNetwork(netio.NetworkConfig{QueueLimit: 3, Link: netio.Link{Latency: netio.Latency{Base: time.Millisecond}}})
	r := &recorder{net: n}
	a := r.listen(t, nodeAddr(1), nil)
	b := r.listen(t, nodeAddr(2), nil)
	n.Pause(nodeAddr(2))
	for i := range 5 {
		a.Send(nodeAddr(2), []byte{'0' + byte(i)})
	}
	n.AdvanceTo(10 * time.Millisecond)
	if len(r.got) != 0 {
		t.Fatalf("a paused endpoint's handler ran %d times", len(r.got))
	}
	if s := n.Stats(); s.Queued != 3 || s.DropQueueFull != 2 {
		t.Errorf("while paused Stats() = Queued %d, DropQueueFull %d; want 3, 2", s.Queued, s.DropQueueFull)
	}
	n.Resume(nodeAddr(2))
	want := []delivery{{10 * time.Millisecond, nodeAddr(1), nodeAddr(2), "0"}, {10 * time.Millisecond, nodeAddr(1), nodeAddr(2), "1"}, {10 * time.Millisecond, nodeAddr(1), nodeAddr(2), "2"}}
	if fmt.Sprint(r.got) != fmt.Sprint(want) {
		t.Errorf("deliveries at Resume = %v, want %v", r.got, want)
	}
	if s := b.Stats(); s.DropBufferFull != 2 || s.DatagramsIn != 3 {
		t.Errorf("endpoint Stats() = DropBufferFull %d, DatagramsIn %d; want 2, 3", s.DropBufferFull, s.DatagramsIn)
	}
	checkConservation(t, n.Stats())
	n.Pause(nodeAddr(99)) // nobody there: no effect, no panic
	n.Resume(nodeAddr(99))
}

// A closed endpoint's address can be listened on again, and datagrams in
// flight reach the new endpoint; datagrams to nobody are counted.
func TestNetworkRestart(t *testing.T) {
	n := netio.NewNetwork(netio.NetworkConfig{Link: netio.Link{Latency: netio.Latency{Base: time.Millisecond}}})
	r := &recorder{net: n}
	a := r.listen(t, nodeAddr(1), nil)
	b := r.listen(t, nodeAddr(2), nil)
	if _, err := n.Listen(nodeAddr(2)); !errors.Is(err, netio.ErrAddrInUse) {
		t.Errorf("Listen(open address) error = %v, want ErrAddrInUse", err)
	}
	a.Send(nodeAddr(2), []byte("in flight"))
	b.Close()
	a.Send(nodeAddr(2), []byte("to nobody"))
	r.listen(t, nodeAddr(2), nil)
	for n.Step() {
	}
	want := []delivery{{time.Millisecond, nodeAddr(1), nodeAddr(2), "in flight"}}
	if fmt.Sprint(r.got) != fmt.Sprint(want) {
		t.Errorf("deliveries = %v, want %v", r.got, want)
	}
	s := n.Stats()
	if s.DropUnreachable != 1 || s.Endpoints != 2 {
		t.Errorf("Stats() = DropUnreachable %d, Endpoints %d; want 1, 2", s.DropUnreachable, s.Endpoints)
	}
	// Closed while in flight, not reopened.
	a.Send(nodeAddr(1), []byte("self"))
	a.Close()
	n.Step()
	if s := n.Stats(); s.DropClosed != 1 {
		t.Errorf("Stats().DropClosed = %d, want 1", s.DropClosed)
	}
	if err := a.Close(); err != nil {
		t.Errorf("second Close() = %v, want nil", err)
	}
	if n, err := a.WriteBatch([]netio.Message{{Addr: nodeAddr(2), Buf: []byte("x")}}); n != 0 || !errors.Is(err, netio.ErrClosed) {
		t.Errorf("WriteBatch after Close = %d, %v, want 0, ErrClosed", n, err)
	}
}

func TestNetworkListen(t *testing.T) {
	n := netio.NewNetwork(netio.NetworkConfig{})
	if _, err := n.Listen(netip.AddrPort{}); !errors.Is(err, netio.ErrInvalidAddr) {
		t.Errorf("Listen(zero) error = %v, want ErrInvalidAddr", err)
	}
	ip := netip.MustParseAddr("10.0.0.1")
	e1, err := n.Listen(netip.AddrPortFrom(ip, 0))
	if err != nil {
		t.Fatal(err)
	}
	e2, err := n.Listen(netip.AddrPortFrom(ip, 0))
	if err != nil {
		t.Fatal(err)
	}
	if p1, p2 := e1.LocalAddr().Port(), e2.LocalAddr().Port(); p1 < 49152 || p2 < 49152 || p1 == p2 {
		t.Errorf("Listen(port 0) twice gave ports %d and %d, want distinct ephemeral ports", p1, p2)
	}
	// A v4-mapped address names the same endpoint as the plain one.
	mapped := netip.AddrPortFrom(netip.AddrFrom16(ip.As16()), e1.LocalAddr().Port())
	if _, err := n.Listen(mapped); !errors.Is(err, netio.ErrAddrInUse) {
		t.Errorf("Listen(%v) while %v is open: error = %v, want ErrAddrInUse", mapped, e1.LocalAddr(), err)
	}
}
