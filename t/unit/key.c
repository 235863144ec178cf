/* Unit tests for lib/key.c: RFC 8032 Ed25519 vector, then for each of the
 * five algorithms generation, save/load, deterministic signatures and
 * every rejection the verifiers must make, non-canonical encodings of valid
 * signatures included. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "crypto.h"
#include "enf.h"
#include "key.h"
#include "tap.h"
#include "key-fixtures.h"


static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int from_blob(const unsigned char *p, size_t n)
{
	struct pubkey k;
	int rc = pubkey_from_blob(&k, p, n);

	pubkey_free(&k);
	return rc;
}

static void test_names(void)
{
	int i;

	for (i = ALG_ED25519; i <= ALG_RSA4096; i++)
		ok(alg_parse(alg_name(i)) == i, "algorithm %s parses back", alg_name(i));
	ok(alg_parse("rsa2048") == -1 && alg_parse("ED25519") == -1 && alg_parse(NULL) == -1 &&
	   alg_name(5) == NULL && alg_name(-1) == NULL, "unknown algorithm names are refused");
}

/* RFC 8032 7.1 TEST 1: empty message. */
static void test_rfc8032(void)
{
	unsigned char seed[32], pk[32], sig[64];
	struct privkey k;
	struct wbuf w;
	struct rbuf r;
	const unsigned char *p;

	unhex(seed, "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60");
	unhex(pk, "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a");
	unhex(sig, "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e06522490155"
		   "5fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b");
	ok(privkey_ed25519_from_seed(&k, seed) == ENF_OK, "Ed25519 key from RFC 8032 seed");
	rbuf_init(&r, k.pub.blob, k.pub.bloblen);
	ok(rbuf_expect_cstring(&r, "ssh-ed25519") == 0 && rbuf_fixed_string(&r, 32, &p) == 0 &&
	   rbuf_done(&r) && memcmp(p, pk, 32) == 0, "public key matches RFC 8032 TEST 1");
	wbuf_init(&w, 0);
	ok(privkey_sign_ssh(&k, "", 0, &w) == ENF_OK, "sign the empty message");
	rbuf_init(&r, w.p, w.len);
	ok(rbuf_expect_cstring(&r, "ssh-ed25519") == 0 && rbuf_fixed_string(&r, 64, &p) == 0 &&
	   rbuf_done(&r) && memcmp(p, sig, 64) == 0, "signature matches RFC 8032 TEST 1");
	ok(pubkey_verify_ssh(&k.pub, "", 0, w.p, w.len) == ENF_OK, "and verifies");
	ok(gcry_is_secure(k.sexp), "private key s-expression lives in secure memory");
	wbuf_free(&w);
	privkey_free(&k);
}

/* Flip one bit of a copy and check that verification fails. */
static int flip_fails(const struct pubkey *pk, const char *msg, const struct wbuf *sig, size_t at)
{
	unsigned char *c;
	int rc;

	if (at >= sig->len || !(c = malloc(sig->len)))
		return 0;
	memcpy(c, sig->p, sig->len);
	c[at] ^= 0x01;
	rc = pubkey_verify_ssh(pk, msg, strlen(msg), c, sig->len);
	free(c);
	return rc == ENF_NO;
}

static void test_blob_rejects(const struct pubkey *pk)
{
	unsigned char *b = malloc(pk->bloblen + 1);
	size_t i;
	int all = 1;

	memcpy(b, pk->blob, pk->bloblen);
	b[pk->bloblen] = 0;
	ok(from_blob(b, pk->bloblen) == ENF_OK, "%s blob parses back", pubkey_ssh_type(pk));
	ok(from_blob(b, pk->bloblen + 1) == ENF_NO, "%s blob with a trailing byte is refused",
	   pubkey_ssh_type(pk));
	for (i = 0; i < pk->bloblen; i += (i < 40 ? 1 : 37))
		all &= from_blob(b, i) == ENF_NO;
	ok(all, "%s blob truncated anywhere is refused", pubkey_ssh_type(pk));
	b[5] ^= 0x20;	/* the type name */
	ok(from_blob(b, pk->bloblen) == ENF_NO, "%s blob with another type name is refused",
	   pubkey_ssh_type(pk));
	free(b);
}

