/* Private keys over libgcrypt (see privkey.h): the secret side.  Keys are
 * generated, loaded and kept as s-expressions in libgcrypt secure memory,
 * checked for consistency when loaded, and sign deterministically. */
#include <stdlib.h>
#include <string.h>
#include "crypto.h"
#include "der.h"
#include "enf.h"
#include "keytype.h"
#include "privkey.h"

static const struct alg {
	const char *name;
	int kt;
	unsigned bits;
	const char *genkey;
} algs[] = {
	[ALG_ED25519] = { "ed25519", KT_ED25519, 256, "(genkey(ecc(curve Ed25519)(flags eddsa)))" },
	[ALG_ECDSA_P256] = { "ecdsa-p256", KT_P256, 256, "(genkey(ecc(curve nistp256)))" },
	[ALG_ECDSA_P384] = { "ecdsa-p384", KT_P384, 384, "(genkey(ecc(curve nistp384)))" },
	[ALG_RSA3072] = { "rsa3072", KT_RSA, 3072, "(genkey(rsa(nbits 4:3072)(rsa-use-e 5:65537)))" },
	[ALG_RSA4096] = { "rsa4096", KT_RSA, 4096, "(genkey(rsa(nbits 4:4096)(rsa-use-e 5:65537)))" },
};
#define NALG (int)(sizeof algs / sizeof algs[0])

const char *alg_name(int alg) { return alg >= 0 && alg < NALG ? algs[alg].name : NULL; }

int alg_parse(const char *s)
{
	int i;

	for (i = 0; s && i < NALG; i++)
		if (strcmp(s, algs[i].name) == 0)
			return i;
	return -1;
}

/* Private keys. */

void privkey_free(struct privkey *k)
{
	if (!k)
		return;
	gcry_sexp_release(k->sexp);	/* secure sexps are wiped on release */
	pubkey_free(&k->pub);
	memset(k, 0, sizeof *k);
}

/* The bytes of token `name` in s-expression `s` (pointer into it). */
static const unsigned char *token_data(gcry_sexp_t s, const char *name, size_t *n,
				       gcry_sexp_t *hold)
{
	*hold = gcry_sexp_find_token(s, name, 0);
	if (!*hold)
		return NULL;
	return (const unsigned char *)gcry_sexp_nth_data(*hold, 1, n);
}

/* Unsigned big-endian magnitude without leading zeros. */
static void strip_zeros(const unsigned char **p, size_t *n)
{
	while (*n > 0 && (*p)[0] == 0) {
		(*p)++;
		(*n)--;
	}
}

/* Build the SSH blob of the private key's public half and parse it back. */
static int privkey_make_pub(struct privkey *k)
{
	const struct ktype *t = &key_types[algs[k->alg].kt];
	struct wbuf w;
	gcry_sexp_t h1 = NULL, h2 = NULL;
	const unsigned char *a, *b;
	size_t alen = 0, blen = 0;
	int rc = ENF_FAIL;

	wbuf_init(&w, 0);
	wbuf_cstring(&w, t->ssh);
	if (t == &key_types[KT_RSA]) {
		a = token_data(k->sexp, "e", &alen, &h1);
		b = token_data(k->sexp, "n", &blen, &h2);
		if (!a || !b)
			goto out;
		strip_zeros(&a, &alen);
		strip_zeros(&b, &blen);
		wbuf_mpint(&w, a, alen);
		wbuf_mpint(&w, b, blen);
	} else {
		a = token_data(k->sexp, "q", &alen, &h1);
		if (!a)
			goto out;
		/* libgcrypt may prefix the EdDSA point with 0x40. */
		if (t == &key_types[KT_ED25519] && alen == 33 && a[0] == 0x40) {
			a++;
			alen--;
		}
		if (t->curve_ssh)
			wbuf_cstring(&w, t->curve_ssh);
		wbuf_string(&w, a, alen);
	}
	if (!w.failed)
		rc = pubkey_from_blob(&k->pub, w.p, w.len);
out:
	gcry_sexp_release(h1);
	gcry_sexp_release(h2);
	wbuf_free(&w);
	return rc == ENF_OK ? ENF_OK : enf_err(ENF_FAIL, "invalid private key");
}

