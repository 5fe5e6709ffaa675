#!/usr/bin/env bash
# Re-measures the figures README quotes, then renders them into README.
#
# Every figure block of README.md (<!-- figures:NAME begin --> ... end -->)
# is written by `go run ./cmd/gossipbench render` from results files under
# bench/results/, each saved by one gossipbench run with -save, which
# records the command line, the commit and whether the tree differed from
# it, the machine and its load, and the run's CPU time and peak memory.
# This script runs those commands again at the commit checked out, one at
# a time, and renders. Commit the results files and README together.
#
# Usage: scripts/figures.sh [NAME...]    (make figures)
#   With NAMEs, only those results are re-measured (e.g. core-sim udp-1000);
#   the others stay as they are.
#
# Environment:
#   FIGURES_BIG=1   also the large runs, one at a time, each after checking
#                   that the machine has the memory it needs (see below)
#   FIGURES_REPS=n  runs of each repeated measurement (default 3): real-UDP
#                   figures vary from run to run, and README shows their
#                   median and range
#
# Times on a 2-core machine: the quick set takes about 10 minutes, nearly
# all of it the core suite at 10,000 simulated nodes and the three
# real-UDP runs at 1,000 nodes (about 2.3 minutes each); the large runs
# add about an hour (see each). Run it on a quiet machine: each results file
# records the load average at start and end, and README shows it. A
# tree with uncommitted changes is measured too, but its results say
# "+dirty". A run whose outcome checks fail is still saved (README's
# block says which failed); the script then exits 1 at the end.
#
# scripts/figures.sh and the results must agree: cmd/gossipbench's
# TestFiguresScript fails when a results file was measured with a command
# this script does not run.
set -euo pipefail
cd "$(dirname "$0")/.."

big=${FIGURES_BIG:-0}
reps=${FIGURES_REPS:-3}
only=("$@")
results=bench/results
failed=()

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
go build -o "$tmp/gossipbench" ./cmd/gossipbench

if [ -n "$(git status --porcelain 2>/dev/null)" ]; then
	echo "figures: the working tree differs from $(git rev-parse --short HEAD); the results will say +dirty" >&2
fi

# wanted reports whether NAME is to be measured in this invocation.
wanted() {
	[ ${#only[@]} -eq 0 ] && return 0
	local n
	for n in "${only[@]}"; do
		[ "$n" = "$1" ] && return 0
	done
	return 1
}

# gb runs gossipbench with its arguments (its report and plots also go to
# gossipbench-out/, as usual); a failed check (exit 1) is recorded and the
# script goes on, anything else stops it.
gb() {
	local status=0
	echo "figures: gossipbench $*" >&2
	"$tmp/gossipbench" "$@" || status=$?
	case $status in
	0) ;;
	1) failed+=("$(printf '%s ' "$@")") ;;
	*) echo "figures: gossipbench $* exited $status" >&2; exit "$status" ;;
	esac
}

# measure NAME ARGS... saves one run of gossipbench ARGS as
# bench/results/NAME.json.
measure() {
	local name=$1
	shift
	wanted "$name" || return 0
	gb "$@" -save "$results/$name.json"
}

# measure_reps NAME ARGS... saves FIGURES_REPS runs of gossipbench ARGS
# as bench/results/NAME/run-K.json, replacing the runs saved before.
measure_reps() {
	local name=$1 k
	shift
	wanted "$name" || return 0
	rm -f "$results/$name"/run-*.json
	for k in $(seq 1 "$reps"); do
		gb "$@" -save "$results/$name/run-$k.json"
	done
}

# need_gb N stops unless the machine has N GiB of memory available.
need_gb() {
	local avail
	avail=$(awk '/^MemAvailable:/ {printf "%d", $2 / 1048576}' /proc/meminfo 2>/dev/null || echo 0)
	if [ "$avail" -lt "$1" ]; then
		echo "figures: this run needs about $1 GiB of memory; $avail GiB available" >&2
		exit 1
	fi
}