static void test_alg(int alg, const struct privkey *other)
{
	struct privkey k, l;
	struct wbuf sig, sig2, saved, raw;
	const char *msg = "enf test message";
	unsigned char dg[HASH_MAX + 1];
	double t0, t1, t2;
	int h, good;

	t0 = now_ms();
	ok(privkey_generate(&k, alg) == ENF_OK, "%s: generate", alg_name(alg));
	t1 = now_ms();
	if (!k.sexp)
		return;
	ok(gcry_is_secure(k.sexp), "%s: private key in secure memory", alg_name(alg));
	wbuf_init(&sig, 0);
	wbuf_init(&sig2, 0);
	wbuf_init(&raw, 0);
	wbuf_init(&saved, 1);
	ok(privkey_sign_ssh(&k, msg, strlen(msg), &sig) == ENF_OK, "%s: sign_ssh %s", alg_name(alg), enf_errmsg());
	t2 = now_ms();
	printf("# %s: keygen %.1f ms, sign %.2f ms\n", alg_name(alg), t1 - t0, t2 - t1);
	ok(privkey_sign_ssh(&k, msg, strlen(msg), &sig2) == ENF_OK && sig.len == sig2.len &&
	   memcmp(sig.p, sig2.p, sig.len) == 0, "%s: signatures are deterministic", alg_name(alg));
	ok(pubkey_verify_ssh(&k.pub, msg, strlen(msg), sig.p, sig.len) == ENF_OK,
	   "%s: signature verifies", alg_name(alg));
	ok(pubkey_verify_ssh(&k.pub, msg, strlen(msg) - 1, sig.p, sig.len) == ENF_NO,
	   "%s: signature over other data fails", alg_name(alg));
	ok(flip_fails(&k.pub, msg, &sig, sig.len - 1) && flip_fails(&k.pub, msg, &sig, sig.len / 2 + 10),
	   "%s: flipped signature bit fails", alg_name(alg));
	ok(flip_fails(&k.pub, msg, &sig, 6), "%s: flipped algorithm name fails", alg_name(alg));
	ok(pubkey_verify_ssh(&other->pub, msg, strlen(msg), sig.p, sig.len) == ENF_NO,
	   "%s: another key does not verify it", alg_name(alg));
	ok(pubkey_verify_ssh(&k.pub, msg, strlen(msg), sig.p, sig.len - 1) == ENF_NO,
	   "%s: truncated signature fails", alg_name(alg));
	wbuf_put(&sig2, "", 1);
	ok(pubkey_verify_ssh(&k.pub, msg, strlen(msg), sig2.p, sig2.len) == ENF_NO,
	   "%s: signature with a trailing byte fails", alg_name(alg));

	ok(privkey_save(&k, &saved) == ENF_OK && saved.len > 10, "%s: save", alg_name(alg));
	if (saved.len <= 10)
		return;
	ok(privkey_load(&l, alg, saved.p, saved.len) == ENF_OK && pubkey_equal(&k.pub, &l.pub),
	   "%s: load gives the same key", alg_name(alg));
	wbuf_reset(&sig2);
	ok(privkey_sign_ssh(&l, msg, strlen(msg), &sig2) == ENF_OK && sig.len == sig2.len &&
	   memcmp(sig.p, sig2.p, sig.len) == 0, "%s: loaded key signs identically", alg_name(alg));
	privkey_free(&l);
	ok(privkey_load(&l, (alg + 1) % 5, saved.p, saved.len) == ENF_FAIL,
	   "%s: load as another algorithm is refused", alg_name(alg));
	ok(privkey_load(&l, alg, saved.p, saved.len - 1) == ENF_FAIL,
	   "%s: truncated saved key is refused", alg_name(alg));
	saved.p[saved.len / 2] ^= 0x10;
	ok(privkey_load(&l, alg, saved.p, saved.len) == ENF_FAIL,
	   "%s: corrupted saved key is refused", alg_name(alg));

	for (h = HASH_SHA256, good = 1; h <= HASH_SHA512; h++) {
		hash_buf(h, msg, strlen(msg), dg);
		wbuf_reset(&raw);
		if (alg == ALG_ED25519) {
			good &= privkey_sign_raw(&k, h, dg, &raw) == ENF_NO;
			continue;
		}
		good &= privkey_sign_raw(&k, h, dg, &raw) == ENF_OK;
		good &= pubkey_verify_raw(&k.pub, h, dg, raw.p, raw.len) == ENF_OK;
		good &= pubkey_verify_raw(&other->pub, h, dg, raw.p, raw.len) == ENF_NO;
		/* ECDSA does not bind the hash algorithm: a SHA-256 digest
		 * read as the first bytes of a longer one verifies alike. */
		if (k.pub.type == KT_RSA)
			good &= pubkey_verify_raw(&k.pub, (h + 1) % 3, dg, raw.p, raw.len) == ENF_NO;
		else
			good &= pubkey_verify_raw(&k.pub, h, dg + 1, raw.p, raw.len) == ENF_NO;
		raw.p[raw.len - 1] ^= 1;
		good &= pubkey_verify_raw(&k.pub, h, dg, raw.p, raw.len) == ENF_NO;
		raw.p[raw.len - 1] ^= 1;
		good &= pubkey_verify_raw(&k.pub, h, dg, raw.p, raw.len - 1) == ENF_NO;
		dg[0] ^= 1;
		good &= pubkey_verify_raw(&k.pub, h, dg, raw.p, raw.len) == ENF_NO;
	}
	ok(good, "%s: sign_raw/verify_raw with SHA-256/384/512%s", alg_name(alg),
	   alg == ALG_ED25519 ? " refused" : "");
	if (alg == ALG_ECDSA_P256 || alg == ALG_ECDSA_P384)
		ok(raw.len > 8 && raw.p[0] == 0x30 && raw.p[1] == raw.len - 2 && raw.p[2] == 0x02,
		   "%s: raw signature is a DER SEQUENCE of INTEGERs", alg_name(alg));
	test_blob_rejects(&k.pub);

	wbuf_free(&sig);
	wbuf_free(&sig2);
	wbuf_free(&raw);
	wbuf_free(&saved);
	privkey_free(&k);
}


