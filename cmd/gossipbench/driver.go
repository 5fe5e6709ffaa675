package main

import (
	"fmt"

	"github.com/hearsay-io/hearsay/bench"
)

// newDriver returns the bench.Driver for a -mode. Every scenario is written
// against bench.Cluster, so a mode only needs a Driver: sim runs the
// simulator, udp runs N engine.Node values on loopback in this process,
// with loss injected per node (bench.UDPDriver).
func newDriver(mode string, c *config) (bench.Driver, error) {
	switch mode {
	case "sim":
		return bench.SimDriver{}, nil
	case "udp":
		return bench.UDPDriver{}, nil
	}
	return nil, fmt.Errorf("unknown -mode %q (want sim or udp)", mode)
}
