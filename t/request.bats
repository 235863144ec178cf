#!/usr/bin/env bats
# enf-request: building, approving and showing requests; interoperability
# with plain ssh-keygen in both directions.

load helper
bats_require_minimum_version 1.5.0

setup() {
	common_setup
	SSH="$BATS_TEST_TMPDIR/ssh"
	DATA="$BATS_TEST_TMPDIR/data"
	printf 'some artifact\n' >"$DATA"
	make_ssh_key ci
}

teardown() {
	if [ -n "${SSH_AGENT_PID:-}" ]; then kill "$SSH_AGENT_PID" 2>/dev/null || true; fi
}

ARGS=(-k rel -i ci-bot -p release -s artifact:tarball -r rel)

# allowed_signers line for an SSH key of ours.
allow() { # PRINCIPAL NAME
	echo "$1 $(cut -d' ' -f1,2 "$SSH/$2.pub")"
}

@test "builds a request whose body lists the fields in order and the data's sha512" {
	run --separate-stderr enf-request "${ARGS[@]}" --ssh-key "$SSH/ci" "$DATA"
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	d=$(sha512sum <"$DATA" | cut -c1-128)
	expected=$(printf '%s\n' 'enf-request 1' 'key rel' 'identity ci-bot' 'purpose release' \
		'scope artifact:tarball' 'rule rel' 'format sshsig' "digest sha512 $d")
	[ "$(head -n 8 <<<"$output")" = "$expected" ]
	[ "$(sed -n 9p <<<"$output")" = "-----BEGIN SSH SIGNATURE-----" ]
	[ "$(tail -n 1 <<<"$output")" = "-----END SSH SIGNATURE-----" ]
}

@test "the requester's signature is an ssh-keygen SSHSIG over the body, namespace enf-request" {
	enf-request "${ARGS[@]}" --ssh-key "$SSH/ci" "$DATA" >"$BATS_TEST_TMPDIR/r"
	head -n 8 "$BATS_TEST_TMPDIR/r" >"$BATS_TEST_TMPDIR/body"
	sed -n '9,$p' "$BATS_TEST_TMPDIR/r" >"$BATS_TEST_TMPDIR/sig"
	allow ci-bot ci >"$BATS_TEST_TMPDIR/allowed"
	ssh-keygen -Y verify -n enf-request -f "$BATS_TEST_TMPDIR/allowed" -I ci-bot \
		-s "$BATS_TEST_TMPDIR/sig" <"$BATS_TEST_TMPDIR/body"
}

@test "-a sha256 and -f raw are written into the body" {
	enf-request "${ARGS[@]}" -a sha256 -f raw --unsigned "$DATA" >"$BATS_TEST_TMPDIR/r"
	grep -qx 'format raw' "$BATS_TEST_TMPDIR/r"
	grep -qx "digest sha256 $(sha256sum <"$DATA" | cut -c1-64)" "$BATS_TEST_TMPDIR/r"
}

@test "reads the data from stdin" {
	enf-request "${ARGS[@]}" --unsigned <"$DATA" >"$BATS_TEST_TMPDIR/a"
	enf-request "${ARGS[@]}" --unsigned - <"$DATA" >"$BATS_TEST_TMPDIR/b"
	enf-request "${ARGS[@]}" --unsigned "$DATA" >"$BATS_TEST_TMPDIR/c"
	cmp "$BATS_TEST_TMPDIR/a" "$BATS_TEST_TMPDIR/c"
	cmp "$BATS_TEST_TMPDIR/b" "$BATS_TEST_TMPDIR/c"
}

@test "hashes 300 MiB from a pipe streaming, in bounded memory, as sha256sum does" {
	mkfifo "$BATS_TEST_TMPDIR/fifo"
	enf-request "${ARGS[@]}" -a sha256 --unsigned "$BATS_TEST_TMPDIR/fifo" \
		>"$BATS_TEST_TMPDIR/r" &
	pid=$!
	exec 7>"$BATS_TEST_TMPDIR/fifo"
	head -c 300M /dev/zero >&7
	# Peak resident memory while all but the end of the data has gone through.
	hwm=$(awk '/^VmHWM:/ {print $2}' "/proc/$pid/status")
	exec 7>&-
	wait "$pid"
	[ "$hwm" -lt $((128 * 1024)) ]
	[ "$(tail -n 1 "$BATS_TEST_TMPDIR/r")" = \
		"digest sha256 $(head -c 300M /dev/zero | sha256sum | cut -c1-64)" ]
}