static int verify_hex(const struct pubkey *k, const char *data, size_t dn, const char *sighex)
{
	unsigned char sig[1200];
	size_t n = unhex(sig, sighex);

	return pubkey_verify_ssh(k, data, dn, sig, n);
}

/* Signatures made by OpenSSH and by another library verify here. */
static void test_interop(void)
{
	unsigned char blob[1200], data[200];
	struct pubkey k;
	size_t bn, dn, i;

	for (i = 0; i < sizeof ossh / sizeof ossh[0]; i++) {
		bn = unhex(blob, ossh[i].blob);
		dn = unhex(data, ossh[i].data);
		ok(pubkey_from_blob(&k, blob, bn) == ENF_OK, "OpenSSH %s public key parses", ossh[i].name);
		ok(verify_hex(&k, (char *)data, dn, ossh[i].sig) == ENF_OK,
		   "OpenSSH %s signature verifies", ossh[i].name);
		data[dn - 1] ^= 1;
		ok(verify_hex(&k, (char *)data, dn, ossh[i].sig) == ENF_NO,
		   "OpenSSH %s signature over changed data fails", ossh[i].name);
		if (k.type == KT_RSA) {
			ok(k.bits == 2048, "RSA 2048 requester keys are accepted");
			ok(verify_hex(&k, "hello", 5, rsa_sha256_sig) == ENF_OK,
			   "rsa-sha2-256 signatures verify");
			ok(verify_hex(&k, "hello", 5, rsa_sha1_sig) == ENF_NO,
			   "ssh-rsa (SHA-1) signatures are refused");
		}
		pubkey_free(&k);
	}
	bn = unhex(blob, rsa1024_blob);
	ok(bn == sizeof rsa1024_blob / 2 && from_blob(blob, bn) == ENF_NO,
	   "RSA 1024 public key is refused");
}

