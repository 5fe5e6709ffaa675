//go:build linux

package adversary

import (
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/hearsay-io/hearsay/codec"
)

// TestWindowForgery: an insider (it holds the key of a sealed cluster)
// sends every other node one sealed datagram in a member's name whose
// header moves the receiver's replay window for that member ahead: a
// sequence number near the counter's end at the member's generation, or
// the next generation. The member's own datagrams then look like replays
// to every node. Like any claim about a member, the member must overcome
// it (ARCHITECTURE.md, "Each member is the authority on itself"): every
// node must hold it alive at the generation and incarnation it holds
// itself at, with its true state, within 10 s, and stay so for 4 s (a
// member cut off is declared dead in about 2 s at the local preset).
func TestWindowForgery(t *testing.T) {
	suiteMode(t)

	jumps := []struct {
		name string
		h    func(s self) (gen uint64, seq uint32)
	}{
		{"sequence 2^32-2 at its generation", func(s self) (uint64, uint32) { return s.gen, 1<<32 - 2 }},
		{"generation 1 ns ahead, sequence 2^31", func(s self) (uint64, uint32) { return s.gen + 1, 1 << 31 }},
	}
	tb := newTable("forged header", "member", "replay drops", "first wrong view at", "right again", "generation", "incarnation")
	var notes []string
	for k, j := range jumps {
		t.Run(j.name, func(t *testing.T) {
			// A cluster each: a member cut off stays so.
			c := startCluster(t, true)
			a := newAttacker(t, c, true, 4+uint64(k))
			victim := c.nodes[4]
			if bad, _ := settle(c, victim, 5*time.Second); bad != "" {
				t.Fatalf("%s: before the attack: %s", j.name, bad)
			}
			s0, err := selfOf(victim)
			if err != nil {
				t.Fatal(err)
			}
			gen, seq := j.h(s0)
			sock := listenUDP(t, netip.MustParseAddr("127.0.0.1"), nil)
			m0 := c.allMetrics(t)
			start := time.Now()
			for _, n := range c.nodes {
				if n == victim {
					continue
				}
				var b codec.Builder
				b.Reset(make([]byte, 0, 256), 256, codec.Header{Type: codec.MsgGossip, Cluster: a.cluster,
					Sender: uint64(victim.id), Generation: gen, Incarnation: s0.inc, Seq: seq})
				sock.send(n.addr, a.seal(n.addr, b.Finish()))
			}
			firstBad, recovered := "", time.Duration(-1)
			var streak time.Time
			for time.Since(start) < poisonDeadline {
				polled := time.Now()
				bad := wrongAbout(c, victim)
				switch {
				case bad != "":
					if firstBad == "" {
						firstBad = time.Since(start).Round(time.Millisecond).String()
						notes = append(notes, fmt.Sprintf("%s: first wrong view at %s: %s", j.name, firstBad, bad))
					}
					streak = time.Time{}
				case streak.IsZero():
					streak = polled
				}
				// Right for long enough that a detector would have
				// noticed: a member cut off dies in about 2 s.
				if !streak.IsZero() && time.Since(streak) >= 4*time.Second {
					recovered = streak.Sub(start)
					break
				}
				time.Sleep(poisonPoll)
			}
			m1 := c.allMetrics(t)
			var drops float64
			for _, n := range c.nodes {
				drops += m1[n.i].drops("replay") - m0[n.i].drops("replay")
			}
			s1, _ := selfOf(victim)
			rec := "never (15 s)"
			if recovered >= 0 {
				rec = recovered.Round(10 * time.Millisecond).String()
			}
			if firstBad == "" {
				firstBad = "none"
			}
			tb.row(j.name, fmt.Sprint(victim.i), fmt.Sprint(drops), firstBad, rec,
				fmt.Sprintf("+%dns", s1.gen-s0.gen), fmt.Sprintf("%d→%d", s0.inc, s1.inc))
			switch {
			case recovered < 0:
				t.Errorf("one datagram in the name of %v (%s) to every other node: %v later not every node holds it as it holds itself: %s",
					victim, j.name, poisonDeadline, wrongAbout(c, victim))
			case recovered > poisonBound:
				t.Errorf("one datagram in the name of %v (%s): every node held it right %v after, want at most %v", victim, j.name, recovered, poisonBound)
			}
		})
	}
	t.Logf("replay windows moved ahead by one forged sealed datagram per node (an insider's), in a member's name (replay drops: over every node while watched)%s\n%s", tb, strings.Join(notes, "\n"))
}
