#!/usr/bin/env bash
# Runs every fuzz target in the module for FUZZTIME each (default 30s).
# Usage: scripts/fuzz.sh [package pattern...]   e.g. scripts/fuzz.sh ./codec/...
# A finding fails the run; go test writes the crasher under the package's
# testdata/fuzz/ directory, where it stays as a regression test.
set -euo pipefail
fuzztime=${FUZZTIME:-30s}
patterns=("$@")
[ ${#patterns[@]} -eq 0 ] && patterns=(./...)

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
			echo "== fuzz $pkg $n for $fuzztime"
			go test -run='^$' -fuzz="^${n}\$" -fuzztime="$fuzztime" "$pkg"
			total=$((total + 1))
		done
		names=()
		;;
	esac
done <<<"$list"
echo "== $total fuzz targets ran for $fuzztime each"
