#!/usr/bin/env bats
# Keys in a PKCS#11 token (SPEC "Keys in a PKCS#11 token"), against the
# real SoftHSMv2: a throwaway token per test.  Token verbs, new and adopt,
# signatures that OpenSSH and OpenSSL accept, the same denials as keystore
# keys, states and destroy, every fault (exit 3, a record, no output), and
# 8 parallel clients through one agent.

load helper
load agent-mode
bats_require_minimum_version 1.5.0

SOFTHSM=/usr/lib/softhsm/libsofthsm2.so
# The test modules of t/p11/, built beside the unit tests.
P11_TEST="${ENF_UNIT:-$BATS_TEST_DIRNAME/../build/t/unit}/../p11"
FAULTY="$P11_TEST/libfaulty.so"

# make deps installs SoftHSMv2 and make builds the shim: one that is missing
# is a broken setup, which fails the test rather than skipping it.
need() { [ -f "$1" ] || { echo "$1 is missing: $2" >&2; return 1; }; }

setup() {
	need "$SOFTHSM" "make deps installs SoftHSMv2"
	common_setup
	make_instance
	export SOFTHSM2_CONF="$BATS_TEST_TMPDIR/softhsm2.conf"
	mkdir -p "$BATS_TEST_TMPDIR/tokens"
	printf 'directories.tokendir = %s\nobjectstore.backend = file\nlog.level = ERROR\n' \
		"$BATS_TEST_TMPDIR/tokens" >"$SOFTHSM2_CONF"
	softhsm2-util --init-token --free --label enf-test --pin 1234 --so-pin 5678 >/dev/null
	PIN="$BATS_TEST_TMPDIR/pin"
	printf '1234\n' >"$PIN"
	SSH="$BATS_TEST_TMPDIR/ssh"
	DATA="$BATS_TEST_TMPDIR/data"
	OUT="$BATS_TEST_TMPDIR/out.sig"
	printf 'release tarball bytes\n' >"$DATA"
	make_ssh_key ci
}

teardown() { stop_agent 2>/dev/null || true; }

EXTRA_RULES=()

p11() { pkcs11-tool --module "$SOFTHSM" --login --pin 1234 "$@" 2>/dev/null; }

token_add() { # [options]
	enf-keygen token add hsm --module "${MODULE:-$SOFTHSM}" --label enf-test --pin-file "$PIN" "$@"
}

key_id() { # KEY: its CKA_ID in hex
	enf-keygen list --json | jq -r --arg k "$1" 'select(.name == $k) | .backend.id'
}

# policy for key NAMEs (each: ci-bot, purpose release, scope artifact:*).
install_policy() {
	local k
	{
		echo "version 1"
		echo "policy token-1"
		echo "purpose release"
		echo "purpose firmware"
		echo "identity ci-bot $(cut -d' ' -f1,2 "$SSH/ci.pub")"
		for k in "$@"; do
			echo "rule r-$k key=$k identity=ci-bot purpose=release scope=artifact:*"
		done
		printf '%s\n' "${EXTRA_RULES[@]}"
	} >"$BATS_TEST_TMPDIR/policy.txt"
	enf-policy install "$BATS_TEST_TMPDIR/policy.txt" >/dev/null 2>&1
}

req() { # FILE KEY [enf-request options]
	local out=$1 key=$2
	shift 2
	enf-request -k "$key" -i ci-bot -p release -s artifact:tarball -r "r-$key" \
		--ssh-key "$SSH/ci" "$@" "$DATA" >"$out"
}

# a token key NAME of ALG, a policy for it, a request $REQ.
token_key() { # NAME ALG [request options]
	local name=$1 alg=$2
	shift 2
	enf-keygen new --token hsm --pin-file "$PIN" -a "$alg" -p release "$name" >/dev/null
	install_policy "$name"
	REQ="$BATS_TEST_TMPDIR/$name.req"
	req "$REQ" "$name" "$@"
}

