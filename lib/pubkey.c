/* Public keys over libgcrypt (see pubkey.h): the untrusted side.  Keys live
 * as their SSH wire blob; every blob that enters is parsed strictly and its
 * key checked (size, point on the curve) before a libgcrypt object is made
 * of it, and every signature is checked for its one canonical encoding
 * before libgcrypt sees it. */
#include <stdlib.h>
#include <string.h>
#include "crypto.h"
#include "der.h"
#include "enf.h"
#include "keytype.h"
#include "pubkey.h"

const struct ktype key_types[] = {
	[KT_ED25519] = { "ssh-ed25519", NULL, "Ed25519", 256, 32, HASH_SHA512 },
	[KT_P256] = { "ecdsa-sha2-nistp256", "nistp256", "NIST P-256", 256, 32, HASH_SHA256 },
	[KT_P384] = { "ecdsa-sha2-nistp384", "nistp384", "NIST P-384", 384, 48, HASH_SHA384 },
	[KT_RSA] = { "ssh-rsa", NULL, NULL, 0, 0, HASH_SHA512 },
};

#define RSA_MIN_BITS 2048
#define RSA_MAX_BITS 16384

const char *pubkey_ssh_type(const struct pubkey *k)
{
	return k->type >= 0 && k->type <= KT_RSA ? key_types[k->type].ssh : NULL;
}

int pubkey_type_parse(const char *name, size_t n)
{
	for (int kt = 0; kt <= KT_RSA; kt++)
		if (strlen(key_types[kt].ssh) == n && memcmp(key_types[kt].ssh, name, n) == 0)
			return kt;
	return -1;
}

/* Public keys. */

void pubkey_free(struct pubkey *k)
{
	if (!k)
		return;
	free(k->blob);
	gcry_sexp_release(k->sexp);
	memset(k, 0, sizeof *k);
}

int pubkey_equal(const struct pubkey *a, const struct pubkey *b)
{
	return a->bloblen == b->bloblen && memcmp(a->blob, b->blob, a->bloblen) == 0;
}

int pubkey_copy(struct pubkey *dst, const struct pubkey *src)
{
	return pubkey_from_blob(dst, src->blob, src->bloblen) == ENF_OK ? ENF_OK :
		enf_err(ENF_FAIL, "cannot copy public key");
}

/* Ed25519 y must be canonical (< 2^255 - 19, RFC 8032 5.1.3). */
static int ed25519_canonical(const unsigned char *p)
{
	int i;

	if ((p[31] & 0x7f) != 0x7f || p[0] < 0xed)
		return 1;
	for (i = 1; i < 31; i++)
		if (p[i] != 0xff)
			return 1;
	return 0;
}

/* Whether [8]q is the neutral element (0, 1): q is one of Ed25519's eight
 * points of small order, which a verifier without the cofactor lets "sign"
 * messages that no private key signed. */
static int edwards_small_order(gcry_mpi_point_t q, gcry_ctx_t ctx)
{
	gcry_mpi_t eight = gcry_mpi_set_ui(NULL, 8), x = gcry_mpi_new(0), y = gcry_mpi_new(0);
	gcry_mpi_point_t r = gcry_mpi_point_new(0);
	int small;

	gcry_mpi_ec_mul(r, eight, q, ctx);
	small = gcry_mpi_ec_get_affine(x, y, r, ctx) != 0 ||
		(gcry_mpi_cmp_ui(x, 0) == 0 && gcry_mpi_cmp_ui(y, 1) == 0);
	gcry_mpi_point_release(r);
	gcry_mpi_release(eight);
	gcry_mpi_release(x);
	gcry_mpi_release(y);
	return small;
}

/* The point q of an ECC public key: decodes, is on the curve, is not of
 * small order (Edwards; NIST curves have cofactor 1, so only the neutral
 * element, which does not decode), and (NIST) has coordinates below p. */