static int has_flag(gcry_sexp_t s, const char *flag)
{
	gcry_sexp_t f = gcry_sexp_find_token(s, "flags", 0);
	const char *d;
	size_t n, len = strlen(flag);
	int i, found = 0;

	for (i = 1; f && i < gcry_sexp_length(f); i++)
		if ((d = gcry_sexp_nth_data(f, i, &n)) && n == len && memcmp(d, flag, n) == 0)
			found = 1;
	gcry_sexp_release(f);
	return found;
}

/* RSA: n = pq, ed = 1 mod p-1 and mod q-1, up = 1 mod q (libgcrypt's u);
 * gcry_pk_testkey checks only part of this. */
static int rsa_consistent(gcry_sexp_t s)
{
	gcry_mpi_t n = NULL, e = NULL, d = NULL, p = NULL, q = NULL, u = NULL, t, m;
	int ok = 0;

	if (gcry_sexp_extract_param(s, NULL, "nedpqu", &n, &e, &d, &p, &q, &u, NULL))
		return 0;
	t = gcry_mpi_snew(0);
	m = gcry_mpi_snew(0);
	gcry_mpi_mul(t, p, q);
	if (gcry_mpi_cmp(t, n) != 0)
		goto out;
	gcry_mpi_sub_ui(m, p, 1);
	gcry_mpi_mulm(t, e, d, m);
	if (gcry_mpi_cmp_ui(t, 1) != 0)
		goto out;
	gcry_mpi_sub_ui(m, q, 1);
	gcry_mpi_mulm(t, e, d, m);
	if (gcry_mpi_cmp_ui(t, 1) != 0)
		goto out;
	gcry_mpi_mulm(t, u, p, q);
	ok = gcry_mpi_cmp_ui(t, 1) == 0;
out:
	gcry_mpi_release(t);
	gcry_mpi_release(m);
	gcry_mpi_release(n);
	gcry_mpi_release(e);
	gcry_mpi_release(d);
	gcry_mpi_release(p);
	gcry_mpi_release(q);
	gcry_mpi_release(u);
	return ok;
}

/* Ed25519: the stored public point is the one the seed d gives. */
static int ed25519_consistent(gcry_sexp_t s)
{
	gcry_sexp_t hq = NULL, hd = NULL, priv = NULL;
	gcry_ctx_t ctx = NULL;
	gcry_mpi_t q = NULL;
	const unsigned char *sq, *sd, *cq;
	size_t qlen, dlen;
	unsigned int qbits = 0;
	int ok = 0;

	sq = token_data(s, "q", &qlen, &hq);
	sd = token_data(s, "d", &dlen, &hd);
	if (!sq || !sd || dlen != 32 || gcry_sexp_build(&priv, NULL,
			"(private-key(ecc(curve Ed25519)(flags eddsa)(d %b)))", 32, sd))
		goto out;
	if (qlen == 33 && sq[0] == 0x40) {
		sq++;
		qlen--;
	}
	if (qlen != 32 || gcry_mpi_ec_new(&ctx, priv, NULL) ||
	    !(q = gcry_mpi_ec_get_mpi("q@eddsa", ctx, 1)))
		goto out;
	cq = gcry_mpi_get_opaque(q, &qbits);
	ok = cq && qbits == 256 && memcmp(cq, sq, 32) == 0;
out:
	gcry_mpi_release(q);
	gcry_ctx_release(ctx);
	gcry_sexp_release(priv);
	gcry_sexp_release(hq);
	gcry_sexp_release(hd);
	return ok;
}

/* The private key is consistent and of the algorithm it claims to be. */
static int privkey_check(const struct privkey *k)
{
	const struct alg *a = &algs[k->alg];
	gcry_sexp_t pk = gcry_sexp_find_token(k->sexp, "private-key", 0);
	const char *curve;

	gcry_sexp_release(pk);
	if (!pk || gcry_pk_testkey(k->sexp))
		return -1;
	curve = gcry_pk_get_curve(k->sexp, 0, NULL);
	if (a->kt == KT_RSA)
		return !curve && gcry_pk_get_nbits(k->sexp) == a->bits &&
			rsa_consistent(k->sexp) ? 0 : -1;
	if (!curve || strcmp(curve, key_types[a->kt].curve) != 0)
		return -1;
	if (has_flag(k->sexp, "eddsa") != (a->kt == KT_ED25519))
		return -1;
	return a->kt != KT_ED25519 || ed25519_consistent(k->sexp) ? 0 : -1;
}

