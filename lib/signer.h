/* The back-end seam of the signing transaction: a key that signs.  The
 * keystore's keys and a PKCS#11 token's keys are two implementations; the
 * transaction (sign.h) and the SSHSIG encoder ask a signer and never learn
 * which one it is.  signer_open is the one place that looks at a key's
 * back end. */
#ifndef ENF_SIGNER_H
#define ENF_SIGNER_H

#include <stddef.h>
#include "buf.h"
#include "key.h"

struct keystore;

struct signer {
	/* An SSH signature blob over data (Ed25519; RSA as rsa-sha2-512), as
	 * privkey_sign_ssh makes it. */
	int (*sign_ssh)(struct signer *s, const void *data, size_t n, struct wbuf *sig);
	/* A raw signature over a digest (RSA: PKCS#1 v1.5 over its DigestInfo;
	 * ENF_NO for Ed25519), as privkey_sign_raw makes it. */
	int (*sign_raw)(struct signer *s, int hash_alg, const unsigned char *digest,
			struct wbuf *sig);
	void (*free)(struct signer *s);
	const struct pubkey *pub;	/* its SSH blob is what SSHSIG names */
};

/* Operator: the signer of the active key `name` (ENF_NO when it is not
 * active, ENF_FAIL when it cannot be opened).  Free with signer_free. */
int signer_open(const struct keystore *ks, const char *name, struct signer **out);
void signer_free(struct signer *s);

/* A signer over a private key the caller keeps (it must outlive ps);
 * nothing to free. */
struct privkey_signer {
	struct signer s;
	const struct privkey *k;
};
struct signer *signer_of_privkey(struct privkey_signer *ps, const struct privkey *k);

/* DER DigestInfo of hash_alg followed by the digest (RFC 8017 9.2 note 1):
 * what PKCS#1 v1.5 signs. */
int digest_info(int hash_alg, const unsigned char *digest, struct wbuf *out);

#endif
