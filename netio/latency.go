package netio

import (
	"math"
	"math/rand/v2"
	"time"
)

// Shape names the distribution of the random part of a Latency.
type Shape uint8

// The shapes of Latency's random part X, always ≥ 0, with scale Jitter:
const (
	// Uniform: X is uniform on [0, Jitter). Mean Jitter/2. The zero Shape.
	Uniform Shape = iota
	// Normal: X is the absolute value of a normal variable with standard
	// deviation Jitter (half-normal). Mean ≈ 0.80·Jitter; 95% of samples
	// below 1.96·Jitter.
	Normal
	// Exponential: X is exponential with mean Jitter: a long tail, as on a
	// congested path. 1% of samples exceed 4.6·Jitter.
	Exponential
	// LogNormal: X = Jitter·exp(Sigma·Z) with Z standard normal: median
	// Jitter, a heavy right tail, as measured on real networks. Sigma
	// defaults to 0.5.
	LogNormal
)

// Latency is a one-way delay distribution: Base plus a random part X ≥ 0
// whose shape is Shape and whose scale is Jitter, optionally capped at Max.
// The zero Latency is no delay at all.
//
// Typical settings: a LAN is {Base: 100µs, Jitter: 50µs, Shape: Normal}; a
// WAN path is {Base: 20ms, Jitter: 2ms, Shape: LogNormal, Sigma: 1, Max:
// 500ms}.
type Latency struct {
	// Base is the fixed part of the delay (propagation), the minimum.
	Base time.Duration
	// Jitter is the scale of the random part; zero makes the delay Base.
	Jitter time.Duration
	// Shape is the distribution of the random part.
	Shape Shape
	// Sigma is the shape parameter of LogNormal (the standard deviation of
	// the log); zero means 0.5. Ignored by the other shapes.
	Sigma float64
	// Max caps the whole delay (Base plus X) when positive, so a heavy tail
	// cannot hold a datagram for ever.
	Max time.Duration
}

// Sample draws one delay from the distribution using rng. It draws from rng
// only when Jitter > 0, so a constant latency does not disturb the sequence
// of other random decisions. Negative Base and Jitter count as zero.
func (l Latency) Sample(rng *rand.Rand) time.Duration {
	d := max(l.Base, 0)
	if l.Jitter > 0 {
		j := float64(l.Jitter)
		var x float64
		switch l.Shape {
		case Normal:
			x = math.Abs(rng.NormFloat64()) * j
		case Exponential:
			x = rng.ExpFloat64() * j
		case LogNormal:
			s := l.Sigma
			if s == 0 {
				s = 0.5
			}
			x = j * math.Exp(s*rng.NormFloat64())
		default:
			x = rng.Float64() * j
		}
		// Clamp before converting: a float beyond the int64 range, or NaN
		// (from a NaN or infinite Sigma), would convert to an unspecified
		// value.
		switch {
		case !(x > 0):
		case x >= float64(math.MaxInt64-int64(d)):
			d = math.MaxInt64
		default:
			d += time.Duration(x)
		}
	}
	if l.Max > 0 && d > l.Max {
		d = l.Max
	}
	return d
}
