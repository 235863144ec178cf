#!/usr/bin/env bats
# enf-audit and the audit log: chain, signatures, head, anchors, tampering,
# parallel appends, crashes mid-append.

load helper

setup() {
	common_setup
	: "${ENF_UNIT:=$BATS_TEST_DIRNAME/../build/t/unit}"
	APPENDER="$ENF_UNIT/audit"
	SEED=0202020202020202020202020202020202020202020202020202020202020202
}

LOG() { echo "$ENF_HOME/audit.log"; }

# An instance with records 1 (init), 2 and 3 (new k1, k2), all signed.
three_records() {
	make_instance
	enf-keygen new -p release k1 >/dev/null
	enf-keygen new -p release,docs k2 >/dev/null
}

# Recompute prev and hash of every line (signatures kept as they are), as a
# forger who knows the format but not the instance key would.
rechain() { # FILE
	local prev=0000000000000000000000000000000000000000000000000000000000000000
	local line body h sig
	while IFS= read -r line; do
		body=${line%% hash=*}
		body="${body% prev=*} prev=$prev"
		h=$(printf '%s' "$body" | sha256sum | cut -d' ' -f1)
		sig=${line##* sig=}
		printf '%s hash=%s sig=%s\n' "$body" "$h" "$sig"
		prev=$h
	done <"$1" >"$1.new"
	mv "$1.new" "$1"
}

# The unsigned record a forger can compute: chained onto the last one.
forge_next() { # FILE
	local last seq prev body h
	last=$(tail -n 1 "$1")
	seq=$(( $(sed 's/.* seq=\([0-9]*\) .*/\1/' <<<"$last") + 1 ))
	prev=$(sed 's/.* hash=\([0-9a-f]*\) .*/\1/' <<<"$last")
	body=$(sed -e "s/ seq=[0-9]* / seq=$seq /" -e 's/ op=[^ ]* / op=state /' \
		-e "s/ prev=[0-9a-f]* .*/ prev=$prev/" <<<"$last")
	h=$(printf '%s' "$body" | sha256sum | cut -d' ' -f1)
	printf '%s hash=%s sig=-\n' "$body" "$h" >>"$1"
}

@test "every governance action appends one signed, chained record and the log verifies" {
	three_records
	[ "$(audit_count)" -eq 3 ]
	run enf-audit verify
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "intact: 3 records, the last signed is 3" ]
	run grep -c ' sig=-$' "$(LOG)"
	[ "$output" -eq 0 ]
}

@test "verify says what the signatures were checked against, and that the keystore is not authenticated" {
	three_records
	enf-keygen instance >"$BATS_TEST_TMPDIR/inst.pub"
	fp=$(head -n 1 "$BATS_TEST_TMPDIR/inst.pub" | ssh-keygen -lf - | cut -d' ' -f2)
	run enf-audit verify
	[ "$status" -eq 0 ]
	[ "${lines[1]}" = "signatures checked against the identity in the keystore ($fp), which is not authenticated: pass --instance FILE for that" ]
	run enf-audit verify --instance "$BATS_TEST_TMPDIR/inst.pub"
	[ "$status" -eq 0 ]
	[ "${lines[1]}" = "signatures checked against the identity in $BATS_TEST_TMPDIR/inst.pub ($fp)" ]
	run enf-audit verify -q
	[ -z "$output" ]
}

@test "the log and its head are private files (0600)" {
	three_records
	[ "$(stat -c %a "$(LOG)")" = 600 ]
	[ "$(stat -c %a "$ENF_HOME/audit.head")" = 600 ]
}

@test "no passphrase and no key material reaches the log" {
	three_records
	enf-keygen new -p release k3 --officer-passphrase-file /dev/null >/dev/null 2>&1 || true
	printf 'wrong guess 12345\n' >"$BATS_TEST_TMPDIR/bad.pass"
	run enf-keygen new -p release k4 --officer-passphrase-file "$BATS_TEST_TMPDIR/bad.pass"
	[ "$status" -ne 0 ]
	for f in officer.pass operator.pass bad.pass; do
		run grep -F "$(head -n 1 "$BATS_TEST_TMPDIR/$f")" "$(LOG)" "$ENF_HOME/audit.head"
		[ "$status" -eq 1 ]
	done
	run grep -E 'PRIVATE|BEGIN' "$(LOG)"
	[ "$status" -eq 1 ]
}

