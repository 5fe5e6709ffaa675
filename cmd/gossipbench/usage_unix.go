//go:build unix

package main

import (
	"runtime"
	"time"

	"github.com/hearsay-io/hearsay/bench"
	"golang.org/x/sys/unix"
)

// processUsage returns the CPU time and peak resident set of this
// process so far, or nil if the system does not say.
func processUsage() *bench.Usage {
	var ru unix.Rusage
	if err := unix.Getrusage(unix.RUSAGE_SELF, &ru); err != nil {
		return nil
	}
	// ru_maxrss is in kilobytes on Linux and the BSDs, in bytes on Darwin.
	rss := int64(ru.Maxrss)
	if runtime.GOOS != "darwin" {
		rss *= 1024
	}
	return &bench.Usage{
		UserCPU:   bench.Sec(time.Duration(ru.Utime.Nano())),
		SystemCPU: bench.Sec(time.Duration(ru.Stime.Nano())),
		PeakRSS:   rss,
	}
}
