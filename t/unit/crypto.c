/* Unit tests for lib/crypto.c: published test vectors first, then the
 * properties the rest of enf relies on (tamper detection, labels). */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <gcrypt.h>
#include "crypto.h"
#include "enf.h"
#include "tap.h"


/* The n bytes at p are exactly the bytes the vector spells: a vector that
 * is empty, not hex, or of another length matches nothing. */
static int eqhex(const unsigned char *p, size_t n, const char *hex)
{
	unsigned char b[512];
	size_t len = strlen(hex);

	if (n == 0 || len != 2 * n || n > sizeof b)
		return 0;
	for (size_t i = 0; i < len; i++)
		if (hex_nibble(hex[i]) < 0)
			return 0;
	return unhex(b, hex) == n && memcmp(p, b, n) == 0;
}

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* The comparison every vector below relies on must be able to say no. */
static void test_eqhex(void)
{
	const unsigned char v[3] = { 0xab, 0xcd, 0xef };

	ok(eqhex(v, 3, "abcdef") && eqhex(v, 3, "ABCDEF"), "eqhex matches its vector");
	ok(!eqhex(v, 3, "abcdee") && !eqhex(v, 3, "abcd") && !eqhex(v, 3, "abcdef00") &&
	   !eqhex(v, 3, "") && !eqhex(v, 0, "") && !eqhex(v, 3, "zzzzzz") &&
	   !eqhex(v, 3, "abcdeg") && !eqhex(v, 3, "abcde"),
	   "eqhex refuses another value, a shorter or longer, empty, odd or non-hex vector");
}

