#!/usr/bin/env bats
# enf-verify: SSHSIG and raw signatures, interoperating with ssh-keygen and
# openssl in both directions; every rejection path and its exit code.

load helper
bats_require_minimum_version 1.5.0

setup() {
	common_setup
	T=$BATS_TEST_TMPDIR
	printf 'release 1.2.3 artifact\n' >"$T/data"
}

# ssh_key NAME TYPE [BITS]: $T/NAME, $T/NAME.pub
ssh_key() {
	ssh-keygen -q -t "$2" ${3:+-b "$3"} -N '' -C "$1@test" -f "$T/$1"
}

# sign KEY PURPOSE [FILE] [extra ssh-keygen args]: FILE.sig
sign() {
	local f=${3:-$T/data}
	rm -f "$f.sig"
	ssh-keygen -q -Y sign -n "$2" -f "$T/$1" "${@:4}" "$f" 2>/dev/null
}

# reencode MODE IN OUT [PUB]: IN's signature value rewritten (see the script).
reencode() { "$BATS_TEST_DIRNAME/sshsig-reencode.py" "$@"; }

# Verifies one ssh-keygen key type every way the synopsis allows.
interop() { # NAME TYPE [BITS]
	ssh_key "$1" "$2" "$3"
	sign "$1" release
	run enf-verify -p release -k "$T/$1.pub" -s "$T/data.sig" "$T/data"
	[ "$status" -eq 0 ]
	[ -z "$output" ]
	echo "ci@example $(cat "$T/$1.pub")" >"$T/allowed"
	run enf-verify -p release -A "$T/allowed" -I ci@example -s "$T/data.sig" "$T/data"
	[ "$status" -eq 0 ]
	run enf-verify -p release -k "$T/$1.pub" -s "$T/data.sig" - <"$T/data"
	[ "$status" -eq 0 ]
	run enf-verify -p release -k "$T/$1.pub" -s "$T/data.sig" <"$T/data"
	[ "$status" -eq 0 ]
	run enf-verify -p release -k "$T/$1.pub" -s "$T/data.sig" \
		--digest "sha512:$(sha512sum <"$T/data" | cut -d' ' -f1)"
	[ "$status" -eq 0 ]
	# ... and the same signature fails for another purpose.
	run enf-verify -p nightly -k "$T/$1.pub" -s "$T/data.sig" "$T/data"
	[ "$status" -eq 1 ]
}

@test "verifies ssh-keygen -Y sign signatures of an Ed25519 key" { interop ed ed25519; }
@test "verifies ssh-keygen -Y sign signatures of an ECDSA P-256 key" { interop p256 ecdsa 256; }
@test "verifies ssh-keygen -Y sign signatures of an ECDSA P-384 key" { interop p384 ecdsa 384; }
@test "verifies ssh-keygen -Y sign signatures of an RSA 3072 key" { interop rsa rsa 3072; }

@test "verifies a signature ssh-keygen made with -O hashalg=sha256" {
	ssh_key ed ed25519
	sign ed release "$T/data" -O hashalg=sha256
	run enf-verify -p release -k "$T/ed.pub" -s "$T/data.sig" "$T/data"
	[ "$status" -eq 0 ]
	run enf-verify -p release -k "$T/ed.pub" -s "$T/data.sig" \
		--digest "sha256:$(sha256sum <"$T/data" | cut -d' ' -f1)"
	[ "$status" -eq 0 ]
}

@test "rejects a signature made for another purpose" {
	ssh_key ed ed25519
	sign ed nightly
	run enf-verify -p release -k "$T/ed.pub" -s "$T/data.sig" "$T/data"
	[ "$status" -eq 1 ]
	[[ "$output" == *"enf-verify: invalid signature"*"another purpose"* ]]
}

@test "rejects a signature by another key" {
	ssh_key ed ed25519
	ssh_key other ed25519
	sign other release
	run enf-verify -p release -k "$T/ed.pub" -s "$T/data.sig" "$T/data"
	[ "$status" -eq 1 ]
	[[ "$output" == *"invalid signature"* ]]
}

