package detector

import (
	"math"
	"math/bits"
	"time"
)

// Phi is a phi accrual failure detector for one monitored node (Hayashibara
// et al.). It keeps the last Window heartbeat inter-arrival intervals in a
// ring buffer with exact running sums, fits a normal (or exponential)
// distribution to them, and reports phi = −log10 P(silence at least this
// long), which grows continuously while the node stays silent.
//
// A Phi may be embedded by value in a larger struct and set up with Init;
// NewPhi allocates one. The zero Phi is usable and behaves as
// NewPhi(PhiConfig{}), allocating its window on its first heartbeat. Init
// (or that first heartbeat) is the only allocation: Heartbeat and every
// query are O(1) and allocation-free. Copying an initialised Phi shares
// its window; do not use both copies.
//
// A Phi is not safe for concurrent use.
type Phi struct {
	cfg  PhiConfig // sanitized: defaults applied, every field valid
	ring []int64   // intervals in ns; len(ring) == cfg.Window once initialised
	head int       // index of the next write
	n    int       // intervals held, at most len(ring)

	// Exact sums over the ring: sum < 2⁶² and sq < 2¹¹² by the limits on
	// Window and MaxInterval, so nothing is ever lost to rounding when
	// intervals enter and leave.
	sum        int64
	sqHi, sqLo uint64

	last Time // time of the latest heartbeat
	beat bool // a heartbeat was recorded since Init or Reset

	// Estimates, refreshed when the window changes; queries read only
	// these.
	mean, std float64 // window mean and standard deviation in ns
	shift     float64 // where the model starts, in ns after last
	scale     float64 // normal: 1/(σ·√2); exponential: 1/(mean·ln 10)

	xThr float64 // normal: the standardized x at which phi = Threshold
}

// NewPhi returns a detector configured by cfg. Zero fields select their
// defaults; fields that cfg.Validate would reject are replaced by their
// defaults or clamped to their hard limits (call Validate to reject them
// instead). The window is allocated here.
func NewPhi(cfg PhiConfig) *Phi {
	p := new(Phi)
	p.Init(cfg)
	return p
}

// Init configures p as NewPhi does and forgets its history. It reuses p's
// window when that is large enough, so re-initialising with the same or a
// smaller Window does not allocate.
func (p *Phi) Init(cfg PhiConfig) {
	p.cfg = cfg.sanitize()
	p.xThr = invNormalPhi(p.cfg.Threshold)
	if cap(p.ring) >= p.cfg.Window {
		p.ring = p.ring[:p.cfg.Window]
	} else {
		p.ring = make([]int64, p.cfg.Window)
	}
	p.Reset()
}

// Config returns the configuration in use, with defaults applied.
func (p *Phi) Config() PhiConfig {
	if p.ring == nil {
		return PhiConfig{}.sanitize()
	}
	return p.cfg
}

// Reset forgets every heartbeat, keeping the configuration and the window's
// memory; use it when the monitored node restarts.
func (p *Phi) Reset() {
	p.head, p.n = 0, 0
	p.sum, p.sqHi, p.sqLo = 0, 0, 0
	p.last, p.beat = 0, false
	p.refresh()
}

// Heartbeat records a heartbeat that arrived at now.
//
// The interval since the previous heartbeat enters the window, capped at
// MaxInterval; when the window is full the oldest interval leaves it. A
// heartbeat at the same instant as the previous one records a zero
// interval (a duplicate or a batch delivered together), which keeps the
// window's mean equal to its time span divided by its count. A heartbeat
// earlier than the previous one is ignored: with a monotonic clock it can
// only come from misuse, and it carries no news.
func (p *Phi) Heartbeat(now Time) {
	if p.ring == nil {
		p.Init(PhiConfig{})
	}
	if !p.beat {
		p.beat, p.last = true, now
		return
	}
	if now < p.last {
		return
	}
	iv := uint64(now) - uint64(p.last) // exact: 0 ≤ now−last < 2⁶⁴
	if max := uint64(p.cfg.MaxInterval); iv > max {
		iv = max
	}
	p.last = now
	p.push(iv)
	p.refresh()
}

