#!/usr/bin/env bats
# enf-keygen: the instance, its credentials and its keys.

load helper

setup() { common_setup; }

@test "init creates a private home and prints the instance id" {
	run enf-keygen init --argon2 1:8192:1
	[ "$status" -eq 0 ]
	[[ "$output" =~ ^SHA256:[A-Za-z0-9+/]{43}$ ]]
	[ "$(stat -c %a "$ENF_HOME")" = 700 ]
	[ "$(stat -c %a "$ENF_HOME/keystore")" = 600 ]
	[ "$(stat -c %a "$ENF_HOME/lockout")" = 600 ]
	[ "$(sed -n 2p "$ENF_HOME/lockout")" = "instance $output" ]
}

@test "init over the leftovers of a removed instance starts with fresh lockout counts" {
	make_instance
	printf 'not the passphrase\n' >"$BATS_TEST_TMPDIR/bad"
	run enf-keygen new -p r k1 --officer-passphrase-file "$BATS_TEST_TMPDIR/bad"
	rm "$ENF_HOME/keystore" "$ENF_HOME"/audit.*
	make_instance
	enf-keygen new -p r k1 >/dev/null
	run enf-keygen new -p r k2 --officer-passphrase-file "$BATS_TEST_TMPDIR/bad"
	[ "$output" = "enf-keygen: wrong officer passphrase (9 tries left)" ]
}

@test "the instance id is the SHA256 fingerprint of the identity key" {
	id=$(enf-keygen init --argon2 1:8192:1)
	enf-keygen instance | head -1 >"$BATS_TEST_TMPDIR/id.pub"
	run ssh-keygen -l -E sha256 -f "$BATS_TEST_TMPDIR/id.pub"
	[ "$status" -eq 0 ]
	[[ "$output" == *"$id"* ]]
	enf-keygen instance | sed -n 2p | grep -Eq '^enf-x25519 [A-Za-z0-9+/]{43}=$'
}

@test "init refuses an existing instance and leaves it untouched" {
	make_instance
	sum=$(sha256sum "$ENF_HOME/keystore")
	run enf-keygen init --argon2 1:8192:1
	[ "$status" -eq 3 ]
	[[ "$output" == *"exists"* ]]
	[ "$(sha256sum "$ENF_HOME/keystore")" = "$sum" ]
}

@test "init refuses the same passphrase for both roles" {
	export ENF_PASSPHRASE_FILE="$ENF_OFFICER_PASSPHRASE_FILE"
	run enf-keygen init --argon2 1:8192:1
	[ "$status" -eq 3 ]
	[[ "$output" == *"must differ"* ]]
	[ ! -e "$ENF_HOME/keystore" ]
}

@test "init refuses a short passphrase" {
	printf 'short\n' >"$BATS_TEST_TMPDIR/short"
	run enf-keygen init --argon2 1:8192:1 --officer-passphrase-file "$BATS_TEST_TMPDIR/short"
	[ "$status" -eq 3 ]
	[[ "$output" == *"at least 8"* ]]
	[ ! -e "$ENF_HOME/keystore" ]
}

@test "without a terminal or a file a credential is refused, naming both ways, without hanging" {
	unset ENF_OFFICER_PASSPHRASE_FILE
	run no_tty timeout 10 enf-keygen init --argon2 1:8192:1
	[ "$status" -eq 3 ]
	[[ "$output" == *"--officer-passphrase-file"* ]]
	[[ "$output" == *"ENF_OFFICER_PASSPHRASE_FILE"* ]]
	[ ! -e "$ENF_HOME/keystore" ]
}

@test "a passphrase file others can read is refused" {
	make_instance
	chmod 644 "$ENF_OFFICER_PASSPHRASE_FILE"
	run enf-keygen new -p release k1
	[ "$status" -eq 3 ]
	[[ "$output" == *"$ENF_OFFICER_PASSPHRASE_FILE"* ]]
}