/* Public key blobs that are well-formed but not acceptable keys. */
static void test_bad_points(void)
{
	unsigned char blob[200];
	size_t bn;

	bn = unhex(blob, ossh[1].blob);
	blob[bn - 1] ^= 1;
	ok(from_blob(blob, bn) == ENF_NO, "P-256 point off the curve is refused");
	blob[bn - 1] ^= 1;
	blob[bn - 65] = 0x02;
	ok(from_blob(blob, bn) == ENF_NO, "P-256 point not in uncompressed form is refused");
	blob[bn - 65] = 0x04;
	/* x = p, y = the real y: on the curve modulo p but not canonical. */
	unhex(blob + bn - 64, "ffffffff00000001000000000000000000000000ffffffffffffffffffffffff");
	ok(from_blob(blob, bn) == ENF_NO, "P-256 coordinate >= p is refused");
	bn = unhex(blob, "0000000b7373682d65643235353139000000"
		   "20edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f");
	ok(bn == 51 && from_blob(blob, bn) == ENF_NO, "Ed25519 non-canonical y (= p) is refused");
	bn = unhex(blob, "0000000b7373682d65643235353139000000"
		   "200100000000000000000000000000000000000000000000000000000000000000");
	ok(bn == 51 && from_blob(blob, bn) == ENF_NO, "Ed25519 neutral element is refused");
	/* The four points of order 8 (the others of small order have x = 0
	 * or y = 0, refused above as short coordinates): a key of small order
	 * verifies signatures that no private key made. */
	static const char *const order8[] = {
		"26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05",
		"26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc85",
		"c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a",
		"c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa",
	};
	for (size_t i = 0; i < sizeof order8 / sizeof *order8; i++) {
		bn = unhex(blob, "0000000b7373682d6564323535313900000020");
		bn += unhex(blob + bn, order8[i]);
		ok(bn == 51 && from_blob(blob, bn) == ENF_NO,
		   "Ed25519 point of order 8 (%zu of 4) is refused", i + 1);
	}
	/* Valid points with x = 2 and with y = 3: libgcrypt 1.10.1 aborts the
	 * process when verifying with them, so they must not get that far. */
	bn = unhex(blob, "0000000b7373682d65643235353139000000"
		   "203126711e11ef574692935381d2cd2bbab5dd113c4010f91fd7c4dd7b12bf431a");
	ok(bn == 51 && from_blob(blob, bn) == ENF_NO, "Ed25519 key with a short x coordinate is refused");
	bn = unhex(blob, "0000000b7373682d65643235353139000000"
		   "200300000000000000000000000000000000000000000000000000000000000000");
	ok(bn == 51 && from_blob(blob, bn) == ENF_NO, "Ed25519 key with a short y coordinate is refused");
	bn = unhex(blob, "0000000b7373682d65643235353139000000"
		   "200200000000000000000000000000000000000000000000000000000000000080");
	ok(bn == 51 && from_blob(blob, bn) == ENF_NO, "Ed25519 y without a point on the curve is refused");
	bn = unhex(blob, "0000000b7373682d6564323535313900000000");
	ok(bn == 19 && from_blob(blob, bn) == ENF_NO, "Ed25519 empty key is refused");
	bn = unhex(blob, "0000000b7373682d6564323535313900000000");
	ok(from_blob(blob, 0) == ENF_NO && from_blob(blob, 3) == ENF_NO, "empty blobs are refused");
	bn = unhex(blob, "0000000a7373682d6473732d31000000");
	ok(bn == 16 && from_blob(blob, bn) == ENF_NO, "unsupported key types (DSA) are refused");
}

/* Random and mutated inputs: always a clean ENF_NO, never a crash. */
static void test_garbage(const struct privkey *k)
{
	unsigned char buf[600];
	struct wbuf sig;
	struct pubkey pk;
	size_t i, n;
	int all = 1, r;

	for (i = 0; i < 3000; i++) {
		random_nonce(buf, sizeof buf);
		n = buf[0] % 2 ? buf[1] : (buf[1] << 1) + buf[2];
		if (i % 3 == 0)	/* plausible prefix: a known type name */
			memcpy(buf, k->pub.blob, 15 < k->pub.bloblen ? 15 : k->pub.bloblen);
		r = pubkey_from_blob(&pk, buf, n);
		all &= r == ENF_NO;
		all &= pubkey_verify_ssh(&k->pub, "x", 1, buf, n) == ENF_NO;
		all &= pubkey_verify_raw(&k->pub, i % 3, buf, buf, n) == ENF_NO;
	}
	ok(all, "random blobs and signatures are refused (%s)", alg_name(k->alg));
	wbuf_init(&sig, 0);
	all = privkey_sign_ssh(k, "x", 1, &sig) == ENF_OK && sig.len > 0 &&
	      pubkey_verify_ssh(&k->pub, "x", 1, sig.p, sig.len) == ENF_OK;
	for (i = 0; i < sig.len; i++) {
		unsigned char save = sig.p[i];

		sig.p[i] ^= 0xff;
		all &= pubkey_verify_ssh(&k->pub, "x", 1, sig.p, sig.len) == ENF_NO;
		sig.p[i] = save;
		all &= pubkey_verify_ssh(&k->pub, "x", 1, sig.p, i) == ENF_NO;
	}
	ok(all, "every byte of a %s signature matters; every prefix fails", alg_name(k->alg));
	wbuf_free(&sig);
}

/* RFC 6979 A.2.5: P-256, SHA-256, "sample" -- deterministic nonces are
 * exactly RFC 6979's. */
