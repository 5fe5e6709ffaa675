//go:build linux

package adversary

import (
	"fmt"
	"net/netip"
	"testing"
	"time"

	"github.com/hearsay-io/hearsay/codec"
)

// reflectRounds is how many times every variant is sent to every node, and
// reflectGap the time between rounds; reflectLinger is how long what comes
// back is counted after the last round.
const (
	reflectRounds = 4
	reflectGap    = 250 * time.Millisecond
	reflectLinger = 3 * time.Second
	shardLevels   = 2 // ShardBits 8: level 1 has 16 digests, level 2 (the shards) 256
)

// reflectTypes are the message types the reflection test sends.
var reflectTypes = []codec.MsgType{
	codec.MsgHeartbeat, codec.MsgPing, codec.MsgAck, codec.MsgPingReq, codec.MsgNack,
	codec.MsgGossip, codec.MsgSync, codec.MsgShardRequest, codec.MsgShardData,
	codec.MsgJoin, codec.MsgJoinReply, codec.MsgLeave, codec.MsgRetry,
}

// variant is one hostile datagram of a message type, built afresh for each
// send (a new sequence number; sealed anew).
type variant struct {
	typ  codec.MsgType
	name string
	// build returns the datagram for node to, sent from the address from.
	build func(a *attacker, to *node, from netip.AddrPort) []byte
}

// other returns a node of c other than n.
func (c *cluster) other(n *node) *node { return c.nodes[(n.i+1)%len(c.nodes)] }

