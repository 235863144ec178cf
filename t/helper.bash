# Shared by every t/*.bats: programs under test, throwaway instances.
# Tests never touch ~/.enf: HOME and ENF_HOME point into $BATS_TEST_TMPDIR.

: "${ENF_BIN:=$BATS_TEST_DIRNAME/../bin}"
PATH="$ENF_BIN:$PATH"
SHARE="$BATS_TEST_DIRNAME/../share"

common_setup() {
	export HOME="$BATS_TEST_TMPDIR/home"
	mkdir -p "$HOME"
	export ENF_HOME="$BATS_TEST_TMPDIR/enf"
	umask 077
	printf 'officer correct horse\n' >"$BATS_TEST_TMPDIR/officer.pass"
	printf 'operator battery staple\n' >"$BATS_TEST_TMPDIR/operator.pass"
	export ENF_OFFICER_PASSPHRASE_FILE="$BATS_TEST_TMPDIR/officer.pass"
	export ENF_PASSPHRASE_FILE="$BATS_TEST_TMPDIR/operator.pass"
	unset SSH_AUTH_SOCK
}

# A fresh initialised instance in $ENF_HOME.  Cheap Argon2id parameters
# (init --argon2, documented in enf-keygen(1)) keep the suite fast; the
# default parameters are measured in bench/.
make_instance() {
	enf-keygen init --argon2 1:8192:1 "$@" >/dev/null
}

# An SSH identity: $BATS_TEST_TMPDIR/ssh/NAME (private) and NAME.pub.
make_ssh_key() { # NAME [TYPE]
	mkdir -p "$BATS_TEST_TMPDIR/ssh"
	ssh-keygen -q -t "${2:-ed25519}" -N '' -C "$1@test" -f "$BATS_TEST_TMPDIR/ssh/$1"
}

# Number of records in the audit log.
audit_count() {
	if [ -f "$ENF_HOME/audit.log" ]; then wc -l <"$ENF_HOME/audit.log"; else echo 0; fi
}

# Runs a command with no terminal at all.
no_tty() {
	setsid -w "$@" </dev/null
}

# gdbmtool access to one raw record, as an attacker with write access has.
# Records travel as gdbmtool's ASCII dump (base64 blocks after #:len= lines).
record_get() { # NAME > bytes
	gdbmtool -q -r "$ENF_HOME/keystore" export "$BATS_TEST_TMPDIR/dump" truncate >/dev/null
	awk -v want="$(printf %s "$1" | base64 -w0)" '
		/^#:len=/ { blocks[nb++] = cur; cur = ""; started = 1; next }
		/^#/ { next }
		started { cur = cur $0 }
		END { blocks[nb++] = cur
		      for (i = 1; i + 1 < nb; i += 2) if (blocks[i] == want) { print blocks[i + 1]; exit } }' \
		"$BATS_TEST_TMPDIR/dump" | base64 -d
}

record_put() { # NAME FILE: replaces the record's value in place
	gdbmtool -q -r "$ENF_HOME/keystore" export "$BATS_TEST_TMPDIR/dump" truncate >/dev/null
	{
		sed -n '/^# End of header/q;p' "$BATS_TEST_TMPDIR/dump"
		echo "# End of header"
		echo "#:len=$(printf %s "$1" | wc -c)"
		printf %s "$1" | base64 -w76; echo
		echo "#:len=$(wc -c <"$2")"
		base64 -w76 "$2"; echo
	} | sed '/^$/d' >"$BATS_TEST_TMPDIR/put.dump"
	gdbmtool -q "$ENF_HOME/keystore" import "$BATS_TEST_TMPDIR/put.dump" replace nometa >/dev/null
}
