package detector_test

import (
	"math"
	"testing"
	"time"

	"github.com/hearsay-io/hearsay/detector"
)

const sec = detector.Time(time.Second)

func at(d time.Duration) detector.Time { return detector.Time(d) }

// beats records heartbeats every period from start, count of them, and
// returns the time of the last.
func beats(p detector.Detector, start detector.Time, period time.Duration, count int) detector.Time {
	t := start
	for i := range count {
		if i > 0 {
			t = t.Add(period)
		}
		p.Heartbeat(t)
	}
	return t
}

func TestPhiZeroValue(t *testing.T) {
	var p detector.Phi
	if got := p.Phi(100 * sec); got != 0 {
		t.Errorf("zero Phi: Phi(100s) = %v, want 0", got)
	}
	if p.Suspicious(100 * sec) {
		t.Errorf("zero Phi: Suspicious(100s) = true, want false")
	}
	if got := p.SuspectAt(); got != detector.MaxTime {
		t.Errorf("zero Phi: SuspectAt() = %v, want MaxTime", got)
	}
	if got, want := p.Config(), (detector.PhiConfig{}).WithDefaults(); got != want {
		t.Errorf("zero Phi: Config() = %+v, want %+v", got, want)
	}
	if got := p.Mean(); got != time.Second {
		t.Errorf("zero Phi: Mean() = %v, want 1s", got)
	}
	last := beats(&p, 0, time.Second, 101)
	if got := p.Samples(); got != 100 {
		t.Errorf("zero Phi after 101 beats: Samples() = %d, want 100 (the default window)", got)
	}
	if !p.Suspicious(last.Add(2 * time.Second)) {
		t.Errorf("zero Phi after 101 beats: Suspicious(last+2s) = false, want true")
	}
}

// TestPhiBootstrap checks the estimate before two intervals: mean
// FirstInterval, standard deviation a quarter of it.
func TestPhiBootstrap(t *testing.T) {
	p := detector.NewPhi(detector.PhiConfig{FirstInterval: 2 * time.Second})
	p.Heartbeat(10 * sec)
	for _, c := range []struct {
		name      string
		got, want any
	}{
		{"Samples()", p.Samples(), 0},
		{"Mean()", p.Mean(), 2 * time.Second},
		{"StdDev()", p.StdDev(), 500 * time.Millisecond},
		{"Last()", p.Last(), 10 * sec},
		{"Phi(12s)", p.Phi(12 * sec), math.Log10(2)}, // at the mean: P = ½
	} {
		if c.got != c.want {
			t.Errorf("after one heartbeat: %s = %v, want %v", c.name, c.got, c.want)
		}
	}
	p.Heartbeat(11 * sec) // one interval of 1 s: still the bootstrap estimate
	if got := p.Mean(); got != 2*time.Second {
		t.Errorf("after one interval: Mean() = %v, want the bootstrap 2s", got)
	}
	p.Heartbeat(12*sec + sec/2) // 1 s and 1.5 s
	if got, want := p.Mean(), 1250*time.Millisecond; got != want {
		t.Errorf("after two intervals: Mean() = %v, want %v", got, want)
	}
	if got, want := p.StdDev(), 250*time.Millisecond; got != want {
		t.Errorf("after two intervals: StdDev() = %v, want %v", got, want)
	}
}