@test "show prints one human line per record, show SEQ selects, a missing SEQ is exit 1" {
	three_records
	run enf-audit show
	[ "$status" -eq 0 ]
	[ "${#lines[@]}" -eq 3 ]
	[[ "${lines[1]}" == "2 "*" enf-keygen new ok "*"key=k1"* ]]
	run enf-audit show 2-3
	[ "${#lines[@]}" -eq 2 ]
	run enf-audit show 9
	[ "$status" -eq 1 ]
	[[ "$output" == *"no record 9"* ]]
	run enf-audit show x
	[ "$status" -eq 2 ]
}

@test "show --json gives JSON Lines with the documented fields, absent values null" {
	three_records
	run enf-audit show --json
	[ "$status" -eq 0 ]
	[ "$(enf-audit show --json | jq -s length)" -eq 3 ]
	run sh -c 'enf-audit show --json 2 | jq -r "[.seq, .program, .op, .outcome, .key, (.scope == null), (.peer == null), (.policy_digest == null)] | @tsv"'
	[ "$output" = "$(printf '2\tenf-keygen\tnew\tok\tk1\ttrue\ttrue\ttrue')" ]
	for f in seq time instance program op outcome reason key identity purpose scope rule \
		policy policy_digest request_digest peer; do
		enf-audit show --json 1 | jq -e "has(\"$f\")" >/dev/null
	done
	fp=$(enf-keygen instance | head -n 1 | ssh-keygen -lf - | cut -d' ' -f2)
	[ "$(enf-audit show --json 1 | jq -r .instance)" = "$fp" ]
}

@test "head prints SEQ:HASH of the last record" {
	three_records
	run enf-audit head
	[ "$status" -eq 0 ]
	h=$(tail -n 1 "$(LOG)" | sed 's/.* hash=\([0-9a-f]*\) .*/\1/')
	[ "$output" = "3:$h" ]
}

@test "verify detects an edited field and names the record" {
	three_records
	sed -i '2s/ key=k1 / key=k9 /' "$(LOG)"
	run enf-audit verify
	[ "$status" -eq 1 ]
	[[ "$output" == *"record 2: hash mismatch"* ]]
}

@test "verify detects any flipped byte" {
	three_records
	for col in 20 60 200 300; do
		cp "$(LOG)" "$BATS_TEST_TMPDIR/good"
		c=$(head -n 2 "$(LOG)" | tail -n 1 | cut -c "$col")
		[ "$c" = x ] && n=y || n=x
		sed -i "2s/^\(.\{$((col - 1))\}\)./\1$n/" "$(LOG)"
		run enf-audit verify
		[ "$status" -eq 1 ]
		[[ "$output" == *"record 2:"* ]]
		cp "$BATS_TEST_TMPDIR/good" "$(LOG)"
	done
}

@test "verify detects a deleted record" {
	three_records
	sed -i 2d "$(LOG)"
	run enf-audit verify
	[ "$status" -eq 1 ]
	[[ "$output" == *"record 2: sequence number is 3, expected 2"* ]]
}

@test "verify detects an inserted (duplicated) record" {
	three_records
	sed -i '2p' "$(LOG)"
	run enf-audit verify
	[ "$status" -eq 1 ]
	[[ "$output" == *"record 3: sequence number is 2"* ]]
}

@test "verify detects two swapped records" {
	three_records
	{ sed -n 1p "$(LOG)"; sed -n 3p "$(LOG)"; sed -n 2p "$(LOG)"; } >"$BATS_TEST_TMPDIR/swapped"
	cp "$BATS_TEST_TMPDIR/swapped" "$(LOG)"
	run enf-audit verify
	[ "$status" -eq 1 ]
	[[ "$output" == *"record 2:"* ]]
}

@test "verify detects a log cut short against audit.head" {
	three_records
	sed -i '$d' "$(LOG)"
	run enf-audit verify
	[ "$status" -eq 1 ]
	[[ "$output" == *"record 3: missing"*"cut short"* ]]
}

@test "verify refuses the home's log without its head" {
	three_records
	rm "$ENF_HOME/audit.head"
	run enf-audit verify
	[ "$status" -eq 1 ]
	[[ "$output" == *"audit.head is missing"* ]]
}

@test "verify detects an edited or forged head" {
	three_records
	sed -i 's/^enf-audit-head-1 3 /enf-audit-head-1 2 /' "$ENF_HOME/audit.head"
	run enf-audit verify
	[ "$status" -eq 1 ]
	three=$(head -n 2 "$(LOG)" | tail -n 1 | sed 's/.* hash=\([0-9a-f]*\) .*/\1/')
	printf 'enf-audit-head-1 2 %s 2 %s AAAA\n' "$three" "$three" >"$ENF_HOME/audit.head"
	sed -i '$d' "$(LOG)"
	run enf-audit verify
	[ "$status" -eq 1 ]
	[[ "$output" == *"signature does not verify"* ]]
}

