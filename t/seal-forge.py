#!/usr/bin/env python3
"""Forge a transferred sealed file from public files only, for the tests.

usage: seal-forge.py [--unsigned] TARGET.pub SOURCE.pub <PLAINTEXT >FORGED

Follows enf-seal(5) as an attacker who holds nothing secret would: the
target's and the source's public identity files (enf-keygen instance).
The result names TARGET as its instance and SOURCE as where it came from.
The signed layout (kind 3) carries SOURCE's identity key but a signature by
a key of the forger's own, since SOURCE's private key is not to be had;
--unsigned writes enf 0.1.0's unsigned layout (kind 2) instead.
"""
import base64
import hashlib
import os
import struct
import sys

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

CHUNK = 65536


def identity(path):
    """(instance id, Ed25519 key, X25519 key) of an identity file."""
    lines = [l for l in open(path).read().splitlines() if l and not l.startswith("#")]
    blob = base64.b64decode(lines[0].split()[1])
    assert blob[:15] == b"\0\0\0\x0bssh-ed25519" and len(blob) == 51
    x = base64.b64decode(lines[1].split()[1])
    return hashlib.sha256(blob).digest(), blob[19:], x


def sealbox(target_x, ad, pt):
    eph = X25519PrivateKey.generate()
    epk = eph.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    shared = eph.exchange(X25519PublicKey.from_public_bytes(target_x))
    k = HKDF(hashes.SHA256(), 32, epk + target_x, b"enf transfer").derive(shared)
    return epk + AESGCM(k).encrypt(bytes(12), pt, ad)


def main():
    args = sys.argv[1:]
    unsigned = args[0] == "--unsigned"
    if unsigned:
        args = args[1:]
    target_id, _, target_x = identity(args[0])
    source_id, source_key, _ = identity(args[1])
    ck = os.urandom(32)
    fixed = b"ENFSEAL" + bytes([1, 2 if unsigned else 3, 0]) + struct.pack(">I", CHUNK)
    fixed += target_id + os.urandom(32)
    if unsigned:
        head = fixed + source_id
        header = head + sealbox(target_x, head, ck)
    else:
        head = fixed + source_key
        head += sealbox(target_x, head, ck)
        forger = Ed25519PrivateKey.generate()
        header = head + forger.sign(b"enf-seal v1 transfer\0" + head)
    out = sys.stdout.buffer
    out.write(header)
    hh = hashlib.sha256(header).digest()
    data = sys.stdin.buffer.read()
    chunks = [data[i:i + CHUNK] for i in range(0, len(data) - len(data) % CHUNK, CHUNK)]
    chunks.append(data[len(chunks) * CHUNK:])
    for i, c in enumerate(chunks):
        final = i == len(chunks) - 1
        nonce = bytes(4) + struct.pack(">Q", i)
        ad = hh + struct.pack(">Q", i) + bytes([1 if final else 0])
        out.write(AESGCM(ck).encrypt(nonce, c, ad))


main()
