#!/usr/bin/env bats
# enf-seal: sealing bound to the instance (and host), open, transfer, info.

load helper
load agent-mode

setup() {
	common_setup
	make_instance
	OTHER="$BATS_TEST_TMPDIR/other"
	H=126		# header of a sealed file (enf-seal(5))
	C=65552		# one sealed chunk: 64 KiB + 16-byte tag
	agent_mode_start
}

teardown() { agent_mode_stop; }

# Bytes [OFFSET, OFFSET+LEN) of FILE.
part() { tail -c +$(($2 + 1)) "$1" | head -c "$3"; }

# Flip the low bit of the byte at OFFSET in FILE, in place.
flip() {
	local b
	b=$(od -An -tu1 -j "$2" -N1 "$1" | tr -d ' ')
	printf "$(printf '\\%03o' $((b ^ 1)))" | dd of="$1" bs=1 seek="$2" conv=notrunc status=none
}

other_instance() {
	ENF_HOME="$OTHER" make_instance "$@"
	ENF_HOME="$OTHER" enf-keygen instance >"$BATS_TEST_TMPDIR/other.pub"
}

# Four chunks of data (the last short) sealed to this instance.
sealed_sample() {
	head -c $((3 * 65536 + 1000)) /dev/urandom >"$BATS_TEST_TMPDIR/data"
	enf-seal seal -o "$BATS_TEST_TMPDIR/data.sealed" "$BATS_TEST_TMPDIR/data"
}

# No output file and no temp file beside it.
no_output() {
	local left
	[ ! -e "$1" ]
	left=$(compgen -G "$1.tmp*" || true)
	[ -z "$left" ]
}

fp() { ssh-keygen -lf /dev/stdin <<<"$(head -n1 "$1")" | cut -d' ' -f2; }

@test "prints usage with -h and its version with --version" {
	run enf-seal -h
	[ "$status" -eq 0 ]
	[[ "$output" == *"enf-seal [-H DIR] seal"* ]]
	run enf-seal --version
	[ "$status" -eq 0 ]
	[ "$output" = "enf-seal 0.1.0" ]
}

@test "rejects unknown verbs, stray options and extra files with exit 2" {
	run enf-seal frobnicate
	[ "$status" -eq 2 ]
	run enf-seal seal --to x.pub
	[ "$status" -eq 2 ]
	run enf-seal open --officer-passphrase-file "$ENF_OFFICER_PASSPHRASE_FILE" x
	[ "$status" -eq 2 ]
	run enf-seal transfer x
	[ "$status" -eq 2 ]
	run enf-seal seal a b c
	[ "$status" -eq 2 ]
	run enf-seal info
	[ "$status" -eq 2 ]
}

@test "round-trips 0, 1, 65536, 65537 and 5000000 bytes through files" {
	for n in 0 1 65536 65537 5000000; do
		head -c "$n" /dev/urandom >"$BATS_TEST_TMPDIR/in"
		enf-seal seal -o "$BATS_TEST_TMPDIR/s" "$BATS_TEST_TMPDIR/in"
		chunks=$((n / 65536 + 1))
		[ "$(stat -c %s "$BATS_TEST_TMPDIR/s")" -eq $((H + n + 16 * chunks)) ]
		enf-seal open -o "$BATS_TEST_TMPDIR/out" "$BATS_TEST_TMPDIR/s"
		cmp "$BATS_TEST_TMPDIR/in" "$BATS_TEST_TMPDIR/out"
		[ "$(stat -c %a "$BATS_TEST_TMPDIR/out")" = 600 ]
	done
}

@test "round-trips 100 MB through pipes" {
	head -c 100000000 /dev/urandom >"$BATS_TEST_TMPDIR/big"
	want=$(sha256sum <"$BATS_TEST_TMPDIR/big")
	got=$(cat "$BATS_TEST_TMPDIR/big" | enf-seal seal | enf-seal open - | sha256sum)
	[ "$got" = "$want" ]
}

@test "round-trips 100 MB through files, and from stdin to a file" {
	head -c 100000000 /dev/urandom >"$BATS_TEST_TMPDIR/big"
	enf-seal seal -o "$BATS_TEST_TMPDIR/big.s" - <"$BATS_TEST_TMPDIR/big"
	enf-seal open -o "$BATS_TEST_TMPDIR/big.out" "$BATS_TEST_TMPDIR/big.s"
	cmp "$BATS_TEST_TMPDIR/big" "$BATS_TEST_TMPDIR/big.out"
}

