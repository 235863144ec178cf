#!/usr/bin/env bats
# enf-agent: start and stop, the socket's safety, callers without access
# to the home, and faults: broken clients, too many connections, the agent
# killed mid-batch, the keystore changed under it, its lifetime ending.
# (t/sign-agent.bats and t/seal-agent.bats run the whole sign and seal
# suites through the agent.)

load helper
load agent-mode
bats_require_minimum_version 1.5.0

RAW="$BATS_TEST_DIRNAME/agent-raw.py"

setup() {
	common_setup
	make_instance
	enf-keygen new -a ed25519 -p release rel >/dev/null
	make_ssh_key ci
	cat >"$BATS_TEST_TMPDIR/policy.txt" <<-EOF
	version 1
	policy agent-1
	purpose release
	identity ci-bot $(cut -d' ' -f1,2 "$BATS_TEST_TMPDIR/ssh/ci.pub")
	rule rel key=rel identity=ci-bot purpose=release scope=artifact:*
	EOF
	enf-policy install "$BATS_TEST_TMPDIR/policy.txt" >/dev/null 2>&1
	DATA="$BATS_TEST_TMPDIR/data"
	printf 'artifact bytes\n' >"$DATA"
}

teardown() { stop_agent; }

req() { # FILE [SCOPE]
	enf-request -k rel -i ci-bot -p release -s "${2:-artifact:x}" -r rel \
		--ssh-key "$BATS_TEST_TMPDIR/ssh/ci" "$DATA" >"$1"
}

through() { ENF_AGENT_SOCK=$AGENT_SOCK "$@"; }
# The connections being served: the agent's children but the one handler
# that waits forked ahead (lib/agent.c), named enf-agent-spare meanwhile.
handlers() { pgrep -x -P "$AGENT_PID" enf-agent | wc -l; }
spare() { pgrep -x -P "$AGENT_PID" enf-agent-spare || true; }
# The spare, once there is one (it is forked when the agent is idle).
next_spare() {
	for _ in $(seq 100); do [ -n "$(spare)" ] && break; sleep 0.05; done
	spare
}

# clients N ROUNDS STEP: N clients at once, each running `STEP CLIENT ROUND`
# ROUNDS times; fails, showing the first, when any step failed.
clients() {
	local err=$BATS_TEST_TMPDIR/err c i pids=()
	for ((c = 1; c <= $1; c++)); do
		(for ((i = 1; i <= $2; i++)); do
			"$3" "$c" "$i" 2>>"$err" || echo "client $c round $i: exit $?" >>"$err"
		done) &
		pids+=($!)
	done
	wait "${pids[@]}"
	if [ -s "$err" ]; then sort "$err" | uniq -c | head -n 5; return 1; fi
}

# The log verifies, its head one signed record behind; the next request
# through the agent ($BATS_TEST_TMPDIR/r) catches the head up.
head_lags_then_catches_up() {
	run enf-audit verify
	[ "$status" -eq 0 ]
	[[ "$output" == *"audit.head names an earlier signed record"* ]]
	through enf-sign "$BATS_TEST_TMPDIR/r" >/dev/null
	run enf-audit verify
	[ "$status" -eq 0 ]
	[[ "$output" != *"earlier signed record"* ]]
}

# ASan builds (make sanitize) map terabytes of shadow memory: nothing there
# can be locked, and peak RSS means nothing.
sanitized() { grep -aq __asan_init "$ENF_BIN/enf-agent"; }

@test "eval \"\$(enf-agent)\" starts a forked agent on a private socket; -k stops it and removes it" {
	out=$(enf-agent)
	[[ $out =~ ^ENF_AGENT_SOCK=(/[^;]+)\;\ export\ ENF_AGENT_SOCK\; ]]
	sock=${BASH_REMATCH[1]}
	eval "$out" >/dev/null
	[ "$ENF_AGENT_SOCK" = "$sock" ]
	[ -S "$sock" ]
	[ "$(stat -c %a "$sock")" = 600 ]
	[ "$(stat -c %a "$(dirname "$sock")")" = 700 ]
	req "$BATS_TEST_TMPDIR/r"
	unset ENF_PASSPHRASE_FILE
	enf-sign -o "$BATS_TEST_TMPDIR/sig" "$BATS_TEST_TMPDIR/r"
	[ -s "$BATS_TEST_TMPDIR/sig" ]
	run --separate-stderr enf-agent -k
	[ "$status" -eq 0 ]
	[ "$output" = "unset ENF_AGENT_SOCK;"$'\n'"echo Agent stopped;" ]
	for _ in $(seq 100); do [ -e "$sock" ] || break; sleep 0.05; done
	[ ! -e "$sock" ]
	[ ! -e "$(dirname "$sock")" ]
	run enf-sign -o "$BATS_TEST_TMPDIR/sig2" "$BATS_TEST_TMPDIR/r"
	[ "$status" -eq 3 ]
	[[ "$output" == *"cannot reach the agent at $sock"* ]]
	[ ! -e "$BATS_TEST_TMPDIR/sig2" ]
}

