#!/usr/bin/env bash
# Long fuzzing runs (no assertions beyond "no crash"): every t/fuzz target
# (or FUZZ_TARGETS="a b") for FUZZ_SECONDS (default 120) each, or until
# FUZZ_RUNS executions each when that is set (FUZZ_RUNS=10000000 is the
# issue's bar), then a table to paste: executions, wall seconds, executions
# per second and per CPU second (on a shared machine the wall rate says
# more about the load than about the target), coverage.  A crash's input
# is kept in build/fuzz/crashes/TARGET/.
set -eu -o pipefail
here=$(cd "$(dirname "$0")" && pwd)
cd "$here/.."
secs=${FUZZ_SECONDS:-120}
[ -n "${FUZZ_RUNS:-}" ] && secs=${FUZZ_SECONDS:-0}
limit="${secs} s per target"
[ -n "${FUZZ_RUNS:-}" ] && limit="${FUZZ_RUNS} executions per target${FUZZ_SECONDS:+, at most ${secs} s}"
echo "== enf fuzz ($(nproc) CPUs, load $(cut -d' ' -f1 /proc/loadavg), ${limit})"
out=$(mktemp)
trap 'rm -f "$out"' EXIT
rc=0
make --no-print-directory fuzz FUZZ_SECONDS="$secs" ${FUZZ_TARGETS:+FUZZ_TARGETS="$FUZZ_TARGETS"} |
	grep -v -e "^1\.\." -e "^make\[" | tee "$out" || rc=$?
echo
echo "| Target | Executions | Seconds | Per second | Per CPU second | Coverage |"
echo "|---|---:|---:|---:|---:|---|"
sed -n 's/^ok [0-9]* - fuzz \([a-z_0-9]*\): \([0-9]*\) execs in \([0-9]*\) s (\([0-9]*\)\/s, \([0-9]*\)\/CPU s; \(.*\))$/| \1 | \2 | \3 | \4 | \5 | \6 |/p' "$out"
sed -n 's/^not ok [0-9]* - fuzz \([a-z_0-9]*\): \(.*\)$/| \1 | FAILED: \2 | | | | |/p' "$out"
exit "$rc"
