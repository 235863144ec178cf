#!/usr/bin/env bats
# Passphrase prompts on a real terminal (tmux) and the messages about
# passphrase files.

load helper
bats_require_minimum_version 1.5.0

setup() {
	common_setup
	TMUX_SOCK="$BATS_TEST_TMPDIR/tmux.sock"
	DONE="$BATS_TEST_TMPDIR/exit"
}

teardown() {
	tmux -S "$TMUX_SOCK" kill-server 2>/dev/null || true
}

# Runs enf-keygen ARGS... on a tmux terminal, with no passphrase files.
on_tty() {
	tmux -S "$TMUX_SOCK" new-session -d -x 160 -y 40 \
		"env -u ENF_OFFICER_PASSPHRASE_FILE -u ENF_PASSPHRASE_FILE HOME='$HOME' ENF_HOME='$ENF_HOME' PATH='$PATH' $* 2>&1; echo \$? >'$DONE'; sleep 600"
}

screen() { tmux -S "$TMUX_SOCK" capture-pane -p -S -100; }

# Waits until the screen shows TEXT N times (default 1), or fails after ~20 s.
wait_for() { # TEXT [N]
	local i
	for i in $(seq 200); do
		[ "$(screen | grep -cF -- "$1")" -ge "${2:-1}" ] && return 0
		sleep 0.1
	done
	echo "never saw '$1' x${2:-1}:"; screen; return 1
}

type_line() { tmux -S "$TMUX_SOCK" send-keys -l -- "$1"; tmux -S "$TMUX_SOCK" send-keys Enter; }

wait_exit() {
	local i
	for i in $(seq 300); do [ -s "$DONE" ] && { cat "$DONE"; return 0; }; sleep 0.1; done
	echo "never exited:"; screen; return 1
}

@test "a mismatched confirmation asks again instead of aborting" {
	on_tty enf-keygen init --argon2 1:8192:1
	wait_for "Enter new officer passphrase:"
	type_line "officer one two"
	wait_for "Enter new officer passphrase again:"
	type_line "officer one twp"
	wait_for "the two entries differ; enter it again"
	wait_for "Enter new officer passphrase:" 2
	type_line "officer one two"
	wait_for "Enter new officer passphrase again:" 2
	type_line "officer one two"
	wait_for "Enter new operator passphrase:"
	type_line "operator three four"
	wait_for "Enter new operator passphrase again:"
	type_line "operator three four"
	[ "$(wait_exit)" -eq 0 ]
	# The passphrase set is the one confirmed.
	printf 'officer one two\n' >"$BATS_TEST_TMPDIR/o"
	enf-keygen new -p release --officer-passphrase-file "$BATS_TEST_TMPDIR/o" k >/dev/null
}

@test "a short passphrase is told before the confirmation and asked again" {
	on_tty enf-keygen init --argon2 1:8192:1
	wait_for "Enter new officer passphrase:"
	type_line "short"
	wait_for "the new officer passphrase must be at least 8 characters"
	run ! grep -q "Enter new officer passphrase again" <<<"$(screen)"
	wait_for "Enter new officer passphrase:" 2
	type_line "long enough officer"
	wait_for "Enter new officer passphrase again:"
	type_line "long enough officer"
	wait_for "Enter new operator passphrase:"
	type_line "long enough operator"
	wait_for "Enter new operator passphrase again:"
	type_line "long enough operator"
	[ "$(wait_exit)" -eq 0 ]
}

@test "the operator passphrase equal to the officer's is told at once, asked again, then exit 3" {
	on_tty enf-keygen init --argon2 1:8192:1
	wait_for "Enter new officer passphrase:"
	type_line "the same words"
	wait_for "Enter new officer passphrase again:"
	type_line "the same words"
	for i in 1 2 3; do
		wait_for "Enter new operator passphrase:" "$i"
		type_line "the same words"
		wait_for "the officer and operator passphrases must differ" "$i"
	done
	[ "$(wait_exit)" -eq 3 ]
	run ! grep -q "Enter new operator passphrase again" <<<"$(screen)"
	[[ "$(screen)" == *"new operator passphrase not set after 3 tries: the officer and operator passphrases must differ"* ]]
	[ ! -e "$ENF_HOME/keystore" ]
}

@test "three mismatched confirmations give up with exit 3 and create nothing" {
	on_tty enf-keygen init --argon2 1:8192:1
	for i in 1 2 3; do
		wait_for "Enter new officer passphrase:" "$i"
		type_line "officer one two"
		wait_for "Enter new officer passphrase again:" "$i"
		type_line "something else $i"
	done
	[ "$(wait_exit)" -eq 3 ]
	[[ "$(screen)" == *"new officer passphrase not set after 3 tries: the two entries differ"* ]]
	[ ! -e "$ENF_HOME" ] || [ ! -e "$ENF_HOME/keystore" ]
}

@test "the same passphrase for both roles from files is exit 3, not a usage error" {
	export ENF_PASSPHRASE_FILE="$ENF_OFFICER_PASSPHRASE_FILE"
	run --separate-stderr enf-keygen init --argon2 1:8192:1
	[ "$status" -eq 3 ]
	[[ "$stderr" == *"the officer and operator passphrases must differ"* ]]
	[ ! -e "$ENF_HOME/keystore" ]
}

@test "a passphrase file named by a variable that does not exist is reported with the variable" {
	make_instance
	export ENF_OFFICER_PASSPHRASE_FILE="$BATS_TEST_TMPDIR/no-such-file"
	run --separate-stderr enf-keygen new -p release k
	[ "$status" -eq 3 ]
	[[ "$stderr" == *"\$ENF_OFFICER_PASSPHRASE_FILE $BATS_TEST_TMPDIR/no-such-file: No such file or directory"* ]]
	export ENF_PASSPHRASE_FILE="$BATS_TEST_TMPDIR/gone"
	echo x >"$BATS_TEST_TMPDIR/d"
	run --separate-stderr enf-seal seal "$BATS_TEST_TMPDIR/d"
	[ "$status" -eq 3 ]
	[[ "$stderr" == *"\$ENF_PASSPHRASE_FILE $BATS_TEST_TMPDIR/gone: No such file or directory"* ]]
	run --separate-stderr enf-keygen new -p release --officer-passphrase-file "$BATS_TEST_TMPDIR/nope" k
	[ "$status" -eq 3 ]
	[[ "$stderr" == *"--officer-passphrase-file $BATS_TEST_TMPDIR/nope: No such file or directory"* ]]
}
