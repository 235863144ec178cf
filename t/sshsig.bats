#!/usr/bin/env bats
# enf-sshsig: git signs commits and tags through enf's policy, and stock
# git verifies them.

load helper
bats_require_minimum_version 1.5.0

setup() {
	common_setup
	make_instance
	enf-keygen new -p git git-2026 >"$BATS_TEST_TMPDIR/git-2026.pub"
	make_ssh_key dev
	make_ssh_key stranger
	cat >"$BATS_TEST_TMPDIR/policy" <<-EOF2
	version 1
	policy git-signing
	purpose git
	identity dev $(cat "$BATS_TEST_TMPDIR/ssh/dev.pub")
	rule dev-commits key=git-2026 identity=dev purpose=git scope=git:commit,git:tag
	EOF2
	enf-policy install "$BATS_TEST_TMPDIR/policy" >/dev/null
	# Verifiers trust the enf key for namespace git, under the committer's address.
	echo "dev@example.org namespaces=\"git\" $(cut -d' ' -f1,2 "$BATS_TEST_TMPDIR/git-2026.pub")" \
		>"$BATS_TEST_TMPDIR/allowed_signers"
	REPO="$BATS_TEST_TMPDIR/repo"
	git init -q "$REPO"
	cd "$REPO"
	git config user.name Dev
	git config user.email dev@example.org
	git config gpg.format ssh
	git config user.signingkey "$BATS_TEST_TMPDIR/ssh/dev"
	git config gpg.ssh.program enf-sshsig
	git config gpg.ssh.allowedSignersFile "$BATS_TEST_TMPDIR/allowed_signers"
	git config enf.key git-2026
	git config enf.identity dev
	git config enf.rule dev-commits
	echo one >file
	git add file
}

teardown() {
	if [ -n "${SSH_AGENT_PID:-}" ]; then kill "$SSH_AGENT_PID" 2>/dev/null || true; fi
}

last_reason() {
	enf-audit show --json "$(enf-audit head | cut -d: -f1)" | jq -r '.outcome + " " + .reason'
}

@test "git commit -S signs through enf and git verify-commit accepts it" {
	run git commit -q -S -m one
	[ "$status" -eq 0 ]
	run git verify-commit HEAD
	[ "$status" -eq 0 ]
	[[ "$output" == *'Good "git" signature for dev@example.org with ED25519 key SHA256:'* ]]
	[ "$(last_reason)" = "permit permit" ]
	[ "$(enf-audit show --json "$(enf-audit head | cut -d: -f1)" | jq -r .scope)" = git:commit ]
}

@test "the commit's signature is the enf key's, not the requester's SSH key's" {
	git commit -q -S -m one
	git cat-file commit HEAD | sed -n '/^gpgsig /,/END SSH SIGNATURE/p' |
		sed -e 's/^gpgsig //' -e 's/^ //' >"$BATS_TEST_TMPDIR/sig"
	ssh-keygen -Y check-novalidate -n git -s "$BATS_TEST_TMPDIR/sig" \
		< <(git cat-file commit HEAD | sed '/^gpgsig /,/END SSH SIGNATURE/d') >"$BATS_TEST_TMPDIR/out"
	fp=$(ssh-keygen -lf "$BATS_TEST_TMPDIR/git-2026.pub" | cut -d' ' -f2)
	grep -q "$fp" "$BATS_TEST_TMPDIR/out"
}

@test "git tag -s signs through enf and git verify-tag accepts it" {
	git commit -q -S -m one
	run git tag -s -m v1 v1
	[ "$status" -eq 0 ]
	run git verify-tag v1
	[ "$status" -eq 0 ]
	[[ "$output" == *'Good "git" signature for dev@example.org'* ]]
	[ "$(enf-audit show --json "$(enf-audit head | cut -d: -f1)" | jq -r .scope)" = git:tag ]
}