last() { enf-audit show --json "$(audit_count)" | jq -r ".$1"; }

# expect_fail REQUEST MESSAGE: exit 3, the message on stderr, no output at
# all, one new record "fail sign-failed" whose detail says MESSAGE.
expect_fail() {
	local before
	before=$(audit_count)
	run --separate-stderr enf-sign -o "$OUT" "$1"
	[ "$status" -eq 3 ]
	[ -z "$output" ]
	[[ "$stderr" == *"$2"* ]]
	[ ! -e "$OUT" ]
	[ -z "$(ls -A "$BATS_TEST_TMPDIR" | grep -F out.sig)" ]
	[ "$(audit_count)" -eq $((before + 1)) ]
	[ "$(last outcome)" = fail ]
	[ "$(last reason)" = sign-failed ]
	[[ "$(last detail)" == *"$2"* ]]
}

expect_denied() { # REQUEST REASON
	local before
	before=$(audit_count)
	run --separate-stderr enf-sign -o "$OUT" "$1"
	[ "$status" -eq 1 ]
	[ -z "$output" ]
	[ ! -e "$OUT" ]
	[ "$(audit_count)" -eq $((before + 1)) ]
	[ "$(last reason)" = "$2" ]
}

verify_sshsig() { # KEY SIG
	echo "$1 $(enf-keygen pubkey "$1")" >"$BATS_TEST_TMPDIR/allowed"
	ssh-keygen -Y verify -n release -f "$BATS_TEST_TMPDIR/allowed" -I "$1" -s "$2" <"$DATA"
}

# ---- token verbs ----

@test "token add checks the token and its PIN, records it, and list shows it" {
	token_add
	run -0 enf-keygen token list
	[[ "$output" == hsm*enf-test*"$SOFTHSM" ]]
	run -0 enf-keygen token list --json
	[ "$(jq -r .label <<<"$output")" = enf-test ]
	[ "$(jq -r .module <<<"$output")" = "$SOFTHSM" ]
	# The serial is the token's own, found at add.
	serial=$(softhsm2-util --show-slots | awk '/Serial number:/ { s = $3 } /Label:.*enf-test/ { print s }')
	[ "$(jq -r .serial <<<"$output")" = "$serial" ]
	[ "$(last op)" = token-add ]
	[ "$(last outcome)" = ok ]
	# The PIN is sealed to the operator: no record holds it in clear.
	run ! grep -a -q 1234 <(record_get pin/hsm)
	[ -n "$(record_get pin/hsm)" ]
}

@test "token add refuses a wrong PIN, an absent token and a relative module path" {
	printf '9999\n' >"$BATS_TEST_TMPDIR/bad"
	run -3 enf-keygen token add hsm --module "$SOFTHSM" --label enf-test \
		--pin-file "$BATS_TEST_TMPDIR/bad"
	[[ "$output" == *"wrong token PIN"* ]]
	[ "$(last op)" = token-add ]
	[ "$(last outcome)" = fail ]
	run -3 enf-keygen token add hsm --module "$SOFTHSM" --label nosuch --pin-file "$PIN"
	[[ "$output" == *"no token labelled"* ]]
	run -2 enf-keygen token add hsm --module libsofthsm2.so --label enf-test --pin-file "$PIN"
	run -2 enf-keygen token add hsm --module "$SOFTHSM" --label enf-test
	[[ "$output" == *"--pin-file"* ]]
	[ -z "$(enf-keygen token list)" ]
}

@test "token remove is refused while a key uses it, and works once it is destroyed" {
	token_add
	enf-keygen new --token hsm --pin-file "$PIN" -p release tk >/dev/null
	run -1 enf-keygen token remove hsm
	[[ "$output" == *"holds key 'tk'"* ]]
	enf-keygen state --pin-file "$PIN" tk destroyed
	enf-keygen token remove hsm
	[ "$(last op)" = token-remove ]
	[ -z "$(enf-keygen token list)" ]
	[ -z "$(record_get pin/hsm)" ]
}