@test "seals the same data differently every time" {
	echo secret >"$BATS_TEST_TMPDIR/m"
	enf-seal seal -o "$BATS_TEST_TMPDIR/a" "$BATS_TEST_TMPDIR/m"
	enf-seal seal -o "$BATS_TEST_TMPDIR/b" "$BATS_TEST_TMPDIR/m"
	run cmp -s "$BATS_TEST_TMPDIR/a" "$BATS_TEST_TMPDIR/b"
	[ "$status" -eq 1 ]
	run grep -c secret "$BATS_TEST_TMPDIR/a"
	[ "$output" = 0 ]
}

@test "info names the instance by its identity fingerprint, with no credential" {
	enf-keygen instance >"$BATS_TEST_TMPDIR/me.pub"
	echo hi | enf-seal seal -o "$BATS_TEST_TMPDIR/s"
	unset ENF_PASSPHRASE_FILE ENF_OFFICER_PASSPHRASE_FILE
	run no_tty enf-seal info "$BATS_TEST_TMPDIR/s"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "version 1" ]
	[ "${lines[1]}" = "instance $(fp "$BATS_TEST_TMPDIR/me.pub")" ]
	[ "${lines[2]}" = "host-bound no" ]
	[ "${lines[3]}" = "chunk-size 65536" ]
	[[ "${lines[4]}" =~ ^file-id\ [0-9a-f]{64}$ ]]
}

@test "info refuses a file that is not sealed with exit 1" {
	echo "plain text, long enough to hold a header of seventy-eight bytes or more......" \
		>"$BATS_TEST_TMPDIR/p"
	run enf-seal info "$BATS_TEST_TMPDIR/p"
	[ "$status" -eq 1 ]
	[ "$output" = "enf-seal: not an enf sealed file" ]
}

@test "another instance refuses with exit 1: sealed to another instance" {
	other_instance
	echo secret | enf-seal seal -o "$BATS_TEST_TMPDIR/s"
	before=$(ENF_HOME="$OTHER" audit_count)
	run env ENF_HOME="$OTHER" enf-seal open -o "$BATS_TEST_TMPDIR/out" "$BATS_TEST_TMPDIR/s"
	[ "$status" -eq 1 ]
	[ "$output" = "enf-seal: sealed to another instance" ]
	no_output "$BATS_TEST_TMPDIR/out"
	[ "$(ENF_HOME="$OTHER" audit_count)" -eq $((before + 1)) ]
	tail -n1 "$OTHER/audit.log" | grep -q "program=enf-seal op=open outcome=fail reason=another-instance"
	id=$(fp <(enf-keygen instance))
	tail -n1 "$OTHER/audit.log" | grep -qF "peer=$id"
}

@test "a header edited to name another instance does not open there either" {
	other_instance
	echo secret | enf-seal seal -o "$BATS_TEST_TMPDIR/s"
	# Graft the other instance's id (from a file it sealed) into our header.
	echo x | ENF_HOME="$OTHER" enf-seal seal -o "$BATS_TEST_TMPDIR/o"
	{ head -c 14 "$BATS_TEST_TMPDIR/s"; part "$BATS_TEST_TMPDIR/o" 14 32
	  tail -c +47 "$BATS_TEST_TMPDIR/s"; } >"$BATS_TEST_TMPDIR/forged"
	ENF_HOME="$OTHER" enf-seal info "$BATS_TEST_TMPDIR/forged" | grep -qF "$(fp "$BATS_TEST_TMPDIR/other.pub")"
	run env ENF_HOME="$OTHER" enf-seal open "$BATS_TEST_TMPDIR/forged"
	[ "$status" -eq 1 ]
	[[ "$output" == *"does not authenticate"* ]]
	[[ "$output" != *secret* ]]
}

@test "a wrong operator passphrase opens nothing: exit 3, audited" {
	echo secret | enf-seal seal -o "$BATS_TEST_TMPDIR/s"
	echo wrong-passphrase >"$BATS_TEST_TMPDIR/bad"
	run enf-seal open --passphrase-file "$BATS_TEST_TMPDIR/bad" -o "$BATS_TEST_TMPDIR/out" "$BATS_TEST_TMPDIR/s"
	[ "$status" -eq 3 ]
	no_output "$BATS_TEST_TMPDIR/out"
	tail -n1 "$ENF_HOME/audit.log" | grep -q "program=enf-seal op=open outcome=fail"
}

