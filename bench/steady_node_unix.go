//go:build unix

package bench

import (
	"time"

	"golang.org/x/sys/unix"
)

// rusageSelf returns the user and system CPU time this process has used.
func rusageSelf() (user, system time.Duration) {
	var ru unix.Rusage
	if err := unix.Getrusage(unix.RUSAGE_SELF, &ru); err != nil {
		return goCPU(), 0
	}
	return time.Duration(ru.Utime.Nano()), time.Duration(ru.Stime.Nano())
}