@test "a copied log verifies elsewhere with the instance file, and --anchor catches truncation" {
	three_records
	enf-keygen instance >"$BATS_TEST_TMPDIR/inst.pub"
	mkdir "$BATS_TEST_TMPDIR/copy"
	cp "$(LOG)" "$BATS_TEST_TMPDIR/copy/log"
	anchor=$(enf-audit head)
	unset ENF_HOME
	run enf-audit verify --instance "$BATS_TEST_TMPDIR/inst.pub" --anchor "$anchor" "$BATS_TEST_TMPDIR/copy/log"
	[ "$status" -eq 0 ]
	sed -i '$d' "$BATS_TEST_TMPDIR/copy/log"
	run enf-audit verify --instance "$BATS_TEST_TMPDIR/inst.pub" "$BATS_TEST_TMPDIR/copy/log"
	[ "$status" -eq 0 ]
	run enf-audit verify --instance "$BATS_TEST_TMPDIR/inst.pub" --anchor "$anchor" "$BATS_TEST_TMPDIR/copy/log"
	[ "$status" -eq 1 ]
	[[ "$output" == *"record 3: missing"*"anchor"* ]]
	run enf-audit verify --anchor "$anchor" "$BATS_TEST_TMPDIR/copy/log"
	[ "$status" -eq 3 ]
	[[ "$output" == *"--instance"* ]]
}

@test "an anchor whose hash differs names the record" {
	three_records
	run enf-audit verify --anchor "2:$(printf '%064d' 0)"
	[ "$status" -eq 1 ]
	[[ "$output" == *"record 2: hash differs from the anchor"* ]]
	run enf-audit verify --anchor "2:zz"
	[ "$status" -eq 2 ]
}

@test "another instance's identity does not verify the log" {
	three_records
	ENF_HOME="$BATS_TEST_TMPDIR/other" make_instance
	ENF_HOME="$BATS_TEST_TMPDIR/other" enf-keygen instance >"$BATS_TEST_TMPDIR/other.pub"
	run enf-audit verify --instance "$BATS_TEST_TMPDIR/other.pub"
	[ "$status" -eq 1 ]
	[[ "$output" == *"record 1: written by another instance"* ]]
}

@test "an appended record with a valid chain but no signature is refused" {
	three_records
	forge_next "$(LOG)"
	run enf-audit verify "$(LOG)"
	[ "$status" -eq 1 ]
	[[ "$output" == *"record 4: not signed"* ]]
}

@test "a record forged with a valid chain and a copied signature is refused" {
	three_records
	forge_next "$(LOG)"
	sig=$(sed -n '3s/.* sig=//p' "$(LOG)")
	sed -i "4s|sig=-\$|sig=$sig|" "$(LOG)"
	run enf-audit verify "$(LOG)"
	[ "$status" -eq 1 ]
	[[ "$output" == *"record 4: signature does not verify"* ]]
}

@test "an edit re-chained over the following records is named by the signatures" {
	three_records
	enf-keygen new -p release k3 >/dev/null
	enf-keygen new -p release k4 >/dev/null
	sed -i '2s/ key=k1 / key=k9 /' "$(LOG)"
	rechain "$(LOG)"
	run enf-audit verify
	[ "$status" -eq 1 ]
	[[ "$output" == *"record 2: signature does not verify"* ]]
	run enf-audit verify --all-signatures
	[ "$status" -eq 1 ]
	[[ "$output" == *"record 2: signature does not verify"* ]]
}

@test "a re-chained edit with the signatures stripped is refused" {
	three_records
	sed -i -e '2s/ key=k1 / key=k9 /' -e 's/ sig=.*/ sig=-/' "$(LOG)"
	rechain "$(LOG)"
	run enf-audit verify
	[ "$status" -eq 1 ]
}

@test "--all-signatures checks a middle record's signature" {
	three_records
	sig=$(sed -n '3s/.* sig=//p' "$(LOG)")
	sed -i "2s|sig=.*|sig=$sig|" "$(LOG)"
	run enf-audit verify
	[ "$status" -eq 0 ]
	run enf-audit verify --all-signatures
	[ "$status" -eq 1 ]
	[[ "$output" == *"record 2: signature does not verify"* ]]
}

