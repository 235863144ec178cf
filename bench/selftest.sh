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

cc -O2 -std=c11 -D_DEFAULT_SOURCE -D_GNU_SOURCE -I"$here/../lib" $(libgcrypt-config --cflags) \
	-o "$tmp/selftest" "$here/selftest.c" "$ENF_BUILD/libenf.a" \
	$(libgcrypt-config --libs) -lgpg-error -lgdbm $(pkg-config --libs tss2-esys tss2-tctildr tss2-mu tss2-rc)
median() { for _ in $(seq "$N"); do "$tmp/selftest" "$1"; done | sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }

echo "== enf self-tests ($(nproc) CPUs, load $(cut -d' ' -f1 /proc/loadavg), median of $N processes)"
init=$(median init); bare=$(median bare); signing=$(median signing)
echo "crypto_init with fast self-tests: ${init} us"
echo "crypto_init's libgcrypt set-up alone: ${bare} us"
echo "fast tier adds to every start: $((init - bare)) us"
echo "signing tier, once before the first secret: ${signing} us"
