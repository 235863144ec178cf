#!/usr/bin/env bats
# Start-up self-tests: builds in which one known-answer vector is corrupted
# (make selftest-corrupt: -DENF_SELFTEST_CORRUPT, never in the product) must
# stop with exit 3 naming the primitive, before any secret is touched and
# before anything is written.  ENF_SELFTEST_BIN: DIR/NAME/enf-{keygen,sign}.

load ../helper

setup() {
	common_setup
	: "${ENF_SELFTEST_BIN:?set by make selftest-corrupt}"
}

fast="sha-256 sha-384 sha-512 hmac-sha256 hkdf-sha256 aes-256-gcm argon2id x25519 rsa-pkcs1"
signing="ed25519 ecdsa-p256 ecdsa-p384"

@test "the product build passes every self-test" {
	run enf-keygen init --argon2 1:8192:1
	[ "$status" -eq 0 ]
	[ -f "$ENF_HOME/keystore" ]
}

@test "a corrupted fast-tier vector stops enf-sign before it reads anything (exit 3, named)" {
	for p in $fast; do
		printf 'not a request\n' >"$BATS_TEST_TMPDIR/req"
		run "$ENF_SELFTEST_BIN/$p/enf-sign" "$BATS_TEST_TMPDIR/req"
		echo "$p: $status $output"
		[ "$status" -eq 3 ]
		[ "$output" = "enf-sign: self-test failed: $p" ]
	done
}

@test "a corrupted vector of any primitive stops enf-keygen init before it writes (exit 3, named)" {
	for p in $fast $signing; do
		run "$ENF_SELFTEST_BIN/$p/enf-keygen" init --argon2 1:8192:1
		echo "$p: $status $output"
		[ "$status" -eq 3 ]
		[ "$output" = "enf-keygen: self-test failed: $p" ]
		[ ! -e "$ENF_HOME" ]
	done
}

@test "a corrupted signing-tier vector stops enf-sign at the first secret, before a signature or a record" {
	make_instance
	enf-keygen new -p release rel >/dev/null
	before=$(audit_count)
	printf 'x\n' >"$BATS_TEST_TMPDIR/req"
	for p in $signing; do
		run "$ENF_SELFTEST_BIN/$p/enf-sign" -o "$BATS_TEST_TMPDIR/sig" "$BATS_TEST_TMPDIR/req"
		echo "$p: $status $output"
		[ "$status" -eq 3 ]
		[ "$output" = "enf-sign: self-test failed: $p" ]
		[ ! -e "$BATS_TEST_TMPDIR/sig" ]
		[ "$(audit_count)" -eq "$before" ]
	done
}
