//go:build linux

package adversary

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hearsay-io/hearsay/codec"
	"github.com/hearsay-io/hearsay/engine"
)

const (
	fakeMembers   = 100_000
	fakePerDgram  = 20
	fakeSpread    = 6 * time.Second // the flood lasts this long
	fakeKillAt    = 2 * time.Second // the real node is killed this far into it
	detectBound   = 8 * time.Second // every other node lists it dead within this
	detectWatch   = 15 * time.Second
	detectPoll    = 100 * time.Millisecond
	fakeSendBatch = 20 // datagrams sent back to back between pauses
)

// tableWatch records, per node, the largest table and the fakes seen in
// it while the test polls /members.
type tableWatch struct {
	mu       sync.Mutex
	largest  []int
	fakes    []int
	fakeSeen []string
}

func newTableWatch(n int) *tableWatch {
	return &tableWatch{largest: make([]int, n), fakes: make([]int, n)}
}

// see records node i's view.
func (w *tableWatch) see(i int, ms []member, real map[engine.ID]bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.largest[i] = max(w.largest[i], len(ms))
	n := 0
	for _, m := range ms {
		if !real[m.id()] {
			n++
			if len(w.fakeSeen) < 5 {
				w.fakeSeen = append(w.fakeSeen, fmt.Sprintf("node %d lists %s at %s (%s)", i, m.ID, m.Addr, m.State))
			}
		}
	}
	w.fakes[i] = max(w.fakes[i], n)
}

