/* Private keys: generation, storage form and deterministic signatures
 * (Ed25519; ECDSA with RFC 6979 nonces; RSA PKCS#1 v1.5), the side of enf
 * that holds secrets. */
#ifndef ENF_PRIVKEY_H
#define ENF_PRIVKEY_H

#include <stddef.h>
#include <gcrypt.h>
#include "buf.h"
#include "pubkey.h"

/* Algorithms enf-keygen creates. */
enum key_alg { ALG_ED25519 = 0, ALG_ECDSA_P256, ALG_ECDSA_P384, ALG_RSA3072, ALG_RSA4096 };
const char *alg_name(int alg);		/* "ed25519", "ecdsa-p256", ... */
int alg_parse(const char *s);		/* -1 if unknown */

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

/* Ed25519 from a 32-byte seed, for the instance identity. */
int privkey_ed25519_from_seed(struct privkey *k, const unsigned char seed[32]);

#endif