@test "the officer passphrase does not open sealed data" {
	echo secret | enf-seal seal -o "$BATS_TEST_TMPDIR/s"
	run enf-seal open --passphrase-file "$ENF_OFFICER_PASSPHRASE_FILE" "$BATS_TEST_TMPDIR/s"
	[ "$status" -eq 3 ]
	[[ "$output" != *secret* ]]
}

@test "truncation at every chunk boundary fails with exit 1 and leaves no file" {
	sealed_sample
	total=$(stat -c %s "$BATS_TEST_TMPDIR/data.sealed")
	for len in 0 77 $((H - 1)) $H $((H + 1)) $((H + C)) $((H + 2 * C)) $((H + 3 * C)) $((total - 1)); do
		head -c "$len" "$BATS_TEST_TMPDIR/data.sealed" >"$BATS_TEST_TMPDIR/t"
		run enf-seal open -o "$BATS_TEST_TMPDIR/out" "$BATS_TEST_TMPDIR/t"
		[ "$status" -eq 1 ]
		no_output "$BATS_TEST_TMPDIR/out"
	done
}

@test "truncation in the middle of a chunk fails with exit 1" {
	sealed_sample
	for len in $((H + 20)) $((H + C / 2)) $((H + C + 17)) $((H + 3 * C + 50)); do
		head -c "$len" "$BATS_TEST_TMPDIR/data.sealed" >"$BATS_TEST_TMPDIR/t"
		run enf-seal open -o "$BATS_TEST_TMPDIR/out" "$BATS_TEST_TMPDIR/t"
		[ "$status" -eq 1 ]
		[[ "$output" == *"does not authenticate"* ]]
		no_output "$BATS_TEST_TMPDIR/out"
	done
}

@test "to stdout, a truncated file releases only authenticated chunks and says so" {
	sealed_sample
	head -c $((H + 2 * C)) "$BATS_TEST_TMPDIR/data.sealed" >"$BATS_TEST_TMPDIR/t"
	run bash -c 'enf-seal open "$1" 2>"$2" >"$3"' _ "$BATS_TEST_TMPDIR/t" \
		"$BATS_TEST_TMPDIR/err" "$BATS_TEST_TMPDIR/partial"
	[ "$status" -eq 1 ]
	grep -q "truncated" "$BATS_TEST_TMPDIR/err"
	grep -q "incomplete: discard it" "$BATS_TEST_TMPDIR/err"
	[ "$(stat -c %s "$BATS_TEST_TMPDIR/partial")" -eq $((2 * 65536)) ]
	cmp "$BATS_TEST_TMPDIR/partial" <(head -c $((2 * 65536)) "$BATS_TEST_TMPDIR/data")
}

@test "a flipped bit anywhere in the header fails with exit 1" {
	sealed_sample
	for off in 0 7 8 9 12 14 45 46 77 78 100 $((H - 1)); do
		cp "$BATS_TEST_TMPDIR/data.sealed" "$BATS_TEST_TMPDIR/t"
		flip "$BATS_TEST_TMPDIR/t" "$off"
		run enf-seal open -o "$BATS_TEST_TMPDIR/out" "$BATS_TEST_TMPDIR/t"
		[ "$status" -eq 1 ]
		no_output "$BATS_TEST_TMPDIR/out"
	done
}

@test "a flipped bit in the body fails with exit 1, audited as a failed open" {
	sealed_sample
	for off in $H $((H + 1000)) $((H + C - 1)) $((H + 2 * C + 5)) $(($(stat -c %s "$BATS_TEST_TMPDIR/data.sealed") - 1)); do
		cp "$BATS_TEST_TMPDIR/data.sealed" "$BATS_TEST_TMPDIR/t"
		flip "$BATS_TEST_TMPDIR/t" "$off"
		before=$(audit_count)
		run enf-seal open -o "$BATS_TEST_TMPDIR/out" "$BATS_TEST_TMPDIR/t"
		[ "$status" -eq 1 ]
		[[ "$output" == *"does not authenticate"* ]]
		no_output "$BATS_TEST_TMPDIR/out"
		[ "$(audit_count)" -eq $((before + 1)) ]
		tail -n1 "$ENF_HOME/audit.log" | grep -q "op=open outcome=fail reason=not-authentic"
	done
}

@test "chunks swapped within a file fail with exit 1" {
	sealed_sample
	s="$BATS_TEST_TMPDIR/data.sealed"
	{ head -c $H "$s"; part "$s" $((H + C)) $C; part "$s" $H $C; tail -c +$((H + 2 * C + 1)) "$s"; } \
		>"$BATS_TEST_TMPDIR/t"
	[ "$(stat -c %s "$BATS_TEST_TMPDIR/t")" -eq "$(stat -c %s "$s")" ]
	run enf-seal open -o "$BATS_TEST_TMPDIR/out" "$BATS_TEST_TMPDIR/t"
	[ "$status" -eq 1 ]
	no_output "$BATS_TEST_TMPDIR/out"
}

