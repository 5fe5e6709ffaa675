//go:build !linux

package peers

import "errors"

// raiseFileLimit leaves the limit as it is on this system.
func raiseFileLimit(need int) error { return nil }

// processCPU is not implemented on this system: the steady scenario fails
// with this error.
func processCPU() (float64, error) {
	return 0, errors.New("peers: process CPU time is read with getrusage on Linux only")
}
