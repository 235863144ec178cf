#!/usr/bin/env bash
# Audit log figures (no assertions): appends per second with one writer and
# with four parallel writers (every append flock'ed, fsynced, head rewritten,
# record and head signed), and `enf-audit verify` on a 1,000,000-record log
# made through libenf by bench/audit-gen.c.
# ENF_BIN: the programs; ENF_BUILD: the build dir holding libenf.a;
# AUDIT_RECORDS: size of the big log (default 1000000);
# AUDIT_SIGN_EVERY: sign every Nth record of the big log (default 100: libgcrypt
# Ed25519 signing is the slow part of making it; verify's default mode checks
# one signature whatever the count).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
: "${ENF_BIN:=$here/../bin}" "${ENF_BUILD:=$here/../build}"
N=${AUDIT_RECORDS:-1000000}
EVERY=${AUDIT_SIGN_EVERY:-100}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
umask 077

gen=$ENF_BUILD/bench/audit-gen
[ -x "$gen" ] || { echo "bench/audit.sh: $gen is not built (run make)" >&2; exit 1; }
"$gen" pub >"$tmp/inst.pub"

now() { date +%s.%N; }
rate() { awk -v n="$1" -v a="$2" -v b="$3" 'BEGIN { printf "%.0f", n / (b - a) }'; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }

echo "== enf audit ($(nproc) CPUs, load $(cut -d' ' -f1 /proc/loadavg))"

mkdir "$tmp/one"
"$gen" append "$tmp/one" 1
t0=$(now); "$gen" append "$tmp/one" 200; t1=$(now)
echo "append, 1 writer:      $(rate 200 "$t0" "$t1") records/s (200 appends)"

mkdir "$tmp/four"
"$gen" append "$tmp/four" 1
t0=$(now)
for i in 1 2 3 4; do "$gen" append "$tmp/four" 100 & done
wait
t1=$(now)
echo "append, 4 writers:     $(rate 400 "$t0" "$t1") records/s (4 x 100 appends)"
"$ENF_BIN/enf-audit" verify -q --instance "$tmp/inst.pub" "$tmp/four/audit.log" ||
	echo "!! the 4-writer log does not verify"

mkdir "$tmp/big"
t0=$(now); "$gen" gen "$tmp/big" "$N" "$EVERY"; t1=$(now)
size=$(stat -c %s "$tmp/big/audit.log")
echo "generate $N records: $(secs "$t0" "$t1") s, $((size / 1048576)) MiB (1 in $EVERY signed)"

cat "$tmp/big/audit.log" >/dev/null	# page cache warm, as for the runs below
t0=$(now); sha256sum "$tmp/big/audit.log" >/dev/null; t1=$(now)
base=$(secs "$t0" "$t1")
echo "sha256sum of the log:  $base s (floor: one pass of hashing)"
TIMEFORMAT='%U+%S'
t0=$(now)
cpu=$( { time "$ENF_BIN/enf-audit" verify -q --instance "$tmp/inst.pub" "$tmp/big/audit.log"; } 2>&1 )
t1=$(now)
echo "enf-audit verify:      $(secs "$t0" "$t1") s for $N records ($(rate "$N" "$t0" "$t1") records/s; CPU user+sys $cpu s)"
t0=$(now)
"$ENF_BIN/enf-audit" verify -q --all-signatures --instance "$tmp/inst.pub" "$tmp/big/audit.log"
t1=$(now)
echo "verify --all-signatures: $(secs "$t0" "$t1") s ($((N / EVERY)) signatures)"
