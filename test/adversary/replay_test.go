//go:build linux

package adversary

import (
	"fmt"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hearsay-io/hearsay/codec"
	"github.com/hearsay-io/hearsay/engine"
)

const (
	captureFor   = 1500 * time.Millisecond
	captureMax   = 300                    // datagrams kept per capture
	replaySettle = 700 * time.Millisecond // time for the nodes to read a step's datagrams
	replayLater  = 3 * time.Second        // the delay of the late replay
)

// insider is a member that joined a sealed cluster with its key, at the
// address of one of the attacker's sockets: it answers the pings it is
// sent (so that the cluster talks to it) and keeps copies of what it
// receives. What the cluster sends it is sealed for its member ID, and it
// opens it as such (codec.OpenFor); what it sends a node is sealed for
// that node's ID, but its first Join, sealed for no one as a first contact
// with a seed is.
type insider struct {
	a    *attacker
	sock *udpSock
	id   uint64
	gen  uint64

	answer  atomic.Bool
	mu      sync.Mutex
	capture bool
	kept    []packet
	tokens  map[netip.AddrPort]codec.Echo
	open    []byte
}

func newInsider(t *testing.T, a *attacker) *insider {
	in := &insider{a: a, id: a.fakeID(), gen: uint64(time.Now().UnixNano()), tokens: map[netip.AddrPort]codec.Echo{}}
	in.sock = listenUDP(t, netip.MustParseAddr("127.0.0.1"), in.onRead)
	return in
}

// onRead keeps a copy while capturing, keeps the tokens of Retries, and
// answers pings of the insider.
func (in *insider) onRead(from netip.AddrPort, b []byte) {
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.capture && len(in.kept) < captureMax {
		if hv, err := codec.NewHeaderView(b); err == nil && hv.Flags()&codec.FlagCompressed == 0 {
			in.kept = append(in.kept, packet{src: from, dst: in.sock.addr, payload: append([]byte(nil), b...), at: time.Now()})
		}
	}
	plain := b
	if in.a.kr != nil {
		p, err := codec.OpenFor(in.open[:0], b, in.a.kr, in.id)
		if err != nil {
			return
		}
		plain, in.open = p, p[:0]
	}
	h, body, err := codec.Parse(plain)
	if err != nil {
		return
	}
	var rd codec.Reader
	rd.Reset(int(h.Sections), body)
	for rd.Next() {
		for i := range rd.Count() {
			switch rd.Type() {
			case codec.RecRetry:
				if r, _, err := codec.ParseRetry(rd.Record(i)); err == nil && r.Token != 0 {
					in.tokens[from] = codec.Echo{Token: r.Token, Epoch: r.Epoch}
				}
			case codec.RecPing:
				if p, _, err := codec.ParsePing(rd.Record(i)); err == nil && p.Target == in.id && in.answer.Load() {
					in.sock.send(from, in.a.datagram(from, in.header(codec.MsgAck), func(b *codec.Builder) {
						b.AddAck(codec.Ack{Seq: p.Seq, Target: in.id})
					}))
				}
			}
		}
	}
}

func (in *insider) header(t codec.MsgType) codec.Header {
	return codec.Header{Type: t, Sender: in.id, Generation: in.gen}
}

