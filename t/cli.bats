#!/usr/bin/env bats
# What every program on lib/cli.c's skeleton shares (SPEC "Conventions for
# every program"): messages that start with the program's own name, getopt's
# included, one version line, one wording of a lost standard output.
load helper
bats_require_minimum_version 1.5.0

setup() { common_setup; }

# The programs built on cli_start; enf-seal joins them when it moves onto
# the skeleton.
CLI_PROGRAMS="enf-keygen enf-verify enf-request enf-policy enf-sign enf-agent enf-sshsig enf-audit"

stdout_closed() { "$@" >&-; }

@test "getopt's messages name the program, not the path it was run by" {
	for p in $CLI_PROGRAMS; do
		if [ "$p" = enf-sshsig ]; then
			# Its own options are -Y sign's, short ones as ssh-keygen's;
			# the others are ssh-keygen's.
			run -2 --separate-stderr "$ENF_BIN/$p" -Y sign -x
			[ "${stderr_lines[0]}" = "$p: invalid option -- 'x'" ]
			continue
		fi
		run -2 --separate-stderr "$ENF_BIN/$p" -x
		[ "${stderr_lines[0]}" = "$p: invalid option -- 'x'" ]
		run -2 --separate-stderr "$ENF_BIN/$p" --no-such-option
		[ "${stderr_lines[0]}" = "$p: unrecognized option '--no-such-option'" ]
		# The usage follows on stderr, nothing on stdout.
		[[ "${stderr_lines[1]}" == usage:* ]]
		[ -z "$output" ]
	done
	# After a verb too.
	run -2 --separate-stderr "$ENF_BIN/enf-request" approve -x
	[ "${stderr_lines[0]}" = "enf-request: invalid option -- 'x'" ]
}

@test "--version is one line, NAME VERSION, for every program" {
	v=$(sed -n 's/^#define ENF_VERSION "\(.*\)"$/\1/p' "$BATS_TEST_DIRNAME/../lib/enf.h")
	for p in $CLI_PROGRAMS; do
		run -0 --separate-stderr "$ENF_BIN/$p" --version
		[ "$output" = "$p $v" ]
		[ -z "$stderr" ]
	done
}

@test "-h and --help print the usage on stdout, nothing on stderr, exit 0" {
	for p in $CLI_PROGRAMS; do
		for h in -h --help; do
			run -0 --separate-stderr "$p" "$h"
			[[ "${lines[0]}" == "usage: $p "* ]]
			[ -z "$stderr" ]
		done
	done
}

@test "a product lost on a closed stdout is said one way: cannot write standard output" {
	make_instance
	enf-keygen new -p release k >/dev/null
	enf-request -k k -i ci -p release -s s -r r --unsigned --digest "sha256:$(printf '%064d' 0)" \
		-o "$BATS_TEST_TMPDIR/req"
	while read -r line; do
		# shellcheck disable=SC2086 # the words of line are the arguments
		run -3 --separate-stderr stdout_closed $line
		[[ "$stderr" == "${line%% *}: cannot write standard output" ||
			"$stderr" == "${line%% *}: cannot write standard output: "* ]]
	done <<-EOF
	enf-keygen instance
	enf-keygen list
	enf-keygen pubkey k
	enf-keygen allowed-signers
	enf-request show $BATS_TEST_TMPDIR/req
	enf-policy digest $SHARE/policies/firmware.policy
	enf-policy show $SHARE/policies/firmware.policy
	enf-audit head
	enf-audit show
	EOF
}
