#!/usr/bin/env bash
# Fault trials at scale (prints trials and failures): FAULT_TRIALS (default
# 1000) kill -9 trials over every writing command, then the disk-full and
# read-only trials at every free size.  As root (the disk-full trials mount
# a tmpfs inside their own mount namespace).
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
: "${ENF_BIN:=$here/../bin}"
export ENF_BIN
echo "== enf fault trials ($(nproc) CPUs, load $(cut -d' ' -f1 /proc/loadavg))"
rc=0
"$here/../t/fault/kill.sh" "${FAULT_TRIALS:-1000}" | grep -v '^1\.\.' || rc=1
"$here/../t/fault/full.sh" | grep -v '^1\.\.' || rc=1
exit $rc