// reflectVariants are the datagrams the reflection test sends: every
// message type, each built to draw as large an answer as it can.
func reflectVariants(c *cluster) []variant {
	pad := func(b []byte, n int) []byte {
		for len(b) < n {
			b = append(b, 0)
		}
		return b
	}
	return []variant{
		{codec.MsgHeartbeat, "heartbeat of an unknown sender", func(a *attacker, to *node, _ netip.AddrPort) []byte {
			return a.datagram(to.addr, a.header(codec.MsgHeartbeat, a.fakeID()), func(b *codec.Builder) {
				b.AddHeartbeat(codec.Heartbeat{Counter: 1 + a.u64()%1000, Digest: a.u64(), Members: 10})
			})
		}},
		{codec.MsgPing, "ping of the node", func(a *attacker, to *node, _ netip.AddrPort) []byte {
			return a.datagram(to.addr, a.header(codec.MsgPing, a.fakeID()), func(b *codec.Builder) {
				b.AddPing(codec.Ping{Seq: uint32(a.u64()), Target: uint64(to.id)})
			})
		}},
		{codec.MsgPing, "ping of another member", func(a *attacker, to *node, _ netip.AddrPort) []byte {
			return a.datagram(to.addr, a.header(codec.MsgPing, a.fakeID()), func(b *codec.Builder) {
				b.AddPing(codec.Ping{Seq: uint32(a.u64()), Target: uint64(c.other(to).id)})
			})
		}},
		{codec.MsgPing, "82 pings in one datagram", func(a *attacker, to *node, _ netip.AddrPort) []byte {
			return a.datagram(to.addr, a.header(codec.MsgPing, a.fakeID()), func(b *codec.Builder) {
				for b.AddPing(codec.Ping{Seq: uint32(a.u64()), Target: uint64(to.id)}) {
				}
			})
		}},
		{codec.MsgAck, "ack nobody waits for", func(a *attacker, to *node, _ netip.AddrPort) []byte {
			return a.datagram(to.addr, a.header(codec.MsgAck, a.fakeID()), func(b *codec.Builder) {
				b.AddAck(codec.Ack{Seq: uint32(a.u64()), Target: uint64(to.id)})
			})
		}},
		{codec.MsgPingReq, "ping-req of a live member", func(a *attacker, to *node, _ netip.AddrPort) []byte {
			o := c.other(to)
			return a.datagram(to.addr, a.header(codec.MsgPingReq, a.fakeID()), func(b *codec.Builder) {
				b.AddPingReq(codec.PingReq{Seq: uint32(a.u64()), Target: uint64(o.id), Addr: o.addr})
			})
		}},
		{codec.MsgPingReq, "ping-req of a live member, padded to 3 probes", func(a *attacker, to *node, _ netip.AddrPort) []byte {
			o := c.other(to)
			d := a.datagram(to.addr, a.header(codec.MsgPingReq, a.fakeID()), func(b *codec.Builder) {
				b.AddPingReq(codec.PingReq{Seq: uint32(a.u64()), Target: uint64(o.id), Addr: o.addr})
			})
			return pad(d, 3*len(d))
		}},
		{codec.MsgPingReq, "ping-req of an address nobody listens on", func(a *attacker, to *node, _ netip.AddrPort) []byte {
			return a.datagram(to.addr, a.header(codec.MsgPingReq, a.fakeID()), func(b *codec.Builder) {
				b.AddPingReq(codec.PingReq{Seq: uint32(a.u64()), Target: a.fakeID(), Addr: a.unusedAddr()})
			})
		}},
		{codec.MsgNack, "nack nobody waits for", func(a *attacker, to *node, _ netip.AddrPort) []byte {
			return a.datagram(to.addr, a.header(codec.MsgNack, a.fakeID()), func(b *codec.Builder) {
				b.AddNack(codec.Nack{Seq: uint32(a.u64()), Target: uint64(c.other(to).id)})
			})
		}},
		{codec.MsgGossip, "23 fake members at unused addresses", func(a *attacker, to *node, _ netip.AddrPort) []byte {
			return a.datagram(to.addr, a.header(codec.MsgGossip, a.fakeID()), func(b *codec.Builder) {
				for b.AddMember(&codec.Member{ID: a.fakeID(), Generation: 1, State: codec.StateAlive, Addr: a.unusedAddr()}) {
				}
			})
		}},
		{codec.MsgGossip, "23 fake members at the sender's address", func(a *attacker, to *node, from netip.AddrPort) []byte {
			return a.datagram(to.addr, a.header(codec.MsgGossip, a.fakeID()), func(b *codec.Builder) {
				for b.AddMember(&codec.Member{ID: a.fakeID(), Generation: 1, State: codec.StateAlive, Addr: from}) {
				}
			})
		}},
		{codec.MsgGossip, "state entries of unknown owners", func(a *attacker, to *node, _ netip.AddrPort) []byte {
			return a.datagram(to.addr, a.header(codec.MsgGossip, a.fakeID()), func(b *codec.Builder) {
				for b.AddState(&codec.StateEntry{Owner: a.fakeID(), Generation: 1, Version: 1, Key: []byte("k"), Value: make([]byte, 64)}) {
				}
			})
		}},
		{codec.MsgSync, "sync, a root digest that differs", func(a *attacker, to *node, _ netip.AddrPort) []byte {
			return a.datagram(to.addr, a.header(codec.MsgSync, a.fakeID()), func(b *codec.Builder) {
				b.AddDigest(codec.Digest{Count: 10, Sum: a.u64()})
			})
		}},
		{codec.MsgSync, "sync, 16 level-1 digests that differ", func(a *attacker, to *node, _ netip.AddrPort) []byte {
			return a.datagram(to.addr, a.header(codec.MsgSync, a.fakeID()), func(b *codec.Builder) {
				for i := range 16 {
					b.AddDigest(codec.Digest{Level: 1, Index: uint16(i), Count: 1, Sum: a.u64()})
				}
			})
		}},
		{codec.MsgSync, "sync, as many shard digests as fit, all differing", func(a *attacker, to *node, _ netip.AddrPort) []byte {
			return a.datagram(to.addr, a.header(codec.MsgSync, a.fakeID()), func(b *codec.Builder) {
				for i := 0; b.AddDigest(codec.Digest{Level: shardLevels, Index: uint16(i), Count: 1, Sum: a.u64()}); i++ {
				}
			})
		}},
		{codec.MsgSync, "sync, one shard digest repeated", func(a *attacker, to *node, _ netip.AddrPort) []byte {
			d := codec.Digest{Level: shardLevels, Index: 7, Count: 1, Sum: a.u64()}
			return a.datagram(to.addr, a.header(codec.MsgSync, a.fakeID()), func(b *codec.Builder) {
				for b.AddDigest(d) {
				}
			})
		}},
		{codec.MsgSync, "sync, compressed, naming 4,095 digests", func(a *attacker, to *node, _ netip.AddrPort) []byte {
			const n = 4095
			body := section(codec.RecDigest, n)
			for i := range n {
				d := codec.Digest{Level: uint8(1 + i%shardLevels), Index: uint16(i % 256), Count: 1, Sum: uint64(i)}
				body = d.Append(body)
			}
			return a.compressed(to.addr, a.header(codec.MsgSync, a.fakeID()), 1, body)
		}},
		{codec.MsgShardRequest, "shard request naming 82 shards", func(a *attacker, to *node, _ netip.AddrPort) []byte {
			return a.datagram(to.addr, a.header(codec.MsgShardRequest, a.fakeID()), func(b *codec.Builder) {
				for i := 0; b.AddShardRef(codec.ShardRef{Shard: uint32(i)}); i++ {
				}
			})
		}},
		{codec.MsgShardRequest, "shard request, one shard repeated", func(a *attacker, to *node, _ netip.AddrPort) []byte {
			return a.datagram(to.addr, a.header(codec.MsgShardRequest, a.fakeID()), func(b *codec.Builder) {
				for b.AddShardRef(codec.ShardRef{Shard: 3}) {
				}
			})
		}},
		{codec.MsgShardData, "shard data nobody asked for", func(a *attacker, to *node, _ netip.AddrPort) []byte {
			return a.datagram(to.addr, a.header(codec.MsgShardData, a.fakeID()), func(b *codec.Builder) {
				for b.AddMember(&codec.Member{ID: a.fakeID(), Generation: 1, State: codec.StateAlive, Addr: a.unusedAddr()}) {
				}
				b.AddShardRef(codec.ShardRef{Shard: 1, Count: 20})
			})
		}},
		{codec.MsgShardData, "shard data nobody asked for, compressed", func(a *attacker, to *node, _ netip.AddrPort) []byte {
			body := section(codec.RecMember, 200)
			for range 200 {
				m := codec.Member{ID: a.fakeID(), Generation: 1, State: codec.StateAlive, Addr: a.unusedAddr()}
				body = m.Append(body)
			}
			return a.compressed(to.addr, a.header(codec.MsgShardData, a.fakeID()), 1, body)
		}},
		{codec.MsgJoin, "join without records", func(a *attacker, to *node, _ netip.AddrPort) []byte {
			return a.datagram(to.addr, a.header(codec.MsgJoin, a.fakeID()), nil)
		}},
		{codec.MsgJoin, "join of a member at the sender's address", func(a *attacker, to *node, from netip.AddrPort) []byte {
			id := a.fakeID()
			return a.datagram(to.addr, a.header(codec.MsgJoin, id), func(b *codec.Builder) {
				b.AddMember(&codec.Member{ID: id, Generation: 1, State: codec.StateAlive, Addr: from})
			})
		}},
		{codec.MsgJoinReply, "join reply nobody asked for", func(a *attacker, to *node, _ netip.AddrPort) []byte {
			return a.datagram(to.addr, a.header(codec.MsgJoinReply, a.fakeID()), func(b *codec.Builder) {
				for i := range 16 {
					b.AddDigest(codec.Digest{Level: 1, Index: uint16(i), Count: 1, Sum: a.u64()})
				}
			})
		}},
		{codec.MsgLeave, "leave of an unknown member", func(a *attacker, to *node, from netip.AddrPort) []byte {
			id := a.fakeID()
			return a.datagram(to.addr, a.header(codec.MsgLeave, id), func(b *codec.Builder) {
				b.AddMember(&codec.Member{ID: id, Generation: 1, State: codec.StateLeft, Addr: from})
			})
		}},
		{codec.MsgRetry, "retry of a join nobody sent", func(a *attacker, to *node, _ netip.AddrPort) []byte {
			return a.datagram(to.addr, a.header(codec.MsgRetry, a.fakeID()), func(b *codec.Builder) {
				b.AddRetry(codec.Retry{For: codec.MsgJoin, Epoch: 1, Token: a.u64() | 1})
			})
		}},
		{codec.MsgRetry, "retry of a sync nobody sent", func(a *attacker, to *node, _ netip.AddrPort) []byte {
			return a.datagram(to.addr, a.header(codec.MsgRetry, a.fakeID()), func(b *codec.Builder) {
				b.AddRetry(codec.Retry{For: codec.MsgSync})
			})
		}},
	}
}

