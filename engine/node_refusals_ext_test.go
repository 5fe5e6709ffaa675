package engine_test

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/hearsay-io/hearsay/engine"
	"github.com/hearsay-io/hearsay/netio"
)

// refusalLog records the refusal lines of a node's log with the count
// each reports.
type refusalLog struct {
	mu    sync.Mutex
	lines []string // message, then "refused=N"
}

func (h *refusalLog) Enabled(_ context.Context, l slog.Level) bool { return l >= slog.LevelWarn }
func (h *refusalLog) WithAttrs([]slog.Attr) slog.Handler           { return h }
func (h *refusalLog) WithGroup(string) slog.Handler                { return h }
func (h *refusalLog) Handle(_ context.Context, r slog.Record) error {
	if !strings.HasPrefix(r.Message, "refusing") && !strings.HasPrefix(r.Message, "dropping") {
		return nil
	}
	line := r.Message
	r.Attrs(func(a slog.Attr) bool {
		if a.Key == "refused" {
			line += " refused=" + a.Value.String()
		}
		return true
	})
	h.mu.Lock()
	h.lines = append(h.lines, line)
	h.mu.Unlock()
	return nil
}

func (h *refusalLog) snapshot() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]string(nil), h.lines...)
}

// TestRefusalLogs drives one node into each of its bounds with forged
// datagrams (new members past MaxMembers, which also overflow the update
// queue; state past MaxStateKeys and of unknown owners; shard requests
// past MaxTransfers; a compression bomb) and checks that it logs one Warn
// line per bound, reporting the refusals counted so far, then none for a
// second wave within the minute.
func TestRefusalLogs(t *testing.T) {
	logs := &refusalLog{}
	cfg := testConfig()
	cfg.Logger = slog.New(logs)
	cfg.MaxMembers = 40
	cfg.MaxPendingUpdates = 16
	cfg.MaxTransfers = 1
	nd := startNodes(t, 1, cfg)[0]
	a := newAttacker(t, []*engine.Node{nd}, cfg, 7)
	wave := func() {
		msgs := []netio.Message{
			{Addr: nd.Addr(), Buf: a.membersDatagram(a.cluster, a.limit)},
			{Addr: nd.Addr(), Buf: a.membersDatagram(a.cluster, a.limit)},
			{Addr: nd.Addr(), Buf: a.stateDatagram()},
			{Addr: nd.Addr(), Buf: a.requestDatagram(0)}, // 64 shard refs
			{Addr: nd.Addr(), Buf: a.garbageDatagram(6).b},
		}
		if _, err := a.conn.WriteBatch(msgs); err != nil {
			t.Fatal(err)
		}
	}
	counters := func(s engine.NodeStats) []uint64 {
		return []uint64{s.RefusedMembers, s.RefusedState, s.QueueDropped, s.DropBusy, s.DropTooLarge}
	}
	messages := []string{"refusing new members", "refusing application-state", "dropping pending updates",
		"refusing shard transfers", "dropping compressed datagrams"}

	wave()
	var first []uint64
	waitFor(t, bound(cfg, 20), "the node counts the first wave", func() (bool, string) {
		s := nd.Stats()
		first = counters(s)
		return s.DatagramsIn >= 5, fmt.Sprintf("%d datagrams read", s.DatagramsIn)
	})
	lines := logs.snapshot()
	for k, c := range first {
		if c == 0 {
			t.Errorf("%s: the wave was not refused (counter 0)", messages[k])
			continue
		}
		var got []string
		for _, l := range lines {
			if strings.HasPrefix(l, messages[k]) {
				got = append(got, l)
			}
		}
		// The line comes with the first refusals: the step that handled the
		// first datagrams of the wave; the rest wait for the next line.
		if len(got) != 1 {
			t.Errorf("%s: log lines %q, want one", messages[k], got)
			continue
		}
		_, n, _ := strings.Cut(got[0], " refused=")
		if r, err := strconv.ParseUint(n, 10, 64); err != nil || r == 0 || r > c {
			t.Errorf("%s: line %q, want refused in [1, %d]", messages[k], got[0], c)
		}
	}
	if len(lines) != len(messages) {
		t.Errorf("%d refusal lines, want %d: %q", len(lines), len(messages), lines)
	}

	wave()
	waitFor(t, bound(cfg, 20), "the node counts the second wave", func() (bool, string) {
		s := nd.Stats()
		return s.DatagramsIn >= 10, fmt.Sprintf("%d datagrams read", s.DatagramsIn)
	})
	if got := logs.snapshot(); len(got) != len(lines) {
		t.Errorf("a second wave within the minute logged %q, want nothing", got[len(lines):])
	}
	t.Logf("first wave refused (members, state, updates, transfers, decompressed) %v; lines:\n%s", first, strings.Join(lines, "\n"))
}
