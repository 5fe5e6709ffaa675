#!/usr/bin/env bash
# Compares Go benchmarks between two commits with benchstat: runs them
# COUNT times at BASE and at HEAD, each in a temporary git worktree (so
# uncommitted edits in this tree change neither side), then prints
# benchstat's comparison. The worktrees are removed on exit.
#
# Usage: BASE=<ref> scripts/bench-compare.sh      (make bench-compare BASE=<ref>)
#
# Environment:
#   BASE   the commit to compare with (required), e.g. HEAD~1, main, a hash
#   HEAD   the commit compared (default HEAD)
#   COUNT  runs of each benchmark per commit (default 6; benchstat wants 6
#          or more to report a difference as significant)
#   BENCH  go test -bench pattern (default .)
#   PKGS   packages (default ./...; narrow it: every benchmark of the
#          module, twice, COUNT times each takes long)
#   BENCHTIME  go test -benchtime (default 1s)
#
# Needs benchstat: go install golang.org/x/perf/cmd/benchstat@latest
set -euo pipefail
cd "$(dirname "$0")/.."

base=${BASE:?set BASE to the commit to compare with, e.g. BASE=HEAD~1}
head=${HEAD:-HEAD}
count=${COUNT:-6}
bench=${BENCH:-.}
pkgs=${PKGS:-./...}
benchtime=${BENCHTIME:-1s}

benchstat=$(command -v benchstat || true)
if [ -z "$benchstat" ] && [ -x "$(go env GOPATH)/bin/benchstat" ]; then
	benchstat=$(go env GOPATH)/bin/benchstat
fi
if [ -z "$benchstat" ]; then
	echo "bench-compare: benchstat not found; install it with: go install golang.org/x/perf/cmd/benchstat@latest" >&2
	exit 1
fi
base_rev=$(git rev-parse --verify "$base^{commit}")
head_rev=$(git rev-parse --verify "$head^{commit}")

tmp=$(mktemp -d)
cleanup() {
	for side in base head; do
		if [ -d "$tmp/$side" ]; then
			git worktree remove --force "$tmp/$side" || true
		fi
	done
	rm -rf "$tmp"
}
trap cleanup EXIT

# run benchmarks the commit rev in a worktree at $tmp/side, into
# $tmp/side.txt.
run() {
	local side=$1 rev=$2
	git worktree add --quiet --detach "$tmp/$side" "$rev"
	echo "bench-compare: $side $(git log -1 --format='%h %s' "$rev"): go test -bench '$bench' -count $count $pkgs" >&2
	(cd "$tmp/$side" && go test -run='^$' -bench="$bench" -benchmem -benchtime="$benchtime" -count="$count" $pkgs) >"$tmp/$side.txt"
}
run base "$base_rev"
run head "$head_rev"
if ! grep -q '^Benchmark' "$tmp/head.txt"; then
	echo "bench-compare: no benchmark matched -bench '$bench' in $pkgs" >&2
	exit 1
fi
"$benchstat" "base=$tmp/base.txt" "head=$tmp/head.txt"
