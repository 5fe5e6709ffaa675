package bench

import "math"

// Theoretical references the figures are read against. None of them is a
// target: they say what a textbook protocol achieves, so that a measured
// number can be judged at any N.

// Log2 returns log₂N: the rounds a perfect doubling needs to reach N nodes,
// the floor for any push protocol with one target per round.
func Log2(n int) float64 { return math.Log2(float64(n)) }

// PushRounds returns log₂N + ln N, Pittel's (1987) expected rounds for
// push rumour spreading with one random target per round to reach all N
// nodes (the "log₂N + ln N" figure usually quoted for gossip).
func PushRounds(n int) float64 { return math.Log2(float64(n)) + math.Log(float64(n)) }

// PushFanoutRounds returns log₍F+1₎N + ln N / F, the same estimate for push
// with F targets per round, as Hearsay's gossip rounds do: the informed set
// grows about (F+1)-fold per round until the last nodes are each missed with
// probability about e^(−F) per round.
func PushFanoutRounds(n, f int) float64 {
	if f < 1 {
		f = 1
	}
	return math.Log(float64(n))/math.Log(float64(f+1)) + math.Log(float64(n))/float64(f)
}

// PushPullRounds returns log₃N + ln ln N, Karp et al.'s (2000) push-pull
// bound log₃N + O(log log N) with the constant of the second term taken
// as one: the rounds a push-pull exchange with one partner per round needs.
func PushPullRounds(n int) float64 {
	x := float64(n)
	if x < 3 {
		return 1
	}
	return math.Log(x)/math.Log(3) + math.Log(math.Log(x))
}

// SWIMFirstDetection returns e/(e−1) ≈ 1.58: the expected protocol periods
// until some member first probes a crashed one in SWIM (Das, Gupta and
// Motivala 2002), for large N.
func SWIMFirstDetection() float64 { return math.E / (math.E - 1) }
