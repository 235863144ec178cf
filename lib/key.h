/* Signing keys: generation, the SSH wire encoding of public keys, and
 * deterministic signatures (Ed25519; ECDSA with RFC 6979 nonces; RSA PKCS#1
 * v1.5).  Public keys are kept as their SSH wire blob, the canonical form
 * from which every other encoding (OpenSSH line, fingerprint, PEM) is made. */
#ifndef ENF_KEY_H
#define ENF_KEY_H

#include <stddef.h>
#include <gcrypt.h>
#include "buf.h"

/* Algorithms enf-keygen creates. */
enum key_alg { ALG_ED25519 = 0, ALG_ECDSA_P256, ALG_ECDSA_P384, ALG_RSA3072, ALG_RSA4096 };
const char *alg_name(int alg);		/* "ed25519", "ecdsa-p256", ... */
int alg_parse(const char *s);		/* -1 if unknown */

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

struct privkey {
	int alg;		/* enum key_alg */
	gcry_sexp_t sexp;	/* (private-key ...), in secure memory */
	struct pubkey pub;
};

int privkey_generate(struct privkey *k, int alg);
/* Serialise the private key into a secure wbuf (its own format, parsed back
 * by privkey_load); the bytes never leave secure memory unencrypted. */
int privkey_save(const struct privkey *k, struct wbuf *out);
int privkey_load(struct privkey *k, int alg, const unsigned char *p, size_t n);
void privkey_free(struct privkey *k);
/* SSH signature blob over data (see pubkey_verify_ssh); RSA signs as
 * rsa-sha2-512.  Deterministic. */
int privkey_sign_ssh(const struct privkey *k, const void *data, size_t n, struct wbuf *sig);
/* Raw signature over a precomputed digest: DER for ECDSA, PKCS#1 v1.5 for
 * RSA; ENF_NO for Ed25519.  Deterministic. */
int privkey_sign_raw(const struct privkey *k, int hash_alg, const unsigned char *digest,
		     struct wbuf *sig);

/* 1 when the S half of an Ed25519 signature (little-endian) is below the
 * group order L, as RFC 8032 5.1.7 requires. */
int ed25519_s_canonical(const unsigned char s[32]);

/* Ed25519 from a 32-byte seed, for the instance identity. */
int privkey_ed25519_from_seed(struct privkey *k, const unsigned char seed[32]);

#endif