// TestPhiWindow checks eviction, the treatment of equal and earlier
// times, and the MaxInterval cap.
func TestPhiWindow(t *testing.T) {
	ms := func(v int) detector.Time { return detector.Time(v) * detector.Time(time.Millisecond) }
	tests := []struct {
		name     string
		cfg      detector.PhiConfig
		arrivals []detector.Time
		samples  int
		mean     time.Duration
		std      time.Duration
	}{
		{"fills", detector.PhiConfig{Window: 3}, []detector.Time{0, ms(100), ms(300)}, 2, 150 * time.Millisecond, 50 * time.Millisecond},
		{"evicts oldest", detector.PhiConfig{Window: 3}, []detector.Time{0, ms(1000), ms(1100), ms(1300), ms(1600)}, 3, 200 * time.Millisecond, 81649658},
		{"wraps many times", detector.PhiConfig{Window: 2}, []detector.Time{0, ms(5), ms(10), ms(15), ms(20), ms(30), ms(50)}, 2, 15 * time.Millisecond, 5 * time.Millisecond},
		{"equal time is a zero interval", detector.PhiConfig{}, []detector.Time{0, ms(1000), ms(1000), ms(2000)}, 3, 666666667, 471404521},
		{"earlier time ignored", detector.PhiConfig{}, []detector.Time{0, ms(1000), ms(500), ms(2000)}, 2, time.Second, 0},
		{"long gap capped", detector.PhiConfig{MaxInterval: 3 * time.Second}, []detector.Time{0, ms(1000), ms(61000)}, 2, 2 * time.Second, time.Second},
		{"negative epoch", detector.PhiConfig{}, []detector.Time{-ms(3000), -ms(2000), -ms(1000)}, 2, time.Second, 0},
		{"huge jump from MinTime", detector.PhiConfig{MaxInterval: detector.MaxIntervalLimit},
			[]detector.Time{detector.MinTime, detector.MaxTime, detector.MaxTime}, 2, detector.MaxIntervalLimit / 2, detector.MaxIntervalLimit / 2},
	}
	for _, tt := range tests {
		p := detector.NewPhi(tt.cfg)
		for _, a := range tt.arrivals {
			p.Heartbeat(a)
		}
		if got := p.Samples(); got != tt.samples {
			t.Errorf("%s: Samples() = %d, want %d", tt.name, got, tt.samples)
		}
		if got := p.Mean(); got != tt.mean {
			t.Errorf("%s: Mean() = %v, want %v", tt.name, got, tt.mean)
		}
		if got := p.StdDev(); got != tt.std {
			t.Errorf("%s: StdDev() = %v, want %v", tt.name, got, tt.std)
		}
	}
}

// TestPhiExactSums pushes the largest intervals through the largest
// window many times: the 128-bit sums must neither overflow nor drift.
func TestPhiExactSums(t *testing.T) {
	p := detector.NewPhi(detector.PhiConfig{Window: detector.MaxWindow, MaxInterval: detector.MaxIntervalLimit})
	now := detector.MinTime // room for 5·MaxWindow/2 intervals of 2⁵⁰ ns
	p.Heartbeat(now)
	for i := range 3 * detector.MaxWindow {
		if i%2 == 0 {
			now += detector.Time(detector.MaxIntervalLimit)
		}
		p.Heartbeat(now) // alternately the limit and zero
	}
	if got, want := p.Mean(), detector.MaxIntervalLimit/2; got != want {
		t.Errorf("alternating limit and zero: Mean() = %v, want %v", got, want)
	}
	if got, want := p.StdDev(), detector.MaxIntervalLimit/2; got != want {
		t.Errorf("alternating limit and zero: StdDev() = %v, want %v", got, want)
	}
	for range detector.MaxWindow {
		now += detector.Time(detector.MaxIntervalLimit)
		p.Heartbeat(now)
	}
	if got := p.StdDev(); got != 0 {
		t.Errorf("window of equal intervals after churn: StdDev() = %v, want exactly 0", got)
	}
	// Small σ next to a large mean is where E[x²]−E[x]² in float64
	// cancels to garbage; the integer sums keep it exact.
	q := detector.NewPhi(detector.PhiConfig{Window: 4, MaxInterval: time.Hour})
	now = 0
	q.Heartbeat(now)
	for i := range 1000 {
		now += detector.Time(time.Hour - time.Duration(i%2)) // 1h, 1h−1ns, …
		q.Heartbeat(now)
	}
	if got, want := q.StdDev(), time.Duration(1); got != want { // σ = 0.5 ns, rounded
		t.Errorf("intervals of 1h and 1h−1ns: StdDev() = %v, want %v", got, want)
	}
}

