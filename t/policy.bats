#!/usr/bin/env bats
# enf-policy: check (errors, warnings, -H), show and --json, digest,
# install (officer only, nothing written on refusal, audited), drift, and
# eval (the dry run of the whole decision, exit 0 permit / 1 deny).

load helper
bats_require_minimum_version 1.5.0

setup() {
	common_setup
	SSH="$BATS_TEST_TMPDIR/ssh"
	POL="$BATS_TEST_TMPDIR/p.policy"
	DATA="$BATS_TEST_TMPDIR/data"
	REQ="$BATS_TEST_TMPDIR/req"
	printf 'release bytes\n' >"$DATA"
	for who in ci-bot alice bob mallory; do make_ssh_key "$who"; done
	write_policy
}

# ci-bot may use rel-key for releases under artifact:*, approved by one of
# alice and bob; rule nightly needs no approval.
write_policy() {
	cat >"$POL" <<-EOF
	version 1
	policy test-policy          # the id
	purpose release
	identity ci-bot $(cat "$SSH/ci-bot.pub")
	identity alice  $(cat "$SSH/alice.pub")
	identity bob    $(cat "$SSH/bob.pub")
	group managers alice bob
	rule rel key=rel-key identity=ci-bot purpose=release scope=artifact:* approvals=1:managers
	rule nightly key=rel-key identity=ci-bot purpose=release scope=nightly
	revoke identity eve
	EOF
}

instance_with_key() {
	make_instance
	enf-keygen new -p release rel-key >/dev/null
}

# A request from ci-bot (extra enf-request options may be given).
request() {
	enf-request -k rel-key -i ci-bot -p release -r rel -s artifact:tgz --ssh-key "$SSH/ci-bot" \
		"$@" "$DATA" >"$REQ"
}

# An approval made with nothing but OpenSSH, as any approver can.
approve() { # WHO
	head -n 8 "$REQ" | ssh-keygen -q -Y sign -n enf-approve -f "$SSH/$1" >>"$REQ"
}

installed_digest_is_recorded() {
	run -1 enf-policy eval "$REQ"
	[[ "$output" != "deny: no-policy:"* ]]
}

# ---- usage ----

@test "--help prints usage on stdout and exits 0" {
	run -0 --separate-stderr enf-policy --help
	[[ "$output" == usage:* ]]
	[ -z "$stderr" ]
}

@test "--version prints the version" {
	run -0 enf-policy --version
	[[ "$output" == "enf-policy "[0-9]* ]]
}

@test "usage errors exit 2: no command, unknown command, missing file, misplaced options" {
	run -2 enf-policy
	run -2 enf-policy frobnicate
	[[ "$output" == *'unknown command "frobnicate"'* ]]
	run -2 enf-policy check
	run -2 enf-policy install
	run -2 enf-policy check "$POL" "$POL"
	run -2 enf-policy check --json "$POL"
	run -2 enf-policy eval --officer-passphrase-file "$ENF_OFFICER_PASSPHRASE_FILE"
	run -2 enf-policy --bogus
}

# ---- check ----