@test "a chunk from another sealed file fails with exit 1" {
	sealed_sample
	s="$BATS_TEST_TMPDIR/data.sealed"
	enf-seal seal -o "$BATS_TEST_TMPDIR/second" "$BATS_TEST_TMPDIR/data"
	{ head -c $((H + C)) "$s"; part "$BATS_TEST_TMPDIR/second" $((H + C)) $C
	  tail -c +$((H + 2 * C + 1)) "$s"; } >"$BATS_TEST_TMPDIR/t"
	run enf-seal open -o "$BATS_TEST_TMPDIR/out" "$BATS_TEST_TMPDIR/t"
	[ "$status" -eq 1 ]
	no_output "$BATS_TEST_TMPDIR/out"
	# and a whole body under the other file's header
	{ head -c $H "$BATS_TEST_TMPDIR/second"; tail -c +$((H + 1)) "$s"; } >"$BATS_TEST_TMPDIR/t"
	run enf-seal open -o "$BATS_TEST_TMPDIR/out" "$BATS_TEST_TMPDIR/t"
	[ "$status" -eq 1 ]
}

@test "data appended after the final chunk fails with exit 1" {
	sealed_sample
	{ cat "$BATS_TEST_TMPDIR/data.sealed"; echo more; } >"$BATS_TEST_TMPDIR/t"
	run enf-seal open -o "$BATS_TEST_TMPDIR/out" "$BATS_TEST_TMPDIR/t"
	[ "$status" -eq 1 ]
	no_output "$BATS_TEST_TMPDIR/out"
}

@test "a file that is not sealed fails with exit 1 and writes nothing" {
	head -c 5000 /dev/urandom >"$BATS_TEST_TMPDIR/p"
	run enf-seal open -o "$BATS_TEST_TMPDIR/out" "$BATS_TEST_TMPDIR/p"
	[ "$status" -eq 1 ]
	[ "$output" = "enf-seal: not an enf sealed file" ]
	no_output "$BATS_TEST_TMPDIR/out"
}

@test "a missing input or an unwritable output is exit 3" {
	run enf-seal seal -o "$BATS_TEST_TMPDIR/s" "$BATS_TEST_TMPDIR/nope"
	[ "$status" -eq 3 ]
	no_output "$BATS_TEST_TMPDIR/s"
	echo x >"$BATS_TEST_TMPDIR/m"
	run enf-seal seal -o "$BATS_TEST_TMPDIR/no/such/dir/s" "$BATS_TEST_TMPDIR/m"
	[ "$status" -eq 3 ]
}

@test "seal and open without the operator credential and no terminal: exit 3" {
	echo x >"$BATS_TEST_TMPDIR/m"
	unset ENF_PASSPHRASE_FILE
	run no_tty enf-seal seal -o "$BATS_TEST_TMPDIR/s" "$BATS_TEST_TMPDIR/m"
	[ "$status" -eq 3 ]
	no_output "$BATS_TEST_TMPDIR/s"
}

# --- host binding: a private mount namespace gives this process another
# /etc/machine-id without any override in the product itself.

other_machine() { # CMD...: run CMD with another /etc/machine-id
	echo 0123456789abcdef0123456789abcdef >"$BATS_TEST_TMPDIR/machine-id"
	unshare --mount sh -c 'mount --bind "$0" /etc/machine-id && exec "$@"' \
		"$BATS_TEST_TMPDIR/machine-id" "$@"
}

@test "the mount namespace really changes /etc/machine-id for the command" {
	run other_machine cat /etc/machine-id
	[ "$status" -eq 0 ]
	[ "$output" = 0123456789abcdef0123456789abcdef ]
	[ "$(cat /etc/machine-id)" != 0123456789abcdef0123456789abcdef ]
}