func TestPhiReset(t *testing.T) {
	p := detector.NewPhi(detector.PhiConfig{})
	last := beats(p, 0, 300*time.Millisecond, 50)
	p.Reset()
	if got := p.Samples(); got != 0 {
		t.Errorf("after Reset: Samples() = %d, want 0", got)
	}
	if got := p.Phi(last.Add(time.Hour)); got != 0 {
		t.Errorf("after Reset: Phi(+1h) = %v, want 0", got)
	}
	if p.Suspicious(last.Add(time.Hour)) {
		t.Errorf("after Reset: Suspicious(+1h) = true, want false")
	}
	p.Heartbeat(last - sec) // earlier than before the Reset: accepted
	if got := p.Last(); got != last-sec {
		t.Errorf("after Reset and a heartbeat at %v: Last() = %v, want it", last-sec, got)
	}
	if got := p.Mean(); got != time.Second {
		t.Errorf("after Reset: Mean() = %v, want the bootstrap 1s", got)
	}
}

// TestPhiInitReuses checks that Init reuses the window when it is large
// enough and otherwise grows it, and always forgets history.
func TestPhiInitReuses(t *testing.T) {
	var p detector.Phi
	p.Init(detector.PhiConfig{Window: 200})
	beats(&p, 0, time.Second, 300)
	if got := testing.AllocsPerRun(10, func() { p.Init(detector.PhiConfig{Window: 50}) }); got != 0 {
		t.Errorf("Init with a smaller window: %v allocations, want 0", got)
	}
	if got := p.Samples(); got != 0 {
		t.Errorf("after Init: Samples() = %d, want 0", got)
	}
	beats(&p, 0, time.Second, 300)
	if got := p.Samples(); got != 50 {
		t.Errorf("after Init(Window 50) and 300 beats: Samples() = %d, want 50", got)
	}
	p.Init(detector.PhiConfig{Window: 1000})
	beats(&p, 0, time.Second, 1200)
	if got := p.Samples(); got != 1000 {
		t.Errorf("after Init(Window 1000) and 1200 beats: Samples() = %d, want 1000", got)
	}
}

// TestPhiKnownValues checks phi against values worked out by hand.
func TestPhiKnownValues(t *testing.T) {
	steady := func(cfg detector.PhiConfig) (*detector.Phi, detector.Time) {
		p := detector.NewPhi(cfg)
		return p, beats(p, 0, time.Second, 101)
	}
	tests := []struct {
		name    string
		cfg     detector.PhiConfig
		elapsed time.Duration
		want    float64
	}{
		{"normal at the mean", detector.PhiConfig{}, time.Second, math.Log10(2)},
		{"normal before the mean", detector.PhiConfig{}, 0, 0}, // z = −10: phi ≈ 3e-24
		{"normal one σ (the floor) late", detector.PhiConfig{}, 1100 * time.Millisecond, 0.79955},
		{"normal at the threshold", detector.PhiConfig{}, 1561200 * time.Microsecond, 8.0},
		{"normal 10σ late", detector.PhiConfig{}, 2 * time.Second, 23.1175},
		// z = 40: (z²/2 + ln(z√(2π)) − ln(1 − 1/z² + 3/z⁴)) / ln 10.
		{"normal 40σ late (erfc underflows)", detector.PhiConfig{}, 5 * time.Second, 349.4372},
		{"pause shifts the mean", detector.PhiConfig{AcceptablePause: 2 * time.Second}, 3 * time.Second, math.Log10(2)},
		{"exponential at the mean", detector.PhiConfig{Distribution: detector.Exponential}, time.Second, 1 / math.Ln10},
		{"exponential at 8·ln10 means", detector.PhiConfig{Distribution: detector.Exponential}, 18420680744, 8},
		{"exponential within the pause", detector.PhiConfig{Distribution: detector.Exponential, AcceptablePause: 2 * time.Second}, 1900 * time.Millisecond, 0},
		{"exponential after the pause", detector.PhiConfig{Distribution: detector.Exponential, AcceptablePause: 2 * time.Second}, 3 * time.Second, 1 / math.Ln10},
		{"exponential mean floored", detector.PhiConfig{Distribution: detector.Exponential, MinStdDev: 2 * time.Second}, 2 * time.Second, 1 / math.Ln10},
	}
	for _, tt := range tests {
		p, last := steady(tt.cfg)
		got := p.Phi(last.Add(tt.elapsed))
		if math.Abs(got-tt.want) > 1e-4*max(tt.want, 1e-3) {
			t.Errorf("%s: Phi(last+%v) = %.6g, want %.6g", tt.name, tt.elapsed, got, tt.want)
		}
		if lv := p.Level(last.Add(tt.elapsed)); lv != got {
			t.Errorf("%s: Level = %v, want Phi = %v", tt.name, lv, got)
		}
	}
}