// reflectCount is what one message type sent and got back.
type reflectCount struct {
	sentN, sentBytes, backN, backBytes uint64
}

func (r reflectCount) factor() float64 {
	if r.sentBytes == 0 {
		return 0
	}
	return float64(r.backBytes) / float64(r.sentBytes)
}

// TestReflection sends every message type from the attacker's sockets,
// whose addresses never prove themselves, to every node, and counts what
// comes back to each: the reflection factor must be at most 1 for every
// variant and every type, open and sealed (the insider seals). Each
// variant has a socket of its own, so that what comes back is its own. As
// root it also sends them with a forged source address, one per variant
// on 127.0.0.77, and counts what reaches that address.
func TestReflection(t *testing.T) {
	suiteMode(t)
	for _, keyed := range []bool{false, true} {
		t.Run(fmt.Sprintf("keyed=%v", keyed), func(t *testing.T) {
			c := startCluster(t, keyed)
			vs := reflectVariants(c)
			a := newAttacker(t, c, true, 1)

			t.Run("own address", func(t *testing.T) {
				socks := make([]*udpSock, len(vs))
				for i := range vs {
					socks[i] = listenUDP(t, netip.MustParseAddr("127.0.0.1"), nil)
				}
				// A third party: gossip names members at its addresses,
				// so that the nodes' admission pings go there.
				var third []*udpSock
				for range 23 {
					third = append(third, listenUDP(t, netip.MustParseAddr("127.0.0.78"), nil))
				}
				thirdSrc := listenUDP(t, netip.MustParseAddr("127.0.0.1"), nil)
				for r := range reflectRounds {
					for _, to := range c.nodes {
						for i, v := range vs {
							socks[i].send(to.addr, v.build(a, to, socks[i].addr))
						}
						thirdSrc.send(to.addr, a.datagram(to.addr, a.header(codec.MsgGossip, a.fakeID()), func(b *codec.Builder) {
							for _, s := range third {
								b.AddMember(&codec.Member{ID: a.fakeID(), Generation: 1, State: codec.StateAlive, Addr: s.addr})
							}
						}))
					}
					if r < reflectRounds-1 {
						time.Sleep(reflectGap)
					}
				}
				time.Sleep(reflectLinger)
				counts := make([]reflectCount, len(vs))
				for i, s := range socks {
					n, b := s.back()
					counts[i] = reflectCount{s.sentN.Load(), s.sentBytes.Load(), n, b}
				}
				tp := reflectCount{sentN: thirdSrc.sentN.Load(), sentBytes: thirdSrc.sentBytes.Load()}
				for _, s := range third {
					n, b := s.back()
					tp.backN += n
					tp.backBytes += b
				}
				reportReflection(t, keyed, "own", vs, counts, &tp)
			})

			t.Run("spoofed source", func(t *testing.T) {
				sp, err := openSpoofer(t)
				needRaw(t, "reflection towards a forged source address", err)
				victims := make([]*udpSock, len(vs))
				for i := range vs {
					victims[i] = listenUDP(t, netip.MustParseAddr("127.0.0.77"), nil)
				}
				counts := make([]reflectCount, len(vs))
				for r := range reflectRounds {
					for _, to := range c.nodes {
						for i, v := range vs {
							b := v.build(a, to, victims[i].addr)
							if err := sp.send(victims[i].addr, to.addr, b); err != nil {
								t.Fatalf("sending a spoofed datagram: %v", err)
							}
							counts[i].sentN++
							counts[i].sentBytes += uint64(len(b))
						}
					}
					if r < reflectRounds-1 {
						time.Sleep(reflectGap)
					}
				}
				time.Sleep(reflectLinger)
				for i, s := range victims {
					counts[i].backN, counts[i].backBytes = s.back()
				}
				reportReflection(t, keyed, "spoofed", vs, counts, nil)
			})
		})
	}
}