@test "hashes a large file as sha512sum does" {
	truncate -s 200M "$BATS_TEST_TMPDIR/big"
	printf 'tail' >>"$BATS_TEST_TMPDIR/big"
	run enf-request "${ARGS[@]}" --unsigned "$BATS_TEST_TMPDIR/big"
	[ "$status" -eq 0 ]
	[ "$(tail -n 1 <<<"$output")" = "digest sha512 $(sha512sum <"$BATS_TEST_TMPDIR/big" | cut -c1-128)" ]
}

@test "--digest is used verbatim and no data is read" {
	d=$(printf x | sha256sum | cut -c1-64)
	run enf-request "${ARGS[@]}" --digest "sha256:$d" --unsigned </dev/null
	[ "$status" -eq 0 ]
	[ "$(tail -n 1 <<<"$output")" = "digest sha256 $d" ]
}

@test "refuses a malformed --digest with exit 2 and prints nothing" {
	d=$(printf x | sha256sum | cut -c1-64)
	for bad in "sha256:${d^^}" "sha256:${d:1}" "sha384:$d" "sha512:$d" "$d" "sha256:${d}0"; do
		run --separate-stderr enf-request "${ARGS[@]}" --digest "$bad" --unsigned
		[ "$status" -eq 2 ]
		[ -z "$output" ]
	done
}

@test "refuses --digest together with a data file, or -a naming another algorithm" {
	d=$(printf x | sha256sum | cut -c1-64)
	run enf-request "${ARGS[@]}" --digest "sha256:$d" --unsigned "$DATA"
	[ "$status" -eq 2 ]
	run enf-request "${ARGS[@]}" -a sha512 --digest "sha256:$d" --unsigned
	[ "$status" -eq 2 ]
}

@test "--unsigned prints the bare body, which is what gets signed" {
	enf-request "${ARGS[@]}" --unsigned "$DATA" >"$BATS_TEST_TMPDIR/body"
	[ "$(wc -l <"$BATS_TEST_TMPDIR/body")" -eq 8 ]
	enf-request "${ARGS[@]}" --ssh-key "$SSH/ci" "$DATA" >"$BATS_TEST_TMPDIR/r"
	[ "$(head -n 8 "$BATS_TEST_TMPDIR/r")" = "$(cat "$BATS_TEST_TMPDIR/body")" ]
}

@test "wants exactly one of --ssh-key and --unsigned" {
	run enf-request "${ARGS[@]}" "$DATA"
	[ "$status" -eq 2 ]
	run enf-request "${ARGS[@]}" --unsigned --ssh-key "$SSH/ci" "$DATA"
	[ "$status" -eq 2 ]
}

@test "refuses missing fields and invalid names, scopes and formats with exit 2" {
	run --separate-stderr enf-request -k rel -i ci-bot -p release -s x --unsigned "$DATA"
	[ "$status" -eq 2 ]
	[ -z "$output" ]
	for bad in "-k Rel" "-i ci bot" "-p -x" "-s a*b" "-s a,b" "-r ../x" "-f pem" "-a sha384" \
		"-a md5" "-s $(printf 'a%.0s' {1..129})"; do
		# shellcheck disable=SC2086
		run --separate-stderr enf-request "${ARGS[@]}" $bad --unsigned "$DATA"
		[ "$status" -eq 2 ]
		[ -z "$output" ]
	done
}

@test "a data file that cannot be read exits 3 with nothing written" {
	run --separate-stderr enf-request "${ARGS[@]}" --unsigned -o "$BATS_TEST_TMPDIR/r" \
		"$BATS_TEST_TMPDIR/missing"
	[ "$status" -eq 3 ]
	[[ "$stderr" == *missing* ]]
	[ ! -e "$BATS_TEST_TMPDIR/r" ]
}

@test "an SSH key ssh-keygen cannot use exits 3 with nothing written" {
	run --separate-stderr enf-request "${ARGS[@]}" --ssh-key "$BATS_TEST_TMPDIR/nokey" \
		-o "$BATS_TEST_TMPDIR/r" "$DATA"
	[ "$status" -eq 3 ]
	[ -z "$output" ]
	[ ! -e "$BATS_TEST_TMPDIR/r" ]
	[ -z "$(ls "$BATS_TEST_TMPDIR" | grep '^r')" ]
}