static int ec_point_valid(gcry_sexp_t pub, const unsigned char *x, size_t flen, int edwards)
{
	gcry_ctx_t ctx = NULL;
	gcry_mpi_point_t q = NULL;
	gcry_mpi_t ax = NULL, ay = NULL, p = NULL, mx = NULL, my = NULL;
	int ok = 0;

	if (gcry_mpi_ec_new(&ctx, pub, NULL))
		return 0;
	q = gcry_mpi_ec_get_point("q", ctx, 1);
	ax = gcry_mpi_new(0);
	ay = gcry_mpi_new(0);
	if (!q || !gcry_mpi_ec_curve_point(q, ctx) || gcry_mpi_ec_get_affine(ax, ay, q, ctx))
		goto out;
	if (edwards) {
		ok = !edwards_small_order(q, ctx);
		goto out;
	}
	p = gcry_mpi_ec_get_mpi("p", ctx, 1);
	if (!p || gcry_mpi_scan(&mx, GCRYMPI_FMT_USG, x, flen, NULL) ||
	    gcry_mpi_cmp(mx, p) >= 0 || gcry_mpi_scan(&my, GCRYMPI_FMT_USG, x + flen, flen, NULL))
		goto out;
	ok = gcry_mpi_cmp(my, p) < 0;
out:
	gcry_mpi_release(my);
	gcry_mpi_release(ax);
	gcry_mpi_release(ay);
	gcry_mpi_release(p);
	gcry_mpi_release(mx);
	gcry_mpi_point_release(q);
	gcry_ctx_release(ctx);
	return ok;
}

/* Decode an Ed25519 point (RFC 8032 5.1.3) with generic MPI arithmetic and
 * require both coordinates to be at least 2^192.  libgcrypt 1.10.1 aborts
 * the process ("mulm_25519: different sizes") when it verifies with a key
 * whose x or y is shorter than four 64-bit limbs, so such keys (2^-63 of
 * honest ones, only ever crafted) must never reach it. */
static int ed25519_decodable(const unsigned char *enc)
{
	unsigned char be[32];
	gcry_mpi_t p, d, y, x, u, v, t;
	int i, sign = enc[31] >> 7, ok = 0;

	for (i = 0; i < 32; i++)
		be[i] = enc[31 - i];
	be[0] &= 0x7f;
	p = gcry_mpi_set_ui(NULL, 1);
	gcry_mpi_lshift(p, p, 255);
	gcry_mpi_sub_ui(p, p, 19);
	d = gcry_mpi_new(0);
	u = gcry_mpi_set_ui(NULL, 121666);
	v = gcry_mpi_new(0);
	x = gcry_mpi_new(0);
	t = gcry_mpi_new(0);
	y = NULL;
	if (gcry_mpi_scan(&y, GCRYMPI_FMT_USG, be, 32, NULL) || gcry_mpi_cmp(y, p) >= 0 ||
	    !gcry_mpi_invm(d, u, p))
		goto out;
	gcry_mpi_sub_ui(t, p, 121665);
	gcry_mpi_mulm(d, d, t, p);		/* d = -121665/121666 */
	gcry_mpi_mulm(t, y, y, p);
	gcry_mpi_mulm(v, d, t, p);
	gcry_mpi_add_ui(v, v, 1);
	gcry_mpi_mod(v, v, p);			/* v = d y^2 + 1 */
	gcry_mpi_add(u, t, p);
	gcry_mpi_sub_ui(u, u, 1);
	gcry_mpi_mod(u, u, p);			/* u = y^2 - 1 */
	if (!gcry_mpi_invm(v, v, p))
		goto out;
	gcry_mpi_mulm(u, u, v, p);		/* x^2 */
	gcry_mpi_add_ui(t, p, 3);
	gcry_mpi_rshift(t, t, 3);
	gcry_mpi_powm(x, u, t, p);		/* candidate root */
	gcry_mpi_mulm(t, x, x, p);
	if (gcry_mpi_cmp(t, u) != 0) {
		gcry_mpi_sub_ui(t, p, 1);
		gcry_mpi_rshift(t, t, 2);
		gcry_mpi_set_ui(v, 2);
		gcry_mpi_powm(v, v, t, p);	/* sqrt(-1) */
		gcry_mpi_mulm(x, x, v, p);
		gcry_mpi_mulm(t, x, x, p);
		if (gcry_mpi_cmp(t, u) != 0)
			goto out;		/* not on the curve */
	}
	if (gcry_mpi_cmp_ui(x, 0) == 0 && sign)
		goto out;
	if ((int)gcry_mpi_test_bit(x, 0) != sign)
		gcry_mpi_sub(x, p, x);
	ok = gcry_mpi_get_nbits(x) > 192 && gcry_mpi_get_nbits(y) > 192;
out:
	gcry_mpi_release(p);
	gcry_mpi_release(d);
	gcry_mpi_release(y);
	gcry_mpi_release(x);
	gcry_mpi_release(u);
	gcry_mpi_release(v);
	gcry_mpi_release(t);
	return ok;
}

