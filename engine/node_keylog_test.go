package engine_test

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"

	"github.com/hearsay-io/hearsay/codec"
	"github.com/hearsay-io/hearsay/engine"
)

// recordLog is a slog handler that keeps every record at Warn and above
// with its attributes.
type recordLog struct {
	mu    sync.Mutex
	lines []map[string]string // "msg" and the attributes
}

func (h *recordLog) Enabled(_ context.Context, l slog.Level) bool { return l >= slog.LevelWarn }
func (h *recordLog) WithAttrs([]slog.Attr) slog.Handler           { return h }
func (h *recordLog) WithGroup(string) slog.Handler                { return h }
func (h *recordLog) Handle(_ context.Context, r slog.Record) error {
	m := map[string]string{"msg": r.Message}
	r.Attrs(func(a slog.Attr) bool {
		m[a.Key] = a.Value.String()
		return true
	})
	h.mu.Lock()
	h.lines = append(h.lines, m)
	h.mu.Unlock()
	return nil
}

// matching returns the records whose message starts with prefix.
func (h *recordLog) matching(prefix string) []map[string]string {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []map[string]string
	for _, l := range h.lines {
		if strings.HasPrefix(l["msg"], prefix) {
			out = append(out, l)
		}
	}
	return out
}

const cannotOpen = "dropping datagrams this node cannot open"

// TestKeyMismatchDiagnosed joins a node through a seed that holds another
// key. The joiner's Join says that no seed answered and suggests a key
// mismatch; the seed counts the datagrams and logs one line naming the
// joiner's address, however often the joiner retries.
func TestKeyMismatchDiagnosed(t *testing.T) {
	logs := &recordLog{}
	cfg := testConfig()
	cfg.Open = false
	cfg.Keys = [][]byte{key(1)}
	cfg.Logger = slog.New(logs)
	seed := startNodes(t, 1, cfg)[0]
	jc := testConfig()
	jc.Open = false
	jc.Keys = [][]byte{key(2)}
	joiner := startNodes(t, 1, jc)[0]

	ctx, cancel := context.WithTimeout(context.Background(), 8*cfg.IndirectTimeout)
	defer cancel()
	err := joiner.Join(ctx, seed.Addr())
	if !errors.Is(err, engine.ErrNoSeedAnswered) || !strings.Contains(err.Error(), "keys") {
		t.Fatalf("Join through a seed with another key = %v, want ErrNoSeedAnswered and a hint at keys", err)
	}
	if s := seed.Stats(); s.DropUnknownKey < 2 {
		t.Errorf("seed: DropUnknownKey = %d, want the joiner's Joins (at least 2)", s.DropUnknownKey)
	}
	lines := logs.matching(cannotOpen)
	if len(lines) != 1 || lines[0]["source"] != joiner.Addr().String() {
		t.Fatalf("seed's lines about datagrams it cannot open: %v; want one, naming %v", lines, joiner.Addr())
	}
}

// TestKeyMismatchLogBounded sends datagrams that do not open from more
// sources than the log names one by one: one line per source for the
// first eight, one line about the rest.
func TestKeyMismatchLogBounded(t *testing.T) {
	logs := &recordLog{}
	cfg := testConfig()
	cfg.Open = false
	cfg.Keys = [][]byte{key(1)}
	cfg.Logger = slog.New(logs)
	seed := startNodes(t, 1, cfg)[0]
	const joiners = 12
	jc := testConfig()
	jc.Open = false
	jc.Keys = [][]byte{key(2)}
	var wg sync.WaitGroup
	for _, j := range startNodes(t, joiners, jc) {
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 3*cfg.IndirectTimeout)
			defer cancel()
			j.Join(ctx, seed.Addr())
		})
	}
	wg.Wait()
	named, others := 0, 0
	for _, l := range logs.matching(cannotOpen) {
		if l["source"] != "" {
			named++
		} else {
			others++
		}
	}
	if named != 8 || others != 1 {
		t.Errorf("%d lines naming a source and %d about the others, want 8 and 1", named, others)
	}
}

// TestErrorsWrapSentinels checks that errors carry one "hearsay:" prefix
// and wrap their sentinel.
func TestErrorsWrapSentinels(t *testing.T) {
	short := []byte("0123456789")
	cfg := testConfig()
	cfg.Open = false
	cfg.Keys = [][]byte{key(1), short}
	_, err := engine.NewNode(cfg)
	check := func(what string, err error, want ...error) {
		t.Helper()
		for _, w := range want {
			if !errors.Is(err, w) {
				t.Errorf("%s = %v, want an error matching %v", what, err, w)
			}
		}
		if err != nil && strings.Count(err.Error(), "hearsay:")+strings.Count(err.Error(), "codec:") != 1 {
			t.Errorf("%s = %q, want exactly one prefix", what, err)
		}
	}
	check("NewNode(short key)", err, engine.ErrInvalidConfig, codec.ErrKeySize)
	// Validate lists the fields ("config.Keys[1]: ..."); NewNode prefixes
	// the list.
	if err := cfg.Validate(); !errors.Is(err, engine.ErrInvalidConfig) || !errors.Is(err, codec.ErrKeySize) {
		t.Errorf("Validate(short key) = %v, want an error matching ErrInvalidConfig and codec.ErrKeySize", err)
	}
	cfg.Keys = cfg.Keys[:1]
	nd := startNodes(t, 1, cfg)[0]
	check("InstallKey(short)", nd.InstallKey(short), codec.ErrKeySize)
	check("UsePrimaryKey(short)", nd.UsePrimaryKey(short), codec.ErrKeySize)
	check("RemoveKey(short)", nd.RemoveKey(short), codec.ErrKeySize)
	check("UsePrimaryKey(unknown)", nd.UsePrimaryKey(key(3)), engine.ErrKeyNotInstalled)
	check("RemoveKey(primary)", nd.RemoveKey(key(1)), engine.ErrPrimaryKey)
	check("Join(own address)", nd.Join(context.Background(), nd.Addr()), engine.ErrNoSeeds)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	check("Join(ended context)", nd.Join(ctx), context.Canceled)
	check("Leave(ended context)", nd.Leave(ctx), context.Canceled)
	check("SetState(empty key)", nd.SetState(nil, nil), engine.ErrKeySize)
	nd.Close()
	check("SetState after Close", nd.SetState([]byte("k"), nil), engine.ErrClosed)
	check("Join after Close", nd.Join(context.Background(), nd.Addr()), engine.ErrClosed)
}