/* Parse a canonical private key from (a secure copy of) p, so that
 * libgcrypt keeps the s-expression in secure memory; the bytes must be
 * exactly the canonical form (nothing before, after or in between). */
static int privkey_parse(struct privkey *k, const unsigned char *p, size_t n)
{
	unsigned char *s, *t = NULL;
	size_t m = 0;
	int rc = -1;

	if (!(s = secure_alloc(n)))
		return -1;
	memcpy(s, p, n);
	/* sprint without a buffer counts a terminating NUL as well. */
	if (gcry_sexp_new(&k->sexp, s, n, 0) == 0 && k->sexp &&
	    (m = gcry_sexp_sprint(k->sexp, GCRYSEXP_FMT_CANON, NULL, 0)) == n + 1 &&
	    (t = secure_alloc(m)) && gcry_sexp_sprint(k->sexp, GCRYSEXP_FMT_CANON, t, m) == n &&
	    memcmp(s, t, n) == 0)
		rc = 0;
	secure_free(s, n);
	secure_free(t, m);
	return rc;
}

/* Re-create s (released) in secure memory as k->sexp. */
static int privkey_to_secure(struct privkey *k, gcry_sexp_t s)
{
	size_t n = gcry_sexp_sprint(s, GCRYSEXP_FMT_CANON, NULL, 0), len;
	unsigned char *p = n ? secure_alloc(n) : NULL;
	int rc = -1;

	if (p && (len = gcry_sexp_sprint(s, GCRYSEXP_FMT_CANON, p, n)) > 0)
		rc = privkey_parse(k, p, len);
	secure_free(p, n);
	gcry_sexp_release(s);
	return rc;
}

int privkey_generate(struct privkey *k, int alg)
{
	gcry_sexp_t parms = NULL, key = NULL, priv;

	memset(k, 0, sizeof *k);
	if (alg < 0 || alg >= NALG)
		return enf_err(ENF_USAGE, "unknown key algorithm");
	if (crypto_init() != ENF_OK)
		return ENF_FAIL;
	k->alg = alg;
	if (gcry_sexp_new(&parms, algs[alg].genkey, 0, 1) || gcry_pk_genkey(&key, parms)) {
		gcry_sexp_release(parms);
		return enf_err(ENF_FAIL, "key generation failed");
	}
	gcry_sexp_release(parms);
	priv = gcry_sexp_find_token(key, "private-key", 0);
	gcry_sexp_release(key);
	/* libgcrypt returns the new key in ordinary memory: keep a copy in
	 * secure memory only. */
	if (!priv || privkey_to_secure(k, priv) < 0 || privkey_make_pub(k) != ENF_OK) {
		privkey_free(k);
		return enf_err(ENF_FAIL, "key generation failed");
	}
	return ENF_OK;
}

int privkey_save(const struct privkey *k, struct wbuf *out)
{
	size_t n, len;
	unsigned char *p;
	int rc;

	if (!k->sexp || !out->secure)
		return enf_err(ENF_FAIL, "private key must be saved to secure memory");
	n = gcry_sexp_sprint(k->sexp, GCRYSEXP_FMT_CANON, NULL, 0);
	if (!n || !(p = secure_alloc(n)))
		return enf_err(ENF_FAIL, "cannot serialise private key");
	len = gcry_sexp_sprint(k->sexp, GCRYSEXP_FMT_CANON, p, n);
	if (len == 0) {
		secure_free(p, n);
		return enf_err(ENF_FAIL, "cannot serialise private key");
	}
	rc = wbuf_put(out, p, len) < 0 ? enf_err(ENF_FAIL, "out of secure memory") : ENF_OK;
	secure_free(p, n);
	return rc;
}