@test "with --bind host, a copied home refuses under another machine-id" {
	rm -rf "$ENF_HOME"
	make_instance --bind host
	echo secret | enf-seal seal -o "$BATS_TEST_TMPDIR/s"
	enf-seal info "$BATS_TEST_TMPDIR/s" | grep -qx "host-bound yes"
	[ "$(enf-seal open "$BATS_TEST_TMPDIR/s")" = secret ]
	cp -a "$ENF_HOME" "$BATS_TEST_TMPDIR/copy"
	run other_machine env ENF_HOME="$BATS_TEST_TMPDIR/copy" enf-seal open -o "$BATS_TEST_TMPDIR/out" "$BATS_TEST_TMPDIR/s"
	[ "$status" -eq 1 ]
	[[ "$output" == *"sealed on another host"* ]]
	no_output "$BATS_TEST_TMPDIR/out"
	tail -n1 "$BATS_TEST_TMPDIR/copy/audit.log" | grep -q "op=open outcome=fail"
	# the original home on another machine-id fails the same way
	run other_machine enf-seal open "$BATS_TEST_TMPDIR/s"
	[ "$status" -eq 1 ]
}

@test "with --bind host, a copy on the same host still opens (what it does not stop)" {
	rm -rf "$ENF_HOME"
	make_instance --bind host
	echo secret | enf-seal seal -o "$BATS_TEST_TMPDIR/s"
	cp -a "$ENF_HOME" "$BATS_TEST_TMPDIR/copy"
	[ "$(ENF_HOME="$BATS_TEST_TMPDIR/copy" enf-seal open "$BATS_TEST_TMPDIR/s")" = secret ]
}

@test "without host binding, another machine-id opens: the binding is what refuses" {
	echo secret | enf-seal seal -o "$BATS_TEST_TMPDIR/s"
	run other_machine enf-seal open "$BATS_TEST_TMPDIR/s"
	[ "$status" -eq 0 ]
	[ "$output" = secret ]
}

@test "with --bind host and an unreadable or blank machine-id: exit 3, nothing sealed" {
	rm -rf "$ENF_HOME"
	make_instance --bind host
	echo secret >"$BATS_TEST_TMPDIR/m"
	: >"$BATS_TEST_TMPDIR/empty-id"
	run unshare --mount sh -c 'mount --bind "$0" /etc/machine-id && exec "$@"' \
		"$BATS_TEST_TMPDIR/empty-id" enf-seal seal -o "$BATS_TEST_TMPDIR/s" "$BATS_TEST_TMPDIR/m"
	[ "$status" -eq 3 ]
	[[ "$output" == *"/etc/machine-id"* ]]
	no_output "$BATS_TEST_TMPDIR/s"
}

# --- transfer

@test "transfer needs the officer: the operator's passphrase alone is exit 3" {
	other_instance
	echo secret | enf-seal seal -o "$BATS_TEST_TMPDIR/s"
	unset ENF_OFFICER_PASSPHRASE_FILE
	run no_tty enf-seal transfer --to "$BATS_TEST_TMPDIR/other.pub" -o "$BATS_TEST_TMPDIR/x" "$BATS_TEST_TMPDIR/s"
	[ "$status" -eq 3 ]
	no_output "$BATS_TEST_TMPDIR/x"
	run enf-seal transfer --officer-passphrase-file "$ENF_PASSPHRASE_FILE" \
		--to "$BATS_TEST_TMPDIR/other.pub" -o "$BATS_TEST_TMPDIR/x" "$BATS_TEST_TMPDIR/s"
	[ "$status" -eq 3 ]
	no_output "$BATS_TEST_TMPDIR/x"
	run enf-seal transfer --passphrase-file "$ENF_PASSPHRASE_FILE" \
		--to "$BATS_TEST_TMPDIR/other.pub" "$BATS_TEST_TMPDIR/s"
	[ "$status" -eq 2 ]
}

@test "a transferred file opens at the target and not at the source" {
	other_instance
	head -c 200000 /dev/urandom >"$BATS_TEST_TMPDIR/m"
	enf-seal seal -o "$BATS_TEST_TMPDIR/s" "$BATS_TEST_TMPDIR/m"
	enf-seal transfer --to "$BATS_TEST_TMPDIR/other.pub" -o "$BATS_TEST_TMPDIR/x" "$BATS_TEST_TMPDIR/s"
	ENF_HOME="$OTHER" enf-seal open -o "$BATS_TEST_TMPDIR/back" "$BATS_TEST_TMPDIR/x"
	cmp "$BATS_TEST_TMPDIR/m" "$BATS_TEST_TMPDIR/back"
	run enf-seal open "$BATS_TEST_TMPDIR/x"
	[ "$status" -eq 1 ]
	[ "$output" = "enf-seal: sealed to another instance" ]
	# the original stays sealed to the source only
	run env ENF_HOME="$OTHER" enf-seal open "$BATS_TEST_TMPDIR/s"
	[ "$status" -eq 1 ]
	[ "$output" = "enf-seal: sealed to another instance" ]
}

