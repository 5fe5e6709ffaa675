//go:build !linux

package engine_test

import "time"

// processCPU and threadCPU are measured on Linux only; elsewhere the flood
// test reports no CPU figures.
func processCPU() (time.Duration, bool) { return 0, false }
func threadCPU() (time.Duration, bool)  { return 0, false }