@test "every example policy in share/policies checks with no error" {
	local n=0
	for f in "$SHARE"/policies/*.policy; do
		run -0 --separate-stderr enf-policy check "$f"
		[[ "$stderr" != *error* ]]
		n=$((n + 1))
	done
	[ "$n" -ge 3 ]
}

@test "show --json of every example policy is valid JSON with its rules" {
	for f in "$SHARE"/policies/*.policy; do
		run -0 enf-policy show --json "$f"
		[ "$(jq '.rules | length' <<<"$output")" -ge 1 ]
	done
}

@test "check -H naming a directory without an instance exits 3" {
	mkdir -m 700 "$BATS_TEST_TMPDIR/empty"
	run -3 enf-policy check -H "$BATS_TEST_TMPDIR/empty" "$POL"
}

@test "check accepts a valid policy silently" {
	run -0 --separate-stderr enf-policy check "$POL"
	[ -z "$output" ]
	[ -z "$stderr" ]
}

@test "check reports errors compiler-style with file and line, and exits 1" {
	printf 'version 1\npolicy p\npurpose release\nrule r key=k identity=nobody purpose=release scope=s\nfrobnicate\n' >"$BATS_TEST_TMPDIR/bad.policy"
	run -1 --separate-stderr enf-policy check "$BATS_TEST_TMPDIR/bad.policy"
	[ -z "$output" ]
	[[ "$stderr" == *"bad.policy:4: error: rule 'r': undefined identity 'nobody'"* ]]
	[[ "$stderr" == *"bad.policy:5: error: unknown statement 'frobnicate'"* ]]
}

@test "check refuses a file that does not start with version 1" {
	sed 1d "$POL" >"$BATS_TEST_TMPDIR/nov.policy"
	run -1 enf-policy check "$BATS_TEST_TMPDIR/nov.policy"
	[[ "$output" == *"nov.policy:1: error: missing 'version 1'"* ]]
}

@test "check: warnings alone do not fail" {
	cat "$POL" >"$BATS_TEST_TMPDIR/w.policy"
	echo 'rule any key=rel-key identity=ci-bot purpose=release scope=*' >>"$BATS_TEST_TMPDIR/w.policy"
	echo 'rule many key=rel-key identity=ci-bot purpose=release scope=x approvals=3:managers' >>"$BATS_TEST_TMPDIR/w.policy"
	run -0 --separate-stderr enf-policy check "$BATS_TEST_TMPDIR/w.policy"
	[[ "$stderr" == *"w.policy:11: warning: rule 'any': scope '*' matches every scope"* ]]
	[[ "$stderr" == *"w.policy:12: warning: rule 'many': approvals=3:managers can never be met"* ]]
	[[ "$stderr" != *error* ]]
}

@test "check reads the policy from stdin with -" {
	run -0 enf-policy check - <"$POL"
	printf 'version 1\nbogus\n' | { run -1 --separate-stderr enf-policy check -; [[ "$stderr" == *"<stdin>:2: error"* ]]; }
}

@test "check of a missing file exits 3" {
	run -3 enf-policy check "$BATS_TEST_TMPDIR/nope.policy"
	[[ "$output" == *nope.policy* ]]
}

@test "check -H warns of a rule whose key is missing, not active, or lacks its purpose" {
	make_instance
	enf-keygen new -p release rel-key >/dev/null
	enf-keygen new -p firmware fw-key >/dev/null
	enf-keygen new -p release old-key >/dev/null
	enf-keygen state old-key deactivated >/dev/null
	cat "$POL" >"$BATS_TEST_TMPDIR/k.policy"
	cat >>"$BATS_TEST_TMPDIR/k.policy" <<-EOF
	rule a key=fw-key identity=ci-bot purpose=release scope=x
	rule b key=gone-key identity=ci-bot purpose=release scope=x
	rule c key=old-key identity=ci-bot purpose=release scope=x
	EOF
	run -0 --separate-stderr enf-policy check -H "$ENF_HOME" "$BATS_TEST_TMPDIR/k.policy"
	[[ "$stderr" == *"k.policy:11: warning: rule 'a': key 'fw-key' lacks purpose 'release'"* ]]
	[[ "$stderr" == *"k.policy:12: warning: rule 'b': key 'gone-key' is not in the keystore"* ]]
	[[ "$stderr" == *"k.policy:13: warning: rule 'c': key 'old-key' is deactivated, not active"* ]]
	[[ "$stderr" != *"rule 'rel'"* ]]
	# Without -H the keystore is not consulted.
	run -0 --separate-stderr enf-policy check "$BATS_TEST_TMPDIR/k.policy"
	[ -z "$stderr" ]
}

# ---- show and digest ----

@test "show prints the canonical text, which checks again" {
	run -0 --separate-stderr enf-policy show "$POL"
	[[ "$output" == "version 1"$'\n'"policy test-policy"$'\n'* ]]
	[[ "$output" == *"rule rel key=rel-key identity=ci-bot purpose=release scope=artifact:* approvals=1:managers"* ]]
	[[ "$output" != *"# the id"* ]]
	printf '%s\n' "$output" >"$BATS_TEST_TMPDIR/canon.policy"
	run -0 --separate-stderr enf-policy check "$BATS_TEST_TMPDIR/canon.policy"
	[ -z "$stderr" ]
}

@test "show --json is one JSON document jq can read" {
	run -0 --separate-stderr enf-policy show --json "$POL"
	[ "$(jq -r .id <<<"$output")" = test-policy ]
	[ "$(jq -r '.rules[0].approvals.count' <<<"$output")" = 1 ]
	[ "$(jq -r '.rules[0].approvals.group' <<<"$output")" = managers ]
	[ "$(jq -r '.rules[1].approvals' <<<"$output")" = null ]
	[ "$(jq -r '.rules[0].scopes[0]' <<<"$output")" = 'artifact:*' ]
	[ "$(jq -r '.groups[0].members | join(",")' <<<"$output")" = alice,bob ]
	[ "$(jq -r '.revoked.identities[0]' <<<"$output")" = eve ]
	[ "$(jq -r .digest <<<"$output")" = "$(sha256sum "$POL" | cut -d' ' -f1)" ]
	fp=$(ssh-keygen -lf "$SSH/alice.pub" | cut -d' ' -f2)
	[ "$(jq -r '.identities[] | select(.name == "alice") | .fingerprint' <<<"$output")" = "$fp" ]
	[ "$(jq -r '.identities[] | select(.name == "alice") | .comment' <<<"$output")" = alice@test ]
}

@test "show of a policy with errors prints them and exits 1" {
	printf 'version 1\npolicy p\nbogus\n' >"$BATS_TEST_TMPDIR/bad.policy"
	run -1 --separate-stderr enf-policy show "$BATS_TEST_TMPDIR/bad.policy"
	[ -z "$output" ]
	[[ "$stderr" == *"bad.policy:3: error"* ]]
}

@test "digest prints the SHA-256 of the file bytes" {
	run -0 enf-policy digest "$POL"
	[ "$output" = "$(sha256sum "$POL" | cut -d' ' -f1)" ]
}

@test "show and digest without FILE use the installed policy" {
	instance_with_key
	enf-policy install "$POL"
	run -0 --separate-stderr enf-policy digest
	[ "$output" = "$(sha256sum "$POL" | cut -d' ' -f1)" ]
	[ -z "$stderr" ]
	run -0 enf-policy show
	[[ "$output" == *"policy test-policy"* ]]
}

@test "show without FILE and without an instance exits 3" {
	run -3 enf-policy show
	[[ "$output" == *"$ENF_HOME"* ]]
}

# ---- install ----

@test "install records the digest, copies the file 0600 and audits it" {
	instance_with_key
	before=$(audit_count)
	run -0 --separate-stderr enf-policy install "$POL"
	[ -z "$output" ]
	cmp "$POL" "$ENF_HOME/policy"
	[ "$(stat -c %a "$ENF_HOME/policy")" = 600 ]
	[ "$(audit_count)" -eq $((before + 1)) ]
	digest=$(sha256sum "$POL" | cut -d' ' -f1)
	run -0 enf-audit show --json
	rec=$(tail -n 1 <<<"$output")
	[ "$(jq -r .program <<<"$rec")" = enf-policy ]
	[ "$(jq -r .op <<<"$rec")" = install ]
	[ "$(jq -r .outcome <<<"$rec")" = ok ]
	[ "$(jq -r .policy <<<"$rec")" = test-policy ]
	[ "$(jq -r .policy_digest <<<"$rec")" = "$digest" ]
	run -0 enf-audit verify
}

@test "install with no credential at all exits 3 and installs nothing" {
	instance_with_key
	unset ENF_OFFICER_PASSPHRASE_FILE
	run -3 no_tty enf-policy install "$POL"
	[[ "$output" == *--officer-passphrase-file* ]]
	[ ! -e "$ENF_HOME/policy" ]
	request
	run -1 enf-policy eval "$REQ"
	[[ "$output" == "deny: no-policy:"* ]]
}

@test "install with a wrong officer passphrase exits 3, installs nothing, and is audited" {
	instance_with_key
	printf 'not the officer passphrase\n' >"$BATS_TEST_TMPDIR/wrong"
	before=$(audit_count)
	run -3 enf-policy install --officer-passphrase-file "$BATS_TEST_TMPDIR/wrong" "$POL"
	[ ! -e "$ENF_HOME/policy" ]
	[ "$(audit_count)" -eq $((before + 1)) ]
	run -0 enf-audit show --json
	rec=$(tail -n 1 <<<"$output")
	[ "$(jq -r .program <<<"$rec")" = enf-policy ]
	[ "$(jq -r .op <<<"$rec")" = install ]
	[ "$(jq -r .outcome <<<"$rec")" = fail ]
	request
	run -1 enf-policy eval "$REQ"
	[[ "$output" == "deny: no-policy:"* ]]
}

@test "install takes --officer-passphrase-file" {
	instance_with_key
	cp "$ENF_OFFICER_PASSPHRASE_FILE" "$BATS_TEST_TMPDIR/off"
	unset ENF_OFFICER_PASSPHRASE_FILE
	run -0 no_tty enf-policy install --officer-passphrase-file "$BATS_TEST_TMPDIR/off" "$POL"
	cmp "$POL" "$ENF_HOME/policy"
}

@test "the operator passphrase cannot install a policy" {
	instance_with_key
	run -3 enf-policy install --officer-passphrase-file "$ENF_PASSPHRASE_FILE" "$POL"
	[ ! -e "$ENF_HOME/policy" ]
}

@test "install refuses a policy with errors, writes nothing, and keeps the old policy" {
	instance_with_key
	enf-policy install "$POL"
	old=$(enf-policy digest)
	printf 'version 1\npolicy p\nrule r key=k identity=ghost purpose=x scope=s\n' >"$BATS_TEST_TMPDIR/bad.policy"
	run -1 --separate-stderr enf-policy install "$BATS_TEST_TMPDIR/bad.policy"
	[[ "$stderr" == *"bad.policy:3: error"* ]]
	[[ "$stderr" == *"nothing installed"* ]]
	cmp "$POL" "$ENF_HOME/policy"
	[ "$(enf-policy digest)" = "$old" ]
	request
	approve alice
	run -0 enf-policy eval "$REQ"
}

@test "an identity whose Ed25519 key has small order is an error, and install writes nothing" {
	# A point of order 8: OpenSSH accepts it as a key, but every signature
	# it "verifies" can be made without any private key.
	weak='ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAICbolY/CsiewRcP0ifLvmPDV36wF08YzObE4AohtU/wF weak'
	printf 'identity weak %s\nrule weak key=rel-key identity=weak purpose=release scope=artifact:*\n' \
		"$weak" >"$BATS_TEST_TMPDIR/tail"
	cat "$POL" "$BATS_TEST_TMPDIR/tail" >"$BATS_TEST_TMPDIR/weak.policy"
	run -1 --separate-stderr enf-policy check "$BATS_TEST_TMPDIR/weak.policy"
	[[ "$stderr" == *"weak.policy:11: error: identity 'weak': not a valid OpenSSH public key: public key: malformed or unsupported key"* ]]
	instance_with_key
	enf-policy install "$POL"
	run -1 --separate-stderr enf-policy install "$BATS_TEST_TMPDIR/weak.policy"
	[[ "$stderr" == *"nothing installed"* ]]
	cmp "$POL" "$ENF_HOME/policy"
}

@test "install of a policy with errors on a fresh instance leaves no policy" {
	instance_with_key
	printf 'version 1\nbogus\n' >"$BATS_TEST_TMPDIR/bad.policy"
	before=$(audit_count)
	run -1 enf-policy install "$BATS_TEST_TMPDIR/bad.policy"
	[ ! -e "$ENF_HOME/policy" ]
	# The refused attempt is on record.
	[ "$(audit_count)" -eq $((before + 1)) ]
	run -0 enf-audit show --json
	rec=$(tail -n 1 <<<"$output")
	[ "$(jq -r '.op + " " + .outcome + " " + .reason' <<<"$rec")" = "install fail invalid-policy" ]
	request
	run -1 enf-policy eval "$REQ"
	[[ "$output" == "deny: no-policy:"* ]]
}

@test "install without an instance exits 3" {
	run -3 enf-policy install "$POL"
	[ ! -e "$ENF_HOME" ]
}

# ---- eval ----

@test "eval permits a request the policy allows, exit 0, with no credential" {
	instance_with_key
	enf-policy install "$POL"
	request
	approve bob
	unset ENF_OFFICER_PASSPHRASE_FILE ENF_PASSPHRASE_FILE
	before=$(audit_count)
	run -0 --separate-stderr no_tty enf-policy eval "$REQ"
	[ "$output" = permit ]
	[ -z "$stderr" ]
	# A dry run leaves no trace.
	[ "$(audit_count)" -eq "$before" ]
}

@test "eval reads the request from stdin" {
	instance_with_key
	enf-policy install "$POL"
	request -r nightly -s nightly
	run -0 enf-policy eval - <"$REQ"
	[ "$output" = permit ]
	run -0 enf-policy eval <"$REQ"
	[ "$output" = permit ]
}

@test "eval denies with the reason code and detail, exit 1" {
	instance_with_key
	enf-policy install "$POL"
	request
	run -1 --separate-stderr enf-policy eval "$REQ"
	[ "$output" = "deny: insufficient-approvals: rule 'rel' needs 1 approval from group 'managers' (requester and revoked identities excluded), got 0" ]
	[ -z "$stderr" ]
}

@test "eval denies a scope the rule does not list" {
	instance_with_key
	enf-policy install "$POL"
	request -s release:tgz
	approve alice
	run -1 enf-policy eval "$REQ"
	[[ "$output" == "deny: scope-not-allowed: scope 'release:tgz' matches no scope of rule 'rel'" ]]
}

@test "eval denies an approval by a key the policy does not know" {
	instance_with_key
	enf-policy install "$POL"
	request
	approve alice
	approve mallory
	run -1 enf-policy eval "$REQ"
	[[ "$output" == "deny: bad-approval: approval 2 is signed by SHA256:"* ]]
}

@test "eval denies a request whose body was changed after signing" {
	instance_with_key
	enf-policy install "$POL"
	request
	approve alice
	sed -i 's/^scope artifact:tgz$/scope artifact:evil/' "$REQ"
	run -1 enf-policy eval "$REQ"
	[[ "$output" == "deny: bad-signature:"* ]]
}

@test "eval denies a malformed request" {
	instance_with_key
	enf-policy install "$POL"
	printf 'enf-request 1\nkey rel-key\n' >"$REQ"
	run -1 enf-policy eval "$REQ"
	[[ "$output" == "deny: malformed-request:"* ]]
	: >"$REQ"
	run -1 enf-policy eval "$REQ"
	[[ "$output" == "deny: malformed-request:"* ]]
}

@test "eval with no policy installed denies with no-policy" {
	instance_with_key
	request
	approve alice
	run -1 enf-policy eval "$REQ"
	[[ "$output" == "deny: no-policy:"* ]]
}

@test "eval denies a key that is not active" {
	instance_with_key
	enf-policy install "$POL"
	enf-keygen state rel-key deactivated >/dev/null
	request
	approve alice
	run -1 enf-policy eval "$REQ"
	[[ "$output" == "deny: key-not-active: key 'rel-key' is deactivated, not active" ]]
}

@test "eval without an instance exits 3" {
	request
	run -3 enf-policy eval "$REQ"
}

# ---- drift ----

@test "editing the installed policy makes every decision deny with policy-drift" {
	instance_with_key
	enf-policy install "$POL"
	request
	approve alice
	run -0 enf-policy eval "$REQ"
	echo '# harmless-looking comment' >>"$ENF_HOME/policy"
	run -1 enf-policy eval "$REQ"
	[[ "$output" == "deny: policy-drift:"* ]]
	run -1 enf-sign -o "$BATS_TEST_TMPDIR/sig" "$REQ"
	[ ! -e "$BATS_TEST_TMPDIR/sig" ]
	run -0 --separate-stderr enf-policy show
	[[ "$stderr" == *"does not match the digest recorded at install"* ]]
	# The officer installing a policy again ends the drift.
	enf-policy install "$POL"
	run -0 enf-policy eval "$REQ"
}

@test "a policy edited to grant more is not honoured (drift, not permit)" {
	instance_with_key
	enf-policy install "$POL"
	request -s release:anything
	run -1 enf-policy eval "$REQ"
	[[ "$output" == "deny: scope-not-allowed:"* ]]
	sed -i 's/^rule rel .*/rule rel key=rel-key identity=ci-bot purpose=release scope=*/' "$ENF_HOME/policy"
	run -0 enf-policy check "$ENF_HOME/policy"
	run -1 enf-policy eval "$REQ"
	[[ "$output" == "deny: policy-drift:"* ]]
}

