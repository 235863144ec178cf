#!/usr/bin/env bash
# enf-seal throughput on a 1 GiB file against raw AES (openssl enc
# -aes-256-ctr) and age, in the same run on the same page-cached input,
# output to /dev/null; then peak RSS for 1 KiB against 1 GiB (constant
# memory).  Each timing is the best of $RUNS.  The bench instance uses cheap
# Argon2id parameters so that a run measures sealing, not the unlock.
# ENF_BIN: the programs; SEAL_BENCH_MB: input size (default 1024).
set -eu
: "${ENF_BIN:=$(cd "$(dirname "$0")/.." && pwd)/bin}"
PATH="$ENF_BIN:$PATH"
MB=${SEAL_BENCH_MB:-1024}
RUNS=${RUNS:-3}

for t in openssl age age-keygen /usr/bin/time; do
	command -v "$t" >/dev/null || { echo "bench/seal.sh: needs $t (make bench-deps)" >&2; exit 1; }
done

dir=$(mktemp -d "${TMPDIR:-/tmp}/enf-seal-bench.XXXXXX")
trap 'rm -rf "$dir"' EXIT
umask 077
export ENF_HOME="$dir/enf"
printf 'bench officer passphrase\n' >"$dir/off"
printf 'bench operator passphrase\n' >"$dir/op"
export ENF_OFFICER_PASSPHRASE_FILE="$dir/off" ENF_PASSPHRASE_FILE="$dir/op"
enf-keygen init --argon2 1:8192:1 >/dev/null

head -c $((MB * 1024 * 1024)) /dev/urandom >"$dir/big"
head -c 1024 /dev/urandom >"$dir/small"
key=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')
iv=$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')
age-keygen -o "$dir/age.key" 2>/dev/null
recipient=$(age-keygen -y "$dir/age.key")

# Prepare the inputs of the decrypting runs.
enf-seal seal -o "$dir/big.enf" "$dir/big"
openssl enc -aes-256-ctr -K "$key" -iv "$iv" -in "$dir/big" -out "$dir/big.ctr"
age -r "$recipient" -o "$dir/big.age" "$dir/big"
enf-seal seal -o "$dir/small.enf" "$dir/small"
cat "$dir/big" "$dir/big.enf" "$dir/big.ctr" "$dir/big.age" >/dev/null

# best SECONDS of RUNS runs of the command (stdout to /dev/null)
best() {
	local b="" t
	for _ in $(seq "$RUNS"); do
		/usr/bin/time -f %e -o "$dir/t" "$@" >/dev/null
		t=$(cat "$dir/t")
		if [ -z "$b" ] || awk "BEGIN{exit !($t < $b)}"; then b=$t; fi
	done
	echo "$b"
}

# peak RSS (KiB) of the command
rss() {
	/usr/bin/time -v -o "$dir/v" "$@" >/dev/null
	sed -n 's/.*Maximum resident set size (kbytes): //p' "$dir/v"
}

mbps() { awk "BEGIN{printf \"%.0f\", $MB / ($1 > 0 ? $1 : 0.01)}"; }
ratio() { awk "BEGIN{printf \"%.2f\", $1 / ($2 > 0 ? $2 : 0.01)}"; }

s_enf=$(best enf-seal seal "$dir/big")
o_enf=$(best enf-seal open "$dir/big.enf")
s_ssl=$(best openssl enc -aes-256-ctr -K "$key" -iv "$iv" -in "$dir/big")
o_ssl=$(best openssl enc -d -aes-256-ctr -K "$key" -iv "$iv" -in "$dir/big.ctr")
s_age=$(best age -r "$recipient" "$dir/big")
o_age=$(best age -d -i "$dir/age.key" "$dir/big.age")
s_small=$(best enf-seal seal "$dir/small")

echo "enf-seal bench: $MB MiB, best of $RUNS, output to /dev/null"
printf '%-34s %8s %8s %22s\n' "" seconds "MiB/s" "time vs openssl ctr"
printf '%-34s %8s %8s %22s\n' "enf-seal seal (AES-256-GCM chunks)" "$s_enf" "$(mbps "$s_enf")" "$(ratio "$s_enf" "$s_ssl")x"
printf '%-34s %8s %8s %22s\n' "openssl enc -aes-256-ctr" "$s_ssl" "$(mbps "$s_ssl")" "1.00x"
printf '%-34s %8s %8s %22s\n' "age -r (ChaCha20-Poly1305)" "$s_age" "$(mbps "$s_age")" "$(ratio "$s_age" "$s_ssl")x"
printf '%-34s %8s %8s %22s\n' "enf-seal open" "$o_enf" "$(mbps "$o_enf")" "$(ratio "$o_enf" "$o_ssl")x"
printf '%-34s %8s %8s %22s\n' "openssl enc -d -aes-256-ctr" "$o_ssl" "$(mbps "$o_ssl")" "1.00x"
printf '%-34s %8s %8s %22s\n' "age -d" "$o_age" "$(mbps "$o_age")" "$(ratio "$o_age" "$o_ssl")x"
echo "enf-seal seal vs age: $(ratio "$s_enf" "$s_age")x time; open vs age: $(ratio "$o_enf" "$o_age")x time"
echo "fixed cost (1 KiB seal, incl. unlock with --argon2 1:8192:1 and audit append): ${s_small}s"

echo "peak RSS (KiB):        1 KiB    $MB MiB"
printf 'enf-seal seal     %10s %10s\n' "$(rss enf-seal seal "$dir/small")" "$(rss enf-seal seal "$dir/big")"
printf 'enf-seal open     %10s %10s\n' "$(rss enf-seal open "$dir/small.enf")" "$(rss enf-seal open "$dir/big.enf")"
printf 'enf-seal open -o  %10s %10s\n' "$(rss enf-seal open -o "$dir/small.out" "$dir/small.enf")" \
	"$(rss enf-seal open -o "$dir/big.out" "$dir/big.enf")"
cmp "$dir/big" "$dir/big.out"
