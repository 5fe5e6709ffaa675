package detector

import (
	"math"
	"time"
)

// DefaultHealthMax is the default bound on the local health score
// (Lifeguard's S): timeouts stretch at most 9-fold.
const DefaultHealthMax = 8

// Health is Lifeguard's local health multiplier: a saturating score in
// [0, Max] that the node raises when it shows signs of being the slow one
// (a missed ack or nack, a failed probe, a suspicion of itself to refute)
// and lowers when a probe succeeds. Scale stretches the node's own probe
// timeouts by 1 + score, so an overloaded or paused node waits longer
// before accusing healthy peers.
//
// Health is a small value that never allocates; the zero Health is usable
// with DefaultHealthMax. It is not safe for concurrent use.
type Health struct {
	score int
	max   int
}

// NewHealth returns a Health with score 0 bounded by max; max ≤ 0 selects
// DefaultHealthMax.
func NewHealth(max int) Health { return Health{max: max} }

// Max returns the bound on the score.
func (h *Health) Max() int {
	if h.max <= 0 {
		return DefaultHealthMax
	}
	return h.max
}

// Failure raises the score by one, up to Max.
func (h *Health) Failure() {
	if h.score < h.Max() {
		h.score++
	}
}

// Success lowers the score by one, down to 0.
func (h *Health) Success() {
	if h.score > 0 {
		h.score--
	}
}

// Score returns the current score, in [0, Max].
func (h *Health) Score() int { return h.score }

// Scale returns d × (1 + Score()), saturated to the range of
// time.Duration.
func (h *Health) Scale(d time.Duration) time.Duration {
	m := time.Duration(1 + h.score)
	switch {
	case d > math.MaxInt64/m:
		return math.MaxInt64
	case d < math.MinInt64/m:
		return math.MinInt64
	}
	return d * m
}

// Reset sets the score back to 0.
func (h *Health) Reset() { h.score = 0 }
