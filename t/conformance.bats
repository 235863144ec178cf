#!/usr/bin/env bats
# Conformance to the enforcement draft: tests for the MUST and SHOULD
# sentences that no other file's test proves on its own (t/conformance.tsv
# maps every sentence to its tests; make conformance prints the table).
# Requests here are built line by line and signed with ssh-keygen -Y sign,
# so that a request can lack, repeat or change any one input.

load helper
bats_require_minimum_version 1.5.0

setup() {
	common_setup
	make_instance
	SSH="$BATS_TEST_TMPDIR/ssh"
	DATA="$BATS_TEST_TMPDIR/data"
	OUT="$BATS_TEST_TMPDIR/out.sig"
	printf 'release tarball bytes\n' >"$DATA"
	enf-keygen new -a ed25519 -p release rel >/dev/null
	enf-keygen new -a ecdsa-p256 -p release rel-ec >/dev/null
	enf-keygen pubkey rel >"$BATS_TEST_TMPDIR/rel.pub"
	make_ssh_key ci
	cat >"$BATS_TEST_TMPDIR/policy.txt" <<-EOF
	version 1
	policy conf-1
	purpose release
	identity ci-bot $(cut -d' ' -f1,2 "$SSH/ci.pub")
	rule rel key=rel identity=ci-bot purpose=release scope=artifact:tarball
	rule rel-ec key=rel-ec identity=ci-bot purpose=release scope=artifact:tarball
	EOF
	enf-policy install "$BATS_TEST_TMPDIR/policy.txt" >/dev/null 2>&1
}

# The canonical body's lines for rule rel over $DATA (or the file given).
body_lines() { # [DATAFILE]
	local d
	d=$(sha512sum <"${1:-$DATA}" | cut -c1-128)
	printf '%s\n' 'enf-request 1' 'key rel' 'identity ci-bot' 'purpose release' \
		'scope artifact:tarball' 'rule rel' 'format sshsig' "digest sha512 $d"
}

# A request: the body on stdin, signed by ci-bot with ssh-keygen alone.
signed_request() { # OUTFILE < BODY
	cat >"$1.body"
	ssh-keygen -q -Y sign -n enf-request -f "$SSH/ci" <"$1.body" >"$1.sig"
	cat "$1.body" "$1.sig" >"$1"
}

last_reason() { enf-audit show --json | tail -n 1 | jq -r .reason; }