// reportReflection logs the reflection table, by variant and by type, and
// fails t for a variant or a type whose answers were larger than what was
// sent.
func reportReflection(t *testing.T, keyed bool, source string, vs []variant, counts []reflectCount, third *reflectCount) {
	t.Helper()
	tb := newTable("keyed", "source", "type", "variant", "sent", "sent bytes", "back", "back bytes", "factor")
	row := func(typ, name string, r reflectCount) {
		tb.row(fmt.Sprint(keyed), source, typ, name, fmt.Sprint(r.sentN), fmt.Sprint(r.sentBytes),
			fmt.Sprint(r.backN), fmt.Sprint(r.backBytes), fmt.Sprintf("%.4f", r.factor()))
	}
	check := func(what string, r reflectCount) {
		if r.sentN == 0 {
			t.Errorf("reflection of %s: nothing was sent", what)
		}
		if r.backBytes > r.sentBytes {
			t.Errorf("reflection of %s (source %s, keyed %v): %d bytes back for %d sent, factor %.3f, want at most 1",
				what, source, keyed, r.backBytes, r.sentBytes, r.factor())
		}
	}
	add := func(sum *reflectCount, r reflectCount) {
		sum.sentN += r.sentN
		sum.sentBytes += r.sentBytes
		sum.backN += r.backN
		sum.backBytes += r.backBytes
	}
	var all reflectCount
	for _, typ := range reflectTypes {
		var sum reflectCount
		for i, v := range vs {
			if v.typ != typ {
				continue
			}
			row(typ.String(), v.name, counts[i])
			check(fmt.Sprintf("%v (%s)", typ, v.name), counts[i])
			add(&sum, counts[i])
		}
		row(typ.String(), "all of the type", sum)
		check(typ.String(), sum)
		add(&all, sum)
	}
	row("all", "overall", all)
	check("every type", all)
	if third != nil {
		row("gossip", "23 members at a third party's addresses: bytes reaching it", *third)
		check("gossip naming members at a third party's addresses", *third)
	}
	t.Logf("reflection: bytes that came back to the sending address (or reached the third party) over bytes sent, %d rounds %v apart to each of the %d nodes, counted until %v after the last%s",
		reflectRounds, reflectGap, clusterSize, reflectLinger, tb)
}
