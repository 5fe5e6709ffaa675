#!/usr/bin/env bash
# Runs the multi-host tests (test/netns): eight hearsayd processes, one per
# network namespace, on a bridged namespace network. Needs root and iproute2;
# without root the suite skips and this script says so. As root, a
# namespace network that cannot be built fails the run: a missing ip
# command, or ip's error.
#
# Usage:
#   scripts/netns.sh [RUNS]   run the scenarios RUNS times (default 1) and
#                             print each one's median and maximum time
#   scripts/netns.sh clean    remove namespaces left by runs that were killed
#                             before their cleanup (names hs-<pid>-*, pid gone)
#
# Environment: NETNS_TIMEOUT (go test -timeout, default 4m per run).
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "${1:-}" = clean ]; then
	command -v ip >/dev/null || { echo "netns: ip (iproute2) not found"; exit 0; }
	ip netns list 2>/dev/null | awk '{print $1}' | while read -r ns; do
		if [[ "$ns" =~ ^hs-([0-9]+)- ]] && [ ! -e "/proc/${BASH_REMATCH[1]}" ]; then
			echo "netns: removing stale namespace $ns"
			ip netns delete "$ns"
		fi
	done
	exit 0
fi

runs=${1:-1}
if ! [[ "$runs" =~ ^[0-9]+$ ]] || [ "$runs" -lt 1 ] || [ "$runs" -gt 20 ]; then
	echo "usage: $0 [RUNS (1-20)] | clean" >&2
	exit 2
fi
timeout=${NETNS_TIMEOUT:-$((4 * runs))m}

out=$(mktemp)
trap 'rm -f "$out"' EXIT
set +e
HEARSAY_NETNS=1 HEARSAY_NETNS_RUNS=$runs go test -count=1 -v -timeout "$timeout" -run '^TestNetns$' ./test/netns/ 2>&1 | tee "$out"
status=${PIPESTATUS[0]}
set -e
if grep -q -- '--- SKIP: TestNetns' "$out"; then
	reason=$(grep -m1 -o 'SKIP: .*' "$out" | grep -v -- '--- SKIP' || true)
	echo "netns: multi-host tests SKIPPED on this machine: ${reason#SKIP: }"
fi
exit "$status"