/* The last Ed25519 points found valid (per thread: enf-audit verifies in
 * threads).  Validity is a function of the 32 bytes alone, and every
 * request of a batch carries its requester's key again: re-deciding it
 * (two exponentiations and a curve check) cost 14% of a decision's CPU. */
#define ED25519_SEEN 8
static _Thread_local unsigned char ed25519_seen[ED25519_SEEN][32];
static _Thread_local unsigned ed25519_nseen;

static int ed25519_seen_valid(const unsigned char *q)
{
	for (unsigned i = 0; i < ed25519_nseen && i < ED25519_SEEN; i++)
		if (memcmp(ed25519_seen[i], q, 32) == 0)
			return 1;
	return 0;
}

static int parse_ed25519(struct pubkey *k, struct rbuf *r)
{
	const unsigned char *q;
	int seen;

	if (rbuf_fixed_string(r, 32, &q) < 0 || !rbuf_done(r) || !ed25519_canonical(q))
		return ENF_NO;
	seen = ed25519_seen_valid(q);
	if (!seen && !ed25519_decodable(q))
		return ENF_NO;
	if (gcry_sexp_build(&k->sexp, NULL, "(public-key(ecc(curve Ed25519)(flags eddsa)(q %b)))",
			    32, q))
		return ENF_FAIL;
	if (seen)
		return ENF_OK;
	if (!ec_point_valid(k->sexp, q, 32, 1))
		return ENF_NO;
	memcpy(ed25519_seen[ed25519_nseen++ % ED25519_SEEN], q, 32);
	return ENF_OK;
}

static int parse_ecdsa(struct pubkey *k, struct rbuf *r, int kt)
{
	const struct ktype *t = &key_types[kt];
	const unsigned char *q;
	size_t qlen = 1 + 2 * t->flen;

	if (rbuf_expect_cstring(r, t->curve_ssh) < 0 || rbuf_fixed_string(r, qlen, &q) < 0 ||
	    !rbuf_done(r) || q[0] != 0x04)
		return ENF_NO;
	if (gcry_sexp_build(&k->sexp, NULL, "(public-key(ecc(curve %s)(q %b)))", t->curve,
			    (int)qlen, q))
		return ENF_FAIL;
	return ec_point_valid(k->sexp, q + 1, t->flen, 0) ? ENF_OK : ENF_NO;
}

static int parse_rsa(struct pubkey *k, struct rbuf *r)
{
	const unsigned char *e, *n;
	size_t elen, nlen;
	unsigned bits;

	if (rbuf_mpint(r, &e, &elen) < 0 || rbuf_mpint(r, &n, &nlen) < 0 || !rbuf_done(r))
		return ENF_NO;
	/* e odd, 3 <= e < 2^32 (OpenSSH's and NIST's bounds are similar). */
	if (elen == 0 || elen > 4 || !(e[elen - 1] & 1) || (elen == 1 && e[0] < 3))
		return ENF_NO;
	if (nlen * 8 < RSA_MIN_BITS || nlen * 8 > RSA_MAX_BITS + 7 || !(n[nlen - 1] & 1))
		return ENF_NO;
	if (gcry_sexp_build(&k->sexp, NULL, "(public-key(rsa(n %b)(e %b)))", (int)nlen, n,
			    (int)elen, e))
		return ENF_FAIL;
	bits = gcry_pk_get_nbits(k->sexp);
	if (bits < RSA_MIN_BITS || bits > RSA_MAX_BITS)
		return ENF_NO;
	k->bits = bits;
	return ENF_OK;
}