@test "a failed unlock leaves an unsigned record: named until a signed record covers it" {
	three_records
	printf 'not the passphrase\n' >"$BATS_TEST_TMPDIR/bad.pass"
	run enf-keygen new -p release k9 --officer-passphrase-file "$BATS_TEST_TMPDIR/bad.pass"
	[ "$status" -eq 3 ]
	[ "$(audit_count)" -eq 4 ]
	[[ "$(tail -n 1 "$(LOG)")" == *" sig=-" ]]
	run enf-audit verify
	[ "$status" -eq 1 ]
	[[ "$output" == *"record 4: not signed"* ]]
	run enf-audit verify --allow-unsigned-tail
	[ "$status" -eq 0 ]
	[[ "$output" == *"not signed"* ]]
	enf-keygen new -p release k5 >/dev/null
	run enf-audit verify
	[ "$status" -eq 0 ]
}

@test "a torn last line is ignored by verify and repaired, with a record, by the next append" {
	three_records
	printf 'enf-audit-1 seq=4 time=2026-' >>"$(LOG)"
	run enf-audit verify
	[ "$status" -eq 0 ]
	[[ "$output" == *"incomplete last line (28 bytes)"* ]]
	enf-keygen new -p release k3 >/dev/null
	[ "$(audit_count)" -eq 5 ]
	run enf-audit show --json 4
	[ "$(jq -r .op <<<"$output")" = repair ]
	[[ "$(jq -r .detail <<<"$output")" == "dropped 28 bytes (incomplete last line)"* ]]
	run enf-audit verify
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "intact: 5 records, the last signed is 5" ]
}

@test "a complete but malformed last line fails verify" {
	three_records
	echo 'enf-audit-1 garbage' >>"$(LOG)"
	run enf-audit verify
	[ "$status" -eq 1 ]
	[[ "$output" == *"record 4: malformed"* ]]
}

@test "parallel appenders (4 x 25) add exactly 100 records and the chain holds" {
	mkdir -m 700 "$BATS_TEST_TMPDIR/par"
	"$APPENDER" pub "$SEED" >"$BATS_TEST_TMPDIR/par.pub"
	"$APPENDER" append "$BATS_TEST_TMPDIR/par" "$SEED" 1
	for i in 1 2 3 4; do "$APPENDER" append "$BATS_TEST_TMPDIR/par" "$SEED" 25 & done
	wait
	[ "$(wc -l <"$BATS_TEST_TMPDIR/par/audit.log")" -eq 101 ]
	run enf-audit verify --instance "$BATS_TEST_TMPDIR/par.pub" "$BATS_TEST_TMPDIR/par/audit.log"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "intact: 101 records, the last signed is 101" ]
	[ "$(cut -d' ' -f2 "$BATS_TEST_TMPDIR/par/audit.log" | sort -u | wc -l)" -eq 101 ]
}

@test "parallel signed and unsigned appenders interleave whole records only" {
	d="$BATS_TEST_TMPDIR/mix"
	mkdir -m 700 "$d"
	"$APPENDER" pub "$SEED" >"$BATS_TEST_TMPDIR/mix.pub"
	"$APPENDER" append "$d" "$SEED" 1
	for i in 1 2; do
		"$APPENDER" append "$d" "$SEED" 20 &
		"$APPENDER" append-unsigned "$d" "$SEED" 20 &
	done
	wait
	"$APPENDER" append "$d" "$SEED" 1
	[ "$(wc -l <"$d/audit.log")" -eq 82 ]
	[ "$(grep -c ' sig=-$' "$d/audit.log")" -eq 40 ]
	run enf-audit verify --instance "$BATS_TEST_TMPDIR/mix.pub" --all-signatures "$d/audit.log"
	[ "$status" -eq 0 ]
}

