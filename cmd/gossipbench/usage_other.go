//go:build !unix

package main

import "github.com/hearsay-io/hearsay/bench"

// processUsage returns nil: this system's resource usage is not read.
func processUsage() *bench.Usage { return nil }