@test "a home that others can read is refused by every command, naming it" {
	make_instance
	chmod 755 "$ENF_HOME"
	for cmd in list instance "pubkey k" "new -p x k"; do
		run enf-keygen $cmd
		[ "$status" -eq 3 ]
		[[ "$output" == *"$ENF_HOME"* ]]
	done
}

@test "a keystore file that group can write is refused" {
	make_instance
	chmod 620 "$ENF_HOME/keystore"
	run enf-keygen list
	[ "$status" -eq 3 ]
	[[ "$output" == *"$ENF_HOME/keystore"* ]]
}

@test "-H overrides ENF_HOME" {
	enf-keygen -H "$BATS_TEST_TMPDIR/other" init --argon2 1:8192:1 >/dev/null
	[ -f "$BATS_TEST_TMPDIR/other/keystore" ]
	[ ! -e "$ENF_HOME" ]
}

@test "a missing instance is exit 3 with a hint" {
	run enf-keygen list
	[ "$status" -eq 3 ]
	[[ "$output" == *"enf-keygen init"* ]]
}

@test "new prints an OpenSSH public key line for each algorithm" {
	make_instance
	for alg in ed25519 ecdsa-p256 ecdsa-p384 rsa3072; do
		enf-keygen new -a "$alg" -p release "k-$alg" >"$BATS_TEST_TMPDIR/$alg.pub"
		ssh-keygen -l -f "$BATS_TEST_TMPDIR/$alg.pub" >/dev/null
		fp=$(ssh-keygen -l -E sha256 -f "$BATS_TEST_TMPDIR/$alg.pub" | awk '{print $2}')
		enf-keygen list | grep "^k-$alg " | grep -q "$fp"
	done
	[ "$(enf-keygen list | wc -l)" -eq 4 ]
}

@test "new refuses bad names, purposes and algorithms with exit 2 and creates nothing" {
	make_instance
	sum=$(sha256sum "$ENF_HOME/keystore")
	for args in "-p release Bad" "-p release -x" "-p Rel k1" "-p a,a k1" "-a dsa -p r k1" "k1" \
		    "-p r $(printf 'k%.0s' {1..65})"; do
		run enf-keygen new $args
		[ "$status" -eq 2 ]
	done
	[ "$(sha256sum "$ENF_HOME/keystore")" = "$sum" ]
}

@test "new refuses a duplicate name with exit 1" {
	make_instance
	enf-keygen new -p release k1 >/dev/null
	run enf-keygen new -p other k1
	[ "$status" -eq 1 ]
	[ "$(enf-keygen list | wc -l)" -eq 1 ]
}

@test "new needs the officer: the operator passphrase is wrong for it" {
	make_instance
	run enf-keygen new -p release k1 --officer-passphrase-file "$ENF_PASSPHRASE_FILE"
	[ "$status" -eq 3 ]
	[[ "$output" == *"wrong officer passphrase"* ]]
	[ "$(enf-keygen list | wc -l)" -eq 0 ]
}

@test "list --json is JSON Lines that jq reads" {
	make_instance
	enf-keygen new -a ecdsa-p256 -p release,firmware k1 >/dev/null
	run enf-keygen list --json
	[ "$status" -eq 0 ]
	[ "$(echo "$output" | jq -r .name)" = k1 ]
	[ "$(echo "$output" | jq -r .algorithm)" = ecdsa-p256 ]
	[ "$(echo "$output" | jq -r .state)" = active ]
	[ "$(echo "$output" | jq -c .purposes)" = '["release","firmware"]' ]
}

@test "list and pubkey need no credential" {
	make_instance
	enf-keygen new -p release k1 >"$BATS_TEST_TMPDIR/k1.pub"
	unset ENF_OFFICER_PASSPHRASE_FILE ENF_PASSPHRASE_FILE
	run no_tty enf-keygen list
	[ "$status" -eq 0 ]
	run no_tty enf-keygen pubkey k1
	[ "$status" -eq 0 ]
	[ "$output" = "$(cat "$BATS_TEST_TMPDIR/k1.pub")" ]
}

