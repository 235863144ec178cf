#!/usr/bin/env bats
# --bind tpm against real software TPMs (swtpm): each test starts its own on
# loopback ports with its state in the test's directory, and stops it by
# pid.  A second swtpm is "another machine".

load helper
bats_require_minimum_version 1.5.0

setup() {
	common_setup
	TPM_A=$(start_tpm a)
	export TSS2_TCTI=$TPM_A TPM2TOOLS_TCTI=$TPM_A
	COPY="$BATS_TEST_TMPDIR/copy"
	DATA="$BATS_TEST_TMPDIR/data"
	printf 'release tarball bytes\n' >"$DATA"
}

teardown() {
	local p
	for p in "$BATS_TEST_TMPDIR"/tpm-*/pid; do
		[ -f "$p" ] && kill "$(cat "$p")" 2>/dev/null
	done
	return 0
}

# start_tpm NAME: a software TPM with its state in $BATS_TEST_TMPDIR/tpm-NAME
# (kept across restarts), on free loopback ports; prints its TCTI string.
# TPM_LOG=1: every command and response goes to its log.
start_tpm() {
	local dir="$BATS_TEST_TMPDIR/tpm-$1" port i
	mkdir -p "$dir"
	for i in $(seq 1 50); do
		port=$(cat "$dir/port" 2>/dev/null || echo $((20000 + 2 * (RANDOM % 15000))))
		if swtpm socket --tpmstate dir="$dir" --tpm2 \
			--server type=tcp,port="$port",bindaddr=127.0.0.1 \
			--ctrl type=tcp,port=$((port + 1)),bindaddr=127.0.0.1 \
			--flags not-need-init,startup-clear --daemon --pid file="$dir/pid" \
			${TPM_LOG:+--log file="$dir/log",level=20} >>"$dir/out" 2>&1; then
			echo "$port" >"$dir/port"
			echo "swtpm:host=127.0.0.1,port=$port"
			return 0
		fi
		[ -f "$dir/port" ] && sleep 0.1	# a restart: the old socket may linger
	done
	echo "cannot start swtpm" >&2
	return 1
}

stop_tpm() { # NAME [SIGNAL]
	local pid
	pid=$(cat "$BATS_TEST_TMPDIR/tpm-$1/pid")
	kill -"${2:-TERM}" "$pid"
	while kill -0 "$pid" 2>/dev/null; do sleep 0.05; done
}

# A TPM-bound instance with key rel, a policy that lets ci-bot sign with it,
# and a request req.
bound_instance() {
	make_instance --bind tpm "$@"
	enf-keygen new -p release rel >/dev/null
	make_ssh_key ci
	cat >"$BATS_TEST_TMPDIR/policy.txt" <<-EOF
	version 1
	policy tpm-1
	purpose release
	identity ci-bot $(cut -d' ' -f1,2 "$BATS_TEST_TMPDIR/ssh/ci.pub")
	rule rel key=rel identity=ci-bot purpose=release scope=artifact:tarball
	EOF
	enf-policy install "$BATS_TEST_TMPDIR/policy.txt" >/dev/null 2>&1
	enf-request -k rel -i ci-bot -p release -s artifact:tarball -r rel \
		--ssh-key "$BATS_TEST_TMPDIR/ssh/ci" "$DATA" >"$BATS_TEST_TMPDIR/req"
}

# The home copied as a thief would: every file, modes kept.
copy_home() { cp -a "$ENF_HOME" "$COPY"; }

last_reason() { # [HOME]
	tail -n1 "${1:-$ENF_HOME}/audit.log" | tr ' ' '\n' | sed -n 's/^reason=//p'
}

sign() { enf-sign -o "$BATS_TEST_TMPDIR/out.sig" "$BATS_TEST_TMPDIR/req"; }

@test "a TPM-bound instance inits, creates keys, signs, seals and opens" {
	bound_instance
	grep -q 'op=init outcome=ok reason=bind-tpm' "$ENF_HOME/audit.log"
	[ -n "$(record_get tpm | base64 -w0)" ]
	sign
	enf-keygen pubkey rel >"$BATS_TEST_TMPDIR/pub"
	enf-verify -p release -k "$BATS_TEST_TMPDIR/pub" -s "$BATS_TEST_TMPDIR/out.sig" "$DATA"
	enf-seal seal -o "$BATS_TEST_TMPDIR/s" "$DATA"
	enf-seal open -o "$BATS_TEST_TMPDIR/o" "$BATS_TEST_TMPDIR/s"
	cmp "$DATA" "$BATS_TEST_TMPDIR/o"
}