@test "a deleted installed policy is drift, not absence" {
	instance_with_key
	enf-policy install "$POL"
	rm "$ENF_HOME/policy"
	request -r nightly -s nightly
	run -1 enf-policy eval "$REQ"
	[[ "$output" == "deny: policy-drift:"* ]]
}

@test "eval refuses an installed policy that others can read or write (exit 3)" {
	instance_with_key
	enf-policy install "$POL"
	chmod 0644 "$ENF_HOME/policy"
	request -r nightly -s nightly
	run -3 enf-policy eval "$REQ"
	[[ "$output" == *"$ENF_HOME/policy"* ]]
}

@test "eval denies a request over 1 MiB as malformed, as enf-sign does, and writes nothing" {
	make_instance
	head -c 1048577 /dev/zero | tr '\0' 'a' >"$BATS_TEST_TMPDIR/big.req"
	before=$(audit_count)
	run enf-policy eval "$BATS_TEST_TMPDIR/big.req"
	[ "$status" -eq 1 ]
	[ "$output" = "deny: malformed-request: request larger than 1048576 bytes" ]
	[ "$(audit_count)" -eq "$before" ]
}

@test "an installed policy replaced by a FIFO or a symlink is refused (exit 3), never waited on" {
	instance_with_key
	enf-policy install "$POL"
	request -r nightly -s nightly
	cp "$ENF_HOME/policy" "$BATS_TEST_TMPDIR/copy"
	rm "$ENF_HOME/policy"
	mkfifo -m 0600 "$ENF_HOME/policy"
	run timeout 10 enf-policy eval "$REQ"
	[ "$status" -eq 3 ]
	[[ "$output" == *"$ENF_HOME/policy: not a regular file"* ]]
	run timeout 10 enf-policy show
	[ "$status" -eq 3 ]
	rm "$ENF_HOME/policy"
	ln -s "$BATS_TEST_TMPDIR/copy" "$ENF_HOME/policy"
	run enf-policy eval "$REQ"
	[ "$status" -eq 3 ]
	[[ "$output" == *"$ENF_HOME/policy: is a symbolic link"* ]]
}