@test "pubkey --format pem is a SubjectPublicKeyInfo openssl reads, for every algorithm" {
	make_instance
	for alg in ed25519 ecdsa-p256 ecdsa-p384 rsa3072; do
		enf-keygen new -a "$alg" -p release "k-$alg" >/dev/null
		enf-keygen pubkey --format pem "k-$alg" >"$BATS_TEST_TMPDIR/k.pem"
		openssl pkey -pubin -in "$BATS_TEST_TMPDIR/k.pem" -noout
	done
}

@test "pubkey of an unknown key is exit 1; a bad format is exit 2" {
	make_instance
	run enf-keygen pubkey nope
	[ "$status" -eq 1 ]
	enf-keygen new -p release k1 >/dev/null
	run enf-keygen pubkey --format der k1
	[ "$status" -eq 2 ]
}

@test "states move forward only, and may jump forward" {
	make_instance
	enf-keygen new -p release k1 >/dev/null
	enf-keygen new -p release k2 >/dev/null
	enf-keygen state k1 deactivated
	run enf-keygen state k1 active
	[ "$status" -eq 1 ]
	[[ "$output" == *"forward"* ]]
	run enf-keygen state k1 deactivated
	[ "$status" -eq 1 ]
	enf-keygen state k2 destroyed
	run enf-keygen state k2 compromised
	[ "$status" -eq 1 ]
	enf-keygen list | grep -q '^k1 .* deactivated '
	enf-keygen list | grep -q '^k2 .* destroyed '
	run enf-keygen state k1 retired
	[ "$status" -eq 2 ]
	run enf-keygen state nope compromised
	[ "$status" -eq 1 ]
}

# Hex of a file, one line.
hexof() { od -An -tx1 -v "$1" | tr -d ' \n'; }

