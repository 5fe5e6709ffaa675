//go:build !unix

package bench

import "time"

// rusageSelf returns the CPU time this process has used, as the Go runtime
// estimates it, all counted as user time: this system has no getrusage,
// and no count of context switches.
func rusageSelf() (user, system time.Duration, switches uint64) { return goCPU(), 0, 0 }
