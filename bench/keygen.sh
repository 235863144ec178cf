#!/usr/bin/env bash
# bench/keygen.sh: what enf-keygen costs with the default Argon2id
# parameters: init, one officer unlock, new per algorithm, and list on a
# keystore of BENCH_KEYS keys (default 10000).  Prints figures; asserts nothing.
# ENF_BIN: the programs; ENF_BUILD: the build dir holding libenf.a.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
: "${ENF_BIN:=$here/../bin}" "${ENF_BUILD:=$here/../build}" "${BENCH_KEYS:=10000}"
export PATH="$ENF_BIN:$PATH"
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
umask 077
printf 'bench officer passphrase\n' >"$tmp/off"
printf 'bench operator passphrase\n' >"$tmp/op"
export ENF_OFFICER_PASSPHRASE_FILE="$tmp/off" ENF_PASSPHRASE_FILE="$tmp/op"

ms() { echo $(( ($(date +%s%N) - $1) / 1000000 )); }
# median of N runs of a command, in ms
median() { local n=$1; shift; local t=()
	for _ in $(seq "$n"); do local s; s=$(date +%s%N); "$@" >/dev/null; t+=("$(ms "$s")"); done
	printf '%s\n' "${t[@]}" | sort -n | sed -n "$(( (n + 1) / 2 ))p"; }

echo "enf-keygen, default Argon2id parameters ($(nproc) cores)"
s=$(date +%s%N); enf-keygen -H "$tmp/a" init >/dev/null; echo "init (two credentials):           $(ms "$s") ms"
# reset-lockout is one officer unlock plus a rewrite of a tiny keystore.
echo "officer unlock (reset-lockout):   $(median 5 enf-keygen -H "$tmp/a" reset-lockout) ms (median of 5)"
echo "list, empty keystore:             $(median 5 enf-keygen -H "$tmp/a" list) ms"
for alg in ed25519 ecdsa-p256 ecdsa-p384 rsa3072 rsa4096; do
	i=0; t=()
	for _ in 1 2 3; do
		i=$((i + 1)); s=$(date +%s%N)
		enf-keygen -H "$tmp/a" new -a "$alg" -p bench "$alg-$i" >/dev/null
		t+=("$(ms "$s")")
	done
	printf 'new %-11s                   %s ms (runs: %s)\n' "$alg:" \
		"$(printf '%s\n' "${t[@]}" | sort -n | sed -n 2p)" "${t[*]}"
done

mkstore=$ENF_BUILD/bench/mkstore
[ -x "$mkstore" ] || { echo "bench/keygen.sh: $mkstore is not built (run make)" >&2; exit 1; }
enf-keygen -H "$tmp/b" init --argon2 1:8192:1 >/dev/null
s=$(date +%s%N); "$mkstore" "$tmp/b" "$BENCH_KEYS"
echo "provisioning $BENCH_KEYS ed25519 keys in one change:  $(ms "$s") ms (key generation dominates)"
echo "keystore size:                    $(du -k "$tmp/b/keystore" | cut -f1) KiB"
echo "list, $BENCH_KEYS keys:               $(median 5 enf-keygen -H "$tmp/b" list) ms (median of 5)"
echo "list --json, $BENCH_KEYS keys:        $(median 5 enf-keygen -H "$tmp/b" list --json) ms"
s=$(date +%s%N); enf-keygen -H "$tmp/b" new -p bench one-more >/dev/null
echo "new on $BENCH_KEYS keys (cheap KDF):  $(ms "$s") ms (a rewrite of the whole keystore)"
