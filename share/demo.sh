#!/usr/bin/env bash
# make demo: enf's main job end to end in a throwaway instance, no terminal.
# Each step is printed as the command a user would type.
set -euo pipefail
: "${ENF_BIN:=$(cd "$(dirname "$0")/../bin" && pwd)}"
share=$(cd "$(dirname "$0")" && pwd)
export PATH="$ENF_BIN:$PATH"

demo=$(mktemp -d /tmp/enf-demo.XXXXXX)
trap 'rm -rf "$demo"' EXIT
cd "$demo"
umask 077
unset SSH_AUTH_SOCK

say() { printf '\n# %s\n' "$*"; }
run() { printf '$ %s\n' "$*"; "$@"; }
# Runs a command expected to fail and shows how.
run_fails() {
	local rc=0
	printf '$ %s\n' "$*"
	"$@" || rc=$?
	if [ "$rc" -eq 0 ]; then echo "demo: that should have failed" >&2; exit 1; fi
	echo "(exit $rc)"
}
# Runs a command whose standard output goes to a file.
run_to() { local out=$1; shift; printf '$ %s > %s\n' "$*" "$out"; "$@" >"$out"; }

say "An instance in a throwaway home, with the two role passphrases in files"
export ENF_HOME="$demo/hsm"
printf 'demo officer passphrase\n' >officer.pw
printf 'demo operator passphrase\n' >operator.pw
export ENF_OFFICER_PASSPHRASE_FILE="$demo/officer.pw" ENF_PASSPHRASE_FILE="$demo/operator.pw"
echo "\$ export ENF_HOME=$ENF_HOME ENF_OFFICER_PASSPHRASE_FILE=officer.pw ENF_PASSPHRASE_FILE=operator.pw"
run enf-keygen init

say "The officer creates the release key"
run enf-keygen new -a ed25519 -p release release-2026
run enf-keygen list

say "SSH identities: the CI job and two release managers"
for who in ci-bot alice bob; do
	run ssh-keygen -q -t ed25519 -N '' -C "$who@demo" -f "$who"
done

say "The CI release policy from share/policies, with these identities' keys"
sed -e "s|^identity ci-bot .*|identity ci-bot $(cat ci-bot.pub)|" \
    -e "s|^identity alice .*|identity alice  $(cat alice.pub)|" \
    -e "s|^identity bob .*|identity bob    $(cat bob.pub)|" \
    "$share/policies/ci-release.policy" >release.policy
run enf-policy check -H "$ENF_HOME" release.policy
run enf-policy install release.policy

say "CI builds an artifact and asks for a signature"
head -c 1048576 /dev/urandom >enf-1.0.tar.gz
run enf-request -k release-2026 -i ci-bot -p release -s artifact:tarball -r rel-tarballs \
	--ssh-key ci-bot -o req enf-1.0.tar.gz
run enf-request show req

say "Without the two approvals the rule asks for, the request is denied"
run_fails enf-policy eval req
run_fails enf-sign -o enf-1.0.tar.gz.sig req
[ ! -e enf-1.0.tar.gz.sig ]
seq=$(enf-audit head | cut -d: -f1)
say "The caller learns nothing more; the operator reads the reason in the audit log"
run enf-audit show "$seq"

say "Two release managers approve, and the signing host signs"
run enf-request approve --ssh-key alice -o req.1 req
run enf-request approve --ssh-key bob -o req.2 req.1
run enf-sign -o enf-1.0.tar.gz.sig req.2
run cat enf-1.0.tar.gz.sig

say "Anyone verifies it, with enf-verify or OpenSSH alone"
run_to release-2026.pub enf-keygen pubkey release-2026
run enf-verify -v -p release -k release-2026.pub -s enf-1.0.tar.gz.sig enf-1.0.tar.gz
printf 'release-2026 namespaces="release" %s\n' "$(cut -d' ' -f1,2 release-2026.pub)" >allowed_signers
printf '$ %s\n' "ssh-keygen -Y verify -n release -f allowed_signers -I release-2026 -s enf-1.0.tar.gz.sig < enf-1.0.tar.gz"
ssh-keygen -Y verify -n release -f allowed_signers -I release-2026 -s enf-1.0.tar.gz.sig <enf-1.0.tar.gz

say "A signature for another purpose does not pass as a release signature"
run_fails enf-verify -p firmware -k release-2026.pub -s enf-1.0.tar.gz.sig enf-1.0.tar.gz

say "A request for a scope the rule does not list is denied, whatever its approvals"
run enf-request -k release-2026 -i ci-bot -p release -s artifact:deb -r rel-tarballs \
	--ssh-key ci-bot -o deb.req enf-1.0.tar.gz
enf-request approve --ssh-key alice deb.req | enf-request approve --ssh-key bob >deb.req.2
run_fails enf-sign deb.req.2
run enf-audit show --json "$(enf-audit head | cut -d: -f1)"

say "The audit log: every decision, chained and signed"
run enf-audit show
run enf-audit verify
echo
echo "demo: done (the throwaway instance in $demo is removed)"