# ---- new and adopt ----

check_new() { # ALG
	token_add
	run -0 enf-keygen new --token hsm --pin-file "$PIN" -a "$1" -p release tk
	[[ "$output" == "$(enf-keygen pubkey tk)" ]]
	enf-keygen list | grep -q "^tk .* token:hsm$"
	[ "$(enf-keygen list --json | jq -r .backend.token)" = hsm ]
	[ "$(last op)" = new ]
	[[ "$(last detail)" == "$1 token=hsm id=$(key_id tk)" ]]
	id=$(key_id tk)
	# Generated inside: sensitive, never extractable; the private half
	# cannot be read, the public half is the keystore's.
	p11 --list-objects --type privkey | grep -A4 "ID: *$id" | grep -q "sensitive, always sensitive, never extractable"
	p11 --read-object --type privkey --id "$id" -o "$BATS_TEST_TMPDIR/priv" || true
	[ ! -s "$BATS_TEST_TMPDIR/priv" ]
	p11 --read-object --type pubkey --id "$id" -o "$BATS_TEST_TMPDIR/tokpub"
	enf-keygen pubkey --format pem tk >"$BATS_TEST_TMPDIR/pub.pem"
	if grep -q BEGIN "$BATS_TEST_TMPDIR/tokpub"; then
		cmp "$BATS_TEST_TMPDIR/tokpub" "$BATS_TEST_TMPDIR/pub.pem"
	else
		openssl pkey -pubin -in "$BATS_TEST_TMPDIR/pub.pem" -outform DER -out "$BATS_TEST_TMPDIR/pub.der"
		cmp "$BATS_TEST_TMPDIR/tokpub" "$BATS_TEST_TMPDIR/pub.der"
	fi
}

@test "new --token ed25519: generated in the token, not extractable, pubkey as the token's" {
	check_new ed25519
}

@test "new --token rsa3072: generated in the token, not extractable, pubkey as the token's" {
	check_new rsa3072
}

@test "new --token rsa4096: generated inside; its sshsig and its raw PKCS#1 (512 bytes) verify" {
	check_new rsa4096
	install_policy tk
	req "$BATS_TEST_TMPDIR/ssh.req" tk
	enf-sign -o "$BATS_TEST_TMPDIR/s1" "$BATS_TEST_TMPDIR/ssh.req"
	verify_sshsig tk "$BATS_TEST_TMPDIR/s1"
	req "$BATS_TEST_TMPDIR/raw.req" tk -f raw -a sha256
	enf-sign -o "$BATS_TEST_TMPDIR/s2" "$BATS_TEST_TMPDIR/raw.req"
	[ "$(wc -c <"$BATS_TEST_TMPDIR/s2")" -eq 512 ]
	enf-keygen pubkey --format pem tk >"$BATS_TEST_TMPDIR/key.pem"
	openssl dgst -sha256 -verify "$BATS_TEST_TMPDIR/key.pem" -signature "$BATS_TEST_TMPDIR/s2" "$DATA"
}

@test "new --token refuses ECDSA with the reason, and needs the PIN" {
	token_add
	before=$(audit_count)
	run -2 enf-keygen new --token hsm --pin-file "$PIN" -a ecdsa-p256 -p release tk
	[[ "$output" == *"non-deterministic"* ]]
	run -2 enf-keygen new --token hsm -p release tk
	run -1 enf-keygen new --token nosuch --pin-file "$PIN" -p release tk
	[ -z "$(enf-keygen list)" ]
	[ "$(p11 --list-objects --type privkey | grep -c 'Private Key Object')" -eq 0 ]
	[ "$(audit_count)" -eq "$before" ]
}

