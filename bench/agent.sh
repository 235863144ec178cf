#!/usr/bin/env bash
# enf-agent against its peers, ratios measured in the same run:
#   one signature through the agent (whole enf-sign client process, 1 KiB
#   artifact, Ed25519, audit record fsynced) vs ssh-keygen -Y sign and
#   pkcs11-tool on SoftHSMv2, by the wall clock and by CPU time (client
#   plus the agent's handler);
#   a batch of 1,000 requests in process and through the agent vs the
#   libgcrypt floor, 1 / (one Ed25519 verify + two Ed25519 signs), measured
#   by bench/floor.c before and after;
#   8 parallel clients x 1,000 requests: decisions/s, and the log checked
#   for lost or duplicated records;
#   the client's peak RSS vs ssh-keygen's; the agent's RSS after 1,000 and
#   after AGENT_BENCH_MANY (100,000) requests.
# Figures only, no assertions.  ENF_BIN, ENF_BUILD: the programs and libenf.a.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
: "${ENF_BIN:=$here/../bin}" "${ENF_BUILD:=$here/../build}"
PATH="$ENF_BIN:$PATH"
MANY=${AGENT_BENCH_MANY:-100000}
P11=${P11_MODULE:-/usr/lib/softhsm/libsofthsm2.so}

. "$here/lib.bash"
bench_needs bench/agent.sh jq ssh-keygen softhsm2-util pkcs11-tool /usr/bin/time
bench_instance agent
enf-keygen init >/dev/null			# default Argon2id: paid once by the agent
enf-keygen new -a ed25519 -p release rel >/dev/null
{
	echo "version 1"
	echo "policy bench"
	echo "purpose release"
	echo "identity ci-bot $(cut -d' ' -f1,2 "$dir/ci.pub")"
	echo "rule rel key=rel identity=ci-bot purpose=release scope=artifact:*"
} >"$dir/policy"
enf-policy install "$dir/policy" >/dev/null
enf-request -k rel -i ci-bot -p release -s artifact:bench -r rel --ssh-key "$dir/ci" \
	"$dir/data" >"$dir/req"

floor_prog=$ENF_BUILD/bench/floor
rounds=$ENF_BUILD/bench/rounds
for p in "$floor_prog" "$rounds"; do
	[ -x "$p" ] || { echo "bench/agent.sh: $p is not built (run make)" >&2; exit 1; }
done

mkdir -m 0700 "$dir/run"
sock="$dir/run/agent.sock"
line=$(enf-agent -a "$sock")
agent_pid=$(sed -n 's/^echo Agent pid \([0-9]*\);$/\1/p' <<<"$line")
export ENF_AGENT_SOCK="$sock"

export SOFTHSM2_CONF="$dir/softhsm2.conf"
mkdir "$dir/tokens"
echo "directories.tokendir = $dir/tokens" >"$SOFTHSM2_CONF"
softhsm2-util --init-token --free --label bench --pin 123456 --so-pin 654321 >/dev/null
pkcs11-tool --module "$P11" --login --pin 123456 --keypairgen --key-type EC:edwards25519 \
	--id 01 --label ed >/dev/null 2>&1

fmt() { awk "BEGIN{printf \"%8.2f\", $1}"; }
ratio() { awk "BEGIN{printf \"%6.2f\", $1 / ($2 > 0 ? $2 : 0.001)}"; }

echo "== one Ed25519 signature of a 1 KiB artifact, whole client process"
cd "$dir"
# In rounds (bench/rounds.c): each round runs every command once, so that
# a slow moment of a shared machine falls on all of them alike.
# ssh-keygen will not write over FILE.sig (it asks): the outputs are
# removed before each run.  Every command's stdout goes to a file, as
# "> file" (enf-sign's signature; nothing for the others).  ssh-keygen
# writes FILE.sig without fsync; enf-sign -o syncs the output before
# renaming it into place, "> file" does not: both fsync the audit record.
printf '%-28s %9s %9s %9s %8s %8s\n' command "median ms" "mean ms" "min ms" "median" "mean"
printf '%-28s %9s %9s %9s %8s %8s\n' "" "" "" "" "vs ssh-keygen" ""
"$rounds" -n "${AGENT_BENCH_ROUNDS:-200}" -s "$dir/stdout.sig" \
	-u "$dir/data.sig" -u "$dir/o.sig" -u "$dir/o5.sig" \
	"ssh-keygen -Y sign=ssh-keygen -q -Y sign -n release -f $dir/ci $dir/data" \
	"enf-sign via enf-agent -o=enf-sign -o $dir/o.sig $dir/req" \
	"enf-sign via enf-agent >=enf-sign $dir/req" \
	"pkcs11-tool (SoftHSMv2)=pkcs11-tool --module $P11 --login --pin 123456 --sign -m EDDSA --id 01 -i $dir/data -o $dir/o5.sig"

