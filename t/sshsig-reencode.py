#!/usr/bin/env python3
"""Rewrite the signature bytes inside an armored SSHSIG, for the tests.

usage: sshsig-reencode.py MODE IN OUT [PUB]

  flip  the first signature byte XOR 0x01: always a change, never a no-op
  s+L   Ed25519: S + L, the same signature re-encoded (RFC 8032 5.1.7)
  s+n   RSA: s + n, the same signature re-encoded (RFC 8017 5.2.2); n from
        the OpenSSH public key line in PUB; fails when s + n does not fit
        in the modulus length
  s=n   RSA: s = n

Everything else (key, namespace, hash, armor) is kept, so the output
differs from the input only in the signature value.
"""
import base64
import struct
import sys

L = 2**252 + 27742317777372353535851937790883648493


def read(b, o):
    n = struct.unpack(">I", b[o:o + 4])[0]
    if o + 4 + n > len(b):
        sys.exit("truncated string")
    return b[o + 4:o + 4 + n], o + 4 + n


def string(x):
    return struct.pack(">I", len(x)) + x


def rsa_n(pub):
    blob = base64.b64decode(open(pub).read().split()[1])
    kind, o = read(blob, 0)
    e, o = read(blob, o)
    n, o = read(blob, o)
    if kind != b"ssh-rsa":
        sys.exit("not an RSA key")
    return int.from_bytes(n, "big")


def reencode(mode, raw, pub):
    if mode == "flip":
        return bytes([raw[0] ^ 1]) + raw[1:]
    if mode == "s+L":
        if len(raw) != 64:
            sys.exit("not an Ed25519 signature")
        s = int.from_bytes(raw[32:], "little") + L
        return raw[:32] + s.to_bytes(32, "little")
    n = rsa_n(pub)
    s = int.from_bytes(raw, "big") + n if mode == "s+n" else n
    return s.to_bytes(len(raw), "big")  # OverflowError: does not fit


def main():
    mode, src, dst = sys.argv[1:4]
    pub = sys.argv[4] if len(sys.argv) > 4 else None
    lines = open(src).read().splitlines()
    blob = base64.b64decode("".join(lines[1:-1]))
    if blob[:6] != b"SSHSIG":
        sys.exit("not an SSHSIG")
    fields, o = [], 10
    for _ in range(5):
        f, o = read(blob, o)
        fields.append(f)
    if o != len(blob):
        sys.exit("trailing bytes")
    alg, o = read(fields[4], 0)
    raw, o = read(fields[4], o)
    new = reencode(mode, raw, pub)
    if new == raw:
        sys.exit("the signature did not change")
    fields[4] = string(alg) + string(new)
    b64 = base64.b64encode(blob[:10] + b"".join(string(f) for f in fields)).decode()
    body = "\n".join(b64[i:i + 70] for i in range(0, len(b64), 70))
    with open(dst, "w") as f:
        f.write(lines[0] + "\n" + body + "\n" + lines[-1] + "\n")


main()
