package main

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"time"
)

// warnEvery is how often one distinct warning may be logged.
const warnEvery = time.Minute

// warner logs repeated warnings at most once per warnEvery each, so that a
// condition that lasts (a seed that does not answer, a subscriber that
// keeps falling behind, a client that keeps failing TLS) does not flood
// the log. Warnings are distinct by message; attributes may differ between
// calls and those of the logged call are the ones shown. A line written
// after some were held back carries suppressed=N, the number held back
// since the previous line of that message. Suppressed lines are not
// reported when the condition ends: the next line, whenever it comes,
// carries the count.
//
// The set of messages is the agent's own (constants), so the table stays
// small. Safe for concurrent use.
type warner struct {
	log   *slog.Logger
	every time.Duration
	now   func() time.Time // time.Now; tests replace it

	mu   sync.Mutex
	seen map[string]*warnState
}

type warnState struct {
	last       time.Time // when the message was last logged
	suppressed uint64    // calls held back since
}

func newWarner(log *slog.Logger) *warner {
	return &warner{log: log, every: warnEvery, now: time.Now, seen: make(map[string]*warnState)}
}

// warn logs msg with args at Warn level unless msg was logged less than
// w.every ago; it reports whether it logged.
func (w *warner) warn(msg string, args ...any) bool {
	now := w.now()
	w.mu.Lock()
	st := w.seen[msg]
	switch {
	case st == nil:
		st = &warnState{}
		w.seen[msg] = st
	case now.Sub(st.last) < w.every:
		st.suppressed++
		w.mu.Unlock()
		return false
	}
	n := st.suppressed
	st.last, st.suppressed = now, 0
	w.mu.Unlock()
	if n > 0 {
		args = append(args, "suppressed", n)
	}
	w.log.Warn(msg, args...)
	return true
}

// errorLogWriter turns the lines the HTTP server writes to its
// log.Logger (failed TLS handshakes, accept errors, panics in handlers)
// into one rate-limited warning: their text differs each time (it names
// the client), so they would never repeat by message.
type errorLogWriter struct{ w *warner }

func (e errorLogWriter) Write(p []byte) (int, error) {
	if e.w.log.Enabled(context.Background(), slog.LevelWarn) {
		e.w.warn("HTTP server error", "err", strings.TrimSpace(string(p)))
	}
	return len(p), nil
}