@test "--tcti at init overrides the environment; later commands take \$TSS2_TCTI, then \$TPM2TOOLS_TCTI" {
	TSS2_TCTI=swtpm:host=127.0.0.1,port=1 TPM2TOOLS_TCTI= \
		make_instance --bind tpm --tcti "$TPM_A"
	TPM2TOOLS_TCTI= enf-keygen new -p release a >/dev/null
	TSS2_TCTI= enf-keygen new -p release b >/dev/null
	run env TSS2_TCTI= TPM2TOOLS_TCTI= enf-keygen new -p release c
	[ "$status" -eq 3 ]
	[[ "$output" == *"TCTI 'device:/dev/tpmrm0'"* ]]
}

@test "the TPM options are refused without --bind tpm, and a bad PCR list: exit 2, no home" {
	for args in "--tpm-pcrs 16" "--bind host --tcti $TPM_A" "--bind tpm --tpm-pcrs 24" \
		"--bind tpm --tpm-pcrs 1,,2" "--bind tpm --tpm-pcrs x" "--bind tpm --tpm-pcrs ''"; do
		# shellcheck disable=SC2086
		run eval enf-keygen init --argon2 1:8192:1 $args
		[ "$status" -eq 2 ]
		[ ! -e "$ENF_HOME" ]
	done
	run enf-keygen init --bind moon
	[ "$status" -eq 2 ]
	[[ "$output" == *"tpm, host or none"* ]]
	make_instance --bind tpm
	run enf-keygen new --tcti "$TPM_A" -p release k
	[ "$status" -eq 2 ]
	run enf-keygen list --tpm-pcrs 16
	[ "$status" -eq 2 ]
}

@test "init with no TPM to reach is exit 3 and creates no keystore" {
	run enf-keygen init --argon2 1:8192:1 --bind tpm --tcti swtpm:host=127.0.0.1,port=1
	[ "$status" -eq 3 ]
	[[ "$output" == *"cannot reach the TPM"* ]]
	[ ! -e "$ENF_HOME/keystore" ]
}

@test "a copied home beside a second TPM: every program and role fails with 'bound to another TPM'" {
	bound_instance
	enf-seal seal -o "$BATS_TEST_TMPDIR/s" "$DATA"
	ENF_HOME="$BATS_TEST_TMPDIR/other" make_instance
	ENF_HOME="$BATS_TEST_TMPDIR/other" enf-keygen instance >"$BATS_TEST_TMPDIR/other.pub"
	copy_home
	export ENF_HOME=$COPY
	TPM_B=$(start_tpm b)
	export TSS2_TCTI=$TPM_B TPM2TOOLS_TCTI=$TPM_B
	before=$(cksum <"$COPY/keystore")
	for cmd in "enf-sign -o $BATS_TEST_TMPDIR/out.sig $BATS_TEST_TMPDIR/req" \
		"enf-seal open -o $BATS_TEST_TMPDIR/o $BATS_TEST_TMPDIR/s" \
		"enf-seal seal -o $BATS_TEST_TMPDIR/s2 $DATA" \
		"enf-seal transfer --to $BATS_TEST_TMPDIR/other.pub -o $BATS_TEST_TMPDIR/t $BATS_TEST_TMPDIR/s" \
		"enf-keygen new -p release k2" \
		"enf-keygen state rel deactivated" \
		"enf-keygen reset-lockout" \
		"enf-keygen passwd --role officer --new-passphrase-file $ENF_PASSPHRASE_FILE" \
		"enf-policy install $BATS_TEST_TMPDIR/policy.txt"; do
		n=$(audit_count)
		run --separate-stderr $cmd
		[ "$status" -eq 3 ]
		[ -z "$output" ]
		[[ "$stderr" == *"bound to another TPM"* ]]
		[ "$(audit_count)" -eq $((n + 1)) ]
		[ "$(last_reason)" = tpm-other ]
	done
	for f in out.sig o s2 t; do [ ! -e "$BATS_TEST_TMPDIR/$f" ]; done
	[ "$(cksum <"$COPY/keystore")" = "$before" ]
}

