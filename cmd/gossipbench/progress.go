package main

import (
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/hearsay-io/hearsay/bench"
)

// progress shows what is running: one line redrawn in place on a terminal,
// plain lines at each phase change otherwise (logs, pipes, CI).
type progress struct {
	w        io.Writer
	quiet    bool
	tty      bool
	total    int
	index    int
	name     string
	started  time.Time
	phase    string
	lastDraw time.Time
	drawn    bool
}

func newProgress(w io.Writer, quiet bool, total int) *progress {
	p := &progress{w: w, quiet: quiet, total: total}
	if f, ok := w.(*os.File); ok {
		if st, err := f.Stat(); err == nil && st.Mode()&os.ModeCharDevice != 0 {
			p.tty = true
		}
	}
	return p
}

func (p *progress) start(index int, name string) {
	p.index, p.name, p.started, p.phase = index, name, time.Now(), ""
	if !p.quiet && !p.tty {
		fmt.Fprintf(p.w, "[%d/%d] %s: starting\n", index+1, p.total, name)
	}
}

// update is bench.Options.Progress.
func (p *progress) update(pr bench.Progress) {
	if p.quiet {
		return
	}
	wall := time.Since(p.started).Round(100 * time.Millisecond)
	if !p.tty {
		if pr.Phase != p.phase {
			p.phase = pr.Phase
			fmt.Fprintf(p.w, "[%d/%d] %s: %s (cluster time %v, wall %v)\n", p.index+1, p.total, p.name, pr.Phase, pr.Now.Round(time.Millisecond), wall)
		}
		return
	}
	if time.Since(p.lastDraw) < 100*time.Millisecond && pr.Phase == p.phase {
		return
	}
	p.phase, p.lastDraw, p.drawn = pr.Phase, time.Now(), true
	const width = 24
	filled := int(pr.Done * width)
	bar := strings.Repeat("█", filled) + strings.Repeat("░", width-filled)
	fmt.Fprintf(p.w, "\r\x1b[K[%d/%d] %-16s %s %3.0f%%  %s  cluster %v  wall %v",
		p.index+1, p.total, p.name, bar, pr.Done*100, pr.Phase, pr.Now.Round(time.Second), wall)
}

// done clears the progress line.
func (p *progress) done() {
	if p.tty && p.drawn {
		fmt.Fprint(p.w, "\r\x1b[K")
		p.drawn = false
	}
}