@test "transfer streams through pipes" {
	other_instance
	head -c 300000 /dev/urandom >"$BATS_TEST_TMPDIR/m"
	enf-seal seal <"$BATS_TEST_TMPDIR/m" | enf-seal transfer --to "$BATS_TEST_TMPDIR/other.pub" |
		ENF_HOME="$OTHER" enf-seal open >"$BATS_TEST_TMPDIR/back"
	cmp "$BATS_TEST_TMPDIR/m" "$BATS_TEST_TMPDIR/back"
}

@test "info of a transferred file names the target and where it came from" {
	other_instance
	enf-keygen instance >"$BATS_TEST_TMPDIR/me.pub"
	echo hi | enf-seal seal | enf-seal transfer --to "$BATS_TEST_TMPDIR/other.pub" -o "$BATS_TEST_TMPDIR/x"
	run enf-seal info "$BATS_TEST_TMPDIR/x"
	[ "$status" -eq 0 ]
	[ "${lines[1]}" = "instance $(fp "$BATS_TEST_TMPDIR/other.pub")" ]
	[ "${lines[2]}" = "transferred-from $(fp "$BATS_TEST_TMPDIR/me.pub")" ]
	[ "${lines[3]}" = "host-bound no" ]
}

@test "transfer and the target's open are audited on both sides with the peer" {
	other_instance
	me=$(fp <(enf-keygen instance))
	them=$(fp "$BATS_TEST_TMPDIR/other.pub")
	echo hi | enf-seal seal -o "$BATS_TEST_TMPDIR/s"
	before=$(audit_count)
	enf-seal transfer --to "$BATS_TEST_TMPDIR/other.pub" -o "$BATS_TEST_TMPDIR/x" "$BATS_TEST_TMPDIR/s"
	[ "$(audit_count)" -eq $((before + 1)) ]
	rec=$(tail -n1 "$ENF_HOME/audit.log")
	[[ "$rec" == *"program=enf-seal op=transfer outcome=ok"* ]]
	[[ "$rec" == *"peer=$them"* ]]
	ENF_HOME="$OTHER" enf-seal open "$BATS_TEST_TMPDIR/x" >/dev/null
	rec2=$(tail -n1 "$OTHER/audit.log")
	[[ "$rec2" == *"program=enf-seal op=open outcome=ok"* ]]
	[[ "$rec2" == *"peer=$me"* ]]
	# the file id the target opened is the one the source transferred
	new=$(enf-seal info "$BATS_TEST_TMPDIR/x" | sed -n 's/^file-id //p')
	[[ "$rec" == *"transferred-as:$new"* ]]
	[[ "$rec2" == *"file-id:$new"* ]]
}

# forge OUT [--unsigned]: a transfer to the other instance, naming this one
# as its source, made from the two public identity files alone.
forge() {
	enf-keygen instance >"$BATS_TEST_TMPDIR/me.pub"
	echo "forged secret" | "$BATS_TEST_DIRNAME/seal-forge.py" "${@:2}" \
		"$BATS_TEST_TMPDIR/other.pub" "$BATS_TEST_TMPDIR/me.pub" >"$1"
}

# expect_refused FILE REASON: the other instance refuses to open FILE with
# exit 1, writes nothing, and records REASON with no peer and no file id.
expect_refused() {
	local before rec
	before=$(ENF_HOME="$OTHER" audit_count)
	run env ENF_HOME="$OTHER" enf-seal open -o "$BATS_TEST_TMPDIR/out" "$1"
	[ "$status" -eq 1 ]
	[[ "$output" != *secret* ]]
	no_output "$BATS_TEST_TMPDIR/out"
	[ "$(ENF_HOME="$OTHER" audit_count)" -eq $((before + 1)) ]
	rec=$(tail -n1 "$OTHER/audit.log")
	[[ "$rec" == *"program=enf-seal op=open outcome=fail reason=$2 "* ]]
	[[ "$rec" == *" peer=- detail=- "* ]]
	# info vouches for no source either
	run enf-seal info "$1"
	[ "$status" -eq 1 ]
}

@test "a transfer forged from the two public identity files is refused, in either layout" {
	other_instance
	forge "$BATS_TEST_TMPDIR/unsigned" --unsigned
	expect_refused "$BATS_TEST_TMPDIR/unsigned" unsigned-transfer
	[[ "$output" == *"unsigned transfer"* ]]
	forge "$BATS_TEST_TMPDIR/forged"
	expect_refused "$BATS_TEST_TMPDIR/forged" bad-transfer-signature
}

