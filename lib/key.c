/* Signing keys over libgcrypt (see key.h).  Public keys live as their SSH
 * wire blob; every blob that enters is parsed strictly and its key checked
 * (size, point on the curve) before a libgcrypt object is made of it. */
#include <stdlib.h>
#include <string.h>
#include "crypto.h"
#include "enf.h"
#include "key.h"

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

/* Per public key type: SSH names, libgcrypt curve, field size in bytes and
 * the hash SSH signatures use (RFC 5656 section 6.2.1). */
static const struct ktype {
	const char *ssh, *curve_ssh, *curve;
	unsigned bits;
	size_t flen;
	int hash;
} kts[] = {
	[KT_ED25519] = { "ssh-ed25519", NULL, "Ed25519", 256, 32, HASH_SHA512 },
	[KT_P256] = { "ecdsa-sha2-nistp256", "nistp256", "NIST P-256", 256, 32, HASH_SHA256 },
	[KT_P384] = { "ecdsa-sha2-nistp384", "nistp384", "NIST P-384", 384, 48, HASH_SHA384 },
	[KT_RSA] = { "ssh-rsa", NULL, NULL, 0, 0, HASH_SHA512 },
};

#define RSA_MIN_BITS 2048
#define RSA_MAX_BITS 16384

const char *alg_name(int alg) { return alg >= 0 && alg < NALG ? algs[alg].name : NULL; }

int alg_parse(const char *s)
{
	int i;

	for (i = 0; s && i < NALG; i++)
		if (strcmp(s, algs[i].name) == 0)
			return i;
	return -1;
}

const char *pubkey_ssh_type(const struct pubkey *k)
{
	return k->type >= 0 && k->type <= KT_RSA ? kts[k->type].ssh : NULL;
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

/* The point q of an ECC public key: decodes, is on the curve, is not the
 * neutral element, and (NIST) has coordinates below p. */
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
		/* Reject the neutral element (0, 1) as a key. */
		ok = !(gcry_mpi_cmp_ui(ax, 0) == 0 && gcry_mpi_cmp_ui(ay, 1) == 0);
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
	const struct ktype *t = &kts[kt];
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
		if (rbuf_expect_cstring(&r, kts[kt].ssh) == 0)
			break;
	k->type = kt;
	k->bits = kt <= KT_RSA ? kts[kt].bits : 0;
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

static gcry_sexp_t hash_data(int hash_alg, const unsigned char *digest, const char *flags)
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
	size_t flen = kts[k->type].flen;

	if (rlen == 0 || slen == 0 || rlen > flen || slen > flen ||
	    !ecdsa_canonical(k, r, rlen, s, slen))
		return ENF_NO;
	if (gcry_sexp_build(&sig, NULL, "(sig-val(ecdsa(r %b)(s %b)))", (int)rlen, r, (int)slen, s))
		return ENF_NO;
	return verify(k, sig, hash_data(hash_alg, digest, "raw"));
}

static size_t rsa_len(const struct pubkey *k) { return (k->bits + 7) / 8; }

/* S exactly as long as the modulus (RFC 8017 8.2.2 step 1, RFC 8332) and
 * below it (5.2.2 step 1).  libgcrypt 1.10.1 reduces s mod n unchecked, so
 * without this s + n would be a second valid encoding of a signature. */
static int rsa_canonical(const struct pubkey *k, const unsigned char *s, size_t slen)
{
	gcry_mpi_t n = NULL;
	int ok;

	if (slen != rsa_len(k) || gcry_sexp_extract_param(k->sexp, NULL, "n", &n, NULL))
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
	return verify(k, sig, hash_data(hash_alg, digest, "pkcs1"));
}

/* libgcrypt stores S-expression data lengths in 16 bits and aborts the
 * process on longer values, and Ed25519 takes the whole message: refuse
 * rather than crash.  enf only signs short messages (SSHSIG blobs, audit
 * records, digests). */
#define ED25519_MSG_MAX 65535

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
		if (rbuf_expect_cstring(&rb, kts[k->type].ssh) < 0)
			return ENF_NO;
		hash_alg = kts[k->type].hash;
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

/* DER ECDSA-Sig-Value: SEQUENCE { INTEGER r, INTEGER s }, strict DER. */
static int der_integer(struct rbuf *r, const unsigned char **p, size_t *n)
{
	const unsigned char *v;
	uint8_t tag, len;

	if (rbuf_u8(r, &tag) < 0 || tag != 0x02 || rbuf_u8(r, &len) < 0 || len == 0 ||
	    len >= 0x80 || rbuf_bytes(r, len, &v) < 0)
		return -1;
	if (v[0] & 0x80)
		return -1;	/* negative */
	if (len > 1 && v[0] == 0 && !(v[1] & 0x80))
		return -1;	/* not minimal */
	if (v[0] == 0 && len > 1) {
		v++;
		len--;
	}
	*p = v;
	*n = len;
	return 0;
}

