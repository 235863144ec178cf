#!/usr/bin/env bash
# enf-sign against the usual ways of making one signature, whole process
# each time, on a 1 KiB artifact with an Ed25519 key:
#   enf-sign (default Argon2id unlock, policy evaluation, audit append),
#   ssh-keygen -Y sign, openssl pkeyutl -sign -rawin, and pkcs11-tool --sign
#   on a throwaway SoftHSMv2 token;
# then where enf-sign's time goes (process start, Argon2id, fsync), and
# enf-request hashing a 1 GiB file against sha512sum/sha256sum.
# Figures and ratios only, no assertions.  Uses hyperfine (mean and best of
# runs, shell start-up subtracted).  On a shared or busy machine the means
# wander; the best-of column and the ratios are the steadier figures.
# ENF_BIN: the programs; SIGN_BENCH_MB: size of the hashed file (1024).
set -eu
: "${ENF_BIN:=$(cd "$(dirname "$0")/.." && pwd)/bin}"
PATH="$ENF_BIN:$PATH"
MB=${SIGN_BENCH_MB:-1024}
P11=${P11_MODULE:-/usr/lib/softhsm/libsofthsm2.so}

for t in hyperfine jq openssl ssh-keygen softhsm2-util pkcs11-tool strace; do
	command -v "$t" >/dev/null || { echo "bench/sign.sh: needs $t (make bench-deps)" >&2; exit 1; }
done
[ -f "$P11" ] || { echo "bench/sign.sh: no SoftHSM module at $P11 (P11_MODULE=...)" >&2; exit 1; }

dir=$(mktemp -d "${TMPDIR:-/tmp}/enf-sign-bench.XXXXXX")
trap 'rm -rf "$dir"' EXIT
umask 077
printf 'bench officer passphrase\n' >"$dir/off"
printf 'bench operator passphrase\n' >"$dir/op"
export ENF_OFFICER_PASSPHRASE_FILE="$dir/off" ENF_PASSPHRASE_FILE="$dir/op"
head -c 1024 /dev/urandom >"$dir/data"
ssh-keygen -q -t ed25519 -N '' -C ci -f "$dir/ci"

# instance HOME [ARGON2]: an instance with key rel, a policy, and a request.
instance() {
	export ENF_HOME=$1
	if [ -n "${2:-}" ]; then
		enf-keygen init --argon2 "$2" >/dev/null
	else
		enf-keygen init >/dev/null	# default Argon2id parameters
	fi
	enf-keygen new -a ed25519 -p release rel >/dev/null
	cat >"$dir/policy" <<-EOF
	version 1
	policy bench
	purpose release
	identity ci-bot $(cut -d' ' -f1,2 "$dir/ci.pub")
	rule rel key=rel identity=ci-bot purpose=release scope=artifact:bench
	EOF
	enf-policy install "$dir/policy" >/dev/null
}
instance "$dir/enf"
instance "$dir/enf-cheap" 1:8192:1
export ENF_HOME="$dir/enf"
enf-request -k rel -i ci-bot -p release -s artifact:bench -r rel --ssh-key "$dir/ci" \
	"$dir/data" >"$dir/req"
enf-request -k rel -i ci-bot -p release -s artifact:deny -r rel --ssh-key "$dir/ci" \
	"$dir/data" >"$dir/req-deny"
enf-sign -o "$dir/check.sig" "$dir/req"

# The same Ed25519 signing elsewhere.
openssl genpkey -algorithm ed25519 -out "$dir/ed.pem" 2>/dev/null
export SOFTHSM2_CONF="$dir/softhsm2.conf"
mkdir "$dir/tokens"
echo "directories.tokendir = $dir/tokens" >"$SOFTHSM2_CONF"
softhsm2-util --init-token --free --label bench --pin 123456 --so-pin 654321 >/dev/null
pkcs11-tool --module "$P11" --login --pin 123456 --keypairgen --key-type EC:edwards25519 \
	--id 01 --label ed >/dev/null 2>&1

# mean_ms JSON INDEX
mean_ms() { jq -r ".results[$2].mean * 1000" "$1"; }
sd_ms() { jq -r ".results[$2].stddev * 1000" "$1"; }
min_ms() { jq -r ".results[$2].min * 1000" "$1"; }
fmt() { awk "BEGIN{printf \"%8.2f\", $1}"; }
ratio() { awk "BEGIN{printf \"%6.1fx\", $1 / ($2 > 0 ? $2 : 0.001)}"; }

