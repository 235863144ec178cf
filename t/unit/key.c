/* Unit tests for lib/key.c: RFC 8032 Ed25519 vector, then for each of the
 * five algorithms generation, save/load, deterministic signatures and
 * every rejection the verifiers must make. */
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
	ok(from_blob(blob, bn) == ENF_NO, "RSA 1024 public key is refused");
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
	ok(from_blob(blob, bn) == ENF_NO, "Ed25519 non-canonical y (= p) is refused");
	bn = unhex(blob, "0000000b7373682d65643235353139000000"
		   "200100000000000000000000000000000000000000000000000000000000000000");
	ok(from_blob(blob, bn) == ENF_NO, "Ed25519 neutral element is refused");
	/* Valid points with x = 2 and with y = 3: libgcrypt 1.10.1 aborts the
	 * process when verifying with them, so they must not get that far. */
	bn = unhex(blob, "0000000b7373682d65643235353139000000"
		   "203126711e11ef574692935381d2cd2bbab5dd113c4010f91fd7c4dd7b12bf431a");
	ok(from_blob(blob, bn) == ENF_NO, "Ed25519 key with a short x coordinate is refused");
	bn = unhex(blob, "0000000b7373682d65643235353139000000"
		   "200300000000000000000000000000000000000000000000000000000000000000");
	ok(from_blob(blob, bn) == ENF_NO, "Ed25519 key with a short y coordinate is refused");
	bn = unhex(blob, "0000000b7373682d65643235353139000000"
		   "200200000000000000000000000000000000000000000000000000000000000080");
	ok(from_blob(blob, bn) == ENF_NO, "Ed25519 y without a point on the curve is refused");
	bn = unhex(blob, "0000000b7373682d6564323535313900000000");
	ok(from_blob(blob, bn) == ENF_NO, "Ed25519 empty key is refused");
	bn = unhex(blob, "0000000b7373682d6564323535313900000000");
	ok(from_blob(blob, 0) == ENF_NO && from_blob(blob, 3) == ENF_NO, "empty blobs are refused");
	bn = unhex(blob, "0000000a7373682d6473732d31000000");
	ok(from_blob(blob, bn) == ENF_NO, "unsupported key types (DSA) are refused");
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
	privkey_sign_ssh(k, "x", 1, &sig);
	for (i = 0, all = 1; i < sig.len; i++) {
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
	test_garbage(&other);
	privkey_free(&other);
	test_long_message();
	return done_testing();
}
