#!/usr/bin/env bash
# Concurrency stress at scale (prints figures; fails on a lost or duplicated
# record): 8 parallel signers x STRESS_N (default 1000) requests while 4
# officers create keys, through t/fault/stress.sh.
set -u
here=$(cd "$(dirname "$0")" && pwd)
: "${ENF_BIN:=$here/../bin}"
export ENF_BIN
echo "== enf stress ($(nproc) CPUs, load $(cut -d' ' -f1 /proc/loadavg))"
"$here/../t/fault/stress.sh" "${STRESS_N:-1000}" | grep -v '^1\.\.'