// HeartbeatAfter records a heartbeat that arrived at now after missed
// earlier heartbeats were lost in transit (the sender numbers them), as
// Heartbeat does but with the interval divided by missed+1: the silence
// spanned that many periods, and recording the per-period interval keeps
// loss from widening the distribution. So loss that ends leaves no trace in
// how soon the detector suspects; the caller accounts for loss separately
// (how many periods of silence it takes before it acts).
func (p *Phi) HeartbeatAfter(now Time, missed int) {
	if missed <= 0 || !p.beat || now < p.last || p.ring == nil {
		p.Heartbeat(now)
		return
	}
	iv := (uint64(now) - uint64(p.last)) / uint64(missed+1)
	if max := uint64(p.cfg.MaxInterval); iv > max {
		iv = max
	}
	p.last = now
	p.push(iv)
	p.refresh()
}

// push adds one interval to the ring and the sums, evicting the oldest
// when the ring is full.
func (p *Phi) push(iv uint64) {
	if p.n == len(p.ring) {
		old := uint64(p.ring[p.head])
		p.sum -= int64(old)
		hi, lo := bits.Mul64(old, old)
		var borrow uint64
		p.sqLo, borrow = bits.Sub64(p.sqLo, lo, 0)
		p.sqHi, _ = bits.Sub64(p.sqHi, hi, borrow)
	} else {
		p.n++
	}
	p.ring[p.head] = int64(iv)
	if p.head++; p.head == len(p.ring) {
		p.head = 0
	}
	p.sum += int64(iv)
	hi, lo := bits.Mul64(iv, iv)
	var carry uint64
	p.sqLo, carry = bits.Add64(p.sqLo, lo, 0)
	p.sqHi, _ = bits.Add64(p.sqHi, hi, carry)
}

// refresh recomputes the estimates from the sums. The variance numerator
// n·Σx² − (Σx)² is computed exactly in 128-bit integers and rounded once
// to float64, so the standard deviation is correct to about one part in
// 10¹⁶ however small it is relative to the mean (no cancellation, no
// drift, no periodic recomputation).
func (p *Phi) refresh() {
	if p.n < 2 {
		p.mean = float64(p.cfg.FirstInterval)
		p.std = p.mean / 4
	} else {
		n, s := uint64(p.n), uint64(p.sum)
		h1, l1 := bits.Mul64(n, p.sqLo)
		h1 += n * p.sqHi // n·Σx² < 2¹²⁴: no overflow
		h2, l2 := bits.Mul64(s, s)
		lo, borrow := bits.Sub64(l1, l2, 0)
		hi, _ := bits.Sub64(h1, h2, borrow)
		num := float64(hi)*0x1p64 + float64(lo)
		p.mean = float64(s) / float64(n)
		p.std = math.Sqrt(num) / float64(n)
	}
	pause := float64(p.cfg.AcceptablePause)
	floor := float64(p.cfg.MinStdDev)
	switch p.cfg.Distribution {
	case Exponential:
		p.shift = pause
		p.scale = 1 / (max(p.mean, floor) * math.Ln10)
	default:
		p.shift = p.mean + pause
		p.scale = 1 / (max(p.std, floor) * math.Sqrt2)
	}
}

// Phi returns the suspicion level at now: −log10 of the probability, under
// the fitted model, that a heartbeat interval is at least as long as the
// time since the last heartbeat. It is 0 before the first heartbeat, never
// NaN or negative, and non-decreasing in now between heartbeats. It has no
// cap: with the normal model it is exact (to a few units in the last
// place) at every level, growing like the square of the silence.
func (p *Phi) Phi(now Time) float64 {
	if !p.beat {
		return 0
	}
	return p.phiAfter(float64(now.Sub(p.last)))
}

