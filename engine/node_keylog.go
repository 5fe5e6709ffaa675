package engine

import (
	"context"
	"log/slog"
	"net/netip"
	"time"
)

// Datagrams that do not open with the node's keys are dropped before they
// are parsed and counted in Stats (DropUnknownKey, DropAuth, DropSealed,
// DropUnsealed). A joiner configured with another key sees only its own
// Join time out, so the receiving side logs such drops with their source
// address, rate-limited: at most one line per source per keyLogInterval,
// for at most keyLogSources sources at a time, and one line per interval
// about the datagrams of every other source. A flood from spoofed sources
// therefore costs a bounded map and a few lines a minute.
const (
	keyLogInterval = time.Minute
	keyLogSources  = 8
)

// Causes of a key mismatch, as the counters name them.
const (
	causeUnknownKey = iota // sealed with a key not in the keyring
	causeAuth              // sealed, failed authentication
	causeSealed            // sealed, but this node has no keys
	causeUnsealed          // not sealed, but this node requires keys
	numCauses
)

var causeText = [numCauses]string{
	causeUnknownKey: "sealed with a key this node does not hold",
	causeAuth:       "failed authentication (another key with the same ID, or tampered with)",
	causeSealed:     "sealed, but this node runs an open cluster (no keys)",
	causeUnsealed:   "not sealed, but this node requires keys (the sender runs an open cluster)",
}

// keyDrops returns the core's counters of key mismatches, by cause. Core
// goroutine only; it reads the fields directly, as the per-datagram path
// must not copy every counter.
func (n *Node) keyDrops() [numCauses]uint64 {
	s := &n.core.stats
	return [numCauses]uint64{s.DropUnknownKey, s.DropAuth, s.DropSealed, s.DropUnsealed}
}

// keySource is what the log knows of one source of key mismatches.
type keySource struct {
	dropped uint64 // datagrams dropped
	logged  uint64 // dropped at the last line
	at      Time   // when the last line was written
	cause   int    // of the last drop
}

// keyLog rate-limits the log lines about key mismatches. Core goroutine
// only.
type keyLog struct {
	sources map[netip.AddrPort]*keySource
	other   keySource // datagrams of sources beyond keyLogSources
}

// noteKeyDrop records that a datagram from src was dropped for cause, and
// logs it if a line about src is due.
func (n *Node) noteKeyDrop(now Time, src netip.AddrPort, cause int) {
	l := &n.keyLog
	if l.sources == nil {
		l.sources = make(map[netip.AddrPort]*keySource)
	}
	s := l.sources[src]
	if s == nil {
		if len(l.sources) >= keyLogSources {
			l.evict(now)
		}
		if len(l.sources) < keyLogSources {
			s = &keySource{}
			l.sources[src] = s
		}
	}
	if s == nil {
		s = &l.other
		src = netip.AddrPort{}
	}
	s.dropped++
	s.cause = cause
	if s.at != 0 && now.Sub(s.at) < keyLogInterval {
		return
	}
	attrs := []slog.Attr{
		slog.String("cause", causeText[cause]),
		slog.Uint64("dropped", s.dropped-s.logged),
	}
	msg := "dropping datagrams this node cannot open: check that the sender holds the cluster's keys"
	if src.IsValid() {
		attrs = append([]slog.Attr{slog.String("source", src.String())}, attrs...)
	} else {
		msg = "dropping datagrams this node cannot open, from more sources than are logged one by one: check that every member holds the cluster's keys"
	}
	if s.at != 0 {
		attrs = append(attrs, slog.Duration("since_last_line", now.Sub(s.at).Round(time.Second)))
	}
	n.log.LogAttrs(context.Background(), slog.LevelWarn, msg, attrs...)
	s.at, s.logged = now, s.dropped
}

// evict forgets the sources whose last line is older than the interval,
// making room for new ones.
func (l *keyLog) evict(now Time) {
	for a, s := range l.sources {
		if now.Sub(s.at) >= keyLogInterval {
			delete(l.sources, a)
		}
	}
}