static void test_rfc6979(void)
{
	unsigned char d[32], q[65], out[300];
	struct privkey k;
	gcry_sexp_t s = NULL;
	struct wbuf w, sig;
	struct rbuf r, in;
	const unsigned char *inner, *rr, *ss;
	size_t n, rn, sn;

	unhex(d, "c9afa9d845ba75166b5c215767b1d6934e50c3db36e89b127b8a622b120f6721");
	unhex(q, "0460fed4ba255a9d31c961eb74c6356d68c049b8923b61fa6ce669622e60f29fb6"
		 "7903fe1008b8bc99a41ae9e95628bc64f2f1b20c2d7e9f5177a3c294d4462299");
	gcry_sexp_build(&s, NULL, "(private-key(ecc(curve \"NIST P-256\")(q %b)(d %b)))",
			65, q, 32, d);
	n = gcry_sexp_sprint(s, GCRYSEXP_FMT_CANON, out, sizeof out);
	gcry_sexp_release(s);
	ok(n > 0 && privkey_load(&k, ALG_ECDSA_P256, out, n) == ENF_OK, "RFC 6979 A.2.5 key loads");
	if (!k.sexp)
		return;
	wbuf_init(&w, 0);
	wbuf_init(&sig, 0);
	ok(privkey_sign_ssh(&k, "sample", 6, &sig) == ENF_OK, "sign \"sample\"");
	rbuf_init(&r, sig.p, sig.len);
	inner = NULL;
	n = 0;
	ok(rbuf_expect_cstring(&r, "ecdsa-sha2-nistp256") == 0 && rbuf_string(&r, &inner, &n) == 0 &&
	   rbuf_done(&r), "ECDSA SSH signature layout");
	rbuf_init(&in, inner, n);
	unhex(out, "efd48b2aacb6a8fd1140dd9cd45e81d69d2c877b56aaf991c34d0ea84eaf3716"
		   "f7cb1c942d657c41d436c7a1b6e29f65f3e900dbb9aff4064dc4ab2f843acda8");
	ok(rbuf_mpint(&in, &rr, &rn) == 0 && rbuf_mpint(&in, &ss, &sn) == 0 && rbuf_done(&in) &&
	   rn == 32 && sn == 32 && memcmp(rr, out, 32) == 0 && memcmp(ss, out + 32, 32) == 0,
	   "r and s match RFC 6979 A.2.5");
	wbuf_free(&w);
	wbuf_free(&sig);
	privkey_free(&k);
}

/* Canonical signatures only (RFC 8032 5.1.7, RFC 8017 5.2.2 and 8.2.2,
 * SEC 1 4.1.4): a second encoding of a valid signature must not verify. */

/* The group order L of Ed25519 (RFC 8032 5.1), little-endian. */
static const unsigned char ed25519_L[32] = {
	0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
};

/* a += b (little-endian, 32 bytes); 0 when it did not overflow. */
static int le_add(unsigned char a[32], const unsigned char b[32])
{
	unsigned c = 0;

	for (int i = 0; i < 32; i++) {
		c += a[i] + b[i];
		a[i] = (unsigned char)c;
		c >>= 8;
	}
	return (int)c;
}

/* a += d at byte 0 (little-endian, with borrow or carry). */
static void le_add_small(unsigned char a[32], int d)
{
	int c = d;

	for (int i = 0; i < 32 && c; i++) {
		c += a[i];
		a[i] = (unsigned char)(c & 0xff);
		c = c >= 0 ? c >> 8 : -1;
	}
}

static int verify_parts(const struct pubkey *k, const char *alg, const void *data, size_t n,
			const unsigned char *sig, size_t siglen)
{
	struct wbuf w;
	int rc;

	wbuf_init(&w, 0);
	wbuf_cstring(&w, alg);
	wbuf_string(&w, sig, siglen);
	rc = w.failed ? ENF_FAIL : pubkey_verify_ssh(k, data, n, w.p, w.len);
	wbuf_free(&w);
	return rc;
}

static void test_ed25519_canonical(void)
{
	unsigned char blob[100], sig[64], s[32];
	struct pubkey k;
	size_t bn;

	bn = unhex(blob, "0000000b7373682d6564323535313900000020"
		   "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a");
	unhex(sig, "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e06522490155"
		   "5fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b");
	if (pubkey_from_blob(&k, blob, bn) != ENF_OK) {
		ok(0, "RFC 8032 TEST 1 public key parses");
		return;
	}
	ok(verify_parts(&k, "ssh-ed25519", "", 0, sig, 64) == ENF_OK, "RFC 8032 TEST 1 verifies");
	ok(!le_add(sig + 32, ed25519_L) &&
	   verify_parts(&k, "ssh-ed25519", "", 0, sig, 64) == ENF_NO,
	   "Ed25519: the same signature with S + L is refused");
	ok(!le_add(sig + 32, ed25519_L) &&
	   verify_parts(&k, "ssh-ed25519", "", 0, sig, 64) == ENF_NO,
	   "Ed25519: and with S + 2L");
	memcpy(s, ed25519_L, 32);
	ok(!ed25519_s_canonical(s), "Ed25519: S = L is not canonical");
	le_add_small(s, 1);
	ok(!ed25519_s_canonical(s), "Ed25519: S = L + 1 is not canonical");
	le_add_small(s, -2);
	ok(ed25519_s_canonical(s), "Ed25519: S = L - 1 is canonical");
	memset(s, 0xff, 32);
	ok(!ed25519_s_canonical(s), "Ed25519: S = 2^256 - 1 is not canonical");
	memset(s, 0, 32);
	ok(ed25519_s_canonical(s), "Ed25519: S = 0 is canonical");
	pubkey_free(&k);
}

