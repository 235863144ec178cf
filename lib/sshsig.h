/* SSHSIG (OpenSSH PROTOCOL.sshsig): the signature format of ssh-keygen -Y. */
#ifndef ENF_SSHSIG_H
#define ENF_SSHSIG_H

#include "key.h"

struct sshsig {
	struct pubkey key;	/* the signer's public key */
	char ns[129];		/* namespace */
	int hash_alg;		/* HASH_SHA256 or HASH_SHA512 */
	unsigned char *sig;	/* SSH signature blob */
	size_t siglen;
};

/* Parse one armored SSHSIG block at the start of text ("-----BEGIN SSH
 * SIGNATURE-----" ... "-----END SSH SIGNATURE-----\n"); *used = bytes consumed.
 * ENF_NO if malformed. */
int sshsig_parse_armored(struct sshsig *s, const char *text, size_t n, size_t *used);
int sshsig_parse_blob(struct sshsig *s, const unsigned char *p, size_t n);
void sshsig_free(struct sshsig *s);
/* Verify s over the message whose hash (s->hash_alg) is `digest`, requiring
 * namespace ns and, when `key` is not NULL, that the signer is that key.
 * ENF_OK valid, ENF_NO not. */
int sshsig_verify_digest(const struct sshsig *s, const char *ns, const struct pubkey *key,
			 const unsigned char *digest);
/* Same over the message bytes. */
int sshsig_verify(const struct sshsig *s, const char *ns, const struct pubkey *key,
		  const void *msg, size_t n);
/* Sign: armored SSHSIG, byte-identical to ssh-keygen -Y sign's for the same
 * key, namespace and message hash (70-column base64 lines). */
int sshsig_sign_digest(const struct privkey *k, const char *ns, int hash_alg,
		       const unsigned char *digest, struct wbuf *armored);
/* The same with any back end's key (signer.h). */
struct signer;
int sshsig_sign_with(struct signer *k, const char *ns, int hash_alg,
		     const unsigned char *digest, struct wbuf *armored);

#endif
