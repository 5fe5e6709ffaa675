package detector_test

import (
	"fmt"
	"time"

	"github.com/hearsay-io/hearsay/detector"
)

// A phi accrual detector watching a node that heartbeats every second,
// then falls silent.
func ExamplePhi() {
	p := detector.NewPhi(detector.PhiConfig{}) // LAN defaults
	var now detector.Time
	for range 100 {
		now = now.Add(time.Second)
		p.Heartbeat(now)
	}
	for _, silence := range []time.Duration{time.Second, 1500 * time.Millisecond, 2 * time.Second} {
		t := now.Add(silence)
		fmt.Printf("after %v: phi %.2f, suspicious %v\n", silence, p.Phi(t), p.Suspicious(t))
	}
	fmt.Println("suspicious from last heartbeat +", p.SuspectAt().Sub(p.Last()).Round(time.Millisecond))
	// Output:
	// after 1s: phi 0.30, suspicious false
	// after 1.5s: phi 6.54, suspicious false
	// after 2s: phi 23.12, suspicious true
	// suspicious from last heartbeat + 1.561s
}

// A suspicion at 10,000 members that the two other observers confirm.
func ExampleSuspicion() {
	var cfg detector.SuspicionConfig // LAN defaults
	var s detector.Suspicion
	start := detector.Time(0)
	s.Start(start, 10_000, 1, cfg)
	fmt.Println("alone:", s.Timeout())
	s.Confirm(2)
	fmt.Println("one confirmation:", s.Timeout())
	s.Confirm(2) // duplicates do not count
	s.Confirm(3)
	fmt.Println("two confirmations:", s.Timeout())
	fmt.Println("dead at 999ms:", s.Expired(start.Add(999*time.Millisecond)), "at 1s:", s.Expired(start.Add(time.Second)))
	// Output:
	// alone: 6s
	// one confirmation: 2.845351232s
	// two confirmations: 1s
	// dead at 999ms: false at 1s: true
}

// Local health stretching a probe timeout while the node misses acks.
func ExampleHealth() {
	h := detector.NewHealth(8)
	probe := 200 * time.Millisecond
	h.Failure()
	h.Failure()
	fmt.Println(h.Score(), h.Scale(probe))
	h.Success()
	fmt.Println(h.Score(), h.Scale(probe))
	// Output:
	// 2 600ms
	// 1 400ms
}
