#!/usr/bin/env bash
# Runs every fuzz target in the module for FUZZTIME each (default 30s).
# Usage: scripts/fuzz.sh [package pattern...]   e.g. scripts/fuzz.sh ./codec/...
# A finding fails the run; go test writes the crasher under the package's
# testdata/fuzz/ directory, where it stays as a regression test.
#
# FUZZMINIMIZETIME (default 0) is go test's -fuzzminimizetime: how long
# the fuzzer may spend minimizing each input it keeps or fails on, a
# duration or a count of calls such as 500x. Left at Go's default (60s an
# input), minimizing new corpus entries takes much of a short FUZZTIME;
# at 0 nothing is minimized and the whole FUZZTIME goes to fuzzing, so a
# crasher is written as found. To shrink one, rerun its target with, say,
# FUZZMINIMIZETIME=30s.
#
# Go 1.26's fuzz coordinator can report a bare "context deadline exceeded"
# when -fuzztime runs out while a worker is mid-call (go.dev/issue/75804,
# fixed in Go 1.27): the run fails although no input failed and nothing is
# written to testdata/fuzz/. Such a run is repeated, at most FUZZRETRIES
# times (default 2); a run that writes a crasher, or fails in any other way,
# fails at once.
set -euo pipefail
fuzztime=${FUZZTIME:-30s}
minimizetime=${FUZZMINIMIZETIME:-0}
retries=${FUZZRETRIES:-2}
patterns=("$@")
[ ${#patterns[@]} -eq 0 ] && patterns=(./...)

out=$(mktemp)
trap 'rm -f "$out"' EXIT

# corpus lists the files of one target's checked-in corpus.
corpus() { ls -1 "$1/testdata/fuzz/$2" 2>/dev/null || true; }

# fuzz_one runs one target until it passes, finds something, or has used
# its retries on the toolchain's deadline race.
fuzz_one() {
	local pkg=$1 name=$2 dir before attempt=0
	dir=$(go list -f '{{.Dir}}' "$pkg")
	while :; do
		before=$(corpus "$dir" "$name")
		if go test -run='^$' -fuzz="^${name}\$" -fuzztime="$fuzztime" -fuzzminimizetime="$minimizetime" "$pkg" 2>&1 | tee "$out"; then
			return 0
		fi
		if [ "$(corpus "$dir" "$name")" != "$before" ]; then
			echo "== $name: new failing input written under $dir/testdata/fuzz/$name"
			return 1
		fi
		# The race's only output after the FAIL line is the deadline error.
		if ! grep -A1 -- "^--- FAIL: ${name} " "$out" | grep -qx '[[:space:]]*context deadline exceeded'; then
			return 1
		fi
		attempt=$((attempt + 1))
		if [ "$attempt" -gt "$retries" ]; then
			echo "== $name: deadline race on every one of $attempt runs"
			return 1
		fi
		echo "== $name: no input failed; the coordinator hit its deadline race (see the comment at the top of scripts/fuzz.sh); run $((attempt + 1)) of $((retries + 1))"
	done
}

# go test -list prints the matching names of a package, then "ok <pkg>".
list=$(go test -run='^$' -list '^Fuzz' "${patterns[@]}")
names=()
total=0
while IFS= read -r line; do
	case "$line" in
	Fuzz*) names+=("$line") ;;
	ok*)
		pkg=$(awk '{print $2}' <<<"$line")
		for n in "${names[@]}"; do
			echo "== fuzz $pkg $n for $fuzztime (-fuzzminimizetime=$minimizetime)"
			fuzz_one "$pkg" "$n"
			total=$((total + 1))
		done
		names=()
		;;
	esac
done <<<"$list"
echo "== $total fuzz targets ran for $fuzztime each"