int privkey_load(struct privkey *k, int alg, const unsigned char *p, size_t n)
{
	memset(k, 0, sizeof *k);
	if (alg < 0 || alg >= NALG)
		return enf_err(ENF_FAIL, "unknown key algorithm");
	if (crypto_init() != ENF_OK || n == 0)
		return enf_err(ENF_FAIL, "invalid private key");
	k->alg = alg;
	if (privkey_parse(k, p, n) < 0 || privkey_check(k) < 0 || privkey_make_pub(k) != ENF_OK) {
		privkey_free(k);
		return enf_err(ENF_FAIL, "invalid private key");
	}
	return ENF_OK;
}

/* Signing. */

static gcry_sexp_t sign(const struct privkey *k, gcry_sexp_t data)
{
	gcry_sexp_t sig = NULL;

	if (data && gcry_pk_sign(&sig, data, k->sexp))
		sig = NULL;
	gcry_sexp_release(data);
	return sig;
}

/* Append token `name` of sig as an unsigned number left-padded to len
 * bytes (len 0: minimal, as an SSH mpint). */
static int put_number(struct wbuf *w, gcry_sexp_t sig, const char *name, size_t len)
{
	static const unsigned char zeros[1024];
	const unsigned char *p;
	gcry_sexp_t h;
	size_t n;
	int rc = -1;

	p = token_data(sig, name, &n, &h);
	if (p) {
		strip_zeros(&p, &n);
		if (len == 0)
			rc = wbuf_mpint(w, p, n);
		else if (n <= len && len - n <= sizeof zeros)
			rc = wbuf_put(w, zeros, len - n) < 0 ? -1 : wbuf_put(w, p, n);
	}
	gcry_sexp_release(h);
	return rc;
}

static int sign_ed25519(const struct privkey *k, const void *data, size_t n, struct wbuf *out)
{
	gcry_sexp_t d = NULL, sig;
	struct wbuf w;
	int rc = ENF_FAIL;

	if (n > ED25519_MSG_MAX)
		return enf_err(ENF_FAIL, "cannot sign a message over %d bytes with Ed25519",
			       ED25519_MSG_MAX);
	if (gcry_sexp_build(&d, NULL, "(data(flags eddsa)(hash-algo sha512)(value %b))",
			    (int)n, data))
		return enf_err(ENF_FAIL, "cannot sign");
	if (!(sig = sign(k, d)))
		return enf_err(ENF_FAIL, "signing failed");
	wbuf_init(&w, 0);
	if (put_number(&w, sig, "r", 32) == 0 && put_number(&w, sig, "s", 32) == 0 &&
	    wbuf_cstring(out, "ssh-ed25519") == 0 && wbuf_string(out, w.p, w.len) == 0)
		rc = ENF_OK;
	wbuf_free(&w);
	gcry_sexp_release(sig);
	return rc == ENF_OK ? rc : enf_err(ENF_FAIL, "signing failed");
}

/* ECDSA r and s as DER's ECDSA-Sig-Value. */
static int put_der_sig(struct wbuf *out, gcry_sexp_t sig)
{
	gcry_sexp_t hr, hs;
	const unsigned char *r, *s;
	size_t rlen, slen;
	int rc;

	r = token_data(sig, "r", &rlen, &hr);
	s = token_data(sig, "s", &slen, &hs);
	rc = r && s ? der_ecdsa_sig_put(out, r, rlen, s, slen) : -1;
	gcry_sexp_release(hr);
	gcry_sexp_release(hs);
	return rc;
}

static int sign_ecdsa(const struct privkey *k, int hash_alg, const unsigned char *digest,
		      int der, struct wbuf *out)
{
	gcry_sexp_t sig = sign(k, key_digest_sexp(hash_alg, digest, "rfc6979"));
	struct wbuf w;
	int rc = -1;

	if (!sig)
		return enf_err(ENF_FAIL, "signing failed");
	wbuf_init(&w, 0);
	if (der)
		rc = put_der_sig(out, sig);
	else if (put_number(&w, sig, "r", 0) == 0 && put_number(&w, sig, "s", 0) == 0) {
		rc = wbuf_cstring(out, key_types[k->pub.type].ssh) < 0 ||
			wbuf_string(out, w.p, w.len) < 0 ? -1 : 0;
	}
	wbuf_free(&w);
	gcry_sexp_release(sig);
	return rc == 0 ? ENF_OK : enf_err(ENF_FAIL, "signing failed");
}