@test "eval \"\$(enf-agent -k)\" forgets the agent it stopped, and only that one" {
	eval "$(enf-agent)" >/dev/null
	first=$ENF_AGENT_SOCK
	other=$(enf-agent | sed -n 's/^ENF_AGENT_SOCK=\([^;]*\);.*/\1/p')
	# Stopping another agent by -a leaves the shell's agent named.
	run --separate-stderr enf-agent -a "$other" -k
	[ "$status" -eq 0 ]
	[ -z "$output" ]
	eval "$(enf-agent -k)" >/dev/null
	[ -z "${ENF_AGENT_SOCK+set}" ]
	for _ in $(seq 100); do [ -e "$first" ] || break; sleep 0.05; done
	[ ! -e "$first" ]
	# An agent that is not there: exit 3, and the variable is kept.
	export ENF_AGENT_SOCK=$first
	run --separate-stderr enf-agent -k
	[ "$status" -eq 3 ]
	[ -z "$output" ]
	[[ "$stderr" == *"cannot reach the agent at $first"* ]]
}

@test "a wrong passphrase at start is exit 3, audited, and no socket" {
	echo 'not it at all' >"$BATS_TEST_TMPDIR/wrong"
	before=$(audit_count)
	run enf-agent -a "$BATS_TEST_TMPDIR/s" --passphrase-file "$BATS_TEST_TMPDIR/wrong"
	[ "$status" -eq 3 ]
	[ ! -e "$BATS_TEST_TMPDIR/s" ]
	[ "$(audit_count)" -eq $((before + 1)) ]
	[ "$(enf-audit show --json "$(audit_count)" | jq -r .program)" = enf-agent ]
}

@test "refuses a socket path that exists, is a symlink, or lives in a directory others can write" {
	touch "$BATS_TEST_TMPDIR/file"
	run enf-agent -D -a "$BATS_TEST_TMPDIR/file"
	[ "$status" -eq 3 ]
	[[ "$output" == *"exists already"* ]]
	ln -s "$BATS_TEST_TMPDIR/nowhere" "$BATS_TEST_TMPDIR/link"
	run enf-agent -D -a "$BATS_TEST_TMPDIR/link"
	[ "$status" -eq 3 ]
	[[ "$output" == *"is a symlink"* ]]
	[ ! -e "$BATS_TEST_TMPDIR/nowhere" ]
	mkdir -m 1777 "$BATS_TEST_TMPDIR/shared"
	chmod 1777 "$BATS_TEST_TMPDIR/shared"
	run enf-agent -D -a "$BATS_TEST_TMPDIR/shared/sock"
	[ "$status" -eq 3 ]
	[[ "$output" == *"others can write"* ]]
	[ ! -e "$BATS_TEST_TMPDIR/shared/sock" ]
}

@test "usage errors exit 2" {
	run enf-agent -t 0
	[ "$status" -eq 2 ]
	run enf-agent -t 5x
	[ "$status" -eq 2 ]
	run enf-agent -k -t 5
	[ "$status" -eq 2 ]
	run enf-agent extra
	[ "$status" -eq 2 ]
	run enf-agent --help
	[ "$status" -eq 0 ]
	[[ "$output" == usage:* ]]
}

@test "the agent writes no core and locks its memory" {
	start_agent 2>"$BATS_TEST_TMPDIR/agent.err"
	grep -q '^Max core file size *0 *0' "/proc/$AGENT_PID/limits"
	[ ! -s "$BATS_TEST_TMPDIR/agent.err" ]
	# ASan intercepts mlockall and does nothing (its shadow memory could
	# not be locked): only a normal build can show the lock.
	sanitized || [ "$(awk '/^VmLck:/ { print $2 }' "/proc/$AGENT_PID/status")" -gt 0 ]
}

