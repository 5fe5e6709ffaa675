package engine_test

import (
	"bytes"
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/hearsay-io/hearsay/codec"
	"github.com/hearsay-io/hearsay/engine"
	"github.com/hearsay-io/hearsay/netio"
)

// The attacker's own socket (conn) plays a member, as a compromised one
// would: it joins, proving its address as any member does by echoing the
// token of a node's Retry, captures what the cluster sends it, answers the
// cluster's pings while told to, and obtains the tokens that let its
// requests be answered in full. A node answers an address that has not
// proven itself with at most as many bytes as it was sent; the flood's
// sockets never prove theirs, so what the cluster sends them measures
// reflection, which must stay at most 1 (checkReflection).

// read handles what the cluster sends to the impersonated member.
func (a *attacker) read() {
	msgs := netio.NewMessages(64, 2048)
	open := make([]byte, 0, 2048)
	for {
		n, err := a.conn.ReadBatch(msgs)
		if err != nil {
			return
		}
		a.received.Add(uint64(n))
		for _, m := range msgs[:n] {
			open = a.look(m.Addr, m.Buf[:m.N], open)
		}
	}
}

// look handles one datagram to the impersonated member: it keeps a copy
// while capturing, keeps the token of a Retry, answers a ping to self while
// told to, and counts the datagram by type. It returns the scratch buffer
// it opened sealed datagrams in.
func (a *attacker) look(from netip.AddrPort, b, open []byte) []byte {
	hv, err := codec.NewHeaderView(b)
	if err != nil {
		return open
	}
	t := hv.Type()
	a.mu.Lock()
	if a.capture && a.byType[t] < 64 {
		a.byType[t]++
		a.captured = append(a.captured, bytes.Clone(b))
	}
	a.mu.Unlock()
	defer func() {
		if int(t) < numSocks {
			a.got[t].Add(1)
		}
	}()
	plain := b
	if a.kr != nil {
		p, err := codec.OpenFor(open[:0], b, a.kr, a.self)
		if err != nil {
			return open
		}
		plain, open = p, p[:0]
	}
	h, body, err := codec.Parse(plain)
	if err != nil {
		return open // compressed: nothing the attacker reads
	}
	var rd codec.Reader
	rd.Reset(int(h.Sections), body)
	for rd.Next() {
		for i := range rd.Count() {
			switch rd.Type() {
			case codec.RecRetry:
				if r, _, err := codec.ParseRetry(rd.Record(i)); err == nil && r.Token != 0 {
					a.mu.Lock()
					a.tokens[from] = codec.Echo{Token: r.Token, Epoch: r.Epoch}
					a.mu.Unlock()
				}
			case codec.RecPing:
				if p, _, err := codec.ParsePing(rd.Record(i)); err == nil && p.Target == a.self && a.answer.Load() {
					a.ack(from, p.Seq)
				}
			}
		}
	}
	return open
}

// ack answers a ping to self.
func (a *attacker) ack(to netip.AddrPort, seq uint32) {
	var bld codec.Builder
	bld.Reset(make([]byte, 0, 128), 128, a.header(codec.MsgAck, a.self, a.cluster))
	bld.AddAck(codec.Ack{Seq: seq, Target: a.self})
	a.conn.WriteBatch([]netio.Message{{Addr: to, Buf: a.sealTo(bld.Finish(), to)}})
}

