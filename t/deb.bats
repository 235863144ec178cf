#!/usr/bin/env bats
# make install / uninstall and the Debian package: stripped programs, man
# pages that name the real prefix, completion, and a .deb that installs,
# works and removes cleanly.

load helper
bats_require_minimum_version 1.5.0

TOP="$BATS_TEST_DIRNAME/.."

setup() {
	common_setup
}

# No symbol table left: the binary was stripped.
stripped() { ! readelf -S "$1" | grep -q '\.symtab'; }

@test "make install strips, substitutes PREFIX in the man pages, and installs completion" {
	dest="$BATS_TEST_TMPDIR/dest"
	make -s -C "$TOP" install DESTDIR="$dest" PREFIX=/opt/enf >/dev/null
	for p in "$TOP"/cmd/enf-*; do
		p=${p##*/}
		[ -x "$dest/opt/enf/bin/$p" ]
		stripped "$dest/opt/enf/bin/$p"
		[ -L "$dest/opt/enf/share/bash-completion/completions/$p" ]
	done
	grep -q '/opt/enf/share/enf/policies' "$dest/opt/enf/share/man/man1/enf-policy.1"
	run ! grep -rq '/usr/local' "$dest/opt/enf/share/man"
	[ -f "$dest/opt/enf/share/enf/policies/ci-release.policy" ]
	[ "$(stat -c %a "$dest/opt/enf/share/man/man1/enf-sshsig.1")" = 644 ]
}

@test "make install STRIP= installs unstripped programs" {
	dest="$BATS_TEST_TMPDIR/dest"
	make -s -C "$TOP" install DESTDIR="$dest" PREFIX=/usr STRIP= >/dev/null
	run ! stripped "$dest/usr/bin/enf-sign"
}

@test "make uninstall removes exactly what make install put there" {
	dest="$BATS_TEST_TMPDIR/dest"
	mkdir -p "$dest/usr/local/bin"
	touch "$dest/usr/local/bin/someone-elses"
	make -s -C "$TOP" install DESTDIR="$dest" >/dev/null
	make -s -C "$TOP" uninstall DESTDIR="$dest" >/dev/null
	[ "$(find "$dest" -type f -o -type l)" = "$dest/usr/local/bin/someone-elses" ]
	[ ! -e "$dest/usr/local/share/enf" ]
}

@test "make deb builds a package that installs, runs, shows its man page and removes cleanly" {
	[ "$(id -u)" -eq 0 ] || skip "dpkg -i needs root"
	if dpkg-query -W -f='${Status}' enf 2>/dev/null | grep -q installed; then
		skip "a package named enf is installed here already; not touching it"
	fi
	[ ! -e /usr/bin/enf-keygen ] || skip "/usr/bin/enf-keygen exists outside any package"
	run "$TOP/pkg/deb/build.sh" "$BATS_TEST_TMPDIR/deb"
	[ "$status" -eq 0 ]
	deb=${lines[-1]}
	[[ "$deb" == *.deb ]]
	dpkg-deb -c "$deb" | grep -q ' ./usr/share/man/man1/enf-sshsig.1.gz$'
	dpkg-deb -c "$deb" | grep -q ' ./usr/share/bash-completion/completions/enf-keygen -> enf$'
	dpkg-deb -f "$deb" Depends | grep -q 'libgcrypt20'
	# Removed again whatever happens below.
	trap 'dpkg --purge enf >/dev/null 2>&1 || true' EXIT
	dpkg -i "$deb" >/dev/null
	run /usr/bin/enf-keygen --version
	[ "$status" -eq 0 ]
	[ "$output" = "enf-keygen $(sed -n 's/^#define ENF_VERSION "\(.*\)"$/\1/p' "$TOP/lib/enf.h")" ]
	PATH=/usr/bin:/bin /usr/bin/enf-keygen init --argon2 1:8192:1 >/dev/null
	[ "$(man -w enf-keygen)" = /usr/share/man/man1/enf-keygen.1.gz ]
	zcat /usr/share/man/man1/enf-policy.1.gz | grep -q '/usr/share/enf/policies'
	dpkg --purge enf >/dev/null
	trap - EXIT
	[ ! -e /usr/bin/enf-keygen ]
	[ ! -e /usr/share/man/man1/enf-keygen.1.gz ]
	[ ! -e /usr/share/bash-completion/completions/enf ]
	run ! dpkg-query -W -f='${Status}' enf
}

@test "the package has no lintian errors or warnings" {
	"$TOP/pkg/deb/build.sh" "$BATS_TEST_TMPDIR/deb" >/dev/null
	run lintian --no-tag-display-limit "$BATS_TEST_TMPDIR"/deb/enf_*.deb
	echo "$output"
	run ! grep -E '^(E|W): ' <<<"$output"
}
