//go:build linux

package sim_test

import (
	"time"

	"golang.org/x/sys/unix"
)

// processCPU returns the CPU time (user and system, all threads) the
// process has used so far. On a shared machine it is a steadier measure of
// the simulator's own cost than wall time, which includes time spent
// descheduled.
func processCPU() (time.Duration, bool) {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_PROCESS_CPUTIME_ID, &ts); err != nil {
		return 0, false
	}
	return time.Duration(ts.Nano()), true
}