# The number of 16-byte slices of FILE's bytes that occur in the keystore.
slices_in_keystore() { # FILE
	local hex ks n=0 off
	hex=$(hexof "$1")
	ks=$(hexof "$ENF_HOME/keystore")
	for ((off = 0; off + 32 <= ${#hex}; off += 32)); do
		[[ "$ks" == *"${hex:off:32}"* ]] && n=$((n + 1))
	done
	echo "$n"
}

@test "a key leaving active has its private bytes erased from the keystore file" {
	make_instance
	for st in deactivated compromised destroyed; do
		enf-keygen new -a rsa3072 -p release "k-$st" >/dev/null
		record_get "key/k-$st" >"$BATS_TEST_TMPDIR/$st.priv"
		[ "$(wc -c <"$BATS_TEST_TMPDIR/$st.priv")" -gt 1000 ]
		[ "$(slices_in_keystore "$BATS_TEST_TMPDIR/$st.priv")" -gt 60 ]
	done
	for st in deactivated compromised destroyed; do
		enf-keygen state "k-$st" "$st"
		[ "$(slices_in_keystore "$BATS_TEST_TMPDIR/$st.priv")" -eq 0 ]
		[ -z "$(record_get "key/k-$st")" ]
		enf-keygen list | grep -q "^k-$st .* $st "
	done
}

@test "a deactivated key is denied by enf-sign, and its private record is gone" {
	make_instance
	make_ssh_key ci
	enf-keygen new -p release rel >/dev/null
	printf 'version 1\npolicy p1\npurpose release\nidentity ci-bot %s\n%s\n' \
		"$(cut -d' ' -f1,2 "$BATS_TEST_TMPDIR/ssh/ci.pub")" \
		'rule rel key=rel identity=ci-bot purpose=release scope=artifact:tarball' \
		>"$BATS_TEST_TMPDIR/policy.txt"
	enf-policy install "$BATS_TEST_TMPDIR/policy.txt" 2>/dev/null
	printf 'data\n' >"$BATS_TEST_TMPDIR/data"
	enf-request -k rel -i ci-bot -p release -s artifact:tarball -r rel \
		--ssh-key "$BATS_TEST_TMPDIR/ssh/ci" "$BATS_TEST_TMPDIR/data" >"$BATS_TEST_TMPDIR/req"
	enf-sign "$BATS_TEST_TMPDIR/req" >/dev/null
	enf-keygen state rel deactivated
	[ -z "$(record_get key/rel)" ]
	run enf-sign "$BATS_TEST_TMPDIR/req"
	[ "$status" -eq 1 ]
	[[ "$output" == "enf-sign: denied (audit #"* ]]
	[ "$(enf-audit show --json | tail -1 | jq -r .reason)" = key-not-active ]
}

@test "a wrong passphrase is exit 3 and counted; the limit locks the role" {
	make_instance --lockout 3
	enf-keygen new -p release k1 >/dev/null
	printf 'not the passphrase\n' >"$BATS_TEST_TMPDIR/bad"
	run enf-keygen new -p r x1 --officer-passphrase-file "$BATS_TEST_TMPDIR/bad"
	[ "$status" -eq 3 ]
	[ "$output" = "enf-keygen: wrong officer passphrase (2 tries left)" ]
	run enf-keygen new -p r x2 --officer-passphrase-file "$BATS_TEST_TMPDIR/bad"
	[ "$status" -eq 3 ]
	[ "$output" = "enf-keygen: wrong officer passphrase (1 try left)" ]
	run enf-keygen new -p r x3 --officer-passphrase-file "$BATS_TEST_TMPDIR/bad"
	[ "$status" -eq 3 ]
	[[ "$output" == "enf-keygen: wrong officer passphrase; officer locked"* ]]
	[ "${#lines[@]}" -eq 1 ]
	# Now even the right passphrase is refused.
	run enf-keygen new -p r x4
	[ "$status" -eq 3 ]
	[[ "$output" == *"locked"* ]]
	[ "$(enf-keygen list | wc -l)" -eq 1 ]
}

@test "a success before the limit resets the count" {
	make_instance --lockout 2
	printf 'not the passphrase\n' >"$BATS_TEST_TMPDIR/bad"
	for i in 1 2 3; do
		run enf-keygen new -p r "x$i" --officer-passphrase-file "$BATS_TEST_TMPDIR/bad"
		[[ "$output" == *"wrong"* ]]
		enf-keygen new -p r "ok$i" >/dev/null
	done
}

@test "the officer resets a locked operator" {
	make_instance --lockout 2
	printf 'not the passphrase\n' >"$BATS_TEST_TMPDIR/bad"
	printf 'fresh operator pass\n' >"$BATS_TEST_TMPDIR/new"
	for i in 1 2; do
		run enf-keygen passwd --role operator --passphrase-file "$BATS_TEST_TMPDIR/bad" \
			--new-passphrase-file "$BATS_TEST_TMPDIR/new"
		[ "$status" -eq 3 ]
	done
	[[ "$output" == *"operator locked"* ]]
	run enf-keygen passwd --role operator --new-passphrase-file "$BATS_TEST_TMPDIR/new"
	[ "$status" -eq 3 ]
	[[ "$output" == *"locked"* ]]
	enf-keygen reset-lockout
	enf-keygen passwd --role operator --new-passphrase-file "$BATS_TEST_TMPDIR/new"
}

@test "a failed unlock is counted in a small file of its own, not by rewriting the keystore" {
	make_instance --lockout 3
	sum=$(sha256sum "$ENF_HOME/keystore")
	printf 'not the passphrase\n' >"$BATS_TEST_TMPDIR/bad"
	run enf-keygen new -p r k1 --officer-passphrase-file "$BATS_TEST_TMPDIR/bad"
	[ "$status" -eq 3 ]
	[ "$(sha256sum "$ENF_HOME/keystore")" = "$sum" ]
	[ "$(stat -c %a "$ENF_HOME/lockout")" = 600 ]
	grep -qx 'officer 1' "$ENF_HOME/lockout"
	grep -qx 'operator 0' "$ENF_HOME/lockout"
	# A right passphrase clears the count.
	enf-keygen new -p r k1 >/dev/null
	grep -qx 'officer 0' "$ENF_HOME/lockout"
}

@test "an attempt that cannot be counted (file-size limit) is not tried: exit 3" {
	make_instance --lockout 3
	printf 'not the passphrase\n' >"$BATS_TEST_TMPDIR/bad"
	# The right passphrase: had it been tried, the unlock would succeed.
	run bash -c 'ulimit -f 0; exec enf-keygen new -p r k1'
	[ "$status" -eq 3 ]
	[[ "$output" == *"cannot count the unlock attempt, so no passphrase is tried"* ]]
	run bash -c 'ulimit -f 0; exec enf-keygen new -p r k1 --officer-passphrase-file "$1"' _ \
		"$BATS_TEST_TMPDIR/bad"
	[ "$status" -eq 3 ]
	[[ "$output" == *"cannot count the unlock attempt"* ]]
	[[ "$output" != *"wrong"* ]]
	[ "$(enf-keygen list | wc -l)" -eq 0 ]
	# Neither attempt used up a try.
	run enf-keygen new -p r k1 --officer-passphrase-file "$BATS_TEST_TMPDIR/bad"
	[ "$output" = "enf-keygen: wrong officer passphrase (2 tries left)" ]
}

@test "a read-only home: the attempt cannot be counted, so it is not tried" {
	make_instance
	run unshare -m sh -c 'mount --bind "$ENF_HOME" "$ENF_HOME" &&
		mount -o remount,ro,bind "$ENF_HOME" && exec enf-keygen new -p r k1'
	[ "$status" -eq 3 ]
	[[ "$output" == *"Read-only file system"* ]]
	[[ "$output" == *"so no passphrase is tried"* ]]
	[ "$(enf-keygen list | wc -l)" -eq 0 ]
}

@test "a full disk: the attempt cannot be counted, so it is not tried" {
	# A small tmpfs of its own holds the home; it is filled before the unlock.
	mkdir "$BATS_TEST_TMPDIR/small"
	run unshare -m bash -c 'set -e
		mount -t tmpfs -o size=256k,mode=0700 tmpfs "$1"
		export ENF_HOME="$1/enf"
		enf-keygen init --argon2 1:8192:1 >/dev/null
		dd if=/dev/zero of="$1/fill" bs=4k 2>/dev/null || true
		enf-keygen new -p r k1 || echo "exit $?"' _ "$BATS_TEST_TMPDIR/small"
	[[ "$output" == *"No space left on device; cannot count the unlock attempt, so no passphrase is tried"* ]]
	[[ "$output" == *"exit 3" ]]
}

@test "30 parallel wrong guesses against a limit of 10: exactly 10 are tried, then the role is locked" {
	make_instance --lockout 10
	printf 'not the passphrase\n' >"$BATS_TEST_TMPDIR/bad"
	pids=()
	for i in $(seq 1 30); do
		enf-keygen new -p r "x$i" --officer-passphrase-file "$BATS_TEST_TMPDIR/bad" \
			>/dev/null 2>"$BATS_TEST_TMPDIR/err$i" &
		pids+=($!)
	done
	for p in "${pids[@]}"; do
		rc=0
		wait "$p" || rc=$?
		[ "$rc" -eq 3 ]
	done
	[ "$(cat "$BATS_TEST_TMPDIR"/err* | grep -c 'wrong officer passphrase')" -eq 10 ]
	[ "$(cat "$BATS_TEST_TMPDIR"/err* | grep -c '^enf-keygen: officer locked')" -eq 20 ]
	# Each tried guess is audited as such, each refused one as locked.
	run enf-audit show --json
	[ "$(echo "$output" | jq -r 'select(.op == "new") | .reason' | grep -cx bad-passphrase)" -eq 10 ]
	[ "$(echo "$output" | jq -r 'select(.op == "new") | .reason' | grep -cx locked)" -eq 20 ]
	# The right passphrase is refused now.
	run enf-keygen new -p r k1
	[ "$status" -eq 3 ]
	[[ "$output" == *"officer locked"* ]]
	[ "$(enf-keygen list | wc -l)" -eq 0 ]
}

@test "a guess killed while its passphrase is tried has used up a try" {
	# A slow KDF (64 passes) leaves time to kill the guess mid-derivation.
	enf-keygen init --argon2 64:8192:1 --lockout 3 >/dev/null
	printf 'not the passphrase\n' >"$BATS_TEST_TMPDIR/bad"
	enf-keygen new -p r k1 --officer-passphrase-file "$BATS_TEST_TMPDIR/bad" 2>/dev/null &
	pid=$!
	for _ in $(seq 1 500); do
		grep -qx 'officer 1' "$ENF_HOME/lockout" 2>/dev/null && break
		sleep 0.01
	done
	kill -9 "$pid"
	rc=0
	wait "$pid" || rc=$?
	[ "$rc" -eq 137 ]	# killed, not finished
	grep -qx 'officer 1' "$ENF_HOME/lockout"
	run enf-keygen new -p r k1 --officer-passphrase-file "$BATS_TEST_TMPDIR/bad"
	[ "$output" = "enf-keygen: wrong officer passphrase (1 try left)" ]
}

@test "an unreadable, foreign or symlinked lockout file stops every unlock (exit 3)" {
	make_instance
	enf-keygen -H "$BATS_TEST_TMPDIR/other" init --argon2 1:8192:1 >/dev/null
	for bad in garbage foreign symlink; do
		case $bad in
		garbage) printf 'enf-lockout 1\nofficer x\n' >"$ENF_HOME/lockout" ;;
		foreign) cp "$BATS_TEST_TMPDIR/other/lockout" "$ENF_HOME/lockout" ;;
		symlink) rm -f "$ENF_HOME/lockout"
			 ln -s "$BATS_TEST_TMPDIR/other/lockout" "$ENF_HOME/lockout" ;;
		esac
		run enf-keygen new -p r "k-$bad"
		[ "$status" -eq 3 ]
		[[ "$output" == *"$ENF_HOME/lockout"* ]]
		[[ "$output" == *"so no passphrase is tried" ]]
		rm -f "$ENF_HOME/lockout"
	done
	[ "$(enf-keygen list | wc -l)" -eq 0 ]
}