static int der_parse_sig(const unsigned char *sig, size_t siglen, const unsigned char **r,
			 size_t *rlen, const unsigned char **s, size_t *slen)
{
	struct rbuf rb;
	uint8_t tag, len;

	rbuf_init(&rb, sig, siglen);
	if (rbuf_u8(&rb, &tag) < 0 || tag != 0x30 || rbuf_u8(&rb, &len) < 0)
		return -1;
	if (len == 0x81) {
		if (rbuf_u8(&rb, &len) < 0 || len < 0x80)
			return -1;
	} else if (len >= 0x80)
		return -1;
	if (rbuf_left(&rb) != len)
		return -1;
	if (der_integer(&rb, r, rlen) < 0 || der_integer(&rb, s, slen) < 0 || !rbuf_done(&rb))
		return -1;
	return 0;
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
	if (der_parse_sig(sig, siglen, &r, &rlen, &s, &slen) < 0)
		return ENF_NO;
	return verify_ecdsa(k, hash_alg, digest, r, rlen, s, slen);
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
	const struct ktype *t = &kts[algs[k->alg].kt];
	struct wbuf w;
	gcry_sexp_t h1 = NULL, h2 = NULL;
	const unsigned char *a, *b;
	size_t alen = 0, blen = 0;
	int rc = ENF_FAIL;

	wbuf_init(&w, 0);
	wbuf_cstring(&w, t->ssh);
	if (t == &kts[KT_RSA]) {
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
		if (t == &kts[KT_ED25519] && alen == 33 && a[0] == 0x40) {
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
	if (!curve || strcmp(curve, kts[a->kt].curve) != 0)
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

/* ECDSA r and s, as SSH (two mpints) or DER (SEQUENCE of INTEGERs). */
static int put_der_integer(struct wbuf *w, gcry_sexp_t sig, const char *name)
{
	struct wbuf t;
	int rc;

	/* An SSH mpint is a minimal two's complement number, exactly DER's
	 * INTEGER content: reuse it and replace the length prefix. */
	wbuf_init(&t, 0);
	rc = put_number(&t, sig, name, 0);
	if (rc == 0 && (t.len < 5 || t.len - 4 >= 0x80))
		rc = -1;
	if (rc == 0)
		rc = wbuf_u8(w, 0x02) < 0 || wbuf_u8(w, (uint8_t)(t.len - 4)) < 0 ||
			wbuf_put(w, t.p + 4, t.len - 4) < 0 ? -1 : 0;
	wbuf_free(&t);
	return rc;
}

static int sign_ecdsa(const struct privkey *k, int hash_alg, const unsigned char *digest,
		      int der, struct wbuf *out)
{
	gcry_sexp_t sig = sign(k, hash_data(hash_alg, digest, "rfc6979"));
	struct wbuf w;
	int rc = -1;

	if (!sig)
		return enf_err(ENF_FAIL, "signing failed");
	wbuf_init(&w, 0);
	if (der) {
		if (put_der_integer(&w, sig, "r") == 0 && put_der_integer(&w, sig, "s") == 0 &&
		    w.len < 0x100 && wbuf_u8(out, 0x30) == 0)
			rc = (w.len >= 0x80 && wbuf_u8(out, 0x81) < 0) ||
				wbuf_u8(out, (uint8_t)w.len) < 0 || wbuf_put(out, w.p, w.len) < 0 ? -1 : 0;
	} else if (put_number(&w, sig, "r", 0) == 0 && put_number(&w, sig, "s", 0) == 0) {
		rc = wbuf_cstring(out, kts[k->pub.type].ssh) < 0 ||
			wbuf_string(out, w.p, w.len) < 0 ? -1 : 0;
	}
	wbuf_free(&w);
	gcry_sexp_release(sig);
	return rc == 0 ? ENF_OK : enf_err(ENF_FAIL, "signing failed");
}

static int sign_rsa(const struct privkey *k, int hash_alg, const unsigned char *digest,
		    int raw, struct wbuf *out)
{
	gcry_sexp_t sig = sign(k, hash_data(hash_alg, digest, "pkcs1"));
	struct wbuf w;
	int rc = -1;

	if (!sig)
		return enf_err(ENF_FAIL, "signing failed");
	wbuf_init(&w, 0);
	if (put_number(&w, sig, "s", rsa_len(&k->pub)) == 0) {
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
	int kt = k->pub.type, hash_alg = kts[kt].hash;

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