/* An RSA key of 2052 bits: the modulus takes 257 bytes with room above
 * it, so s + n still fits in a modulus-length signature. */
struct rsa_fixture {
	gcry_sexp_t priv;
	gcry_mpi_t n;
	struct pubkey pub;
};

static int mpi_bytes(gcry_mpi_t m, unsigned char *out, size_t len)
{
	size_t got = 0;

	memset(out, 0, len);
	if (gcry_mpi_get_nbits(m) > len * 8)
		return -1;
	return gcry_mpi_print(GCRYMPI_FMT_USG, out + len - (gcry_mpi_get_nbits(m) + 7) / 8,
			      (gcry_mpi_get_nbits(m) + 7) / 8, &got, m) ? -1 : 0;
}

static int rsa_fixture(struct rsa_fixture *f)
{
	gcry_sexp_t parms = NULL, key = NULL;
	gcry_mpi_t e = NULL;
	unsigned char eb[8], nb[300];
	struct wbuf w;
	int rc = -1;

	memset(f, 0, sizeof *f);
	if (gcry_sexp_new(&parms, "(genkey(rsa(nbits 4:2052)(rsa-use-e 5:65537)))", 0, 1) ||
	    gcry_pk_genkey(&key, parms))
		goto out;
	f->priv = gcry_sexp_find_token(key, "private-key", 0);
	if (!f->priv || gcry_sexp_extract_param(f->priv, NULL, "ne", &f->n, &e, NULL) ||
	    mpi_bytes(e, eb, 3) < 0 || mpi_bytes(f->n, nb, 257) < 0)
		goto out;
	wbuf_init(&w, 0);
	wbuf_cstring(&w, "ssh-rsa");
	wbuf_mpint(&w, eb, 3);
	wbuf_mpint(&w, nb, 257);
	rc = !w.failed && pubkey_from_blob(&f->pub, w.p, w.len) == ENF_OK ? 0 : -1;
	wbuf_free(&w);
out:
	gcry_mpi_release(e);
	gcry_sexp_release(parms);
	gcry_sexp_release(key);
	return rc;
}

/* PKCS#1 v1.5 signature over digest, as 257 bytes. */
static int rsa_fixture_sign(const struct rsa_fixture *f, int hash_alg, const unsigned char *digest,
			    unsigned char s[257], gcry_mpi_t *sm)
{
	gcry_sexp_t data = NULL, sig = NULL;
	int rc = -1;

	*sm = NULL;
	if (!gcry_sexp_build(&data, NULL, "(data(flags pkcs1)(hash %s %b))", hash_name(hash_alg),
			     (int)hash_len(hash_alg), digest) &&
	    !gcry_pk_sign(&sig, data, f->priv) &&
	    !gcry_sexp_extract_param(sig, "sig-val!rsa", "s", sm, NULL))
		rc = mpi_bytes(*sm, s, 257);
	gcry_sexp_release(data);
	gcry_sexp_release(sig);
	return rc;
}

static void test_rsa_canonical(void)
{
	struct rsa_fixture f;
	unsigned char dg[HASH_MAX], s[257], t[257];
	gcry_mpi_t sm = NULL, v = gcry_mpi_new(0);
	char msg[32];
	int i, found;

	if (rsa_fixture(&f) < 0) {
		ok(0, "RSA 2052 test key");
		return;
	}
	ok(f.pub.bits == 2052, "RSA 2052 test key parses as a requester key");
	hash_buf(HASH_SHA512, "x", 1, dg);
	ok(rsa_fixture_sign(&f, HASH_SHA512, dg, s, &sm) == 0 &&
	   verify_parts(&f.pub, "rsa-sha2-512", "x", 1, s, 257) == ENF_OK &&
	   pubkey_verify_raw(&f.pub, HASH_SHA512, dg, s, 257) == ENF_OK,
	   "RSA: the signature verifies, as SSH and raw");
	gcry_mpi_add(v, sm, f.n);
	ok(mpi_bytes(v, t, 257) == 0 && verify_parts(&f.pub, "rsa-sha2-512", "x", 1, t, 257) == ENF_NO,
	   "RSA: the same signature as s + n is refused (SSH)");
	ok(pubkey_verify_raw(&f.pub, HASH_SHA512, dg, t, 257) == ENF_NO,
	   "RSA: the same signature as s + n is refused (raw)");
	ok(mpi_bytes(f.n, t, 257) == 0 && verify_parts(&f.pub, "rsa-sha2-512", "x", 1, t, 257) == ENF_NO &&
	   pubkey_verify_raw(&f.pub, HASH_SHA512, dg, t, 257) == ENF_NO, "RSA: s = n is refused");
	gcry_mpi_release(sm);
	/* A signature whose first byte is zero, sent one byte short. */
	for (i = 0, found = 0; i < 400 && !found; i++) {
		snprintf(msg, sizeof msg, "message %d", i);
		hash_buf(HASH_SHA512, msg, strlen(msg), dg);
		found = rsa_fixture_sign(&f, HASH_SHA512, dg, s, &sm) == 0 && s[0] == 0;
		gcry_mpi_release(sm);
	}
	ok(found && verify_parts(&f.pub, "rsa-sha2-512", msg, strlen(msg), s, 257) == ENF_OK,
	   "RSA: a signature with a leading zero byte verifies at full length");
	ok(found && verify_parts(&f.pub, "rsa-sha2-512", msg, strlen(msg), s + 1, 256) == ENF_NO &&
	   pubkey_verify_raw(&f.pub, HASH_SHA512, dg, s + 1, 256) == ENF_NO,
	   "RSA: a signature shorter than the modulus is refused");
	gcry_mpi_release(v);
	gcry_mpi_release(f.n);
	gcry_sexp_release(f.priv);
	pubkey_free(&f.pub);
}