static int sign_rsa(const struct privkey *k, int hash_alg, const unsigned char *digest,
		    int raw, struct wbuf *out)
{
	gcry_sexp_t sig = sign(k, key_digest_sexp(hash_alg, digest, "pkcs1"));
	struct wbuf w;
	int rc = -1;

	if (!sig)
		return enf_err(ENF_FAIL, "signing failed");
	wbuf_init(&w, 0);
	if (put_number(&w, sig, "s", key_rsa_len(&k->pub)) == 0) {
		if (raw)
			rc = wbuf_put(out, w.p, w.len);
		else
			rc = wbuf_cstring(out, hash_alg == HASH_SHA512 ? "rsa-sha2-512" :
					  "rsa-sha2-256") < 0 ? -1 : wbuf_string(out, w.p, w.len);
	}
	wbuf_free(&w);
	gcry_sexp_release(sig);
	return rc == 0 ? ENF_OK : enf_err(ENF_FAIL, "signing failed");
}

int privkey_sign_ssh(const struct privkey *k, const void *data, size_t n, struct wbuf *sig)
{
	unsigned char digest[HASH_MAX];
	int kt = k->pub.type, hash_alg = key_types[kt].hash;

	if (!k->sexp)
		return enf_err(ENF_FAIL, "no private key");
	if (kt == KT_ED25519)
		return sign_ed25519(k, data, n, sig);
	if (hash_buf(hash_alg, data, n, digest) != ENF_OK)
		return ENF_FAIL;
	if (kt == KT_RSA)
		return sign_rsa(k, hash_alg, digest, 0, sig);
	return sign_ecdsa(k, hash_alg, digest, 0, sig);
}

int privkey_sign_raw(const struct privkey *k, int hash_alg, const unsigned char *digest,
		     struct wbuf *sig)
{
	if (!k->sexp)
		return enf_err(ENF_FAIL, "no private key");
	if (!hash_name(hash_alg))
		return enf_err(ENF_NO, "unknown hash algorithm");
	if (k->pub.type == KT_ED25519)
		return enf_err(ENF_NO, "Ed25519 keys do not sign digests");
	if (k->pub.type == KT_RSA)
		return sign_rsa(k, hash_alg, digest, 1, sig);
	return sign_ecdsa(k, hash_alg, digest, 1, sig);
}

/* Ed25519 from a seed: libgcrypt derives the public point from d. */
int privkey_ed25519_from_seed(struct privkey *k, const unsigned char seed[32])
{
	gcry_sexp_t d = NULL;
	gcry_ctx_t ctx = NULL;
	gcry_mpi_t q = NULL;
	const unsigned char *qp;
	unsigned int qbits = 0;
	unsigned char *s;
	int rc = ENF_FAIL;

	memset(k, 0, sizeof *k);
	k->alg = ALG_ED25519;
	if (!(s = secure_alloc(32)))
		return enf_err(ENF_FAIL, "out of secure memory");
	/* From secure memory, so that libgcrypt keeps the sexp there too. */
	memcpy(s, seed, 32);
	if (gcry_sexp_build(&d, NULL, "(private-key(ecc(curve Ed25519)(flags eddsa)(d %b)))", 32, s))
		goto out;
	if (gcry_mpi_ec_new(&ctx, d, NULL) || !(q = gcry_mpi_ec_get_mpi("q@eddsa", ctx, 1)))
		goto out;
	qp = gcry_mpi_get_opaque(q, &qbits);
	if (!qp || qbits != 256)
		goto out;
	if (gcry_sexp_build(&k->sexp, NULL,
			    "(private-key(ecc(curve Ed25519)(flags eddsa)(q %b)(d %b)))", 32, qp, 32, s))
		goto out;
	if (privkey_check(k) == 0 && privkey_make_pub(k) == ENF_OK)
		rc = ENF_OK;
out:
	gcry_mpi_release(q);
	gcry_ctx_release(ctx);
	gcry_sexp_release(d);
	secure_free(s, 32);
	if (rc != ENF_OK) {
		privkey_free(k);
		return enf_err(ENF_FAIL, "invalid Ed25519 seed");
	}
	return ENF_OK;
}