// phiAfter returns phi after elapsed ns of silence.
func (p *Phi) phiAfter(elapsed float64) float64 {
	if p.cfg.Distribution == Exponential {
		// P(X ≥ e) = exp(−(e−pause)/mean): phi is linear in e.
		if e := elapsed - p.shift; e > 0 {
			return e * p.scale
		}
		return 0
	}
	return normalPhi((elapsed - p.shift) * p.scale)
}

// Level returns Phi(now).
func (p *Phi) Level(now Time) float64 { return p.Phi(now) }

// Suspicious reports whether Phi(now) is at or above the threshold.
func (p *Phi) Suspicious(now Time) bool { return p.beat && p.Phi(now) >= p.cfg.Threshold }

// SuspectAt returns the earliest instant, not before the last heartbeat, at
// which Suspicious becomes true if no further heartbeat arrives; MaxTime
// means never, or not before MaxTime (no heartbeat yet, or a threshold
// beyond reach within the range of Time). The engine can schedule its next check there instead of polling.
// It costs a few Phi evaluations and does not allocate.
func (p *Phi) SuspectAt() Time {
	if !p.beat {
		return MaxTime
	}
	thr := p.cfg.Threshold
	var est float64 // estimated elapsed ns at the crossing
	if p.cfg.Distribution == Exponential {
		est = p.shift + thr/p.scale
	} else {
		est = p.shift + p.xThr/p.scale
	}
	limit := int64(MaxTime.Sub(p.last)) // the latest elapsed that fits in Time
	hit := func(e int64) bool { return p.phiAfter(float64(e)) >= thr }
	var e int64
	switch {
	case !(est > 0): // also NaN
		e = 0
	case est >= float64(limit):
		e = limit
	default:
		e = int64(est)
	}
	// Bracket the crossing by galloping away from the estimate, then
	// bisect; lo is never a hit and hi always is. The estimate is usually
	// within a nanosecond, so this takes two or three evaluations.
	var lo, hi int64
	if hit(e) {
		hi = e
		for step := int64(1); ; step *= 2 {
			if step >= hi {
				if hit(0) {
					return p.last
				}
				lo = 0
				break
			}
			if !hit(hi - step) {
				lo = hi - step
				break
			}
			hi -= step
		}
	} else {
		lo = e
		for step := int64(1); ; step *= 2 {
			if step >= limit-lo {
				if !hit(limit) {
					return MaxTime
				}
				hi = limit
				break
			}
			if hit(lo + step) {
				hi = lo + step
				break
			}
			lo += step
		}
	}
	for hi-lo > 1 {
		mid := lo + (hi-lo)/2
		if hit(mid) {
			hi = mid
		} else {
			lo = mid
		}
	}
	return p.last.Add(time.Duration(hi))
}

// Samples returns the number of intervals in the window: one less than the
// heartbeats recorded since Init or Reset, at most Window.
func (p *Phi) Samples() int { return p.n }

// Mean returns the mean inter-arrival interval of the window, rounded to
// the nanosecond; FirstInterval while the window holds fewer than two
// intervals. It does not include AcceptablePause.
func (p *Phi) Mean() time.Duration {
	if p.ring == nil {
		return DefaultFirstInterval
	}
	return time.Duration(math.Round(p.mean))
}

// StdDev returns the (population) standard deviation of the window's
// intervals, rounded to the nanosecond; a quarter of FirstInterval while
// the window holds fewer than two intervals. It is not floored at
// MinStdDev; the model is.
func (p *Phi) StdDev() time.Duration {
	if p.ring == nil {
		return DefaultFirstInterval / 4
	}
	return time.Duration(math.Round(p.std))
}

// Last returns the time of the latest recorded heartbeat, or 0 if none.
func (p *Phi) Last() Time { return p.last }