/* RFC 6979 A.2.5 (P-256, SHA-256, "sample"): both r and s have the top
 * bit set, so their minimal encodings carry a zero byte in front. */
static const char a25_q[] = "0460fed4ba255a9d31c961eb74c6356d68c049b8923b61fa6ce669622e60f29fb6"
	"7903fe1008b8bc99a41ae9e95628bc64f2f1b20c2d7e9f5177a3c294d4462299";
static const char a25_r[] = "00efd48b2aacb6a8fd1140dd9cd45e81d69d2c877b56aaf991c34d0ea84eaf3716";
static const char a25_s[] = "00f7cb1c942d657c41d436c7a1b6e29f65f3e900dbb9aff4064dc4ab2f843acda8";
/* The order n of P-256 (FIPS 186-4 D.1.2.3), and r + n. */
static const char p256_n[] = "00ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551";
static const char a25_r_plus_n[] = "01efd48b29acb6a8fe1140dd9cd45e81d65a138228fdc29816b706d96b4b125c67";

/* The hex vectors above decode whole, and r + n is what it says, so that
 * no refusal below passes for a garbled vector. */
static int vectors_add_up(void)
{
	unsigned char b[40];
	gcry_mpi_t r = NULL, n = NULL, rn = NULL, sum = gcry_mpi_new(0);
	int good = unhex(b, a25_s) == 33;

	good &= unhex(b, a25_r) == 33 && !gcry_mpi_scan(&r, GCRYMPI_FMT_USG, b, 33, NULL);
	good &= unhex(b, p256_n) == 33 && !gcry_mpi_scan(&n, GCRYMPI_FMT_USG, b, 33, NULL);
	good &= unhex(b, a25_r_plus_n) == 33 && !gcry_mpi_scan(&rn, GCRYMPI_FMT_USG, b, 33, NULL);
	if (good) {
		gcry_mpi_add(sum, r, n);
		good = gcry_mpi_cmp(sum, rn) == 0;
	}
	gcry_mpi_release(r);
	gcry_mpi_release(n);
	gcry_mpi_release(rn);
	gcry_mpi_release(sum);
	return good;
}

/* The ECDSA signature of r and s (hex, DER INTEGER = SSH mpint contents,
 * written as given), as DER (raw) or SSH; verified over "sample". */
static int a25_verify(const struct pubkey *k, int der, const char *rhex, const char *shex)
{
	unsigned char r[40], s[40], dg[32];
	size_t rl = unhex(r, rhex), sl = unhex(s, shex);
	struct wbuf w;
	int rc;

	wbuf_init(&w, 0);
	if (der) {
		wbuf_u8(&w, 0x30);
		wbuf_u8(&w, (uint8_t)(4 + rl + sl));
		wbuf_u8(&w, 0x02);
		wbuf_u8(&w, (uint8_t)rl);
		wbuf_put(&w, r, rl);
		wbuf_u8(&w, 0x02);
		wbuf_u8(&w, (uint8_t)sl);
		wbuf_put(&w, s, sl);
		hash_buf(HASH_SHA256, "sample", 6, dg);
		rc = w.failed ? ENF_FAIL : pubkey_verify_raw(k, HASH_SHA256, dg, w.p, w.len);
	} else {
		wbuf_string(&w, r, rl);
		wbuf_string(&w, s, sl);
		rc = w.failed ? ENF_FAIL : verify_parts(k, "ecdsa-sha2-nistp256", "sample", 6, w.p, w.len);
	}
	wbuf_free(&w);
	return rc;
}