@test "on another TPM no passphrase is asked or tried, and 20 attempts count no guess" {
	make_instance --bind tpm --lockout 3
	copy_home
	TPM_B=$(start_tpm b)
	printf 'not the passphrase\n' >"$BATS_TEST_TMPDIR/wrong"
	run no_tty env -u ENF_PASSPHRASE_FILE TSS2_TCTI="$TPM_B" ENF_HOME="$COPY" \
		enf-seal seal -o "$BATS_TEST_TMPDIR/x" "$DATA"
	[ "$status" -eq 3 ]
	[[ "$output" == *"bound to another TPM"* ]]
	right=$(TSS2_TCTI=$TPM_B ENF_HOME=$COPY enf-seal seal "$DATA" 2>&1 >/dev/null || true)
	for i in $(seq 20); do
		run env TSS2_TCTI="$TPM_B" ENF_HOME="$COPY" \
			enf-seal seal --passphrase-file "$BATS_TEST_TMPDIR/wrong" "$DATA"
		[ "$status" -eq 3 ]
		[ "$output" = "$right" ]
	done
	# Back on its own TPM the copy is not locked: nothing was counted.
	ENF_HOME=$COPY enf-seal seal -o "$BATS_TEST_TMPDIR/x" "$DATA"
	run env ENF_HOME="$COPY" enf-seal seal --passphrase-file "$BATS_TEST_TMPDIR/wrong" "$DATA"
	[ "$status" -eq 3 ]
	[[ "$output" == *"wrong operator passphrase"* ]]
}

@test "a sealed file leaves a TPM-bound instance only by transfer: a copy on a second TPM cannot open it" {
	bound_instance
	enf-seal seal -o "$BATS_TEST_TMPDIR/s" "$DATA"
	# The binding is the instance's, not the file's.
	enf-seal info "$BATS_TEST_TMPDIR/s" | grep -qx 'host-bound no'
	copy_home
	TPM_B=$(start_tpm b)
	run env TSS2_TCTI="$TPM_B" ENF_HOME="$COPY" enf-seal open -o "$BATS_TEST_TMPDIR/o" "$BATS_TEST_TMPDIR/s"
	[ "$status" -eq 3 ]
	[[ "$output" == *"bound to another TPM"* ]]
	[ ! -e "$BATS_TEST_TMPDIR/o" ]
	# The officer's transfer, on the instance's own TPM, moves it.
	ENF_HOME="$BATS_TEST_TMPDIR/other" make_instance
	ENF_HOME="$BATS_TEST_TMPDIR/other" enf-keygen instance >"$BATS_TEST_TMPDIR/other.pub"
	enf-seal transfer --to "$BATS_TEST_TMPDIR/other.pub" -o "$BATS_TEST_TMPDIR/t" "$BATS_TEST_TMPDIR/s"
	ENF_HOME="$BATS_TEST_TMPDIR/other" enf-seal open -o "$BATS_TEST_TMPDIR/o" "$BATS_TEST_TMPDIR/t"
	cmp "$DATA" "$BATS_TEST_TMPDIR/o"
}

@test "passwd and reset-lockout on a TPM-bound instance: the new passphrases need the TPM too" {
	make_instance --bind tpm --lockout 2
	printf 'new officer phrase\n' >"$BATS_TEST_TMPDIR/off2"
	printf 'new operator phrase\n' >"$BATS_TEST_TMPDIR/op2"
	printf 'not the passphrase\n' >"$BATS_TEST_TMPDIR/wrong"
	for i in 1 2; do
		run enf-seal seal --passphrase-file "$BATS_TEST_TMPDIR/wrong" "$DATA"
	done
	run enf-seal seal "$DATA"
	[[ "$output" == *locked* ]]
	enf-keygen reset-lockout
	enf-keygen passwd --role operator --new-passphrase-file "$BATS_TEST_TMPDIR/op2"
	enf-keygen passwd --role officer --new-passphrase-file "$BATS_TEST_TMPDIR/off2"
	export ENF_PASSPHRASE_FILE="$BATS_TEST_TMPDIR/op2" ENF_OFFICER_PASSPHRASE_FILE="$BATS_TEST_TMPDIR/off2"
	enf-seal seal -o "$BATS_TEST_TMPDIR/s" "$DATA"
	enf-keygen new -p release k >/dev/null
	copy_home
	TPM_B=$(start_tpm b)
	run env TSS2_TCTI="$TPM_B" ENF_HOME="$COPY" enf-seal open "$BATS_TEST_TMPDIR/s"
	[ "$status" -eq 3 ]
	[[ "$output" == *"bound to another TPM"* ]]
}

