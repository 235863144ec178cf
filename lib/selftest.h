/* Power-on self-tests (as FIPS 140-3 asks of a module): a known-answer test
 * of every primitive enf uses, before any program touches a secret.
 * crypto_init() runs the fast tier (hashes, HMAC, HKDF, AES-256-GCM,
 * Argon2id, X25519, RSA verification: well under a millisecond); the first
 * secure_alloc() — every secret lives in secure memory, a passphrase read
 * first of all — runs the signing tier (Ed25519, ECDSA P-256/P-384 with
 * RFC 6979 nonces: several milliseconds), so that programs that hold no
 * secret (enf-verify, enf-audit) do not pay for it. */
#ifndef ENF_SELFTEST_H
#define ENF_SELFTEST_H

#include <stddef.h>

/* The i-th primitive tested, by the name a failure uses; NULL past the end. */
const char *selftest_name(size_t i);

enum selftest_tier { SELFTEST_FAST = 0, SELFTEST_SIGNING };

/* Run every known-answer test of the tier.  ENF_OK, or ENF_FAIL with the message
 * "self-test failed: NAME" naming the first primitive whose answer was
 * wrong.  Built with -DENF_SELFTEST_CORRUPT=\"NAME\" (test builds only),
 * the expected answer of NAME has one bit flipped, so that test fails. */
int selftest_run(int tier);

#endif