@test "kill -9 mid-append, repeatedly: the log always verifies and the next append repairs" {
	d="$BATS_TEST_TMPDIR/crash"
	mkdir -m 700 "$d"
	"$APPENDER" pub "$SEED" >"$BATS_TEST_TMPDIR/crash.pub"
	"$APPENDER" append "$d" "$SEED" 1
	torn=0
	for i in $(seq 1 30); do
		"$APPENDER" append "$d" "$SEED" 100000 &
		pid=$!
		sleep "0.0$((RANDOM % 9 + 1))"
		kill -9 "$pid"
		wait "$pid" 2>/dev/null || true
		run enf-audit verify --instance "$BATS_TEST_TMPDIR/crash.pub" "$d/audit.log"
		[ "$status" -eq 0 ]
		[[ "$output" == *"incomplete last line"* ]] && torn=$((torn + 1))
	done
	# At least force one torn tail, so that the repair path surely runs.
	printf 'enf-audit-1 seq=' >>"$d/audit.log"
	"$APPENDER" append "$d" "$SEED" 1
	run enf-audit verify --instance "$BATS_TEST_TMPDIR/crash.pub" "$d/audit.log"
	[ "$status" -eq 0 ]
	[ "$(grep -c ' op=repair ' "$d/audit.log")" -ge 1 ]
	echo "# $torn of 30 kills left a torn tail" >&3
}

@test "an append refuses to write over a log cut short, and says so" {
	three_records
	sed -i '$d' "$(LOG)"
	run enf-keygen new -p release k3
	[[ "$output" == *"audit: cannot write"*"cut short"* ]]
	[ "$(audit_count)" -eq 2 ]
}

@test "a log readable by others is refused by show and by the appender" {
	three_records
	chmod 644 "$(LOG)"
	run enf-audit show
	[ "$status" -eq 3 ]
	run enf-keygen new -p release k3
	[[ "$output" == *"audit: cannot write"* ]]
	[ "$(audit_count)" -eq 3 ]
}

@test "an unreadable or missing log is exit 3" {
	three_records
	run enf-audit verify "$BATS_TEST_TMPDIR/nonexistent"
	[ "$status" -eq 3 ]
	rm "$(LOG)"
	run enf-audit verify
	[ "$status" -eq 3 ]
	run enf-audit head
	[ "$status" -eq 3 ]
}

@test "usage: -h on stdout, --version, unknown command and misplaced options are exit 2" {
	run enf-audit -h
	[ "$status" -eq 0 ]
	[[ "$output" == usage:* ]]
	run enf-audit --version
	[ "$output" = "enf-audit 0.1.0" ]
	run enf-audit frobnicate
	[ "$status" -eq 2 ]
	run enf-audit
	[ "$status" -eq 2 ]
	run enf-audit verify --json
	[ "$status" -eq 2 ]
	run enf-audit show --all-signatures
	[ "$status" -eq 2 ]
}

@test "verify --all-signatures refuses a record signature re-encoded with S + L" {
	three_records
	# Record 2's Ed25519 signature with S + L: the same signature in a
	# second encoding (RFC 8032 5.1.7); its chain and hash stay intact.
	python3 - "$(LOG)" <<'PY'
import base64, re, sys
L = 2**252 + 27742317777372353535851937790883648493
lines = open(sys.argv[1]).read().splitlines()
m = re.search(r" sig=(\S+)$", lines[1])
b = base64.b64decode(m.group(1))
s = int.from_bytes(b[-32:], "little") + L
lines[1] = lines[1][:m.start(1)] + base64.b64encode(b[:-32] + s.to_bytes(32, "little")).decode()
open(sys.argv[1], "w").write("\n".join(lines) + "\n")
PY
	run enf-audit verify --all-signatures
	[ "$status" -eq 1 ]
	[[ "$output" == *"record 2"* ]]
}

@test "an empty log: show prints nothing, verify says no record" {
	mkdir -m 700 "$BATS_TEST_TMPDIR/e"
	"$APPENDER" pub "$SEED" >"$BATS_TEST_TMPDIR/e.pub"
	: >"$BATS_TEST_TMPDIR/e/audit.log"
	chmod 600 "$BATS_TEST_TMPDIR/e/audit.log"
	run enf-audit show -f "$BATS_TEST_TMPDIR/e/audit.log"
	[ "$status" -eq 0 ]
	[ -z "$output" ]
	run enf-audit verify --instance "$BATS_TEST_TMPDIR/e.pub" "$BATS_TEST_TMPDIR/e/audit.log"
	[ "$status" -eq 1 ]
	[[ "$output" == *"no complete record"* ]]
}

# Record N's hash field.
hash_of() { # FILE N
	sed -n "${2}s/.* hash=\([0-9a-f]*\) .*/\1/p" "$1"
}

# Replace record N by its unsigned variant with `sed` expression E applied,
# its hash recomputed (what a forger without the key can do to the last one).
forge_unsigned() { # FILE N EXPR
	local body h
	body=$(sed -n "${2}p" "$1" | sed -e "$3" -e 's/ hash=.*//')
	h=$(printf '%s' "$body" | sha256sum | cut -d' ' -f1)
	sed -i "${2}c\\$body hash=$h sig=-" "$1"
}