// impersonate makes the cluster talk to the attacker, so that it can
// capture real traffic to replay: it joins as a member at its own address
// (echoing the token of the Retry its first Join gets) and answers the
// pings it is sent, so that the cluster sends it heartbeats, probes and
// gossip; and it sends requests that the cluster answers. It needs the
// cluster's key when the cluster has one. When it returns, the attacker no
// longer answers pings: the cluster declares the member dead in time.
func (a *attacker) impersonate(t testing.TB, beats int, d time.Duration) {
	t.Helper()
	a.mu.Lock()
	a.capture = true
	a.mu.Unlock()
	a.answer.Store(true)
	defer a.answer.Store(false)
	start := time.Now()
	targets := a.targets[:min(5, len(a.targets))]
	a.join(t, targets, d)
	var msgs []netio.Message
	for i, to := range targets {
		msgs = append(msgs, netio.Message{Addr: to, Buf: a.sealTo(a.requestDatagram(i), to)})
	}
	if _, err := a.conn.WriteBatch(msgs); err != nil {
		t.Fatal(err)
	}
	for {
		a.mu.Lock()
		hb, total := a.byType[codec.MsgHeartbeat], len(a.captured)
		a.mu.Unlock()
		if hb >= beats && total >= 32 || time.Since(start) > d {
			break
		}
		<-time.After(10 * time.Millisecond) // polling interval, bounded by d
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	a.capture = false
	if len(a.captured) == 0 {
		t.Fatalf("captured no datagram of the cluster in %v", d)
	}
	var kinds []string
	for mt := range codec.MsgType(numSocks) {
		if n := a.byType[mt]; n > 0 {
			kinds = append(kinds, fmt.Sprintf("%v %d", mt, n))
		}
	}
	t.Logf("captured %d datagrams of the cluster in %v: %s",
		len(a.captured), time.Since(start).Round(time.Millisecond), strings.Join(kinds, ", "))
}

// send writes datagrams from the attacker's own socket to to.
func (a *attacker) send(t testing.TB, to netip.AddrPort, bufs ...[]byte) {
	t.Helper()
	msgs := make([]netio.Message, len(bufs))
	for i, b := range bufs {
		msgs[i] = netio.Message{Addr: to, Buf: b}
	}
	if _, err := a.conn.WriteBatch(msgs); err != nil {
		t.Fatal(err)
	}
}

// awaitToken waits until the node at from has sent the attacker's own
// socket a Retry with a token, and returns it as an Echo.
func (a *attacker) awaitToken(t testing.TB, from netip.AddrPort, d time.Duration) codec.Echo {
	t.Helper()
	var e codec.Echo
	waitFor(t, d, fmt.Sprintf("a token from %v", from), func() (bool, string) {
		a.mu.Lock()
		defer a.mu.Unlock()
		var ok bool
		e, ok = a.tokens[from]
		return ok, "no Retry with a token"
	})
	return e
}

// joinDatagram builds a sealed Join for the impersonated member at the
// attacker's own socket, echoing e when given.
func (a *attacker) joinDatagram(to netip.AddrPort, e *codec.Echo) []byte {
	var bld codec.Builder
	bld.Reset(make([]byte, 0, a.limit), a.limit, a.header(codec.MsgJoin, a.self, a.cluster))
	if e != nil {
		bld.AddEcho(*e)
	}
	m := codec.Member{ID: a.self, Generation: 1, State: codec.StateAlive, Addr: a.conn.LocalAddr()}
	bld.AddMember(&m)
	return a.sealTo(bld.Finish(), to)
}

// join makes the impersonated member a member of the nodes at targets, at
// the attacker's own socket: each answers its first Join with a Retry, and
// the Join that echoes the Retry's token with a JoinReply, having taken
// the member into its table. A member at the address a node holds for it
// is a source the node trusts with new members. join returns each node's
// token, which also validates the socket's other requests.
func (a *attacker) join(t testing.TB, targets []netip.AddrPort, d time.Duration) []codec.Echo {
	t.Helper()
	replies := a.got[codec.MsgJoinReply].Load()
	for _, to := range targets {
		a.send(t, to, a.joinDatagram(to, nil))
	}
	echoes := make([]codec.Echo, len(targets))
	for i, to := range targets {
		echoes[i] = a.awaitToken(t, to, d)
		a.send(t, to, a.joinDatagram(to, &echoes[i]))
	}
	waitFor(t, d, "the nodes answer the validated joins", func() (bool, string) {
		got := a.got[codec.MsgJoinReply].Load() - replies
		return got >= uint64(len(targets)), fmt.Sprintf("%d join replies of %d", got, len(targets))
	})
	return echoes
}

// shardRequest builds a plain shard request from a forged sender for refs
// shards, echoing e.
func (a *attacker) shardRequest(e codec.Echo, refs int) []byte {
	var bld codec.Builder
	bld.Reset(make([]byte, 0, a.limit), a.limit, a.header(codec.MsgShardRequest, a.fakeID(), a.cluster))
	bld.AddEcho(e)
	for i := range refs {
		bld.AddShardRef(codec.ShardRef{Shard: uint32(i)})
	}
	return bld.Finish()
}

// syncShard builds a plain Sync echoing e whose one digest names shard
// with a sum no table has: the node asks the sender for the shard.
func (a *attacker) syncShard(e codec.Echo, shard int) []byte {
	var bld codec.Builder
	bld.Reset(make([]byte, 0, a.limit), a.limit, a.header(codec.MsgSync, a.self, a.cluster))
	bld.AddEcho(e)
	bld.AddDigest(codec.Digest{Level: uint8(a.levels), Index: uint16(shard), Count: 1, Sum: a.rng.Uint64() | 1})
	return bld.Finish()
}

// prime delivers every captured datagram once to every node but its
// sender, from the flood's sockets, before the flood. A sealed node drops
// a datagram as a replay when it saw the datagram, or its sender's later
// ones past the replay window; the cluster sent these to the attacker
// alone, so a node that never saw one takes it, once, as new. Priming plays
// the path that would have carried each datagram to every node: from then
// on, every copy the flood sends is a replay. Kernel drops would leave a
// node that never saw a datagram, so priming is repeated until a round has
// none.
func (a *attacker) prime(t testing.TB, nodes []*engine.Node, d time.Duration) {
	t.Helper()
	for round := 1; ; round++ {
		_, before := sumStats(nodes)
		want := make([]uint64, len(nodes))
		var bySock [numSocks][]netio.Message
		for _, tp := range a.templates[clReplay] {
			hv, _ := codec.NewHeaderView(tp.b)
			for i, to := range a.targets {
				if a.ids[i] != engine.ID(hv.Sender()) {
					s := declared(tp.b)
					bySock[s] = append(bySock[s], netio.Message{Addr: to, Buf: tp.b})
					want[i]++
				}
			}
		}
		for s, ms := range bySock {
			for len(ms) > 0 {
				w, err := a.socks[s].WriteBatch(ms[:min(64, len(ms))])
				if err != nil {
					t.Fatal(err)
				}
				ms = ms[w:]
			}
		}
		var dropped uint64
		waitFor(t, d, fmt.Sprintf("priming round %d is read", round), func() (bool, string) {
			_, per := sumStats(nodes)
			dropped = 0
			for i, s := range per {
				drop := s.Transport.DropBufferFull - before[i].Transport.DropBufferFull
				dropped += drop
				got := s.Transport.DatagramsIn - before[i].Transport.DatagramsIn
				if got+drop < want[i] || s.DatagramsIn != s.Transport.DatagramsIn {
					return false, fmt.Sprintf("node %d: %d datagrams delivered and %d dropped of %d primed; %d read",
						i, got, drop, want[i], s.DatagramsIn-before[i].DatagramsIn)
				}
			}
			return true, ""
		})
		if dropped == 0 {
			t.Logf("primed %d nodes with %d captured datagrams in %d round(s)", len(nodes), len(a.templates[clReplay]), round)
			return
		}
		if round == 3 {
			t.Fatalf("priming: %d kernel drops in each of %d rounds", dropped, round)
		}
	}
}

// reflection is what the flood's sockets sent and were sent back, by
// declared message type.
type reflection struct {
	sentBytes, sentN, backBytes, backN [numSocks]uint64
}

// reflected returns the attacker's reflection figures so far.
func (a *attacker) reflected() reflection {
	var r reflection
	r.sentBytes, r.sentN = a.sentBytes, a.sentN
	for i := range numSocks {
		r.backBytes[i], r.backN[i] = a.backBytes[i].Load(), a.backN[i].Load()
	}
	return r
}

// since returns the figures from r0 to r.
func (r reflection) since(r0 reflection) reflection {
	for i := range numSocks {
		r.sentBytes[i] -= r0.sentBytes[i]
		r.sentN[i] -= r0.sentN[i]
		r.backBytes[i] -= r0.backBytes[i]
		r.backN[i] -= r0.backN[i]
	}
	return r
}

// typeName names a flood socket by the message type it sends.
func typeName(i int) string {
	if i == 0 {
		return "no header"
	}
	return codec.MsgType(i).String()
}

// checkReflection reports the reflection factor of each declared type
// the flood sent and overall, and fails t for a type whose answers were
// larger than what was sent: the flood's sockets never prove their
// addresses, so a node may answer them with at most the bytes it got.
func checkReflection(t *testing.T, r reflection, keyed bool) {
	t.Helper()
	var sent, back uint64
	for i := range numSocks {
		if r.sentN[i] == 0 {
			continue
		}
		sent += r.sentBytes[i]
		back += r.backBytes[i]
		f := float64(r.backBytes[i]) / float64(r.sentBytes[i])
		t.Logf("reflection (keys %v) %-14s %8d datagrams %10d bytes sent, %7d datagrams %9d bytes back: factor %.4f",
			keyed, typeName(i), r.sentN[i], r.sentBytes[i], r.backN[i], r.backBytes[i], f)
		if r.backBytes[i] > r.sentBytes[i] {
			t.Errorf("reflection of %s: the cluster sent the attacker's unvalidated address %d bytes for %d (factor %.3f), want at most 1",
				typeName(i), r.backBytes[i], r.sentBytes[i], f)
		}
	}
	if sent > 0 {
		t.Logf("reflection (keys %v) overall: %d bytes sent, %d bytes back: factor %.4f", keyed, sent, back, float64(back)/float64(sent))
	}
}
