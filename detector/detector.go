package detector

// Detector is the interface shared by the phi accrual detector (Phi) and the
// fixed-timeout baseline (Timeout), so the engine and the benchmarks can run
// either. One Detector watches one monitored node.
type Detector interface {
	// Heartbeat records that a heartbeat from the monitored node arrived
	// at now.
	Heartbeat(now Time)
	// Suspicious reports whether the detector's level at now is at or
	// above its threshold.
	Suspicious(now Time) bool
	// Level returns the detector's suspicion level at now: phi for Phi,
	// elapsed/timeout for Timeout. It never decreases as now advances
	// between heartbeats.
	Level(now Time) float64
	// Reset forgets all history, as when the monitored node restarted.
	Reset()
}

var (
	_ Detector = (*Phi)(nil)
	_ Detector = (*Timeout)(nil)
)
