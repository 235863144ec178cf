#!/usr/bin/env bats
# enf-keygen allowed-signers and krl: trust files for verifiers who have
# only OpenSSH.

load helper
bats_require_minimum_version 1.5.0

setup() {
	common_setup
	make_instance
	enf-keygen new -p release,nightly rel >/dev/null
	enf-keygen new -a ecdsa-p256 -p firmware fw >/dev/null
	enf-keygen new -p release old >/dev/null
	make_ssh_key ci
	T="$BATS_TEST_TMPDIR"
}

# Signs DATA with enf KEY for PURPOSE through a policy that allows it.
sign_with() { # KEY PURPOSE DATA
	cat >"$T/policy" <<-EOF2
	version 1
	policy p
	purpose $2
	identity ci $(cat "$T/ssh/ci.pub")
	rule r key=$1 identity=ci purpose=$2 scope=s
	EOF2
	enf-policy install "$T/policy" >/dev/null
	enf-request -k "$1" -i ci -p "$2" -s s -r r --ssh-key "$T/ssh/ci" "$3" | enf-sign -o "$3.sig"
}

@test "allowed-signers prints one line per active key with its purposes as namespaces" {
	run --separate-stderr enf-keygen allowed-signers
	[ "$status" -eq 0 ]
	[ "${#lines[@]}" -eq 3 ]
	[ "${lines[0]}" = "fw namespaces=\"firmware\" $(enf-keygen pubkey fw | cut -d' ' -f1,2)" ]
	[ "${lines[2]}" = "rel namespaces=\"release,nightly\" $(enf-keygen pubkey rel | cut -d' ' -f1,2)" ]
}

@test "allowed-signers leaves out keys that are not active" {
	enf-keygen state old deactivated
	enf-keygen state fw compromised
	run enf-keygen allowed-signers
	[ "$status" -eq 0 ]
	[ "$output" = "rel namespaces=\"release,nightly\" $(enf-keygen pubkey rel | cut -d' ' -f1,2)" ]
}

@test "allowed-signers NAME... prints only those, and refuses an unknown or inactive name" {
	run enf-keygen allowed-signers rel
	[ "$status" -eq 0 ]
	[ "${#lines[@]}" -eq 1 ]
	[[ "$output" == rel\ * ]]
	run --separate-stderr enf-keygen allowed-signers rel nosuch
	[ "$status" -eq 1 ]
	[ -z "$output" ]
	[[ "$stderr" == *"no key named 'nosuch'"* ]]
	enf-keygen state old compromised
	run --separate-stderr enf-keygen allowed-signers old
	[ "$status" -eq 1 ]
	[ -z "$output" ]
	[[ "$stderr" == *"key 'old' is compromised"* ]]
	run enf-keygen allowed-signers 'Bad Name'
	[ "$status" -eq 2 ]
}

@test "ssh-keygen -Y verify accepts a signature with the allowed-signers file" {
	echo data >"$T/d"
	sign_with rel release "$T/d"
	enf-keygen allowed-signers >"$T/allowed"
	run ssh-keygen -Y verify -n release -f "$T/allowed" -I rel -s "$T/d.sig" <"$T/d"
	[ "$status" -eq 0 ]
	# The namespace is the purpose: not good for firmware.
	run ssh-keygen -Y verify -n firmware -f "$T/allowed" -I rel -s "$T/d.sig" <"$T/d"
	[ "$status" -ne 0 ]
}

@test "a KRL makes ssh-keygen reject a compromised key's earlier signature and keep an active one's" {
	echo old >"$T/o"
	echo new >"$T/n"
	sign_with old release "$T/o"
	sign_with rel release "$T/n"
	enf-keygen allowed-signers >"$T/allowed"
	echo "old namespaces=\"release\" $(enf-keygen pubkey old | cut -d' ' -f1,2)" >>"$T/allowed"
	ssh-keygen -Y verify -n release -f "$T/allowed" -I old -s "$T/o.sig" <"$T/o"
	enf-keygen state old compromised
	run --separate-stderr enf-keygen krl -o "$T/revoked.krl"
	[ "$status" -eq 0 ]
	[[ "$stderr" == *"1 revoked key"* ]]
	run ssh-keygen -Y verify -n release -f "$T/allowed" -I old -s "$T/o.sig" -r "$T/revoked.krl" <"$T/o"
	[ "$status" -ne 0 ]
	run ssh-keygen -Y verify -n release -f "$T/allowed" -I rel -s "$T/n.sig" -r "$T/revoked.krl" <"$T/n"
	[ "$status" -eq 0 ]
	# ssh-keygen -Q agrees: revoked, and not revoked.
	run ssh-keygen -Q -f "$T/revoked.krl" <(enf-keygen pubkey old)
	[ "$status" -ne 0 ]
	ssh-keygen -Q -f "$T/revoked.krl" <(enf-keygen pubkey rel)
}

@test "a destroyed key is in the KRL too; deactivated keys are not" {
	enf-keygen state old destroyed
	enf-keygen state fw deactivated
	enf-keygen krl -o "$T/k" 2>/dev/null
	run ssh-keygen -Q -f "$T/k" <(enf-keygen pubkey old)
	[ "$status" -ne 0 ]
	ssh-keygen -Q -f "$T/k" <(enf-keygen pubkey fw)
}

@test "with nothing revoked the KRL is valid and revokes nothing" {
	run enf-keygen krl -o "$T/k"
	[ "$status" -eq 0 ]
	ssh-keygen -Q -f "$T/k" <(enf-keygen pubkey rel)
}

@test "krl replaces its output atomically and needs -o" {
	echo previous >"$T/k"
	enf-keygen state old compromised
	enf-keygen krl -o "$T/k" 2>/dev/null
	run ssh-keygen -Q -f "$T/k" <(enf-keygen pubkey old)
	[ "$status" -ne 0 ]
	[ -z "$(find "$T" -maxdepth 1 -name 'k?*')" ]
	run enf-keygen krl
	[ "$status" -eq 2 ]
	run enf-keygen krl -o "$T/nodir/k"
	[ "$status" -eq 3 ]
	[ ! -e "$T/nodir" ]
}

@test "-o is refused by the other commands" {
	run enf-keygen list -o "$T/x"
	[ "$status" -eq 2 ]
	[ ! -e "$T/x" ]
}

@test "list --json gives created as the ISO 8601 UTC time the text list shows" {
	run enf-keygen list --json
	[ "$status" -eq 0 ]
	created=$(jq -r 'select(.name == "rel") | .created' <<<"$output")
	[[ "$created" =~ ^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z$ ]]
	[ "$(enf-keygen list | awk '$1 == "rel" { print $4 }')" = "$created" ]
	[ "$(sed -n 1p <<<"$output" | jq -r '.created | type')" = string ]
}
