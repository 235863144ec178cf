#!/usr/bin/env bash
# Crash-consistency trials: t/fault/kill.sh [TRIALS]
# kill -9 at a random moment of every writing command (TRIALS in all, spread
# over the commands), then checks what SPEC promises of a crash:
#   - the keystore opens, with the old or the new state (a role unlocks with
#     the old or the new passphrase);
#   - the log verifies, or its torn tail is repaired (and recorded) by the
#     next append, after which it verifies;
#   - no signature (or sealed or opened output) exists without its record,
#     and every output that exists is whole;
#   - no temporary file is left behind once the next writer has run (one
#     left by the kill itself is counted as a note).
# The moment is uniform over the command's own running time, measured
# unkilled first.  One TAP line per command; failures are printed.
# The commands and the checks are in t/fault/lib.sh.
set -u
. "$(cd "$(dirname "$0")" && pwd)/lib.sh"
TRIALS=${1:-40}
# FAULT_SKIP: command names left out (make fault-smoke, see the Makefile).
SKIP=" ${FAULT_SKIP:-} "

run_trials() { # NAME COMMAND COUNT -> "killed finished failures" on fd 3
	local name=$1 cmd=$2 count=$3 d=$work/trial i t0 t1 dur delay pid problems state
	local killed=0 finished=0 failures=0
	fresh "$d"
	( cd "$d" && t0=$(ms) && eval "$cmd" >/dev/null 2>&1; t1=$(ms); echo $((t1 - t0)) ) >"$work/dur"
	dur=$(cat "$work/dur")
	[ "$dur" -ge 1 ] || dur=1
	for ((i = 0; i < count; i++)); do
		fresh "$d"
		delay=$((RANDOM % (dur + 1)))
		(cd "$d" && exec bash -c "exec $cmd" >/dev/null 2>&1) &
		pid=$!
		sleep "$(printf '0.%03d' "$delay")"
		# A zombie has finished: killing it proves nothing.
		state=$(cut -d' ' -f3 "/proc/$pid/stat" 2>/dev/null)
		if [ -n "$state" ] && [ "$state" != Z ] && kill -9 "$pid" 2>/dev/null; then
			killed=$((killed + 1))
		else
			finished=$((finished + 1))
		fi
		wait "$pid" 2>/dev/null
		problems=$(check "$name" "$d" /dev/null 4>>"$work/notes")
		if [ -n "$problems" ]; then
			failures=$((failures + 1))
			printf '#   %s trial %d (kill at %d of %d ms): %s\n' "$name" "$i" "$delay" "$dur" \
				"$(echo "$problems" | paste -sd ';')"
		fi
	done
	echo "$killed $finished $failures $dur" >&3
}

if ! setup >"$work/setup.log" 2>&1; then
	echo "not ok 1 - fault trials: setup failed"
	sed 's/^/#   /' "$work/setup.log"
	echo "1..1"
	exit 1
fi
ncmd=${#COMMANDS[@]}
per=$(((TRIALS + ncmd - 1) / ncmd))
n=0 bad=0 total=0 totalfail=0
for c in "${COMMANDS[@]}"; do
	name=${c%%|*} cmd=${c#*|}
	case $SKIP in *" $name "*) continue ;; esac
	n=$((n + 1))
	exec 3>"$work/res"
	: >>"$work/notes"
	run_trials "$name" "$cmd" "$per"
	exec 3>&-
	read -r killed finished failures dur <"$work/res"
	total=$((total + per)) totalfail=$((totalfail + failures))
	if [ "$failures" -eq 0 ]; then
		echo "ok $n - kill -9 $name: $per trials ($killed killed, $finished finished first; runs ${dur} ms), 0 failures"
	else
		bad=$((bad + 1))
		echo "not ok $n - kill -9 $name: $per trials ($killed killed, $finished finished first), $failures failures"
	fi
done
echo "# fault trials: $total, failures: $totalfail"
if [ -s "$work/notes" ]; then
	sort "$work/notes" | uniq -c | sed 's/^ */# /'
fi
echo "1..$n"
[ "$bad" -eq 0 ]
