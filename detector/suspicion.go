package detector

import (
	"errors"
	"math"
	"strconv"
	"time"
)

// Defaults and limits of SuspicionConfig.
const (
	// DefaultSuspicionMinBase is the minimum suspicion timeout for
	// clusters of up to SuspicionScaleFrom members. One second is the
	// smallest round value that keeps a node paused for 2 s alive at the
	// LAN preset; see "Worked examples" in the package documentation.
	DefaultSuspicionMinBase = time.Second
	// DefaultSuspicionMaxFactor is Lifeguard's β: a suspicion nobody
	// confirms lasts 6 × Min.
	DefaultSuspicionMaxFactor = 6.0
	// DefaultSuspicionExpected is Lifeguard's K: two confirmations beyond
	// the first accuser (all three observers of the LAN preset) take the
	// timeout down to Min.
	DefaultSuspicionExpected = 2
	// SuspicionScaleFrom is the cluster size above which Min grows with
	// log10(n).
	SuspicionScaleFrom = 10_000
	// MaxWitnesses is how many distinct witnesses (the accuser and its
	// confirmers) a Suspicion records.
	MaxWitnesses = 8
)

// SuspicionConfig holds the suspicion-timer parameters (Lifeguard's
// "dogpile" timeout). A suspicion lasts Max when nobody confirms it and
// shrinks toward Min, on a logarithmic curve, as independent confirmations
// arrive. The zero value of every field selects its default.
//
// Size scaling: Min(n) = MinBase × max(1, log10(n) / log10(SuspicionScaleFrom)).
// The floor, MinBase, is set by the time a paused or briefly
// unreachable node needs to be heard again after it has been suspected;
// that does not depend on n. Above 10,000 members the timeout also has to
// cover the time for a refutation to spread, which grows as log n
// (Lifeguard and memberlist scale by log10 n for the same reason), so Min
// grows by the same factor: 1 s up to 10,000 members, 1.25 s at 100,000,
// 1.5 s at 1,000,000 with the defaults.
type SuspicionConfig struct {
	// MinBase is Min for clusters of up to SuspicionScaleFrom members.
	// Default 1s. Must be positive.
	MinBase time.Duration
	// MaxFactor is Max / Min (Lifeguard's β). Default 6. Must be at
	// least 1 and finite.
	MaxFactor float64
	// Expected is the number of confirmations, beyond the first accuser,
	// that take the timeout to Min (Lifeguard's K). Default 2. Must be
	// between 1 and MaxWitnesses−1.
	Expected int
}

// WithDefaults returns c with every zero field replaced by its default.
func (c SuspicionConfig) WithDefaults() SuspicionConfig {
	if c.MinBase == 0 {
		c.MinBase = DefaultSuspicionMinBase
	}
	if c.MaxFactor == 0 {
		c.MaxFactor = DefaultSuspicionMaxFactor
	}
	if c.Expected == 0 {
		c.Expected = DefaultSuspicionExpected
	}
	return c
}

// Validate reports every problem with c (after WithDefaults) at once, as
// ConfigErrors joined with errors.Join; each matches ErrInvalidConfig.
func (c SuspicionConfig) Validate() error {
	c = c.WithDefaults()
	var errs []error
	bad := func(field, reason string) {
		errs = append(errs, &ConfigError{Field: "SuspicionConfig." + field, Reason: reason})
	}
	if c.MinBase < 0 {
		bad("MinBase", "must be positive")
	}
	if !(c.MaxFactor >= 1) || math.IsInf(c.MaxFactor, 1) {
		bad("MaxFactor", "must be at least 1 and finite")
	}
	if c.Expected < 1 || c.Expected > MaxWitnesses-1 {
		bad("Expected", "must be between 1 and "+strconv.Itoa(MaxWitnesses-1))
	}
	return errors.Join(errs...)
}

// sanitize applies defaults and replaces invalid fields by their defaults,
// so the timer math never fails.
func (c SuspicionConfig) sanitize() SuspicionConfig {
	c = c.WithDefaults()
	if c.MinBase < 0 {
		c.MinBase = DefaultSuspicionMinBase
	}
	if !(c.MaxFactor >= 1) || math.IsInf(c.MaxFactor, 1) {
		c.MaxFactor = DefaultSuspicionMaxFactor
	}
	switch {
	case c.Expected < 1:
		c.Expected = DefaultSuspicionExpected
	case c.Expected > MaxWitnesses-1:
		c.Expected = MaxWitnesses - 1
	}
	return c
}

// Min returns the shortest suspicion timeout for a cluster of n members:
// MinBase × max(1, log10(n)/log10(SuspicionScaleFrom)). Invalid fields
// are replaced by their defaults here and in Max and Timeout.
func (c SuspicionConfig) Min(n int) time.Duration {
	c = c.sanitize()
	if n <= SuspicionScaleFrom {
		return c.MinBase
	}
	return mulDuration(c.MinBase, math.Log10(float64(n))/math.Log10(SuspicionScaleFrom))
}

