//go:build linux

package adversary

import (
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hearsay-io/hearsay/codec"
)

const (
	floodRate    = 20_000 // datagrams a second, over the cluster
	floodSockets = 4
	floodSample  = 250 * time.Millisecond
	// rssBound bounds each process's peak resident memory (VmHWM). A node
	// idles at about 10-20 MB. What a flood can make it hold is bounded
	// by design: a table of at most the real members (fakes wait in a
	// pending list of 256), 256 per-address states, 256 trust entries,
	// replay windows for MaxMembers+1,024 senders (a few tens of bytes
	// each, only for senders it took datagrams from), the dissemination
	// queue (8,192), the 4 MiB socket buffer and receive batches, and
	// decompression bounded at 64 KiB; the Go heap may reach twice what
	// is live before a collection. All of that together is some tens of
	// MB; 200 MB leaves room for the runtime and is still far below what
	// a per-datagram leak would cost: 1,000,000 datagrams leaking 200
	// bytes each would pass it.
	rssBound = 200 << 20
)

// floodKind is one kind of hostile datagram of the mixed flood.
type floodKind struct {
	name   string
	weight int // per thousand
	keyed  int // 0: both kinds of cluster; 1: sealed only; -1: open only
	// build returns a datagram for the node at to.
	build func(f *flooder, to netip.AddrPort) []byte
}

// flooder builds the flood's datagrams. Building is cheap: templates are
// prepared once; insider datagrams are sealed afresh (a new sequence
// number) at each send, for the node they go to.
type flooder struct {
	a      *attacker
	rng    *rand.Rand
	noise  []byte
	valid  [][]byte // valid datagrams as the cluster takes them (sealed when it is, for some node), to truncate
	plains [][]byte // valid plain datagrams
	wrong  *codec.Keyring
	seq    uint32
}

func newFlooder(a *attacker, seed uint64) *flooder {
	f := &flooder{a: a, rng: rand.New(rand.NewPCG(seed, 0xf100d)), noise: make([]byte, 1<<16)}
	for i := range f.noise {
		f.noise[i] = byte(f.rng.Uint32())
	}
	wk := make([]byte, 16)
	binary.BigEndian.PutUint64(wk, f.rng.Uint64())
	f.wrong, _ = codec.NewKeyring(wk)
	for i := range 64 {
		p := f.members(false, netip.AddrPort{})
		f.plains = append(f.plains, p)
		f.valid = append(f.valid, f.sealTo(a.c.nodes[i%len(a.c.nodes)].addr, p))
	}
	return f
}

func (f *flooder) header(t codec.MsgType) codec.Header {
	f.seq++
	return codec.Header{Type: t, Cluster: f.a.cluster, Sender: f.rng.Uint64() | 1, Generation: 1, Seq: f.seq}
}

// plain builds a plain datagram of type t with add's records.
func (f *flooder) plain(t codec.MsgType, limit int, add func(b *codec.Builder)) []byte {
	var b codec.Builder
	b.Reset(make([]byte, 0, limit), limit, f.header(t))
	add(&b)
	return b.Finish()
}

// sealTo seals p for the node at to when the attacker holds the key.
func (f *flooder) sealTo(to netip.AddrPort, p []byte) []byte { return f.a.seal(to, p) }

func (f *flooder) addr() netip.AddrPort {
	v := f.rng.Uint64()
	return netip.AddrPortFrom(netip.AddrFrom4([4]byte{127, 66, byte(v), byte(1 + (v>>8)%254)}), uint16(1024+(v>>16)%60000))
}

// members is forged gossip: as many fake alive members as fit, sealed for
// the node at to if sealed.
func (f *flooder) members(sealed bool, to netip.AddrPort) []byte {
	p := f.plain(codec.MsgGossip, f.a.limit, func(b *codec.Builder) {
		for b.AddMember(&codec.Member{ID: f.rng.Uint64() | 1, Generation: 1, State: codec.StateAlive, Addr: f.addr()}) {
		}
	})
	if sealed {
		return f.sealTo(to, p)
	}
	return p
}