# Exit 1, the one generic line, no output file, one new record with REASON.
expect_denied() { # REQUEST REASON
	local before
	before=$(audit_count)
	rm -f "$OUT"
	run --separate-stderr enf-sign -o "$OUT" "$1"
	echo "status=$status stderr=$stderr reason=$(last_reason)"
	[ "$status" -eq 1 ]
	[[ "$stderr" =~ ^enf-sign:\ denied\ \(audit\ \#[0-9]+\)$ ]]
	[ ! -e "$OUT" ]
	[ "$(audit_count)" -eq $((before + 1)) ]
	[ "$(last_reason)" = "$2" ]
}

@test "a request lacking any one of its required inputs is denied as malformed, never completed" {
	for n in 1 2 3 4 5 6 7 8; do
		body_lines | sed "${n}d" | signed_request "$BATS_TEST_TMPDIR/r$n"
		expect_denied "$BATS_TEST_TMPDIR/r$n" malformed-request
	done
}

@test "a request with an input given twice, or an empty value, is denied as malformed (ambiguity)" {
	body_lines | sed '2p' | signed_request "$BATS_TEST_TMPDIR/twice"
	expect_denied "$BATS_TEST_TMPDIR/twice" malformed-request
	body_lines | sed 's/^scope .*/scope /' | signed_request "$BATS_TEST_TMPDIR/empty"
	expect_denied "$BATS_TEST_TMPDIR/empty" malformed-request
	body_lines | sed 's/^key rel$/key  rel/' | signed_request "$BATS_TEST_TMPDIR/spaces"
	expect_denied "$BATS_TEST_TMPDIR/spaces" malformed-request
}

@test "changing any one input after signing invalidates the request" {
	local -a edits=('s/^key rel$/key rel-ec/' 's/^identity ci-bot$/identity ci-bob/'
		's/^purpose release$/purpose firmware/' 's/^scope artifact:tarball$/scope artifact:deb/'
		's/^rule rel$/rule rel-ec/' 's/^format sshsig$/format raw/' 's/^digest sha512 ./digest sha512 0/')
	body_lines | signed_request "$BATS_TEST_TMPDIR/good"
	for e in "${edits[@]}"; do
		sed "1,8{$e}" "$BATS_TEST_TMPDIR/good" >"$BATS_TEST_TMPDIR/edited"
		run cmp -s "$BATS_TEST_TMPDIR/good" "$BATS_TEST_TMPDIR/edited"
		[ "$status" -ne 0 ]
		run enf-sign -o "$OUT" "$BATS_TEST_TMPDIR/edited"
		echo "$e: $status $(last_reason)"
		[ "$status" -eq 1 ]
		[ ! -e "$OUT" ]
		[[ "$(last_reason)" =~ ^(bad-signature|unknown-identity)$ ]]
	done
	run enf-sign -o "$OUT" "$BATS_TEST_TMPDIR/good"
	[ "$status" -eq 0 ]
}

@test "the fixed order: structure is judged before authenticity, authenticity before policy" {
	# Malformed, unsigned by a known key and out of scope at once: malformed.
	body_lines | sed 's/^scope .*/scope artifact:deb /' | signed_request "$BATS_TEST_TMPDIR/all"
	expect_denied "$BATS_TEST_TMPDIR/all" malformed-request
	# Well formed but signed by another key, and out of scope: bad signature.
	make_ssh_key eve
	body_lines | sed 's/^scope .*/scope artifact:deb/' >"$BATS_TEST_TMPDIR/b.body"
	ssh-keygen -q -Y sign -n enf-request -f "$SSH/eve" <"$BATS_TEST_TMPDIR/b.body" \
		>"$BATS_TEST_TMPDIR/b.sig"
	cat "$BATS_TEST_TMPDIR/b.body" "$BATS_TEST_TMPDIR/b.sig" >"$BATS_TEST_TMPDIR/b"
	expect_denied "$BATS_TEST_TMPDIR/b" bad-signature
	# Authentic, out of scope, for a deactivated key: the rule's scope first.
	enf-keygen state rel deactivated
	body_lines | sed 's/^scope .*/scope artifact:deb/' | signed_request "$BATS_TEST_TMPDIR/c"
	expect_denied "$BATS_TEST_TMPDIR/c" scope-not-allowed
	# The same request through stdin meets the same order.
	run enf-sign -o "$OUT" - <"$BATS_TEST_TMPDIR/c"
	[ "$status" -eq 1 ]
	[ "$(last_reason)" = scope-not-allowed ]
	body_lines | signed_request "$BATS_TEST_TMPDIR/d"
	expect_denied "$BATS_TEST_TMPDIR/d" key-not-active
}

@test "environment, clock zone, locale, working directory and transport change neither decision nor bytes" {
	body_lines | signed_request "$BATS_TEST_TMPDIR/r"
	enf-sign -o "$BATS_TEST_TMPDIR/a.sig" "$BATS_TEST_TMPDIR/r"
	TZ=Pacific/Kiritimati LC_ALL=C.UTF-8 ENF_FOO=permit USER=root enf-sign \
		-o "$BATS_TEST_TMPDIR/b.sig" "$BATS_TEST_TMPDIR/r"
	(cd / && enf-sign <"$BATS_TEST_TMPDIR/r" >"$BATS_TEST_TMPDIR/c.sig")
	cat "$BATS_TEST_TMPDIR/r" | enf-sign - >"$BATS_TEST_TMPDIR/d.sig"
	cmp "$BATS_TEST_TMPDIR/a.sig" "$BATS_TEST_TMPDIR/b.sig"
	cmp "$BATS_TEST_TMPDIR/a.sig" "$BATS_TEST_TMPDIR/c.sig"
	cmp "$BATS_TEST_TMPDIR/a.sig" "$BATS_TEST_TMPDIR/d.sig"
	# And a denial stays a denial under any of them.
	body_lines | sed 's/^scope .*/scope artifact:deb/' | signed_request "$BATS_TEST_TMPDIR/n"
	run env TZ=UTC LC_ALL=C ENF_FOO=permit enf-sign -o "$OUT" "$BATS_TEST_TMPDIR/n"
	[ "$status" -eq 1 ]
	[ ! -e "$OUT" ]
}

@test "the payload is opaque: any bytes sign and verify exactly, and no normalised variant verifies" {
	printf 'line one\r\nline two  \n\t\0\0binary\xff' >"$BATS_TEST_TMPDIR/odd"
	body_lines "$BATS_TEST_TMPDIR/odd" | signed_request "$BATS_TEST_TMPDIR/r"
	enf-sign -o "$OUT" "$BATS_TEST_TMPDIR/r"
	enf-verify -p release -k "$BATS_TEST_TMPDIR/rel.pub" -s "$OUT" "$BATS_TEST_TMPDIR/odd"
	tr -d '\r' <"$BATS_TEST_TMPDIR/odd" >"$BATS_TEST_TMPDIR/lf"
	run enf-verify -p release -k "$BATS_TEST_TMPDIR/rel.pub" -s "$OUT" "$BATS_TEST_TMPDIR/lf"
	[ "$status" -eq 1 ]
	sed 's/ *$//' "$BATS_TEST_TMPDIR/odd" >"$BATS_TEST_TMPDIR/trim"
	run enf-verify -p release -k "$BATS_TEST_TMPDIR/rel.pub" -s "$OUT" "$BATS_TEST_TMPDIR/trim"
	[ "$status" -eq 1 ]
}

@test "every denial reason shows the caller the same one line; the reason is only in the log" {
	local -a reasons=()
	body_lines | sed 's/^scope .*/scope artifact:deb/' | signed_request "$BATS_TEST_TMPDIR/scope"
	body_lines | sed 's/^rule rel$/rule nope/' | signed_request "$BATS_TEST_TMPDIR/rule"
	body_lines | sed 's/^identity ci-bot$/identity nobody/' | signed_request "$BATS_TEST_TMPDIR/ident"
	body_lines | sed '3d' | signed_request "$BATS_TEST_TMPDIR/malformed"
	for r in scope rule ident malformed; do
		run --separate-stderr enf-sign -o "$OUT" "$BATS_TEST_TMPDIR/$r"
		[ "$status" -eq 1 ]
		[ -z "$output" ]
		[[ "$stderr" =~ ^enf-sign:\ denied\ \(audit\ \#[0-9]+\)$ ]]
		reasons+=("$(last_reason)")
	done
	# Four different reasons behind four identical lines.
	[ "$(printf '%s\n' "${reasons[@]}" | sort -u | wc -l)" -eq 4 ]
}

@test "a denial is deterministic and without side effects: same exit and line, keystore and policy unchanged, one record" {
	body_lines | sed 's/^scope .*/scope artifact:deb/' | signed_request "$BATS_TEST_TMPDIR/n"
	printf 'keep me\n' >"$OUT"
	before=$(cat "$ENF_HOME/keystore" "$ENF_HOME/policy" | sha256sum)
	for i in 1 2 3; do
		count=$(audit_count)
		run --separate-stderr enf-sign -o "$OUT" "$BATS_TEST_TMPDIR/n"
		[ "$status" -eq 1 ]
		[[ "$stderr" =~ ^enf-sign:\ denied ]]
		[ "$(audit_count)" -eq $((count + 1)) ]
		[ "$(last_reason)" = scope-not-allowed ]
	done
	[ "$(cat "$OUT")" = "keep me" ]
	[ "$(cat "$ENF_HOME/keystore" "$ENF_HOME/policy" | sha256sum)" = "$before" ]
	[ -z "$(find "$BATS_TEST_TMPDIR" "$ENF_HOME" -name '*.tmp*')" ]
}

@test "audit records of a permit and a denial name time, key, identity, purpose, scope, rule, policy, outcome and reason" {
	body_lines | signed_request "$BATS_TEST_TMPDIR/r"
	enf-sign -o "$OUT" "$BATS_TEST_TMPDIR/r"
	p=$(enf-audit show --json | tail -n 1)
	body_lines | sed 's/^scope .*/scope artifact:deb/' | signed_request "$BATS_TEST_TMPDIR/n"
	run enf-sign -o "$OUT.2" "$BATS_TEST_TMPDIR/n"
	d=$(enf-audit show --json | tail -n 1)
	digest=$(head -n 8 "$BATS_TEST_TMPDIR/r" | sha256sum | cut -d' ' -f1)
	policy=$(enf-policy digest "$BATS_TEST_TMPDIR/policy.txt")
	[ "$(jq -r '[.key,.identity,.purpose,.scope,.rule,.policy,.outcome,.reason] | join(" ")' <<<"$p")" = \
		"rel ci-bot release artifact:tarball rel conf-1 permit permit" ]
	[ "$(jq -r .request_digest <<<"$p")" = "$digest" ]
	[[ "$policy" == *"$(jq -r .policy_digest <<<"$p")"* ]]
	[[ "$(jq -r .time <<<"$p")" =~ ^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}Z$ ]]
	[ "$(jq -r '[.key,.identity,.scope,.outcome,.reason] | join(" ")' <<<"$d")" = \
		"rel ci-bot artifact:deb deny scope-not-allowed" ]
}

@test "the payload and the private key never reach the log; the log is private" {
	printf 'PAYLOAD-MARKER-%s\n' "$RANDOM$RANDOM" >"$BATS_TEST_TMPDIR/secret"
	body_lines "$BATS_TEST_TMPDIR/secret" | signed_request "$BATS_TEST_TMPDIR/r"
	enf-sign -o "$OUT" "$BATS_TEST_TMPDIR/r"
	enf-seal seal -o "$BATS_TEST_TMPDIR/s" "$BATS_TEST_TMPDIR/secret"
	enf-seal open -o "$BATS_TEST_TMPDIR/o" "$BATS_TEST_TMPDIR/s"
	run grep -c PAYLOAD-MARKER "$ENF_HOME/audit.log"
	[ "$output" = 0 ]
	run grep -ci 'private\|BEGIN OPENSSH' "$ENF_HOME/audit.log"
	[ "$output" = 0 ]
	[ "$(stat -c %a "$ENF_HOME/audit.log")" = 600 ]
}

@test "audit state takes no part in a decision: a deleted, emptied or tampered log changes nothing" {
	body_lines | signed_request "$BATS_TEST_TMPDIR/r"
	body_lines | sed 's/^scope .*/scope artifact:deb/' | signed_request "$BATS_TEST_TMPDIR/n"
	enf-sign -o "$BATS_TEST_TMPDIR/ref.sig" "$BATS_TEST_TMPDIR/r"
	for damage in delete empty tamper; do
		case $damage in
		delete) rm -f "$ENF_HOME/audit.log" "$ENF_HOME/audit.head" ;;
		empty) : >"$ENF_HOME/audit.log" ;;
		tamper) printf 'enf-audit-1 seq=1 outcome=permit forged\n' >>"$ENF_HOME/audit.log" ;;
		esac
		run enf-sign -o "$OUT" "$BATS_TEST_TMPDIR/r"
		echo "$damage: $status"
		[ "$status" -eq 0 ]
		cmp "$OUT" "$BATS_TEST_TMPDIR/ref.sig"
		rm -f "$OUT"
		run enf-sign -o "$OUT" "$BATS_TEST_TMPDIR/n"
		[ "$status" -eq 1 ]
		[ ! -e "$OUT" ]
	done
}

@test "each instance has its own identity, and sealed data and audit records carry it" {
	enf-keygen -H "$BATS_TEST_TMPDIR/other" init --argon2 1:8192:1 >/dev/null
	a=$(enf-keygen instance | ssh-keygen -lf - | cut -d' ' -f2)
	b=$(enf-keygen -H "$BATS_TEST_TMPDIR/other" instance | ssh-keygen -lf - | cut -d' ' -f2)
	[ -n "$a" ]
	[ "$a" != "$b" ]
	enf-seal seal -o "$BATS_TEST_TMPDIR/s" "$DATA"
	enf-seal open -o "$BATS_TEST_TMPDIR/o" "$BATS_TEST_TMPDIR/s"
	enf-seal info "$BATS_TEST_TMPDIR/s" | grep -qF "$a"
	[ "$(enf-audit show --json | jq -r 'select(.op == "seal" or .op == "open") | .instance' | sort -u)" = "$a" ]
}

@test "the table quotes every MUST and SHOULD sentence of the draft, each once, each with a test" {
	# The repository's CI has the draft in a sibling shared/ directory.
	for d in "$BATS_TEST_DIRNAME/../.." "$BATS_TEST_DIRNAME/../../.."; do
		draft=$d/shared/reference/softhsm-enforcement-rules-draft.txt
		[ -f "$draft" ] && break
	done
	run "$BATS_TEST_DIRNAME/conformance.sh" --check-draft "$draft" "$BATS_TEST_DIRNAME/conformance.tsv"
	echo "$output"
	[ "$status" -eq 0 ]
}
