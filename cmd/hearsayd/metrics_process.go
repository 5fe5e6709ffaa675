package main

import "time"

// The process_* families, with the names and meanings of the Prometheus
// client's process collector. Linux reads them from /proc/self and the
// getrusage and getrlimit system calls (metrics_process_linux.go); other
// systems report process_start_time_seconds only, from when the agent
// started. A value that cannot be read is left out, never reported as 0.

// processStart is when this process initialized its packages: close to its
// start, and the start time where the system cannot tell.
var processStart = time.Now()

// processStartFamily is process_start_time_seconds for a start time.
func processStartFamily(start time.Time) *metricFamily {
	return &metricFamily{name: "process_start_time_seconds", help: "Start time of the process since the Unix epoch, in seconds.",
		kind: gauge, samples: []metricSample{floatSample(float64(start.UnixNano()) / 1e9)}}
}