@test "-o writes the request atomically" {
	enf-request "${ARGS[@]}" --ssh-key "$SSH/ci" -o "$BATS_TEST_TMPDIR/r" "$DATA"
	run enf-request show "$BATS_TEST_TMPDIR/r"
	[ "$status" -eq 0 ]
	[ "$(ls -A "$BATS_TEST_TMPDIR" | grep -c '^r')" -eq 1 ]
}

@test "signs with a key held by ssh-agent, given its public key file" {
	eval "$(ssh-agent -s -a "$BATS_TEST_TMPDIR/agent.sock")" >/dev/null
	ssh-add -q "$SSH/ci" 2>/dev/null
	mv "$SSH/ci" "$SSH/ci.away"
	run --separate-stderr enf-request "${ARGS[@]}" --ssh-key "$SSH/ci.pub" "$DATA"
	[ "$status" -eq 0 ]
	head -n 8 <<<"$output" >"$BATS_TEST_TMPDIR/body"
	sed -n '9,$p' <<<"$output" >"$BATS_TEST_TMPDIR/sig"
	allow ci-bot ci >"$BATS_TEST_TMPDIR/allowed"
	ssh-keygen -Y verify -n enf-request -f "$BATS_TEST_TMPDIR/allowed" -I ci-bot \
		-s "$BATS_TEST_TMPDIR/sig" <"$BATS_TEST_TMPDIR/body"
}

@test "approve appends one enf-approve signature over the same body" {
	make_ssh_key alice
	enf-request "${ARGS[@]}" --ssh-key "$SSH/ci" "$DATA" >"$BATS_TEST_TMPDIR/r"
	enf-request approve --ssh-key "$SSH/alice" "$BATS_TEST_TMPDIR/r" >"$BATS_TEST_TMPDIR/r2"
	n=$(wc -c <"$BATS_TEST_TMPDIR/r")
	cmp -n "$n" "$BATS_TEST_TMPDIR/r" "$BATS_TEST_TMPDIR/r2"
	[ "$(grep -c 'BEGIN SSH SIGNATURE' "$BATS_TEST_TMPDIR/r2")" -eq 2 ]
	tail -c +"$((n + 1))" "$BATS_TEST_TMPDIR/r2" >"$BATS_TEST_TMPDIR/approval"
	head -n 8 "$BATS_TEST_TMPDIR/r" >"$BATS_TEST_TMPDIR/body"
	allow alice alice >"$BATS_TEST_TMPDIR/allowed"
	ssh-keygen -Y verify -n enf-approve -f "$BATS_TEST_TMPDIR/allowed" -I alice \
		-s "$BATS_TEST_TMPDIR/approval" <"$BATS_TEST_TMPDIR/body"
}

@test "approve can rewrite the request in place with -o, and stacks approvals" {
	make_ssh_key alice
	make_ssh_key bob ecdsa
	enf-request "${ARGS[@]}" --ssh-key "$SSH/ci" -o "$BATS_TEST_TMPDIR/r" "$DATA"
	enf-request approve --ssh-key "$SSH/alice" -o "$BATS_TEST_TMPDIR/r" "$BATS_TEST_TMPDIR/r"
	enf-request approve --ssh-key "$SSH/bob" -o "$BATS_TEST_TMPDIR/r" - <"$BATS_TEST_TMPDIR/r"
	run enf-request show "$BATS_TEST_TMPDIR/r"
	[ "$status" -eq 0 ]
	[[ "$output" == *"approval 1"*ssh-ed25519* ]]
	[[ "$output" == *"approval 2"*ecdsa-sha2-nistp256* ]]
}

@test "approve refuses a malformed request with exit 1 and writes nothing" {
	make_ssh_key alice
	enf-request "${ARGS[@]}" --ssh-key "$SSH/ci" "$DATA" >"$BATS_TEST_TMPDIR/r"
	printf '\n' >>"$BATS_TEST_TMPDIR/r"
	run --separate-stderr enf-request approve --ssh-key "$SSH/alice" -o "$BATS_TEST_TMPDIR/out" \
		"$BATS_TEST_TMPDIR/r"
	[ "$status" -eq 1 ]
	[[ "$stderr" == *malformed* ]]
	[ ! -e "$BATS_TEST_TMPDIR/out" ]
	enf-request "${ARGS[@]}" --unsigned "$DATA" >"$BATS_TEST_TMPDIR/bare"
	run enf-request approve --ssh-key "$SSH/alice" "$BATS_TEST_TMPDIR/bare"
	[ "$status" -eq 1 ]
	[[ "$output" == *"no requester signature"* ]]
}