int pubkey_from_blob(struct pubkey *k, const unsigned char *blob, size_t n)
{
	struct rbuf r;
	int kt, rc;

	memset(k, 0, sizeof *k);
	if (crypto_init() != ENF_OK)
		return ENF_FAIL;
	rbuf_init(&r, blob, n);
	for (kt = 0; kt <= KT_RSA; kt++)
		if (rbuf_expect_cstring(&r, key_types[kt].ssh) == 0)
			break;
	k->type = kt;
	k->bits = kt <= KT_RSA ? key_types[kt].bits : 0;
	if (kt == KT_ED25519)
		rc = parse_ed25519(k, &r);
	else if (kt == KT_P256 || kt == KT_P384)
		rc = parse_ecdsa(k, &r, kt);
	else if (kt == KT_RSA)
		rc = parse_rsa(k, &r);
	else
		rc = ENF_NO;
	if (rc == ENF_OK && !(k->blob = malloc(n ? n : 1)))
		rc = ENF_FAIL;
	if (rc != ENF_OK) {
		pubkey_free(k);
		return rc == ENF_NO ? enf_err(ENF_NO, "invalid or unsupported public key") :
			enf_err(ENF_FAIL, "out of memory");
	}
	memcpy(k->blob, blob, n);
	k->bloblen = n;
	return ENF_OK;
}

/* Signature helpers. */

/* Verify a signature s-expression against a data s-expression. */
static int verify(const struct pubkey *k, gcry_sexp_t sig, gcry_sexp_t data)
{
	int rc = sig && data && gcry_pk_verify(sig, data, k->sexp) == 0 ? ENF_OK : ENF_NO;

	gcry_sexp_release(sig);
	gcry_sexp_release(data);
	return rc;
}

gcry_sexp_t key_digest_sexp(int hash_alg, const unsigned char *digest, const char *flags)
{
	gcry_sexp_t d = NULL;

	if (gcry_sexp_build(&d, NULL, "(data(flags %s)(hash %s %b))", flags, hash_name(hash_alg),
			    (int)hash_len(hash_alg), digest))
		return NULL;
	return d;
}

/* The unsigned big-endian number p is in [lo, bound). */
static int number_below(const unsigned char *p, size_t n, unsigned lo, gcry_mpi_t bound)
{
	gcry_mpi_t v = NULL;
	int ok = bound && gcry_mpi_scan(&v, GCRYMPI_FMT_USG, p, n, NULL) == 0 &&
		 gcry_mpi_cmp_ui(v, lo) >= 0 && gcry_mpi_cmp(v, bound) < 0;

	gcry_mpi_release(v);
	return ok;
}

/* r and s in [1, n-1] (SEC 1 4.1.4 step 1).  libgcrypt checks this too;
 * enf does not rely on it, as it did not for RSA's s < n. */
static int ecdsa_canonical(const struct pubkey *k, const unsigned char *r, size_t rlen,
			   const unsigned char *s, size_t slen)
{
	gcry_ctx_t ctx = NULL;
	gcry_mpi_t order = NULL;
	int ok;

	if (gcry_mpi_ec_new(&ctx, k->sexp, NULL))
		return 0;
	order = gcry_mpi_ec_get_mpi("n", ctx, 1);
	ok = number_below(r, rlen, 1, order) && number_below(s, slen, 1, order);
	gcry_mpi_release(order);
	gcry_ctx_release(ctx);
	return ok;
}

static int verify_ecdsa(const struct pubkey *k, int hash_alg, const unsigned char *digest,
			const unsigned char *r, size_t rlen, const unsigned char *s, size_t slen)
{
	gcry_sexp_t sig = NULL;
	size_t flen = key_types[k->type].flen;

	if (rlen == 0 || slen == 0 || rlen > flen || slen > flen ||
	    !ecdsa_canonical(k, r, rlen, s, slen))
		return ENF_NO;
	if (gcry_sexp_build(&sig, NULL, "(sig-val(ecdsa(r %b)(s %b)))", (int)rlen, r, (int)slen, s))
		return ENF_NO;
	return verify(k, sig, key_digest_sexp(hash_alg, digest, "raw"));
}


/* S exactly as long as the modulus (RFC 8017 8.2.2 step 1, RFC 8332) and
 * below it (5.2.2 step 1).  libgcrypt 1.10.1 reduces s mod n unchecked, so
 * without this s + n would be a second valid encoding of a signature. */
static int rsa_canonical(const struct pubkey *k, const unsigned char *s, size_t slen)
{
	gcry_mpi_t n = NULL;
	int ok;

	if (slen != key_rsa_len(k) || gcry_sexp_extract_param(k->sexp, NULL, "n", &n, NULL))
		return 0;
	ok = number_below(s, slen, 0, n);
	gcry_mpi_release(n);
	return ok;
}

