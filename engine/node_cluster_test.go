package engine_test

import (
	"context"
	"fmt"
	"log/slog"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hearsay-io/hearsay/engine"
)

// levelCounter is a slog handler that counts records by level and message.
type levelCounter struct {
	mu  sync.Mutex
	n   map[string]int // "LEVEL message"
	all atomic.Int64
}

func (h *levelCounter) Enabled(context.Context, slog.Level) bool { return true }
func (h *levelCounter) WithAttrs([]slog.Attr) slog.Handler       { return h }
func (h *levelCounter) WithGroup(string) slog.Handler            { return h }
func (h *levelCounter) Handle(_ context.Context, r slog.Record) error {
	h.all.Add(1)
	h.mu.Lock()
	defer h.mu.Unlock()
	if r.Level >= slog.LevelInfo {
		h.n[r.Level.String()+" "+r.Message]++
	}
	return nil
}

// TestCluster runs 50 nodes over loopback UDP: they join and converge, a
// state value published by one is read by all, every ring agrees, a node
// that leaves is seen as left, and a closed node is detected dead by all.
// Then every goroutine stops.
func TestCluster(t *testing.T) {
	const n = 50
	before := runtime.NumGoroutine()
	logs := &levelCounter{n: map[string]int{}}
	cfg := testConfig()
	cfg.Logger = slog.New(logs)

	start := time.Now()
	nodes := startNodes(t, n, cfg)
	joinAll(t, nodes, bound(cfg, 40))
	t.Logf("%d joins returned after %v", n-1, time.Since(start).Round(time.Millisecond))
	waitFor(t, bound(cfg, 40), "50 nodes converge", func() (bool, string) { return converged(nodes, n) })

	t.Run("state", func(t *testing.T) {
		src := nodes[7]
		if err := src.SetState([]byte("role"), []byte("leader")); err != nil {
			t.Fatalf("SetState: %v", err)
		}
		waitFor(t, bound(cfg, 40), "every node reads the state", func() (bool, string) {
			for i, nd := range nodes {
				v, _, ok := nd.State(src.ID(), []byte("role"))
				if !ok || string(v) != "leader" {
					return false, fmt.Sprintf("node %d reads %q, %v", i, v, ok)
				}
			}
			return true, ""
		})
	})

	t.Run("ring", func(t *testing.T) {
		keys := [][]byte{[]byte("a"), []byte("user:42"), []byte("zzz")}
		want := make([]engine.ID, len(keys))
		for k, key := range keys {
			m, ok := nodes[0].Owner(key)
			if !ok {
				t.Fatalf("Owner(%q) on node 0: none", key)
			}
			want[k] = m.ID
		}
		for i, nd := range nodes {
			if got := nd.Ring().Len(); got != n {
				t.Errorf("node %d: Ring().Len() = %d, want %d", i, got, n)
			}
			for k, key := range keys {
				if m, _ := nd.Owner(key); m.ID != want[k] {
					t.Errorf("node %d: Owner(%q) = %v, want %v", i, key, m.ID, want[k])
				}
			}
		}
	})

	leaver, victim := nodes[10], nodes[20]
	rest := without(nodes, leaver, victim)

	t.Run("leave", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), bound(cfg, 40))
		defer cancel()
		if err := leaver.Leave(ctx); err != nil {
			t.Fatalf("Leave: %v", err)
		}
		waitFor(t, bound(cfg, 40), "every node sees the leaver as left", func() (bool, string) {
			return allSee(without(nodes, leaver), leaver.ID(), engine.StateLeft)
		})
		if err := leaver.Close(); err != nil {
			t.Fatalf("Close: %v", err)
		}
		for i, nd := range rest[:5] {
			if nd.Ring().Contains(uint64(leaver.ID())) {
				t.Errorf("node %d: ring still holds the leaver", i)
			}
		}
	})

	t.Run("close is detected", func(t *testing.T) {
		start := time.Now()
		if err := victim.Close(); err != nil {
			t.Fatalf("Close: %v", err)
		}
		waitFor(t, bound(cfg, 60), "every node sees the closed node dead", func() (bool, string) {
			return allSee(rest, victim.ID(), engine.StateDead)
		})
		t.Logf("detected by all %d in %v", len(rest), time.Since(start).Round(time.Millisecond))
		if ok, status := converged(rest, n-2); !ok {
			t.Errorf("after the failure: %s", status)
		}
	})

	var st engine.NodeStats
	for _, nd := range rest {
		s := nd.Stats()
		st.Probes += s.Probes
		st.Suspicions += s.Suspicions
		st.Refutations += s.Refutations
		st.Deaths += s.Deaths
		st.DatagramsIn += s.DatagramsIn
		st.Transport.DropBufferFull += s.Transport.DropBufferFull
	}
	t.Logf("survivors: probes=%d suspicions=%d refutations=%d deaths=%d datagrams in=%d kernel drops=%d",
		st.Probes, st.Suspicions, st.Refutations, st.Deaths, st.DatagramsIn, st.Transport.DropBufferFull)

	for _, nd := range nodes {
		if err := nd.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	}
	noLeak(t, before)

	// Quiet at scale: at Info and above, one start line and one open-cluster
	// warning per node, one line per join and leave, and nothing per packet
	// or per suspect.
	logs.mu.Lock()
	defer logs.mu.Unlock()
	// An open node's one line at start is the warning that its cluster
	// is open.
	want := map[string]int{
		"INFO joined the cluster": n - 1,
		"INFO left the cluster":   1,
	}
	open, refusals := 0, 0
	for msg, c := range logs.n {
		if strings.HasPrefix(msg, "WARN hearsay node started with an open cluster") {
			open += c
			continue
		}
		if strings.HasPrefix(msg, "WARN refusing ") || strings.HasPrefix(msg, "WARN dropping ") {
			// Bounds reached, such as MaxTransfers at the seed while 49
			// nodes join at once: at most one line per bound per node in
			// a test that lasts less than a minute.
			refusals += c
			continue
		}
		if want[msg] != c {
			t.Errorf("log %q: %d lines, want %d", msg, c, want[msg])
		}
	}
	if open != n {
		t.Errorf("open-cluster warnings: %d, want one per node (%d)", open, n)
	}
	if refusals > 5*n {
		t.Errorf("refusal warnings: %d, want at most one per bound per node (%d)", refusals, 5*n)
	}
}
