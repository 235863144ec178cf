/* SSHSIG (OpenSSH PROTOCOL.sshsig), the format of ssh-keygen -Y sign:
 *
 *	blob   = "SSHSIG" uint32(1) string(publickey) string(namespace)
 *	         string(reserved = "") string(hash_algorithm) string(signature)
 *	signed = "SSHSIG" string(namespace) string(reserved = "")
 *	         string(hash_algorithm) string(H(message))
 *
 * armored as "-----BEGIN SSH SIGNATURE-----" with 70-column base64 lines.
 * Parsing is strict: one version, empty reserved field, sha256 or sha512,
 * a signature algorithm that belongs to the key, no trailing bytes. */
#include <stdlib.h>
#include <string.h>
#include "crypto.h"
#include "encode.h"
#include "enf.h"
#include "signer.h"
#include "sshsig.h"

#define MAGIC "SSHSIG"
#define MAGIC_LEN 6
#define LABEL "SSH SIGNATURE"
#define WIDTH 70

static int sig_hash_ok(int alg) { return alg == HASH_SHA256 || alg == HASH_SHA512; }

static int valid_ns(const unsigned char *p, size_t n)
{
	return n > 0 && n < sizeof ((struct sshsig *)0)->ns && !memchr(p, '\0', n);
}

/* The signature algorithm names each key type may use; RSA never as
 * "ssh-rsa" (SHA-1), as OpenSSH's sshsig refuses it too. */
static int sig_alg_ok(const struct pubkey *k, const unsigned char *p, size_t n)
{
	static const char *const names[][2] = {
		[KT_ED25519] = { "ssh-ed25519", NULL },
		[KT_P256] = { "ecdsa-sha2-nistp256", NULL },
		[KT_P384] = { "ecdsa-sha2-nistp384", NULL },
		[KT_RSA] = { "rsa-sha2-256", "rsa-sha2-512" },
	};

	if (k->type < KT_ED25519 || k->type > KT_RSA)
		return 0;
	for (int i = 0; i < 2; i++) {
		const char *s = names[k->type][i];

		if (s && strlen(s) == n && memcmp(s, p, n) == 0)
			return 1;
	}
	return 0;
}

/* string(algorithm) string(signature bytes), nothing after. */
static int check_sig_blob(const struct pubkey *k, const unsigned char *p, size_t n)
{
	struct rbuf r;
	const unsigned char *a, *b;
	size_t al, bl;

	rbuf_init(&r, p, n);
	return rbuf_string(&r, &a, &al) == 0 && sig_alg_ok(k, a, al) &&
	       rbuf_string(&r, &b, &bl) == 0 && bl > 0 && rbuf_done(&r);
}

static int parse_hash(const unsigned char *p, size_t n)
{
	char name[8];
	int alg;

	if (n == 0 || n >= sizeof name)
		return -1;
	memcpy(name, p, n);
	name[n] = '\0';
	alg = hash_parse(name);
	return sig_hash_ok(alg) ? alg : -1;
}

int sshsig_parse_blob(struct sshsig *s, const unsigned char *p, size_t n)
{
	struct rbuf r;
	const unsigned char *magic, *kb, *ns, *res, *ha, *sig;
	size_t kl, nsl, rl, hl, sl;
	uint32_t version;

	memset(s, 0, sizeof *s);
	rbuf_init(&r, p, n);
	if (rbuf_bytes(&r, MAGIC_LEN, &magic) < 0 || memcmp(magic, MAGIC, MAGIC_LEN) != 0 ||
	    rbuf_u32(&r, &version) < 0 || version != 1)
		return enf_err(ENF_NO, "signature: not an SSHSIG version 1 blob");
	if (rbuf_string(&r, &kb, &kl) < 0 || rbuf_string(&r, &ns, &nsl) < 0 ||
	    rbuf_string(&r, &res, &rl) < 0 || rbuf_string(&r, &ha, &hl) < 0 ||
	    rbuf_string(&r, &sig, &sl) < 0 || !rbuf_done(&r))
		return enf_err(ENF_NO, "signature: malformed SSHSIG");
	if (!valid_ns(ns, nsl) || rl != 0)
		return enf_err(ENF_NO, "signature: bad namespace or reserved field");
	if ((s->hash_alg = parse_hash(ha, hl)) < 0)
		return enf_err(ENF_NO, "signature: unsupported hash algorithm");
	if (pubkey_from_blob(&s->key, kb, kl) != ENF_OK)
		return enf_err(ENF_NO, "signature: malformed or unsupported signer key");
	if (!check_sig_blob(&s->key, sig, sl)) {
		sshsig_free(s);
		return enf_err(ENF_NO, "signature: algorithm does not match the signer key");
	}
	if (!(s->sig = malloc(sl))) {
		sshsig_free(s);
		return enf_err(ENF_FAIL, "out of memory");
	}
	memcpy(s->sig, sig, sl);
	s->siglen = sl;
	memcpy(s->ns, ns, nsl);
	s->ns[nsl] = '\0';
	return ENF_OK;
}

