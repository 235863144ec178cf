/* Power-on self-tests (see selftest.h).  Each test computes a published
 * answer through the same calls enf makes and compares it with the
 * published bytes; the vectors are the standards' own:
 *   SHA-2           FIPS 180-4 examples ("abc")
 *   HMAC-SHA256     RFC 4231 test case 2
 *   HKDF-SHA256     RFC 5869 test case 1
 *   AES-256-GCM     McGrew-Viega GCM test case 14 (NIST SP 800-38D)
 *   Argon2id        RFC 9106 section 5.3
 *   X25519          RFC 7748 section 5.2
 *   Ed25519         RFC 8032 section 7.1, test 1 (sign, verify, reject)
 *   ECDSA           RFC 6979 A.2.5 / A.2.6, "sample" (deterministic nonces)
 *   RSA PKCS#1 v1.5 a 2048-bit key and SHA-512 signature made by OpenSSL
 *                   (enf verifies requesters' RSA keys and signs rsa-sha2-512) */
#include <string.h>
#include <gcrypt.h>
#include "selftest.h"
#include "buf.h"
#include "crypto.h"
#include "encode.h"
#include "enf.h"
#include "key.h"

#define MAX_VEC 512

/* Decode a published vector (lowercase hex) into out; n = its bytes.  A
 * test build flips one bit of the named test's answers. */
static size_t expect(const char *name, const char *hex, unsigned char *out)
{
	size_t n = strlen(hex) / 2;

	if (n > MAX_VEC || hex_decode(hex, 2 * n, out, n) != ENF_OK)
		return 0;
#ifdef ENF_SELFTEST_CORRUPT
	if (strcmp(name, ENF_SELFTEST_CORRUPT) == 0)
		out[0] ^= 0x01;
#else
	(void)name;
#endif
	return n;
}

/* 1 when got[0..n) is the published answer hex. */
static int answer(const char *name, const unsigned char *got, size_t n, const char *hex)
{
	unsigned char want[MAX_VEC];
	size_t m = expect(name, hex, want);

	return m == n && memcmp(got, want, n) == 0;
}

static int input(const char *hex, unsigned char *out, size_t *n)
{
	*n = strlen(hex) / 2;
	return *n <= MAX_VEC && hex_decode(hex, 2 * *n, out, *n) == ENF_OK;
}

static int kat_hash(const char *name, int alg, const char *hex)
{
	unsigned char d[HASH_MAX];

	return hash_buf(alg, "abc", 3, d) == ENF_OK && answer(name, d, hash_len(alg), hex);
}

