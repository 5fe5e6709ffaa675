//go:build unix

package bench

import (
	"time"

	"golang.org/x/sys/unix"
)

// rusageSelf returns the user and system CPU time this process has used
// and its context switches (voluntary and involuntary): how often its
// threads slept and woke.
func rusageSelf() (user, system time.Duration, switches uint64) {
	var ru unix.Rusage
	if err := unix.Getrusage(unix.RUSAGE_SELF, &ru); err != nil {
		return goCPU(), 0, 0
	}
	return time.Duration(ru.Utime.Nano()), time.Duration(ru.Stime.Nano()), uint64(ru.Nvcsw + ru.Nivcsw)
}