@test "a transfer whose signature or source key was flipped is refused" {
	other_instance
	echo secret | enf-seal seal | enf-seal transfer --to "$BATS_TEST_TMPDIR/other.pub" \
		-o "$BATS_TEST_TMPDIR/x"
	[ "$(ENF_HOME="$OTHER" enf-seal open "$BATS_TEST_TMPDIR/x")" = secret ]
	for off in 78 109 150 190 253; do	# source key, box, signature (enf-seal(5))
		cp "$BATS_TEST_TMPDIR/x" "$BATS_TEST_TMPDIR/t"
		flip "$BATS_TEST_TMPDIR/t" "$off"
		run cmp -s "$BATS_TEST_TMPDIR/t" "$BATS_TEST_TMPDIR/x"
		[ "$status" -eq 1 ]
		expect_refused "$BATS_TEST_TMPDIR/t" bad-transfer-signature
	done
}

# The file comes to this instance, so that in agent mode the opens with
# --from go through the agent (which serves $ENF_HOME only).
@test "open --from pins the source: another source or a local file is refused" {
	other_instance
	enf-keygen instance >"$BATS_TEST_TMPDIR/me.pub"
	ENF_HOME="$BATS_TEST_TMPDIR/third" make_instance
	ENF_HOME="$BATS_TEST_TMPDIR/third" enf-keygen instance >"$BATS_TEST_TMPDIR/third.pub"
	echo secret | ENF_HOME="$OTHER" command enf-seal seal |
		ENF_HOME="$OTHER" command enf-seal transfer --to "$BATS_TEST_TMPDIR/me.pub" \
			-o "$BATS_TEST_TMPDIR/x"
	run enf-seal open --from "$BATS_TEST_TMPDIR/other.pub" "$BATS_TEST_TMPDIR/x"
	[ "$status" -eq 0 ]
	[ "$output" = secret ]
	before=$(audit_count)
	run enf-seal open --from "$BATS_TEST_TMPDIR/third.pub" \
		-o "$BATS_TEST_TMPDIR/out" "$BATS_TEST_TMPDIR/x"
	[ "$status" -eq 1 ]
	[ "$output" = "enf-seal: not transferred from the instance --from names" ]
	no_output "$BATS_TEST_TMPDIR/out"
	[ "$(audit_count)" -eq $((before + 1)) ]
	rec=$(tail -n1 "$ENF_HOME/audit.log")
	[[ "$rec" == *"op=open outcome=fail reason=unexpected-source"* ]]
	# the record names the source the signature proves, not the expected one
	[[ "$rec" == *"peer=$(fp "$BATS_TEST_TMPDIR/other.pub")"* ]]
	echo local | enf-seal seal -o "$BATS_TEST_TMPDIR/local"
	run enf-seal open --from "$BATS_TEST_TMPDIR/other.pub" "$BATS_TEST_TMPDIR/local"
	[ "$status" -eq 1 ]
	[ "$output" = "enf-seal: not transferred from the instance --from names" ]
	before=$(audit_count)
	run enf-seal open --from "$BATS_TEST_TMPDIR/nope.pub" "$BATS_TEST_TMPDIR/x"
	[ "$status" -eq 3 ]
	[[ "$output" == "enf-seal: $BATS_TEST_TMPDIR/nope.pub: "* ]]
	head -n1 "$BATS_TEST_TMPDIR/me.pub" >"$BATS_TEST_TMPDIR/half.pub"
	run enf-seal open --from "$BATS_TEST_TMPDIR/half.pub" "$BATS_TEST_TMPDIR/x"
	[ "$status" -eq 1 ]
	[[ "$output" == "enf-seal: $BATS_TEST_TMPDIR/half.pub: "* ]]
	[ "$(audit_count)" -eq "$before" ]
	run enf-seal seal --from "$BATS_TEST_TMPDIR/me.pub" "$BATS_TEST_TMPDIR/me.pub"
	[ "$status" -eq 2 ]
	run enf-seal transfer --from "$BATS_TEST_TMPDIR/me.pub" --to "$BATS_TEST_TMPDIR/other.pub" "$BATS_TEST_TMPDIR/x"
	[ "$status" -eq 2 ]
	run enf-seal info --from "$BATS_TEST_TMPDIR/me.pub" "$BATS_TEST_TMPDIR/x"
	[ "$status" -eq 2 ]
}