static int verify_rsa(const struct pubkey *k, int hash_alg, const unsigned char *digest,
		      const unsigned char *s, size_t slen)
{
	gcry_sexp_t sig = NULL;

	if (!rsa_canonical(k, s, slen))
		return ENF_NO;
	if (gcry_sexp_build(&sig, NULL, "(sig-val(rsa(s %b)))", (int)slen, s))
		return ENF_NO;
	return verify(k, sig, key_digest_sexp(hash_alg, digest, "pkcs1"));
}

/* The group order L = 2^252 + 27742317777372353535851937790883648493
 * (RFC 8032 5.1), little-endian as S is encoded. */
static const unsigned char ed25519_order[32] = {
	0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
};

int ed25519_s_canonical(const unsigned char s[32])
{
	int i;

	for (i = 31; i >= 0; i--)
		if (s[i] != ed25519_order[i])
			return s[i] < ed25519_order[i];
	return 0;
}

static int verify_ed25519(const struct pubkey *k, const void *data, size_t n,
			  const unsigned char *s, size_t slen)
{
	gcry_sexp_t sig = NULL, d = NULL;

	/* libgcrypt 1.10.1 takes S mod L: S + L would verify as well. */
	if (n > ED25519_MSG_MAX || slen != 64 || !ed25519_s_canonical(s + 32) ||
	    gcry_sexp_build(&sig, NULL, "(sig-val(eddsa(r %b)(s %b)))", 32, s, 32, s + 32))
		return ENF_NO;
	if (gcry_sexp_build(&d, NULL, "(data(flags eddsa)(hash-algo sha512)(value %b))",
			    (int)n, data)) {
		gcry_sexp_release(sig);
		return ENF_NO;
	}
	return verify(k, sig, d);
}

int pubkey_verify_ssh(const struct pubkey *k, const void *data, size_t n,
		      const unsigned char *sig, size_t siglen)
{
	unsigned char digest[HASH_MAX];
	const unsigned char *blob, *r, *s;
	size_t bloblen, rlen, slen;
	struct rbuf rb, in;
	int hash_alg;

	if (!k->sexp || n > INT32_MAX)
		return ENF_NO;
	rbuf_init(&rb, sig, siglen);
	if (k->type == KT_RSA) {
		if (rbuf_expect_cstring(&rb, "rsa-sha2-512") == 0)
			hash_alg = HASH_SHA512;
		else if (rbuf_expect_cstring(&rb, "rsa-sha2-256") == 0)
			hash_alg = HASH_SHA256;
		else
			return ENF_NO;
	} else {
		if (rbuf_expect_cstring(&rb, key_types[k->type].ssh) < 0)
			return ENF_NO;
		hash_alg = key_types[k->type].hash;
	}
	if (rbuf_string(&rb, &blob, &bloblen) < 0 || !rbuf_done(&rb))
		return ENF_NO;
	if (k->type == KT_ED25519)
		return verify_ed25519(k, data, n, blob, bloblen);
	if (hash_buf(hash_alg, data, n, digest) != ENF_OK)
		return ENF_NO;
	if (k->type == KT_RSA)
		return verify_rsa(k, hash_alg, digest, blob, bloblen);
	rbuf_init(&in, blob, bloblen);
	if (rbuf_mpint(&in, &r, &rlen) < 0 || rbuf_mpint(&in, &s, &slen) < 0 || !rbuf_done(&in))
		return ENF_NO;
	return verify_ecdsa(k, hash_alg, digest, r, rlen, s, slen);
}

int pubkey_verify_raw(const struct pubkey *k, int hash_alg, const unsigned char *digest,
		      const unsigned char *sig, size_t siglen)
{
	const unsigned char *r, *s;
	size_t rlen, slen;

	if (!k->sexp || !hash_name(hash_alg))
		return ENF_NO;
	if (k->type == KT_RSA)
		return verify_rsa(k, hash_alg, digest, sig, siglen);
	if (k->type != KT_P256 && k->type != KT_P384)
		return ENF_NO;
	if (der_ecdsa_sig_parse(sig, siglen, &r, &rlen, &s, &slen) < 0)
		return ENF_NO;
	return verify_ecdsa(k, hash_alg, digest, r, rlen, s, slen);
}