static void test_ecdsa_canonical(void)
{
	unsigned char q[65], der[80], dg[32];
	struct pubkey k;
	struct wbuf w;
	size_t n;
	int d;

	wbuf_init(&w, 0);
	wbuf_cstring(&w, "ecdsa-sha2-nistp256");
	wbuf_cstring(&w, "nistp256");
	wbuf_string(&w, q, unhex(q, a25_q));
	if (w.failed || pubkey_from_blob(&k, w.p, w.len) != ENF_OK) {
		ok(0, "RFC 6979 A.2.5 public key parses");
		wbuf_free(&w);
		return;
	}
	wbuf_free(&w);
	ok(vectors_add_up(), "ECDSA test vectors: r and s decode, r + n is r plus n");
	for (d = 1; d >= 0; d--) {
		const char *f = d ? "DER" : "SSH";

		ok(a25_verify(&k, d, a25_r, a25_s) == ENF_OK, "ECDSA %s: RFC 6979 A.2.5 verifies", f);
		ok(a25_verify(&k, d, a25_r + 2, a25_s) == ENF_NO,
		   "ECDSA %s: r without its sign byte (negative) is refused", f);
		ok(a25_verify(&k, d, a25_r, a25_s + 2) == ENF_NO,
		   "ECDSA %s: s without its sign byte (negative) is refused", f);
		ok(a25_verify(&k, d, "00" "00efd48b2aacb6a8fd1140dd9cd45e81d69d2c877b56aaf991c34d0ea84eaf3716",
			      a25_s) == ENF_NO, "ECDSA %s: r with a needless zero byte is refused", f);
		ok(a25_verify(&k, d, p256_n, a25_s) == ENF_NO, "ECDSA %s: r = n is refused", f);
		ok(a25_verify(&k, d, a25_r, p256_n) == ENF_NO, "ECDSA %s: s = n is refused", f);
		ok(a25_verify(&k, d, a25_r_plus_n, a25_s) == ENF_NO, "ECDSA %s: r + n is refused", f);
		ok(a25_verify(&k, d, "00", a25_s) == ENF_NO && a25_verify(&k, d, a25_r, "00") == ENF_NO,
		   "ECDSA %s: r = 0 and s = 0 (as one zero byte) are refused", f);
	}
	ok(a25_verify(&k, 0, "", a25_s) == ENF_NO && a25_verify(&k, 0, a25_r, "") == ENF_NO,
	   "ECDSA SSH: r = 0 and s = 0 (as empty mpints) are refused");
	/* The canonical DER signature with its length in long form. */
	n = unhex(der, "3081460221");
	n += unhex(der + n, a25_r);
	n += unhex(der + n, "0221");
	n += unhex(der + n, a25_s);
	hash_buf(HASH_SHA256, "sample", 6, dg);
	ok(n == 73 && pubkey_verify_raw(&k, HASH_SHA256, dg, der, n) == ENF_NO,
	   "ECDSA DER: a long-form length under 128 is refused");
	pubkey_free(&k);
}

/* libgcrypt aborts on S-expression data over 64 KiB: a long message must be
 * an error, never a crash. */
static void test_long_message(void)
{
	struct privkey k = { 0 };
	struct wbuf sig;
	static unsigned char big[70000];

	wbuf_init(&sig, 0);
	ok(privkey_generate(&k, ALG_ED25519) == ENF_OK, "ed25519 key for the long-message test");
	ok(privkey_sign_ssh(&k, big, sizeof big, &sig) == ENF_FAIL,
	   "ed25519: a message over 64 KiB is refused, not a crash");
	ok(privkey_sign_ssh(&k, big, 100, &sig) == ENF_OK, "ed25519: a short message signs");
	ok(pubkey_verify_ssh(&k.pub, big, sizeof big, sig.p, sig.len) == ENF_NO,
	   "ed25519: verifying over 64 KiB is invalid, not a crash");
	wbuf_free(&sig);
	privkey_free(&k);
}

int main(void)
{
	struct privkey other;
	int alg;

	ok(crypto_init() == ENF_OK, "crypto_init");
	test_names();
	test_rfc8032();
	ok(privkey_generate(&other, ALG_ECDSA_P256) == ENF_OK, "a second key");
	for (alg = ALG_ED25519; alg <= ALG_RSA4096; alg++)
		test_alg(alg, &other);
	test_interop();
	test_bad_points();
	test_rfc6979();
	test_ed25519_canonical();
	test_rsa_canonical();
	test_ecdsa_canonical();
	test_garbage(&other);
	privkey_free(&other);
	test_long_message();
	return done_testing();
}