func floodKinds() []floodKind {
	return []floodKind{
		{"random bytes", 200, 0, func(f *flooder, to netip.AddrPort) []byte {
			n := f.rng.IntN(1401)
			off := f.rng.IntN(len(f.noise) - n)
			return f.noise[off : off+n]
		}},
		{"truncated", 150, 0, func(f *flooder, to netip.AddrPort) []byte {
			v := f.valid[f.rng.IntN(len(f.valid))]
			return v[:f.rng.IntN(len(v))]
		}},
		{"garbage records", 100, 0, func(f *flooder, to netip.AddrPort) []byte {
			h := f.header(codec.MsgType(1 + f.rng.IntN(int(codec.MsgRetry))))
			n := f.rng.IntN(f.a.limit - codec.HeaderSize)
			off := f.rng.IntN(len(f.noise) - n)
			h.Sections, h.Length = uint8(1+f.rng.IntN(8)), uint16(n)
			b := append(h.Append(nil), f.noise[off:off+n]...)
			if n > 0 {
				b[codec.HeaderSize] = byte(1 + f.rng.IntN(int(codec.RecRetry)))
			}
			return f.sealTo(to, b)
		}},
		{"forged members", 150, 0, func(f *flooder, to netip.AddrPort) []byte { return f.members(true, to) }},
		{"forged state", 100, 0, func(f *flooder, to netip.AddrPort) []byte {
			return f.sealTo(to, f.plain(codec.MsgGossip, f.a.limit, func(b *codec.Builder) {
				for b.AddState(&codec.StateEntry{Owner: f.rng.Uint64() | 1, Generation: 1, Version: 1 + f.rng.Uint64N(1000),
					Key: fmt.Appendf(nil, "k%d", f.rng.IntN(100)), Value: f.noise[:64]}) {
				}
			}))
		}},
		{"forged requests", 150, 0, func(f *flooder, to netip.AddrPort) []byte {
			switch f.rng.IntN(5) {
			case 0:
				return f.sealTo(to, f.plain(codec.MsgShardRequest, f.a.limit, func(b *codec.Builder) {
					for i := 0; b.AddShardRef(codec.ShardRef{Shard: uint32(i % 256)}); i++ {
					}
				}))
			case 1:
				return f.sealTo(to, f.plain(codec.MsgPing, f.a.limit, func(b *codec.Builder) {
					b.AddPing(codec.Ping{Seq: f.rng.Uint32(), Target: f.rng.Uint64()})
				}))
			case 2:
				return f.sealTo(to, f.plain(codec.MsgPingReq, f.a.limit, func(b *codec.Builder) {
					b.AddPingReq(codec.PingReq{Seq: f.rng.Uint32(), Target: f.rng.Uint64() | 1, Addr: f.addr()})
				}))
			case 3:
				return f.sealTo(to, f.plain(codec.MsgJoin, f.a.limit, func(b *codec.Builder) {
					b.AddMember(&codec.Member{ID: f.rng.Uint64() | 1, Generation: 1, State: codec.StateAlive, Addr: f.addr()})
				}))
			default:
				return f.sealTo(to, f.plain(codec.MsgSync, f.a.limit, func(b *codec.Builder) {
					for i := 0; b.AddDigest(codec.Digest{Level: uint8(i % 3), Index: uint16(i % 16), Count: 1, Sum: f.rng.Uint64()}); i++ {
					}
				}))
			}
		}},
		{"compression bombs", 50, 0, func(f *flooder, to netip.AddrPort) []byte {
			h := f.header(codec.MsgType(1 + f.rng.IntN(int(codec.MsgRetry))))
			h.Flags = codec.FlagCompressed
			body := binary.AppendUvarint(nil, 1<<20)
			body = append(body, f.noise[:32]...)
			h.Sections, h.Length = 1, uint16(len(body))
			return f.sealTo(to, append(h.Append(nil), body...))
		}},
		{"unsealed", 50, 1, func(f *flooder, to netip.AddrPort) []byte { return f.plains[f.rng.IntN(len(f.plains))] }},
		{"wrong key", 50, 1, func(f *flooder, to netip.AddrPort) []byte {
			b, err := codec.SealFor(nil, f.plain(codec.MsgGossip, f.a.limit, func(b *codec.Builder) {
				b.AddMember(&codec.Member{ID: f.rng.Uint64() | 1, Generation: 1, State: codec.StateAlive, Addr: f.addr()})
			}), f.wrong, f.a.receiver(to))
			if err != nil {
				panic(err)
			}
			return b
		}},
	}
}