@test "a denied commit fails with enf's one line, commits nothing, and the audit log says why" {
	git config enf.rule no-such-rule
	run --separate-stderr git commit -q -S -m one
	[ "$status" -ne 0 ]
	[[ "$stderr" == *"enf-sign: denied (audit #"* ]]
	[ "$(grep -c 'enf-sign' <<<"$stderr")" -eq 1 ]
	run ! git rev-parse -q --verify HEAD
	[ "$(last_reason)" = "deny unknown-rule" ]
}

@test "a scope the rule does not grant is denied" {
	git config enf.scope git:push
	run git commit -q -S -m one
	[ "$status" -ne 0 ]
	run ! git rev-parse -q --verify HEAD
	[ "$(last_reason)" = "deny scope-not-allowed" ]
}

@test "an SSH key that is not the identity's is denied (bad signature)" {
	git config user.signingkey "$BATS_TEST_TMPDIR/ssh/stranger"
	run git commit -q -S -m one
	[ "$status" -ne 0 ]
	run ! git rev-parse -q --verify HEAD
	[ "$(last_reason)" = "deny bad-signature" ]
}

@test "a compromised enf key signs nothing" {
	enf-keygen state git-2026 compromised
	run git commit -q -S -m one
	[ "$status" -ne 0 ]
	run ! git rev-parse -q --verify HEAD
	[ "$(last_reason)" = "deny key-not-active" ]
}

@test "an agent-held key (git's key:: signing key, -U) signs the request" {
	eval "$(ssh-agent -s -a "$BATS_TEST_TMPDIR/agent.sock")" >/dev/null
	ssh-add -q "$BATS_TEST_TMPDIR/ssh/dev"
	rm "$BATS_TEST_TMPDIR/ssh/dev"	# only the agent has it now
	git config user.signingkey "key::$(cat "$BATS_TEST_TMPDIR/ssh/dev.pub")"
	run git commit -q -S -m one
	[ "$status" -eq 0 ]
	run git verify-commit HEAD
	[ "$status" -eq 0 ]
	[ "$(last_reason)" = "permit permit" ]
}

@test "the environment overrides git config" {
	ENF_SSHSIG_RULE=no-such-rule run git commit -q -S -m one
	[ "$status" -ne 0 ]
	[ "$(last_reason)" = "deny unknown-rule" ]
	git config --unset enf.rule
	ENF_SSHSIG_RULE=dev-commits run git commit -q -S -m one
	[ "$status" -eq 0 ]
}

@test "missing configuration is named, and nothing is signed" {
	git config --unset enf.identity
	n=$(audit_count)
	run --separate-stderr enf-sshsig -Y sign -n git -f "$BATS_TEST_TMPDIR/ssh/dev" file
	[ "$status" -eq 3 ]
	[[ "$stderr" == *"no identity: set \`git config enf.identity NAME\` or \$ENF_SSHSIG_IDENTITY"* ]]
	[ ! -e file.sig ]
	[ "$(audit_count)" -eq "$n" ]
}

@test "ENF_SIGN_COMMAND carries the request on stdin and the signature back on stdout" {
	export ENF_SSHSIG_SCOPE=git:tag	# "file" is no commit or tag to read it from
	export ENF_SIGN_COMMAND="tee '$BATS_TEST_TMPDIR/seen' | enf-sign -"
	run enf-sshsig -Y sign -n git -f "$BATS_TEST_TMPDIR/ssh/dev" file
	[ "$status" -eq 0 ]
	head -n 1 "$BATS_TEST_TMPDIR/seen" | grep -qx 'enf-request 1'
	grep -qx 'purpose git' "$BATS_TEST_TMPDIR/seen"
	grep -qx 'scope git:tag' "$BATS_TEST_TMPDIR/seen"
	ssh-keygen -Y verify -n git -f "$BATS_TEST_TMPDIR/allowed_signers" -I dev@example.org \
		-s file.sig <file
}

