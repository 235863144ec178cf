#!/usr/bin/env bash
# Keys in a PKCS#11 token (SoftHSMv2), ratios measured in the same run:
#   one Ed25519 signature of a 1 KiB artifact, whole client process: a
#   token key in process and through enf-agent, beside pkcs11-tool --sign on
#   the same token (which pays no policy, no request check, no audit) and
#   beside a keystore key in process and through the agent;
#   a batch of 1,000 requests through the token key (enf-sign -d, in process
#   and through the agent) vs 1,000 pkcs11-tool --sign calls.
# Target (issue 10): the agent's token path within 1.5x of pkcs11-tool per
# signature, and a batch faster than 1,000 pkcs11-tool calls.
# Figures only, no assertions.  ENF_BIN: the programs; TOKEN_BENCH_N: the
# batch size (1000).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
: "${ENF_BIN:=$here/../bin}"
PATH="$ENF_BIN:$PATH"
P11=${P11_MODULE:-/usr/lib/softhsm/libsofthsm2.so}
N=${TOKEN_BENCH_N:-1000}

. "$here/lib.bash"
bench_needs bench/token.sh hyperfine jq ssh-keygen softhsm2-util pkcs11-tool
bench_instance token
printf '123456\n' >"$dir/pin"
export SOFTHSM2_CONF="$dir/softhsm2.conf"
mkdir "$dir/tokens"
printf 'directories.tokendir = %s\nobjectstore.backend = file\nlog.level = ERROR\n' "$dir/tokens" >"$SOFTHSM2_CONF"
softhsm2-util --init-token --free --label bench --pin 123456 --so-pin 654321 >/dev/null
# Cheap Argon2id: each in-process enf-sign pays one unlock, and this bench
# is about the token, not the KDF (bench/agent.sh measures that).
enf-keygen init --argon2 1:8192:1 >/dev/null
enf-keygen token add hsm --module "$P11" --label bench --pin-file "$dir/pin" >/dev/null
enf-keygen new --token hsm --pin-file "$dir/pin" -a ed25519 -p release tok >/dev/null
enf-keygen new -a ed25519 -p release ks >/dev/null
id=$(enf-keygen list --json | jq -r 'select(.name == "tok") | .backend.id')
{
	echo "version 1"
	echo "policy bench"
	echo "purpose release"
	echo "identity ci-bot $(cut -d' ' -f1,2 "$dir/ci.pub")"
	echo "rule tok key=tok identity=ci-bot purpose=release scope=artifact:*"
	echo "rule ks key=ks identity=ci-bot purpose=release scope=artifact:*"
} >"$dir/policy"
enf-policy install "$dir/policy" >/dev/null
for k in tok ks; do
	enf-request -k "$k" -i ci-bot -p release -s artifact:bench -r "$k" --ssh-key "$dir/ci" \
		"$dir/data" >"$dir/$k.req"
done

mkdir -m 0700 "$dir/run"
sock="$dir/run/agent.sock"
line=$(enf-agent -a "$sock")
agent_pid=$(sed -n 's/^echo Agent pid \([0-9]*\);$/\1/p' <<<"$line")

mean_ms() { jq -r ".results[$2].mean * 1000" "$1"; }
fmt() { awk "BEGIN{printf \"%8.2f\", $1}"; }
ratio() { awk "BEGIN{printf \"%6.2f\", $1 / ($2 > 0 ? $2 : 0.001)}"; }

echo "== one Ed25519 signature of a 1 KiB artifact, whole client process (SoftHSMv2)"
cd "$dir"
p11sign="pkcs11-tool --module $P11 --login --pin 123456 --sign -m EDDSA --id $id -i $dir/data -o $dir/p.sig"
hyperfine -N --warmup 5 --min-runs 40 --style none --export-json "$dir/one.json" \
	-n 'pkcs11-tool --sign' "$p11sign" \
	-n 'enf-sign token, via agent' "env ENF_AGENT_SOCK=$sock enf-sign -o $dir/a.sig $dir/tok.req" \
	-n 'enf-sign token, in process' "enf-sign -o $dir/b.sig $dir/tok.req" \
	-n 'enf-sign keystore, via agent' "env ENF_AGENT_SOCK=$sock enf-sign -o $dir/c.sig $dir/ks.req" \
	-n 'enf-sign keystore, in proc.' "enf-sign -o $dir/d.sig $dir/ks.req" \
	>/dev/null 2>&1
base=$(mean_ms "$dir/one.json" 0)
printf '%-30s %9s %16s\n' command "mean ms" "vs pkcs11-tool"
for i in 0 1 2 3 4; do
	printf '%-30s %9s %16s\n' "$(jq -r ".results[$i].command" "$dir/one.json")" \
		"$(fmt "$(mean_ms "$dir/one.json" $i)")" "$(ratio "$(mean_ms "$dir/one.json" $i)" "$base")"
done
printf 'target: token via agent within 1.50x of pkcs11-tool: %s\n' \
	"$(ratio "$(mean_ms "$dir/one.json" 1)" "$base")"

echo
echo "== $N signatures through the token"
mkdir "$dir/reqs" "$dir/out1" "$dir/out2"
for i in $(seq "$N"); do
	enf-request -k tok -i ci-bot -p release -s "artifact:$i" -r tok --ssh-key "$dir/ci" \
		--digest "sha512:$(printf %0128x "$i")" >"$dir/reqs/r$i.req"
done
elapsed() {
	local t0 t1
	t0=$(date +%s.%N)
	"$@" >/dev/null 2>&1 || true
	t1=$(date +%s.%N)
	awk "BEGIN{print $t1 - $t0}"
}
p11_many() { for _ in $(seq "$N"); do $p11sign >/dev/null 2>&1; done; }
t_p11=$(elapsed p11_many)
t_local=$(elapsed enf-sign -d "$dir/out1" "$dir"/reqs/*.req)
t_agent=$(ENF_AGENT_SOCK=$sock elapsed enf-sign -d "$dir/out2" "$dir"/reqs/*.req)
ok1=$(find "$dir/out1" -name '*.sig' | wc -l)
ok2=$(find "$dir/out2" -name '*.sig' | wc -l)
printf '%-34s %9s %12s %16s\n' "" "seconds" "sigs/s" "vs pkcs11-tool"
printf '%-34s %9.2f %12.0f %16s\n' "$N x pkcs11-tool --sign" "$t_p11" \
	"$(awk "BEGIN{print $N / $t_p11}")" "$(ratio "$t_p11" "$t_p11")"
printf '%-34s %9.2f %12.0f %16s\n' "enf-sign -d, in process ($ok1 ok)" "$t_local" \
	"$(awk "BEGIN{print $ok1 / $t_local}")" "$(ratio "$t_local" "$t_p11")"
printf '%-34s %9.2f %12.0f %16s\n' "enf-sign -d, via agent ($ok2 ok)" "$t_agent" \
	"$(awk "BEGIN{print $ok2 / $t_agent}")" "$(ratio "$t_agent" "$t_p11")"
