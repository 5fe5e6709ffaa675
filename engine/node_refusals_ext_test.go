package engine_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/hearsay-io/hearsay/codec"
	"github.com/hearsay-io/hearsay/engine"
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
// datagrams and checks that it logs one Warn line per bound, reporting the
// refusals counted so far, then none for a second wave within the minute.
//
// The attacker first joins as a member at its own address, echoing the
// token of the Retry its first Join gets: a member writing from the
// address the node holds for it may name new members, and the token
// validates the address's requests. A wave then sends new members past
// MaxMembers, which also overflow the update queue; state of the
// attacker's own member past MaxStateKeys, and state of unknown owners
// (counted in StateEarly, with no line: state that comes before its
// member's record is ordinary during joins); a shard request for more shards than
// MaxTransfers; a compressed datagram of a type that carries no bulk state
// (dropped before decompression, counted in DropCompressed, a per-datagram
// drop that has no log line); and a Sync whose digest names a shard no
// table has, so that the node asks the attacker for that shard, and answers
// the request with a compression bomb: only shard data a node asked for
// reaches the decompression bound.
func TestRefusalLogs(t *testing.T) {
	logs := &refusalLog{}
	cfg := testConfig()
	cfg.Logger = slog.New(logs)
	cfg.MaxMembers = 40
	cfg.MaxPendingUpdates = 16
	cfg.MaxTransfers = 1
	cfg.MaxStateKeys = 2
	nd := startNodes(t, 1, cfg)[0]
	a := newAttacker(t, []*engine.Node{nd}, cfg, 7)
	to := nd.Addr()
	a.answer.Store(true) // the member stays alive: it answers the node's pings
	echo := a.join(t, []netip.AddrPort{to}, bound(cfg, 20))[0]

	const perWave = 8
	wave := func(k int) {
		t.Helper()
		in, requests := nd.Stats().DatagramsIn, a.got[codec.MsgShardRequest].Load()
		a.send(t, to,
			a.sealTo(a.membersDatagram(a.self, a.cluster, a.limit), to),
			a.sealTo(a.membersDatagram(a.self, a.cluster, a.limit), to),
			a.sealTo(a.stateDatagram(), to),
			a.sealTo(a.ownStateDatagram(8), to),
			a.sealTo(a.shardRequest(echo, 64), to),
			a.sealTo(a.bomb(codec.MsgGossip, a.fakeID()), to),
			a.sealTo(a.syncShard(echo, k), to))
		waitFor(t, bound(cfg, 20), fmt.Sprintf("wave %d: the node asks the attacker for shard %d", k, k), func() (bool, string) {
			n := a.got[codec.MsgShardRequest].Load() - requests
			return n > 0, fmt.Sprintf("%d shard requests", n)
		})
		bombs := nd.Stats().DropTooLarge
		a.send(t, to, a.sealTo(a.bomb(codec.MsgShardData, a.self), to))
		waitFor(t, bound(cfg, 20), fmt.Sprintf("wave %d: the node counts it", k), func() (bool, string) {
			s := nd.Stats()
			n := s.DatagramsIn - in
			// The cluster's own traffic counts in DatagramsIn too: wait
			// for the bomb itself as well.
			return n >= perWave && s.DropTooLarge > bombs, fmt.Sprintf("%d datagrams of %d read, bomb counted %v", n, perWave, s.DropTooLarge > bombs)
		})
	}
	bounds := []struct {
		message string
		count   func(*engine.NodeStats) uint64
	}{
		{"refusing new members", func(s *engine.NodeStats) uint64 { return s.RefusedMembers }},
		{"refusing application-state", func(s *engine.NodeStats) uint64 { return s.RefusedState }},
		{"dropping pending updates", func(s *engine.NodeStats) uint64 { return s.QueueDropped }},
		{"refusing shard transfers", func(s *engine.NodeStats) uint64 { return s.DropBusy }},
		{"dropping compressed datagrams", func(s *engine.NodeStats) uint64 { return s.DropTooLarge }},
	}

	wave(1)
	s := nd.Stats()
	var first []uint64
	for _, b := range bounds {
		first = append(first, b.count(&s))
	}
	lines := logs.snapshot()
	for k, c := range first {
		if c == 0 {
			t.Errorf("%s: the wave was not refused (counter 0)", bounds[k].message)
			continue
		}
		var got []string
		for _, l := range lines {
			if strings.HasPrefix(l, bounds[k].message) {
				got = append(got, l)
			}
		}
		// The line comes with the first refusals: the step that handled the
		// first datagrams of the wave; the rest wait for the next line.
		if len(got) != 1 {
			t.Errorf("%s: log lines %q, want one", bounds[k].message, got)
			continue
		}
		_, n, _ := strings.Cut(got[0], " refused=")
		if r, err := strconv.ParseUint(n, 10, 64); err != nil || r == 0 || r > c {
			t.Errorf("%s: line %q, want refused in [1, %d]", bounds[k].message, got[0], c)
		}
	}
	// The compressed gossip is dropped, and counted, before any work, with
	// no line: a bad datagram is never logged, only bounds are.
	if s.StateEarly == 0 {
		t.Errorf("StateEarly = 0 after state of unknown owners")
	}
	if s.DropCompressed != 1 {
		t.Errorf("DropCompressed = %d after the first wave, want 1", s.DropCompressed)
	}
	if len(lines) != len(bounds) {
		t.Errorf("%d refusal lines, want %d: %q", len(lines), len(bounds), lines)
	}

	wave(2)
	if got := logs.snapshot(); len(got) != len(lines) {
		t.Errorf("a second wave within the minute logged %q, want nothing", got[len(lines):])
	}
	s2 := nd.Stats()
	t.Logf("first wave refused (members, state, updates, transfers, decompressed) %v, compressed %d; after the second, compressed %d, decompressed %d; Retries with a token %d, busy %d; lines:\n%s",
		first, s.DropCompressed, s2.DropCompressed, s2.DropTooLarge, s2.RetriesSent, s2.BusySent, strings.Join(lines, "\n"))
}

// ownStateDatagram builds a gossip from the attacker's member carrying
// keys entries of its own application state, at its generation.
func (a *attacker) ownStateDatagram(keys int) []byte {
	var bld codec.Builder
	bld.Reset(make([]byte, 0, a.limit), a.limit, a.header(codec.MsgGossip, a.self, a.cluster))
	for i := range keys {
		e := codec.StateEntry{Owner: a.self, Generation: 1, Version: uint64(i + 1), Key: fmt.Appendf(nil, "own%d", i), Value: []byte("v")}
		if !bld.AddState(&e) {
			break
		}
	}
	return bld.Finish()
}