@test "a signer that returns something else than a signature over the data is refused" {
	export ENF_SSHSIG_SCOPE=git:tag	# "file" is no commit or tag to read it from
	other="$BATS_TEST_TMPDIR/other"
	echo other >"$other"
	enf-sshsig -Y sign -n git -f "$BATS_TEST_TMPDIR/ssh/dev" -O hashalg=sha512 "$other"
	export ENF_SIGN_COMMAND="cat >/dev/null; cat '$other.sig'"
	run --separate-stderr enf-sshsig -Y sign -n git -f "$BATS_TEST_TMPDIR/ssh/dev" file
	[ "$status" -eq 3 ]
	[[ "$stderr" == *"the signer returned no valid signature over this data"* ]]
	[ ! -e file.sig ]
	export ENF_SIGN_COMMAND="cat >/dev/null; echo garbage"
	run enf-sshsig -Y sign -n git -f "$BATS_TEST_TMPDIR/ssh/dev" file
	[ "$status" -eq 3 ]
	[ ! -e file.sig ]
}

@test "a signer's refusal is passed on as its exit code with its own message only" {
	export ENF_SSHSIG_SCOPE=git:tag	# "file" is no commit or tag to read it from
	export ENF_SIGN_COMMAND="cat >/dev/null; echo 'enf-sign: denied (audit #9)' >&2; exit 1"
	run --separate-stderr enf-sshsig -Y sign -n git -f "$BATS_TEST_TMPDIR/ssh/dev" file
	[ "$status" -eq 1 ]
	[ "$stderr" = "enf-sign: denied (audit #9)" ]
	[ ! -e file.sig ]
	# Any other failure of the signer is one the caller cannot fix: exit 3.
	export ENF_SIGN_COMMAND="cat >/dev/null; echo 'signhost: no route' >&2; exit 2"
	run --separate-stderr enf-sshsig -Y sign -n git -f "$BATS_TEST_TMPDIR/ssh/dev" file
	[ "$status" -eq 3 ]
	[ "$stderr" = "signhost: no route" ]
	[ ! -e file.sig ]
}

@test "the namespace is the request's purpose" {
	export ENF_SSHSIG_SCOPE=git:tag	# "file" is no commit or tag to read it from
	run enf-sshsig -Y sign -n file -f "$BATS_TEST_TMPDIR/ssh/dev" file
	[ "$status" -eq 1 ]
	[ ! -e file.sig ]
	[ "$(last_reason)" = "deny rule-purpose-mismatch" ]
}

@test "verify, find-principals and check-novalidate are ssh-keygen's own" {
	export ENF_SSHSIG_SCOPE=git:tag	# "file" is no commit or tag to read it from
	enf-sshsig -Y sign -n git -f "$BATS_TEST_TMPDIR/ssh/dev" file
	run enf-sshsig -Y find-principals -f "$BATS_TEST_TMPDIR/allowed_signers" -s file.sig
	[ "$status" -eq 0 ]
	[ "$output" = dev@example.org ]
	run enf-sshsig -Y verify -n git -f "$BATS_TEST_TMPDIR/allowed_signers" -I dev@example.org -s file.sig <file
	[ "$status" -eq 0 ]
	[[ "$output" == 'Good "git" signature for dev@example.org'* ]]
	run enf-sshsig -Y check-novalidate -n git -s file.sig <file
	[ "$status" -eq 0 ]
	echo tampered >>file
	run enf-sshsig -Y verify -n git -f "$BATS_TEST_TMPDIR/allowed_signers" -I dev@example.org -s file.sig <file
	[ "$status" -ne 0 ]
}

@test "usage errors are exit 2 and touch nothing" {
	n=$(audit_count)
	run enf-sshsig -Y sign -f "$BATS_TEST_TMPDIR/ssh/dev" file
	[ "$status" -eq 2 ]
	run enf-sshsig -Y sign -n git file
	[ "$status" -eq 2 ]
	run enf-sshsig -Y sign -n git -f "$BATS_TEST_TMPDIR/ssh/dev" -O hashalg=md5 file
	[ "$status" -eq 2 ]
	[ ! -e file.sig ]
	[ "$(audit_count)" -eq "$n" ]
	run enf-sshsig --help
	[ "$status" -eq 0 ]
	[[ "$output" == usage:* ]]
}