// TestFakeMemberFlood injects 100,000 fake alive members (random IDs,
// addresses on 127.66/16 where nothing listens, 20 to a gossip datagram
// from random sender IDs, to random nodes) over 6 s, and kills a real
// node with SIGKILL 2 s into it: every other node must list it dead
// within 8 s of the kill, and no fake may enter any table. Open, and
// sealed with the attacker holding the key (it has not joined). Short mode
// kills once per cluster kind; long mode five times, restarting the node
// in between, for the median and the maximum.
func TestFakeMemberFlood(t *testing.T) {
	m := suiteMode(t)
	trials := pick(m, 1, 5)
	type trial struct {
		keyed   bool
		k       int
		victim  int
		detect  time.Duration // -1: not within detectWatch
		perNode []time.Duration
		sent    uint64
		took    time.Duration
	}
	var all []trial
	for _, keyed := range []bool{false, true} {
		t.Run(fmt.Sprintf("keyed=%v", keyed), func(t *testing.T) {
			c := startCluster(t, keyed)
			a := newAttacker(t, c, true, 5+boolSeed(keyed))
			real := c.ids()
			watch := newTableWatch(len(c.nodes))
			m0 := c.allMetrics(t)
			for k := range trials {
				victim := c.nodes[len(c.nodes)-1-k%3] // not a seed
				tr := trial{keyed: keyed, k: k, victim: victim.i, detect: -1}
				sock := listenUDP(t, netip.MustParseAddr("127.0.0.1"), nil)
				done := make(chan struct{})
				go func() {
					defer close(done)
					tr.took = floodFakes(a, sock, c, fakeMembers)
				}()
				time.Sleep(fakeKillAt)
				c.kill(victim)
				killed := time.Now()
				tr.perNode = make([]time.Duration, len(c.nodes))
				for i := range tr.perNode {
					tr.perNode[i] = -1
				}
				for time.Since(killed) < detectWatch {
					views, errs := c.allMembers()
					pending := 0
					for _, n := range c.running() {
						if errs[n.i] != nil {
							t.Fatalf("%v /members: %v", n, errs[n.i])
						}
						watch.see(n.i, views[n.i], real)
						mm, ok := findMember(views[n.i], victim.id)
						if tr.perNode[n.i] < 0 && ok && mm.State == "dead" {
							tr.perNode[n.i] = time.Since(killed)
						}
						if tr.perNode[n.i] < 0 {
							pending++
						}
					}
					if pending == 0 {
						break
					}
					time.Sleep(detectPoll)
				}
				<-done
				tr.sent = sock.sentN.Load()
				var worst time.Duration
				missing := []string{}
				for _, n := range c.running() {
					if d := tr.perNode[n.i]; d < 0 {
						missing = append(missing, fmt.Sprint(n.i))
					} else {
						worst = max(worst, d)
					}
				}
				if len(missing) == 0 {
					tr.detect = worst
				}
				all = append(all, tr)
				switch {
				case len(missing) > 0:
					t.Errorf("trial %d: nodes %s do not list the killed %v dead %v after the kill", k, strings.Join(missing, ","), victim, detectWatch)
				case worst > detectBound:
					t.Errorf("trial %d: every other node listed the killed %v dead %v after the kill, want at most %v",
						k, victim, worst.Round(10*time.Millisecond), detectBound)
				}
				if k < trials-1 {
					c.restart(t, victim)
				}
			}
			m1 := c.allMetrics(t)
			tb := newTable("node", "largest table", "fakes in it", "held pending", "pending refused", "pending expired", "admission pings", "admitted", "members now (metrics)")
			for _, n := range c.nodes {
				if m1[n.i] == nil {
					tb.row(fmt.Sprint(n.i), fmt.Sprint(watch.largest[n.i]), fmt.Sprint(watch.fakes[n.i]), "killed", "", "", "", "", "")
					continue
				}
				d := func(name string) string { return fmt.Sprint(m1[n.i].sub(m0[n.i], name)) }
				tb.row(fmt.Sprint(n.i), fmt.Sprint(watch.largest[n.i]), fmt.Sprint(watch.fakes[n.i]),
					d("hearsay_admission_pending_total"), d("hearsay_admission_refused_total"), d("hearsay_admission_expired_total"),
					d("hearsay_admission_pings_total"), d("hearsay_admission_admitted_total"), fmt.Sprint(m1[n.i].members()))
			}
			t.Logf("fake-member flood (keyed %v): tables while it ran, as /members listed them (%d real members), and the admission counters over the test%s",
				keyed, len(c.nodes), tb)
			for i, f := range watch.fakes {
				if f > 0 {
					t.Errorf("node %d listed %d fake members at once: %s", i, f, strings.Join(watch.fakeSeen, "; "))
				}
				if watch.largest[i] > len(c.nodes) {
					t.Errorf("node %d's table held %d members, more than the %d real ones", i, watch.largest[i], len(c.nodes))
				}
			}
		})
	}
	tb := newTable("keyed", "trial", "killed node", "datagrams", "flood took", "all know it dead after", "per node")
	byKind := map[bool][]time.Duration{}
	for _, tr := range all {
		var per []string
		for i, d := range tr.perNode {
			if i == tr.victim {
				continue
			}
			if d < 0 {
				per = append(per, "-")
			} else {
				per = append(per, fmt.Sprintf("%.1f", d.Seconds()))
			}
		}
		det := "never"
		if tr.detect >= 0 {
			det = tr.detect.Round(10 * time.Millisecond).String()
			byKind[tr.keyed] = append(byKind[tr.keyed], tr.detect)
		}
		tb.row(fmt.Sprint(tr.keyed), fmt.Sprint(tr.k), fmt.Sprint(tr.victim), fmt.Sprint(tr.sent), tr.took.Round(10*time.Millisecond).String(), det, strings.Join(per, " "))
	}
	var sum []string
	for _, keyed := range []bool{false, true} {
		ds := byKind[keyed]
		if len(ds) == 0 {
			continue
		}
		slices.Sort(ds)
		sum = append(sum, fmt.Sprintf("keyed %v: p50 %v, p99 %v over %d trial(s)", keyed,
			percentile(ds, 0.5).Round(10*time.Millisecond), percentile(ds, 0.99).Round(10*time.Millisecond), len(ds)))
	}
	t.Logf("crash detection under a flood of %d fake members (%d a datagram, over %v, the kill %v into it; bound %v)%s%s",
		fakeMembers, fakePerDgram, fakeSpread, fakeKillAt, detectBound, tb, strings.Join(sum, "\n"))
}

// percentile returns the p-quantile of sorted ds (nearest rank).
func percentile(ds []time.Duration, p float64) time.Duration {
	i := int(float64(len(ds))*p+0.999999) - 1
	return ds[min(max(i, 0), len(ds)-1)]
}

// floodFakes sends n fake alive members, fakePerDgram a datagram from a
// random sender ID to a random running node, spread over fakeSpread, and
// returns how long it took.
func floodFakes(a *attacker, sock *udpSock, c *cluster, n int) time.Duration {
	start := time.Now()
	dgrams := n / fakePerDgram
	var targets []netip.AddrPort
	for _, nd := range c.nodes {
		targets = append(targets, nd.addr)
	}
	for k := 0; k < dgrams; k++ {
		to := targets[a.intn(len(targets))]
		sock.send(to, a.datagram(to, a.header(codec.MsgGossip, a.fakeID()), func(b *codec.Builder) {
			for range fakePerDgram {
				b.AddMember(&codec.Member{ID: a.fakeID(), Generation: 1, State: codec.StateAlive, Addr: a.unusedAddr()})
			}
		}))
		if k%fakeSendBatch == fakeSendBatch-1 {
			pace(start, k+1, dgrams, fakeSpread)
		}
	}
	return time.Since(start)
}