@test "reset-lockout needs the officer" {
	make_instance
	run enf-keygen reset-lockout --officer-passphrase-file "$ENF_PASSPHRASE_FILE"
	[ "$status" -eq 3 ]
}

@test "passwd changes the officer passphrase: the old one stops working" {
	make_instance
	printf 'a new officer passphrase\n' >"$BATS_TEST_TMPDIR/new"
	enf-keygen passwd --role officer --new-passphrase-file "$BATS_TEST_TMPDIR/new"
	run enf-keygen new -p r k1
	[ "$status" -eq 3 ]
	enf-keygen new -p r k1 --officer-passphrase-file "$BATS_TEST_TMPDIR/new" >/dev/null
}

@test "passwd needs --role and a new passphrase from a file or a terminal" {
	make_instance
	run enf-keygen passwd
	[ "$status" -eq 2 ]
	run no_tty enf-keygen passwd --role officer
	[ "$status" -eq 3 ]
	[[ "$output" == *"--new-passphrase-file"* ]]
}

@test "an edited governance record is detected and nothing is changed" {
	make_instance
	enf-keygen new -p release k1 >/dev/null
	enf-keygen state k1 compromised
	record_get gov >"$BATS_TEST_TMPDIR/gov"
	# Flip k1's state (u32 after name and algorithm) back to active (0).
	off=$(grep -obUaP '\x00\x00\x00\x02k1' "$BATS_TEST_TMPDIR/gov" | head -1 | cut -d: -f1)
	[ -n "$off" ]
	printf '\000' | dd of="$BATS_TEST_TMPDIR/gov" bs=1 seek=$((off + 6 + 4 + 3)) conv=notrunc 2>/dev/null
	record_put gov "$BATS_TEST_TMPDIR/gov"
	enf-keygen list | grep -q '^k1 .* active '	# the public view is only what the file says
	run enf-keygen new -p r k2
	[ "$status" -eq 1 ]
	[[ "$output" == *"does not verify"* ]]
}

