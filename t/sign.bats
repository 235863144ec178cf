#!/usr/bin/env bats
# enf-sign: one denial test per reason code, each request failing only that
# check; credentials; atomic output; determinism; interoperability with
# OpenSSH, OpenSSL and enf-verify.

load helper
load agent-mode
bats_require_minimum_version 1.5.0

setup() {
	common_setup
	make_instance
	SSH="$BATS_TEST_TMPDIR/ssh"
	DATA="$BATS_TEST_TMPDIR/data"
	OUT="$BATS_TEST_TMPDIR/out.sig"
	printf 'release tarball bytes\n' >"$DATA"
	enf-keygen new -a ed25519 -p release rel >/dev/null
	for who in ci alice bob carol mallory; do make_ssh_key "$who"; done
	agent_mode_start
}

teardown() { agent_mode_stop; }

pubof() { cut -d' ' -f1,2 "$SSH/$1.pub"; }

# The test policy plus any extra lines given, installed.  ci-bot may use
# key rel for releases; rule rel2 needs two approvals from managers (ci-bot
# is in the group so that self-approval is tested; carol is outside it).
install_policy() {
	{
		cat <<-EOF
		version 1
		policy test-1
		purpose release
		purpose firmware
		identity ci-bot $(pubof ci)
		identity alice $(pubof alice)
		identity bob $(pubof bob)
		identity carol $(pubof carol)
		group managers alice bob ci-bot
		rule rel key=rel identity=ci-bot purpose=release scope=artifact:tarball,device:*
		rule rel2 key=rel identity=ci-bot purpose=release scope=release:* approvals=2:managers
		EOF
		printf '%s\n' "$@"
	} >"$BATS_TEST_TMPDIR/policy.txt"
	enf-policy install "$BATS_TEST_TMPDIR/policy.txt" >/dev/null 2>&1
}

# req FILE [enf-request options]: a request by ci-bot for key rel, rule rel,
# over $DATA; later options override the defaults.
req() {
	local out=$1
	shift
	enf-request -k rel -i ci-bot -p release -s artifact:tarball -r rel \
		--ssh-key "$SSH/ci" "$@" "$DATA" >"$out"
}

# req2 FILE [approvers]: a request under rule rel2 with the approvals given.
req2() {
	local out=$1 who
	shift
	req "$out" -r rel2 -s release:v1
	for who in "$@"; do
		enf-request approve --ssh-key "$SSH/$who" -o "$out" "$out"
	done
}

audit_reason() { # SEQ
	enf-audit show --json "$1" | jq -r .reason
}