@test "approve refuses request-making options" {
	run enf-request approve --ssh-key "$SSH/ci" -k rel "$DATA"
	[ "$status" -eq 2 ]
	run enf-request approve "$DATA"
	[ "$status" -eq 2 ]
}

@test "show prints the fields, the request digest and each signer, unverified" {
	make_ssh_key alice
	enf-request "${ARGS[@]}" --ssh-key "$SSH/ci" "$DATA" >"$BATS_TEST_TMPDIR/r"
	enf-request approve --ssh-key "$SSH/alice" -o "$BATS_TEST_TMPDIR/r" "$BATS_TEST_TMPDIR/r"
	run --separate-stderr enf-request show "$BATS_TEST_TMPDIR/r"
	[ "$status" -eq 0 ]
	[[ "$output" == *"key            rel"* ]]
	[[ "$output" == *"scope          artifact:tarball"* ]]
	body_digest=$(head -n 8 "$BATS_TEST_TMPDIR/r" | sha256sum | cut -c1-64)
	[[ "$output" == *"request        sha256 $body_digest"* ]]
	fp_ci=$(ssh-keygen -l -f "$SSH/ci.pub" | cut -d' ' -f2)
	fp_alice=$(ssh-keygen -l -f "$SSH/alice.pub" | cut -d' ' -f2)
	[[ "$output" == *"requester      ssh-ed25519 $fp_ci (namespace enf-request"* ]]
	[[ "$output" == *"approval 1     ssh-ed25519 $fp_alice (namespace enf-approve"* ]]
	[[ "$output" == *"not verified here"* ]]
	[[ "$output" != *ci@test* ]]
}

@test "show accepts a bare body and refuses a malformed request" {
	enf-request "${ARGS[@]}" --unsigned "$DATA" >"$BATS_TEST_TMPDIR/bare"
	run enf-request show - <"$BATS_TEST_TMPDIR/bare"
	[ "$status" -eq 0 ]
	[[ "$output" == *"none (unsigned body)"* ]]
	sed 's/^key rel$/key  rel/' "$BATS_TEST_TMPDIR/bare" >"$BATS_TEST_TMPDIR/bad"
	run --separate-stderr enf-request show "$BATS_TEST_TMPDIR/bad"
	[ "$status" -eq 1 ]
	[ -z "$output" ]
	[[ "$stderr" == *"line 2"* ]]
	head -c 70000 /dev/zero | tr '\0' a >"$BATS_TEST_TMPDIR/huge"
	run enf-request show "$BATS_TEST_TMPDIR/huge"
	[ "$status" -eq 1 ]
	run enf-request show /dev/null
	[ "$status" -eq 1 ]
}

@test "a request made with ssh-keygen -Y sign alone is accepted by enf-sign" {
	make_instance
	make_ssh_key alice
	enf-keygen new -a ed25519 -p release rel >/dev/null
	cat >"$BATS_TEST_TMPDIR/policy" <<-EOF
	version 1
	policy plain
	purpose release
	identity ci-bot $(cut -d' ' -f1,2 "$SSH/ci.pub")
	identity alice $(cut -d' ' -f1,2 "$SSH/alice.pub")
	group approvers alice
	rule rel key=rel identity=ci-bot purpose=release scope=artifact:tarball approvals=1:approvers
	EOF
	enf-policy install "$BATS_TEST_TMPDIR/policy" >/dev/null 2>&1
	d=$(sha512sum <"$DATA" | cut -c1-128)
	printf '%s\n' 'enf-request 1' 'key rel' 'identity ci-bot' 'purpose release' \
		'scope artifact:tarball' 'rule rel' 'format sshsig' "digest sha512 $d" \
		>"$BATS_TEST_TMPDIR/body"
	ssh-keygen -q -Y sign -n enf-request -f "$SSH/ci" <"$BATS_TEST_TMPDIR/body" \
		>"$BATS_TEST_TMPDIR/req.sig"
	ssh-keygen -q -Y sign -n enf-approve -f "$SSH/alice" <"$BATS_TEST_TMPDIR/body" \
		>"$BATS_TEST_TMPDIR/alice.sig"
	cat "$BATS_TEST_TMPDIR/body" "$BATS_TEST_TMPDIR/req.sig" "$BATS_TEST_TMPDIR/alice.sig" \
		>"$BATS_TEST_TMPDIR/r"
	enf-sign -o "$BATS_TEST_TMPDIR/sig" "$BATS_TEST_TMPDIR/r"
	echo "rel $(enf-keygen pubkey rel)" >"$BATS_TEST_TMPDIR/allowed"
	ssh-keygen -Y verify -n release -f "$BATS_TEST_TMPDIR/allowed" -I rel \
		-s "$BATS_TEST_TMPDIR/sig" <"$DATA"
}

