package detector

import "time"

// DefaultTimeout is the timeout of a zero Timeout or of NewTimeout(d) with
// d ≤ 0: three heartbeat periods at the LAN preset.
const DefaultTimeout = 3 * time.Second

// Timeout is the fixed-timeout baseline detector: the monitored node is
// suspicious once the time since its last heartbeat reaches a fixed
// duration, whatever its history. It implements Detector so benchmarks can
// compare it with Phi. The zero Timeout is usable, with DefaultTimeout.
//
// A Timeout is a small value, never allocates, and is not safe for
// concurrent use.
type Timeout struct {
	d    time.Duration
	last Time
	beat bool
}

// NewTimeout returns a fixed-timeout detector that suspects after d of
// silence; d ≤ 0 selects DefaultTimeout.
func NewTimeout(d time.Duration) *Timeout {
	t := new(Timeout)
	t.Init(d)
	return t
}

// Init sets the timeout to d (d ≤ 0 selects DefaultTimeout) and forgets
// history.
func (t *Timeout) Init(d time.Duration) {
	*t = Timeout{d: d}
}

// Duration returns the timeout in use.
func (t *Timeout) Duration() time.Duration {
	if t.d <= 0 {
		return DefaultTimeout
	}
	return t.d
}

// Heartbeat records a heartbeat at now. As with Phi, a heartbeat earlier
// than the previous one is ignored.
func (t *Timeout) Heartbeat(now Time) {
	if !t.beat || now >= t.last {
		t.last, t.beat = now, true
	}
}

// Level returns the time since the last heartbeat divided by the timeout:
// 0 before the first heartbeat (and for a now before it), 1 at the
// timeout.
func (t *Timeout) Level(now Time) float64 {
	if !t.beat || now <= t.last {
		return 0
	}
	return float64(now.Sub(t.last)) / float64(t.Duration())
}

// Suspicious reports whether the time since the last heartbeat is at least
// the timeout. It is false before the first heartbeat.
func (t *Timeout) Suspicious(now Time) bool {
	// As SuspectAt says: never when that saturates at MaxTime.
	s := t.SuspectAt()
	return s != MaxTime && now >= s
}

// SuspectAt returns the instant at which Suspicious becomes true if no
// further heartbeat arrives: the last heartbeat plus the timeout, or
// MaxTime before the first heartbeat.
func (t *Timeout) SuspectAt() Time {
	if !t.beat {
		return MaxTime
	}
	return t.last.Add(t.Duration())
}

// Last returns the time of the latest recorded heartbeat, or 0 if none.
func (t *Timeout) Last() Time { return t.last }

// Reset forgets the last heartbeat, keeping the timeout.
func (t *Timeout) Reset() { t.last, t.beat = 0, false }
