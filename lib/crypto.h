/* Cryptographic primitives over libgcrypt.  All of enf's cryptography goes
 * through this module and key.h; nothing else includes <gcrypt.h> directly
 * except key.h/key.c. */
#ifndef ENF_CRYPTO_H
#define ENF_CRYPTO_H

#include <stddef.h>
#include <stdint.h>

/* Initialise libgcrypt once: version check, 1 MiB secure memory pool, no
 * secmem warnings, initialization finished.  Safe to call repeatedly.
 * Returns ENF_OK or ENF_FAIL. */
int crypto_init(void);

/* Secure memory (mlocked, wiped on free). */
void *secure_alloc(size_t n);		/* NULL on failure; zeroed */
void secure_free(void *p, size_t n);	/* wipes n bytes, frees; NULL ok */
void wipe(void *p, size_t n);		/* cannot be optimised away */
/* Constant-time comparison: 1 when equal. */
int ct_equal(const void *a, const void *b, size_t n);

/* Randomness: nonces and salts (strong) and key material (very strong). */
void random_nonce(void *p, size_t n);
void random_key(void *p, size_t n);

/* Hashing. */
enum hash_alg { HASH_SHA256 = 0, HASH_SHA384, HASH_SHA512 };
#define HASH_MAX 64
size_t hash_len(int alg);
const char *hash_name(int alg);		/* "sha256", "sha384", "sha512" */
int hash_parse(const char *name);	/* -1 if unknown */
int hash_buf(int alg, const void *p, size_t n, unsigned char *out);
struct hash_ctx { void *h; int alg; };
int hash_begin(struct hash_ctx *c, int alg);
void hash_update(struct hash_ctx *c, const void *p, size_t n);
int hash_end(struct hash_ctx *c, unsigned char *out);	/* also frees */
void hash_abort(struct hash_ctx *c);
/* Hash everything readable from fd, streaming; ENF_FAIL on I/O. */
int hash_fd(int alg, int fd, unsigned char *out);
/* The same for a file, or stdin when path is NULL or "-" (message set). */
int hash_path(int alg, const char *path, unsigned char *out);

int hmac_sha256(const void *key, size_t klen, const void *p, size_t n,
		unsigned char out[32]);
/* HKDF-SHA256 (RFC 5869). */
int hkdf_sha256(const void *ikm, size_t ikmlen, const void *salt, size_t saltlen,
		const void *info, size_t infolen, unsigned char *out, size_t outlen);

/* AEAD: AES-256-GCM, 12-byte nonce, 16-byte tag appended to the ciphertext. */
#define AEAD_KEY 32
#define AEAD_NONCE 12
#define AEAD_TAG 16
int aead_seal(const unsigned char key[AEAD_KEY], const unsigned char nonce[AEAD_NONCE],
	      const void *ad, size_t adlen, const void *pt, size_t ptlen,
	      unsigned char *out /* ptlen + AEAD_TAG */);
/* ENF_NO when the tag does not verify (out is wiped then). */
int aead_open(const unsigned char key[AEAD_KEY], const unsigned char nonce[AEAD_NONCE],
	      const void *ad, size_t adlen, const void *ct, size_t ctlen /* incl tag */,
	      unsigned char *out /* ctlen - AEAD_TAG */);
/* The same with one key schedule reused for many messages (streams). */
struct aead_ctx { void *h; };
int aead_ctx_init(struct aead_ctx *c, const unsigned char key[AEAD_KEY]);
int aead_ctx_seal(struct aead_ctx *c, const unsigned char nonce[AEAD_NONCE],
		  const void *ad, size_t adlen, const void *pt, size_t ptlen, unsigned char *out);
int aead_ctx_open(struct aead_ctx *c, const unsigned char nonce[AEAD_NONCE],
		  const void *ad, size_t adlen, const void *ct, size_t ctlen, unsigned char *out);
void aead_ctx_free(struct aead_ctx *c);

/* Argon2id (libgcrypt GCRY_KDF_ARGON2). */
struct kdf_params { uint32_t t_cost, m_cost_kib, parallelism; };
extern const struct kdf_params KDF_DEFAULT;	/* tuned: one unlock 100-500 ms here */
/* "T:M:P" (--argon2): 1-64 passes, 8192 KiB to 4 GiB, 1-16 lanes; 0 or -1. */
int kdf_params_parse(const char *s, struct kdf_params *kp);
int argon2id(const void *pass, size_t passlen, const void *salt, size_t saltlen,
	     const struct kdf_params *kp, unsigned char *out, size_t outlen);

/* X25519 (RFC 7748). */
#define X25519_LEN 32
int x25519_keygen(unsigned char sk[X25519_LEN], unsigned char pk[X25519_LEN]);
/* ENF_NO for a low-order peer key (all-zero shared secret). */
int x25519(unsigned char out[X25519_LEN], const unsigned char sk[X25519_LEN],
	   const unsigned char pk[X25519_LEN]);

/* Sealed box: anonymous encryption to an X25519 public key.
 * out = eph_pk(32) || AES-256-GCM(k, nonce 0, ad, pt) where
 * k = HKDF-SHA256(ikm = X25519(eph, pk), salt = eph_pk || pk, info = label).
 * The label separates uses ("enf key", "enf transfer", ...). */
#define SEALBOX_OVERHEAD (X25519_LEN + AEAD_TAG)
int sealbox_seal(const unsigned char pk[X25519_LEN], const char *label,
		 const void *ad, size_t adlen, const void *pt, size_t ptlen,
		 unsigned char *out /* ptlen + SEALBOX_OVERHEAD */);
int sealbox_open(const unsigned char sk[X25519_LEN], const char *label,
		 const void *ad, size_t adlen, const void *ct, size_t ctlen,
		 unsigned char *out /* ctlen - SEALBOX_OVERHEAD */);	/* ENF_NO on auth failure */

#endif
