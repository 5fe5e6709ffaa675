//go:build !race

package bulk_test

// raceEnabled reports whether the race detector is on: sync.Pool then
// drops a quarter of the values put back, at random.
const raceEnabled = false