@test "enf-sign refuses a request or an approval whose signature was re-encoded (S + L)" {
	make_instance
	make_ssh_key alice
	enf-keygen new -a ed25519 -p release rel >/dev/null
	cat >"$BATS_TEST_TMPDIR/policy" <<-EOF
	version 1
	policy plain
	purpose release
	identity ci-bot $(cut -d' ' -f1,2 "$SSH/ci.pub")
	identity alice $(cut -d' ' -f1,2 "$SSH/alice.pub")
	group approvers alice
	rule rel key=rel identity=ci-bot purpose=release scope=artifact:tarball approvals=1:approvers
	EOF
	enf-policy install "$BATS_TEST_TMPDIR/policy" >/dev/null 2>&1
	enf-request "${ARGS[@]}" --unsigned "$DATA" >"$BATS_TEST_TMPDIR/body"
	ssh-keygen -q -Y sign -n enf-request -f "$SSH/ci" <"$BATS_TEST_TMPDIR/body" \
		>"$BATS_TEST_TMPDIR/req.sig"
	ssh-keygen -q -Y sign -n enf-approve -f "$SSH/alice" <"$BATS_TEST_TMPDIR/body" \
		>"$BATS_TEST_TMPDIR/alice.sig"
	for s in req alice; do
		"$BATS_TEST_DIRNAME/sshsig-reencode.py" s+L "$BATS_TEST_TMPDIR/$s.sig" \
			"$BATS_TEST_TMPDIR/$s.sl"
	done
	cd "$BATS_TEST_TMPDIR"
	cat body req.sig alice.sig >good
	cat body req.sl alice.sig >bad-request
	cat body req.sig alice.sl >bad-approval
	for r in bad-request:bad-signature bad-approval:bad-approval; do
		before=$(audit_count)
		run --separate-stderr enf-sign -o out.sig "${r%%:*}"
		[ "$status" -eq 1 ]
		[ ! -e out.sig ]
		[ "$(audit_count)" -eq $((before + 1)) ]
		[ "$(enf-audit show --json "$(audit_count)" | jq -r .reason)" = "${r#*:}" ]
	done
	run enf-sign -o out.sig good
	[ "$status" -eq 0 ]
	[ -s out.sig ]
}

@test "--help, --version, and usage errors" {
	run enf-request --help
	[ "$status" -eq 0 ]
	[[ "$output" == usage:* ]]
	run enf-request -h
	[ "$status" -eq 0 ]
	run enf-request --version
	[ "$status" -eq 0 ]
	[[ "$output" == "enf-request "[0-9]* ]]
	run enf-request --bogus
	[ "$status" -eq 2 ]
	run enf-request "${ARGS[@]}" --unsigned a b
	[ "$status" -eq 2 ]
	run enf-request show a b
	[ "$status" -eq 2 ]
}

# ---- enf-request verify ----

# A policy naming ci-bot (key ci), approvers alice and bob; installed when
# an instance exists.
verify_setup() {
	make_ssh_key alice
	make_ssh_key bob
	make_ssh_key mallory
	cat >"$BATS_TEST_TMPDIR/policy" <<-EOF2
	version 1
	policy verify-test
	purpose release
	identity ci-bot $(cat "$SSH/ci.pub")
	identity alice $(cat "$SSH/alice.pub")
	identity bob $(cat "$SSH/bob.pub")
	group managers alice bob
	rule rel key=rel identity=ci-bot purpose=release scope=artifact:tarball approvals=2:managers
	EOF2
	enf-request "${ARGS[@]}" --ssh-key "$SSH/ci" "$DATA" >"$BATS_TEST_TMPDIR/r"
	enf-request approve --ssh-key "$SSH/alice" "$BATS_TEST_TMPDIR/r" |
		enf-request approve --ssh-key "$SSH/bob" >"$BATS_TEST_TMPDIR/r2"
	P=(--policy "$BATS_TEST_TMPDIR/policy")
}

