#!/usr/bin/env bash
# Long fuzzing runs (no assertions beyond "no crash"): every t/fuzz target
# for FUZZ_SECONDS (default 120) each, printing executions and executions
# per second.  A crash's input is kept in build/fuzz/crashes/TARGET/.
# The issue's bar is 10 million executions per target: at the rates printed
# here, FUZZ_SECONDS=$((10000000 / rate)) reaches it.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
cd "$here/.."
secs=${FUZZ_SECONDS:-120}
echo "== enf fuzz ($(nproc) CPUs, load $(cut -d' ' -f1 /proc/loadavg), ${secs} s per target)"
make --no-print-directory fuzz FUZZ_SECONDS="$secs" | grep -v '^1\.\.'