@test "rejects data with one byte changed, appended or cut" {
	ssh_key p256 ecdsa 256
	sign p256 release
	printf 'release 1.2.4 artifact\n' >"$T/d2"
	run enf-verify -p release -k "$T/p256.pub" -s "$T/data.sig" "$T/data"
	[ "$status" -eq 0 ]
	run enf-verify -p release -k "$T/p256.pub" -s "$T/data.sig" "$T/d2"
	[ "$status" -eq 1 ]
	{ cat "$T/data"; printf x; } >"$T/d3"
	run enf-verify -p release -k "$T/p256.pub" -s "$T/data.sig" "$T/d3"
	[ "$status" -eq 1 ]
	head -c 10 "$T/data" >"$T/d4"
	run enf-verify -p release -k "$T/p256.pub" -s "$T/data.sig" "$T/d4"
	[ "$status" -eq 1 ]
}

@test "rejects truncated, garbled, empty and padded signatures" {
	ssh_key ed ed25519
	sign ed release
	head -n 3 "$T/data.sig" >"$T/trunc.sig"
	run enf-verify -p release -k "$T/ed.pub" -s "$T/data.sig" "$T/data"
	[ "$status" -eq 0 ]
	run enf-verify -p release -k "$T/ed.pub" -s "$T/trunc.sig" "$T/data"
	[ "$status" -eq 1 ]
	# One bit of the signature value flipped (the script fails if nothing changed).
	reencode flip "$T/data.sig" "$T/flip.sig"
	run cmp -s "$T/flip.sig" "$T/data.sig"
	[ "$status" -eq 1 ]
	run enf-verify -p release -k "$T/ed.pub" -s "$T/flip.sig" "$T/data"
	[ "$status" -eq 1 ]
	: >"$T/empty.sig"
	run enf-verify -p release -k "$T/ed.pub" -s "$T/empty.sig" "$T/data"
	[ "$status" -eq 1 ]
	head -c 300 /dev/urandom >"$T/junk.sig"
	run enf-verify -p release -k "$T/ed.pub" -s "$T/junk.sig" "$T/data"
	[ "$status" -eq 1 ]
	{ cat "$T/data.sig"; echo trailing; } >"$T/more.sig"
	run enf-verify -p release -k "$T/ed.pub" -s "$T/more.sig" "$T/data"
	[ "$status" -eq 1 ]
	sed 's/$/\r/' "$T/data.sig" >"$T/crlf.sig"
	run enf-verify -p release -k "$T/ed.pub" -s "$T/crlf.sig" "$T/data"
	[ "$status" -eq 1 ]
}

@test "rejects an Ed25519 signature re-encoded with S + L (RFC 8032 5.1.7)" {
	ssh_key ed ed25519
	sign ed release
	reencode s+L "$T/data.sig" "$T/sl.sig"
	run enf-verify -p release -k "$T/ed.pub" -s "$T/data.sig" "$T/data"
	[ "$status" -eq 0 ]
	run enf-verify -p release -k "$T/ed.pub" -s "$T/sl.sig" "$T/data"
	[ "$status" -eq 1 ]
	[[ "$output" == *"invalid signature"* ]]
}

@test "rejects an RSA signature re-encoded as s + n, and s = n (RFC 8017 5.2.2)" {
	# 2052 bits: the modulus leaves room in its 257 bytes, so s + n is as
	# long as the signature and only the range check can refuse it.
	ssh_key rsa rsa 2052
	sign rsa release
	reencode s+n "$T/data.sig" "$T/sn.sig" "$T/rsa.pub"
	reencode s=n "$T/data.sig" "$T/n.sig" "$T/rsa.pub"
	run enf-verify -p release -k "$T/rsa.pub" -s "$T/data.sig" "$T/data"
	[ "$status" -eq 0 ]
	run enf-verify -p release -k "$T/rsa.pub" -s "$T/sn.sig" "$T/data"
	[ "$status" -eq 1 ]
	[[ "$output" == *"invalid signature"* ]]
	run enf-verify -p release -k "$T/rsa.pub" -s "$T/n.sig" "$T/data"
	[ "$status" -eq 1 ]
}

@test "rejects an SSHSIG whose embedded key was swapped for the verifier's" {
	# The blob names the signer; a signature by B relabelled as A's must fail.
	ssh_key a ed25519
	ssh_key b ed25519
	sign b release
	python3 - "$T/a.pub" "$T/data.sig" "$T/swap.sig" <<'EOF'
import base64, struct, sys
a = base64.b64decode(open(sys.argv[1]).read().split()[1])
lines = open(sys.argv[2]).read().splitlines()
blob = base64.b64decode("".join(lines[1:-1]))
n = struct.unpack(">I", blob[10:14])[0]
blob = blob[:10] + struct.pack(">I", len(a)) + a + blob[14 + n:]
b64 = base64.b64encode(blob).decode()
body = "\n".join(b64[i:i + 70] for i in range(0, len(b64), 70))
open(sys.argv[3], "w").write(lines[0] + "\n" + body + "\n" + lines[-1] + "\n")
EOF
	run enf-verify -p release -k "$T/b.pub" -s "$T/data.sig" "$T/data"
	[ "$status" -eq 0 ]
	run enf-verify -p release -k "$T/a.pub" -s "$T/swap.sig" "$T/data"
	[ "$status" -eq 1 ]
}

