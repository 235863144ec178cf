#!/usr/bin/env bash
# Start-up self-test cost (no assertions): the median of fresh processes for
# crypto_init() with its fast tier, the same libgcrypt set-up without
# self-tests, and the signing tier that the first secret triggers.
# ENF_BUILD: the build dir holding libenf.a; SELFTEST_RUNS (default 101).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
: "${ENF_BUILD:=$here/../build}"
N=${SELFTEST_RUNS:-101}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

selftest=$ENF_BUILD/bench/selftest
[ -x "$selftest" ] || { echo "bench/selftest.sh: $selftest is not built (run make)" >&2; exit 1; }
median() { for _ in $(seq "$N"); do "$selftest" "$1"; done | sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }

echo "== enf self-tests ($(nproc) CPUs, load $(cut -d' ' -f1 /proc/loadavg), median of $N processes)"
init=$(median init); bare=$(median bare); signing=$(median signing)
echo "crypto_init with fast self-tests: ${init} us"
echo "crypto_init's libgcrypt set-up alone: ${bare} us"
echo "fast tier adds to every start: $((init - bare)) us"
echo "signing tier, once before the first secret: ${signing} us"
