//go:build !linux

package main

// processMetrics returns the process_* families this system offers: the
// start time, as the agent recorded it.
func processMetrics() []*metricFamily {
	return []*metricFamily{processStartFamily(processStart)}
}