// TestPhiSuspectAt checks the exact first suspicious instant for the
// worked examples and at the edges.
func TestPhiSuspectAt(t *testing.T) {
	tests := []struct {
		name   string
		cfg    detector.PhiConfig
		period time.Duration
		count  int
		after  time.Duration // SuspectAt − last, to the millisecond
	}{
		{"LAN steady 1 s", detector.PhiConfig{}, time.Second, 101, 1561 * time.Millisecond},
		{"bootstrap", detector.PhiConfig{}, time.Second, 1, 2403 * time.Millisecond},
		{"pause 2 s", detector.PhiConfig{AcceptablePause: 2 * time.Second}, time.Second, 101, 3561 * time.Millisecond},
		{"threshold 16", detector.PhiConfig{Threshold: 16}, time.Second, 101, 1822 * time.Millisecond},
		{"threshold 400 (beyond erfc)", detector.PhiConfig{Threshold: 400}, time.Second, 101, 5281 * time.Millisecond},
		{"threshold 0.1", detector.PhiConfig{Threshold: 0.1}, time.Second, 101, 917 * time.Millisecond},
		{"threshold 0.1, already reached at last", detector.PhiConfig{Threshold: 0.1, MinStdDev: 10 * time.Second}, time.Second, 101, 0},
		{"exponential (Cassandra)", detector.PhiConfig{Distribution: detector.Exponential}, time.Second, 101, 18420 * time.Millisecond},
	}
	for _, tt := range tests {
		p := detector.NewPhi(tt.cfg)
		last := beats(p, 5*sec, tt.period, tt.count)
		got := p.SuspectAt()
		if d := got.Sub(last).Truncate(time.Millisecond); d != tt.after {
			t.Errorf("%s: SuspectAt() = last+%v, want last+%v (to the ms)", tt.name, got.Sub(last), tt.after)
		}
		checkSuspectAt(t, p, tt.cfg.WithDefaults().Threshold)
	}
	p := detector.NewPhi(detector.PhiConfig{Threshold: 1e300})
	beats(p, 0, time.Second, 10)
	if got := p.SuspectAt(); got != detector.MaxTime {
		t.Errorf("threshold 1e300: SuspectAt() = %v, want MaxTime (never)", got)
	}
	p = detector.NewPhi(detector.PhiConfig{})
	p.Heartbeat(detector.MaxTime - 5)
	if got := p.SuspectAt(); got != detector.MaxTime {
		t.Errorf("last heartbeat at MaxTime−5: SuspectAt() = %v, want MaxTime", got)
	}
}

