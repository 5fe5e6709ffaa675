//go:build !unix

package bench

import "time"

// rusageSelf returns the CPU time this process has used, as the Go runtime
// estimates it, all counted as user time: this system has no getrusage.
func rusageSelf() (user, system time.Duration) { return goCPU(), 0 }