@test "allowed_signers: principal patterns pick the key, others are refused" {
	ssh_key ed ed25519
	sign ed release
	{ echo "# signers"; echo; echo "*@ci.example,!rogue@ci.example $(cat "$T/ed.pub")"; } >"$T/allowed"
	run enf-verify -p release -A "$T/allowed" -I build@ci.example -s "$T/data.sig" "$T/data"
	[ "$status" -eq 0 ]
	run enf-verify -p release -A "$T/allowed" -I rogue@ci.example -s "$T/data.sig" "$T/data"
	[ "$status" -eq 1 ]
	run enf-verify -p release -A "$T/allowed" -I someone@else -s "$T/data.sig" "$T/data"
	[ "$status" -eq 1 ]
	[[ "$output" == *"no key for"* ]]
}

@test "allowed_signers: namespaces=\"...\" restricts the purposes a key may sign" {
	ssh_key ed ed25519
	echo "ci@example namespaces=\"release,docs-*\" $(cat "$T/ed.pub")" >"$T/allowed"
	sign ed release
	run enf-verify -p release -A "$T/allowed" -I ci@example -s "$T/data.sig" "$T/data"
	[ "$status" -eq 0 ]
	sign ed docs-html
	run enf-verify -p docs-html -A "$T/allowed" -I ci@example -s "$T/data.sig" "$T/data"
	[ "$status" -eq 0 ]
	sign ed firmware
	run enf-verify -p firmware -A "$T/allowed" -I ci@example -s "$T/data.sig" "$T/data"
	[ "$status" -eq 1 ]
	# ssh-keygen agrees.
	run ssh-keygen -Y verify -n firmware -f "$T/allowed" -I ci@example -s "$T/data.sig" <"$T/data"
	[ "$status" -ne 0 ]
}

@test "allowed_signers: a principal listed with another key does not verify" {
	ssh_key ed ed25519
	ssh_key other ed25519
	sign ed release
	echo "ci@example $(cat "$T/other.pub")" >"$T/allowed"
	echo "someone@else $(cat "$T/ed.pub")" >>"$T/allowed"
	run enf-verify -p release -A "$T/allowed" -I ci@example -s "$T/data.sig" "$T/data"
	[ "$status" -eq 1 ]
	[[ "$output" == *"another key"* ]]
}

@test "allowed_signers: cert-authority and valid-before lines are refused as unsupported" {
	ssh_key ed ed25519
	sign ed release
	echo "ci@example cert-authority $(cat "$T/ed.pub")" >"$T/allowed"
	run enf-verify -p release -A "$T/allowed" -I ci@example -s "$T/data.sig" "$T/data"
	[ "$status" -eq 1 ]
	[[ "$output" == *unsupported* ]]
	echo "ci@example valid-before=\"29991231\" $(cat "$T/ed.pub")" >"$T/allowed"
	run enf-verify -p release -A "$T/allowed" -I ci@example -s "$T/data.sig" "$T/data"
	[ "$status" -eq 1 ]
	[[ "$output" == *unsupported* ]]
}

@test "allowed_signers: a malformed file cannot be used (exit 3)" {
	ssh_key ed ed25519
	sign ed release
	echo "ci@example bogus-option $(cat "$T/ed.pub")" >"$T/allowed"
	run enf-verify -p release -A "$T/allowed" -I ci@example -s "$T/data.sig" "$T/data"
	[ "$status" -eq 3 ]
	echo "ci@example" >"$T/allowed"
	run -3 --separate-stderr enf-verify -p release -A "$T/allowed" -I ci@example -s "$T/data.sig" "$T/data"
	[ "$stderr" = "enf-verify: $T/allowed: allowed signers line 1: malformed" ]
}