@test "verify checks every signature against the policy and the digest against the data" {
	verify_setup
	run --separate-stderr enf-request verify "${P[@]}" --data "$DATA" "$BATS_TEST_TMPDIR/r2"
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	[[ "$output" == *"digest         sha512 $(sha512sum <"$DATA" | cut -c1-128) (matches $DATA)"* ]]
	[[ "$output" == *"policy         verify-test (file $BATS_TEST_TMPDIR/policy)"* ]]
	grep -q "^requester      ci-bot: ssh-ed25519 $(ssh-keygen -lf "$SSH/ci.pub" | cut -d' ' -f2) good signature$" <<<"$output"
	grep -q "^approval 1     alice: ssh-ed25519 .* good signature$" <<<"$output"
	grep -q "^approval 2     bob: ssh-ed25519 .* good signature$" <<<"$output"
}

@test "verify uses the instance's installed policy with -H, and reads stdin" {
	verify_setup
	make_instance
	enf-policy install "$BATS_TEST_TMPDIR/policy" >/dev/null
	run enf-request verify -H "$ENF_HOME" --digest "sha512:$(sha512sum <"$DATA" | cut -c1-128)" - <"$BATS_TEST_TMPDIR/r2"
	[ "$status" -eq 0 ]
	[[ "$output" == *"policy         verify-test (installed in $ENF_HOME)"* ]]
	[[ "$output" == *"(matches --digest)"* ]]
}

@test "verify without data says the digest was not checked" {
	verify_setup
	run enf-request verify "${P[@]}" "$BATS_TEST_TMPDIR/r"
	[ "$status" -eq 0 ]
	[[ "$output" == *"(not checked: give --data FILE or --digest ALG:HEX)"* ]]
}

@test "verify rejects data that is not the request's" {
	verify_setup
	echo other >"$BATS_TEST_TMPDIR/other"
	run --separate-stderr enf-request verify "${P[@]}" --data "$BATS_TEST_TMPDIR/other" "$BATS_TEST_TMPDIR/r2"
	[ "$status" -eq 1 ]
	[ -z "$output" ]
	[[ "$stderr" == *"the request's digest does not match $BATS_TEST_TMPDIR/other"* ]]
	run enf-request verify "${P[@]}" --digest "sha512:$(printf '%0128d' 0)" "$BATS_TEST_TMPDIR/r2"
	[ "$status" -eq 1 ]
	run --separate-stderr enf-request verify "${P[@]}" --digest "sha256:$(sha256sum <"$DATA" | cut -c1-64)" "$BATS_TEST_TMPDIR/r2"
	[ "$status" -eq 1 ]
	[[ "$stderr" == *"--digest is sha256 but the request's digest is sha512"* ]]
}

@test "verify rejects a malformed request" {
	verify_setup
	sed 's/^scope .*/scope  two-spaces/' "$BATS_TEST_TMPDIR/r2" >"$BATS_TEST_TMPDIR/bad"
	run --separate-stderr enf-request verify "${P[@]}" "$BATS_TEST_TMPDIR/bad"
	[ "$status" -eq 1 ]
	[ -z "$output" ]
	[[ "$stderr" == *"malformed request"* ]]
	enf-request "${ARGS[@]}" --unsigned "$DATA" >"$BATS_TEST_TMPDIR/bare"
	run enf-request verify "${P[@]}" "$BATS_TEST_TMPDIR/bare"
	[ "$status" -eq 1 ]
}

@test "verify rejects a requester the policy does not name" {
	verify_setup
	enf-request -k rel -i nobody -p release -s artifact:tarball -r rel --ssh-key "$SSH/ci" "$DATA" >"$BATS_TEST_TMPDIR/x"
	run --separate-stderr enf-request verify "${P[@]}" "$BATS_TEST_TMPDIR/x"
	[ "$status" -eq 1 ]
	[[ "$stderr" == *"unknown-identity: identity 'nobody' is not in policy 'verify-test'"* ]]
}

@test "verify rejects a request signed with another key than the identity's" {
	verify_setup
	enf-request "${ARGS[@]}" --ssh-key "$SSH/mallory" "$DATA" >"$BATS_TEST_TMPDIR/x"
	run --separate-stderr enf-request verify "${P[@]}" "$BATS_TEST_TMPDIR/x"
	[ "$status" -eq 1 ]
	[ -z "$output" ]
	[[ "$stderr" == *"bad-signature: "* ]]
}

