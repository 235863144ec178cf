#!/usr/bin/env bats
# Process and file hygiene every program shares (SPEC "Conventions"): no
# core dumps and not dumpable, valid fds 0-2, a lost stdout is an error,
# -o onto a device or FIFO, the umask, and a home that is not a symlink
# however spelled and whose parents only root or its owner can change.

load helper
bats_require_minimum_version 1.5.0

setup() {
	common_setup
	SHARED= READER=
}

teardown() {
	exec 5>&- 6>&- 7>&-
	if [ -n "$READER" ]; then kill "$READER" 2>/dev/null || :; fi
	if [ -n "$SHARED" ]; then rm -rf "$SHARED"; fi
}

# ---- core dumps and ptrace ----

# A directory outside the test's own (which only root can enter), where an
# instance owned by nobody lives: $SHARED/n/enf, passphrases in $SHARED/*.pass,
# and a FIFO $SHARED/fifo.
nobody_instance() {
	SHARED=$(mktemp -d /tmp/enf-hygiene.XXXXXX)
	chmod 0755 "$SHARED"
	mkdir -m 0700 "$SHARED/n"
	chown 65534:65534 "$SHARED/n"
	mkfifo -m 0666 "$SHARED/fifo"
	printf 'officer correct horse\n' >"$SHARED/officer.pass"
	printf 'operator battery staple\n' >"$SHARED/operator.pass"
	: >"$SHARED/empty"
	chown 65534:65534 "$SHARED/officer.pass" "$SHARED/operator.pass" "$SHARED/empty"
	(as_nobody enf-keygen -H "$SHARED/n/enf" init --argon2 1:8192:1 >/dev/null)
}

# as_nobody CMD...: replaces the calling (sub)shell with CMD run as nobody.
as_nobody() {
	HOME=$SHARED ENF_OFFICER_PASSPHRASE_FILE=$SHARED/officer.pass \
		ENF_PASSPHRASE_FILE=$SHARED/operator.pass \
		exec setpriv --reuid=65534 --regid=65534 --clear-groups "$@"
}