check_adopt() { # PKCS11-KEYTYPE ALG
	token_add
	p11 --keypairgen --key-type "$1" --id 0a0b --label outside --sensitive >/dev/null
	run -0 enf-keygen adopt --token hsm --id 0a0b --pin-file "$PIN" -a "$2" -p release tk
	[ "$(key_id tk)" = 0a0b ]
	[ "$(last op)" = adopt ]
	install_policy tk
	req "$BATS_TEST_TMPDIR/r" tk
	enf-sign -o "$OUT" "$BATS_TEST_TMPDIR/r"
	verify_sshsig tk "$OUT"
	# The same object twice is refused.
	run -1 enf-keygen adopt --token hsm --id 0a0b --pin-file "$PIN" -a "$2" -p release tk2
}

@test "adopt ed25519: an object made outside enf signs under its policy" {
	check_adopt EC:edwards25519 ed25519
}

@test "adopt rsa3072: an object made outside enf signs under its policy" {
	check_adopt rsa:3072 rsa3072
}

@test "adopt refuses a missing object, a wrong type, an extractable key and ECDSA" {
	token_add
	run -3 enf-keygen adopt --token hsm --id 99 --pin-file "$PIN" -p release tk
	p11 --keypairgen --key-type rsa:3072 --id 01 --label r --sensitive >/dev/null
	run -3 enf-keygen adopt --token hsm --id 01 --pin-file "$PIN" -a ed25519 -p release tk
	p11 --keypairgen --key-type EC:edwards25519 --id 02 --label x --extractable >/dev/null
	run -3 enf-keygen adopt --token hsm --id 02 --pin-file "$PIN" -a ed25519 -p release tk
	p11 --keypairgen --key-type EC:prime256v1 --id 03 --label e --sensitive >/dev/null
	run -2 enf-keygen adopt --token hsm --id 03 --pin-file "$PIN" -a ecdsa-p256 -p release tk
	[[ "$output" == *"non-deterministic"* ]]
	run -2 enf-keygen adopt --token hsm --id xyz --pin-file "$PIN" -p release tk
	run -2 enf-keygen adopt --token hsm --pin-file "$PIN" -p release tk
	[ -z "$(enf-keygen list)" ]
}

# ---- signing ----

@test "ed25519 token sshsig: byte-identical twice, ssh-keygen and enf-verify accept it" {
	token_add
	token_key tk ed25519
	enf-sign -o "$BATS_TEST_TMPDIR/s1" "$REQ"
	enf-sign -o "$BATS_TEST_TMPDIR/s2" "$REQ"
	cmp "$BATS_TEST_TMPDIR/s1" "$BATS_TEST_TMPDIR/s2"
	verify_sshsig tk "$BATS_TEST_TMPDIR/s1"
	enf-keygen pubkey tk >"$BATS_TEST_TMPDIR/pub"
	enf-verify -p release -k "$BATS_TEST_TMPDIR/pub" -s "$BATS_TEST_TMPDIR/s1" "$DATA"
	[ "$(last outcome)" = permit ]
	run ssh-keygen -Y verify -n firmware -f "$BATS_TEST_TMPDIR/allowed" -I tk \
		-s "$BATS_TEST_TMPDIR/s1" <"$DATA"
	[ "$status" -ne 0 ]
}

@test "rsa3072 token sshsig (rsa-sha2-512): deterministic, ssh-keygen accepts it" {
	token_add
	token_key tk rsa3072
	enf-sign -o "$BATS_TEST_TMPDIR/s1" "$REQ"
	enf-sign -o "$BATS_TEST_TMPDIR/s2" "$REQ"
	cmp "$BATS_TEST_TMPDIR/s1" "$BATS_TEST_TMPDIR/s2"
	verify_sshsig tk "$BATS_TEST_TMPDIR/s1"
	ssh-keygen -Y check-novalidate -n release -s "$BATS_TEST_TMPDIR/s1" <"$DATA"
	grep -v -- ----- "$BATS_TEST_TMPDIR/s1" | base64 -d | grep -a -q rsa-sha2-512
}