int sshsig_parse_armored(struct sshsig *s, const char *text, size_t n, size_t *used)
{
	struct wbuf blob;
	int rc;

	memset(s, 0, sizeof *s);
	wbuf_init(&blob, 0);
	rc = armor_decode(&blob, LABEL, text, n, used);
	if (rc == ENF_OK)
		rc = sshsig_parse_blob(s, blob.p, blob.len);
	else
		rc = enf_err(rc == ENF_FAIL ? ENF_FAIL : ENF_NO, "signature: not an armored SSH SIGNATURE");
	wbuf_free(&blob);
	return rc;
}

void sshsig_free(struct sshsig *s)
{
	if (s->key.blob || s->key.sexp)
		pubkey_free(&s->key);
	free(s->sig);
	memset(s, 0, sizeof *s);
}

/* The bytes the signer signs. */
static int signed_data(struct wbuf *w, const char *ns, int hash_alg, const unsigned char *digest)
{
	wbuf_put(w, MAGIC, MAGIC_LEN);
	wbuf_cstring(w, ns);
	wbuf_string(w, NULL, 0);
	wbuf_cstring(w, hash_name(hash_alg));
	wbuf_string(w, digest, hash_len(hash_alg));
	return w->failed ? enf_err(ENF_FAIL, "out of memory") : ENF_OK;
}

int sshsig_verify_digest(const struct sshsig *s, const char *ns, const struct pubkey *key,
			 const unsigned char *digest)
{
	struct wbuf data;
	int rc;

	if (strcmp(s->ns, ns) != 0)
		return enf_err(ENF_NO, "signature is for another purpose");
	if (key && !pubkey_equal(key, &s->key))
		return enf_err(ENF_NO, "signature is by another key");
	wbuf_init(&data, 0);
	rc = signed_data(&data, s->ns, s->hash_alg, digest);
	if (rc == ENF_OK)
		rc = pubkey_verify_ssh(&s->key, data.p, data.len, s->sig, s->siglen);
	wbuf_free(&data);
	if (rc == ENF_NO)
		return enf_err(ENF_NO, "invalid signature");
	return rc;
}

int sshsig_verify(const struct sshsig *s, const char *ns, const struct pubkey *key,
		  const void *msg, size_t n)
{
	unsigned char h[HASH_MAX];

	if (hash_buf(s->hash_alg, msg, n, h) != ENF_OK)
		return enf_err(ENF_FAIL, "cannot hash the message");
	return sshsig_verify_digest(s, ns, key, h);
}

int sshsig_sign_digest(const struct privkey *k, const char *ns, int hash_alg,
		       const unsigned char *digest, struct wbuf *armored)
{
	struct privkey_signer ps;

	return sshsig_sign_with(signer_of_privkey(&ps, k), ns, hash_alg, digest, armored);
}

int sshsig_sign_with(struct signer *k, const char *ns, int hash_alg,
		     const unsigned char *digest, struct wbuf *armored)
{
	struct wbuf data, sig, blob;
	int rc;

	if (!valid_ns((const unsigned char *)ns, strlen(ns)) || !sig_hash_ok(hash_alg))
		return enf_err(ENF_USAGE, "SSHSIG needs a namespace and sha256 or sha512");
	wbuf_init(&data, 0);
	wbuf_init(&sig, 0);
	wbuf_init(&blob, 0);
	rc = signed_data(&data, ns, hash_alg, digest);
	if (rc == ENF_OK)
		rc = k->sign_ssh(k, data.p, data.len, &sig);
	if (rc == ENF_OK) {
		wbuf_put(&blob, MAGIC, MAGIC_LEN);
		wbuf_u32(&blob, 1);
		wbuf_string(&blob, k->pub->blob, k->pub->bloblen);
		wbuf_cstring(&blob, ns);
		wbuf_string(&blob, NULL, 0);
		wbuf_cstring(&blob, hash_name(hash_alg));
		wbuf_string(&blob, sig.p, sig.len);
		rc = blob.failed ? enf_err(ENF_FAIL, "out of memory")
				 : armor_encode(armored, LABEL, blob.p, blob.len, WIDTH);
	}
	wbuf_free(&data);
	wbuf_free(&sig);
	wbuf_free(&blob);
	return rc;
}