@test "an agent that may not lock all its memory says so, and serves with its secrets' pool locked" {
	# Room for libgcrypt's 1 MiB pool, not for the whole agent; root keeps
	# CAP_IPC_LOCK (no limit) unless it is dropped.
	drop=()
	[ "$(id -u)" -ne 0 ] || drop=(setpriv --bounding-set -ipc_lock)
	limited() { ulimit -l 2048 && "${drop[@]}" "$@"; }
	AGENT_RUN=limited start_agent 2>"$BATS_TEST_TMPDIR/agent.err"
	req "$BATS_TEST_TMPDIR/r"
	through enf-sign -o "$BATS_TEST_TMPDIR/sig" "$BATS_TEST_TMPDIR/r"
	[ -s "$BATS_TEST_TMPDIR/sig" ]
	sanitized && return 0	# (ASan: mlockall does nothing, and never fails)
	grep -q "warning: cannot lock the agent's memory (.*); secrets stay in libgcrypt's locked pool" \
		"$BATS_TEST_TMPDIR/agent.err"
	locked=$(awk '/^VmLck:/ { print $2 }' "/proc/$AGENT_PID/status")
	[ "$locked" -gt 0 ]
	[ "$locked" -le 2048 ]
}

@test "SIGTERM stops the agent and removes its socket" {
	start_agent
	kill -TERM "$AGENT_PID"
	for _ in $(seq 100); do kill -0 "$AGENT_PID" 2>/dev/null || break; sleep 0.05; done
	run kill -0 "$AGENT_PID"
	[ "$status" -ne 0 ]
	[ ! -e "$AGENT_SOCK" ]
}

