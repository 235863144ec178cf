#!/usr/bin/env bats
# The README's quick start runs as written: its marked shell blocks are
# extracted and run, in order, in a fresh directory, so that it cannot rot.

load helper
bats_require_minimum_version 1.5.0

README="$BATS_TEST_DIRNAME/../README.md"

setup() {
	export HOME="$BATS_TEST_TMPDIR/home"
	mkdir -p "$HOME"
	unset ENF_HOME ENF_OFFICER_PASSPHRASE_FILE ENF_PASSPHRASE_FILE SSH_AUTH_SOCK ENF_AGENT_SOCK
	# The quick start's agent makes its socket under here, where teardown
	# finds it should the script stop before its enf-agent -k.
	export TMPDIR="$BATS_TEST_TMPDIR/tmp"
	mkdir -m 0700 "$TMPDIR"
}

teardown() {
	local s
	for s in "$TMPDIR"/enf-agent-*/agent.*; do
		[ -S "$s" ] && ENF_AGENT_SOCK=$s enf-agent -k 2>/dev/null || true
	done
}

# The agent sockets left under $TMPDIR (none once enf-agent -k has run).
agent_sockets() { compgen -G "$TMPDIR/enf-agent-*/agent.*" || true; }

# The ```sh blocks that follow a "<!-- quickstart -->" line, in order.
extract() {
	awk '/^<!-- quickstart -->$/ { want = 1; next }
	     want && /^```sh$/ { inside = 1; want = 0; print "# ---- block " ++n; next }
	     inside && /^```$/ { inside = 0; next }
	     inside { print }
	     want && !/^$/ { want = 0 }' "$README"
}

@test "every quickstart marker is followed by a shell block" {
	markers=$(grep -c '^<!-- quickstart -->$' "$README")
	[ "$markers" -ge 5 ]
	[ "$(extract | grep -c '^# ---- block ')" -eq "$markers" ]
}

@test "the README quick start runs as written, start to finish" {
	extract >"$BATS_TEST_TMPDIR/quickstart.sh"
	mkdir "$BATS_TEST_TMPDIR/qs"
	cd "$BATS_TEST_TMPDIR/qs"
	run --separate-stderr bash -euo pipefail "$BATS_TEST_TMPDIR/quickstart.sh"
	echo "$output" "$stderr"
	[ "$status" -eq 0 ]
	# It got to the end and made what it says it makes.
	[[ "$output" == *'Good "release" signature for release-2026'* ]]
	[ -s app.tar.gz.sig ]
	grep -q '^release-2026 namespaces="release" ssh-ed25519 ' allowed_signers
	[ "$(ENF_HOME=$PWD/hsm enf-audit show --json | jq -r 'select(.op == "sign") | .outcome')" = permit ]
	# The signature was made by the agent (the record names the caller it
	# observed), and its enf-agent -k stopped it.
	[[ "$(ENF_HOME=$PWD/hsm enf-audit show --json | jq -r 'select(.op == "sign") | .peer')" == uid=* ]]
	[[ "$output" == *"Agent pid "* ]]
	for _ in $(seq 100); do [ -z "$(agent_sockets)" ] && break; sleep 0.05; done
	[ -z "$(agent_sockets)" ]
}

@test "what the quick start says of a request without its approval holds" {
	extract >"$BATS_TEST_TMPDIR/quickstart.sh"
	mkdir "$BATS_TEST_TMPDIR/qs"
	cd "$BATS_TEST_TMPDIR/qs"
	bash -euo pipefail "$BATS_TEST_TMPDIR/quickstart.sh" >/dev/null 2>&1
	export ENF_HOME="$PWD/hsm" ENF_PASSPHRASE_FILE="$PWD/operator.pw"
	run --separate-stderr enf-sign req
	[ "$status" -eq 1 ]
	[[ "$stderr" =~ ^enf-sign:\ denied\ \(audit\ #([0-9]+)\)$ ]]
	[ "$(enf-audit show --json "${BASH_REMATCH[1]}" | jq -r .reason)" = insufficient-approvals ]
}