# expect_denied REQUEST REASON: exit 1, exactly the one line on stderr,
# nothing on stdout, no output file, one new audit record with REASON.
expect_denied() {
	local before seq
	before=$(audit_count)
	run --separate-stderr enf-sign -o "$OUT" "$1"
	[ "$status" -eq 1 ]
	[ -z "$output" ]
	[[ "$stderr" =~ ^enf-sign:\ denied\ \(audit\ \#([0-9]+)\)$ ]]
	seq=${BASH_REMATCH[1]}
	[ ! -e "$OUT" ]
	[ -z "$(ls -A "$(dirname "$OUT")" | grep -F out.sig)" ]
	[ "$(audit_count)" -eq $((before + 1)) ]
	[ "$(audit_reason "$seq")" = "$2" ]
	# And on stdout: nothing at all.
	run --separate-stderr enf-sign "$1"
	[ "$status" -eq 1 ]
	[ -z "$output" ]
	[[ "$stderr" =~ ^enf-sign:\ denied\ \(audit\ \#[0-9]+\)$ ]]
}

expect_permitted() { # REQUEST
	run --separate-stderr enf-sign -o "$OUT" "$1"
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	[ -s "$OUT" ]
}

@test "signs a request the policy permits, and records the permit" {
	install_policy
	req "$BATS_TEST_TMPDIR/r"
	expect_permitted "$BATS_TEST_TMPDIR/r"
	seq=$(audit_count)
	[ "$(audit_reason "$seq")" = permit ]
	run enf-audit show --json "$seq"
	[ "$(jq -r .outcome <<<"$output")" = permit ]
	[ "$(jq -r .key <<<"$output")" = rel ]
	[ "$(jq -r .identity <<<"$output")" = ci-bot ]
	[ "$(jq -r .scope <<<"$output")" = artifact:tarball ]
	[ "$(jq -r .policy <<<"$output")" = test-1 ]
	[ "$(jq -r .policy_digest <<<"$output")" = "$(sha256sum <"$ENF_HOME/policy" | cut -c1-64)" ]
	body_digest=$(sed -n 1,8p "$BATS_TEST_TMPDIR/r" | sha256sum | cut -c1-64)
	[ "$(jq -r .request_digest <<<"$output")" = "$body_digest" ]
}

@test "writes the signature on stdout when no -o is given" {
	install_policy
	req "$BATS_TEST_TMPDIR/r"
	run --separate-stderr enf-sign "$BATS_TEST_TMPDIR/r"
	[ "$status" -eq 0 ]
	[[ "$output" == "-----BEGIN SSH SIGNATURE-----"* ]]
}

@test "reads the request from stdin" {
	install_policy
	req "$BATS_TEST_TMPDIR/r"
	enf-sign -o "$OUT" - <"$BATS_TEST_TMPDIR/r"
	[ -s "$OUT" ]
}

@test "denies a malformed request (blank line after the signature)" {
	install_policy
	req "$BATS_TEST_TMPDIR/r"
	echo >>"$BATS_TEST_TMPDIR/r"
	expect_denied "$BATS_TEST_TMPDIR/r" malformed-request
}

@test "denies an unsigned request" {
	install_policy
	enf-request -k rel -i ci-bot -p release -s artifact:tarball -r rel --unsigned "$DATA" \
		>"$BATS_TEST_TMPDIR/r"
	expect_denied "$BATS_TEST_TMPDIR/r" malformed-request
}

@test "denies a request over 1 MiB as malformed" {
	install_policy
	req "$BATS_TEST_TMPDIR/r"
	head -c 1100000 /dev/zero | tr '\0' 'a' >>"$BATS_TEST_TMPDIR/r"
	expect_denied "$BATS_TEST_TMPDIR/r" malformed-request
}

@test "denies every request when no policy is installed" {
	req "$BATS_TEST_TMPDIR/r"
	expect_denied "$BATS_TEST_TMPDIR/r" no-policy
}

@test "denies every request when the installed policy was edited (policy drift)" {
	install_policy
	req "$BATS_TEST_TMPDIR/r"
	echo '# edited' >>"$ENF_HOME/policy"
	expect_denied "$BATS_TEST_TMPDIR/r" policy-drift
}

@test "denies a request from an identity the policy does not know" {
	install_policy
	enf-request -k rel -i mallory -p release -s artifact:tarball -r rel \
		--ssh-key "$SSH/mallory" "$DATA" >"$BATS_TEST_TMPDIR/r"
	expect_denied "$BATS_TEST_TMPDIR/r" unknown-identity
}

@test "denies a request signed by another key than the identity's" {
	install_policy
	req "$BATS_TEST_TMPDIR/r" --ssh-key "$SSH/mallory"
	expect_denied "$BATS_TEST_TMPDIR/r" bad-signature
}

@test "denies a request whose body was changed after signing" {
	install_policy
	req "$BATS_TEST_TMPDIR/r"
	sed -i 's/^scope artifact:tarball$/scope device:gw1/' "$BATS_TEST_TMPDIR/r"
	grep -q '^scope device:gw1$' "$BATS_TEST_TMPDIR/r"
	expect_denied "$BATS_TEST_TMPDIR/r" bad-signature
}

@test "denies a request signed by the identity's key in the approval namespace" {
	install_policy
	enf-request -k rel -i ci-bot -p release -s artifact:tarball -r rel --unsigned "$DATA" \
		>"$BATS_TEST_TMPDIR/body"
	ssh-keygen -q -Y sign -n enf-approve -f "$SSH/ci" <"$BATS_TEST_TMPDIR/body" \
		>"$BATS_TEST_TMPDIR/sig"
	# Namespace is checked by the parser: a signature of the wrong namespace is malformed.
	cat "$BATS_TEST_TMPDIR/body" "$BATS_TEST_TMPDIR/sig" >"$BATS_TEST_TMPDIR/r"
	expect_denied "$BATS_TEST_TMPDIR/r" malformed-request
}

@test "denies a request carrying an approval by a key outside the policy" {
	install_policy
	req2 "$BATS_TEST_TMPDIR/r" alice bob mallory
	expect_denied "$BATS_TEST_TMPDIR/r" bad-approval
}

@test "denies a request carrying an approval made over a different body" {
	install_policy
	req2 "$BATS_TEST_TMPDIR/r" alice
	req "$BATS_TEST_TMPDIR/other" -r rel2 -s release:v2
	enf-request approve --ssh-key "$SSH/bob" "$BATS_TEST_TMPDIR/other" >"$BATS_TEST_TMPDIR/bob.sig"
	# Keep only bob's approval (the last armored block) and append it.
	awk '/BEGIN SSH SIGNATURE/{n++} n==2' "$BATS_TEST_TMPDIR/bob.sig" >>"$BATS_TEST_TMPDIR/r"
	run enf-request show "$BATS_TEST_TMPDIR/r"
	[ "$status" -eq 0 ]
	[[ "$output" == *"approval 2"* ]]
	expect_denied "$BATS_TEST_TMPDIR/r" bad-approval
}

@test "denies a request naming a rule the policy does not have" {
	install_policy
	req "$BATS_TEST_TMPDIR/r" -r nope
	expect_denied "$BATS_TEST_TMPDIR/r" unknown-rule
}

@test "denies a request under a revoked rule" {
	install_policy 'revoke rule rel'
	req "$BATS_TEST_TMPDIR/r"
	expect_denied "$BATS_TEST_TMPDIR/r" revoked-rule
}

@test "denies a request for a key the rule does not grant" {
	enf-keygen new -a ecdsa-p256 -p release other >/dev/null
	install_policy
	req "$BATS_TEST_TMPDIR/r" -k other
	expect_denied "$BATS_TEST_TMPDIR/r" rule-key-mismatch
}

@test "denies a request by an identity the rule does not name" {
	install_policy
	enf-request -k rel -i alice -p release -s artifact:tarball -r rel \
		--ssh-key "$SSH/alice" "$DATA" >"$BATS_TEST_TMPDIR/r"
	expect_denied "$BATS_TEST_TMPDIR/r" rule-identity-mismatch
}

@test "denies a request for a purpose the rule does not grant" {
	install_policy
	req "$BATS_TEST_TMPDIR/r" -p firmware
	expect_denied "$BATS_TEST_TMPDIR/r" rule-purpose-mismatch
}

@test "denies a request whose scope the rule does not list" {
	install_policy
	req "$BATS_TEST_TMPDIR/r" -s artifact:deb
	expect_denied "$BATS_TEST_TMPDIR/r" scope-not-allowed
}

@test "denies a scope that only shares a prefix with a literal scope" {
	install_policy
	req "$BATS_TEST_TMPDIR/r" -s artifact:tarballs
	expect_denied "$BATS_TEST_TMPDIR/r" scope-not-allowed
}

@test "permits a scope under a prefix pattern" {
	install_policy
	req "$BATS_TEST_TMPDIR/r" -s device:gw1
	expect_permitted "$BATS_TEST_TMPDIR/r"
}

@test "denies a request by a revoked identity" {
	install_policy 'revoke identity ci-bot'
	req "$BATS_TEST_TMPDIR/r"
	expect_denied "$BATS_TEST_TMPDIR/r" revoked-identity
}

@test "denies a request for a key the policy revokes" {
	install_policy 'revoke key rel'
	req "$BATS_TEST_TMPDIR/r"
	expect_denied "$BATS_TEST_TMPDIR/r" revoked-key
}

@test "denies a request for a key the keystore does not have" {
	install_policy 'rule ghost key=ghost identity=ci-bot purpose=release scope=artifact:tarball'
	req "$BATS_TEST_TMPDIR/r" -k ghost -r ghost
	expect_denied "$BATS_TEST_TMPDIR/r" unknown-key
}

@test "denies a request for a deactivated key" {
	install_policy
	enf-keygen state rel deactivated >/dev/null
	req "$BATS_TEST_TMPDIR/r"
	expect_denied "$BATS_TEST_TMPDIR/r" key-not-active
}

@test "denies a request for a compromised key" {
	install_policy
	enf-keygen state rel compromised >/dev/null
	req "$BATS_TEST_TMPDIR/r"
	expect_denied "$BATS_TEST_TMPDIR/r" key-not-active
}

@test "denies a request for a destroyed key" {
	install_policy
	enf-keygen state rel destroyed >/dev/null
	req "$BATS_TEST_TMPDIR/r"
	expect_denied "$BATS_TEST_TMPDIR/r" key-not-active
}

@test "denies a purpose the key was not created with" {
	enf-keygen new -a ed25519 -p firmware fwkey >/dev/null
	install_policy 'rule fwrel key=fwkey identity=ci-bot purpose=release scope=artifact:tarball'
	req "$BATS_TEST_TMPDIR/r" -k fwkey -r fwrel
	expect_denied "$BATS_TEST_TMPDIR/r" key-lacks-purpose
}

@test "permits a request with enough distinct approvals" {
	install_policy
	req2 "$BATS_TEST_TMPDIR/r" alice bob
	expect_permitted "$BATS_TEST_TMPDIR/r"
}

@test "denies a request with too few approvals" {
	install_policy
	req2 "$BATS_TEST_TMPDIR/r" alice
	expect_denied "$BATS_TEST_TMPDIR/r" insufficient-approvals
}

@test "denies a request with no approval where the rule asks for them" {
	install_policy
	req2 "$BATS_TEST_TMPDIR/r"
	expect_denied "$BATS_TEST_TMPDIR/r" insufficient-approvals
}

@test "counts the same approver twice as one approval" {
	install_policy
	req2 "$BATS_TEST_TMPDIR/r" alice alice
	expect_denied "$BATS_TEST_TMPDIR/r" insufficient-approvals
}

@test "does not count the requester approving its own request" {
	install_policy
	req2 "$BATS_TEST_TMPDIR/r" alice ci
	expect_denied "$BATS_TEST_TMPDIR/r" insufficient-approvals
}

@test "does not count an approver outside the rule's group" {
	install_policy
	req2 "$BATS_TEST_TMPDIR/r" alice carol
	expect_denied "$BATS_TEST_TMPDIR/r" insufficient-approvals
}

@test "denies raw format for an Ed25519 key" {
	install_policy
	req "$BATS_TEST_TMPDIR/r" -f raw
	expect_denied "$BATS_TEST_TMPDIR/r" raw-not-allowed
}

@test "denies raw format for a key with more than one purpose" {
	enf-keygen new -a ecdsa-p256 -p release,firmware multi >/dev/null
	install_policy 'rule multi key=multi identity=ci-bot purpose=release scope=artifact:tarball'
	req "$BATS_TEST_TMPDIR/r" -k multi -r multi -f raw
	expect_denied "$BATS_TEST_TMPDIR/r" raw-not-allowed
}

@test "leaves an existing output file untouched on denial" {
	install_policy
	req "$BATS_TEST_TMPDIR/r" -s artifact:deb
	echo previous >"$OUT"
	run enf-sign -o "$OUT" "$BATS_TEST_TMPDIR/r"
	[ "$status" -eq 1 ]
	[ "$(cat "$OUT")" = previous ]
}

@test "-o replaces the output but removes nothing else from the caller's directory" {
	install_policy
	req "$BATS_TEST_TMPDIR/r"
	echo previous >"$OUT"
	dead=$(sh -c 'echo $$')
	# Names a killed writer of the home would leave; here they are the caller's.
	printf 'mine\n' >"$OUT.tmp$dead.0"
	printf 'mine\n' >"$BATS_TEST_TMPDIR/notes.tmp$dead.Ab12Cd"
	enf-sign -o "$OUT" "$BATS_TEST_TMPDIR/r"
	[ "$(head -c 29 "$OUT")" = "-----BEGIN SSH SIGNATURE-----" ]
	[ "$(cat "$OUT.tmp$dead.0")" = mine ]
	[ "$(cat "$BATS_TEST_TMPDIR/notes.tmp$dead.Ab12Cd")" = mine ]
}

# SPEC: -o writes atomically: temp file, fsync, rename.  The temp file is
# unnamed (O_TMPFILE in the output's directory) until it is linked.
@test "-o syncs the signature before it links it into place" {
	install_policy
	req "$BATS_TEST_TMPDIR/r"
	local trace=$BATS_TEST_TMPDIR/trace fd synced linked
	# LeakSanitizer cannot run under ptrace (make sanitize).
	local asan=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0
	if agent_mode; then export ENF_AGENT_SOCK=$AGENT_SOCK; fi
	ASAN_OPTIONS=$asan strace -qq -e trace=openat,fsync,fdatasync,linkat -o "$trace" \
		"$ENF_BIN/enf-sign" -o "$OUT" "$BATS_TEST_TMPDIR/r"
	[ "$(head -c 29 "$OUT")" = "-----BEGIN SSH SIGNATURE-----" ]
	fd=$(sed -n "s|^openat(AT_FDCWD, \"$BATS_TEST_TMPDIR\", .*O_TMPFILE.*) = \([0-9]*\)\$|\1|p" "$trace")
	[ -n "$fd" ]
	synced=$(grep -n -m1 "^f\(data\)\?sync($fd)" "$trace" | cut -d: -f1)
	linked=$(grep -n -m1 "^linkat(AT_FDCWD, \"/proc/self/fd/$fd\"" "$trace" | cut -d: -f1)
	[ -n "$synced" ]
	[ -n "$linked" ]
	[ "$synced" -lt "$linked" ]
}

@test "a wrong operator passphrase exits 3, signs nothing and audits the failure" {
	install_policy
	req "$BATS_TEST_TMPDIR/r"
	echo 'not the passphrase' >"$BATS_TEST_TMPDIR/wrong"
	before=$(audit_count)
	run --separate-stderr enf-sign --passphrase-file "$BATS_TEST_TMPDIR/wrong" -o "$OUT" \
		"$BATS_TEST_TMPDIR/r"
	[ "$status" -eq 3 ]
	[ -z "$output" ]
	[ ! -e "$OUT" ]
	[[ "$stderr" != *denied* ]]
	[ "$(audit_count)" -eq $((before + 1)) ]
	[ "$(enf-audit show --json "$(audit_count)" | jq -r .outcome)" = fail ]
}

@test "with no credential and no terminal, exits 3 naming both ways" {
	install_policy
	req "$BATS_TEST_TMPDIR/r"
	unset ENF_PASSPHRASE_FILE
	run no_tty enf-sign -o "$OUT" "$BATS_TEST_TMPDIR/r"
	[ "$status" -eq 3 ]
	[[ "$output" == *--passphrase-file* ]]
	[ ! -e "$OUT" ]
}

@test "refuses an instance that others can read" {
	install_policy
	req "$BATS_TEST_TMPDIR/r"
	chmod 0755 "$ENF_HOME"
	run enf-sign -o "$OUT" "$BATS_TEST_TMPDIR/r"
	[ "$status" -eq 3 ]
	[[ "$output" == *"$ENF_HOME"* ]]
	[ ! -e "$OUT" ]
}

@test "usage errors exit 2; --help and --version exit 0" {
	run enf-sign a b
	[ "$status" -eq 2 ]
	run enf-sign --bogus
	[ "$status" -eq 2 ]
	run enf-sign --help
	[ "$status" -eq 0 ]
	[[ "$output" == usage:* ]]
	run enf-sign --version
	[ "$status" -eq 0 ]
	[[ "$output" == "enf-sign "* ]]
}

@test "a missing request file exits 3 and records no decision" {
	install_policy
	before=$(audit_count)
	run enf-sign -o "$OUT" "$BATS_TEST_TMPDIR/nonexistent"
	[ "$status" -eq 3 ]
	[ "$(audit_count)" -eq "$before" ]
}

# sign_with ALG FORMAT HASH: a key of ALG, a rule for it, a request; sets KEYNAME, REQ.
sign_with() {
	KEYNAME=k-$1
	enf-keygen new -a "$1" -p release "$KEYNAME" >/dev/null
	install_policy "rule r-$1 key=$KEYNAME identity=ci-bot purpose=release scope=artifact:tarball"
	REQ="$BATS_TEST_TMPDIR/r-$1"
	req "$REQ" -k "$KEYNAME" -r "r-$1" -f "$2" -a "$3"
}

check_sshsig() { # ALG HASH
	sign_with "$1" sshsig "$2"
	enf-sign -o "$BATS_TEST_TMPDIR/s1" "$REQ"
	enf-sign -o "$BATS_TEST_TMPDIR/s2" "$REQ"
	cmp "$BATS_TEST_TMPDIR/s1" "$BATS_TEST_TMPDIR/s2"
	echo "$KEYNAME $(enf-keygen pubkey "$KEYNAME")" >"$BATS_TEST_TMPDIR/allowed"
	ssh-keygen -Y verify -n release -f "$BATS_TEST_TMPDIR/allowed" -I "$KEYNAME" \
		-s "$BATS_TEST_TMPDIR/s1" <"$DATA"
	enf-keygen pubkey "$KEYNAME" >"$BATS_TEST_TMPDIR/pub"
	enf-verify -p release -k "$BATS_TEST_TMPDIR/pub" -s "$BATS_TEST_TMPDIR/s1" "$DATA"
	# The purpose is the namespace: verification for another purpose fails.
	run ssh-keygen -Y verify -n firmware -f "$BATS_TEST_TMPDIR/allowed" -I "$KEYNAME" \
		-s "$BATS_TEST_TMPDIR/s1" <"$DATA"
	[ "$status" -ne 0 ]
	run enf-verify -p firmware -k "$BATS_TEST_TMPDIR/pub" -s "$BATS_TEST_TMPDIR/s1" "$DATA"
	[ "$status" -eq 1 ]
}

@test "ed25519 sshsig: byte-identical twice, ssh-keygen and enf-verify accept it" {
	check_sshsig ed25519 sha512
}

@test "ecdsa-p256 sshsig (sha256): deterministic, ssh-keygen and enf-verify accept it" {
	check_sshsig ecdsa-p256 sha256
}

@test "ecdsa-p384 sshsig: deterministic, ssh-keygen and enf-verify accept it" {
	check_sshsig ecdsa-p384 sha512
}

@test "rsa3072 sshsig: deterministic, ssh-keygen and enf-verify accept it" {
	check_sshsig rsa3072 sha512
}

check_raw() { # ALG HASH
	sign_with "$1" raw "$2"
	enf-sign -o "$BATS_TEST_TMPDIR/s1" "$REQ"
	enf-sign -o "$BATS_TEST_TMPDIR/s2" "$REQ"
	cmp "$BATS_TEST_TMPDIR/s1" "$BATS_TEST_TMPDIR/s2"
	enf-keygen pubkey --format pem "$KEYNAME" >"$BATS_TEST_TMPDIR/key.pem"
	openssl dgst "-$2" -verify "$BATS_TEST_TMPDIR/key.pem" -signature "$BATS_TEST_TMPDIR/s1" "$DATA"
	enf-verify --raw -a "$2" -p release -k "$BATS_TEST_TMPDIR/key.pem" \
		-s "$BATS_TEST_TMPDIR/s1" "$DATA"
	printf 'other data\n' >"$BATS_TEST_TMPDIR/other"
	run openssl dgst "-$2" -verify "$BATS_TEST_TMPDIR/key.pem" \
		-signature "$BATS_TEST_TMPDIR/s1" "$BATS_TEST_TMPDIR/other"
	[ "$status" -ne 0 ]
}

@test "raw ecdsa-p256 (sha256): deterministic DER that openssl dgst -verify accepts" {
	check_raw ecdsa-p256 sha256
}

@test "raw ecdsa-p384 (sha512): deterministic DER that openssl dgst -verify accepts" {
	check_raw ecdsa-p384 sha512
}

@test "raw rsa3072 (sha256): deterministic PKCS#1 that openssl dgst -verify accepts" {
	check_raw rsa3072 sha256
}

@test "signs a digest given with --digest exactly as the data's" {
	install_policy
	d=$(sha512sum <"$DATA" | cut -c1-128)
	enf-request -k rel -i ci-bot -p release -s artifact:tarball -r rel --ssh-key "$SSH/ci" \
		--digest "sha512:$d" >"$BATS_TEST_TMPDIR/r"
	enf-sign -o "$OUT" "$BATS_TEST_TMPDIR/r"
	echo "rel $(enf-keygen pubkey rel)" >"$BATS_TEST_TMPDIR/allowed"
	ssh-keygen -Y verify -n release -f "$BATS_TEST_TMPDIR/allowed" -I rel -s "$OUT" <"$DATA"
}

@test "the decision does not depend on how often the request was seen" {
	install_policy
	req "$BATS_TEST_TMPDIR/r" -s artifact:deb
	for i in 1 2 3; do
		run enf-sign "$BATS_TEST_TMPDIR/r"
		[ "$status" -eq 1 ]
	done
	req "$BATS_TEST_TMPDIR/ok"
	for i in 1 2 3; do
		enf-sign -o "$BATS_TEST_TMPDIR/s$i" "$BATS_TEST_TMPDIR/ok"
	done
	cmp "$BATS_TEST_TMPDIR/s1" "$BATS_TEST_TMPDIR/s3"
}

@test "parallel signers each get an audit record" {
	install_policy
	req "$BATS_TEST_TMPDIR/r"
	before=$(audit_count)
	pids=()
	for i in 1 2 3 4 5 6; do
		enf-sign -o "$BATS_TEST_TMPDIR/p$i" "$BATS_TEST_TMPDIR/r" &
		pids+=($!)
	done
	# A bare `wait` is 0 whatever the signers exit with.
	for pid in "${pids[@]}"; do wait "$pid"; done
	[ "$(audit_count)" -eq $((before + 6)) ]
	for i in 2 3 4 5 6; do cmp "$BATS_TEST_TMPDIR/p1" "$BATS_TEST_TMPDIR/p$i"; done
}

@test "an audit log that cannot be written changes neither a denial nor a permit" {
	install_policy
	req "$BATS_TEST_TMPDIR/deny" -s artifact:deb
	req "$BATS_TEST_TMPDIR/ok"
	mv "$ENF_HOME/audit.log" "$BATS_TEST_TMPDIR/audit.keep"
	mkdir "$ENF_HOME/audit.log"
	run --separate-stderr enf-sign -o "$OUT" "$BATS_TEST_TMPDIR/deny"
	[ "$status" -eq 1 ]
	[ -z "$output" ]
	[ "$(tail -n 1 <<<"$stderr")" = "enf-sign: denied (audit record not written)" ]
	[ ! -e "$OUT" ]
	run --separate-stderr enf-sign -o "$OUT" "$BATS_TEST_TMPDIR/ok"
	[ "$status" -eq 0 ]
	[ -s "$OUT" ]
	[[ "$stderr" == *audit* ]]
}

@test "a permitted signature that cannot be written exits 3 and is recorded as failed" {
	install_policy
	req "$BATS_TEST_TMPDIR/r"
	run --separate-stderr enf-sign -o "$BATS_TEST_TMPDIR/no/such/dir/sig" "$BATS_TEST_TMPDIR/r"
	[ "$status" -eq 3 ]
	[ -z "$output" ]
	[ ! -e "$BATS_TEST_TMPDIR/no" ]
	run enf-audit show --json "$(audit_count)"
	[ "$(jq -r .outcome <<<"$output")" = fail ]
	[ "$(jq -r .reason <<<"$output")" = output-failed ]
}

@test "enf-policy eval (the dry run) reaches the decision enf-sign records" {
	install_policy
	req "$BATS_TEST_TMPDIR/scope" -s artifact:deb
	req2 "$BATS_TEST_TMPDIR/few" alice
	req "$BATS_TEST_TMPDIR/ok"
	# Each case's expected status too: the two agreeing on a wrong answer fails.
	for r in scope:1 few:1 ok:0; do
		want=${r#*:} r=${r%:*}
		run enf-policy eval "$BATS_TEST_TMPDIR/$r"
		[ "$status" -eq "$want" ]
		eval_reason=$(cut -d: -f2 <<<"$output" | tr -d ' ')
		run enf-sign -o "$BATS_TEST_TMPDIR/$r.sig" "$BATS_TEST_TMPDIR/$r"
		[ "$status" -eq "$want" ]
		if [ "$want" -eq 1 ]; then
			[ "$(audit_reason "$(audit_count)")" = "$eval_reason" ]
		else
			[ "$(audit_reason "$(audit_count)")" = permit ]
		fi
	done
}

@test "a key record swapped with another key's in the keystore is refused, not used" {
	install_policy
	enf-keygen new -a ed25519 -p release other >/dev/null
	req "$BATS_TEST_TMPDIR/r"
	record_get key/other >"$BATS_TEST_TMPDIR/other.key"
	record_put key/rel "$BATS_TEST_TMPDIR/other.key"
	before=$(audit_count)
	run enf-sign -o "$OUT" "$BATS_TEST_TMPDIR/r"
	[ "$status" -eq 3 ]
	[[ "$output" == *"modified outside enf"* ]]
	[ ! -e "$OUT" ]
	[ "$(audit_count)" -eq $((before + 1)) ]
	[ "$(enf-audit show --json "$(enf-audit head | cut -d: -f1)" | jq -r .reason)" = sign-failed ]
}

@test "batch: each request decided on its own, a denial in the middle changes nothing" {
	install_policy
	mkdir "$BATS_TEST_TMPDIR/sigs"
	req "$BATS_TEST_TMPDIR/a.req"
	req "$BATS_TEST_TMPDIR/b.req" -s artifact:deb
	req "$BATS_TEST_TMPDIR/c" -s device:gw1
	before=$(audit_count)
	run --separate-stderr enf-sign -d "$BATS_TEST_TMPDIR/sigs" \
		"$BATS_TEST_TMPDIR/a.req" "$BATS_TEST_TMPDIR/b.req" "$BATS_TEST_TMPDIR/c"
	[ "$status" -eq 1 ]
	[ -z "$output" ]
	[[ "$stderr" =~ ^enf-sign:\ $BATS_TEST_TMPDIR/b.req:\ denied\ \(audit\ \#([0-9]+)\)$ ]]
	[ "${BASH_REMATCH[1]}" -eq $((before + 2)) ]
	[ "$(audit_count)" -eq $((before + 3)) ]
	[ "$(audit_reason $((before + 1)))" = permit ]
	[ "$(audit_reason $((before + 2)))" = scope-not-allowed ]
	[ "$(audit_reason $((before + 3)))" = permit ]
	[ "$(ls "$BATS_TEST_TMPDIR/sigs")" = "$(printf 'a.sig\nc.sig')" ]
	echo "rel $(enf-keygen pubkey rel)" >"$BATS_TEST_TMPDIR/allowed"
	for s in a c; do
		ssh-keygen -Y verify -n release -f "$BATS_TEST_TMPDIR/allowed" -I rel \
			-s "$BATS_TEST_TMPDIR/sigs/$s.sig" <"$DATA"
	done
	enf-audit verify
}

@test "batch: all permitted exits 0 and gives the signatures a single sign gives" {
	install_policy
	mkdir "$BATS_TEST_TMPDIR/sigs"
	for i in 1 2 3 4; do req "$BATS_TEST_TMPDIR/r$i.req"; done
	run --separate-stderr enf-sign -d "$BATS_TEST_TMPDIR/sigs" "$BATS_TEST_TMPDIR"/r?.req
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	enf-sign -o "$OUT" "$BATS_TEST_TMPDIR/r1.req"
	for i in 1 2 3 4; do cmp "$OUT" "$BATS_TEST_TMPDIR/sigs/r$i.sig"; done
	[ -z "$(ls -A "$BATS_TEST_TMPDIR/sigs" | grep tmp)" ]
}

@test "batch: twelve requests, their records signed on several threads, each verifies" {
	install_policy
	mkdir "$BATS_TEST_TMPDIR/sigs"
	for i in $(seq 10 21); do req "$BATS_TEST_TMPDIR/r$i.req"; done
	before=$(audit_count)
	enf-sign -d "$BATS_TEST_TMPDIR/sigs" "$BATS_TEST_TMPDIR"/r??.req
	[ "$(ls "$BATS_TEST_TMPDIR/sigs" | wc -l)" -eq 12 ]
	[ "$(audit_count)" -eq $((before + 12)) ]
	run enf-audit verify --all-signatures
	[ "$status" -eq 0 ]
	[[ "$output" == *"$((before + 12)) records"* ]]
}

@test "batch: the signatures in DIR get 0644 less the umask, as -o gives" {
	install_policy
	mkdir "$BATS_TEST_TMPDIR/sigs"
	req "$BATS_TEST_TMPDIR/r1.req"
	req "$BATS_TEST_TMPDIR/r2.req"
	(umask 077 && enf-sign -d "$BATS_TEST_TMPDIR/sigs" "$BATS_TEST_TMPDIR/r1.req")
	[ "$(stat -c %a "$BATS_TEST_TMPDIR/sigs/r1.sig")" = 600 ]
	(umask 077 && enf-sign -o "$OUT" "$BATS_TEST_TMPDIR/r1.req")
	[ "$(stat -c %a "$OUT")" = 600 ]
	(umask 022 && enf-sign -d "$BATS_TEST_TMPDIR/sigs" "$BATS_TEST_TMPDIR/r2.req")
	[ "$(stat -c %a "$BATS_TEST_TMPDIR/sigs/r2.sig")" = 644 ]
}

@test "batch: the staged files a killed batch left are removed by the next, a live batch's are not" {
	install_policy
	mkdir "$BATS_TEST_TMPDIR/sigs"
	req "$BATS_TEST_TMPDIR/r1.req"
	dead=$(sh -c 'echo $$')
	for f in "r1.sig.tmp$dead.AbCdEf" "old.sig.tmp$dead.x1y2z3" "r1.sig.tmp$$.AbCdEf" notes.tmp; do
		printf 'stale\n' >"$BATS_TEST_TMPDIR/sigs/$f"
	done
	run enf-sign -d "$BATS_TEST_TMPDIR/sigs" "$BATS_TEST_TMPDIR/r1.req"
	[ "$status" -eq 0 ]
	[ "$(ls "$BATS_TEST_TMPDIR/sigs")" = "$(printf '%s\n' notes.tmp r1.sig "r1.sig.tmp$$.AbCdEf" | sort)" ]
}

@test "batch: usage errors exit 2 and record nothing" {
	install_policy
	req "$BATS_TEST_TMPDIR/r.req"
	before=$(audit_count)
	run enf-sign -d "$BATS_TEST_TMPDIR"
	[ "$status" -eq 2 ]
	run enf-sign -d "$BATS_TEST_TMPDIR" - <"$BATS_TEST_TMPDIR/r.req"
	[ "$status" -eq 2 ]
	run enf-sign -d "$BATS_TEST_TMPDIR" -o "$OUT" "$BATS_TEST_TMPDIR/r.req"
	[ "$status" -eq 2 ]
	run enf-sign -d "$BATS_TEST_TMPDIR" "$BATS_TEST_TMPDIR/"
	[ "$status" -eq 2 ]
	[ "$(audit_count)" -eq "$before" ]
}

@test "batch: a missing request exits 3 before anything is decided" {
	install_policy
	req "$BATS_TEST_TMPDIR/r.req"
	mkdir "$BATS_TEST_TMPDIR/sigs"
	before=$(audit_count)
	run enf-sign -d "$BATS_TEST_TMPDIR/sigs" "$BATS_TEST_TMPDIR/r.req" "$BATS_TEST_TMPDIR/nope.req"
	[ "$status" -eq 3 ]
	[[ "$output" == *nope.req* ]]
	[ "$(audit_count)" -eq "$before" ]
	[ -z "$(ls -A "$BATS_TEST_TMPDIR/sigs")" ]
}

@test "batch: stopped by a request that cannot be read, it leaves only what it decided" {
	install_policy
	mkdir "$BATS_TEST_TMPDIR/sigs" "$BATS_TEST_TMPDIR/r03.req"
	for i in $(seq -w 1 40); do [ "$i" = 03 ] || req "$BATS_TEST_TMPDIR/r$i.req"; done
	before=$(audit_count)
	run --separate-stderr enf-sign -d "$BATS_TEST_TMPDIR/sigs" "$BATS_TEST_TMPDIR"/r??.req
	[ "$status" -eq 3 ]
	[[ "$stderr" == *r03.req* ]]
	[ "$(audit_count)" -eq $((before + 2)) ]
	# The files of the requests after it, made ahead of their decisions,
	# are gone with it.
	[ "$(ls -A "$BATS_TEST_TMPDIR/sigs")" = "$(printf 'r01.sig\nr02.sig')" ]
}

@test "batch: a first request that cannot be read stops it before anything is decided" {
	install_policy
	mkdir "$BATS_TEST_TMPDIR/sigs" "$BATS_TEST_TMPDIR/r1.req"
	req "$BATS_TEST_TMPDIR/r2.req"
	before=$(audit_count)
	run --separate-stderr enf-sign -d "$BATS_TEST_TMPDIR/sigs" "$BATS_TEST_TMPDIR"/r?.req
	[ "$status" -eq 3 ]
	[[ "$stderr" == *r1.req* ]]
	[ "$(audit_count)" -eq "$before" ]
	[ -z "$(ls -A "$BATS_TEST_TMPDIR/sigs")" ]
}

@test "batch: a directory that cannot be written fails each permit, recorded as output-failed" {
	install_policy
	req "$BATS_TEST_TMPDIR/a.req"
	req "$BATS_TEST_TMPDIR/b.req" -s artifact:deb
	before=$(audit_count)
	run --separate-stderr enf-sign -d "$BATS_TEST_TMPDIR/no/such" \
		"$BATS_TEST_TMPDIR/a.req" "$BATS_TEST_TMPDIR/b.req"
	[ "$status" -eq 3 ]
	[[ "$stderr" == *"a.req: $BATS_TEST_TMPDIR/no/such/a.sig: No such file or directory"* ]]
	[[ "$stderr" == *"b.req: denied (audit #$((before + 2)))"* ]]
	[ "$(audit_reason $((before + 1)))" = output-failed ]
	[ "$(audit_reason $((before + 2)))" = scope-not-allowed ]
}