check_raw() { # HASH
	token_add
	token_key tk rsa3072 -f raw -a "$1"
	enf-sign -o "$BATS_TEST_TMPDIR/s1" "$REQ"
	enf-sign -o "$BATS_TEST_TMPDIR/s2" "$REQ"
	cmp "$BATS_TEST_TMPDIR/s1" "$BATS_TEST_TMPDIR/s2"
	[ "$(wc -c <"$BATS_TEST_TMPDIR/s1")" -eq 384 ]
	enf-keygen pubkey --format pem tk >"$BATS_TEST_TMPDIR/key.pem"
	openssl dgst "-$1" -verify "$BATS_TEST_TMPDIR/key.pem" -signature "$BATS_TEST_TMPDIR/s1" "$DATA"
	printf 'other\n' >"$BATS_TEST_TMPDIR/other"
	run openssl dgst "-$1" -verify "$BATS_TEST_TMPDIR/key.pem" -signature "$BATS_TEST_TMPDIR/s1" \
		"$BATS_TEST_TMPDIR/other"
	[ "$status" -ne 0 ]
}

@test "raw rsa3072 token (sha256): deterministic PKCS#1 that openssl dgst -verify accepts" {
	check_raw sha256
}

@test "raw rsa3072 token (sha512): deterministic PKCS#1 that openssl dgst -verify accepts" {
	check_raw sha512
}

@test "raw is refused for an Ed25519 token key, as for a keystore key" {
	token_add
	token_key tk ed25519 -f raw -a sha512
	enf-keygen new -p release ks >/dev/null
	install_policy tk ks
	req "$BATS_TEST_TMPDIR/ks.req" ks -f raw -a sha512
	run -1 enf-sign -o "$OUT" "$BATS_TEST_TMPDIR/ks.req"
	ks_reason=$(last reason)
	run -1 enf-sign -o "$OUT" "$REQ"
	[ ! -e "$OUT" ]
	[ "$(last reason)" = "$ks_reason" ]
}

@test "a batch (-d) signs many requests with one token session" {
	token_add
	token_key tk ed25519
	mkdir "$BATS_TEST_TMPDIR/out"
	for i in 1 2 3 4 5; do cp "$REQ" "$BATS_TEST_TMPDIR/r$i.req"; done
	enf-sign -d "$BATS_TEST_TMPDIR/out" "$BATS_TEST_TMPDIR"/r?.req
	for i in 1 2 3 4 5; do verify_sshsig tk "$BATS_TEST_TMPDIR/out/r$i.sig"; done
}

# ---- the same denials as keystore keys ----

@test "a token key is denied for another purpose or scope, as a keystore key" {
	token_add
	EXTRA_RULES=("rule fw key=tk identity=ci-bot purpose=firmware scope=artifact:*")
	token_key tk ed25519
	req "$BATS_TEST_TMPDIR/p" tk -p firmware -r fw
	expect_denied "$BATS_TEST_TMPDIR/p" key-lacks-purpose
	req "$BATS_TEST_TMPDIR/s" tk -s device:x
	expect_denied "$BATS_TEST_TMPDIR/s" scope-not-allowed
	req "$BATS_TEST_TMPDIR/i" tk -p firmware
	expect_denied "$BATS_TEST_TMPDIR/i" rule-purpose-mismatch
}

@test "deactivated and compromised token keys are denied; destroy removes the token object" {
	token_add
	token_key tk ed25519
	enf-keygen new --token hsm --pin-file "$PIN" -p release tk2 >/dev/null
	install_policy tk tk2
	req "$BATS_TEST_TMPDIR/r2" tk2
	id=$(key_id tk)
	enf-keygen state tk deactivated
	expect_denied "$REQ" key-not-active
	enf-keygen state tk2 compromised
	expect_denied "$BATS_TEST_TMPDIR/r2" key-not-active
	# destroyed needs the PIN (it destroys the object) ...
	run -2 enf-keygen state tk destroyed
	enf-keygen list | grep -q "^tk .* deactivated "
	p11 --list-objects | grep -q "ID: *$id"
	# ... and then the object is gone from the token, private and public.
	enf-keygen state --pin-file "$PIN" tk destroyed
	enf-keygen list | grep -q "^tk .* destroyed "
	run ! grep -q "ID: *$id" <(p11 --list-objects)
	expect_denied "$REQ" key-not-active
}

