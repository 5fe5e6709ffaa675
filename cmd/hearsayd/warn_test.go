package main

import (
	"log/slog"
	"strings"
	"testing"
	"time"
)

// TestWarner checks the rate limit: one line per distinct warning per
// interval, and the next line counts those held back.
func TestWarner(t *testing.T) {
	var buf syncBuffer
	w := newWarner(slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{
		ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey {
				return slog.Attr{}
			}
			return a
		},
	})))
	now := time.Unix(1000, 0)
	w.now = func() time.Time { return now }

	steps := []struct {
		advance time.Duration
		msg     string
		attempt int
		logged  bool
	}{
		{0, "join not complete yet", 1, true},
		{10 * time.Second, "join not complete yet", 2, false},
		{10 * time.Second, "other warning", 1, true}, // distinct: its own budget
		{30 * time.Second, "join not complete yet", 3, false},
		{9 * time.Second, "join not complete yet", 4, false}, // 59s after the first line
		{time.Second, "join not complete yet", 5, true},      // 60s: logged, 3 held back
		{time.Minute, "join not complete yet", 6, true},      // none held back
	}
	for i, s := range steps {
		now = now.Add(s.advance)
		if got := w.warn(s.msg, "attempt", s.attempt); got != s.logged {
			t.Errorf("step %d: warn(%q) = %v, want %v", i, s.msg, got, s.logged)
		}
	}
	want := `level=WARN msg="join not complete yet" attempt=1
level=WARN msg="other warning" attempt=1
level=WARN msg="join not complete yet" attempt=5 suppressed=3
level=WARN msg="join not complete yet" attempt=6
`
	if got := buf.String(); got != want {
		t.Errorf("log =\n%s\nwant\n%s", got, want)
	}

	// The HTTP server's error log is one warning, whatever its text.
	buf = syncBuffer{}
	el := errorLogWriter{w}
	el.Write([]byte("http: TLS handshake error from 10.0.0.1:5000: EOF\n"))
	el.Write([]byte("http: TLS handshake error from 10.0.0.2:5000: EOF\n"))
	if got := buf.String(); strings.Count(got, "HTTP server error") != 1 || !strings.Contains(got, "10.0.0.1:5000") {
		t.Errorf("two HTTP server errors logged as:\n%s\nwant the first only", got)
	}
}
