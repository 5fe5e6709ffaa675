package detector_test

import (
	"strconv"
	"testing"
	"time"

	"github.com/hearsay-io/hearsay/detector"
)

// steadyPhi returns a detector whose window is full of jittered 1 s
// intervals, and the time of its last heartbeat.
func steadyPhi(cfg detector.PhiConfig) (*detector.Phi, detector.Time) {
	p := detector.NewPhi(cfg)
	now := detector.Time(0)
	for i := range p.Config().Window + 10 {
		now = now.Add(time.Second + time.Duration(i%41-20)*time.Millisecond)
		p.Heartbeat(now)
	}
	return p, now
}

// BenchmarkPhiHeartbeat measures one arrival in steady state: one interval
// in, one out, the estimate refreshed. Its cost does not depend on the
// window size.
func BenchmarkPhiHeartbeat(b *testing.B) {
	for _, w := range []int{100, detector.MaxWindow} {
		b.Run("window="+strconv.Itoa(w), func(b *testing.B) {
			b.ReportAllocs()
			p, now := steadyPhi(detector.PhiConfig{Window: w})
			for i := 0; b.Loop(); i++ {
				now = now.Add(time.Second + time.Duration(i%41-20)*time.Millisecond)
				p.Heartbeat(now)
			}
		})
	}
}

// BenchmarkPhi measures one phi query: near the threshold (math.Erfc),
// far beyond it (asymptotic tail), and with the exponential model.
func BenchmarkPhi(b *testing.B) {
	cases := []struct {
		name    string
		cfg     detector.PhiConfig
		elapsed time.Duration
	}{
		{"normal", detector.PhiConfig{}, 1500 * time.Millisecond},
		{"normal/tail", detector.PhiConfig{}, time.Minute},
		{"exponential", detector.PhiConfig{Distribution: detector.Exponential}, 1500 * time.Millisecond},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			p, last := steadyPhi(c.cfg)
			q := last.Add(c.elapsed)
			for b.Loop() {
				sinkFloat = p.Phi(q)
			}
		})
	}
}

// BenchmarkPhiReference measures the straightforward alternative: phi
// recomputed from the window at each query, as the reference test does.
func BenchmarkPhiReference(b *testing.B) {
	b.ReportAllocs()
	cfg := detector.PhiConfig{}.WithDefaults()
	ref := &refPhi{cfg: cfg}
	now := detector.Time(0)
	for i := range cfg.Window + 1 {
		now = now.Add(time.Second + time.Duration(i%41-20)*time.Millisecond)
		ref.heartbeat(now)
	}
	q := now.Add(1500 * time.Millisecond)
	for b.Loop() {
		mean, std, _ := ref.stats()
		sinkFloat, _ = ref.phi(q, mean, std)
	}
}

func BenchmarkPhiSuspicious(b *testing.B) {
	b.ReportAllocs()
	p, last := steadyPhi(detector.PhiConfig{})
	q := last.Add(1500 * time.Millisecond)
	for b.Loop() {
		sinkBool = p.Suspicious(q)
	}
}

func BenchmarkPhiSuspectAt(b *testing.B) {
	b.ReportAllocs()
	p, _ := steadyPhi(detector.PhiConfig{})
	for b.Loop() {
		sinkTime = p.SuspectAt()
	}
}

func BenchmarkTimeout(b *testing.B) {
	b.Run("Heartbeat", func(b *testing.B) {
		b.ReportAllocs()
		d := detector.NewTimeout(3 * time.Second)
		now := detector.Time(0)
		for b.Loop() {
			now += sec
			d.Heartbeat(now)
		}
	})
	b.Run("Level", func(b *testing.B) {
		b.ReportAllocs()
		d := detector.NewTimeout(3 * time.Second)
		d.Heartbeat(0)
		for b.Loop() {
			sinkFloat = d.Level(2 * sec)
		}
	})
}

func BenchmarkSuspicion(b *testing.B) {
	cfg := detector.SuspicionConfig{}
	b.Run("Start", func(b *testing.B) {
		b.ReportAllocs()
		var s detector.Suspicion
		for b.Loop() {
			s.Start(sec, 10_000, 1, cfg)
		}
	})
	b.Run("Confirm", func(b *testing.B) {
		// Start plus the expected two confirmations: the cost of a
		// suspicion that reaches its minimum.
		b.ReportAllocs()
		var s detector.Suspicion
		for b.Loop() {
			s.Start(sec, 10_000, 1, cfg)
			s.Confirm(2)
			sinkBool = s.Confirm(3)
		}
	})
	b.Run("Expired", func(b *testing.B) {
		b.ReportAllocs()
		var s detector.Suspicion
		s.Start(sec, 10_000, 1, cfg)
		for b.Loop() {
			sinkBool = s.Expired(3 * sec)
		}
	})
}

func BenchmarkHealth(b *testing.B) {
	b.ReportAllocs()
	h := detector.NewHealth(8)
	for i := 0; b.Loop(); i++ {
		if i&1 == 0 {
			h.Failure()
		} else {
			h.Success()
		}
		sinkDuration = h.Scale(200 * time.Millisecond)
	}
}