@test "laundering: a signed record replaced by an unsigned one under an unsigned head is refused" {
	three_records
	enf-keygen instance >"$BATS_TEST_TMPDIR/inst.pub"
	forge_unsigned "$(LOG)" 3 's/ key=k2 / key=k7 /'
	printf 'enf-audit-head-1 3 %s - - -\n' "$(hash_of "$(LOG)" 3)" >"$ENF_HOME/audit.head"
	cp "$(LOG)" "$BATS_TEST_TMPDIR/forged"
	run enf-audit verify --instance "$BATS_TEST_TMPDIR/inst.pub" --all-signatures \
		--allow-unsigned-tail
	[ "$status" -eq 1 ]
	[[ "$output" == *"audit.head"* ]]
	# appends do not carry on over the forgery (and so never sign it)
	run enf-keygen new -p release k3
	[[ "$output" == *"audit: cannot write"* ]]
	cmp "$(LOG)" "$BATS_TEST_TMPDIR/forged"
	run enf-audit verify --instance "$BATS_TEST_TMPDIR/inst.pub" --all-signatures
	[ "$status" -eq 1 ]
}

@test "an unsigned record that is not a refusal is rejected wherever it stands" {
	three_records
	enf-keygen new -p release k3 >/dev/null
	# record 3 (new ok) unsigned: the rest re-chained but their signatures
	# then fail; the kind alone must already be named
	forge_unsigned "$(LOG)" 3 's/ key=k2 / key=k2 /'
	run enf-audit verify --allow-unsigned-tail
	[ "$status" -eq 1 ]
	[[ "$output" == *"record 3: not signed"*"outcome=fail"* ]]
}

@test "a refusal record put in place of the last signed one does not match the signed head" {
	three_records
	forge_unsigned "$(LOG)" 3 's/ outcome=ok / outcome=fail /'
	cp "$(LOG)" "$BATS_TEST_TMPDIR/forged"
	h=$(hash_of "$(LOG)" 3)
	# the head's tip moved to the forgery, its signed part kept
	sed -i "s/^enf-audit-head-1 3 [0-9a-f]* /enf-audit-head-1 3 $h /" "$ENF_HOME/audit.head"
	run enf-audit verify --allow-unsigned-tail
	[ "$status" -eq 1 ]
	[[ "$output" == *"record 3: hash differs from the signed audit.head"* ]]
	run enf-keygen new -p release k3
	[[ "$output" == *"audit: cannot write"* ]]
	cmp "$(LOG)" "$BATS_TEST_TMPDIR/forged"
	# nor with no signed part at all
	printf 'enf-audit-head-1 3 %s - - -\n' "$h" >"$ENF_HOME/audit.head"
	run enf-audit verify --allow-unsigned-tail
	[ "$status" -eq 1 ]
	run enf-keygen new -p release k3
	[[ "$output" == *"audit: cannot write"* ]]
	cmp "$(LOG)" "$BATS_TEST_TMPDIR/forged"
}

@test "a log cut to an earlier signed record under an unsigned head is refused, and not appended to" {
	three_records
	sed -i '$d' "$(LOG)"
	cp "$(LOG)" "$BATS_TEST_TMPDIR/cut"
	printf 'enf-audit-head-1 2 %s - - -\n' "$(hash_of "$(LOG)" 2)" >"$ENF_HOME/audit.head"
	run enf-audit verify --all-signatures
	[ "$status" -eq 1 ]
	[[ "$output" == *"audit.head"* ]]
	run enf-keygen new -p release k3
	[[ "$output" == *"audit: cannot write"* ]]
	cmp "$(LOG)" "$BATS_TEST_TMPDIR/cut"
}

@test "an append refuses to chain onto a record whose signature does not verify" {
	three_records
	forge_next "$(LOG)"
	sig=$(sed -n '3s/.* sig=//p' "$(LOG)")
	sed -i "4s|sig=-\$|sig=$sig|" "$(LOG)"
	cp "$(LOG)" "$BATS_TEST_TMPDIR/forged"
	run enf-keygen new -p release k3
	[[ "$output" == *"audit: cannot write"*"record 4"* ]]
	cmp "$(LOG)" "$BATS_TEST_TMPDIR/forged"
}

