//go:build !(amd64 || arm64) || !gc || noasm

package bulk_test

// encoderPools reports whether this build's S2 encoder is the assembly one,
// which takes its hash table from a sync.Pool (see Compress).
const encoderPools = false