// Max returns the longest suspicion timeout, the one with no
// confirmations: MaxFactor × Min(n).
func (c SuspicionConfig) Max(n int) time.Duration {
	c = c.sanitize()
	return mulDuration(c.Min(n), c.MaxFactor)
}

// Timeout returns the suspicion timeout for a cluster of n members after
// the given number of independent confirmations (beyond the accuser):
//
//	Max − (Max − Min) · ln(confirmations+1) / ln(Expected+1)
//
// clamped to [Min, Max]: Max with none, Min with Expected or more.
func (c SuspicionConfig) Timeout(n, confirmations int) time.Duration {
	c = c.sanitize()
	return shrink(c.Min(n), c.Max(n), confirmations, c.Expected)
}

// shrink is Lifeguard's curve; Suspicion and SuspicionConfig.Timeout share
// it so that their results are identical.
func shrink(lo, hi time.Duration, c, k int) time.Duration {
	switch {
	case c <= 0:
		return hi
	case c >= k:
		return lo
	}
	frac := math.Log(float64(c+1)) / math.Log(float64(k+1))
	d := time.Duration(math.Round(float64(hi) - float64(hi-lo)*frac))
	return min(max(d, lo), hi)
}

// mulDuration returns d×f rounded to the nanosecond, saturated at the
// largest Duration.
func mulDuration(d time.Duration, f float64) time.Duration {
	x := math.Round(float64(d) * f)
	if x >= math.MaxInt64 {
		return math.MaxInt64
	}
	return time.Duration(x)
}

// Suspicion is the timer of one suspicion: when it started, who has
// witnessed it, and when it expires. It is a plain value (112 bytes)
// meant to live in the suspected member's record; it never
// allocates. Witnesses are member IDs; the accuser that started the
// suspicion is the first, and each distinct later witness is a
// confirmation that brings the deadline closer.
//
// The zero Suspicion is not started: Confirm ignores witnesses and Expired
// is false until Start is called. A Suspicion is not safe for concurrent
// use.
type Suspicion struct {
	start     Time
	deadline  Time
	min, max  time.Duration
	k         int
	count     int // witnesses recorded; 0 means not started
	witnesses [MaxWitnesses]uint64
}

// Start begins (or restarts) a suspicion at now in a cluster of n members,
// accused by witness, with the timer parameters of cfg (zero fields select
// defaults, invalid ones are replaced by defaults). Its deadline is now +
// cfg.Max(n) until confirmations arrive.
func (s *Suspicion) Start(now Time, n int, witness uint64, cfg SuspicionConfig) {
	cfg = cfg.sanitize()
	s.start = now
	s.min, s.max = cfg.Min(n), cfg.Max(n)
	s.k = cfg.Expected
	s.witnesses[0] = witness
	s.count = 1
	s.deadline = now.Add(s.max)
}

// Started reports whether Start has been called.
func (s *Suspicion) Started() bool { return s.count > 0 }

// StartTime returns the time the suspicion started.
func (s *Suspicion) StartTime() Time { return s.start }

// Confirm records witness as having independently suspected the same
// node. It reports whether the witness was counted: false for a witness
// already recorded (including the accuser), for a suspicion that was not
// started, and once MaxWitnesses are recorded (by then the timeout has
// long reached Min). A counted confirmation moves the deadline to
// StartTime + Timeout(n, Confirmations()).
func (s *Suspicion) Confirm(witness uint64) bool {
	if s.count == 0 {
		return false
	}
	for _, w := range s.witnesses[:s.count] {
		if w == witness {
			return false
		}
	}
	if s.count == len(s.witnesses) {
		return false
	}
	s.witnesses[s.count] = witness
	s.count++
	s.deadline = s.start.Add(shrink(s.min, s.max, s.count-1, s.k))
	return true
}

// Confirmations returns the number of distinct witnesses beyond the
// accuser.
func (s *Suspicion) Confirmations() int { return max(s.count-1, 0) }

// Timeout returns the current length of the suspicion, Deadline minus
// StartTime (0 if not started).
func (s *Suspicion) Timeout() time.Duration {
	if s.count == 0 {
		return 0
	}
	return s.deadline.Sub(s.start)
}

// Deadline returns the instant at which the suspicion expires given the
// confirmations so far; MaxTime if it was not started.
func (s *Suspicion) Deadline() Time {
	if s.count == 0 {
		return MaxTime
	}
	return s.deadline
}

// Expired reports whether now is at or past the deadline: the suspected
// node should be declared dead. It is false if the suspicion was not
// started.
func (s *Suspicion) Expired(now Time) bool {
	return s.count > 0 && now >= s.deadline
}
