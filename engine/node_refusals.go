package engine

import (
	"context"
	"fmt"
	"log/slog"
	"time"
)

// bound names a resource bound whose refusals the runtime logs.
type bound uint8

const (
	boundMembers      bound = iota // Config.MaxMembers: Stats.RefusedMembers
	boundState                     // MaxStateKeys, MaxStateBytes: Stats.RefusedState
	boundUpdates                   // MaxPendingUpdates: Stats.QueueDropped
	boundTransfers                 // MaxTransfers: Stats.DropBusy
	boundDecompressed              // the decompressed-size bound: Stats.DropTooLarge
	numBounds
)

// refusalMessages are the log lines, one per bound. They name the bound
// and what its refusal costs, so that an operator can tell an attack or a
// misconfiguration from a cluster that outgrew its settings.
var refusalMessages = [numBounds]string{
	boundMembers:      "refusing new members: the membership table holds Config.MaxMembers records",
	boundState:        "refusing application-state entries: over their member's MaxStateKeys or MaxStateBytes",
	boundUpdates:      "dropping pending updates: the dissemination queue holds Config.MaxPendingUpdates; anti-entropy repairs what they carried",
	boundTransfers:    "refusing shard transfers and relays: Config.MaxTransfers are under way",
	boundDecompressed: "dropping compressed datagrams that do not decompress within the 64 KiB bound",
}

// refusalLogInterval is the least time between two log lines about one
// bound.
const refusalLogInterval = time.Minute

// refusals rate-limits the log lines about refused input: at most one line
// per bound per refusalLogInterval, each reporting the refusals since the
// previous line. A bound's first refusal is logged at once; refusals that
// come within the interval are summed into the next line, written at the
// first step after the interval, even if no refusal came since.
type refusals struct {
	logged [numBounds]uint64 // each counter's value at its last line
	at     [numBounds]Time   // when that line was written; zero: never
}

// due reports whether a line about bound b is due at now, given its
// counter's value v, and if so records the line and returns the refusals
// it reports (since the previous line) and when that was (zero: never).
func (r *refusals) due(b bound, now Time, v uint64) (refused uint64, prev Time, ok bool) {
	if v <= r.logged[b] {
		return 0, 0, false
	}
	if r.at[b] != 0 && now.Sub(r.at[b]) < refusalLogInterval {
		return 0, 0, false
	}
	refused, prev = v-r.logged[b], r.at[b]
	r.logged[b], r.at[b] = v, now
	return refused, prev, true
}

// refusalCounters returns the core's counters of refused input, by bound.
// It reads the fields directly: Core.Stats copies every counter, and this
// runs after every step.
func (n *Node) refusalCounters() [numBounds]uint64 {
	c := n.core
	return [numBounds]uint64{
		boundMembers:      c.stats.RefusedMembers,
		boundState:        c.stats.RefusedState,
		boundUpdates:      c.q.dropped,
		boundTransfers:    c.stats.DropBusy,
		boundDecompressed: c.stats.DropTooLarge,
	}
}

// logRefusals writes the rate-limited log lines about input the core
// refused at a bound. It runs on the core goroutine after every step; in
// the common case, nothing refused since the last line, it compares five
// counters and returns.
func (n *Node) logRefusals() {
	v := n.refusalCounters()
	if v == n.refused.logged {
		return
	}
	now := n.now()
	for b := range numBounds {
		refused, prev, ok := n.refused.due(b, now, v[b])
		if !ok {
			continue
		}
		attrs := []slog.Attr{
			slog.Uint64("refused", refused),
			slog.Uint64("total", v[b]),
			slog.String("limit", n.boundLimit(b)),
		}
		if prev != 0 {
			attrs = append(attrs, slog.Duration("since_last_line", now.Sub(prev).Round(time.Second)))
		}
		n.log.LogAttrs(context.Background(), slog.LevelWarn, refusalMessages[b], attrs...)
	}
}

// boundLimit describes the configured value of bound b, for the log line.
func (n *Node) boundLimit(b bound) string {
	switch b {
	case boundMembers:
		return fmt.Sprintf("MaxMembers=%d", n.cfg.MaxMembers)
	case boundState:
		return fmt.Sprintf("MaxStateKeys=%d MaxStateBytes=%d", n.cfg.MaxStateKeys, n.cfg.MaxStateBytes)
	case boundUpdates:
		return fmt.Sprintf("MaxPendingUpdates=%d", n.cfg.MaxPendingUpdates)
	case boundTransfers:
		return fmt.Sprintf("MaxTransfers=%d", n.cfg.MaxTransfers)
	default:
		return fmt.Sprintf("%d bytes", maxBody)
	}
}
