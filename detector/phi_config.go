package detector

import (
	"errors"
	"math"
	"strconv"
	"time"
)

// Distribution selects the model of heartbeat inter-arrival times that Phi
// fits to its window.
type Distribution uint8

const (
	// Normal models inter-arrival times as normally distributed with the
	// window's mean and standard deviation (Hayashibara et al., Akka). It
	// adapts to jitter and loss: irregular arrivals widen the distribution
	// and delay suspicion. It is the default.
	Normal Distribution = iota
	// Exponential models inter-arrival times as exponentially distributed
	// with the window's mean, as Cassandra does. Phi then grows linearly
	// with the elapsed time and ignores the window's spread.
	Exponential
)

// String returns "normal", "exponential", or "Distribution(N)".
func (d Distribution) String() string {
	switch d {
	case Normal:
		return "normal"
	case Exponential:
		return "exponential"
	}
	return "Distribution(" + strconv.Itoa(int(d)) + ")"
}

// Defaults and hard limits of PhiConfig.
const (
	// DefaultThreshold is the phi at which a node becomes suspicious:
	// phi 8 means the model gives the current silence a probability of
	// 10⁻⁸.
	DefaultThreshold = 8.0
	// DefaultWindow is the number of inter-arrival intervals kept:
	// 100 s of history at one heartbeat a second.
	DefaultWindow = 100
	// MaxWindow is the hard upper bound on PhiConfig.Window. It keeps the
	// window's exact integer sums within 128 bits (see doc.go) and the
	// window at most 32 KiB per monitored node.
	MaxWindow = 4096
	// DefaultMinStdDev is the smallest standard deviation Phi uses, as in
	// Akka: a very regular node would otherwise be suspected after
	// milliseconds of delay.
	DefaultMinStdDev = 100 * time.Millisecond
	// DefaultAcceptablePause is 0, right for a LAN: no silence beyond the
	// learned distribution is forgiven up front.
	DefaultAcceptablePause time.Duration = 0
	// DefaultFirstInterval is the interval assumed before the window has
	// two samples: the LAN heartbeat period.
	DefaultFirstInterval = time.Second
	// DefaultMaxIntervalFactor sets the default MaxInterval to this many
	// times FirstInterval.
	DefaultMaxIntervalFactor = 10
	// MaxIntervalLimit is the hard upper bound on PhiConfig.MaxInterval
	// (2⁵⁰ ns, about 13 days). With MaxWindow it bounds the window's sum
	// below 2⁶² and the sum of squares, times the sample count, below
	// 2¹²⁸.
	MaxIntervalLimit = time.Duration(1 << 50)
)

// PhiConfig configures a phi accrual detector. The zero value of every field
// selects its default, so PhiConfig{} is the LAN configuration.
type PhiConfig struct {
	// Threshold is the phi at or above which the node is suspicious.
	// Default 8. Must be positive and finite. Near the default, one unit
	// of phi is about 0.4σ of extra silence under the normal model and
	// ln 10 ≈ 2.3 mean intervals under the exponential one.
	Threshold float64
	// Window is the number of most recent inter-arrival intervals the
	// estimate uses. Default 100; at least 2 and at most MaxWindow.
	// Memory is 8 bytes per interval. Larger windows react more slowly to
	// a change of regime and more smoothly to one-off delays.
	Window int
	// MinStdDev is the floor on the standard deviation of the normal
	// model, and on the mean of the exponential model (whose standard
	// deviation equals its mean). Default 100ms. Must be positive.
	MinStdDev time.Duration
	// AcceptablePause is silence forgiven on top of the learned
	// distribution: the model is shifted later by this much (Akka's
	// acceptable-heartbeat-pause). Default 0 (LAN). Must not be negative.
	AcceptablePause time.Duration
	// FirstInterval is the mean assumed while the window holds fewer than
	// two intervals; the standard deviation assumed then is a quarter of
	// it. Default 1s. Must be positive and at most MaxInterval.
	FirstInterval time.Duration
	// MaxInterval caps one recorded interval: a longer gap (a partition,
	// a long pause) is recorded as MaxInterval, so one outage cannot
	// blind the detector for a whole window. Default 10 × FirstInterval;
	// at most MaxIntervalLimit.
	MaxInterval time.Duration
	// Distribution is the model of inter-arrival times. Default Normal.
	Distribution Distribution
}