# The same, by CPU time (steadier on a shared machine, where the wall clock
# is mostly other programs' fsyncs and run queue): N runs of each, the
# whole process tree; through the agent, plus what its handlers used.
cpu_ticks() { awk '{print $14 + $15 + $16 + $17}' "/proc/$1/stat"; }
hz=$(getconf CLK_TCK)
N=${AGENT_BENCH_CPU_RUNS:-200}
cpu_ms() { # AGENT_PID|- COMMAND...: ms of CPU per run
	local a0=0 a1=0 t
	[ "$1" = - ] || a0=$(cpu_ticks "$1")
	t=$(/usr/bin/time -f '%U %S' bash -c 'for _ in $(seq '"$N"'); do "$@" <'"$dir"'/data >/dev/null 2>&1; done' \
		cpu "${@:2}" 2>&1 >/dev/null | tail -n1)
	sleep 0.2
	[ "$1" = - ] || a1=$(cpu_ticks "$1")
	awk -v t="$t" -v a="$a0" -v b="$a1" -v hz="$hz" -v n="$N" \
		'BEGIN{split(t, x, " "); printf "%.2f", 1000 * (x[1] + x[2] + (b - a) / hz) / n}'
}
# (ssh-keygen signs its stdin to stdout here: no FILE.sig to remove between runs)
c_ssh=$(cpu_ms - ssh-keygen -q -Y sign -n release -f "$dir/ci")
c_out=$(cpu_ms "$agent_pid" enf-sign -o "$dir/o.sig" "$dir/req")
c_std=$(cpu_ms "$agent_pid" enf-sign "$dir/req")
echo
printf '%-28s %9s %14s   (CPU ms per signature, %s runs)\n' command "CPU ms" "vs ssh-keygen" "$N"
printf '%-28s %9s %14s\n' "ssh-keygen -Y sign" "$c_ssh" "$(ratio "$c_ssh" "$c_ssh")" \
	"enf-sign via enf-agent -o" "$c_out" "$(ratio "$c_out" "$c_ssh")" \
	"enf-sign via enf-agent >" "$c_std" "$(ratio "$c_std" "$c_ssh")"

echo
echo "== peak RSS of one signing process (KiB)"
rss() { /usr/bin/time -f %M -o "$dir/rss" "$@" >/dev/null 2>&1 || true; tail -n1 "$dir/rss"; }
rm -f "$dir/data.sig"
ssh_rss=$(rss ssh-keygen -q -Y sign -n release -f "$dir/ci" "$dir/data")
client_rss=$(rss enf-sign -o "$dir/o.sig" "$dir/req")
local_rss=$(ENF_AGENT_SOCK='' rss enf-sign -o "$dir/o.sig" "$dir/req")
printf '%-28s %9s\n' "ssh-keygen -Y sign" "$ssh_rss" "enf-sign via enf-agent" "$client_rss" \
	"enf-sign in process" "$local_rss"
printf 'client vs ssh-keygen: %s\n' "$(ratio "$client_rss" "$ssh_rss")"

echo
echo "== batch of 1,000 Ed25519 requests vs the libgcrypt floor"
mkdir "$dir/reqs"
for i in $(seq 1000); do
	enf-request -k rel -i ci-bot -p release -s "artifact:$i" -r rel --ssh-key "$dir/ci" \
		--digest "sha256:$(printf %064x "$i")" >"$dir/reqs/r$i.req"