@test "a PCR-bound instance works until the PCR is extended, and again once it is reset" {
	bound_instance --tpm-pcrs 16,23
	sign
	tpm2_pcrextend 16:sha256=$(printf 'boot' | sha256sum | cut -d' ' -f1)
	rm -f "$BATS_TEST_TMPDIR/out.sig"
	run sign
	[ "$status" -eq 3 ]
	[[ "$output" == *"PCR 16,23 no longer holds the value it had at init"* ]]
	[ "$(last_reason)" = tpm-pcr ]
	[ ! -e "$BATS_TEST_TMPDIR/out.sig" ]
	run enf-keygen new -p release k2
	[ "$status" -eq 3 ]
	[ "$(last_reason)" = tpm-pcr ]
	tpm2_pcrreset 16
	sign
	enf-keygen new -p release k2 >/dev/null
}

@test "an instance without a PCR policy ignores the PCRs" {
	bound_instance
	tpm2_pcrextend 16:sha256=$(printf 'boot' | sha256sum | cut -d' ' -f1)
	sign
}

@test "a stopped TPM is exit 3 with a record, and no output" {
	bound_instance
	stop_tpm a
	n=$(audit_count)
	run sign
	[ "$status" -eq 3 ]
	[[ "$output" == *"cannot reach the TPM through TCTI 'swtpm:host=127.0.0.1,port="* ]]
	[ "$(audit_count)" -eq $((n + 1)) ]
	[ "$(last_reason)" = tpm-unavailable ]
	[ ! -e "$BATS_TEST_TMPDIR/out.sig" ]
}

@test "a wrong TCTI string is exit 3 with a record, for every kind of mistake" {
	bound_instance
	for tcti in nosuchtcti:x swtpm:host=127.0.0.1,port=1 device:/nonexistent "swtpm:port=x"; do
		n=$(audit_count)
		run env TSS2_TCTI="$tcti" enf-seal seal -o "$BATS_TEST_TMPDIR/x" "$DATA"
		[ "$status" -eq 3 ]
		[[ "$output" == *"cannot reach the TPM through TCTI '$tcti'"* ]]
		[ "$(audit_count)" -eq $((n + 1)) ]
		[ "$(last_reason)" = tpm-unavailable ]
		[ ! -e "$BATS_TEST_TMPDIR/x" ]
	done
}

@test "the TPM killed while enf waits for it: exit 3, no output; restarted, the instance works" {
	bound_instance
	pid=$(cat "$BATS_TEST_TMPDIR/tpm-a/pid")
	port=$(cat "$BATS_TEST_TMPDIR/tpm-a/port")
	kill -STOP "$pid"
	sign 2>"$BATS_TEST_TMPDIR/err" &
	job=$!
	# Wait until enf is connected (the TPM, stopped, never answers); bounded
	# so that a test that goes wrong fails instead of hanging.
	connected=0
	for i in $(seq 200); do
		if ss -tn state established "( dport = :$port or dport = :$((port + 1)) )" |
			grep -q 127.0.0.1; then
			connected=1
			break
		fi
		sleep 0.05
	done
	[ "$connected" -eq 1 ]
	kill -KILL "$pid"
	rc=0
	wait "$job" || rc=$?
	[ "$rc" -eq 3 ]
	grep -q "cannot reach the TPM" "$BATS_TEST_TMPDIR/err"
	[ ! -e "$BATS_TEST_TMPDIR/out.sig" ]
	[ "$(last_reason)" = tpm-unavailable ]
	start_tpm a >/dev/null
	sign
}