echo "== one Ed25519 signature of a 1 KiB artifact, whole process (mean of runs)"
hyperfine --warmup 3 --min-runs 20 --style none --export-json "$dir/sign.json" \
	-n 'enf-sign (default Argon2id)' "enf-sign -o $dir/o1.sig $dir/req" \
	-n 'enf-sign (Argon2id 1:8192:1)' "ENF_HOME=$dir/enf-cheap enf-sign -o $dir/o2.sig $dir/req" \
	-n 'enf-sign denial (default)' "enf-sign $dir/req-deny 2>/dev/null; true" \
	-n 'ssh-keygen -Y sign' "ssh-keygen -q -Y sign -n release -f $dir/ci <$dir/data >$dir/o3.sig" \
	-n 'openssl pkeyutl -rawin' "openssl pkeyutl -sign -inkey $dir/ed.pem -rawin -in $dir/data -out $dir/o4.sig" \
	-n 'pkcs11-tool (SoftHSMv2)' "pkcs11-tool --module $P11 --login --pin 123456 --sign -m EDDSA --id 01 -i $dir/data -o $dir/o5.sig 2>/dev/null" \
	>/dev/null 2>&1
# Too short for hyperfine's shell correction: measured without a shell.
hyperfine -N --warmup 3 --min-runs 30 --style none --export-json "$dir/start.json" \
	-n 'enf-sign --version (start-up)' "enf-sign --version" >/dev/null 2>&1
base=$(mean_ms "$dir/sign.json" 3)
row() { # JSON INDEX
	printf '%-32s %9s %9s %8s %10s\n' "$(jq -r ".results[$2].command" "$1")" \
		"$(fmt "$(mean_ms "$1" "$2")")" "$(fmt "$(min_ms "$1" "$2")")" \
		"$(fmt "$(sd_ms "$1" "$2")")" "$(ratio "$(mean_ms "$1" "$2")" "$base")"
}
printf '%-32s %9s %9s %8s %10s\n' command "mean ms" "min ms" "sd" "vs ssh-keygen"
for i in 0 1 2 3 4 5; do row "$dir/sign.json" $i; done
row "$dir/start.json" 0
full=$(mean_ms "$dir/sign.json" 0)
cheap=$(mean_ms "$dir/sign.json" 1)
start=$(mean_ms "$dir/start.json" 0)

echo
echo "== where enf-sign's time goes"
# fsync: how many, and what they cost here, timed by strace inside a real
# run (best of 5 runs).
fs_best=""
for _ in 1 2 3 4 5; do
	strace -f -T -e trace=fsync,fdatasync -o "$dir/strace" \
		enf-sign -o "$dir/o6.sig" "$dir/req" >/dev/null
	t=$(awk -F'<' '/fsync|fdatasync/ && /</ {sub(/>.*/, "", $NF); s += $NF} END{print s * 1000}' "$dir/strace")
	if [ -z "$fs_best" ] || awk "BEGIN{exit !($t < $fs_best)}"; then fs_best=$t; fi
done
nfsync=$(grep -cE 'fsync|fdatasync' "$dir/strace" || true)
printf '%-44s %8s ms\n' "whole enf-sign, default Argon2id (3:65536:2)" "$(fmt "$full")"
printf '%-44s %8s ms\n' "  Argon2id unlock (default minus cheap)" "$(fmt "$full - $cheap")"
printf '%-44s %8s ms\n' "  process start, libgcrypt init (--version)" "$(fmt "$start")"
printf '%-44s %8s ms  (%s fsync calls, timed by strace)\n' "  fsync" "$(fmt "$fs_best")" \
	"$nfsync"
printf '%-44s %8s ms\n' "  the rest (cheap Argon2id, keystore, policy, verify, sign, audit)" \
	"$(fmt "$cheap - $start - $fs_best")"

echo
echo "== enf-request hashing a $MB MiB file (page-cached, --unsigned), mean of runs"
head -c $((MB * 1024 * 1024)) /dev/urandom >"$dir/big"
cat "$dir/big" >/dev/null
hyperfine --runs 3 --style none --export-json "$dir/hash.json" \
	-n 'enf-request -a sha512' "enf-request -k rel -i ci-bot -p release -s x -r rel -a sha512 --unsigned $dir/big" \
	-n 'sha512sum' "sha512sum $dir/big" \
	-n 'enf-request -a sha256' "enf-request -k rel -i ci-bot -p release -s x -r rel -a sha256 --unsigned $dir/big" \
	-n 'sha256sum' "sha256sum $dir/big" \
	>/dev/null 2>&1
printf '%-26s %10s %10s %10s\n' command "mean ms" "MiB/s" "vs coreutils"
for i in 0 1 2 3; do
	m=$(mean_ms "$dir/hash.json" $i)
	ref=$(mean_ms "$dir/hash.json" $(( i / 2 * 2 + 1 )))
	printf '%-26s %10s %10s %10s\n' "$(jq -r ".results[$i].command" "$dir/hash.json")" \
		"$(fmt "$m")" "$(fmt "$MB / ($m / 1000)")" "$(ratio "$m" "$ref")"
done