static int kat_sha256(void)
{
	return kat_hash("sha-256", HASH_SHA256,
		"ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

static int kat_sha384(void)
{
	return kat_hash("sha-384", HASH_SHA384,
		"cb00753f45a35e8bb5a03d699ac65007272c32ab0eded1631a8b605a43ff5bed"
		"8086072ba1e7cc2358baeca134c825a7");
}

static int kat_sha512(void)
{
	return kat_hash("sha-512", HASH_SHA512,
		"ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a"
		"2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f");
}

static int kat_hmac(void)
{
	static const char data[] = "what do ya want for nothing?";
	unsigned char mac[32];

	return hmac_sha256("Jefe", 4, data, sizeof data - 1, mac) == ENF_OK &&
		answer("hmac-sha256", mac, 32,
		       "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

static int kat_hkdf(void)
{
	unsigned char ikm[22], salt[13], info[10], okm[42];
	size_t i;

	memset(ikm, 0x0b, sizeof ikm);
	for (i = 0; i < sizeof salt; i++)
		salt[i] = (unsigned char)i;
	for (i = 0; i < sizeof info; i++)
		info[i] = (unsigned char)(0xf0 + i);
	return hkdf_sha256(ikm, sizeof ikm, salt, sizeof salt, info, sizeof info, okm,
			   sizeof okm) == ENF_OK &&
		answer("hkdf-sha256", okm, sizeof okm,
		       "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf"
		       "34007208d5b887185865");
}

/* Seal, then open the answer, then refuse it with one bit flipped. */
static int kat_aead(void)
{
	static const unsigned char key[AEAD_KEY], nonce[AEAD_NONCE], pt[16];
	unsigned char ct[16 + AEAD_TAG], back[16];

	if (aead_seal(key, nonce, NULL, 0, pt, sizeof pt, ct) != ENF_OK ||
	    !answer("aes-256-gcm", ct, sizeof ct,
		    "cea7403d4d606b6e074ec5d3baf39d18d0d1c8a799996bf0265b98b5d48ab919"))
		return 0;
	if (aead_open(key, nonce, NULL, 0, ct, sizeof ct, back) != ENF_OK ||
	    memcmp(back, pt, sizeof pt) != 0)
		return 0;
	ct[sizeof ct - 1] ^= 1;
	return aead_open(key, nonce, NULL, 0, ct, sizeof ct, back) == ENF_NO;
}

/* RFC 9106's vector uses a secret and associated data, which enf's
 * argon2id() does not take; the primitive is libgcrypt's either way, run
 * here with the RFC's small parameters (32 KiB, 3 passes, 4 lanes). */
static int kat_argon2id(void)
{
	unsigned long param[4] = { 32, 3, 32, 4 };
	unsigned char pass[32], salt[16], key[8], ad[12], tag[32];
	gcry_kdf_hd_t h;
	int ok;

	memset(pass, 0x01, sizeof pass);
	memset(salt, 0x02, sizeof salt);
	memset(key, 0x03, sizeof key);
	memset(ad, 0x04, sizeof ad);
	if (gcry_kdf_open(&h, GCRY_KDF_ARGON2, GCRY_KDF_ARGON2ID, param, 4, pass, sizeof pass,
			  salt, sizeof salt, key, sizeof key, ad, sizeof ad))
		return 0;
	ok = gcry_kdf_compute(h, NULL) == 0 && gcry_kdf_final(h, sizeof tag, tag) == 0;
	gcry_kdf_close(h);
	return ok && answer("argon2id", tag, sizeof tag,
			    "0d640df58d78766c08c037a34a8b53c9d01ef0452d75b65eb52520e96b01e659");
}

static int kat_x25519(void)
{
	unsigned char sk[X25519_LEN], u[X25519_LEN], out[X25519_LEN];
	size_t n1, n2;

	return input("a546e36bf0527c9d3b16154b82465edd62144c0ac1fc5a18506a2244ba449ac4", sk, &n1) &&
		input("e6db6867583030db3594c1a424b15f7c726624ec26b3353b10a903a6d0ab1c4c", u, &n2) &&
		x25519(out, sk, u) == ENF_OK &&
		answer("x25519", out, sizeof out,
		       "c3da55379de9c6908e94ea4df28d084f32eccf03491c71f754b4075577a28552");
}

/* Through key.c as enf signs and verifies: the SSH signature blob ends
 * with the 64 signature bytes; the public blob with the 32 key bytes. */
static int kat_ed25519(void)
{
	unsigned char seed[32], bad = 0x01;
	struct privkey k;
	struct wbuf sig;
	size_t n;
	int ok;

	if (!input("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60", seed, &n) ||
	    privkey_ed25519_from_seed(&k, seed) != ENF_OK)
		return 0;
	wipe(seed, sizeof seed);
	wbuf_init(&sig, 0);
	ok = k.pub.bloblen >= 32 &&
		answer("ed25519", k.pub.blob + k.pub.bloblen - 32, 32,
		       "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a") &&
		privkey_sign_ssh(&k, "", 0, &sig) == ENF_OK && sig.len >= 64 &&
		answer("ed25519", sig.p + sig.len - 64, 64,
		       "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b") &&
		pubkey_verify_ssh(&k.pub, "", 0, sig.p, sig.len) == ENF_OK &&
		pubkey_verify_ssh(&k.pub, &bad, 1, sig.p, sig.len) == ENF_NO;
	wbuf_free(&sig);
	privkey_free(&k);
	return ok;
}

/* Value of token name in s, left-padded to n bytes into out. */
static int token_padded(gcry_sexp_t s, const char *name, unsigned char *out, size_t n)
{
	gcry_sexp_t t = gcry_sexp_find_token(s, name, 0);
	const char *p;
	size_t len = 0;
	int ok = 0;

	p = t ? gcry_sexp_nth_data(t, 1, &len) : NULL;
	while (p && len > n && *p == 0) {
		p++;
		len--;
	}
	if (p && len <= n) {
		memset(out, 0, n - len);
		memcpy(out + n - len, p, len);
		ok = 1;
	}
	gcry_sexp_release(t);
	return ok;
}

/* RFC 6979: the same private key and message give exactly r and s; the
 * signature then verifies under the public key. */
static int kat_ecdsa(const char *name, const char *curve, int hash_alg, const char *d_hex,
		     const char *q_hex, const char *rs_hex)
{
	unsigned char d[48], q[97], digest[HASH_MAX], rs[96];
	gcry_sexp_t key = NULL, pub = NULL, data = NULL, sig = NULL;
	size_t dn, qn, flen;
	int ok = 0;

	if (!input(d_hex, d, &dn) || !input(q_hex, q, &qn) ||
	    hash_buf(hash_alg, "sample", 6, digest) != ENF_OK)
		return 0;
	flen = dn;
	if (gcry_sexp_build(&key, NULL, "(private-key(ecc(curve %s)(q %b)(d %b)))", curve,
			    (int)qn, q, (int)dn, d) == 0 &&
	    gcry_sexp_build(&pub, NULL, "(public-key(ecc(curve %s)(q %b)))", curve, (int)qn, q) == 0 &&
	    gcry_sexp_build(&data, NULL, "(data(flags rfc6979)(hash %s %b))", hash_name(hash_alg),
			    (int)hash_len(hash_alg), digest) == 0 &&
	    gcry_pk_sign(&sig, data, key) == 0)
		ok = token_padded(sig, "r", rs, flen) && token_padded(sig, "s", rs + flen, flen) &&
			answer(name, rs, 2 * flen, rs_hex) && gcry_pk_verify(sig, data, pub) == 0;
	wipe(d, sizeof d);
	gcry_sexp_release(key);
	gcry_sexp_release(pub);
	gcry_sexp_release(data);
	gcry_sexp_release(sig);
	return ok;
}

static int kat_p256(void)
{
	return kat_ecdsa("ecdsa-p256", "NIST P-256", HASH_SHA256,
		"c9afa9d845ba75166b5c215767b1d6934e50c3db36e89b127b8a622b120f6721",
		"04"
		"60fed4ba255a9d31c961eb74c6356d68c049b8923b61fa6ce669622e60f29fb6"
		"7903fe1008b8bc99a41ae9e95628bc64f2f1b20c2d7e9f5177a3c294d4462299",
		"efd48b2aacb6a8fd1140dd9cd45e81d69d2c877b56aaf991c34d0ea84eaf3716"
		"f7cb1c942d657c41d436c7a1b6e29f65f3e900dbb9aff4064dc4ab2f843acda8");
}

static int kat_p384(void)
{
	return kat_ecdsa("ecdsa-p384", "NIST P-384", HASH_SHA384,
		"6b9d3dad2e1b8c1c05b19875b6659f4de23c3b667bf297ba9aa47740787137d8"
		"96d5724e4c70a825f872c9ea60d2edf5",
		"04"
		"ec3a4e415b4e19a4568618029f427fa5da9a8bc4ae92e02e06aae5286b300c64"
		"def8f0ea9055866064a254515480bc13"
		"8015d9b72d7d57244ea8ef9ac0c621896708a59367f9dfb9f54ca84b3f1c9db1"
		"288b231c3ae0d4fe7344fd2533264720",
		"94edbb92a5ecb8aad4736e56c691916b3f88140666ce9fa73d64c4ea95ad133c"
		"81a648152e44acf96e36dd1e80fabe46"
		"99ef4aeb15f178cea1fe40db2603138f130e740a19624526203b6351d0a3a94f"
		"a329c145786e679e7b82c71a38628ac8");
}

/* Through key.c's raw verifier: the signature is accepted over SHA-512("abc")
 * and refused with one bit flipped (the corrupt build flips it first). */
static int kat_rsa(void)
{
	static const char n_hex[] =
		"00"
		"bd2025dc6b4c1b3067e554767defae9c159cc11be445aad09cebdfac4fa6e295"
		"89da3a554371830caa072e12bcfc601c8084ffe8992d99da267dff6923c985a3"
		"dd1c331626a67a042ffa38ef60db43181b2f4e18d530f7aafdf327a82c9d930f"
		"ebb22ad156c7312e3ac9c03925da460409841c3d697ab31bcef55b21c37ad764"
		"6c198a5ce86905aa965eaa97c5e72b5d911613b07003b089bb43e4ceb56112ac"
		"df3e6ea4d896f51f5fb73622169306fbc7dc0f5f7d5a5faa7fb62aca7aea55bd"
		"1169966c8f0793bfe18dcf6b1be1f60f5ff72f5b8e02664eb866370068baf9a5"
		"2d7c945df1049fbea5daa8d78731eceda074053ab7605465608a6b1771455c8d";
	static const unsigned char e[] = { 0x01, 0x00, 0x01 };
	unsigned char n[257], s[256], digest[HASH_MAX];
	struct pubkey k;
	struct wbuf blob;
	size_t nn;
	int ok = 0;

	if (!input(n_hex, n, &nn) ||
	    expect("rsa-pkcs1",
		   "7e7a13c0d05a9507a6ae7eab789a99a57484f8d35d0697ae6fab6ce9eec8db0d"
		   "52300951430b6f9a76f5af0e7017ae9732a06b22e10ffce07796e4b16b02c87a"
		   "bf1708df718378550e8cb7094be4c7b70720ff1a4c009825e7a883e194ffb18d"
		   "9e88bfc3f58c011ad9bd9ab3d6081c73f9cd9f5c3895dd6dba12be6b83326ecf"
		   "ee9333ecd4c6fa97808f953d60d3152a7c504473939c0f5e422b5ed224228101"
		   "fe90eb3b58d50e214aff9f1c3a793c59d4c8e21e00daf267c78e24829aebbed4"
		   "1881380255d2caedc0e3ac19ea9dc6f46136b9f26c0ab2ba11fe3636b5d1efe7"
		   "3c6e3e9db61133aa1069f8598bb603d7253bb32d50d09d963956d19e5a4e15a4",
		   s) != sizeof s ||
	    hash_buf(HASH_SHA512, "abc", 3, digest) != ENF_OK)
		return 0;
	wbuf_init(&blob, 0);
	if (wbuf_cstring(&blob, "ssh-rsa") == 0 && wbuf_string(&blob, e, sizeof e) == 0 &&
	    wbuf_string(&blob, n, nn) == 0 && pubkey_from_blob(&k, blob.p, blob.len) == ENF_OK) {
		ok = pubkey_verify_raw(&k, HASH_SHA512, digest, s, sizeof s) == ENF_OK;
		s[sizeof s - 1] ^= 1;
		ok = ok && pubkey_verify_raw(&k, HASH_SHA512, digest, s, sizeof s) == ENF_NO;
		pubkey_free(&k);
	}
	wbuf_free(&blob);
	return ok;
}

static const struct {
	const char *name;
	int tier;
	int (*run)(void);
} tests[] = {
	{ "sha-256", SELFTEST_FAST, kat_sha256 },
	{ "sha-384", SELFTEST_FAST, kat_sha384 },
	{ "sha-512", SELFTEST_FAST, kat_sha512 },
	{ "hmac-sha256", SELFTEST_FAST, kat_hmac },
	{ "hkdf-sha256", SELFTEST_FAST, kat_hkdf },
	{ "aes-256-gcm", SELFTEST_FAST, kat_aead },
	{ "argon2id", SELFTEST_FAST, kat_argon2id },
	{ "x25519", SELFTEST_FAST, kat_x25519 },
	{ "rsa-pkcs1", SELFTEST_FAST, kat_rsa },
	{ "ed25519", SELFTEST_SIGNING, kat_ed25519 },
	{ "ecdsa-p256", SELFTEST_SIGNING, kat_p256 },
	{ "ecdsa-p384", SELFTEST_SIGNING, kat_p384 },
};

const char *selftest_name(size_t i)
{
	return i < sizeof tests / sizeof tests[0] ? tests[i].name : NULL;
}

int selftest_run(int tier)
{
	size_t i;

	for (i = 0; i < sizeof tests / sizeof tests[0]; i++)
		if (tests[i].tier == tier && !tests[i].run())
			return enf_err(ENF_FAIL, "self-test failed: %s", tests[i].name);
	return ENF_OK;
}
