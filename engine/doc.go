// Package engine is Hearsay's protocol: a deterministic core, its runtime and its simulator.
package engine
