//go:build !linux

package sim_test

import "time"

// processCPU is not implemented here; benchmarks then omit CPU metrics.
func processCPU() (time.Duration, bool) { return 0, false }