// WithDefaults returns c with every zero field replaced by its default.
// Non-zero fields are kept as they are, valid or not.
func (c PhiConfig) WithDefaults() PhiConfig {
	if c.Threshold == 0 {
		c.Threshold = DefaultThreshold
	}
	if c.Window == 0 {
		c.Window = DefaultWindow
	}
	if c.MinStdDev == 0 {
		c.MinStdDev = DefaultMinStdDev
	}
	if c.FirstInterval == 0 {
		c.FirstInterval = DefaultFirstInterval
	}
	if c.MaxInterval == 0 {
		first := c.FirstInterval
		if first < 0 {
			first = DefaultFirstInterval // reported by Validate, not twice
		}
		c.MaxInterval = DefaultMaxIntervalFactor * first
		if first > MaxIntervalLimit/DefaultMaxIntervalFactor {
			c.MaxInterval = MaxIntervalLimit
		}
	}
	return c
}

// Validate reports every problem with c (after WithDefaults) at once, as
// ConfigErrors joined with errors.Join; each matches ErrInvalidConfig.
func (c PhiConfig) Validate() error {
	c = c.WithDefaults()
	var errs []error
	bad := func(field, reason string) {
		errs = append(errs, &ConfigError{Field: "PhiConfig." + field, Reason: reason})
	}
	if !(c.Threshold > 0) || math.IsInf(c.Threshold, 1) {
		bad("Threshold", "must be positive and finite")
	}
	if c.Window < 2 || c.Window > MaxWindow {
		bad("Window", "must be between 2 and "+strconv.Itoa(MaxWindow))
	}
	if c.MinStdDev < 0 {
		bad("MinStdDev", "must be positive")
	}
	if c.AcceptablePause < 0 {
		bad("AcceptablePause", "must not be negative")
	}
	if c.FirstInterval < 0 {
		bad("FirstInterval", "must be positive")
	}
	if c.MaxInterval < 0 || c.MaxInterval > MaxIntervalLimit {
		bad("MaxInterval", "must be positive and at most "+MaxIntervalLimit.String())
	} else if c.FirstInterval > c.MaxInterval {
		bad("FirstInterval", "must not exceed MaxInterval")
	}
	if c.Distribution > Exponential {
		bad("Distribution", "must be Normal or Exponential")
	}
	return errors.Join(errs...)
}

// sanitize returns c with defaults applied and every field that Validate
// would reject replaced by its default or clamped to its limit, so that
// NewPhi never fails and Phi never divides by zero.
func (c PhiConfig) sanitize() PhiConfig {
	c = c.WithDefaults()
	if !(c.Threshold > 0) || math.IsInf(c.Threshold, 1) {
		c.Threshold = DefaultThreshold
	}
	switch {
	case c.Window < 2:
		c.Window = DefaultWindow
	case c.Window > MaxWindow:
		c.Window = MaxWindow
	}
	if c.MinStdDev < 0 {
		c.MinStdDev = DefaultMinStdDev
	}
	if c.AcceptablePause < 0 {
		c.AcceptablePause = 0
	}
	if c.MaxInterval < 0 {
		c.MaxInterval = 0 // recomputed below from FirstInterval
	}
	if c.FirstInterval < 0 {
		c.FirstInterval = DefaultFirstInterval
	}
	if c.FirstInterval > MaxIntervalLimit {
		c.FirstInterval = MaxIntervalLimit
	}
	c = c.WithDefaults()
	if c.MaxInterval > MaxIntervalLimit {
		c.MaxInterval = MaxIntervalLimit
	}
	if c.FirstInterval > c.MaxInterval {
		c.MaxInterval = c.FirstInterval
	}
	if c.Distribution > Exponential {
		c.Distribution = Normal
	}
	return c
}
