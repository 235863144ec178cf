/* Signers (signer.h): the keystore's, and the dispatch to the token's. */
#include <stdlib.h>
#include <string.h>
#include "crypto.h"
#include "enf.h"
#include "keystore.h"
#include "signer.h"
#include "token.h"

static int pk_sign_ssh(struct signer *s, const void *data, size_t n, struct wbuf *sig)
{
	return privkey_sign_ssh(((struct privkey_signer *)s)->k, data, n, sig);
}

static int pk_sign_raw(struct signer *s, int hash_alg, const unsigned char *digest,
		       struct wbuf *sig)
{
	return privkey_sign_raw(((struct privkey_signer *)s)->k, hash_alg, digest, sig);
}

struct signer *signer_of_privkey(struct privkey_signer *ps, const struct privkey *k)
{
	ps->s = (struct signer){ pk_sign_ssh, pk_sign_raw, NULL, &k->pub };
	ps->k = k;
	return &ps->s;
}

/* A keystore key: the private key opened from its sealed record, owned. */
struct ks_signer {
	struct privkey_signer ps;
	struct privkey k;
};

static void ks_signer_free(struct signer *s)
{
	struct ks_signer *k = (struct ks_signer *)s;

	privkey_free(&k->k);
	free(k);
}

int signer_open(const struct keystore *ks, const char *name, struct signer **out)
{
	const struct ks_key *key = ks_key_find(ks, name);
	struct ks_signer *k;
	int rc;

	*out = NULL;
	if (key && key->token[0])
		return token_signer_open(ks, key, out);
	if (!(k = calloc(1, sizeof *k)))
		return enf_err(ENF_FAIL, "out of memory");
	if ((rc = ks_key_private(ks, name, &k->k)) != ENF_OK) {
		free(k);
		return rc;
	}
	signer_of_privkey(&k->ps, &k->k)->free = ks_signer_free;
	*out = &k->ps.s;
	return ENF_OK;
}

void signer_free(struct signer *s)
{
	if (s && s->free)
		s->free(s);
}

/* DER of DigestInfo ::= SEQUENCE { SEQUENCE { OID, NULL }, OCTET STRING }
 * up to the digest's bytes (RFC 8017 9.2 note 1). */
int digest_info(int hash_alg, const unsigned char *digest, struct wbuf *out)
{
	static const unsigned char sha256[] = { 0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86,
						0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05,
						0x00, 0x04, 0x20 };
	static const unsigned char sha384[] = { 0x30, 0x41, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86,
						0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x02, 0x05,
						0x00, 0x04, 0x30 };
	static const unsigned char sha512[] = { 0x30, 0x51, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86,
						0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x03, 0x05,
						0x00, 0x04, 0x40 };
	const unsigned char *prefix = hash_alg == HASH_SHA256 ? sha256 :
				      hash_alg == HASH_SHA384 ? sha384 :
				      hash_alg == HASH_SHA512 ? sha512 : NULL;

	if (!prefix)
		return enf_err(ENF_NO, "unknown hash algorithm");
	if (wbuf_put(out, prefix, sizeof sha256) < 0 || wbuf_put(out, digest, hash_len(hash_alg)) < 0)
		return enf_err(ENF_FAIL, "out of memory");
	return ENF_OK;
}
