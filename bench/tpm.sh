#!/usr/bin/env bash
# bench/tpm.sh: what --bind tpm adds to an unlock, against a software TPM
# (swtpm) this script starts on a loopback port and stops.  One unlock is
# timed as enf-keygen reset-lockout (one officer unlock and a small
# rewrite), bound and unbound, with the default and with the cheapest
# Argon2id; then the TPM commands of one unlock are counted from swtpm's
# log.  Prints figures; asserts nothing.  A hardware TPM is much slower
# than swtpm per command (typically 50-200 ms for CreatePrimary).
# ENF_BIN: the programs.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
: "${ENF_BIN:=$here/../bin}" "${RUNS:=9}"
export PATH="$ENF_BIN:$PATH"
tmp=$(mktemp -d)
trap 'kill "$(cat "$tmp/tpm/pid" 2>/dev/null)" 2>/dev/null || true; rm -rf "$tmp"' EXIT
umask 077
printf 'bench officer passphrase\n' >"$tmp/off"
printf 'bench operator passphrase\n' >"$tmp/op"
export ENF_OFFICER_PASSPHRASE_FILE="$tmp/off" ENF_PASSPHRASE_FILE="$tmp/op"

mkdir "$tmp/tpm"
for _ in $(seq 50); do
	port=$((20000 + 2 * (RANDOM % 15000)))
	swtpm socket --tpmstate dir="$tmp/tpm" --tpm2 \
		--server type=tcp,port=$port,bindaddr=127.0.0.1 \
		--ctrl type=tcp,port=$((port + 1)),bindaddr=127.0.0.1 \
		--flags not-need-init,startup-clear --daemon --pid file="$tmp/tpm/pid" \
		--log file="$tmp/tpm/log",level=20 >/dev/null 2>&1 && break
done
export TSS2_TCTI="swtpm:host=127.0.0.1,port=$port" TPM2TOOLS_TCTI="swtpm:host=127.0.0.1,port=$port"

ms() { echo $(( ($(date +%s%N) - $1) / 1000000 )); }
median() { local n=$1; shift; local t=()
	for _ in $(seq "$n"); do local s; s=$(date +%s%N); "$@" >/dev/null; t+=("$(ms "$s")"); done
	printf '%s\n' "${t[@]}" | sort -n | sed -n "$(( (n + 1) / 2 ))p"; }

echo "enf unlock with and without --bind tpm (swtpm, $(nproc) cores, median of $RUNS)"
for kdf in default 1:8192:1; do
	arg=(); [ "$kdf" = default ] || arg=(--argon2 "$kdf")
	enf-keygen -H "$tmp/none-$kdf" init "${arg[@]}" >/dev/null
	enf-keygen -H "$tmp/tpm-$kdf" init --bind tpm "${arg[@]}" >/dev/null
	printf 'Argon2id %-9s unbound: %4s ms   tpm-bound: %4s ms\n' "$kdf" \
		"$(median "$RUNS" enf-keygen -H "$tmp/none-$kdf" reset-lockout)" \
		"$(median "$RUNS" enf-keygen -H "$tmp/tpm-$kdf" reset-lockout)"
done
enf-keygen -H "$tmp/pcr" init --bind tpm --tpm-pcrs 16 --argon2 1:8192:1 >/dev/null
printf 'Argon2id 1:8192:1 tpm-bound, PCR 16:    %4s ms\n' \
	"$(median "$RUNS" enf-keygen -H "$tmp/pcr" reset-lockout)"

# The commands one unlock sends, by name (TPM 2.0 command codes).
count() { # HOME
	: >"$tmp/tpm/log"
	enf-keygen -H "$1" reset-lockout
	awk '/SWTPM_IO_Read/ { getline; print toupper($7 $8 $9 $10) }' "$tmp/tpm/log" |
	sed -e 's/^00000131$/CreatePrimary/' -e 's/^00000176$/StartAuthSession/' \
	    -e 's/^00000157$/Load/' -e 's/^0000015E$/Unseal/' -e 's/^00000165$/FlushContext/' \
	    -e 's/^0000017F$/PolicyPCR/' -e 's/^00000173$/ReadPublic/' |
	sort | uniq -c | awk '{ printf "%s %s, ", $1, $2; n += $1 } END { printf "%d in all\n", n }'
}
echo "TPM commands per unlock:            $(count "$tmp/tpm-1:8192:1")"
echo "TPM commands per unlock, PCR 16:    $(count "$tmp/pcr")"
# CreatePrimary is the one a hardware TPM makes slow; its share here:
kill "$(cat "$tmp/tpm/pid")"
while [ -e "$tmp/tpm/pid" ]; do sleep 0.05; done
swtpm socket --tpmstate dir="$tmp/tpm" --tpm2 --server type=tcp,port=$port,bindaddr=127.0.0.1 \
	--ctrl type=tcp,port=$((port + 1)),bindaddr=127.0.0.1 \
	--flags not-need-init,startup-clear --daemon --pid file="$tmp/tpm/pid"
cp_ecc() { tpm2_createprimary -Q -C o -G ecc256 -c "$tmp/p.ctx" && tpm2_flushcontext -t; }
echo "tpm2_createprimary ECC P-256 + flush (two processes): $(median "$RUNS" cp_ecc) ms"