@test "verify rejects an approval by a key that is no identity of the policy" {
	verify_setup
	enf-request approve --ssh-key "$SSH/mallory" "$BATS_TEST_TMPDIR/r" >"$BATS_TEST_TMPDIR/x"
	run --separate-stderr enf-request verify "${P[@]}" "$BATS_TEST_TMPDIR/x"
	[ "$status" -eq 1 ]
	[[ "$stderr" == *"bad-approval: approval 1 is signed by SHA256:"*"which is no identity"* ]]
}

@test "verify rejects an approval made over another request" {
	verify_setup
	echo other >"$BATS_TEST_TMPDIR/other"
	enf-request "${ARGS[@]}" --ssh-key "$SSH/ci" "$BATS_TEST_TMPDIR/other" |
		enf-request approve --ssh-key "$SSH/alice" | sed -n '/^-----BEGIN/,$p' | sed '1,/^-----END/d' >"$BATS_TEST_TMPDIR/foreign"
	cat "$BATS_TEST_TMPDIR/r" "$BATS_TEST_TMPDIR/foreign" >"$BATS_TEST_TMPDIR/x"
	run --separate-stderr enf-request verify "${P[@]}" "$BATS_TEST_TMPDIR/x"
	[ "$status" -eq 1 ]
	[[ "$stderr" == *"bad-approval: approval 1 by 'alice' does not verify over this request"* ]]
}

@test "verify refuses an installed policy that no longer matches its digest, or none" {
	verify_setup
	make_instance
	run --separate-stderr enf-request verify -H "$ENF_HOME" "$BATS_TEST_TMPDIR/r2"
	[ "$status" -eq 3 ]
	[[ "$stderr" == *"no policy is installed"* ]]
	enf-policy install "$BATS_TEST_TMPDIR/policy" >/dev/null
	echo "# edited" >>"$ENF_HOME/policy"
	run --separate-stderr enf-request verify -H "$ENF_HOME" "$BATS_TEST_TMPDIR/r2"
	[ "$status" -eq 1 ]
	[ -z "$output" ]
	[[ "$stderr" == *"does not match the digest recorded at install"* ]]
}

@test "verify: an invalid policy file is 1, unreadable files are 3, bad options are 2" {
	verify_setup
	echo "version 1" >"$BATS_TEST_TMPDIR/nopolicy"
	echo "bogus" >>"$BATS_TEST_TMPDIR/nopolicy"
	run enf-request verify --policy "$BATS_TEST_TMPDIR/nopolicy" "$BATS_TEST_TMPDIR/r2"
	[ "$status" -eq 1 ]
	run enf-request verify "${P[@]}" "$BATS_TEST_TMPDIR/missing"
	[ "$status" -eq 3 ]
	run enf-request verify --policy "$BATS_TEST_TMPDIR/missing" "$BATS_TEST_TMPDIR/r2"
	[ "$status" -eq 3 ]
	run enf-request verify "${P[@]}" --data "$BATS_TEST_TMPDIR/missing" "$BATS_TEST_TMPDIR/r2"
	[ "$status" -eq 3 ]
	run enf-request verify "${P[@]}" --data "$DATA" --digest "sha512:00" "$BATS_TEST_TMPDIR/r2"
	[ "$status" -eq 2 ]
	run enf-request verify "${P[@]}" -H "$ENF_HOME" "$BATS_TEST_TMPDIR/r2"
	[ "$status" -eq 2 ]
	run enf-request verify "${P[@]}" --ssh-key "$SSH/ci" "$BATS_TEST_TMPDIR/r2"
	[ "$status" -eq 2 ]
	run enf-request "${ARGS[@]}" --unsigned --data "$DATA"
	[ "$status" -eq 2 ]
}

@test "verify marks a repeated approver, whose approval counts once" {
	verify_setup
	enf-request approve --ssh-key "$SSH/alice" "$BATS_TEST_TMPDIR/r" |
		enf-request approve --ssh-key "$SSH/alice" >"$BATS_TEST_TMPDIR/x"
	run enf-request verify "${P[@]}" "$BATS_TEST_TMPDIR/x"
	[ "$status" -eq 0 ]
	grep -q "^approval 2     alice: .* good signature (again: counts once)$" <<<"$output"
}