# ---- faults: exit 3, a record, no output, no crash, no retry ----

@test "fault: the module's file is gone" {
	cp "$SOFTHSM" "$BATS_TEST_TMPDIR/mod.so"
	MODULE="$BATS_TEST_TMPDIR/mod.so" token_add
	token_key tk ed25519
	rm "$BATS_TEST_TMPDIR/mod.so"
	expect_fail "$REQ" "cannot load PKCS#11 module"
}

@test "fault: the module's file is not a PKCS#11 module" {
	cp "$SOFTHSM" "$BATS_TEST_TMPDIR/mod.so"
	MODULE="$BATS_TEST_TMPDIR/mod.so" token_add
	token_key tk ed25519
	cp "$P11_TEST/libnotp11.so" "$BATS_TEST_TMPDIR/mod.so"
	expect_fail "$REQ" "is not a PKCS#11 module"
}

@test "fault: the token is absent, or another token has its label" {
	token_add
	token_key tk ed25519
	rm -rf "$BATS_TEST_TMPDIR/tokens"/*
	expect_fail "$REQ" "no token labelled 'enf-test'"
	# A new token under the same label is another token: its serial differs.
	softhsm2-util --init-token --free --label enf-test --pin 1234 --so-pin 5678 >/dev/null
	expect_fail "$REQ" "serial"
}

@test "fault: a wrong PIN is tried once, never again, in a batch of three" {
	need "$FAULTY" "make builds the fault shim (t/p11/)"
	export ENF_P11_REAL="$SOFTHSM"
	MODULE="$FAULTY" token_add
	token_key tk ed25519
	pkcs11-tool --module "$SOFTHSM" --login --pin 1234 --change-pin --new-pin 4321 >/dev/null 2>&1
	export ENF_P11_LOGINS="$BATS_TEST_TMPDIR/logins"
	expect_fail "$REQ" "wrong token PIN"
	[ "$(wc -l <"$ENF_P11_LOGINS")" -eq 1 ]
	rm "$ENF_P11_LOGINS"
	mkdir "$BATS_TEST_TMPDIR/out"
	for i in 1 2 3; do cp "$REQ" "$BATS_TEST_TMPDIR/r$i.req"; done
	before=$(audit_count)
	run -3 --separate-stderr enf-sign -d "$BATS_TEST_TMPDIR/out" "$BATS_TEST_TMPDIR"/r?.req
	[ "$(audit_count)" -eq $((before + 3)) ]
	[ -z "$(ls -A "$BATS_TEST_TMPDIR/out")" ]
	[ "$(grep -c "wrong token PIN" <<<"$stderr")" -eq 3 ]
	[ "$(wc -l <"$ENF_P11_LOGINS")" -eq 1 ]
}

@test "fault: the token object was deleted behind enf's back" {
	token_add
	token_key tk ed25519
	p11 --delete-object --type privkey --id "$(key_id tk)" >/dev/null
	expect_fail "$REQ" "with id $(key_id tk) on the token"
}

@test "fault: the token object was replaced by another key under the same id" {
	token_add
	token_key tk ed25519
	id=$(key_id tk)
	p11 --delete-object --type privkey --id "$id" >/dev/null
	p11 --delete-object --type pubkey --id "$id" >/dev/null
	p11 --keypairgen --key-type EC:edwards25519 --id "$id" --label tk --sensitive >/dev/null
	expect_fail "$REQ" "holds another key"
}

# The fault shim (t/p11/, built with the tests) in front of SoftHSMv2.
shim_key() { # ALG
	need "$FAULTY" "make builds the fault shim (t/p11/)"
	export ENF_P11_REAL="$SOFTHSM"
	MODULE="$FAULTY" token_add --timeout 2
	token_key tk "$1"
}

@test "fault: C_Sign fails" {
	shim_key ed25519
	ENF_P11_FAULT=sign-fails expect_fail "$REQ" "C_Sign failed"
}

@test "fault: the module hangs in C_Sign: the deadline ends it" {
	shim_key ed25519
	ENF_P11_FAULT=hang-sign expect_fail "$REQ" "timed out"
}

@test "fault: the module hangs in C_Initialize: the deadline ends it" {
	shim_key ed25519
	ENF_P11_FAULT=hang-init expect_fail "$REQ" "timed out"
}

@test "fault: a signature of the wrong length" {
	shim_key ed25519
	ENF_P11_FAULT=short-sig expect_fail "$REQ" "malformed signature"
}

@test "fault: the token says its PIN is locked" {
	shim_key ed25519
	ENF_P11_FAULT=pin-locked expect_fail "$REQ" "token PIN is locked"
}

@test "fault: the module reports no token at all" {
	shim_key ed25519
	ENF_P11_FAULT=no-token expect_fail "$REQ" "no token labelled 'enf-test'"
}

@test "fault: a signature that does not verify is never used" {
	shim_key ed25519
	ENF_P11_FAULT=bad-sig expect_fail "$REQ" "token returned an invalid signature"
}

# ---- through the agent ----

@test "agent: 8 parallel clients sign with one token key through one session" {
	need "$FAULTY" "make builds the fault shim (t/p11/)"
	# The shim only counts the logins here: one session, one login.
	export ENF_P11_REAL="$SOFTHSM" ENF_P11_LOGINS="$BATS_TEST_TMPDIR/logins"
	MODULE="$FAULTY" token_add
	token_key tk ed25519
	rm "$ENF_P11_LOGINS"
	start_agent
	before=$(audit_count)
	for i in $(seq 8); do
		ENF_AGENT_SOCK=$AGENT_SOCK enf-sign -o "$BATS_TEST_TMPDIR/p$i.sig" "$REQ" &
	done
	wait
	for i in $(seq 8); do
		cmp "$BATS_TEST_TMPDIR/p1.sig" "$BATS_TEST_TMPDIR/p$i.sig"
	done
	verify_sshsig tk "$BATS_TEST_TMPDIR/p1.sig"
	[ "$(audit_count)" -eq $((before + 8)) ]
	[ "$(wc -l <"$ENF_P11_LOGINS")" -eq 1 ]
	# The same bytes as in process.
	enf-sign -o "$BATS_TEST_TMPDIR/local.sig" "$REQ"
	cmp "$BATS_TEST_TMPDIR/p1.sig" "$BATS_TEST_TMPDIR/local.sig"
}

@test "agent: a batch of 40 and 8 parallel batches through one token session" {
	token_add
	token_key tk rsa3072
	start_agent
	for b in $(seq 8); do
		mkdir "$BATS_TEST_TMPDIR/o$b"
		for i in 1 2 3 4 5; do cp "$REQ" "$BATS_TEST_TMPDIR/o$b/r$i.req"; done
	done
	for b in $(seq 8); do
		ENF_AGENT_SOCK=$AGENT_SOCK enf-sign -d "$BATS_TEST_TMPDIR/o$b" "$BATS_TEST_TMPDIR/o$b"/r?.req &
	done
	wait
	for b in $(seq 8); do
		for i in 1 2 3 4 5; do verify_sshsig tk "$BATS_TEST_TMPDIR/o$b/r$i.sig"; done
	done
}

@test "agent: a token fault is exit 3, a record and no output, and the agent serves on" {
	cp "$SOFTHSM" "$BATS_TEST_TMPDIR/mod.so"
	MODULE="$BATS_TEST_TMPDIR/mod.so" token_add
	token_key tk ed25519
	enf-keygen new -p release ks >/dev/null
	install_policy tk ks
	req "$BATS_TEST_TMPDIR/ks.req" ks
	rm "$BATS_TEST_TMPDIR/mod.so"
	start_agent
	before=$(audit_count)
	run -3 --separate-stderr env ENF_AGENT_SOCK="$AGENT_SOCK" enf-sign -o "$OUT" "$REQ"
	[[ "$stderr" == *"cannot load PKCS#11 module"* ]]
	[ ! -e "$OUT" ]
	[ "$(audit_count)" -eq $((before + 1)) ]
	[ "$(last reason)" = sign-failed ]
	ENF_AGENT_SOCK=$AGENT_SOCK enf-sign -o "$OUT" "$BATS_TEST_TMPDIR/ks.req"
	[ -s "$OUT" ]
}

@test "agent: a token defined after the agent started is refused until it restarts" {
	enf-keygen new -p release ks >/dev/null
	start_agent
	# No token at the start: no broker process beside the agent.
	[ -z "$(pgrep -P "$AGENT_PID" -x enf-token-broke)" ]
	token_add
	token_key tk ed25519
	before=$(audit_count)
	run -3 --separate-stderr env ENF_AGENT_SOCK="$AGENT_SOCK" enf-sign -o "$OUT" "$REQ"
	[[ "$stderr" == *"restart the agent"* ]]
	[ ! -e "$OUT" ]
	[ "$(audit_count)" -eq $((before + 1)) ]
	[ "$(last reason)" = sign-failed ]
	stop_agent
	start_agent
	ENF_AGENT_SOCK=$AGENT_SOCK enf-sign -o "$OUT" "$REQ"
	verify_sshsig tk "$OUT"
}

@test "agent: a module that hangs is cut off by its deadline; the agent serves on" {
	shim_key ed25519
	enf-keygen new -p release ks >/dev/null
	install_policy tk ks
	req "$BATS_TEST_TMPDIR/ks.req" ks
	# The broker inherits the fault from the agent's environment.
	ENF_P11_FAULT=hang-sign start_agent
	before=$(audit_count)
	run -3 --separate-stderr env ENF_AGENT_SOCK="$AGENT_SOCK" enf-sign -o "$OUT" "$REQ"
	[[ "$stderr" == *"timed out"* ]]
	[ ! -e "$OUT" ]
	[ "$(audit_count)" -eq $((before + 1)) ]
	# The wedged session is not tried again: the next request fails at once.
	run -3 --separate-stderr env ENF_AGENT_SOCK="$AGENT_SOCK" enf-sign -o "$OUT" "$REQ"
	[[ "$stderr" == *"token wedged"* ]]
	[ ! -e "$OUT" ]
	ENF_AGENT_SOCK=$AGENT_SOCK enf-sign -o "$OUT" "$BATS_TEST_TMPDIR/ks.req"
	[ -s "$OUT" ]
}

# ---- the keystore's format ----

@test "a version 1 keystore (made before tokens) opens, and the first officer change writes version 2" {
	# t/keystore-v1: enf-keygen init + new -p release old, at ee61799, with
	# t/helper.bash's passphrases.
	rm -rf "$ENF_HOME"
	mkdir -m 0700 "$ENF_HOME"
	cp "$BATS_TEST_DIRNAME/keystore-v1/keystore" "$BATS_TEST_DIRNAME/keystore-v1/lockout" "$ENF_HOME/"
	chmod 0600 "$ENF_HOME"/*
	record_get gov | grep -a -q "enf-gov 1"
	enf-keygen list | grep -q "^old .* active .* release keystore$"
	enf-keygen new -p release new1 >/dev/null
	record_get gov | grep -a -q "enf-gov 2"
	[ "$(enf-keygen list | wc -l)" -eq 2 ]
	token_add
	[ "$(enf-keygen token list | wc -l)" -eq 1 ]
}
