// Package promcheck checks hearsayd's /metrics with Prometheus' own tools:
// the text-format parser of github.com/prometheus/common/expfmt and the
// linter of github.com/prometheus/client_golang's promlint. Its test
// builds hearsayd, runs a sealed two-node cluster on loopback, scrapes
// /metrics once both nodes have probed each other, and fails on a parse
// error, a lint problem, a repeated series, a family named so that it
// collides with another's samples, or a missing family the agent
// documents (go_*, process_*, build info, the probe round-trip histogram,
// byte counters named by direction).
//
// It is a module of its own, so that the library keeps exactly its four
// dependencies: run it with
//
//	cd bench/promcheck && go test ./...
//
// CI runs it after the library's tests (.ci/run).
package promcheck
