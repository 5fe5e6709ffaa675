package engine

import (
	"math"
	"testing"
	"time"

	"github.com/hearsay-io/hearsay/codec"
)

// TestDoubtPingsAt pins the check pings a doubt of a member held alive
// sends at the loss it expects, and that losing all of them is no likelier
// than doubtOdds up to 30% loss on each way.
func TestDoubtPingsAt(t *testing.T) {
	for _, tc := range []struct {
		p    float64
		want int
	}{{0, doubtPings}, {0.01, 4}, {0.1, 9}, {0.2, 14}, {0.3, 21}, {0.5, maxDoubtPings}, {1, maxDoubtPings}} {
		got := doubtPingsAt(tc.p)
		if got != tc.want {
			t.Errorf("doubtPingsAt(%v) = %d, want %d", tc.p, got, tc.want)
		}
		if fail := 1 - (1-tc.p)*(1-tc.p); tc.p <= 0.3 && math.Pow(fail, float64(got)) > doubtOdds {
			t.Errorf("at loss %v, %d pings all fail with odds %g > %g", tc.p, got, math.Pow(fail, float64(got)), doubtOdds)
		}
	}
}

// TestBinomialTail checks binomialTail against the binomial distribution
// summed directly.
func TestBinomialTail(t *testing.T) {
	tail := func(n, m int, f float64) float64 { // P(X > m)
		s := 0.0
		for k := m + 1; k <= n; k++ {
			s += math.Exp(lgammaInt(n+1)-lgammaInt(k+1)-lgammaInt(n-k+1)) * math.Pow(f, float64(k)) * math.Pow(1-f, float64(n-k))
		}
		return s
	}
	for _, n := range []int{8, 16, 64} {
		for _, f := range []float64{0.0199, 0.19, 0.51, 0.9} {
			for _, odds := range []float64{0.01, 1e-3} {
				m := binomialTail(n, f, odds)
				if m < 0 || m > n {
					t.Fatalf("binomialTail(%d, %v, %v) = %d", n, f, odds, m)
				}
				if p := tail(n, m, f); p > odds*(1+1e-9) {
					t.Errorf("binomialTail(%d, %v, %v) = %d: P(X > %d) = %g", n, f, odds, m, m, p)
				}
				if m > 0 && tail(n, m-1, f) <= odds {
					t.Errorf("binomialTail(%d, %v, %v) = %d: %d would do", n, f, odds, m, m-1)
				}
			}
		}
	}
	if binomialTail(16, 0, 0.01) != 0 || binomialTail(16, 1, 0.01) != 16 {
		t.Error("binomialTail at f = 0 or 1")
	}
}

func lgammaInt(n int) float64 {
	v, _ := math.Lgamma(float64(n))
	return v
}

// TestLagFlags checks that a live record's flags carry its lag beside the
// proof of a rejoin, and that a dead record's flags (tombstone wear) are
// never read as a lag.
func TestLagFlags(t *testing.T) {
	for _, proven := range []bool{false, true} {
		for _, lag := range []uint8{0, 1, 40, maxLag} {
			m := codec.Member{State: codec.StateAlive, Flags: liveFlags(proven, lag)}
			if got := lagOf(&m); got != lag {
				t.Errorf("lagOf(liveFlags(%v, %d)) = %d", proven, lag, got)
			}
			if got := m.Flags&flagProven != 0; got != proven {
				t.Errorf("liveFlags(%v, %d) proven = %v", proven, lag, got)
			}
		}
	}
	if f := liveFlags(false, 255); f>>1 != maxLag {
		t.Errorf("liveFlags(false, 255) = %#x, want the lag capped at %d", f, maxLag)
	}
	dead := codec.Member{State: codec.StateDead, Flags: 200}
	if lagOf(&dead) != 0 {
		t.Error("a dead record's wear read as a lag")
	}
}

// TestSaidLate checks how long a node waits for a member by the lag its
// record carries: twice the lag, capped at maxSlowRTT heartbeat intervals.
func TestSaidLate(t *testing.T) {
	c := &Core{cfg: DefaultLANConfig()}
	r := record{state: StateAlive, lag: 20} // 1 s
	if got := c.saidLate(&r); got != 2*time.Second {
		t.Errorf("saidLate(lag 1 s) = %v, want 2s", got)
	}
	r.lag = maxLag
	if got, want := c.saidLate(&r), maxSlowRTT*c.cfg.HeartbeatInterval; got != want {
		t.Errorf("saidLate(lag %d) = %v, want the cap %v", maxLag, got, want)
	}
	r.state = StateDead
	if got := c.saidLate(&r); got != 0 {
		t.Errorf("saidLate(dead) = %v, want 0", got)
	}
}
