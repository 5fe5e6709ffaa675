package detector

import (
	"math"
	"time"
)

// Time is a monotonic instant in nanoseconds since an arbitrary epoch. It is
// 8 bytes, comparable, and cheap to store in per-member state; the caller
// supplies it (from a monotonic clock in the runtime, from virtual time in
// the simulator), so nothing in this package reads a clock.
//
// Arithmetic saturates at MinTime and MaxTime instead of wrapping, so a
// far-future deadline never turns into a past one.
type Time int64

const (
	// MinTime is the earliest representable instant.
	MinTime Time = math.MinInt64
	// MaxTime is the latest representable instant. Methods that return a
	// deadline return MaxTime to mean "never".
	MaxTime Time = math.MaxInt64
)

// Add returns t+d, saturated to [MinTime, MaxTime].
func (t Time) Add(d time.Duration) Time {
	s := t + Time(d)
	switch {
	case d > 0 && s < t:
		return MaxTime
	case d < 0 && s > t:
		return MinTime
	}
	return s
}

// Sub returns the duration t-u, saturated to the range of time.Duration.
func (t Time) Sub(u Time) time.Duration {
	d := t - u
	// Without overflow the sign of d agrees with the order of t and u.
	if (d < 0) != (t < u) {
		if t > u {
			return math.MaxInt64
		}
		return math.MinInt64
	}
	return time.Duration(d)
}

// Before reports whether t is earlier than u.
func (t Time) Before(u Time) bool { return t < u }

// After reports whether t is later than u.
func (t Time) After(u Time) bool { return t > u }

// String formats t as the duration since the epoch, for example "1.5s".
func (t Time) String() string { return time.Duration(t).String() }
