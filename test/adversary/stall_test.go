//go:build linux

package adversary

import (
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// TestProcessStalls freezes real hearsayd processes as a starved CPU, a
// long garbage collection or a swapped-out page would: SIGSTOP for a
// uniform 200–800 ms, then SIGCONT, every 2–4 s, four of the ten nodes of
// a keyed cluster on the lan preset, for 30 s (short) or 2 min (long).
// While frozen, a node runs no timer and its datagrams wait in its socket
// buffer; when it thaws, its timers are all late at once. No node may be
// declared dead (hearsay_deaths_total at every node, and no member listed
// dead by a node that does not stall, read every 200 ms), and no stalling
// node may accuse anyone (its hearsay_suspicions_total): a late timer is
// the node's stall, not its subjects' silence (engine/stall.go). The
// engine's simulator runs the same fault at 1,000 nodes (gossipbench
// nemesis-stalls); this is the fault over real processes and sockets.
func TestProcessStalls(t *testing.T) {
	m := suiteMode(t)
	c := startClusterPreset(t, true, "lan")
	stallers := c.nodes[5:9]
	steady := append(append([]*node(nil), c.nodes[:5]...), c.nodes[9:]...)
	dur := pick(m, 30*time.Second, 2*time.Minute)
	m0 := c.allMetrics(t)

	var (
		stops, stoppedNs atomic.Int64
		wg               sync.WaitGroup
		stop             = make(chan struct{})
	)
	for k, n := range stallers {
		rng := rand.New(rand.NewPCG(uint64(k), 7))
		wg.Go(func() {
			pid := n.pid()
			for {
				select {
				case <-stop:
					return
				case <-time.After(2*time.Second + time.Duration(rng.Int64N(int64(2*time.Second)))):
				}
				frozen := 200*time.Millisecond + time.Duration(rng.Int64N(int64(600*time.Millisecond)))
				if err := syscall.Kill(pid, syscall.SIGSTOP); err != nil {
					t.Errorf("%v: SIGSTOP: %v", n, err)
					return
				}
				time.Sleep(frozen)
				if err := syscall.Kill(pid, syscall.SIGCONT); err != nil {
					t.Errorf("%v: SIGCONT: %v", n, err)
					return
				}
				stops.Add(1)
				stoppedNs.Add(int64(frozen))
			}
		})
	}
	// Watch the nodes that do not stall: a member listed dead is a false
	// death, one listed suspect is counted.
	var suspectSeen, deadSeen int
	deadAt := map[string]string{}
	end := time.Now().Add(dur)
	for time.Now().Before(end) {
		views := make([][]member, len(c.nodes))
		var vw sync.WaitGroup
		for _, n := range steady {
			vw.Go(func() { views[n.i], _ = n.members() })
		}
		vw.Wait()
		for _, n := range steady {
			for _, x := range views[n.i] {
				switch x.State {
				case "suspect":
					suspectSeen++
				case "dead", "left":
					deadSeen++
					deadAt[x.Name] = fmt.Sprintf("%v lists %s %s", n, x.Name, x.State)
				}
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
	close(stop)
	wg.Wait()
	for _, n := range stallers {
		syscall.Kill(n.pid(), syscall.SIGCONT) // never leave one frozen
	}
	// Let the last thaws settle, then every node must list every node
	// alive again.
	c.waitConverged(t, time.Now())
	m1 := c.allMetrics(t)

	tb := newTable("node", "stalls", "deaths declared", "accusations", "stalled timers moved")
	var deaths, falseAccusations float64
	for _, n := range c.nodes {
		d := m1[n.i].sub(m0[n.i], "hearsay_deaths_total")
		a := m1[n.i].sub(m0[n.i], "hearsay_suspicions_total")
		st := m1[n.i].sub(m0[n.i], "hearsay_stalls_total")
		deaths += d
		role := "steady"
		for _, s := range stallers {
			if s == n {
				role = "stalls"
				falseAccusations += a
			}
		}
		tb.row(fmt.Sprint(n.i), role, fmt.Sprint(d), fmt.Sprint(a), fmt.Sprint(st))
	}
	t.Logf("%d stalls of 200-800 ms (%v frozen in all) on %d of %d nodes over %v; views read: %d suspect and %d dead listings at steady nodes%s",
		stops.Load(), time.Duration(stoppedNs.Load()).Round(time.Millisecond), len(stallers), len(c.nodes), dur, suspectSeen, deadSeen, tb)
	if stops.Load() < int64(len(stallers)) {
		t.Errorf("only %d stalls happened, want at least one per stalling node", stops.Load())
	}
	if deaths != 0 || deadSeen != 0 {
		t.Errorf("false deaths: %v declared, %d dead listings at steady nodes (%v)", deaths, deadSeen, deadAt)
	}
	if falseAccusations != 0 {
		t.Errorf("stalling nodes accused %v members", falseAccusations)
	}
}