// floodNode is what the test saw of one node while the flood ran.
type floodNode struct {
	idleRSS    uint64
	peakRSS    uint64 // the larger of VmHWM at the end and the largest VmRSS sampled
	maxRSSNow  uint64 // largest VmRSS sampled
	maxTable   float64
	falseDeath []string
	maxSuspect int
}

// TestHostileFlood sends 100,000 (long mode: 1,000,000) hostile datagrams
// of mixed kinds at 20,000 a second over the cluster, open and sealed
// (the attacker holds the key, so that its forgeries reach the parser),
// and samples every node while it runs: no table may exceed the real
// members, no process's peak resident memory (VmHWM) may exceed 200 MB,
// and no real node may be declared dead (nor left) anywhere.
func TestHostileFlood(t *testing.T) {
	m := suiteMode(t)
	total := pick(m, 100_000, 1_000_000)
	for _, keyed := range []bool{false, true} {
		t.Run(fmt.Sprintf("keyed=%v", keyed), func(t *testing.T) {
			c := startCluster(t, keyed)
			a := newAttacker(t, c, true, 6+boolSeed(keyed))
			time.Sleep(time.Second) // idle memory after the join's transfers
			nodes := make([]floodNode, len(c.nodes))
			for _, n := range c.nodes {
				nodes[n.i].idleRSS, _, _ = memStatus(n.pid())
			}
			m0 := c.allMetrics(t)
			var kinds []floodKind
			weights := 0
			for _, k := range floodKinds() {
				if k.keyed == 0 || (k.keyed == 1) == keyed {
					kinds = append(kinds, k)
					weights += k.weight
				}
			}
			sent := make([]atomic.Uint64, len(kinds))
			sentBytes := make([]atomic.Uint64, len(kinds))
			var socks []*udpSock
			for range floodSockets {
				socks = append(socks, listenUDP(t, netip.MustParseAddr("127.0.0.1"), nil))
			}
			var wg sync.WaitGroup
			start := time.Now()
			spread := time.Duration(float64(total) / floodRate * float64(time.Second))
			for s, sock := range socks {
				wg.Go(func() {
					f := newFlooder(a, uint64(s)+boolSeed(keyed)*100)
					n := total / floodSockets
					for k := range n {
						w := f.rng.IntN(weights)
						ki := 0
						for w >= kinds[ki].weight {
							w -= kinds[ki].weight
							ki++
						}
						to := c.nodes[f.rng.IntN(len(c.nodes))].addr
						b := kinds[ki].build(f, to)
						sock.send(to, b)
						sent[ki].Add(1)
						sentBytes[ki].Add(uint64(len(b)))
						if k%64 == 63 {
							pace(start, k+1, n, spread)
						}
					}
				})
			}
			done := make(chan struct{})
			go func() { wg.Wait(); close(done) }()
			real := c.ids()
			sample := func() {
				views, errs := c.allMembers()
				ms := c.allMetrics(t)
				for _, n := range c.nodes {
					fn := &nodes[n.i]
					if rss, _, err := memStatus(n.pid()); err == nil {
						fn.maxRSSNow = max(fn.maxRSSNow, rss)
					}
					fn.maxTable = max(fn.maxTable, ms[n.i].members())
					if errs[n.i] != nil {
						t.Errorf("%v /members during the flood: %v", n, errs[n.i])
						continue
					}
					suspects := 0
					for _, mm := range views[n.i] {
						if !real[mm.id()] {
							continue
						}
						switch mm.State {
						case "dead", "left":
							if len(fn.falseDeath) < 3 {
								fn.falseDeath = append(fn.falseDeath, fmt.Sprintf("%s %s at %v", mm.ID, mm.State, time.Since(start).Round(time.Millisecond)))
							}
						case "suspect":
							suspects++
						}
					}
					fn.maxSuspect = max(fn.maxSuspect, suspects)
				}
			}
		watch:
			for {
				select {
				case <-done:
					break watch
				case <-time.After(floodSample):
					sample()
				}
			}
			took := time.Since(start)
			time.Sleep(2 * time.Second) // what the flood set in motion settles
			sample()
			m1 := c.allMetrics(t)
			var deaths, suspicions float64
			for _, n := range c.nodes {
				_, hwm, _ := memStatus(n.pid())
				nodes[n.i].peakRSS = max(hwm, nodes[n.i].maxRSSNow)
				deaths += m1[n.i].sub(m0[n.i], "hearsay_deaths_total")
				suspicions += m1[n.i].sub(m0[n.i], "hearsay_suspicions_total")
			}

			kt := newTable("kind", "datagrams", "bytes")
			var allN, allB uint64
			for i, k := range kinds {
				kt.row(k.name, fmt.Sprint(sent[i].Load()), fmt.Sprint(sentBytes[i].Load()))
				allN += sent[i].Load()
				allB += sentBytes[i].Load()
			}
			var back uint64
			for _, s := range socks {
				_, b := s.back()
				back += b
			}
			kt.row("all", fmt.Sprint(allN), fmt.Sprint(allB))
			t.Logf("hostile flood (keyed %v): %d datagrams in %v (%.0f a second), %d bytes came back to the flooding sockets (factor %.4f)%s",
				keyed, allN, took.Round(10*time.Millisecond), float64(allN)/took.Seconds(), back, float64(back)/float64(allB), kt)

			nt := newTable("node", "idle RSS MB", "largest RSS MB", "peak MB", "largest table", "real nodes suspect at once", "false deaths", "received", "dropped", "kernel drops", "replay windows evicted")
			for _, n := range c.nodes {
				fn := nodes[n.i]
				var dropped float64
				for name, v := range m1[n.i] {
					if strings.HasPrefix(name, "hearsay_drops_total{") {
						dropped += v - m0[n.i][name]
					}
				}
				fd := "0"
				if len(fn.falseDeath) > 0 {
					fd = strings.Join(fn.falseDeath, "; ")
				}
				nt.row(fmt.Sprint(n.i), mb(fn.idleRSS), mb(fn.maxRSSNow), mb(fn.peakRSS), fmt.Sprint(fn.maxTable), fmt.Sprint(fn.maxSuspect), fd,
					fmt.Sprint(m1[n.i].sub(m0[n.i], "hearsay_transport_received_datagrams_total")), fmt.Sprint(dropped),
					fmt.Sprint(m1[n.i].sub(m0[n.i], `hearsay_transport_drops_total{cause="buffer_full"}`)),
					fmt.Sprint(m1[n.i].sub(m0[n.i], "hearsay_replay_windows_evicted_total")))
				if fn.maxTable > float64(len(c.nodes)) {
					t.Errorf("%v: its table held %v members during the flood, more than the %d real ones", n, fn.maxTable, len(c.nodes))
				}
				if fn.peakRSS > rssBound {
					t.Errorf("%v: peak resident memory %s MB, over the %s MB bound", n, mb(fn.peakRSS), mb(rssBound))
				}
				if len(fn.falseDeath) > 0 {
					t.Errorf("%v listed real nodes dead or left during the flood: %s", n, fd)
				}
			}
			t.Logf("every node during the hostile flood (keyed %v), sampled every %v and 2 s after (RSS: /proc/<pid>/status VmRSS sampled, peak: the larger of VmHWM and the largest VmRSS; received: datagrams the node's socket read, real traffic included); %v deaths and %v suspicions declared over the cluster%s",
				keyed, floodSample, deaths, suspicions, nt)
			if deaths > 0 {
				t.Errorf("the nodes declared %v deaths during the flood; no real node failed", deaths)
			}
		})
	}
}

func boolSeed(b bool) uint64 {
	if b {
		return 1
	}
	return 0
}
