#!/usr/bin/env bats
# bash completion (share/completion/enf): the completion function called as
# bash calls it, with COMP_WORDS and COMP_CWORD set.

load helper
bats_require_minimum_version 1.5.0

setup() {
	common_setup
	# shellcheck source=/dev/null
	source "$SHARE/completion/enf"
	cd "$BATS_TEST_TMPDIR"
	mkdir -p files/sub
	touch files/app.tar.gz files/app.req
}

# Completes the command line WORDS..., the last word being the one under
# the cursor; prints the candidates, one a line, sorted.
complete_line() {
	COMP_WORDS=("$@")
	COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
	COMP_LINE="$*"
	COMP_POINT=${#COMP_LINE}
	COMPREPLY=()
	_enf
	printf '%s\n' "${COMPREPLY[@]}" | sort
}

@test "every program is registered with the completion function" {
	for p in enf-keygen enf-policy enf-request enf-sign enf-verify enf-seal enf-audit enf-sshsig; do
		[[ "$(complete -p "$p")" == "complete -F _enf $p" ]]
	done
}

@test "subcommands of enf-keygen, enf-policy, enf-request, enf-seal and enf-audit" {
	run complete_line enf-keygen ''
	[[ "$output" == *allowed-signers* && "$output" == *krl* && "$output" == *init* ]]
	run complete_line enf-keygen al
	[ "$output" = allowed-signers ]
	run complete_line enf-policy i
	[ "$output" = "$(printf 'install\n')" ]
	run complete_line enf-request v
	[ "$output" = verify ]
	run complete_line enf-seal tr
	[ "$output" = transfer ]
	run complete_line enf-audit h
	[ "$output" = head ]
}

@test "options follow the subcommand" {
	run complete_line enf-keygen list --
	[[ "$output" == *--json* ]]
	run complete_line enf-keygen krl -
	[[ "$output" == *-o* ]]
	run complete_line enf-request verify --
	[[ "$output" == *--policy* && "$output" == *--data* && "$output" == *--digest* ]]
	run ! grep -qx -- --unsigned <<<"$(complete_line enf-request verify --)"
	run complete_line enf-sign --pa
	[ "$output" = --passphrase-file ]
	run complete_line enf-verify --r
	[ "$output" = --raw ]
}

@test "option values: algorithms, formats, roles, states" {
	run complete_line enf-keygen new -a ecdsa
	[ "$output" = "$(printf 'ecdsa-p256\necdsa-p384')" ]
	run complete_line enf-keygen pubkey --format ''
	[ "$output" = "$(printf 'pem\nssh')" ]
	run complete_line enf-keygen passwd --role o
	[ "$output" = "$(printf 'officer\noperator')" ]
	run complete_line enf-request -f ''
	[ "$output" = "$(printf 'raw\nsshsig')" ]
	run complete_line enf-sshsig -Y ''
	[[ "$output" == *find-principals* && "$output" == *sign* ]]
}

@test "key names come from enf-keygen list, in the instance -H names" {
	make_instance
	enf-keygen new -p release rel-2026 >/dev/null
	enf-keygen new -p firmware fw-2026 >/dev/null
	run complete_line enf-keygen pubkey ''
	[ "$output" = "$(printf 'fw-2026\nrel-2026')" ]
	run complete_line enf-keygen state r
	[ "$output" = rel-2026 ]
	run complete_line enf-keygen state rel-2026 co
	[ "$output" = compromised ]
	run complete_line enf-request -k f
	[ "$output" = fw-2026 ]
	other="$BATS_TEST_TMPDIR/other"
	ENF_HOME="$other" make_instance
	ENF_HOME="$other" enf-keygen new -p git git-key >/dev/null
	run complete_line enf-keygen -H "$other" allowed-signers ''
	[ "$output" = git-key ]
}

@test "file arguments complete as files and directories" {
	run complete_line enf-sign -o files/app
	[ "$output" = "$(printf 'files/app.req\nfiles/app.tar.gz')" ]
	run complete_line enf-request verify --data files/app.t
	[ "$output" = files/app.tar.gz ]
	run complete_line enf-keygen -H files/s
	[ "$output" = files/sub ]
	run complete_line enf-sign files/app.r
	[ "$output" = files/app.req ]
	run complete_line enf-policy check files/
	[[ "$output" == *files/app.req* ]]
}
