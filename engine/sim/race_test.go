//go:build race

package sim_test

// raceEnabled reports whether the race detector is on: the largest
// clusters then run at a smaller size, so that the package stays within
// make test's time.
const raceEnabled = true