static void test_hash(void)
{
	unsigned char d[HASH_MAX];
	struct hash_ctx c;
	char path[] = "/tmp/enf-crypto-XXXXXX";
	int fd;

	ok(hash_buf(HASH_SHA256, "abc", 3, d) == ENF_OK &&
	   eqhex(d, 32, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"),
	   "SHA-256(\"abc\") matches FIPS 180-2");
	ok(hash_buf(HASH_SHA384, "abc", 3, d) == ENF_OK &&
	   eqhex(d, 48, "cb00753f45a35e8bb5a03d699ac65007272c32ab0eded1631a8b605a43ff5bed"
		 "8086072ba1e7cc2358baeca134c825a7"), "SHA-384(\"abc\") matches FIPS 180-2");
	ok(hash_buf(HASH_SHA512, "abc", 3, d) == ENF_OK &&
	   eqhex(d, 64, "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a"
		 "2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f"),
	   "SHA-512(\"abc\") matches FIPS 180-2");
	ok(hash_begin(&c, HASH_SHA256) == ENF_OK, "streaming hash opens");
	hash_update(&c, "a", 1);
	hash_update(&c, "", 0);
	hash_update(&c, "bc", 2);
	ok(hash_end(&c, d) == ENF_OK &&
	   eqhex(d, 32, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"),
	   "streaming SHA-256 equals one-shot");
	ok(hash_len(HASH_SHA384) == 48 && hash_parse("sha512") == HASH_SHA512 &&
	   hash_parse("sha1") == -1 && hash_parse(NULL) == -1 &&
	   strcmp(hash_name(HASH_SHA256), "sha256") == 0 && hash_name(7) == NULL,
	   "hash names parse and print");
	ok(hash_buf(9, "abc", 3, d) == ENF_FAIL && hash_begin(&c, -1) == ENF_FAIL,
	   "unknown hash algorithm is refused");

	fd = mkstemp(path);
	if (fd >= 0) {
		static unsigned char big[200000];
		unsigned char d2[HASH_MAX];

		memset(big, 'x', sizeof big);
		ok(write(fd, big, sizeof big) == (ssize_t)sizeof big, "temp file written");
		lseek(fd, 0, SEEK_SET);
		hash_buf(HASH_SHA512, big, sizeof big, d2);
		ok(hash_fd(HASH_SHA512, fd, d) == ENF_OK && memcmp(d, d2, 64) == 0,
		   "hash_fd over several buffers equals one-shot");
		close(fd);
		unlink(path);
	}
	ok(hash_fd(HASH_SHA256, -1, d) == ENF_FAIL, "hash_fd fails on a bad descriptor");
}

static void test_hmac_hkdf(void)
{
	unsigned char ikm[22], salt[13], info[10], okm[42], out[32], key[20];
	size_t i;

	memset(key, 0x0b, sizeof key);
	ok(hmac_sha256(key, 20, "Hi There", 8, out) == ENF_OK &&
	   eqhex(out, 32, "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"),
	   "HMAC-SHA256 RFC 4231 case 1");
	ok(hmac_sha256("", 0, "", 0, out) == ENF_OK &&
	   eqhex(out, 32, "b613679a0814d9ec772f95d778c35fc5ff1697c493715653c6c712144292c5ad"),
	   "HMAC-SHA256 with an empty key");
	memset(ikm, 0x0b, sizeof ikm);
	for (i = 0; i < sizeof salt; i++)
		salt[i] = (unsigned char)i;
	for (i = 0; i < sizeof info; i++)
		info[i] = (unsigned char)(0xf0 + i);
	ok(hkdf_sha256(ikm, 22, salt, 13, info, 10, okm, 42) == ENF_OK &&
	   eqhex(okm, 42, "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf"
		 "34007208d5b887185865"), "HKDF-SHA256 RFC 5869 case 1");
	ok(hkdf_sha256(ikm, 22, NULL, 0, NULL, 0, okm, 42) == ENF_OK &&
	   eqhex(okm, 42, "8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d"
		 "9d201395faa4b61a96c8"), "HKDF-SHA256 RFC 5869 case 3 (no salt, no info)");
	ok(hkdf_sha256(ikm, 22, NULL, 0, NULL, 0, okm, 255 * 32 + 1) == ENF_FAIL,
	   "HKDF refuses more than 255 blocks");
}

static void test_aead(void)
{
	unsigned char k[32], iv[12], p[60], a[20], c[60 + 16], o[60], big[70000], bc[70016];
	struct aead_ctx x;
	size_t pn, an;
	int i, good = 1;

	unhex(k, "feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308");
	unhex(iv, "cafebabefacedbaddecaf888");
	pn = unhex(p, "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72"
		   "1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39");
	an = unhex(a, "feedfacedeadbeeffeedfacedeadbeefabaddad2");
	ok(aead_seal(k, iv, a, an, p, pn, c) == ENF_OK &&
	   eqhex(c, pn, "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa"
		 "8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662") &&
	   eqhex(c + pn, 16, "76fc6ece0f4e1768cddf8853bb2d551b"),
	   "AES-256-GCM matches the GCM spec test case 16");
	ok(aead_open(k, iv, a, an, c, pn + 16, o) == ENF_OK && memcmp(o, p, pn) == 0,
	   "AES-256-GCM opens what it sealed");
	c[3] ^= 1;
	ok(aead_open(k, iv, a, an, c, pn + 16, o) == ENF_NO, "flipped ciphertext bit -> ENF_NO");
	for (i = 0; i < (int)pn; i++)
		good &= o[i] == 0;
	ok(good, "output is wiped when the tag does not verify");
	c[3] ^= 1;
	c[pn + 15] ^= 0x80;
	ok(aead_open(k, iv, a, an, c, pn + 16, o) == ENF_NO, "flipped tag bit -> ENF_NO");
	c[pn + 15] ^= 0x80;
	ok(aead_open(k, iv, a, an - 1, c, pn + 16, o) == ENF_NO, "different AD -> ENF_NO");
	iv[0] ^= 1;
	ok(aead_open(k, iv, a, an, c, pn + 16, o) == ENF_NO, "different nonce -> ENF_NO");
	iv[0] ^= 1;
	ok(aead_open(k, iv, a, an, c, 15, o) == ENF_NO, "ciphertext shorter than a tag -> ENF_NO");
	ok(aead_seal(k, iv, NULL, 0, NULL, 0, c) == ENF_OK &&
	   aead_open(k, iv, NULL, 0, c, 16, o) == ENF_OK, "empty message without AD round-trips");

	/* The reusable context must give each message fresh GCM state. */
	for (i = 0; i < (int)sizeof big; i++)
		big[i] = (unsigned char)i;
	ok(aead_ctx_init(&x, k) == ENF_OK, "aead_ctx opens");
	good = 1;
	for (i = 0; i < 3; i++) {
		iv[11] = (unsigned char)i;
		good &= aead_ctx_seal(&x, iv, "ad", 2, big, sizeof big - i, bc) == ENF_OK;
		good &= aead_ctx_open(&x, iv, "ad", 2, bc, sizeof big - i + 16, big) == ENF_OK;
		good &= big[69999 - i] == (unsigned char)(69999 - i);
	}
	ok(good, "aead_ctx seals and opens several messages with one key schedule");
	aead_ctx_seal(&x, iv, "ad", 2, big, 60, bc);
	aead_seal(k, iv, "ad", 2, big, 60, c);
	ok(memcmp(bc, c, 76) == 0, "aead_ctx output equals one-shot output");
	bc[70] ^= 4;
	ok(aead_ctx_open(&x, iv, "ad", 2, bc, 76, o) == ENF_NO, "aead_ctx detects tampering");
	ok(aead_ctx_open(&x, iv, "ad", 2, c, 76, o) == ENF_OK && memcmp(o, big, 60) == 0,
	   "aead_ctx still works after a failed open");
	aead_ctx_free(&x);
	aead_ctx_free(&x);
}

static void test_argon2(void)
{
	unsigned char out[32], pw[32], salt[16], secret[8], ad[12];
	unsigned long param[4] = { 32, 3, 32, 4 };
	struct kdf_params kp = { 2, 65536, 1 };
	gcry_kdf_hd_t h;
	double t0, t1;
	int r;

	/* RFC 9106 5.3 uses a secret and associated data, which argon2id()
	 * does not expose: check libgcrypt itself on it. */
	memset(pw, 1, sizeof pw);
	memset(salt, 2, sizeof salt);
	memset(secret, 3, sizeof secret);
	memset(ad, 4, sizeof ad);
	r = gcry_kdf_open(&h, GCRY_KDF_ARGON2, GCRY_KDF_ARGON2ID, param, 4, pw, 32,
			  salt, 16, secret, 8, ad, 12);
	if (!r) {
		r = gcry_kdf_compute(h, NULL) || gcry_kdf_final(h, 32, out);
		gcry_kdf_close(h);
	}
	ok(r == 0 && eqhex(out, 32, "0d640df58d78766c08c037a34a8b53c9d01ef0452d75b65eb52520e96b01e659"),
	   "libgcrypt Argon2id matches RFC 9106 5.3");
	/* Reference implementation's test.c vector, through argon2id(). */
	ok(argon2id("password", 8, "somesalt", 8, &kp, out, 32) == ENF_OK &&
	   eqhex(out, 32, "09316115d5cf24ed5a15a31a3ba326e5cf32edc24702987c02b6566f61913cf7"),
	   "argon2id(t=2, m=64 MiB, p=1) matches the reference implementation");
	kp.m_cost_kib = 4;
	ok(argon2id("password", 8, "somesalt", 8, &kp, out, 32) == ENF_FAIL,
	   "argon2id refuses memory below 8 KiB per lane");
	kp.m_cost_kib = 8192;
	ok(argon2id("password", 8, "short", 5, &kp, out, 32) == ENF_FAIL,
	   "argon2id refuses salts shorter than 8 bytes");
	t0 = now_ms();
	r = argon2id("correct horse", 13, "saltsaltsaltsalt", 16, &KDF_DEFAULT, out, 32);
	t1 = now_ms();
	ok(r == ENF_OK, "argon2id with KDF_DEFAULT works");
	/* A figure, not a test: the time depends on the machine's load. */
	printf("# KDF_DEFAULT t=%u m=%u KiB p=%u: %.0f ms\n", KDF_DEFAULT.t_cost,
	       KDF_DEFAULT.m_cost_kib, KDF_DEFAULT.parallelism, t1 - t0);

	/* Lanes computed on threads give what libgcrypt gives alone. */
	{
		unsigned long pr[4] = { 32, 2, 4096, 4 };
		unsigned char ref[32];
		struct kdf_params k4 = { 2, 4096, 4 };

		r = gcry_kdf_open(&h, GCRY_KDF_ARGON2, GCRY_KDF_ARGON2ID, pr, 4, "pw", 2,
				  "saltsalt", 8, NULL, 0, NULL, 0);
		if (!r) {
			r = gcry_kdf_compute(h, NULL) || gcry_kdf_final(h, 32, ref);
			gcry_kdf_close(h);
		}
		ok(r == 0 && argon2id("pw", 2, "saltsalt", 8, &k4, out, 32) == ENF_OK &&
		   memcmp(out, ref, 32) == 0, "argon2id on 4 threads equals libgcrypt unthreaded");
	}
}

static void test_x25519(void)
{
	unsigned char s[32], u[32], o[32], a[32], b[32], pa[32], pb[32], ka[32], kb[32];
	static const unsigned char zero[32];
	unsigned char one[32] = { 1 };

	unhex(s, "a546e36bf0527c9d3b16154b82465edd62144c0ac1fc5a18506a2244ba449ac4");
	unhex(u, "e6db6867583030db3594c1a424b15f7c726624ec26b3353b10a903a6d0ab1c4c");
	ok(x25519(o, s, u) == ENF_OK &&
	   eqhex(o, 32, "c3da55379de9c6908e94ea4df28d084f32eccf03491c71f754b4075577a28552"),
	   "X25519 RFC 7748 5.2 vector 1");
	unhex(s, "4b66e9d4d1b4673c5ad22691957d6af5c11b6421e0ea01d42ca4169e7918ba0d");
	unhex(u, "e5210f12786811d3f4b7959d0538ae2c31dbe7106fc03c3efc4cd549c715a493");
	ok(x25519(o, s, u) == ENF_OK &&
	   eqhex(o, 32, "95cbde9476e8907d7aade45cb4b873f88b595a68799fa152e6f8f7647aac7957"),
	   "X25519 RFC 7748 5.2 vector 2 (high bit of u masked)");
	unhex(a, "77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a");
	unhex(b, "5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb");
	unhex(u, "0900000000000000000000000000000000000000000000000000000000000000");
	ok(x25519(pa, a, u) == ENF_OK &&
	   eqhex(pa, 32, "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a"),
	   "X25519 RFC 7748 6.1 Alice's public key");
	ok(x25519(pb, b, u) == ENF_OK &&
	   eqhex(pb, 32, "de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f"),
	   "X25519 RFC 7748 6.1 Bob's public key");
	ok(x25519(ka, a, pb) == ENF_OK && x25519(kb, b, pa) == ENF_OK && memcmp(ka, kb, 32) == 0 &&
	   eqhex(ka, 32, "4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742"),
	   "X25519 RFC 7748 6.1 shared secret");
	ok(x25519(o, a, zero) == ENF_NO, "X25519 with the zero point -> ENF_NO");
	ok(x25519(o, a, one) == ENF_NO, "X25519 with a low-order point (u=1) -> ENF_NO");
	ok(x25519_keygen(a, pa) == ENF_OK && x25519(o, a, u) == ENF_OK && memcmp(o, pa, 32) == 0,
	   "x25519_keygen gives sk, X25519(sk, 9)");
}

static void test_sealbox(void)
{
	unsigned char sk[32], pk[32], sk2[32], pk2[32], ct[64 + SEALBOX_OVERHEAD],
		ct2[64 + SEALBOX_OVERHEAD], pt[64], o[64];
	static const unsigned char zero[32];

	random_nonce(pt, sizeof pt);
	ok(x25519_keygen(sk, pk) == ENF_OK && x25519_keygen(sk2, pk2) == ENF_OK, "two X25519 key pairs");
	ok(sealbox_seal(pk, "enf key", "ad", 2, pt, 64, ct) == ENF_OK, "sealbox seals");
	ok(sealbox_open(sk, "enf key", "ad", 2, ct, sizeof ct, o) == ENF_OK && memcmp(o, pt, 64) == 0,
	   "sealbox opens with the right key, label and AD");
	ok(sealbox_seal(pk, "enf key", "ad", 2, pt, 64, ct2) == ENF_OK && memcmp(ct, ct2, 32) != 0,
	   "each seal uses a fresh ephemeral key");
	ok(sealbox_open(sk, "enf transfer", "ad", 2, ct, sizeof ct, o) == ENF_NO,
	   "sealbox refuses another label");
	ok(sealbox_open(sk, "enf key", "ae", 2, ct, sizeof ct, o) == ENF_NO,
	   "sealbox refuses other AD");
	ok(sealbox_open(sk2, "enf key", "ad", 2, ct, sizeof ct, o) == ENF_NO,
	   "sealbox refuses another recipient key");
	ct[40] ^= 1;
	ok(sealbox_open(sk, "enf key", "ad", 2, ct, sizeof ct, o) == ENF_NO,
	   "sealbox refuses a flipped ciphertext bit");
	ct[40] ^= 1;
	ct[5] ^= 1;
	ok(sealbox_open(sk, "enf key", "ad", 2, ct, sizeof ct, o) == ENF_NO,
	   "sealbox refuses a changed ephemeral key");
	ct[5] ^= 1;
	ok(sealbox_open(sk, "enf key", "ad", 2, ct, SEALBOX_OVERHEAD - 1, o) == ENF_NO,
	   "sealbox refuses a truncated box");
	memset(ct2, 0, 32);
	ok(sealbox_open(sk, "enf key", "ad", 2, ct2, sizeof ct2, o) == ENF_NO,
	   "sealbox refuses a low-order ephemeral key");
	ok(sealbox_seal(zero, "enf key", NULL, 0, pt, 64, ct) == ENF_NO,
	   "sealbox refuses to seal to a low-order key");
	ok(sealbox_seal(pk, "x", NULL, 0, NULL, 0, ct) == ENF_OK &&
	   sealbox_open(sk, "x", NULL, 0, ct, SEALBOX_OVERHEAD, o) == ENF_OK,
	   "empty sealbox round-trips");
}

static void test_memory(void)
{
	unsigned char *p = secure_alloc(100), buf[8] = "secret!";
	int zero = 1, i;

	ok(p != NULL, "secure_alloc gives memory");
	for (i = 0; p && i < 100; i++)
		zero &= p[i] == 0;
	ok(zero, "secure_alloc memory is zeroed");
	secure_free(p, 100);
	secure_free(NULL, 5);
	wipe(buf, sizeof buf);
	ok(buf[0] == 0 && buf[6] == 0, "wipe clears");
	ok(ct_equal("abc", "abc", 3) && !ct_equal("abc", "abd", 3) && ct_equal("", "", 0),
	   "ct_equal");
	ok(crypto_init() == ENF_OK && crypto_init() == ENF_OK, "crypto_init is idempotent");
}

/* enf-keygen init --argon2 T:M:P: each field within its range, nothing else. */
static void test_kdf_params_parse(void)
{
	struct kdf_params kp = { 0 }, keep = { 7, 7, 7 };
	static const char *const bad[] = {
		"", "1", "1:8192", "1:8192:1:", "1:8192:1:1", "0:8192:1", "65:8192:1", "1:8191:1",
		"1:4194305:1", "1:8192:0", "1:8192:17", "1::8192:1", ":1:8192:1", "+1:8192:1",
		" 1:8192:1", "1:8192:1 ", "-1:8192:1", "1:8192:x", "1:99999999999999999999:1",
	};

	ok(kdf_params_parse("3:65536:2", &kp) == 0 && kp.t_cost == 3 && kp.m_cost_kib == 65536 &&
	   kp.parallelism == 2, "T:M:P parses");
	ok(kdf_params_parse("64:4194304:16", &kp) == 0 && kdf_params_parse("1:8192:1", &kp) == 0 &&
	   kp.t_cost == 1 && kp.m_cost_kib == 8192 && kp.parallelism == 1, "both ends of each range");
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		kp = keep;
		ok(kdf_params_parse(bad[i], &kp) < 0 && kp.t_cost == 7 && kp.m_cost_kib == 7 &&
		   kp.parallelism == 7, "refuses \"%s\" and leaves the result alone", bad[i]);
	}
}

int main(void)
{
	ok(crypto_init() == ENF_OK, "crypto_init");
	test_eqhex();
	test_memory();
	test_hash();
	test_hmac_hkdf();
	test_aead();
	test_x25519();
	test_sealbox();
	test_argon2();
	test_kdf_params_parse();
	return done_testing();
}