@test "--digest: the data is not read, and the hash must be the signature's" {
	ssh_key ed ed25519
	sign ed release
	h512=$(sha512sum <"$T/data" | cut -d' ' -f1)
	h256=$(sha256sum <"$T/data" | cut -d' ' -f1)
	run enf-verify -p release -k "$T/ed.pub" -s "$T/data.sig" --digest "sha512:$h512" </dev/null
	[ "$status" -eq 0 ]
	run enf-verify -p release -k "$T/ed.pub" -s "$T/data.sig" --digest "sha256:$h256"
	[ "$status" -eq 1 ]
	[[ "$output" == *"uses sha512"* ]]
	bad=$(printf '%s' "$h512" | sed 's/^./0/;s/^00/10/')
	run enf-verify -p release -k "$T/ed.pub" -s "$T/data.sig" --digest "sha512:$bad"
	[ "$status" -eq 1 ]
}

@test "--digest: malformed values are usage errors" {
	ssh_key ed ed25519
	sign ed release
	h512=$(sha512sum <"$T/data" | cut -d' ' -f1)
	for d in "sha512:${h512^^}" "sha512:${h512:2}" "sha512:${h512}00" "md5:$h512" "$h512" "sha512:"; do
		run enf-verify -p release -k "$T/ed.pub" -s "$T/data.sig" --digest "$d"
		[ "$status" -eq 2 ]
	done
}

@test "accepts the public key as PEM from ssh-keygen -e -m PKCS8" {
	for t in "p256 ecdsa 256" "p384 ecdsa 384" "rsa rsa 3072"; do
		set -- $t
		ssh_key "$1" "$2" "$3"
		ssh-keygen -e -m PKCS8 -f "$T/$1.pub" >"$T/$1.pem"
		sign "$1" release
		run enf-verify -p release -k "$T/$1.pem" -s "$T/data.sig" "$T/data"
		[ "$status" -eq 0 ]
	done
}

@test "accepts an Ed25519 public key as PEM from openssl" {
	openssl genpkey -algorithm ed25519 -out "$T/ed.key" 2>/dev/null
	openssl pkey -in "$T/ed.key" -pubout -out "$T/ed.pem"
	ssh_key ed ed25519
	sign ed release
	# Not the signer: parsed, then refused as another key.
	run enf-verify -p release -k "$T/ed.pem" -s "$T/data.sig" "$T/data"
	[ "$status" -eq 1 ]
	[[ "$output" == *"another key"* ]]
}

@test "a public key file that is not a key cannot be used (exit 3)" {
	ssh_key ed ed25519
	sign ed release
	echo "ssh-ed25519 AAAAnotbase64" >"$T/bad.pub"
	run -3 --separate-stderr enf-verify -p release -k "$T/bad.pub" -s "$T/data.sig" "$T/data"
	# The path once, then why (the message was once formatted into itself).
	[ "$stderr" = "enf-verify: $T/bad.pub: public key: not an OpenSSH public key line" ]
	cat "$T/ed.pub" "$T/ed.pub" >"$T/two.pub"
	run enf-verify -p release -k "$T/two.pub" -s "$T/data.sig" "$T/data"
	[ "$status" -eq 3 ]
	ssh-keygen -q -t dsa -N '' -f "$T/dsa" 2>/dev/null || echo "ssh-dss AAAAB3NzaC1kc3MAAAA=" >"$T/dsa.pub"
	run enf-verify -p release -k "$T/dsa.pub" -s "$T/data.sig" "$T/data"
	[ "$status" -eq 3 ]
}

# openssl KEYNAME ALG...: $T/KEYNAME.key, $T/KEYNAME.pem (public)
openssl_key() {
	local n=$1
	shift
	openssl genpkey "$@" -out "$T/$n.key" 2>/dev/null
	openssl pkey -in "$T/$n.key" -pubout -out "$T/$n.pem"
}

@test "--raw: verifies an openssl ECDSA P-256 signature" {
	openssl_key ec -algorithm EC -pkeyopt ec_paramgen_curve:P-256
	openssl dgst -sha256 -sign "$T/ec.key" -out "$T/data.der" "$T/data"
	run enf-verify --raw -p release -k "$T/ec.pem" -s "$T/data.der" "$T/data"
	[ "$status" -eq 0 ]
	[ -z "$output" ]
	ssh-keygen -i -m PKCS8 -f "$T/ec.pem" >"$T/ec.pub"
	run enf-verify --raw -p release -k "$T/ec.pub" -s "$T/data.der" "$T/data"
	[ "$status" -eq 0 ]
	run enf-verify --raw -p release -k "$T/ec.pem" -s "$T/data.der" \
		--digest "sha256:$(sha256sum <"$T/data" | cut -d' ' -f1)"
	[ "$status" -eq 0 ]
	printf 'tampered\n' >>"$T/data"
	run enf-verify --raw -p release -k "$T/ec.pem" -s "$T/data.der" "$T/data"
	[ "$status" -eq 1 ]
}

