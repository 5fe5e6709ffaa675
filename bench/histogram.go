package bench

import (
	"math"
	"slices"
	"time"
)

// Histogram holds a distribution of measurements (usually latencies in
// seconds) and answers quantiles exactly. It keeps every sample: scenarios
// record at most a few million, and exact p99 and max are what an operator
// reads first. The zero Histogram is empty and ready to use. It is not safe
// for concurrent use.
type Histogram struct {
	samples []float64
	sorted  bool
	sum     float64
}

// Add records one sample. NaN is ignored.
func (h *Histogram) Add(v float64) {
	if math.IsNaN(v) {
		return
	}
	h.samples = append(h.samples, v)
	h.sorted = false
	h.sum += v
}

// AddDuration records a duration in seconds.
func (h *Histogram) AddDuration(d time.Duration) { h.Add(d.Seconds()) }

// Count returns the number of samples.
func (h *Histogram) Count() int { return len(h.samples) }

func (h *Histogram) sort() {
	if !h.sorted {
		slices.Sort(h.samples)
		h.sorted = true
	}
}

// Quantile returns the nearest-rank q-quantile (0 ≤ q ≤ 1): the smallest
// sample such that at least a fraction q of the samples are at most it.
// Quantile(0) is the minimum, Quantile(1) the maximum. It returns NaN when
// the histogram is empty.
func (h *Histogram) Quantile(q float64) float64 {
	n := len(h.samples)
	if n == 0 {
		return math.NaN()
	}
	h.sort()
	k := int(math.Ceil(q*float64(n))) - 1
	k = min(max(k, 0), n-1)
	return h.samples[k]
}

// P50 returns the median.
func (h *Histogram) P50() float64 { return h.Quantile(0.50) }

// P99 returns the 99th percentile.
func (h *Histogram) P99() float64 { return h.Quantile(0.99) }

// Min returns the smallest sample, or NaN when empty.
func (h *Histogram) Min() float64 { return h.Quantile(0) }

// Max returns the largest sample, or NaN when empty.
func (h *Histogram) Max() float64 { return h.Quantile(1) }

// Mean returns the arithmetic mean, or NaN when empty.
func (h *Histogram) Mean() float64 {
	if len(h.samples) == 0 {
		return math.NaN()
	}
	return h.sum / float64(len(h.samples))
}

// Bins divides [Min, Max] into n equal bins and returns, for each, its
// centre and the fraction of samples that fall in it: the shape of the
// distribution, for plotting. It returns nil when the histogram is empty.
func (h *Histogram) Bins(n int) []Point {
	if len(h.samples) == 0 || n < 1 {
		return nil
	}
	lo, hi := h.Min(), h.Max()
	if hi <= lo {
		return []Point{{X: lo, Y: 1}}
	}
	w := (hi - lo) / float64(n)
	counts := make([]int, n)
	for _, v := range h.samples {
		k := min(int((v-lo)/w), n-1)
		counts[k]++
	}
	pts := make([]Point, n)
	for k, c := range counts {
		pts[k] = Point{X: lo + w*(float64(k)+0.5), Y: float64(c) / float64(len(h.samples))}
	}
	return pts
}

// CDF returns about n points (x, fraction of samples ≤ x) of the empirical
// distribution function, evenly spaced in rank, starting at (minimum, 0)
// and ending at (maximum, 1), for a step plot.
func (h *Histogram) CDF(n int) []Point {
	m := len(h.samples)
	if m == 0 || n < 2 {
		return nil
	}
	h.sort()
	step := max(1, m/n)
	pts := []Point{{X: h.samples[0], Y: 0}}
	for k := 0; k < m; k += step {
		pts = append(pts, Point{X: h.samples[k], Y: float64(k+1) / float64(m)})
	}
	if last := pts[len(pts)-1]; last.Y < 1 {
		pts = append(pts, Point{X: h.samples[m-1], Y: 1})
	}
	return pts
}