# measure_big NAME GiB ARGS... is measure, with FIGURES_BIG=1 only, after
# checking that GiB of memory is available; measure_big_reps is the same
# for measure_reps.
measure_big() {
	big_ok "$1" "$2" || return 0
	local name=$1
	shift 2
	measure "$name" "$@"
}
measure_big_reps() {
	big_ok "$1" "$2" || return 0
	local name=$1
	shift 2
	measure_reps "$name" "$@"
}

# big_ok NAME GiB says whether the large run NAME is to be measured now.
big_ok() {
	if [ "$big" != 1 ]; then
		wanted "$1" && [ ${#only[@]} -gt 0 ] && echo "figures: $1 is a large run: set FIGURES_BIG=1" >&2
		return 1
	fi
	wanted "$1" || return 1
	need_gb "$2"
}

# The quick set (each line's arguments are what README's caption shows).
#   core-sim           the default run: the core suite at 10,000 simulated nodes
#   core-sim-1000      the core suite at 1,000 simulated nodes (scaling, sim vs UDP)
#   udp-1000           the core suite on real UDP at 1,000 nodes, FIGURES_REPS times
#   nemesis-short-200  the nemesis suite, short phases, 200 simulated nodes
#   udp-busy-1000      1,000 real-UDP nodes bootstrap and hold for a minute
#                      beside two busy-looping processes (about 3 minutes)
measure core-sim-1000 -n 1000
measure core-sim -n 10000
measure nemesis-short-200 -suite nemesis-short -n 200
measure_reps udp-1000 -mode udp -n 1000
measure udp-busy-1000 -mode udp -scenario bootstrap -n 1000 -busy 2 -hold 60s

# The large set, FIGURES_BIG=1.
#   scale-sim-100000  dissemination, crash and steady state at 100,000 simulated nodes
#   nemesis-1000      the nemesis suite at 1,000 simulated nodes (about 21 minutes
#                     at load 3 on 2 cores, 45 at load 6 to 29; its simulated
#                     figures do not depend on the load, so it may run beside
#                     the quick set: FIGURES_BIG=1 scripts/figures.sh nemesis-1000)
measure_big scale-sim-100000 16 -n 100000 -scenario dissemination,crash,steady
#   nemesis-mix-1000   the nemesis mix over 10,000 node-hours at 1,000 simulated
#                      nodes (10h15m of cluster time: about 4.6 CPU-hours, at
#                      the 0.45 CPU-seconds per simulated second of the mix
#                      in nemesis-1000)
#   nemesis-mix-1000-seed-2  the 30-minute nemesis mix at 1,000 simulated
#                      nodes with seed 2, whose draw found false deaths the
#                      nemesis suite's (seed 1) did not (about 13 minutes)
#   nemesis-mix-1000-seed-3  the same with seed 3, whose draw put slow nodes
#                      beside uniform loss (about 25 minutes)
#   nemesis-mass-crash-10000  30% of 10,000 simulated nodes crash at once
#                      (about 27 minutes and 16.5 GiB: the survivors' views
#                      diverge while the deaths spread, and GOMEMLIMIT keeps
#                      the collector ahead of them)
measure_big nemesis-1000 4 -suite nemesis -n 1000
#   steady-udp-10000   one node in its own process, joined to 9,999 real-UDP
#                      nodes in this one, FIGURES_REPS times (about 70 s and
#                      0.9 GB each); steady-udp-5000 the same at 5,000 nodes
measure_big_reps steady-udp-10000 2 -mode udp -n 10000 -scenario steady -duration 60s
measure_big_reps steady-udp-5000 2 -mode udp -n 5000 -scenario steady -duration 60s
measure_big nemesis-mix-1000 2 -scenario nemesis-mix -n 1000 -duration nemesis-mix=10h15m
measure_big nemesis-mix-1000-seed-2 3 -scenario nemesis-mix -n 1000 -seed 2
measure_big nemesis-mix-1000-seed-3 3 -scenario nemesis-mix -n 1000 -seed 3
GOMEMLIMIT=17GiB measure_big nemesis-mass-crash-10000 20 -scenario nemesis-mass-crash -n 10000 -duration 15s

"$tmp/gossipbench" render
if [ ${#failed[@]} -gt 0 ]; then
	echo "figures: outcome checks failed in:" >&2
	printf '  gossipbench %s\n' "${failed[@]}" >&2
	exit 1
fi