// join joins the cluster through n: a Join sealed for no one, as to a
// seed whose ID is not known, then the Join again, sealed for n, with the
// token of the Retry it gets (sealed for the insider), and waits until n
// lists the insider alive.
func (in *insider) join(t *testing.T, n *node) {
	t.Helper()
	in.answer.Store(true)
	joinDatagram := func(e *codec.Echo) []byte {
		receiver := uint64(0)
		if e != nil {
			receiver = uint64(n.id)
		}
		return in.a.datagramFor(receiver, in.header(codec.MsgJoin), func(b *codec.Builder) {
			if e != nil {
				b.AddEcho(*e)
			}
			b.AddMember(&codec.Member{ID: in.id, Generation: in.gen, State: codec.StateAlive, Addr: in.sock.addr})
		})
	}
	deadline := time.Now().Add(5 * time.Second)
	in.sock.send(n.addr, joinDatagram(nil))
	for {
		in.mu.Lock()
		e, ok := in.tokens[n.addr]
		in.mu.Unlock()
		if ok {
			in.sock.send(n.addr, joinDatagram(&e))
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("insider: %v sent no Retry with a token for the Join", n)
		}
		time.Sleep(20 * time.Millisecond)
	}
	for {
		ms, err := n.members()
		if err == nil {
			if m, ok := findMember(ms, engine.ID(in.id)); ok && m.State == "alive" {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("insider: %v does not list the insider alive 5 s after its validated Join", n)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// captured stops capturing and returns what the insider kept.
func (in *insider) captured() []packet {
	in.mu.Lock()
	defer in.mu.Unlock()
	in.capture = false
	return in.kept
}

// replayStep is one round of replays and what the nodes did with them.
type replayStep struct {
	name     string
	want     string // the drop every copy must be counted in: "replay" or "auth"
	sent     uint64
	sentB    uint64  // bytes sent
	replay   float64 // dropped as replays
	auth     float64 // dropped as failing authentication (sealed for another receiver)
	self     float64 // dropped as the receiver's own
	unopened float64 // compressed, dropped as unsolicited before opening (see below)
	kernel   float64 // dropped by the receiving socket (buffer full)
	backN    uint64
	back     uint64 // bytes back to the replaying socket
	accepted float64
}

// TestReplay captures sealed datagrams of a cluster and sends them again:
// to the node each was for (from the attacker's socket, and as root in the
// original sender's name), at once and later, and to the nodes it was not
// for (redirected), twice. A sealed datagram is bound to its receiver
// (codec.SealFor), so a copy sent to the node it was for must be dropped as
// a replay (hearsay_drops_total{cause="replay"}), and one redirected to
// another node fails authentication there
// (hearsay_drops_total{cause="auth"}): replays taken as new = 0, and none
// answered. Datagrams are captured between nodes off loopback as root,
// and in any case by an insider that joined with the key and keeps what
// the cluster sends it (a member, or anyone on its path, can record
// those). The exception is a Join or Sync sealed for no one (a node's
// first contact with a seed whose ID it does not know): it opens at any
// node, which answers it as from an address that has not proven itself;
// redirected, such datagrams go in a step of their own, where the answers
// must stay within the bytes sent and a copy not dropped is counted.
func TestReplay(t *testing.T) {
	suiteMode(t)
	c := startCluster(t, true)
	a := newAttacker(t, c, true, 3)
	byAddr := map[netip.AddrPort]*node{}
	for _, n := range c.nodes {
		byAddr[n.addr] = n
	}
	var steps []replayStep

	// run sends every datagram of plan to its node, from a socket of the
	// attacker or, with sp, in the datagram's original sender's name, and
	// checks that the nodes dropped every one (as a replay, or failing
	// authentication, as want says) and answered none. With want "", the
	// plan holds datagrams sealed for no one, which any node opens: the
	// answers must stay within what was sent.
	run := func(t *testing.T, name, want string, sp *spoofer, plan []replayed) {
		t.Helper()
		if len(plan) == 0 {
			return
		}
		sock := listenUDP(t, netip.MustParseAddr("127.0.0.1"), nil)
		sentTo := make([]uint64, len(c.nodes))
		s := replayStep{name: name, want: want}
		// A compressed datagram (shard data) that no request of the
		// receiver asked for is refused before it is opened (engine
		// receive: DropUnsolicited), so it never reaches the replay
		// window or the seal; it is dropped all the same. At most that
		// many unsolicited drops count as drops.
		compressed := 0.0
		for _, r := range plan {
			if hv, err := codec.NewHeaderView(r.p.payload); err == nil && hv.Flags()&codec.FlagCompressed != 0 {
				compressed++
			}
		}
		m0 := c.allMetrics(t)
		for _, r := range plan {
			if sp != nil {
				if err := sp.send(r.p.src, r.to.addr, r.p.payload); err != nil {
					t.Fatalf("spoofing: %v", err)
				}
			} else {
				sock.send(r.to.addr, r.p.payload)
			}
			sentTo[r.to.i]++
			s.sentB += uint64(len(r.p.payload))
		}
		time.Sleep(replaySettle)
		m1 := c.allMetrics(t)
		for _, n := range c.nodes {
			s.sent += sentTo[n.i]
			s.replay += m1[n.i].sub(m0[n.i], `hearsay_drops_total{cause="replay"}`)
			s.auth += m1[n.i].sub(m0[n.i], `hearsay_drops_total{cause="auth"}`)
			s.self += m1[n.i].sub(m0[n.i], `hearsay_drops_total{cause="self"}`)
			s.unopened += m1[n.i].sub(m0[n.i], `hearsay_drops_total{cause="unsolicited"}`)
			s.kernel += m1[n.i].sub(m0[n.i], `hearsay_transport_drops_total{cause="buffer_full"}`)
		}
		// Every other drop, named, so that a copy taken as new can be
		// told from one dropped for a cause this step does not expect.
		other := map[string]float64{}
		for _, n := range c.nodes {
			for k, v := range m1[n.i] {
				if !strings.HasPrefix(k, "hearsay_drops_total{") && !strings.HasPrefix(k, "hearsay_transport_drops_total{") &&
					k != "hearsay_refused_implausible_total" {
					continue
				}
				switch k {
				case `hearsay_drops_total{cause="replay"}`, `hearsay_drops_total{cause="auth"}`, `hearsay_drops_total{cause="self"}`,
					`hearsay_drops_total{cause="unsolicited"}`, `hearsay_transport_drops_total{cause="buffer_full"}`:
					continue
				}
				if d := v - m0[n.i][k]; d != 0 {
					other[k] += d
				}
			}
		}
		s.backN, s.back = sock.back()
		s.unopened = min(s.unopened, compressed)
		s.accepted = float64(s.sent) - s.replay - s.auth - s.self - s.kernel - s.unopened
		steps = append(steps, s)
		if s.kernel > 0 {
			t.Errorf("%s: the nodes' sockets dropped %v datagrams: what the nodes did with them is unknown", name, s.kernel)
		}
		switch want {
		case "replay", "auth":
			if got := map[string]float64{"replay": s.replay, "auth": s.auth}[want]; got+s.unopened != float64(s.sent) {
				t.Errorf("replayed %s: %d sent, %v dropped as %s (%v as replays, %v failing authentication): %v taken as new; other drops over every node: %v",
					name, s.sent, got, want, s.replay, s.auth, s.accepted, other)
			}
			if s.back > 0 {
				t.Errorf("replayed %s: the nodes answered the replays with %d datagrams (%d bytes)", name, s.backN, s.back)
			}
		default:
			if s.back > s.sentB {
				t.Errorf("replayed %s: the nodes answered %d bytes of datagrams sealed for no one with %d bytes, from an address that never proved itself",
					name, s.sentB, s.back)
			}
		}
	}
	// unbound reports whether a captured datagram to the member rcpt was
	// sealed for no one (a first Join or Sync to a seed) rather than for
	// it.
	unbound := func(p packet, rcpt engine.ID) bool {
		if _, err := codec.OpenFor(nil, p.payload, a.kr, uint64(rcpt)); err == nil {
			return false
		}
		_, err := codec.OpenFor(nil, p.payload, a.kr, 0)
		return err == nil
	}
	// others plans ps for every node but the packet's source and its
	// recipient (rcpt), split into the packets sealed for their recipient
	// and those sealed for no one.
	others := func(ps []packet, rcpt func(p packet) (netip.AddrPort, engine.ID)) (bound, free []replayed) {
		for _, p := range ps {
			dst, id := rcpt(p)
			for _, n := range c.nodes {
				if n.addr == p.src || n.addr == dst {
					continue
				}
				if unbound(p, id) {
					free = append(free, replayed{p, n})
				} else {
					bound = append(bound, replayed{p, n})
				}
			}
		}
		return bound, free
	}

	// The cluster's own traffic, off loopback: datagrams between nodes.
	t.Run("captured between nodes", func(t *testing.T) {
		sn, err := openSniffer(t)
		needRaw(t, "capturing the cluster's datagrams off loopback", err)
		ps, err := sn.capture(captureFor, captureMax, func(p *packet) bool {
			src, dst := byAddr[p.src], byAddr[p.dst]
			if src == nil || dst == nil {
				return false
			}
			hv, err := codec.NewHeaderView(p.payload)
			return err == nil && hv.Flags()&codec.FlagSealed != 0 && hv.Flags()&codec.FlagCompressed == 0
		})
		sn.close()
		if err != nil {
			t.Fatal(err)
		}
		if len(ps) < 20 {
			t.Fatalf("captured %d datagrams between nodes in %v, want at least 20", len(ps), captureFor)
		}
		rcpt := func(p packet) (netip.AddrPort, engine.ID) { return p.dst, byAddr[p.dst].id }
		free := 0
		for _, p := range ps {
			if _, id := rcpt(p); unbound(p, id) {
				free++
			}
		}
		t.Logf("captured %d sealed datagrams between nodes in %v (%d sealed for no one; %d GSO runs split into their datagrams): %s", len(ps), captureFor, free, sn.runs, typeCounts(ps))
		sp, _ := openSpoofer(t)
		toRecipient := plan(ps, func(p packet) []*node { return []*node{byAddr[p.dst]} })
		run(t, "to its recipient, from the attacker", "replay", nil, toRecipient)
		run(t, "to its recipient, in its sender's name", "replay", sp, toRecipient)
		time.Sleep(replayLater)
		run(t, fmt.Sprintf("to its recipient, %v later", replayLater), "replay", nil, toRecipient)
		redirect, redirectFree := others(ps, rcpt)
		ago := time.Since(ps[0].at).Round(100 * time.Millisecond)
		run(t, fmt.Sprintf("to the other nodes (%v after capture)", ago), "auth", nil, redirect)
		run(t, "to the other nodes, second copy", "auth", nil, redirect)
		run(t, "sealed for no one, to the other nodes", "", nil, redirectFree)
	})

	// What the cluster sends a member: an insider joins with the key.
	t.Run("captured by an insider", func(t *testing.T) {
		in := newInsider(t, a)
		in.mu.Lock()
		in.capture = true
		in.mu.Unlock()
		in.join(t, c.nodes[0])
		time.Sleep(captureFor)
		in.answer.Store(false)
		ps := in.captured()
		if len(ps) < 10 {
			t.Fatalf("the insider captured %d datagrams in %v, want at least 10", len(ps), captureFor)
		}
		t.Logf("the insider captured %d sealed datagrams in %v: %s", len(ps), captureFor, typeCounts(ps))
		rcpt := func(p packet) (netip.AddrPort, engine.ID) { return p.dst, engine.ID(in.id) }
		redirect, redirectFree := others(ps, rcpt)
		if len(redirectFree) > 0 {
			t.Errorf("the cluster sent the insider, a member whose ID it knows, %d datagrams sealed for no one", len(redirectFree))
		}
		ago := time.Since(ps[0].at).Round(100 * time.Millisecond)
		run(t, fmt.Sprintf("insider's, to every node but the sender (%v after capture)", ago), "auth", nil, redirect)
		run(t, "insider's, to every node but the sender, second copy", "auth", nil, redirect)
		time.Sleep(replayLater)
		run(t, fmt.Sprintf("insider's, to every node but the sender, %v later", replayLater), "auth", nil, redirect)
	})

	tb := newTable("replayed", "must drop as", "sent", "dropped as replay", "dropped as auth", "dropped as own", "compressed, refused unopened", "kernel drops", "taken as new", "answers (bytes)")
	for _, s := range steps {
		want := s.want
		if want == "" {
			want = "(answers ≤ sent)"
		}
		tb.row(s.name, want, fmt.Sprint(s.sent), fmt.Sprint(s.replay), fmt.Sprint(s.auth), fmt.Sprint(s.self), fmt.Sprint(s.unopened), fmt.Sprint(s.kernel),
			fmt.Sprint(s.accepted), fmt.Sprintf("%d (%d)", s.backN, s.back))
	}
	t.Logf("replays of captured sealed datagrams (taken as new = sent - dropped; answers: datagrams the replaying socket got back)%s", tb)
}

// replayed is one datagram to send again and where.
type replayed struct {
	p  packet
	to *node
}

// plan lists every packet once for each node to returns.
func plan(ps []packet, to func(p packet) []*node) []replayed {
	var out []replayed
	for _, p := range ps {
		for _, n := range to(p) {
			out = append(out, replayed{p, n})
		}
	}
	return out
}

// typeCounts summarizes packets by declared message type.
func typeCounts(ps []packet) string {
	n := map[codec.MsgType]int{}
	for _, p := range ps {
		if hv, err := codec.NewHeaderView(p.payload); err == nil {
			n[hv.Type()]++
		}
	}
	s := ""
	for t := codec.MsgType(1); t <= codec.MsgRetry; t++ {
		if n[t] > 0 {
			s += fmt.Sprintf("%v %d, ", t, n[t])
		}
	}
	if s == "" {
		return "none"
	}
	return s[:len(s)-2]
}