@test "role records swapped between roles do not unlock" {
	make_instance
	record_get role/officer >"$BATS_TEST_TMPDIR/off"
	record_get role/operator >"$BATS_TEST_TMPDIR/op"
	record_put role/officer "$BATS_TEST_TMPDIR/op"
	run enf-keygen new -p r k1 --officer-passphrase-file "$ENF_PASSPHRASE_FILE"
	[ "$status" -eq 3 ]
	run enf-keygen new -p r k1
	[ "$status" -eq 3 ]
	[ "$(enf-keygen list | wc -l)" -eq 0 ]
}

@test "a governance record from another instance is refused" {
	make_instance
	enf-keygen -H "$BATS_TEST_TMPDIR/other" init --argon2 1:8192:1 >/dev/null
	ENF_HOME="$BATS_TEST_TMPDIR/other" record_get gov >"$BATS_TEST_TMPDIR/gov"
	record_put gov "$BATS_TEST_TMPDIR/gov"
	run enf-keygen list
	[ "$status" -eq 3 ]
	[[ "$output" == *"not a valid enf keystore"* ]]
}

@test "a truncated keystore is refused with exit 3, never a crash" {
	make_instance
	enf-keygen new -p release k1 >/dev/null
	size=$(stat -c %s "$ENF_HOME/keystore")
	cp "$ENF_HOME/keystore" "$BATS_TEST_TMPDIR/ks.bak"
	for cut in 0 1 100 4096 $((size / 2)) $((size * 3 / 4)); do
		truncate -s "$cut" "$ENF_HOME/keystore"
		run enf-keygen list
		[ "$status" -eq 3 ]
		run enf-keygen new -p r k2
		[ "$status" -eq 3 ]
		cp "$BATS_TEST_TMPDIR/ks.bak" "$ENF_HOME/keystore"
	done
	# Cutting anywhere else is refused or, where only free space went, the
	# state is whole; never anything else.
	for cut in $(seq 0 512 "$size"); do
		truncate -s "$cut" "$ENF_HOME/keystore"
		run enf-keygen list
		[[ "$status" -eq 3 || ( "$status" -eq 0 && "$output" == k1* ) ]]
		cp "$BATS_TEST_TMPDIR/ks.bak" "$ENF_HOME/keystore"
	done
}