@test "a symbolic link as audit.head is refused by verify and by the appender" {
	three_records
	mv "$ENF_HOME/audit.head" "$BATS_TEST_TMPDIR/head"
	ln -s "$BATS_TEST_TMPDIR/head" "$ENF_HOME/audit.head"
	run enf-audit verify
	[ "$status" -eq 1 ]
	[[ "$output" == *"audit.head is a symbolic link"* ]]
	run enf-keygen new -p release k3
	[[ "$output" == *"audit: cannot write"*"symbolic link"* ]]
	[ "$(audit_count)" -eq 3 ]
}

@test "a head that cannot be written is reported as such; the record is kept and the head catches up" {
	three_records
	mkdir "$ENF_HOME/audit.head.tmp"
	run enf-keygen new -p release k3
	[ "$status" -eq 0 ]
	[[ "$output" == *"audit: record 4 written, but cannot update "*"audit.head"* ]]
	[[ "$output" != *"cannot write the record"* ]]
	[ "$(audit_count)" -eq 4 ]
	rmdir "$ENF_HOME/audit.head.tmp"
	run enf-audit verify
	[ "$status" -eq 0 ]
	[[ "$output" == *"audit.head names an earlier signed record"* ]]
	enf-keygen new -p release k4 >/dev/null
	run enf-audit verify
	[ "$status" -eq 0 ]
	[[ "$output" != *"earlier signed record"* ]]
}

# An instance whose policy lets ci-bot sign with key rel under rule rel (no
# approval) and rel2 (two approvals from managers alice and bob).
sign_setup() {
	make_instance
	enf-keygen new -a ed25519 -p release rel >/dev/null
	SSH="$BATS_TEST_TMPDIR/ssh"
	for who in ci alice bob; do make_ssh_key "$who"; done
	cat >"$BATS_TEST_TMPDIR/policy.txt" <<-EOF
	version 1
	policy audit-test
	purpose release
	identity ci-bot $(cut -d' ' -f1,2 "$SSH/ci.pub")
	identity alice $(cut -d' ' -f1,2 "$SSH/alice.pub")
	identity bob $(cut -d' ' -f1,2 "$SSH/bob.pub")
	group managers alice bob
	rule rel key=rel identity=ci-bot purpose=release scope=v1
	rule rel2 key=rel identity=ci-bot purpose=release scope=v1 approvals=2:managers
	EOF
	enf-policy install "$BATS_TEST_TMPDIR/policy.txt" >/dev/null
	DATA="$BATS_TEST_TMPDIR/data"
	printf 'release bytes\n' >"$DATA"
}

request() { # OUT RULE [APPROVER...]
	local out=$1 rule=$2 who
	shift 2
	enf-request -k rel -i ci-bot -p release -s v1 -r "$rule" --ssh-key "$SSH/ci" "$DATA" >"$out"
	for who in "$@"; do
		enf-request approve --ssh-key "$SSH/$who" -o "$out" "$out"
	done
}

@test "a permit's record names the approvers whose signatures counted" {
	sign_setup
	request "$BATS_TEST_TMPDIR/r" rel2 bob alice
	run enf-sign -o "$BATS_TEST_TMPDIR/sig" "$BATS_TEST_TMPDIR/r"
	[ "$status" -eq 0 ]
	rec=$(enf-audit show --json | tail -n 1)
	[ "$(jq -r '.op + " " + .outcome' <<<"$rec")" = "sign permit" ]
	[ "$(jq -r .detail <<<"$rec")" = "rule 'rel2' permits this request (2 approvals: bob, alice)" ]
	request "$BATS_TEST_TMPDIR/r1" rel
	enf-sign -o "$BATS_TEST_TMPDIR/sig1" "$BATS_TEST_TMPDIR/r1"
	[ "$(enf-audit show --json | tail -n 1 | jq -r .detail)" = "rule 'rel' permits this request (no approval required)" ]
}

