#!/usr/bin/env bash
# Concurrency stress: t/fault/stress.sh [N]
# At the same time, on one instance: 8 parallel signers of N requests each
# (every request distinct: its own data and scope), and 4 parallel officers
# making N/4 keys each (keystore rewrites, each under the lock).  Then:
#   - 8N permit records and N officer records (rounded), none lost, none
#     duplicated (each request's digest appears in exactly one record);
#   - every signature verifies over its own data and matches its record;
#   - every key the officers made is in the keystore;
#   - the log's chain and signatures verify.
# Signers are one line each in SIGNERS: a command line with $r the request
# and $o the output.  The agent signer's 8 clients share one agent, started
# after setup in the foreground of a background job and stopped at exit.
set -u
here=$(cd "$(dirname "$0")" && pwd)
: "${ENF_BIN:=$here/../../bin}"
PATH="$ENF_BIN:$PATH"
N=${1:-10}
P=8 OFFICERS=4
work=$(mktemp -d)
agent=
trap '[ -z "$agent" ] || { kill "$agent"; wait "$agent"; } 2>/dev/null; rm -rf "$work"' EXIT
umask 077
export HOME="$work/home" ENF_HOME="$work/enf"
mkdir -p "$HOME"
unset SSH_AUTH_SOCK ENF_AGENT_SOCK
export ENF_OFFICER_PASSPHRASE_FILE="$work/officer.pass" ENF_PASSPHRASE_FILE="$work/operator.pass"
printf 'officer correct horse\n' >"$ENF_OFFICER_PASSPHRASE_FILE"
printf 'operator battery staple\n' >"$ENF_PASSPHRASE_FILE"

SIGNERS=(
	'inproc|enf-sign -o "$o" "$r"'
	'agent|enf-sign --agent "$work/agent.sock" -o "$o" "$r"'
)

now() { date +%s.%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }
rate() { awk -v n="$1" -v a="$2" -v b="$3" 'BEGIN { printf "%.0f", n / (b - a) }'; }

setup() {
	enf-keygen init --argon2 1:8192:1 >/dev/null &&
	enf-keygen new -p release rel >/dev/null &&
	enf-keygen pubkey rel >"$work/rel.pub" &&
	ssh-keygen -q -t ed25519 -N '' -C ci -f "$work/ci" || return 1
	{
		echo "version 1"; echo "policy stress-1"; echo "purpose release"
		echo "identity ci $(cut -d' ' -f1,2 "$work/ci.pub")"
		echo "rule r1 key=rel identity=ci purpose=release scope=artifact:*"
	} >"$work/policy"
	enf-policy install "$work/policy" >/dev/null || return 1
	enf-agent -D -a "$work/agent.sock" --passphrase-file "$ENF_PASSPHRASE_FILE" \
		>"$work/agent.log" 2>&1 &
	agent=$!
	for ((i = 0; i < 100; i++)); do [ -S "$work/agent.sock" ] && break; sleep 0.05; done
	[ -S "$work/agent.sock" ] || return 1
	mkdir -p "$work/req" "$work/sig"
	for ((s = 0; s < P; s++)); do
		for ((i = 0; i < N; i++)); do
			printf 'stress data %d %d\n' "$s" "$i" >"$work/req/$s-$i.data"
			enf-request -k rel -i ci -p release -s "artifact:s$s-$i" -r r1 \
				--ssh-key "$work/ci" "$work/req/$s-$i.data" >"$work/req/$s-$i.req" 2>/dev/null ||
				return 1
		done
	done
}

signer() { # SIGNER-COMMAND INDEX
	local cmd=$1 s=$2 i r o
	for ((i = 0; i < N; i++)); do
		r=$work/req/$s-$i.req o=$work/sig/$s-$i.sig
		eval "$cmd" >/dev/null 2>>"$work/errors" || echo "sign $s-$i: exit $?" >>"$work/errors"
	done
}

# A governance change made on a view another officer has changed since is
# refused ("changed by another process; try again", exit 3) rather than
# merged: the officer tries again, as a script would; each retry is counted.
# Officers who retried in lockstep could keep invalidating one another's
# views (each change spans a KDF), so, as a script should, each waits a
# random 0-199 ms first.
officer() { # INDEX COUNT
	local k t
	for ((k = 0; k < $2; k++)); do
		for ((t = 0; t < 50; t++)); do
			enf-keygen new -p release "o$1-$k" >/dev/null 2>"$work/o$1.err" && break
			grep -q 'changed by another process' "$work/o$1.err" || break
			echo retry >>"$work/retries"
			sleep "0.$(printf %03d $((RANDOM % 200)))"
		done
		[ "$t" -lt 50 ] && [ ! -s "$work/o$1.err" ] ||
			echo "new o$1-$k: $(cat "$work/o$1.err")" >>"$work/errors"
	done
}

