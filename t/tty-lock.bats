#!/usr/bin/env bats
# Without an agent, parallel enf-sign processes on one terminal (make -j)
# take turns at the passphrase prompt: one prompt at a time, each process
# asks once, and what is typed goes whole to the one that asked.  Driven
# through a real terminal with tmux.

load helper
bats_require_minimum_version 1.5.0

setup() {
	command -v tmux >/dev/null || skip "tmux is not installed"
	common_setup
	make_instance
	enf-keygen new -p release rel >/dev/null
	make_ssh_key ci
	cat >"$BATS_TEST_TMPDIR/policy.txt" <<-EOF
	version 1
	policy t
	purpose release
	identity ci-bot $(cut -d' ' -f1,2 "$BATS_TEST_TMPDIR/ssh/ci.pub")
	rule rel key=rel identity=ci-bot purpose=release scope=a:*
	EOF
	enf-policy install "$BATS_TEST_TMPDIR/policy.txt" >/dev/null 2>&1
	echo data >"$BATS_TEST_TMPDIR/data"
	for i in 1 2 3; do
		enf-request -k rel -i ci-bot -p release -s "a:$i" -r rel \
			--ssh-key "$BATS_TEST_TMPDIR/ssh/ci" "$BATS_TEST_TMPDIR/data" >"$BATS_TEST_TMPDIR/r$i"
	done
	SESSION="enf-tty-$$-$BATS_TEST_NUMBER"
}

teardown() { tmux kill-session -t "$SESSION" 2>/dev/null || true; }

prompts() { tmux capture-pane -p -t "$SESSION" | grep -c 'Enter operator passphrase' || true; }

@test "three parallel enf-sign on one terminal ask one at a time, and all sign" {
	cat >"$BATS_TEST_TMPDIR/make.sh" <<-EOF
	export PATH="$PATH" ENF_HOME="$ENF_HOME" HOME="$HOME"
	unset ENF_PASSPHRASE_FILE ENF_AGENT_SOCK
	for i in 1 2 3; do enf-sign -o "$BATS_TEST_TMPDIR/s\$i" "$BATS_TEST_TMPDIR/r\$i" & done
	wait
	touch "$BATS_TEST_TMPDIR/finished"
	sleep 60
	EOF
	tmux new-session -d -s "$SESSION" -x 120 -y 40 "bash $BATS_TEST_TMPDIR/make.sh"
	for want in 1 2 3; do
		for _ in $(seq 200); do [ "$(prompts)" -ge "$want" ] && break; sleep 0.05; done
		[ "$(prompts)" -eq "$want" ]
		# The others wait their turn: still exactly one open prompt.
		sleep 0.5
		[ "$(prompts)" -eq "$want" ]
		tmux send-keys -t "$SESSION" 'operator battery staple' Enter
	done
	for _ in $(seq 200); do [ -e "$BATS_TEST_TMPDIR/finished" ] && break; sleep 0.05; done
	[ -e "$BATS_TEST_TMPDIR/finished" ]
	for i in 1 2 3; do [ -s "$BATS_TEST_TMPDIR/s$i" ]; done
	[ "$(prompts)" -eq 3 ]
}