@test "a TPM in dictionary-attack lockout does not stop enf, and enf never feeds its counter" {
	bound_instance
	fl() { tpm2_flushcontext -t; tpm2_flushcontext -s; }
	# Lock the TPM out: a password-protected object and one wrong password.
	tpm2_dictionarylockout -s -n 1 -t 600 -l 600
	cd "$BATS_TEST_TMPDIR"
	tpm2_createprimary -Q -C o -c p.ctx; fl
	printf 'data' | tpm2_create -Q -C p.ctx -p rightpw -i - -u o.pub -r o.priv; fl
	tpm2_load -Q -C p.ctx -u o.pub -r o.priv -c o.ctx; fl
	run tpm2_unseal -c o.ctx -p wrongpw
	[ "$status" -ne 0 ]
	fl
	tpm2_getcap properties-variable | grep -q 'inLockout: *1'
	counter=$(tpm2_getcap properties-variable | grep TPM2_PT_LOCKOUT_COUNTER)
	sign
	enf-keygen new -p release k2 >/dev/null
	copy_home
	TPM_B=$(start_tpm b)
	for i in 1 2 3; do
		run env TSS2_TCTI="$TPM_B" ENF_HOME="$COPY" enf-keygen new -p release k3
		[ "$status" -eq 3 ]
	done
	[ "$(tpm2_getcap properties-variable | grep TPM2_PT_LOCKOUT_COUNTER)" = "$counter" ]
	[ "$(TPM2TOOLS_TCTI=$TPM_B tpm2_getcap properties-variable | grep TPM2_PT_LOCKOUT_COUNTER)" = \
		"TPM2_PT_LOCKOUT_COUNTER: 0x0" ]
}

@test "a deleted TPM record is exit 3, a damaged one exit 1; neither counts as a guess" {
	make_instance --bind tpm --lockout 2
	record_get tpm >"$BATS_TEST_TMPDIR/tpm.rec"
	# Damaged: a flipped byte in the sealed object's private part (at the end).
	cp "$BATS_TEST_TMPDIR/tpm.rec" "$BATS_TEST_TMPDIR/bad.rec"
	size=$(stat -c %s "$BATS_TEST_TMPDIR/bad.rec")
	printf '\x55' | dd of="$BATS_TEST_TMPDIR/bad.rec" bs=1 seek=$((size - 10)) conv=notrunc status=none
	record_put tpm "$BATS_TEST_TMPDIR/bad.rec"
	for i in 1 2 3; do
		run enf-seal seal -o "$BATS_TEST_TMPDIR/x" "$DATA"
		[ "$status" -eq 1 ]
		[[ "$output" == *"does not load on its TPM: it was replaced or damaged"* ]]
		[ "$(last_reason)" = tpm-object ]
	done
	# Cut short: not a record at all.
	head -c 40 "$BATS_TEST_TMPDIR/tpm.rec" >"$BATS_TEST_TMPDIR/short.rec"
	record_put tpm "$BATS_TEST_TMPDIR/short.rec"
	run enf-seal seal -o "$BATS_TEST_TMPDIR/x" "$DATA"
	[ "$status" -eq 1 ]
	[[ "$output" == *"TPM record is corrupt"* ]]
	gdbmtool -q "$ENF_HOME/keystore" delete tpm
	run enf-keygen new -p release k
	[ "$status" -eq 3 ]
	[[ "$output" == *"no TPM record"* ]]
	[ "$(last_reason)" = tpm-object ]
	[ ! -e "$BATS_TEST_TMPDIR/x" ]
	record_put tpm "$BATS_TEST_TMPDIR/tpm.rec"
	enf-seal seal -o "$BATS_TEST_TMPDIR/x" "$DATA"
}

@test "another instance's TPM record, from the same TPM, is refused as such and counts no guess" {
	make_instance --bind tpm --lockout 2
	ENF_HOME="$BATS_TEST_TMPDIR/other" make_instance --bind tpm
	ENF_HOME="$BATS_TEST_TMPDIR/other" record_get tpm >"$BATS_TEST_TMPDIR/other.rec"
	record_get tpm >"$BATS_TEST_TMPDIR/tpm.rec"
	record_put tpm "$BATS_TEST_TMPDIR/other.rec"
	for i in 1 2 3; do
		run enf-seal seal -o "$BATS_TEST_TMPDIR/x" "$DATA"
		[ "$status" -eq 1 ]
		[[ "$output" == *"belongs to another instance"* ]]
	done
	record_put tpm "$BATS_TEST_TMPDIR/tpm.rec"
	enf-seal seal -o "$BATS_TEST_TMPDIR/x" "$DATA"
}

