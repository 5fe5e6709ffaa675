package engine_test

import (
	"fmt"
	"net/netip"
	"testing"
	"time"

	"github.com/hearsay-io/hearsay/codec"
	"github.com/hearsay-io/hearsay/engine"
	"github.com/hearsay-io/hearsay/netio"
)

// The attacker's side of address validation: a node answers an address
// that has not proven itself with no more bytes than it was sent, and
// with a Retry carrying a token where the answer would be larger. The
// attacker's own socket (conn) proves itself as any member does, by
// echoing the token; the flood's sockets never do, so what the cluster
// sends them is bounded by what they send (reflection).

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
func (a *attacker) joinDatagram(e *codec.Echo) []byte {
	var bld codec.Builder
	bld.Reset(make([]byte, 0, a.limit), a.limit, a.header(codec.MsgJoin, a.self, a.cluster))
	if e != nil {
		bld.AddEcho(*e)
	}
	m := codec.Member{ID: a.self, Generation: 1, State: codec.StateAlive, Addr: a.conn.LocalAddr()}
	bld.AddMember(&m)
	return a.seal(bld.Finish())
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
		a.send(t, to, a.joinDatagram(nil))
	}
	echoes := make([]codec.Echo, len(targets))
	for i, to := range targets {
		echoes[i] = a.awaitToken(t, to, d)
		a.send(t, to, a.joinDatagram(&echoes[i]))
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