@test "a permit whose record cannot be written still exits 0, leaves audit.gap, and verify fails until it is recorded" {
	sign_setup
	request "$BATS_TEST_TMPDIR/r" rel
	n=$(audit_count)
	chmod 644 "$(LOG)"		# refused by every appender, even as root
	run enf-sign -o "$BATS_TEST_TMPDIR/sig" "$BATS_TEST_TMPDIR/r"
	[ "$status" -eq 0 ]
	[ -s "$BATS_TEST_TMPDIR/sig" ]
	[[ "$output" == *"audit: cannot write the record (enf-sign sign permit)"* ]]
	chmod 600 "$(LOG)"
	[ "$(audit_count)" -eq "$n" ]
	[ "$(stat -c %a "$ENF_HOME/audit.gap")" = 600 ]
	grep -q '^enf-audit-gap-1 time=[-0-9T:]*Z program=enf-sign op=sign outcome=permit reason=permit key=rel identity=ci-bot rule=rel request_digest=[0-9a-f]\{64\} why=' "$ENF_HOME/audit.gap"
	run enf-audit verify
	[ "$status" -eq 1 ]
	[[ "$output" == *"audit.gap: 1 record(s) could not be written and are not in the log yet"* ]]
	# a refusal (no key) cannot record it; the next signed append does
	printf 'not the passphrase\n' >"$BATS_TEST_TMPDIR/bad.pass"
	run enf-keygen new -p release k9 --officer-passphrase-file "$BATS_TEST_TMPDIR/bad.pass"
	[ -e "$ENF_HOME/audit.gap" ]
	enf-keygen new -p release k2 >/dev/null
	[ ! -e "$ENF_HOME/audit.gap" ]
	gapseq=$((n + 2))
	[ -e "$ENF_HOME/audit.gap.$gapseq" ]
	rec=$(enf-audit show --json "$gapseq")
	[ "$(jq -r '.op + " " + .outcome + " " + .reason' <<<"$rec")" = "gap ok unrecorded" ]
	[[ "$(jq -r .detail <<<"$rec")" == "1 record(s) could not be written (from audit.gap, not authenticated, "*"sha256 $(sha256sum <"$ENF_HOME/audit.gap.$gapseq" | cut -d' ' -f1), kept as audit.gap.$gapseq); the first: time="*"program=enf-sign op=sign outcome=permit"* ]]
	run enf-audit verify
	[ "$status" -eq 0 ]
	[[ "$output" == *"1 record(s) of op gap"* ]]
}

@test "show decodes values for the human line, quoting any with a space and escaping what is not printable" {
	mkdir -m 700 "$BATS_TEST_TMPDIR/d"
	"$APPENDER" append "$BATS_TEST_TMPDIR/d" "$SEED" 1
	run enf-audit show -f "$BATS_TEST_TMPDIR/d/audit.log"
	[ "$status" -eq 0 ]
	[[ "$output" == "1 "*" audit-test test ok scope=\"a b\\x0ac\" detail="[0-9]* ]]
	[[ "$output" != *%* ]]
	three_records
	printf 'enf-audit-1 seq=4 time=2026-' >>"$(LOG)"
	enf-keygen new -p release k3 >/dev/null
	run enf-audit show 4
	[[ "$output" == "4 "*" enf-keygen repair ok reason=torn-tail detail=\"dropped 28 bytes (incomplete last line), sha256 "[0-9a-f]*'"' ]]
	[[ "$output" != *%* ]]
}

# An init killed at the head write that follows its first record (strace
# sends SIGKILL at the last rename onto audit.head).  The first append
# writes a genesis head (tip 0) before its record, so what is left is a
# record after a signed head, which the next append checks and catches up
# with; a head that is missing was deleted, and is still refused.
@test "init killed between its first record and audit.head: the next append catches up, a deleted head is still refused" {
	local trace=(-f -qq -e trace=rename,renameat,renameat2)
	# LeakSanitizer cannot run under ptrace (make sanitize).
	local asan=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0
	ASAN_OPTIONS=$asan strace "${trace[@]}" -o "$BATS_TEST_TMPDIR/trace" -P "$BATS_TEST_TMPDIR/dry/audit.head.tmp" \
		enf-keygen -H "$BATS_TEST_TMPDIR/dry" init --argon2 1:8192:1 >/dev/null
	n=$(grep -c 'audit.head.tmp' "$BATS_TEST_TMPDIR/trace")
	[ "$n" -ge 1 ]
	ASAN_OPTIONS=$asan run strace "${trace[@]}" -o /dev/null -P "$ENF_HOME/audit.head.tmp" \
		-e inject=rename,renameat,renameat2:signal=KILL:when="$n" \
		enf-keygen init --argon2 1:8192:1
	[ "$status" -ne 0 ]
	[ "$(audit_count)" -eq 1 ]
	run enf-keygen new -p release k1
	[ "$status" -eq 0 ]
	[ "$(audit_count)" -eq 2 ]
	enf-audit verify
	rm "$ENF_HOME/audit.head"
	run enf-keygen new -p release k2
	[[ "$output" == *"audit.head is missing"* ]]
	[ "$(audit_count)" -eq 2 ]
}
