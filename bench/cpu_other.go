//go:build !unix

package bench

import "time"

// processCPU returns the CPU time this process has used, as the Go
// runtime estimates it.
func processCPU() time.Duration { return goCPU() }