@test "transfer refuses a file sealed to another instance, a tampered file and a bad identity file" {
	other_instance
	echo hi | ENF_HOME="$OTHER" enf-seal seal -o "$BATS_TEST_TMPDIR/theirs"
	run enf-seal transfer --to "$BATS_TEST_TMPDIR/other.pub" -o "$BATS_TEST_TMPDIR/x" "$BATS_TEST_TMPDIR/theirs"
	[ "$status" -eq 1 ]
	[ "$output" = "enf-seal: sealed to another instance" ]
	no_output "$BATS_TEST_TMPDIR/x"
	sealed_sample
	head -c $((H + C)) "$BATS_TEST_TMPDIR/data.sealed" >"$BATS_TEST_TMPDIR/t"
	run enf-seal transfer --to "$BATS_TEST_TMPDIR/other.pub" -o "$BATS_TEST_TMPDIR/x" "$BATS_TEST_TMPDIR/t"
	[ "$status" -eq 1 ]
	no_output "$BATS_TEST_TMPDIR/x"
	head -n1 "$BATS_TEST_TMPDIR/other.pub" >"$BATS_TEST_TMPDIR/half.pub"
	run enf-seal transfer --to "$BATS_TEST_TMPDIR/half.pub" -o "$BATS_TEST_TMPDIR/x" "$BATS_TEST_TMPDIR/data.sealed"
	[ "$status" -eq 1 ]
	no_output "$BATS_TEST_TMPDIR/x"
}

@test "a transfer to this instance itself is refused" {
	enf-keygen instance >"$BATS_TEST_TMPDIR/me.pub"
	echo hi | enf-seal seal -o "$BATS_TEST_TMPDIR/s"
	run enf-seal transfer --to "$BATS_TEST_TMPDIR/me.pub" -o "$BATS_TEST_TMPDIR/x" "$BATS_TEST_TMPDIR/s"
	[ "$status" -eq 2 ]
	no_output "$BATS_TEST_TMPDIR/x"
}

@test "every seal and open leaves one audit record with its op and outcome" {
	before=$(audit_count)
	echo hi | enf-seal seal -o "$BATS_TEST_TMPDIR/s"
	enf-seal open "$BATS_TEST_TMPDIR/s" >/dev/null
	head -c 140 "$BATS_TEST_TMPDIR/s" >"$BATS_TEST_TMPDIR/t"
	run enf-seal open "$BATS_TEST_TMPDIR/t"
	[ "$status" -eq 1 ]
	[ "$(audit_count)" -eq $((before + 3)) ]
	tail -n3 "$ENF_HOME/audit.log" | sed -n 1p | grep -q "program=enf-seal op=seal outcome=ok"
	tail -n3 "$ENF_HOME/audit.log" | sed -n 2p | grep -q "program=enf-seal op=open outcome=ok"
	tail -n3 "$ENF_HOME/audit.log" | sed -n 3p | grep -q "program=enf-seal op=open outcome=fail"
	id=$(enf-seal info "$BATS_TEST_TMPDIR/s" | sed -n 's/^file-id //p')
	tail -n3 "$ENF_HOME/audit.log" | sed -n 1p | grep -q "detail=file-id:$id"
}

@test "enf-audit shows the seal, open, failed open and transfer records, and the log verifies" {
	other_instance
	them=$(fp "$BATS_TEST_TMPDIR/other.pub")
	echo hi | enf-seal seal -o "$BATS_TEST_TMPDIR/s"
	enf-seal open "$BATS_TEST_TMPDIR/s" >/dev/null
	head -c 140 "$BATS_TEST_TMPDIR/s" >"$BATS_TEST_TMPDIR/t"
	run enf-seal open "$BATS_TEST_TMPDIR/t"
	[ "$status" -eq 1 ]
	enf-seal transfer --to "$BATS_TEST_TMPDIR/other.pub" -o "$BATS_TEST_TMPDIR/x" "$BATS_TEST_TMPDIR/s"
	# (Through the agent, peer also holds the observed caller: strip it.)
	run bash -c 'enf-audit show --json | jq -c "select(.program == \"enf-seal\") | [.op, .outcome,
		(.peer // \"\" | sub(\" ?uid=[0-9]+,pid=[0-9]+$\"; \"\") | if . == \"\" then null else . end)]"'
	[ "$status" -eq 0 ]
	[ "${#lines[@]}" -eq 4 ]
	[ "${lines[0]}" = '["seal","ok",null]' ]
	[ "${lines[1]}" = '["open","ok",null]' ]
	[ "${lines[2]}" = '["open","fail",null]' ]
	[ "${lines[3]}" = "[\"transfer\",\"ok\",\"$them\"]" ]
	enf-audit verify
}