done
elapsed() {
	local t0 t1
	t0=$(date +%s.%N)
	"$@" >/dev/null 2>&1 || true
	t1=$(date +%s.%N)
	awk "BEGIN{print $t1 - $t0}"
}
# batch LABEL OUT [agent]: one enf-sign -d of the 1,000 requests into the
# new directory OUT, its wall and CPU seconds (the client's, plus the
# agent's children's through the agent) appended to rows.
rows=()
batch() {
	local a0=0 a1=0 sock=
	mkdir "$2"
	[ "${3:-}" = agent ] && sock=$ENF_AGENT_SOCK && a0=$(cpu_ticks "$agent_pid")
	t=$(ENF_AGENT_SOCK=$sock elapsed /usr/bin/time -f '%U %S' -o "$dir/cpu" \
		enf-sign -d "$2" "$dir"/reqs/*.req)
	if [ -n "$sock" ]; then sleep 0.2; a1=$(cpu_ticks "$agent_pid"); fi
	rows+=("$1|$t|$(awk -v a="$a0" -v b="$a1" -v hz="$hz" 'NR==1{print $1 + $2 + (b - a) / hz}' \
		"$dir/cpu")|$(ls "$2" | grep -c '\.sig$')")
}
f1=$("$floor_prog" 2000 | awk '{print $6}')
c1=$("$floor_prog" 2000 cpu | awk '{print $6}')
batch "enf-sign -d in process (1 unlock)" "$dir/out1"
batch "enf-sign -d via enf-agent" "$dir/out2" agent
# This disk's cost of creating 1,000 files, apart: the same batches with
# their outputs on a tmpfs (the log, and its fsyncs, stay where they were).
shm=
if [ -d /dev/shm ] && shm=$(mktemp -d /dev/shm/enf-agent-bench.XXXXXX); then
	batch "  in process, outputs on tmpfs" "$shm/out1"
	batch "  via enf-agent, outputs on tmpfs" "$shm/out2" agent
	rm -rf "$shm"
fi
f2=$("$floor_prog" 2000 | awk '{print $6}')
c2=$("$floor_prog" 2000 cpu | awk '{print $6}')
floor=$(awk "BEGIN{print ($f1 + $f2) / 2}")
cfloor=$(awk "BEGIN{print ($c1 + $c2) / 2}")
printf '%-36s %12s %9s %14s %9s %6s\n' "" "wall dec/s" "of floor" "CPU-time dec/s" "of floor" "sigs"
printf '%-36s %12s %9s %14s %9s\n' "libgcrypt floor (1 verify + 2 signs)" "$(fmt "$floor")" "" \
	"$(fmt "$cfloor")" ""
for r in "${rows[@]}"; do
	IFS='|' read -r label t cpu n <<<"$r"
	printf '%-36s %12s %8s%% %14s %8s%% %6s\n' "$label" "$(fmt "1000 / $t")" \
		"$(fmt "100 * 1000 / $t / $floor")" "$(fmt "1000 / $cpu")" \
		"$(fmt "100 * 1000 / $cpu / $cfloor")" "$n"
done
echo "(CPU time: the client's, plus the agent's children's for the agent; on a"
echo " shared machine it is the steadier figure)"

echo
echo "== 8 parallel clients x 1,000 requests through one agent"
before=$(enf-audit head | cut -d: -f1)
t0=$(date +%s.%N)
for c in 1 2 3 4 5 6 7 8; do
	mkdir "$dir/p$c"
	enf-sign -d "$dir/p$c" "$dir"/reqs/*.req >/dev/null 2>&1 &
done
wait
t1=$(date +%s.%N)
after=$(enf-audit head | cut -d: -f1)
enf-audit show --json | jq -c "select(.seq > $before)" >"$dir/par.json"
records=$(jq -s 'map(select(.op == "sign" and .outcome == "permit")) | length' "$dir/par.json")
per=$(jq -s -c 'map(select(.op == "sign")) | group_by(.request_digest) | map(length) | unique' \
	"$dir/par.json")
sigs=$(cat "$dir"/p?/*.sig | grep -c 'BEGIN SSH SIGNATURE')
printf 'decisions/s %s\nrecords %s (want 8000), records per request %s (want [8]), signatures %s\n' \
	"$(fmt "8000 / ($t1 - $t0)")" "$records" "$per" "$sigs"
printf 'log: %s\n' "$(enf-audit verify 2>&1 | tail -n1)"

echo
echo "== the agent's RSS (KiB)"
agent_rss() { awk '/^VmRSS:/ {print $2}' "/proc/$agent_pid/status"; }
n=$(enf-audit head | cut -d: -f1)
printf 'after %7s requests: %s\n' "$n" "$(agent_rss)"
while [ "$n" -lt "$MANY" ]; do
	enf-sign -d "$dir/out2" "$dir"/reqs/*.req >/dev/null 2>&1 || true
	n=$(enf-audit head | cut -d: -f1)
done
printf 'after %7s requests: %s\n' "$n" "$(agent_rss)"