// TestWorkedExamples checks the numbers quoted in the package
// documentation.
func TestWorkedExamples(t *testing.T) {
	crossing := func(cfg detector.PhiConfig, intervals []time.Duration, repeat int) time.Duration {
		p := detector.NewPhi(cfg)
		now := detector.Time(0)
		p.Heartbeat(now)
		for range repeat {
			for _, iv := range intervals {
				now = now.Add(iv)
				p.Heartbeat(now)
			}
		}
		return p.SuspectAt().Sub(p.Last())
	}
	s := time.Second
	tests := []struct {
		name      string
		cfg       detector.PhiConfig
		intervals []time.Duration // repeated to fill the window
		repeat    int
		want      time.Duration
		tol       time.Duration
	}{
		// Mean 1 s, σ below the floor: 1 s + 5.612 × 100 ms.
		{"LAN steady", detector.PhiConfig{}, []time.Duration{s}, 100, 1561 * time.Millisecond, time.Millisecond},
		// 1% loss: one 2 s interval per 100: σ ≈ 99.5 ms, still at the floor.
		{"1% loss", detector.PhiConfig{}, append(repeatDur(s, 98), 2*s), 1, 1571 * time.Millisecond, 2 * time.Millisecond},
		// 10% loss, geometric: 81 × 1 s, 9 × 2 s, 1 × 3 s per 91 heartbeats
		// of a 100-interval window — mean 1.11 s, σ 0.35 s.
		{"10% loss", detector.PhiConfig{}, tenPercentLoss(), 1, 3083 * time.Millisecond, 60 * time.Millisecond},
		// Cassandra's exponential model: 8 × ln 10 mean intervals.
		{"exponential", detector.PhiConfig{Distribution: detector.Exponential}, []time.Duration{s}, 100, 18421 * time.Millisecond, time.Millisecond},
	}
	for _, tt := range tests {
		got := crossing(tt.cfg, tt.intervals, tt.repeat)
		if got < tt.want-tt.tol || got > tt.want+tt.tol {
			t.Errorf("%s: phi reaches 8 at last+%v, want %v ± %v", tt.name, got, tt.want, tt.tol)
		}
	}
}

func repeatDur(d time.Duration, n int) []time.Duration {
	s := make([]time.Duration, n)
	for i := range s {
		s[i] = d
	}
	return s
}

// tenPercentLoss returns 100 intervals whose counts follow the geometric
// distribution of gaps under 10% independent loss: 90 of 1 s, 9 of 2 s,
// 1 of 3 s (rounded from 90, 9, 0.9).
func tenPercentLoss() []time.Duration {
	s := repeatDur(time.Second, 90)
	s = append(s, repeatDur(2*time.Second, 9)...)
	return append(s, 3*time.Second)
}

// TestPhiMonotone checks that phi never decreases while time passes
// without heartbeats, for both models, through the switch to the
// asymptotic tail, and that Suspicious agrees with the threshold.
func TestPhiMonotone(t *testing.T) {
	for _, cfg := range []detector.PhiConfig{{}, {Distribution: detector.Exponential}, {AcceptablePause: time.Second}, {MinStdDev: time.Millisecond}} {
		p := detector.NewPhi(cfg)
		last := beats(p, 0, time.Second, 50)
		prev := -1.0
		for e := -time.Second; e < 30*time.Second; e += 997 * time.Microsecond {
			q := last.Add(e)
			got := p.Phi(q)
			if got < prev || math.IsNaN(got) {
				t.Fatalf("%+v: Phi(last+%v) = %v after %v", cfg, e, got, prev)
			}
			if s := p.Suspicious(q); s != (got >= p.Config().Threshold) {
				t.Fatalf("%+v: Suspicious(last+%v) = %v with phi %v", cfg, e, s, got)
			}
			prev = got
		}
	}
}

// TestHeartbeatAfter checks that heartbeats following lost ones record the
// per-period interval, so that the mean stays at the period under loss.
func TestHeartbeatAfter(t *testing.T) {
	p := detector.NewPhi(detector.PhiConfig{Window: 100})
	now := detector.Time(time.Second)
	p.Heartbeat(now)
	for i := 0; i < 60; i++ {
		missed := 0
		if i%3 == 0 {
			missed = 2 // two beats lost before this one
		}
		now = now.Add(time.Duration(missed+1) * time.Second)
		p.HeartbeatAfter(now, missed)
	}
	if m := p.Mean(); m != time.Second {
		t.Errorf("Mean() = %v after heartbeats with losses, want 1s", m)
	}
	q := detector.NewPhi(detector.PhiConfig{Window: 100})
	q.Heartbeat(detector.Time(time.Second))
	q.HeartbeatAfter(detector.Time(4*time.Second), 0)
	q.HeartbeatAfter(detector.Time(7*time.Second), 0)
	if m := q.Mean(); m != 3*time.Second {
		t.Errorf("Mean() = %v with nothing missed, want the whole 3s interval", m)
	}
}