@test "--raw: -a picks the hash; the wrong one fails" {
	openssl_key ec -algorithm EC -pkeyopt ec_paramgen_curve:P-384
	openssl dgst -sha384 -sign "$T/ec.key" -out "$T/data.der" "$T/data"
	run enf-verify --raw -a sha384 -p release -k "$T/ec.pem" -s "$T/data.der" "$T/data"
	[ "$status" -eq 0 ]
	run enf-verify --raw -p release -k "$T/ec.pem" -s "$T/data.der" "$T/data"
	[ "$status" -eq 1 ]
	run enf-verify --raw -a sha512 -p release -k "$T/ec.pem" -s "$T/data.der" "$T/data"
	[ "$status" -eq 1 ]
}

@test "--raw: verifies an openssl RSA PKCS#1 v1.5 signature" {
	openssl_key rsa -algorithm RSA -pkeyopt rsa_keygen_bits:2048
	openssl dgst -sha512 -sign "$T/rsa.key" -out "$T/data.p1" "$T/data"
	run enf-verify --raw -a sha512 -p release -k "$T/rsa.pem" -s "$T/data.p1" "$T/data"
	[ "$status" -eq 0 ]
	run enf-verify --raw -p release -k "$T/rsa.pem" -s "$T/data.p1" "$T/data"
	[ "$status" -eq 1 ]
	head -c 255 "$T/data.p1" >"$T/short.p1"
	run enf-verify --raw -a sha512 -p release -k "$T/rsa.pem" -s "$T/short.p1" "$T/data"
	[ "$status" -eq 1 ]
	# A PSS signature is not PKCS#1 v1.5.
	openssl dgst -sha512 -sigopt rsa_padding_mode:pss -sign "$T/rsa.key" -out "$T/pss" "$T/data"
	run enf-verify --raw -a sha512 -p release -k "$T/rsa.pem" -s "$T/pss" "$T/data"
	[ "$status" -eq 1 ]
}

@test "--raw: rejects an RSA signature re-encoded as s + n, and s = n" {
	openssl_key rsa -algorithm RSA -pkeyopt rsa_keygen_bits:2052
	openssl dgst -sha256 -sign "$T/rsa.key" -out "$T/data.p1" "$T/data"
	n=$(openssl rsa -pubin -in "$T/rsa.pem" -noout -modulus | sed 's/^Modulus=//')
	python3 - "$n" "$T/data.p1" "$T" <<'EOF'
import sys
n = int(sys.argv[1], 16)
raw = open(sys.argv[2], "rb").read()
assert len(raw) == 257
open(sys.argv[3] + "/sn.p1", "wb").write((int.from_bytes(raw, "big") + n).to_bytes(257, "big"))
open(sys.argv[3] + "/n.p1", "wb").write(n.to_bytes(257, "big"))
EOF
	run enf-verify --raw -p release -k "$T/rsa.pem" -s "$T/data.p1" "$T/data"
	[ "$status" -eq 0 ]
	run enf-verify --raw -p release -k "$T/rsa.pem" -s "$T/sn.p1" "$T/data"
	[ "$status" -eq 1 ]
	run enf-verify --raw -p release -k "$T/rsa.pem" -s "$T/n.p1" "$T/data"
	[ "$status" -eq 1 ]
}

@test "--raw: with -A the key's namespaces must include the purpose" {
	openssl_key ec -algorithm EC -pkeyopt ec_paramgen_curve:P-256
	openssl dgst -sha256 -sign "$T/ec.key" -out "$T/data.der" "$T/data"
	echo "ci@example namespaces=\"release\" $(ssh-keygen -i -m PKCS8 -f "$T/ec.pem")" >"$T/allowed"
	run enf-verify --raw -p release -A "$T/allowed" -I ci@example -s "$T/data.der" "$T/data"
	[ "$status" -eq 0 ]
	run enf-verify --raw -p firmware -A "$T/allowed" -I ci@example -s "$T/data.der" "$T/data"
	[ "$status" -eq 1 ]
}

@test "--raw: an Ed25519 key is a usage error" {
	ssh_key ed ed25519
	head -c 64 /dev/urandom >"$T/raw.sig"
	run enf-verify --raw -p release -k "$T/ed.pub" -s "$T/raw.sig" "$T/data"
	[ "$status" -eq 2 ]
	[[ "$output" == *"ECDSA or RSA"* ]]
}

