/* Public keys: the SSH wire encoding and signature verification, the side
 * of enf that handles untrusted input.  Public keys are kept as their SSH
 * wire blob, the canonical form from which every other encoding (OpenSSH
 * line, fingerprint, PEM: keyfmt.h) is made. */
#ifndef ENF_PUBKEY_H
#define ENF_PUBKEY_H

#include <stddef.h>
#include <gcrypt.h>
#include "buf.h"

/* Public key types enf verifies (requesters may use any RSA >= 2048). */
enum key_type { KT_ED25519 = 0, KT_P256, KT_P384, KT_RSA };

struct pubkey {
	int type;		/* enum key_type */
	unsigned bits;		/* RSA modulus size; curve size otherwise */
	unsigned char *blob;	/* SSH wire encoding */
	size_t bloblen;
	gcry_sexp_t sexp;	/* (public-key ...) */
};

/* ENF_NO when the blob is malformed or of an unsupported type (RSA < 2048,
 * points not on the curve, trailing bytes). */
int pubkey_from_blob(struct pubkey *k, const unsigned char *blob, size_t n);
int pubkey_copy(struct pubkey *dst, const struct pubkey *src);
void pubkey_free(struct pubkey *k);
int pubkey_equal(const struct pubkey *a, const struct pubkey *b);
/* "ssh-ed25519", "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384", "ssh-rsa". */
const char *pubkey_ssh_type(const struct pubkey *k);
/* The enum key_type whose SSH name is name[0..n), or -1. */
int pubkey_type_parse(const char *name, size_t n);
/* Verify an SSH signature blob (string alg, string sig) over data, as
 * RFC 8709 / RFC 5656 / RFC 8332 define it: Ed25519 over the data; ECDSA
 * with SHA-256 (P-256) or SHA-384 (P-384); RSA as rsa-sha2-256 or
 * rsa-sha2-512 (never ssh-rsa/SHA-1).  ENF_OK valid, ENF_NO not.
 * Both verifiers accept only canonical encodings: Ed25519 S < L, RSA s < n
 * in exactly the modulus length, ECDSA r and s in [1, n-1] as minimal
 * mpints or strict DER.  (ECDSA's (r, n - s) is a second valid signature
 * by design; enf never uses signature bytes as an identifier.) */
int pubkey_verify_ssh(const struct pubkey *k, const void *data, size_t n,
		      const unsigned char *sig, size_t siglen);
/* Verify a raw signature over a digest: DER ECDSA-Sig-Value or PKCS#1 v1.5
 * (RSA, with DigestInfo of hash_alg).  Ed25519 is refused (ENF_NO). */
int pubkey_verify_raw(const struct pubkey *k, int hash_alg, const unsigned char *digest,
		      const unsigned char *sig, size_t siglen);

/* 1 when the S half of an Ed25519 signature (little-endian) is below the
 * group order L, as RFC 8032 5.1.7 requires. */
int ed25519_s_canonical(const unsigned char s[32]);

#endif