@test "kill -9 during writes never leaves a keystore that does not open" {
	# A command killed between counting its unlock and clearing the count
	# has used up a try (see the next test); 25 kills must not lock.
	make_instance --lockout 100
	for i in $(seq 1 25); do
		enf-keygen new -p release "k$i" >/dev/null 2>&1 &
		pid=$!
		sleep "0.0$((RANDOM % 10))"
		kill -9 "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
		run enf-keygen list
		[ "$status" -eq 0 ]
	done
	# Old or new, the state is whole: the officer still works and keys open.
	enf-keygen new -p release final >/dev/null
	enf-keygen list | grep -q '^final '
}

@test "what a writer killed between naming and renaming left in the home, the next writer removes" {
	make_instance
	dead=$(sh -c 'echo $$')
	# A dead writer's names (commit_unnamed's and the named fallback's) and
	# keystore.new go; a live writer's, and files enf did not name so, stay.
	gone=("lockout.tmp$dead.0" "policy.tmp$dead.3" "policy.tmp$dead.Ab12Cd" keystore.new)
	kept=("lockout.tmp$$.0" notes.tmp "lockout.tmp$dead." "lockout.tmp$dead.0.x")
	for f in "${gone[@]}" "${kept[@]}"; do printf 'stale\n' >"$ENF_HOME/$f"; done
	# A writer that takes the keystore's lock but does not rewrite the
	# keystore (it writes only the lockout counts) is enough.
	enf-keygen reset-lockout
	for f in "${gone[@]}"; do [ ! -e "$ENF_HOME/$f" ]; done
	for f in "${kept[@]}"; do [ -e "$ENF_HOME/$f" ]; done
	enf-keygen new -p release k1 >/dev/null
	enf-keygen list | grep -q '^k1 '
}

