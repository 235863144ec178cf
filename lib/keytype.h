/* What pubkey.c and privkey.c share, and nothing else includes: the table
 * of public key types and the s-expression a digest is signed as. */
#ifndef ENF_KEYTYPE_H
#define ENF_KEYTYPE_H

#include <stddef.h>
#include <gcrypt.h>
#include "pubkey.h"

/* Per enum key_type: SSH names, libgcrypt curve, field size in bytes and
 * the hash SSH signatures use (RFC 5656 section 6.2.1). */
struct ktype {
	const char *ssh, *curve_ssh, *curve;
	unsigned bits;
	size_t flen;
	int hash;
};
extern const struct ktype key_types[];

/* libgcrypt stores S-expression data lengths in 16 bits and aborts the
 * process on longer values, and Ed25519 takes the whole message: refuse
 * rather than crash.  enf only signs short messages (SSHSIG blobs, audit
 * records, digests). */
#define ED25519_MSG_MAX 65535

/* (data(flags FLAGS)(hash ALG DIGEST)); NULL on failure. */
gcry_sexp_t key_digest_sexp(int hash_alg, const unsigned char *digest, const char *flags);

/* Bytes of an RSA signature: exactly the modulus length. */
static inline size_t key_rsa_len(const struct pubkey *k) { return (k->bits + 7) / 8; }

#endif