# The request digest recorded for each request: SHA-256 of its 8-line body.
body_digest() { head -n 8 "$1" | sha256sum | cut -d' ' -f1; }

if ! setup >"$work/setup.log" 2>&1; then
	echo "not ok 1 - stress: setup failed"
	sed 's/^/#   /' "$work/setup.log"
	echo "1..1"
	exit 1
fi
per_officer=$(((N + OFFICERS - 1) / OFFICERS))
n=0 bad=0
for sg in "${SIGNERS[@]}"; do
	name=${sg%%|*} cmd=${sg#*|}
	rm -f "$work/sig/"* "$work/errors" "$work/retries"
	touch "$work/errors" "$work/retries"
	before_permits=$(grep -c ' outcome=permit ' "$ENF_HOME/audit.log")
	before_new=$(grep -c ' op=new outcome=ok ' "$ENF_HOME/audit.log")
	t0=$(now)
	pids=()
	for ((s = 0; s < P; s++)); do signer "$cmd" "$s" & pids+=($!); done
	for ((o = 0; o < OFFICERS; o++)); do officer "$name$o" "$per_officer" & pids+=($!); done
	wait "${pids[@]}"
	t1=$(now)
	problems=()
	[ -s "$work/errors" ] && problems+=("$(head -n 3 "$work/errors" | paste -sd ';')")
	# Each request's digest in exactly one permit record, with its signature.
	# (This signer's permits only: every signer signs the same requests.)
	grep ' outcome=permit ' "$ENF_HOME/audit.log" | tail -n +$((before_permits + 1)) | sed -n 's/.* request_digest=\([0-9a-f]*\) .*/\1/p' |
		sort >"$work/recorded"
	lost=0 dup=0 badsig=0
	for ((s = 0; s < P; s++)); do
		for ((i = 0; i < N; i++)); do
			d=$(body_digest "$work/req/$s-$i.req")
			c=$(grep -c "^$d\$" "$work/recorded")
			[ "$c" -eq 0 ] && lost=$((lost + 1))
			[ "$c" -gt 1 ] && dup=$((dup + 1))
			enf-verify -p release -k "$work/rel.pub" -s "$work/sig/$s-$i.sig" \
				"$work/req/$s-$i.data" >/dev/null 2>&1 || badsig=$((badsig + 1))
		done
	done
	permits=$(($(grep -c ' outcome=permit ' "$ENF_HOME/audit.log") - before_permits))
	news=$(($(grep -c ' op=new outcome=ok ' "$ENF_HOME/audit.log") - before_new))
	keys=$(enf-keygen list | grep -c "^o$name")
	[ "$permits" -eq $((P * N)) ] || problems+=("$permits permit records for $((P * N)) requests")
	[ "$lost" -eq 0 ] || problems+=("$lost requests without a record")
	[ "$dup" -eq 0 ] || problems+=("$dup requests with more than one record")
	[ "$badsig" -eq 0 ] || problems+=("$badsig signatures missing or not verifying")
	[ "$news" -eq $((OFFICERS * per_officer)) ] || problems+=("$news officer records for $((OFFICERS * per_officer)) keys")
	[ "$keys" -eq $((OFFICERS * per_officer)) ] || problems+=("$keys keys in the keystore for $((OFFICERS * per_officer))")
	dups=$(sed -n 's/^enf-audit-1 seq=\([0-9]*\) .*/\1/p' "$ENF_HOME/audit.log" | sort | uniq -d | wc -l)
	[ "$dups" -eq 0 ] || problems+=("$dups sequence numbers used twice")
	n=$((n + 1))
	if [ ${#problems[@]} -eq 0 ]; then
		echo "ok $n - stress $name: $P signers x $N requests and $OFFICERS officers x $per_officer keys at once: 0 lost, 0 duplicated, every signature matches its record ($(secs "$t0" "$t1") s, $(rate $((P * N)) "$t0" "$t1") signatures/s, $(wc -l <"$work/retries") officer retries)"
	else
		bad=$((bad + 1))
		echo "not ok $n - stress $name: $(printf '%s; ' "${problems[@]}")"
	fi
done
n=$((n + 1))
if enf-audit verify --all-signatures >/dev/null 2>"$work/verify.err"; then
	echo "ok $n - stress: the log of $(wc -l <"$ENF_HOME/audit.log") records verifies, every signature"
else
	bad=$((bad + 1))
	echo "not ok $n - stress: the log does not verify: $(head -c 300 "$work/verify.err")"
fi
echo "1..$n"
[ "$bad" -eq 0 ]
