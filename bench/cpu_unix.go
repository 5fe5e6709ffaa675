//go:build unix

package bench

import (
	"time"

	"golang.org/x/sys/unix"
)

// processCPU returns the CPU time (user plus system) this process has used.
func processCPU() time.Duration {
	var ru unix.Rusage
	if err := unix.Getrusage(unix.RUSAGE_SELF, &ru); err != nil {
		return goCPU()
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