@test "--raw: an SSHSIG is not a raw signature" {
	ssh_key p256 ecdsa 256
	sign p256 release
	run enf-verify -p release -k "$T/p256.pub" -s "$T/data.sig" "$T/data"
	[ "$status" -eq 0 ]
	run enf-verify --raw -p release -k "$T/p256.pub" -s "$T/data.sig" "$T/data"
	[ "$status" -eq 1 ]
}

@test "usage errors exit 2" {
	ssh_key ed ed25519
	sign ed release
	k=$T/ed.pub s=$T/data.sig d=$T/data
	echo "x $(cat "$k")" >"$T/allowed"
	for args in \
		"-k $k -s $s $d" \
		"-p release -s $s $d" \
		"-p release -k $k $d" \
		"-p release -k $k -A $T/allowed -I x -s $s $d" \
		"-p release -A $T/allowed -s $s $d" \
		"-p release -k $k -I x -s $s $d" \
		"-p Release -k $k -s $s $d" \
		"-p release -k $k -s $s -a sha256 $d" \
		"-p release -k $k -s $s --raw -a md5 $d" \
		"-p release -k $k -s $s $d $d" \
		"-p release -k $k -s $s --digest sha512:00 $d" \
		"-p release -k $k -s $s --nosuch $d" \
		"-p release -k $k -s - -" \
		"-p release -k - -s $s" \
		"-p release -k $k -s $s --raw -a sha256 --digest sha512:$(sha512sum <"$d" | cut -d' ' -f1)"; do
		run enf-verify $args
		echo "args: $args -> $status"
		[ "$status" -eq 2 ]
	done
}

@test "missing or unreadable inputs exit 3" {
	ssh_key ed ed25519
	sign ed release
	run enf-verify -p release -k "$T/nope.pub" -s "$T/data.sig" "$T/data"
	[ "$status" -eq 3 ]
	[[ "$output" == *nope.pub* ]]
	run enf-verify -p release -k "$T/ed.pub" -s "$T/nope.sig" "$T/data"
	[ "$status" -eq 3 ]
	[[ "$output" == *nope.sig* ]]
	run enf-verify -p release -k "$T/ed.pub" -s "$T/data.sig" "$T/nope"
	[ "$status" -eq 3 ]
	[[ "$output" == *nope* ]]
	run enf-verify -p release -A "$T/nope" -I x -s "$T/data.sig" "$T/data"
	[ "$status" -eq 3 ]
	run enf-verify -p release -k "$T/ed.pub" -s "$T/data.sig" "$T"
	[ "$status" -eq 3 ]
}

@test "reads the signature from stdin when the data is a file" {
	ssh_key ed ed25519
	sign ed release
	run enf-verify -p release -k "$T/ed.pub" -s - "$T/data" <"$T/data.sig"
	[ "$status" -eq 0 ]
}

@test "prints nothing on stdout; -v says which key signed, on stderr" {
	ssh_key ed ed25519
	sign ed release
	out=$(enf-verify -v -p release -k "$T/ed.pub" -s "$T/data.sig" "$T/data" 2>"$T/err")
	[ -z "$out" ]
	fp=$(ssh-keygen -l -E sha256 -f "$T/ed.pub" | cut -d' ' -f2)
	grep -q "good signature for purpose release by ssh-ed25519 key $fp" "$T/err"
	run --separate-stderr enf-verify -p nightly -k "$T/ed.pub" -s "$T/data.sig" "$T/data"
	[ "$status" -eq 1 ]
	[ -z "$output" ]
	[[ "$stderr" == *"another purpose"* ]]
}

@test "streams a large file" {
	ssh_key ed ed25519
	head -c 64M /dev/zero >"$T/big"
	sign ed release "$T/big"
	run enf-verify -p release -k "$T/ed.pub" -s "$T/big.sig" "$T/big"
	[ "$status" -eq 0 ]
	printf x >>"$T/big"
	run enf-verify -p release -k "$T/ed.pub" -s "$T/big.sig" "$T/big"
	[ "$status" -eq 1 ]
}

@test "--help prints usage on stdout and exits 0; --version" {
	run enf-verify --help
	[ "$status" -eq 0 ]
	[[ "$output" == usage:* ]]
	run enf-verify -h
	[ "$status" -eq 0 ]
	run enf-verify --version
	[ "$status" -eq 0 ]
	[[ "$output" == "enf-verify "[0-9]* ]]
}