@test "a cleared TPM (new owner seed) is 'another TPM': only a transfer made before saves the data" {
	bound_instance
	enf-seal seal -o "$BATS_TEST_TMPDIR/s" "$DATA"
	tpm2_clear -c p
	run enf-seal open -o "$BATS_TEST_TMPDIR/o" "$BATS_TEST_TMPDIR/s"
	[ "$status" -eq 3 ]
	[[ "$output" == *"bound to another TPM"* ]]
	[ ! -e "$BATS_TEST_TMPDIR/o" ]
}

@test "host and none bindings never touch the TPM" {
	export TSS2_TCTI=swtpm:host=127.0.0.1,port=1
	make_instance
	enf-keygen new -p release a >/dev/null
	ENF_HOME="$BATS_TEST_TMPDIR/h" make_instance --bind host
	ENF_HOME="$BATS_TEST_TMPDIR/h" enf-keygen new -p release a >/dev/null
	ENF_HOME="$BATS_TEST_TMPDIR/h" enf-seal seal -o "$BATS_TEST_TMPDIR/s" "$DATA"
	ENF_HOME="$BATS_TEST_TMPDIR/h" enf-seal open -o "$BATS_TEST_TMPDIR/o" "$BATS_TEST_TMPDIR/s"
	cmp "$DATA" "$BATS_TEST_TMPDIR/o"
	[ -z "$(record_get tpm)" ]
}

# Each Unseal's 32 bytes of output, as they crossed the bus (swtpm's log
# of every command and response, in hex).
unsealed_on_bus() {
	awk 'function flush() { if (kind != "") print kind, buf; kind = ""; buf = "" }
	     /SWTPM_IO_Read/ { flush(); kind = "C"; next }
	     /SWTPM_IO_Write/ { flush(); kind = "R"; next }
	     /^ *([0-9A-F][0-9A-F] ?)+$/ { if (kind != "") { gsub(/ /, ""); buf = buf $0 }; next }
	     { flush() }
	     END { flush() }' "$1" |
	awk '$1 == "C" { unseal = substr($2, 13, 8) == "0000015E" }
	     $1 == "R" && unseal && substr($2, 13, 8) == "00000000" && substr($2, 29, 4) == "0020" {
		print substr($2, 33, 64); unseal = 0 }'
}

@test "the unsealed secret crosses the bus encrypted: two unlocks carry different bytes" {
	stop_tpm a
	TPM_LOG=1 start_tpm a >/dev/null
	make_instance --bind tpm
	: >"$BATS_TEST_TMPDIR/tpm-a/log"
	enf-seal seal -o "$BATS_TEST_TMPDIR/s" "$DATA"
	enf-seal open -o "$BATS_TEST_TMPDIR/o" "$BATS_TEST_TMPDIR/s"
	unsealed_on_bus "$BATS_TEST_TMPDIR/tpm-a/log" >"$BATS_TEST_TMPDIR/seen"
	[ "$(wc -l <"$BATS_TEST_TMPDIR/seen")" -eq 2 ]
	[ "$(sort -u "$BATS_TEST_TMPDIR/seen" | wc -l)" -eq 2 ]
}

@test "what needs no credential needs no TPM: list, pubkey, instance, seal info, audit verify" {
	bound_instance
	enf-seal seal -o "$BATS_TEST_TMPDIR/s" "$DATA"
	stop_tpm a
	enf-keygen list | grep -q '^rel '
	enf-keygen pubkey rel >/dev/null
	enf-keygen instance >"$BATS_TEST_TMPDIR/inst.pub"
	enf-seal info "$BATS_TEST_TMPDIR/s" | grep -q '^instance '
	enf-audit verify --instance "$BATS_TEST_TMPDIR/inst.pub" >/dev/null
	run enf-seal open "$BATS_TEST_TMPDIR/s"
	[ "$status" -eq 3 ]
}