@test "a caller with no access to the home signs through the agent, and can read nothing of it" {
	share=$(mktemp -d /tmp/enf-agent-test.XXXXXX)
	chgrp nogroup "$share"
	chmod 0710 "$share"
	work=$(mktemp -d /tmp/enf-agent-work.XXXXXX)
	chown nobody:nogroup "$work"
	req "$work/r"
	req "$work/deny" artifact
	sed -i 's/^scope artifact$/scope elsewhere/' "$work/deny"
	chmod 0644 "$work/r" "$work/deny"
	mkdir -p "$BATS_TEST_TMPDIR/agent"
	AGENT_SOCK="$share/sock"
	out=$(enf-agent -a "$AGENT_SOCK" --group nogroup)
	[[ $out =~ Agent\ pid\ ([0-9]+) ]]
	AGENT_PID=${BASH_REMATCH[1]}
	[ "$(stat -c '%a %G' "$AGENT_SOCK")" = "660 nogroup" ]
	as_nobody() { setpriv --reuid=nobody --regid=nogroup --clear-groups env -u ENF_PASSPHRASE_FILE \
		-u ENF_OFFICER_PASSPHRASE_FILE HOME=/nonexistent ENF_AGENT_SOCK="$AGENT_SOCK" "$@"; }
	run as_nobody "$ENF_BIN/enf-sign" -o "$work/sig" "$work/r"
	[ "$status" -eq 0 ]
	[ -s "$work/sig" ]
	echo "rel $(enf-keygen pubkey rel)" >"$BATS_TEST_TMPDIR/allowed"
	ssh-keygen -Y verify -n release -f "$BATS_TEST_TMPDIR/allowed" -I rel -s "$work/sig" <"$DATA"
	seq=$(audit_count)
	[[ "$(enf-audit show --json "$seq" | jq -r .peer)" =~ ^uid=65534,pid=[0-9]+$ ]]
	run as_nobody "$ENF_BIN/enf-sign" -o "$work/sig2" "$work/deny"
	[ "$status" -eq 1 ]
	[[ "$output" =~ ^enf-sign:\ denied\ \(audit\ \#[0-9]+\)$ ]]
	for f in keystore policy audit.log; do
		run as_nobody cat "$ENF_HOME/$f"
		[ "$status" -ne 0 ]
	done
	# And in process, nobody has nothing to sign with.
	run as_nobody env -u ENF_AGENT_SOCK ENF_HOME="$ENF_HOME" "$ENF_BIN/enf-sign" "$work/r"
	[ "$status" -eq 3 ]
	stop_agent
	rm -rf "$share" "$work"
}

@test "an agent killed mid-batch: the client exits 3, the log verifies, no signature without a record" {
	start_agent
	mkdir "$BATS_TEST_TMPDIR/sigs"
	for i in 1 2 3; do req "$BATS_TEST_TMPDIR/r$i.req"; done
	# The last request is a FIFO: the client blocks on it mid-batch, after
	# the agent has decided the first three.
	mkfifo "$BATS_TEST_TMPDIR/r4.req"
	before=$(audit_count)
	ENF_AGENT_SOCK=$AGENT_SOCK enf-sign -d "$BATS_TEST_TMPDIR/sigs" "$BATS_TEST_TMPDIR"/r?.req \
		>"$BATS_TEST_TMPDIR/client.out" 2>&1 &
	client=$!
	for _ in $(seq 100); do
		[ "$(handlers)" -ge 1 ] && break
		sleep 0.05
	done
	kill -9 "$AGENT_PID"
	for _ in $(seq 100); do [ "$(pgrep -P 1 -f "enf-agent -a $AGENT_SOCK" | wc -l)" -eq 0 ] && break; sleep 0.05; done
	req "$BATS_TEST_TMPDIR/r4.req"
	st=0
	wait "$client" || st=$?
	[ "$st" -eq 3 ]
	[[ "$(cat "$BATS_TEST_TMPDIR/client.out")" == *"agent went away"* ]]
	[ -z "$(ls -A "$BATS_TEST_TMPDIR/sigs")" ]
	[ "$(audit_count)" -eq "$before" ]
	enf-audit verify
	AGENT_PID=
}

@test "garbage, truncated, oversized and unknown frames: refused, the agent serves on" {
	start_agent
	req "$BATS_TEST_TMPDIR/r"
	before=$(audit_count)
	for bad in garbage truncated oversized unknown; do
		run python3 "$RAW" "$AGENT_SOCK" "$bad"
		[[ "$output" == "done 3 "* || "$output" == closed ]]
		kill -0 "$AGENT_PID"
	done
	[ "$(audit_count)" -eq "$before" ]
	through enf-sign -o "$BATS_TEST_TMPDIR/sig" "$BATS_TEST_TMPDIR/r"
	[ -s "$BATS_TEST_TMPDIR/sig" ]
}

@test "a client that disconnects mid-request gets nothing decided recorded or signed" {
	start_agent
	req "$BATS_TEST_TMPDIR/r"
	before=$(audit_count)
	run python3 "$RAW" "$AGENT_SOCK" partial "$BATS_TEST_TMPDIR/r"
	[ "$output" = closed ]
	sleep 0.2
	[ "$(audit_count)" -eq "$before" ]
	through enf-sign -o "$BATS_TEST_TMPDIR/sig" "$BATS_TEST_TMPDIR/r"
	[ "$(audit_count)" -eq $((before + 1)) ]
}

@test "one handler waits forked ahead: it serves the next connection, and another replaces it" {
	start_agent
	req "$BATS_TEST_TMPDIR/r"
	first=$(next_spare)
	[ -n "$first" ]
	through enf-sign -o "$BATS_TEST_TMPDIR/sig" "$BATS_TEST_TMPDIR/r"
	[ -s "$BATS_TEST_TMPDIR/sig" ]
	[ "$(enf-audit show --json "$(audit_count)" | jq -r .outcome)" = permit ]
	for _ in $(seq 100); do
		[ -n "$(spare)" ] && [ "$(spare)" != "$first" ] && [ ! -e "/proc/$first" ] && break
		sleep 0.05
	done
	[ -n "$(spare)" ]
	[ "$(spare)" != "$first" ]
	[ ! -e "/proc/$first" ]
	[ "$(pgrep -c -P "$AGENT_PID")" -eq 1 ]
}

@test "a stalled client blocks nobody, and is dropped after the timeout" {
	start_agent --timeout 1
	req "$BATS_TEST_TMPDIR/r"
	coproc STALL { python3 "$RAW" "$AGENT_SOCK" idle 1; }
	read -r line <&"${STALL[0]}"
	[ "$line" = "open 1" ]
	through enf-sign -o "$BATS_TEST_TMPDIR/sig" "$BATS_TEST_TMPDIR/r"
	[ -s "$BATS_TEST_TMPDIR/sig" ]
	# The stalled connection's server ends when its read times out.
	for _ in $(seq 100); do [ "$(handlers)" -eq 0 ] && break; sleep 0.05; done
	[ "$(handlers)" -eq 0 ]
	eval "exec ${STALL[1]}>&-"
	wait "$STALL_PID" || true
}

@test "64 clients at once all get their decision and record; a 65th connection is told busy" {
	start_agent
	req "$BATS_TEST_TMPDIR/r"
	before=$(audit_count)
	pids=()
	for i in $(seq 64); do
		ENF_AGENT_SOCK=$AGENT_SOCK enf-sign -o "$BATS_TEST_TMPDIR/s$i" "$BATS_TEST_TMPDIR/r" &
		pids+=($!)
	done
	fails=0
	for p in "${pids[@]}"; do wait "$p" || fails=$((fails + 1)); done
	# A client refused as busy (the cap counts live connections) exits 3;
	# every other one signed.
	signed=$(ls "$BATS_TEST_TMPDIR" | grep -c '^s[0-9]*$')
	[ $((signed + fails)) -eq 64 ]
	[ "$(audit_count)" -eq $((before + signed)) ]
	enf-audit verify
	coproc HOLD { python3 "$RAW" "$AGENT_SOCK" idle 64; }
	read -r line <&"${HOLD[0]}"
	[ "$line" = "open 64" ]
	sleep 0.3
	run through enf-sign -o "$BATS_TEST_TMPDIR/busy" "$BATS_TEST_TMPDIR/r"
	[ "$status" -eq 3 ]
	[[ "$output" == *busy* ]]
	eval "exec ${HOLD[1]}>&-"
	wait "$HOLD_PID" || true
	for _ in $(seq 100); do [ "$(handlers)" -eq 0 ] && break; sleep 0.05; done
	through enf-sign -o "$BATS_TEST_TMPDIR/after" "$BATS_TEST_TMPDIR/r"
}

@test "under a steady queue (keystore changes meanwhile) finished handlers are reaped: no client is told busy" {
	# 60 keys to load make each re-read of the keystore take a while.
	for k in $(seq 60); do enf-keygen new -p release "k$k" >/dev/null; done
	start_agent
	req "$BATS_TEST_TMPDIR/r"
	# 40 idle connections leave 24 of the cap: the 8 clients below, the
	# handlers still exiting and a margin.  Handlers that finished but were
	# not reaped (when a connection is always waiting) would fill it.
	coproc HOLD { python3 "$RAW" "$AGENT_SOCK" idle 40; }
	read -r line <&"${HOLD[0]}"
	[ "$line" = "open 40" ]
	officers=()
	# Officers changing the keystore make each accept re-read it: slower
	# accepts, so connections queue.
	for o in 1 2; do
		(for k in $(seq 8); do enf-keygen new -p release "o$o-$k" >/dev/null 2>&1 || true; done) &
		officers+=($!)
	done
	sign_one() { through enf-sign -o "$BATS_TEST_TMPDIR/s$1-$2" "$BATS_TEST_TMPDIR/r"; }
	ok=0
	clients 8 20 sign_one && ok=1
	wait "${officers[@]}"
	eval "exec ${HOLD[1]}>&-"
	wait "$HOLD_PID" || true
	[ "$ok" -eq 1 ]
	[ "$(ls "$BATS_TEST_TMPDIR" | grep -c '^s[0-9]*-[0-9]*$')" -eq 160 ]
}

@test "handlers reading keys the cache does not hold, all at once, each read them right" {
	# The agent caches 64 keys; the 30 z keys sort after these 66, so
	# every handler reads them from the keystore the handlers share.
	for k in $(seq 66); do enf-keygen new -p release "a$k" >/dev/null; done
	for k in $(seq 30); do
		enf-keygen new -p release "z$k" >/dev/null
		echo "rule z$k key=z$k identity=ci-bot purpose=release scope=artifact:*"
	done >>"$BATS_TEST_TMPDIR/policy.txt"
	enf-policy install "$BATS_TEST_TMPDIR/policy.txt" >/dev/null 2>&1
	for k in $(seq 30); do
		enf-request -k "z$k" -i ci-bot -p release -s artifact:x -r "z$k" \
			--ssh-key "$BATS_TEST_TMPDIR/ssh/ci" "$DATA" >"$BATS_TEST_TMPDIR/z$k.req"
	done
	start_agent
	before=$(audit_count)
	batch_one() {
		mkdir "$BATS_TEST_TMPDIR/d$1-$2"
		through enf-sign -d "$BATS_TEST_TMPDIR/d$1-$2" "$BATS_TEST_TMPDIR"/z*.req
	}
	clients 8 8 batch_one
	[ "$(ls "$BATS_TEST_TMPDIR"/d*/ | grep -c '\.sig$')" -eq 1920 ]
	enf-audit verify -q
	[ "$(enf-audit show --json "$((before + 1))-$(audit_count)" | jq -r .outcome | sort | uniq -c |
		awk '{print $2, $1}')" = "permit 1920" ]
}

@test "an audit.head altered under the agent is verified again, and refused, by the next append" {
	start_agent
	req "$BATS_TEST_TMPDIR/r"
	# The handlers share the last head signed; this one is not it any more.
	through enf-sign -o "$BATS_TEST_TMPDIR/sig" "$BATS_TEST_TMPDIR/r"
	before=$(audit_count)
	sig=$(awk '{print $NF}' "$ENF_HOME/audit.head")
	case $sig in A*) bad=B${sig#?} ;; *) bad=A${sig#?} ;; esac
	sed -i "s|$sig\$|$bad|" "$ENF_HOME/audit.head"
	[ "$(awk '{print $NF}' "$ENF_HOME/audit.head")" = "$bad" ]
	run --separate-stderr through enf-sign -o "$BATS_TEST_TMPDIR/sig2" "$BATS_TEST_TMPDIR/r"
	[[ "$stderr" == *"audit.head: its signature does not verify"* ]]
	[ "$(audit_count)" -eq "$before" ]
}

@test "the keystore changed under the agent: a deactivated key is denied at once" {
	start_agent
	req "$BATS_TEST_TMPDIR/r"
	through enf-sign -o "$BATS_TEST_TMPDIR/sig" "$BATS_TEST_TMPDIR/r"
	enf-keygen state rel deactivated >/dev/null
	run --separate-stderr through enf-sign -o "$BATS_TEST_TMPDIR/sig2" "$BATS_TEST_TMPDIR/r"
	[ "$status" -eq 1 ]
	[ "$(enf-audit show --json "$(audit_count)" | jq -r .reason)" = key-not-active ]
	[ ! -e "$BATS_TEST_TMPDIR/sig2" ]
}

@test "the installed policy edited under the agent: every request is denied (policy drift)" {
	start_agent
	req "$BATS_TEST_TMPDIR/r"
	echo '# edited' >>"$ENF_HOME/policy"
	run through enf-sign -o "$BATS_TEST_TMPDIR/sig" "$BATS_TEST_TMPDIR/r"
	[ "$status" -eq 1 ]
	[ "$(enf-audit show --json "$(audit_count)" | jq -r .reason)" = policy-drift ]
}

@test "the operator passphrase changed under the agent: it stops serving, exit 3, says why" {
	start_agent
	req "$BATS_TEST_TMPDIR/r"
	printf 'a brand new operator pass\n' >"$BATS_TEST_TMPDIR/new.pass"
	enf-keygen passwd --role operator --new-passphrase-file "$BATS_TEST_TMPDIR/new.pass" >/dev/null
	run through enf-sign -o "$BATS_TEST_TMPDIR/sig" "$BATS_TEST_TMPDIR/r"
	[ "$status" -eq 3 ]
	[[ "$output" == *"could not re-authenticate"* ]]
	[ ! -e "$BATS_TEST_TMPDIR/sig" ]
	# One attempt per change: the operator is not walked into its lockout.
	run through enf-sign -o "$BATS_TEST_TMPDIR/sig" "$BATS_TEST_TMPDIR/r"
	[ "$status" -eq 3 ]
	[ "$(enf-audit show --json | jq -r 'select(.program == "enf-agent") | .outcome' | grep -c fail)" -eq 1 ]
}

@test "a tampered keystore under the agent is refused, not used" {
	start_agent
	req "$BATS_TEST_TMPDIR/r"
	enf-keygen new -a ed25519 -p release other >/dev/null
	record_get key/other >"$BATS_TEST_TMPDIR/other.key"
	record_put key/rel "$BATS_TEST_TMPDIR/other.key"
	run through enf-sign -o "$BATS_TEST_TMPDIR/sig" "$BATS_TEST_TMPDIR/r"
	[ "$status" -eq 3 ]
	[ ! -e "$BATS_TEST_TMPDIR/sig" ]
}

@test "the lifetime ends mid-request: the request in flight completes, nothing new is accepted" {
	start_agent -t 2
	req "$BATS_TEST_TMPDIR/r"
	before=$(audit_count)
	run python3 "$RAW" "$AGENT_SOCK" inflight "$BATS_TEST_TMPDIR/r" "$AGENT_SOCK"
	[ "$output" = "result 0 $((before + 1))" ]
	[ "$(enf-audit show --json "$((before + 1))" | jq -r .outcome)" = permit ]
	run through enf-sign -o "$BATS_TEST_TMPDIR/sig" "$BATS_TEST_TMPDIR/r"
	[ "$status" -eq 3 ]
	for _ in $(seq 100); do kill -0 "$AGENT_PID" 2>/dev/null || break; sleep 0.05; done
	run kill -0 "$AGENT_PID"
	[ "$status" -ne 0 ]
	AGENT_PID=
}

@test "the caller is answered before the head is written; a head that cannot be written is the agent's to report" {
	mkdir -m 0700 "$BATS_TEST_TMPDIR/agent"
	AGENT_SOCK=$BATS_TEST_TMPDIR/agent/sock
	enf-agent -D -a "$AGENT_SOCK" >/dev/null 2>"$BATS_TEST_TMPDIR/agent.err" 3>&- &
	AGENT_PID=$!
	for _ in $(seq 100); do [ -S "$AGENT_SOCK" ] && break; sleep 0.05; done
	req "$BATS_TEST_TMPDIR/r"
	before=$(audit_count)
	mkdir "$ENF_HOME/audit.head.tmp"
	run --separate-stderr through enf-sign "$BATS_TEST_TMPDIR/r"
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	[[ "$output" == "-----BEGIN SSH SIGNATURE-----"* ]]
	[ "$(enf-audit show --json "$((before + 1))" | jq -r .outcome)" = permit ]
	grep -q "audit: record $((before + 1)) written, but cannot update .*audit.head" \
		"$BATS_TEST_TMPDIR/agent.err"
	rmdir "$ENF_HOME/audit.head.tmp"
	head_lags_then_catches_up
}

# A handler killed at the head's rename (strace sends SIGKILL), which comes
# after its answer (enf-audit(5), APPENDING, step 7): the caller has its
# signature, and the record after the head is caught up with.
@test "a handler killed at the head's write after answering: the caller has its signature, the next append catches up" {
	start_agent
	req "$BATS_TEST_TMPDIR/r"
	handler=$(next_spare)
	[ -n "$handler" ]
	strace -qq -f -p "$AGENT_PID" -p "$handler" -o /dev/null -P "$ENF_HOME/audit.head.tmp" \
		-e trace=rename,renameat,renameat2 -e inject=rename,renameat,renameat2:signal=KILL &
	tracer=$!
	for _ in $(seq 100); do
		grep -q '^TracerPid:[[:space:]]*[1-9]' "/proc/$handler/status" && break
		sleep 0.05
	done
	before=$(audit_count)
	run through enf-sign -o "$BATS_TEST_TMPDIR/sig" "$BATS_TEST_TMPDIR/r"
	# The caller is answered before the head is written: the tracer must
	# stay until the handler has reached the rename and been killed there.
	for _ in $(seq 100); do [ -e "/proc/$handler" ] || break; sleep 0.05; done
	kill "$tracer"
	wait "$tracer" || true
	[ "$status" -eq 0 ]
	[ ! -e "/proc/$handler" ]
	echo "rel $(enf-keygen pubkey rel)" >"$BATS_TEST_TMPDIR/allowed"
	ssh-keygen -Y verify -n release -f "$BATS_TEST_TMPDIR/allowed" -I rel \
		-s "$BATS_TEST_TMPDIR/sig" <"$DATA"
	[ "$(audit_count)" -eq $((before + 1)) ]
	head_lags_then_catches_up
}

# The answer goes out while the log is locked, so the agent sends what the
# socket takes at once and the rest after the commit (lib/agent.c, struct
# answer): a batch whose results outgrow the socket's buffer needs both.
@test "a batch whose answer is larger than the socket's buffer: every result arrives" {
	start_agent
	req "$BATS_TEST_TMPDIR/one.req"
	mkdir "$BATS_TEST_TMPDIR/reqs" "$BATS_TEST_TMPDIR/sigs"
	for i in $(seq 1000); do cp "$BATS_TEST_TMPDIR/one.req" "$BATS_TEST_TMPDIR/reqs/r$i.req"; done
	before=$(audit_count)
	through enf-sign -d "$BATS_TEST_TMPDIR/sigs" "$BATS_TEST_TMPDIR"/reqs/*.req
	[ "$(ls "$BATS_TEST_TMPDIR/sigs" | wc -l)" -eq 1000 ]
	[ "$(audit_count)" -eq $((before + 1000)) ]
	# The signatures alone are more than a socket buffers by default.
	[ "$(cat "$BATS_TEST_TMPDIR"/sigs/*.sig | wc -c)" -gt "$(cat /proc/sys/net/core/wmem_default)" ]
	enf-audit verify
}

@test "batch through the agent: same outcomes, lines and files as in process" {
	start_agent
	mkdir "$BATS_TEST_TMPDIR/a" "$BATS_TEST_TMPDIR/b"
	req "$BATS_TEST_TMPDIR/x.req"
	req "$BATS_TEST_TMPDIR/y.req" elsewhere
	run --separate-stderr through enf-sign -d "$BATS_TEST_TMPDIR/a" "$BATS_TEST_TMPDIR/x.req" \
		"$BATS_TEST_TMPDIR/y.req"
	agent_status=$status
	agent_err=${stderr//#[0-9]*)/#N)}
	run --separate-stderr enf-sign -d "$BATS_TEST_TMPDIR/b" "$BATS_TEST_TMPDIR/x.req" \
		"$BATS_TEST_TMPDIR/y.req"
	[ "$status" -eq "$agent_status" ]
	[ "$status" -eq 1 ]
	[ "${stderr//#[0-9]*)/#N)}" = "$agent_err" ]
	cmp "$BATS_TEST_TMPDIR/a/x.sig" "$BATS_TEST_TMPDIR/b/x.sig"
	[ ! -e "$BATS_TEST_TMPDIR/a/y.sig" ]
	# Records differ only in seq, time, hashes and the observed peer.
	n=$(audit_count)
	strip() { enf-audit show --json "$1" | jq -c 'del(.seq, .time, .prev, .hash, .sig, .peer)'; }
	[ "$(strip $((n - 3)))" = "$(strip $((n - 1)))" ]
	[ "$(strip $((n - 2)))" = "$(strip "$n")" ]
}

@test "seal and open of 20 MB through the agent, in constant memory" {
	start_agent
	head -c 20000000 /dev/urandom >"$BATS_TEST_TMPDIR/big"
	through enf-seal seal -o "$BATS_TEST_TMPDIR/big.sealed" "$BATS_TEST_TMPDIR/big"
	ENF_AGENT_SOCK=$AGENT_SOCK /usr/bin/time -f %M -o "$BATS_TEST_TMPDIR/rss" \
		"$ENF_BIN/enf-seal" open "$BATS_TEST_TMPDIR/big.sealed" | cmp - "$BATS_TEST_TMPDIR/big"
	# The client's peak RSS, in KiB, far below the data's size.
	sanitized || [ "$(cat "$BATS_TEST_TMPDIR/rss")" -lt 16000 ]
}

@test "open --from a wrong source through the agent: refused, nothing written, audited as unexpected-source" {
	OTHER="$BATS_TEST_TMPDIR/other"
	ENF_HOME="$OTHER" make_instance
	ENF_HOME="$OTHER" enf-keygen instance >"$BATS_TEST_TMPDIR/other.pub"
	enf-keygen instance >"$BATS_TEST_TMPDIR/me.pub"
	echo secret | ENF_HOME="$OTHER" enf-seal seal |
		ENF_HOME="$OTHER" enf-seal transfer --to "$BATS_TEST_TMPDIR/me.pub" -o "$BATS_TEST_TMPDIR/x"
	start_agent
	run through enf-seal open --from "$BATS_TEST_TMPDIR/other.pub" "$BATS_TEST_TMPDIR/x"
	[ "$status" -eq 0 ]
	[ "$output" = secret ]
	# The wrong source: this instance's own identity file.
	before=$(audit_count)
	run through enf-seal open --from "$BATS_TEST_TMPDIR/me.pub" -o "$BATS_TEST_TMPDIR/out" \
		"$BATS_TEST_TMPDIR/x"
	[ "$status" -eq 1 ]
	[ "$output" = "enf-seal: not transferred from the instance --from names" ]
	[ ! -e "$BATS_TEST_TMPDIR/out" ]
	[ -z "$(compgen -G "$BATS_TEST_TMPDIR/out.tmp*" || true)" ]
	[ "$(audit_count)" -eq $((before + 1)) ]
	rec=$(enf-audit show --json "$(audit_count)")
	[ "$(jq -r .op <<<"$rec")" = open ]
	[ "$(jq -r .reason <<<"$rec")" = unexpected-source ]
	# decided by the agent: the record carries the observed caller
	[[ "$(jq -r .peer <<<"$rec")" == *" uid=$(id -u),pid="* ]]
}

@test "an OPEN whose --from is no identity file, or a SEAL with one: refused, nothing recorded" {
	start_agent
	before=$(audit_count)
	for bad in badfrom sealfrom; do
		run python3 "$RAW" "$AGENT_SOCK" "$bad"
		[ "$output" = "done 3 malformed seal request" ]
		kill -0 "$AGENT_PID"
	done
	[ "$(audit_count)" -eq "$before" ]
}

@test "share/systemd/enf-agent.service: hardened, and systemd-analyze verify accepts it" {
	unit="$BATS_TEST_DIRNAME/../share/systemd/enf-agent.service"
	for want in '^User=enf$' '^NoNewPrivileges=yes$' '^ProtectSystem=strict$' \
		'^ReadWritePaths=/var/lib/enf$' '^LimitCORE=0$' '^MemoryDenyWriteExecute=yes$' \
		'^PrivateTmp=yes$' '^RestrictAddressFamilies=AF_UNIX$' '^CapabilityBoundingSet=$'; do
		grep -Eq "$want" "$unit"
	done
	# The command line is one the agent accepts: its options parse.
	cmd=$(sed -n '/^ExecStart=/,/[^\\]$/p' "$unit" | sed 's/^ExecStart=//; s/\\$//' | tr -d '\n\t')
	[[ $cmd == */enf-agent\ -D\ -H\ /var/lib/enf* ]]
	sed -e "s|/usr/local/bin/enf-agent|$ENF_BIN/enf-agent|" -e '/^Documentation=/d' "$unit" \
		>"$BATS_TEST_TMPDIR/enf-agent.service"
	run systemd-analyze verify "$BATS_TEST_TMPDIR/enf-agent.service"
	[ "$status" -eq 0 ]
	[ -z "$output" ]
}
