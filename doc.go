// Package hearsay is the root of the Hearsay module: a UDP gossip engine for
// cluster membership, failure detection, state dissemination and a
// consistent-hash ring, embedded as a library in latency-sensitive
// infrastructure.
//
// This package holds no code; it documents the module and carries the tests
// that guard its layering. The packages, from the wire up:
//
//   - codec: the wire format (fixed-size header and records, sealing).
//   - codec/bulk: compression of bulk payloads with a hard size cap.
//   - netio: moving datagrams (batched UDP, in-memory network, fault injection).
//   - detector: failure detectors and suspicion math as pure values.
//   - ring: consistent-hash ring and monitoring topology.
//   - engine: the protocol core, its simulator and the runtime Node.
//   - bench: cluster scenarios and their measurements.
//   - fuzz: engine-level fuzz targets, replay tests and their findings.
//   - cmd/gossipbench: the benchmark command.
//   - cmd/hearsayd: a node agent (one Node per process) for real hosts.
//   - test/netns: multi-host tests over Linux network namespaces.
//
// README.md at the root of the repository says how to run the benchmarks
// and the tests, and what they measured.
package hearsay