# probe CMD...: start CMD as nobody; it opens $SHARED/fifo itself, so once
# our end of the FIFO is open it is past its start-up.  Records whether its
# /proc files turned root's (not dumpable) and its core limit, then lets it
# finish.  (timeout: a program that fails before the FIFO must not hang us.)
probe() {
	(as_nobody "$@" >/dev/null 2>&1 3>&-) &
	local pid=$!
	PROBE=$(timeout 20 sh -c 'exec 5>"$1" && stat -c %u "/proc/$2/environ" &&
		grep "^Max core file size" "/proc/$2/limits"' sh "$SHARED/fifo" "$pid") || :
	kill "$pid" 2>/dev/null || :
	wait "$pid" || :
}

@test "every program is not dumpable and has a core limit of 0, from its start" {
	[ "$(id -u)" -eq 0 ] || skip "needs root to run a program as another user"
	nobody_instance
	F=$SHARED/fifo
	for cmd in "enf-policy check $F" "enf-request show $F" "enf-audit verify --instance $F $F" \
		"enf-seal info $F" "enf-verify -p release -k $F -s $F $F" \
		"enf-keygen -H $SHARED/n/enf passwd --role operator --new-passphrase-file $F" \
		"enf-sign -H $SHARED/n/enf --passphrase-file $F $SHARED/empty"; do
		# shellcheck disable=SC2086 # the words of cmd are its arguments
		probe $cmd
		echo "$cmd: $PROBE"
		[[ "$PROBE" =~ ^0$'\n'Max\ core\ file\ size\ +0\ +0\ +bytes ]]
	done
}

@test "an unlock killed by SIGABRT leaves no core file" {
	pattern=$(cat /proc/sys/kernel/core_pattern)
	case $pattern in
	'|'* | /*) skip "core_pattern '$pattern' does not write into the working directory" ;;
	esac
	make_instance
	mkfifo "$BATS_TEST_TMPDIR/pass"
	mkdir "$BATS_TEST_TMPDIR/cwd"
	: >"$BATS_TEST_TMPDIR/req"
	(
		cd "$BATS_TEST_TMPDIR/cwd"
		ulimit -c unlimited
		exec enf-sign --passphrase-file "$BATS_TEST_TMPDIR/pass" "$BATS_TEST_TMPDIR/req" \
			>/dev/null 2>&1 3>&-
	) &
	pid=$!
	# Half a passphrase is in its memory when it dies.
	timeout 20 sh -c 'exec 5>"$1" && printf "operator battery" >&5 &&
		kill -ABRT "$2"' sh "$BATS_TEST_TMPDIR/pass" "$pid" || kill "$pid"
	status=0
	wait "$pid" || status=$?
	[ "$status" -eq 134 ]
	run ls -A "$BATS_TEST_TMPDIR/cwd"
	[ -z "$output" ]
}

# ---- fds 0-2 ----

# CMD with fd 0, 1 or 2 closed (inside run, whose own fds are its capture).
stdin_closed() { "$@" <&-; }
stdout_closed() { "$@" >&-; }
stderr_closed() { "$@" 2>&-; }
stdout_full() { "$@" >/dev/full; }

@test "a closed stdin is not taken by the keystore: enf-sign <&- reads nothing, exits 3" {
	make_instance
	before=$(audit_count)
	run -3 --separate-stderr stdin_closed enf-sign
	[ "$stderr" = "enf-sign: standard input: Bad file descriptor" ]
	[ "$(audit_count)" -eq "$before" ]
}

@test "a closed stdout makes a product line fail loudly: enf-keygen new >&- exits 3" {
	make_instance
	run -3 --separate-stderr stdout_closed enf-keygen new -p release k
	[[ "$stderr" == "enf-keygen: cannot write standard output"* ]]
	run -3 --separate-stderr stdout_closed enf-policy digest "$SHARE/policies/firmware.policy"
	[ "$stderr" = "enf-policy: cannot write standard output: Bad file descriptor" ]
	# A program with nothing to print does not mind.
	run -0 stdout_closed enf-policy check "$SHARE/policies/firmware.policy"
}

@test "every program's product onto a closed stdout is exit 3 with a message" {
	permitted_request
	T=$BATS_TEST_TMPDIR
	enf-sign -o "$T/sig" "$T/req"
	enf-seal seal -o "$T/sealed" "$T/data"
	ssh=(--ssh-key "$T/ssh/ci")
	while read -r line; do
		# shellcheck disable=SC2086 # the words of line are the arguments
		run -3 --separate-stderr stdout_closed $line
		[[ "$stderr" == "${line%% *}: "*"standard output"* ]]
	done <<-EOF
	enf-audit head
	enf-audit show
	enf-audit verify
	enf-keygen instance
	enf-keygen list
	enf-keygen pubkey k
	enf-policy show
	enf-policy digest
	enf-policy eval $T/req
	enf-request -k k -i ci -p release -s s -r r ${ssh[*]} $T/data
	enf-request show $T/req
	enf-request approve ${ssh[*]} $T/req
	enf-seal seal $T/data
	enf-seal info $T/sealed
	enf-sign $T/req
	EOF
}

@test "a stdout that fails (a full device) is reported, exit 3" {
	make_instance
	run -3 --separate-stderr stdout_full enf-keygen new -p release k
	[ "$stderr" = "enf-keygen: cannot write standard output: No space left on device" ]
}

@test "closed fds 0-2 are /dev/null from the start: the first file opened is fd 3" {
	mkfifo "$BATS_TEST_TMPDIR/fifo"
	enf-policy check "$BATS_TEST_TMPDIR/fifo" <&- >&- 2>&- 3>&- &
	pid=$!
	fds=$(timeout 20 sh -c 'exec 5>"$1" && for fd in 0 1 2 3; do
		readlink "/proc/$2/fd/$fd"; done' sh "$BATS_TEST_TMPDIR/fifo" "$pid") || :
	kill "$pid" 2>/dev/null || :
	wait "$pid" || :
	[ "$fds" = "/dev/null"$'\n'"/dev/null"$'\n'"/dev/null"$'\n'"$BATS_TEST_TMPDIR/fifo" ]
}

@test "with stderr closed a program still runs and its exit status is unchanged" {
	make_instance
	run -3 stderr_closed enf-keygen -H "$BATS_TEST_TMPDIR/none" list
	[ -z "$output" ]
	run -0 stderr_closed enf-keygen list
}

# ---- -o onto what is not a regular file; the umask ----

# A permitted request in $BATS_TEST_TMPDIR/req (key k, rule r, no approvals).
permitted_request() {
	make_instance
	make_ssh_key ci
	enf-keygen new -p release k >/dev/null
	cat >"$BATS_TEST_TMPDIR/policy" <<-EOF
	version 1
	policy hygiene
	purpose release
	identity ci $(cut -d' ' -f1,2 "$BATS_TEST_TMPDIR/ssh/ci.pub")
	rule r key=k identity=ci purpose=release scope=s
	EOF
	enf-policy install "$BATS_TEST_TMPDIR/policy"
	printf 'data\n' >"$BATS_TEST_TMPDIR/data"
	enf-request -k k -i ci -p release -s s -r r --ssh-key "$BATS_TEST_TMPDIR/ssh/ci" \
		-o "$BATS_TEST_TMPDIR/req" "$BATS_TEST_TMPDIR/data"
}

# A device node like /dev/null (1:3) of the test's own: should a regression
# replace it, the machine's /dev/null stays intact.
@test "-o onto a character device (a /dev/null) writes into it, which stays a device" {
	N=$BATS_TEST_TMPDIR/null
	mknod -m 0666 "$N" c 1 3 || skip "cannot make a device node here"
	(: >"$N") 2>/dev/null || skip "device nodes cannot be opened here (nodev)"
	permitted_request
	run -0 enf-sign -o "$N" "$BATS_TEST_TMPDIR/req"
	[ -c "$N" ]
	[ "$(stat -c %t:%T "$N")" = 1:3 ]
	run -0 enf-request approve --ssh-key "$BATS_TEST_TMPDIR/ssh/ci" -o "$N" \
		"$BATS_TEST_TMPDIR/req"
	[ -c "$N" ]
	run -0 enf-seal seal -o "$N" "$BATS_TEST_TMPDIR/data"
	[ -c "$N" ]
	[ -z "$(find "$BATS_TEST_TMPDIR" -name 'null.tmp*')" ]
}

@test "-o FIFO writes into the FIFO, which stays a FIFO" {
	permitted_request
	mkfifo "$BATS_TEST_TMPDIR/pipe"
	cat "$BATS_TEST_TMPDIR/pipe" >"$BATS_TEST_TMPDIR/got" 3>&- &
	READER=$!
	run -0 enf-sign -o "$BATS_TEST_TMPDIR/pipe" "$BATS_TEST_TMPDIR/req"
	[ -p "$BATS_TEST_TMPDIR/pipe" ]
	wait "$READER"
	READER=
	head -n 1 "$BATS_TEST_TMPDIR/got" | grep -qx -- '-----BEGIN SSH SIGNATURE-----'
	echo "k $(enf-keygen pubkey k)" >"$BATS_TEST_TMPDIR/allowed"
	ssh-keygen -Y verify -n release -f "$BATS_TEST_TMPDIR/allowed" -I k \
		-s "$BATS_TEST_TMPDIR/got" <"$BATS_TEST_TMPDIR/data"
}

# What is in the FIFO on fd 6 now, without waiting for more.
fifo_now() { timeout 20 dd iflag=nonblock bs=65536 count=1 <&6 2>/dev/null || :; }

# sign_while_log_locked OUT: enf-sign -o OUT (or to stdout if OUT is -) with
# the FIFO on fd 6 as its output, while we hold the audit log's lock, so
# that its permit record waits; EARLY is what reached the FIFO meanwhile.
sign_while_log_locked() {
	local pid
	exec 7>>"$ENF_HOME/audit.log"
	flock -x 7
	enf-sign -o "$1" "$BATS_TEST_TMPDIR/req" >&6 3>&- 7>&- &
	pid=$!
	for _ in $(seq 600); do
		if grep -qE -- "-> FLOCK +ADVISORY +WRITE +$pid " /proc/locks; then break; fi
		sleep 0.1
	done
	grep -qE -- "-> FLOCK +ADVISORY +WRITE +$pid " /proc/locks
	EARLY=$(fifo_now | wc -c)
	exec 7>&-
	wait "$pid"
}

@test "a signature reaches a FIFO or stdout only after its permit record" {
	permitted_request
	echo "k $(enf-keygen pubkey k)" >"$BATS_TEST_TMPDIR/allowed"
	mkfifo "$BATS_TEST_TMPDIR/pipe"
	exec 6<>"$BATS_TEST_TMPDIR/pipe"
	for out in "$BATS_TEST_TMPDIR/pipe" -; do
		sign_while_log_locked "$out"
		fifo_now >"$BATS_TEST_TMPDIR/got"
		[ "$EARLY" -eq 0 ]
		[ "$(enf-audit show --json "$(audit_count)" | jq -r .outcome)" = permit ]
		ssh-keygen -Y verify -n release -f "$BATS_TEST_TMPDIR/allowed" -I k \
			-s "$BATS_TEST_TMPDIR/got" <"$BATS_TEST_TMPDIR/data"
	done
}

@test "-o onto a directory or a socket is refused and leaves it in place" {
	permitted_request
	mkdir "$BATS_TEST_TMPDIR/dir"
	run -3 enf-sign -o "$BATS_TEST_TMPDIR/dir" "$BATS_TEST_TMPDIR/req"
	[[ "$output" == *"dir: is a directory; refusing to write over it"* ]]
	[ -d "$BATS_TEST_TMPDIR/dir" ]
	perl -MIO::Socket::UNIX -e 'IO::Socket::UNIX->new(Local => $ARGV[0], Listen => 1) or die' \
		"$BATS_TEST_TMPDIR/sock"
	run -3 enf-request approve --ssh-key "$BATS_TEST_TMPDIR/ssh/ci" -o "$BATS_TEST_TMPDIR/sock" \
		"$BATS_TEST_TMPDIR/req"
	[[ "$output" == *"sock: not a regular file, a character device or a FIFO"* ]]
	[ -S "$BATS_TEST_TMPDIR/sock" ]
	[ -z "$(find "$BATS_TEST_TMPDIR" -name '*.tmp*')" ]
}

@test "-o onto a symlink replaces the file it names, never the link; a dangling one is refused" {
	permitted_request
	T=$BATS_TEST_TMPDIR
	echo old >"$T/target"
	ln -s target "$T/link"
	run -0 enf-sign -o "$T/link" "$T/req"
	[ -L "$T/link" ]
	[ "$(readlink "$T/link")" = target ]
	head -n 1 "$T/target" | grep -qx -- '-----BEGIN SSH SIGNATURE-----'
	# As -o /dev/stdout does onto a stdout redirected to a file.
	ln -s /proc/self/fd/1 "$T/stdout"
	run -0 sh -c 'enf-sign -o "$1/stdout" "$1/req" >"$1/redirected"' sh "$T"
	[ -L "$T/stdout" ]
	cmp "$T/target" "$T/redirected"
	ln -s nowhere "$T/dangling"
	run -3 enf-request approve --ssh-key "$T/ssh/ci" -o "$T/dangling" "$T/req"
	[[ "$output" == *"dangling: a symbolic link to nothing usable"* ]]
	[ -L "$T/dangling" ]
	[ ! -e "$T/nowhere" ]
}

@test "a symlink or FIFO planted as the installed policy is replaced, never followed" {
	permitted_request
	echo precious >"$BATS_TEST_TMPDIR/outside"
	rm "$ENF_HOME/policy"
	ln -s "$BATS_TEST_TMPDIR/outside" "$ENF_HOME/policy"
	run -0 enf-policy install "$BATS_TEST_TMPDIR/policy"
	[ "$(cat "$BATS_TEST_TMPDIR/outside")" = precious ]
	[ ! -L "$ENF_HOME/policy" ]
	cmp "$BATS_TEST_TMPDIR/policy" "$ENF_HOME/policy"
	rm "$ENF_HOME/policy"
	mkfifo -m 0600 "$ENF_HOME/policy"
	run -0 timeout 60 enf-policy install "$BATS_TEST_TMPDIR/policy"
	[ -f "$ENF_HOME/policy" ]
	cmp "$BATS_TEST_TMPDIR/policy" "$ENF_HOME/policy"
}

@test "-o creates its file with the program's mode less the umask" {
	permitted_request
	umask 077
	run -0 enf-sign -o "$BATS_TEST_TMPDIR/s077" "$BATS_TEST_TMPDIR/req"
	[ "$(stat -c %a "$BATS_TEST_TMPDIR/s077")" = 600 ]
	run -0 enf-request approve --ssh-key "$BATS_TEST_TMPDIR/ssh/ci" -o "$BATS_TEST_TMPDIR/r077" \
		"$BATS_TEST_TMPDIR/req"
	[ "$(stat -c %a "$BATS_TEST_TMPDIR/r077")" = 600 ]
	umask 022
	run -0 enf-sign -o "$BATS_TEST_TMPDIR/s022" "$BATS_TEST_TMPDIR/req"
	[ "$(stat -c %a "$BATS_TEST_TMPDIR/s022")" = 644 ]
}

# ---- the home: no symlink however spelled, parents as ssh's StrictModes ----

@test "a home reached through a symlink is refused however it is spelled" {
	make_instance
	ln -s "$ENF_HOME" "$BATS_TEST_TMPDIR/link"
	cd "$BATS_TEST_TMPDIR"
	for h in link link/ link/. link// link/./ ../"$(basename "$BATS_TEST_TMPDIR")"/link "$BATS_TEST_TMPDIR/link/"; do
		run -3 --separate-stderr enf-keygen -H "$h" list
		[[ "$stderr" == *"/link: is a symbolic link; refusing a home through it"* ]]
	done
	run -0 enf-keygen -H "$ENF_HOME/." list
}

@test "a home below a symlinked directory is refused" {
	mkdir -m 0755 "$BATS_TEST_TMPDIR/real"
	ln -s "$BATS_TEST_TMPDIR/real" "$BATS_TEST_TMPDIR/via"
	export ENF_HOME=$BATS_TEST_TMPDIR/via/enf
	run -3 enf-keygen init --argon2 1:8192:1
	[[ "$output" == *"$BATS_TEST_TMPDIR/via: is a symbolic link"* ]]
	[ ! -e "$BATS_TEST_TMPDIR/real/enf" ]
}

@test "a home below a directory others can write (without the sticky bit) is refused" {
	mkdir -m 0755 "$BATS_TEST_TMPDIR/open"
	export ENF_HOME=$BATS_TEST_TMPDIR/open/enf
	make_instance
	chmod 0777 "$BATS_TEST_TMPDIR/open"
	run -3 --separate-stderr enf-keygen list
	[ "$stderr" = "enf-keygen: $BATS_TEST_TMPDIR/open: writable by group or others (mode 0777); refusing a home below it" ]
	chmod 0775 "$BATS_TEST_TMPDIR/open"
	run -3 enf-sign "$BATS_TEST_TMPDIR/nothing"
	[[ "$output" == *"open: writable by group or others (mode 0775)"* ]]
	# A sticky directory (as /tmp is) is fine.
	chmod 1777 "$BATS_TEST_TMPDIR/open"
	run -0 enf-keygen list
	# So is a relative -H, checked from the working directory up.
	chmod 0777 "$BATS_TEST_TMPDIR/open"
	cd "$BATS_TEST_TMPDIR/open"
	run -3 enf-keygen -H enf list
	[[ "$output" == *"$BATS_TEST_TMPDIR/open: writable by group or others"* ]]
}

@test "a home below a directory owned by another user is refused; root's are fine" {
	[ "$(id -u)" -eq 0 ] || skip "needs root to give a directory to another user"
	mkdir -m 0755 "$BATS_TEST_TMPDIR/theirs"
	export ENF_HOME=$BATS_TEST_TMPDIR/theirs/enf
	make_instance
	chown 65534 "$BATS_TEST_TMPDIR/theirs"
	run -3 --separate-stderr enf-policy show
	[ "$stderr" = "enf-policy: $BATS_TEST_TMPDIR/theirs: owned by another user (uid 65534); refusing a home below it" ]
	chown 0 "$BATS_TEST_TMPDIR/theirs"
	run -0 enf-keygen list
}

# ---- the runner ----

# A copy of t/run beside bats files and unit tests of our own making:
# $BATS_TEST_TMPDIR/r/t/run, units in r/unit.  unit NAME BODY: a unit test.
runner() {
	R=$BATS_TEST_TMPDIR/r
	mkdir -p "$R/t" "$R/unit"
	cp "$BATS_TEST_DIRNAME/run" "$R/t/run"
	printf '@test "fine" { true; }\n' >"$R/t/a.bats"
}
unit() { printf '#!/bin/sh\n%s\n' "$2" >"$R/unit/$1"; chmod +x "$R/unit/$1"; }
run_runner() { run env ENF_UNIT="$R/unit" "$R/t/run" "$@"; }

@test "t/run passes a suite that passes, and counts it" {
	runner
	unit u 'printf "ok 1 - a\nok 2 - b\n1..2\n"'
	run_runner
	[ "$status" -eq 0 ]
	[ "${lines[-1]}" = "3 passed, 0 failed" ]
}

@test "t/run fails when bats dies before running its tests" {
	runner
	printf '@test "one" { true; }\n@test "dies" { kill -9 $PPID $$; }\n@test "never" { true; }\n' \
		>"$R/t/b.bats"
	run_runner "$R/t/b.bats"
	[ "$status" -ne 0 ]
	[[ "${lines[-1]}" =~ ^1\ passed,\ [1-9][0-9]*\ failed$ ]]
	printf '@test "broken" {\n' >"$R/t/c.bats"
	run_runner "$R/t/c.bats"
	[ "$status" -ne 0 ]
	[[ "${lines[-1]}" =~ ^0\ passed,\ [1-9][0-9]*\ failed$ ]]
}

@test "t/run fails a unit test whose plan is missing or not met" {
	runner
	unit early 'printf "ok 1 - a\n"; exit 0'
	run_runner
	[ "$status" -ne 0 ]
	[[ "$output" == *"not ok - unit early: 0 TAP plans, 1 tests ran"* ]]
	[ "${lines[-1]}" = "2 passed, 1 failed" ]
	unit early 'printf "ok 1 - a\n1..2\n"'
	run_runner
	[ "$status" -ne 0 ]
	[[ "$output" == *"not ok - unit early: planned 2 tests, ran 1"* ]]
	unit early 'printf "1..0\n"'
	run_runner
	[ "$status" -ne 0 ]
	unit early 'printf "ok 1 - a\n1..1\n"; exit 1'
	run_runner
	[ "$status" -ne 0 ]
	[[ "$output" == *"not ok - early exited with status 1"* ]]
}

@test "make lint-tests rejects a negated command errexit would ignore, and passes run !" {
	mkdir -p "$BATS_TEST_TMPDIR/m/t"
	cp "$BATS_TEST_DIRNAME/../Makefile" "$BATS_TEST_TMPDIR/m/"
	printf '@test x {\n\trun ! false\n\t[ ! -e /nonexistent ]\n\tif ! false; then :; fi\n}\n' \
		>"$BATS_TEST_TMPDIR/m/t/good.bats"
	run -0 make -s -C "$BATS_TEST_TMPDIR/m" lint-tests
	for bad in '! false' 'true &''& ! false' 'true;'' ! false' '	  ! grep -q x y'; do
		printf '@test y {\n%s\n}\n' "$bad" >"$BATS_TEST_TMPDIR/m/t/bad.bats"
		run -2 make -s -C "$BATS_TEST_TMPDIR/m" lint-tests
		[[ "$output" == *"t/bad.bats:2:"* ]]
	done
}
