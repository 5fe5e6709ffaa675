//go:build race

package sim_test

import "testing"

// raceEnabled reports whether the race detector is on: the largest
// clusters then run at a smaller size, or not at all (skipLargeUnderRace),
// so that the package stays within make test's time.
const raceEnabled = true

// skipLargeUnderRace skips one of the largest simulations under the race
// detector. The simulator runs a whole cluster on one goroutine, so the
// detector finds nothing there that the smaller runs miss; make test runs
// these without it (make sim-large), as CI does.
func skipLargeUnderRace(t *testing.T) {
	t.Helper()
	t.Skip("a large simulation on one goroutine: make sim-large runs it without the race detector")
}