@test "parallel readers all succeed while a writer works" {
	make_instance
	enf-keygen new -p release k0 >/dev/null
	enf-keygen new -p release k1 >/dev/null &
	for i in $(seq 1 8); do enf-keygen list >"$BATS_TEST_TMPDIR/l$i" & done
	wait
	for i in $(seq 1 8); do grep -q '^k0 ' "$BATS_TEST_TMPDIR/l$i"; done
}

@test "no passphrase appears in the keystore, its lockout counts or its audit log" {
	make_instance
	enf-keygen new -p release k1 >/dev/null
	run enf-keygen new -p release k2 --officer-passphrase-file "$ENF_PASSPHRASE_FILE"
	[ -f "$ENF_HOME/lockout" ]
	for f in "$ENF_OFFICER_PASSPHRASE_FILE" "$ENF_PASSPHRASE_FILE"; do
		p=$(head -1 "$f")
		run grep -rqaF "$p" "$ENF_HOME"
		[ "$status" -eq 1 ]	# searched everything, found nothing
	done
}

@test "keygen actions and failed unlocks are audited" {
	make_instance
	enf-keygen new -p release k1 >/dev/null
	enf-keygen state k1 deactivated
	printf 'not the passphrase\n' >"$BATS_TEST_TMPDIR/bad"
	run enf-keygen new -p r k2 --officer-passphrase-file "$BATS_TEST_TMPDIR/bad"
	run enf-audit show --json
	[ "$status" -eq 0 ]
	ops=$(echo "$output" | jq -r '[.op, .outcome] | join(":")' | tr '\n' ' ')
	[ "$ops" = "init:ok new:ok state:ok new:fail " ]
	echo "$output" | jq -r 'select(.outcome == "fail") | .reason' | grep -qx bad-passphrase
	# A failed unlock cannot sign its record: until a signed one follows,
	# verify says the tail is unauthenticated.
	run enf-audit verify
	[ "$status" -eq 1 ]
	enf-keygen reset-lockout
	enf-audit verify
}

@test "usage errors are exit 2; --help is exit 0 on stdout; --version" {
	run enf-keygen
	[ "$status" -eq 2 ]
	run enf-keygen frobnicate
	[ "$status" -eq 2 ]
	run enf-keygen list extra
	[ "$status" -eq 2 ]
	run enf-keygen list --lockout 3
	[ "$status" -eq 2 ]
	run enf-keygen init --bind moon
	[ "$status" -eq 2 ]
	run enf-keygen init --argon2 1:10:1
	[ "$status" -eq 2 ]
	run enf-keygen --help
	[ "$status" -eq 0 ]
	[[ "$output" == usage:* ]]
	run enf-keygen --version
	[ "$status" -eq 0 ]
	[[ "$output" == "enf-keygen "* ]]
}
