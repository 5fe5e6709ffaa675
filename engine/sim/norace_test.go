//go:build !race

package sim_test

import "testing"

// raceEnabled reports whether the race detector is on: the largest
// clusters then run at a smaller size, or not at all (skipLargeUnderRace),
// so that the package stays within make test's time.
const raceEnabled = false

// skipLargeUnderRace skips one of the largest simulations under the race
// detector (see race_test.go); without it, it does nothing.
func skipLargeUnderRace(t *testing.T) { t.Helper() }
