/* encode.c and keyfmt.c: RFC 4648 vectors, strictness, armor, DER/PEM
 * against keys converted by OpenSSL and ssh-keygen.  (allowed_signers:
 * signers.c.) */
#include <stdlib.h>
#include <string.h>
#include "tap.h"
#include "crypto.h"
#include "encode.h"
#include "enf.h"
#include "keyfmt.h"

static int b64_is(const char *in, int pad, const char *want)
{
	struct wbuf w;
	int r;

	wbuf_init(&w, 0);
	r = base64_encode(&w, in, strlen(in), pad) == ENF_OK && w.len == strlen(want) &&
	    (w.len == 0 || memcmp(w.p, want, w.len) == 0);
	wbuf_free(&w);
	return r;
}

/* 1 when s decodes (strictly) to want; want NULL: must be refused. */
static int unb64_is(const char *s, int pad, const char *want)
{
	struct wbuf w;
	int rc, r;

	wbuf_init(&w, 0);
	rc = base64_decode(&w, s, strlen(s), pad);
	if (!want)
		r = rc == ENF_NO;
	else
		r = rc == ENF_OK && w.len == strlen(want) && (w.len == 0 || memcmp(w.p, want, w.len) == 0);
	wbuf_free(&w);
	return r;
}

static void test_base64(void)
{
	static const char *const v[][2] = { { "", "" }, { "f", "Zg==" }, { "fo", "Zm8=" },
		{ "foo", "Zm9v" }, { "foob", "Zm9vYg==" }, { "fooba", "Zm9vYmE=" },
		{ "foobar", "Zm9vYmFy" } };
	static const char *const bad[] = { "Zg=", "Zg", "Z===", "====", "Zh==", "Zm9=",
		"Zg==Zg==", "Zm 9v", "Zm9v\n", "Zm-v", "Zm_v", "Zm9v=", "=Zm9" };

	for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
		ok(b64_is(v[i][0], 1, v[i][1]), "base64 \"%s\" = \"%s\" (RFC 4648)", v[i][0], v[i][1]);
		ok(unb64_is(v[i][1], 1, v[i][0]), "base64 decode \"%s\"", v[i][1]);
	}
	ok(b64_is("f", 0, "Zg") && b64_is("fo", 0, "Zm8") && b64_is("foo", 0, "Zm9v"),
	   "unpadded base64 drops the '='");
	ok(unb64_is("Zg", 0, "f") && unb64_is("Zm8", 0, "fo"), "unpadded decode");
	ok(unb64_is("Zg==", 0, NULL) && unb64_is("Z", 0, NULL) && unb64_is("Zh", 0, NULL),
	   "unpadded decode refuses '=', a lone symbol and non-zero spare bits");
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		ok(unb64_is(bad[i], 1, NULL), "strict decode refuses bad base64 #%zu", i);
}

static void test_hex(void)
{
	struct wbuf w;
	unsigned char b[3];

	wbuf_init(&w, 0);
	ok(hex_encode(&w, "\x00\xff\x10", 3) == ENF_OK && w.len == 6 && memcmp(w.p, "00ff10", 6) == 0,
	   "hex is lowercase");
	wbuf_free(&w);
	ok(hex_decode("00ff10", 6, b, 3) == ENF_OK && memcmp(b, "\x00\xff\x10", 3) == 0, "hex decodes");
	ok(hex_decode("00FF10", 6, b, 3) == ENF_NO, "hex refuses uppercase");
	ok(hex_decode("00ff1", 5, b, 3) == ENF_NO && hex_decode("00ff1000", 8, b, 3) == ENF_NO,
	   "hex refuses the wrong length");
	ok(hex_decode("00fg10", 6, b, 3) == ENF_NO && hex_decode("00 f10", 6, b, 3) == ENF_NO,
	   "hex refuses non-hex characters");
}

static int dearmor(const char *text, const char *want, size_t wantlen, size_t *used)
{
	struct wbuf w;
	int rc;

	wbuf_init(&w, 0);
	rc = armor_decode(&w, "TEST", text, strlen(text), used);
	if (rc == ENF_OK && want)
		rc = w.len == wantlen && memcmp(w.p, want, wantlen) == 0 ? ENF_OK : 99;
	wbuf_free(&w);
	return rc;
}

static void test_armor(void)
{
	unsigned char data[200];
	struct wbuf w;
	size_t used;
	int widths[] = { 64, 70 };

	for (size_t i = 0; i < sizeof data; i++)
		data[i] = (unsigned char)(i * 7 + 3);
	for (int j = 0; j < 2; j++)
		for (size_t n = 1; n <= sizeof data; n += 37) {
			int good;

			wbuf_init(&w, 0);
			armor_encode(&w, "TEST", data, n, widths[j]);
			wbuf_cstr_terminate(&w);
			good = dearmor((char *)w.p, (char *)data, n, &used) == ENF_OK && used == w.len;
			ok(good, "armor round trip, %zu bytes, width %d", n, widths[j]);
			wbuf_free(&w);
		}
	wbuf_init(&w, 0);
	armor_encode(&w, "TEST", "foobar", 6, 64);
	wbuf_cstr_terminate(&w);
	ok(strcmp((char *)w.p, "-----BEGIN TEST-----\nZm9vYmFy\n-----END TEST-----\n") == 0,
	   "armor layout: BEGIN, body, END, each ending in a newline");
	wbuf_free(&w);
	ok(dearmor("-----BEGIN TEST-----\nZm9vYmFy\n-----END TEST-----", "foobar", 6, &used) == ENF_OK &&
	   used == 48, "armor accepts a final END line without newline");
	ok(dearmor("-----BEGIN TEST-----\nZm9vYmFy\n-----END TEST-----\nmore", "foobar", 6, &used) == ENF_OK &&
	   used == 49, "armor reports the bytes it used");
	ok(dearmor("-----BEGIN TEST-----\nZm9v\nYmFy\n-----END TEST-----\n", NULL, 0, &used) == ENF_NO,
	   "armor refuses body lines of a width other than 64 or 70");
	ok(dearmor("-----BEGIN TEST-----\nZm9vYmFy\r\n-----END TEST-----\n", NULL, 0, &used) == ENF_NO,
	   "armor refuses CRLF");
	ok(dearmor("-----BEGIN TEST-----\nZm9vYmFy \n-----END TEST-----\n", NULL, 0, &used) == ENF_NO,
	   "armor refuses trailing blanks");
	ok(dearmor("-----BEGIN TEST-----\n\nZm9vYmFy\n-----END TEST-----\n", NULL, 0, &used) == ENF_NO,
	   "armor refuses blank lines");
	ok(dearmor("-----BEGIN TEST-----\n-----END TEST-----\n", NULL, 0, &used) == ENF_NO,
	   "armor refuses an empty body");
	ok(dearmor("-----BEGIN TEST-----\nZm9vYmFy\n", NULL, 0, &used) == ENF_NO,
	   "armor refuses a missing END line");
	ok(dearmor("-----BEGIN TEST-----\nZm9vYmFy\n-----END OTHER-----\n", NULL, 0, &used) == ENF_NO &&
	   dearmor("-----BEGIN OTHER-----\nZm9vYmFy\n-----END TEST-----\n", NULL, 0, &used) == ENF_NO,
	   "armor refuses another label");
	ok(dearmor(" -----BEGIN TEST-----\nZm9vYmFy\n-----END TEST-----\n", NULL, 0, &used) == ENF_NO,
	   "armor must start at the BEGIN line");
	{
		/* 64 + short + 64: a short line may only be the last. */
		char t[400];
		const char *l64 = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";

		snprintf(t, sizeof t, "-----BEGIN TEST-----\n%s\nAAAA\n%s\n-----END TEST-----\n", l64, l64);
		ok(dearmor(t, NULL, 0, &used) == ENF_NO, "armor refuses a short line in the middle");
		snprintf(t, sizeof t, "-----BEGIN TEST-----\n%s\n%sAAAA\n-----END TEST-----\n", l64, l64);
		ok(dearmor(t, NULL, 0, &used) == ENF_NO, "armor refuses a line longer than the first");
		snprintf(t, sizeof t, "-----BEGIN TEST-----\n%s\nAAAA\n-----END TEST-----\n", l64);
		ok(dearmor(t, NULL, 0, &used) == ENF_OK, "armor accepts 64 columns and a short last line");
	}
}

/* Keys converted by OpenSSL (PEM) and ssh-keygen -i -m PKCS8 (line); the
 * Ed25519 one is RFC 8410's example. */
static const struct {
	const char *pem, *line, *fp;
} keys[] = {
	{ "-----BEGIN PUBLIC KEY-----\n"
	  "MCowBQYDK2VwAyEAGb9ECWmEzf6FQbrBZ9w7lshQhqowtrbLDFw4rXAxZuE=\n"
	  "-----END PUBLIC KEY-----\n",
	  "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBm/RAlphM3+hUG6wWfcO5bIUIaqMLa2ywxcOK1wMWbh",
	  "SHA256:ebCT4wkJOqO5AIlHG03cHvn3Cr3ZZEEh8m81duHhR3Q" },
	{ "-----BEGIN PUBLIC KEY-----\n"
	  "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAET45Ph2Bze/vbx5eJi5WXLf9AFba0\n"
	  "2aGeqti2N2CxvXJbBYAnIodX/IMaWBiq1ZDUa622LD+thOwLUBsyNMX1qg==\n"
	  "-----END PUBLIC KEY-----\n",
	  "ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBE+OT4dgc3v728eXiYuVly3/QBW2tNmhnqrYtjdgsb1yWwWAJyKHV/yDGlgYqtWQ1Guttiw/rYTsC1AbMjTF9ao=",
	  "SHA256:WayV1r8rEU83CQowBpKxjWoyi1i4jZPAQnJqf3EL1UQ" },
	{ "-----BEGIN PUBLIC KEY-----\n"
	  "MHYwEAYHKoZIzj0CAQYFK4EEACIDYgAErhfRvthefBWbOi+TZRYLbxm5rt/UJGZt\n"
	  "eppcbgzF1LV27GTXxJdnUodVsFV30xmsvypvjXh6LgBppnx7soWFLTcHcKu9BN8c\n"
	  "m00Vd6rfVriPP7dyajP4iGMb6CV/fRgs\n"
	  "-----END PUBLIC KEY-----\n",
	  "ecdsa-sha2-nistp384 AAAAE2VjZHNhLXNoYTItbmlzdHAzODQAAAAIbmlzdHAzODQAAABhBK4X0b7YXnwVmzovk2UWC28Zua7f1CRmbXqaXG4MxdS1duxk18SXZ1KHVbBVd9MZrL8qb414ei4AaaZ8e7KFhS03B3CrvQTfHJtNFXeq31a4jz+3cmoz+IhjG+glf30YLA==",
	  NULL },
	{ "-----BEGIN PUBLIC KEY-----\n"
	  "MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAuPs8tRmOzZ05kUW1hd2Z\n"
	  "thK9UcPBiKm++DtbQ6g46QDi4f7l7a14Zj0yPLO76FwhcDn4xIN973EvQPXhlWV5\n"
	  "P/jkKzUH/ds6wZp/rHxJUZWTxovw6C80y3E21Jnyqx/ANHHiU7wRq/WeR3vNYPwz\n"
	  "8AA/9SSWIHnIq6Brm4ArUKFd2uCuLoqW36dGN+uNvP+/up0oeJKf+2/H/R5+1mlx\n"
	  "ixRtZLIP6+o/39j68PUFLm72g5oyWCqRPcAL25cxi4sC9BQNJj2jOirgKxM75+jp\n"
	  "RsxZZmUN1GC4ygW1Gs0oU3tDm5WCSa+B6SbwzBAIoKk/WPyIQTjaYxGK/j04m1OW\n"
	  "sQIDAQAB\n"
	  "-----END PUBLIC KEY-----\n",
	  "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQC4+zy1GY7NnTmRRbWF3Zm2Er1Rw8GIqb74O1tDqDjpAOLh/uXtrXhmPTI8s7voXCFwOfjEg33vcS9A9eGVZXk/+OQrNQf92zrBmn+sfElRlZPGi/DoLzTLcTbUmfKrH8A0ceJTvBGr9Z5He81g/DPwAD/1JJYgeciroGubgCtQoV3a4K4uipbfp0Y36428/7+6nSh4kp/7b8f9Hn7WaXGLFG1ksg/r6j/f2Prw9QUubvaDmjJYKpE9wAvblzGLiwL0FA0mPaM6KuArEzvn6OlGzFlmZQ3UYLjKBbUazShTe0OblYJJr4HpJvDMEAigqT9Y/IhBONpjEYr+PTibU5ax",
	  NULL },
};
#define NKEYS (sizeof keys / sizeof keys[0])

static void test_keys(void)
{
	for (size_t i = 0; i < NKEYS; i++) {
		struct pubkey a, b;
		struct wbuf w;
		char *comment = NULL, fp[FINGERPRINT_MAX];
		int rc;

		memset(&a, 0, sizeof a);
		memset(&b, 0, sizeof b);
		rc = pubkey_from_pem(&a, keys[i].pem, strlen(keys[i].pem));
		ok(rc == ENF_OK, "PEM key %zu parses", i);
		if (rc != ENF_OK)
			continue;
		wbuf_init(&w, 0);
		ok(pubkey_to_line(&a, NULL, &w) == ENF_OK && strcmp((char *)w.p, keys[i].line) == 0,
		   "PEM key %zu gives the line ssh-keygen -i -m PKCS8 gives", i);
		wbuf_reset(&w);
		ok(pubkey_to_pem(&a, &w) == ENF_OK && w.len == strlen(keys[i].pem) &&
		   memcmp(w.p, keys[i].pem, w.len) == 0, "key %zu writes back the PEM OpenSSL wrote", i);
		wbuf_free(&w);
		if (keys[i].fp) {
			pubkey_fingerprint(&a, fp);
			ok(strcmp(fp, keys[i].fp) == 0, "fingerprint %zu as ssh-keygen -l prints it", i);
		}
		rc = pubkey_from_line(&b, keys[i].line, &comment);
		ok(rc == ENF_OK && pubkey_equal(&a, &b) && comment == NULL,
		   "line key %zu parses to the same key", i);
		if (rc == ENF_OK)
			pubkey_free(&b);
		pubkey_free(&a);
	}
}

/* A PEM of hand-made DER, for the strictness cases. */
static int pem_rc(const unsigned char *der, size_t n)
{
	struct wbuf w;
	struct pubkey k;
	int rc;

	wbuf_init(&w, 0);
	armor_encode(&w, "PUBLIC KEY", der, n, 64);
	rc = pubkey_from_pem(&k, (char *)w.p, w.len);
	if (rc == ENF_OK)
		pubkey_free(&k);
	wbuf_free(&w);
	return rc;
}

static size_t der_of(size_t i, unsigned char *der, size_t max)
{
	struct wbuf w;
	size_t used, n = 0;

	wbuf_init(&w, 0);
	if (armor_decode(&w, "PUBLIC KEY", keys[i].pem, strlen(keys[i].pem), &used) == ENF_OK &&
	    w.len <= max) {
		memcpy(der, w.p, w.len);
		n = w.len;
	}
	wbuf_free(&w);
	return n;
}

static void test_der_strict(void)
{
	unsigned char d[600], e[600];
	size_t n;

	n = der_of(0, d, sizeof d);
	ok(n == 44 && pem_rc(d, n) == ENF_OK, "Ed25519 SPKI is 44 bytes and parses");
	/* Non-minimal long-form length on the outer SEQUENCE. */
	e[0] = 0x30, e[1] = 0x81, e[2] = 0x2a;
	memcpy(e + 3, d + 2, n - 2);
	ok(pem_rc(e, n + 1) == ENF_NO, "DER: a non-minimal length is refused");
	e[1] = 0x80;
	memcpy(e + 2, d + 2, n - 2);
	e[n] = 0, e[n + 1] = 0;
	ok(pem_rc(e, n + 2) == ENF_NO, "DER: an indefinite length is refused");
	memcpy(e, d, n);
	e[n] = 0;
	ok(pem_rc(e, n + 1) == ENF_NO, "DER: a trailing byte is refused");
	memcpy(e, d, n);
	e[11] = 1;
	ok(pem_rc(e, n) == ENF_NO, "DER: a BIT STRING with unused bits is refused");
	memcpy(e, d, n);
	e[1] = 0x29, e[10] = 0x20;
	ok(pem_rc(e, n - 1) == ENF_NO, "Ed25519: a 31-byte key is refused");
	{	/* Ed25519 with NULL parameters: RFC 8410 says absent. */
		static const unsigned char pfx[] = { 0x30, 0x2c, 0x30, 0x07, 0x06, 0x03, 0x2b, 0x65,
						     0x70, 0x05, 0x00, 0x03, 0x21, 0x00 };
		memcpy(e, pfx, sizeof pfx);
		memcpy(e + sizeof pfx, d + 12, 32);
		ok(pem_rc(e, sizeof pfx + 32) == ENF_NO, "Ed25519: parameters are refused");
	}
	n = der_of(1, d, sizeof d);
	memcpy(e, d, n);
	ok(n == 91 && e[26] == 0x04, "P-256 SPKI has its uncompressed point at 26");
	e[26] = 0x02;
	ok(pem_rc(e, n) == ENF_NO, "EC: a point not in uncompressed form is refused");
	memcpy(e, d, n);
	e[60] ^= 1;
	ok(pem_rc(e, n) == ENF_NO, "EC: a point off the curve is refused");
	n = der_of(2, d, sizeof d);
	memcpy(e, d, n);
	ok(e[19] == 0x22, "P-384 SPKI names secp384r1");
	e[19] = 0x0a;	/* secp256k1 */
	ok(pem_rc(e, n) == ENF_NO, "EC: another curve is refused");
	n = der_of(3, d, sizeof d);
	memcpy(e, d, n);
	ok(e[17] == 0x05 && e[18] == 0x00, "RSA SPKI has NULL parameters");
	e[17] = 0x04;
	ok(pem_rc(e, n) == ENF_NO, "RSA: parameters other than NULL are refused");
	memcpy(e, d, n);
	ok(e[28] == 0x02 && e[32] == 0x00 && (e[33] & 0x80), "RSA modulus starts 02 82 01 01 00");
	e[33] &= 0x7f;	/* the leading 00 is now needless */
	ok(pem_rc(e, n) == ENF_NO, "RSA: a non-minimal INTEGER is refused");
}

static int text_rc(const char *t)
{
	struct pubkey k;
	int rc = pubkey_from_text(&k, t, strlen(t));

	if (rc == ENF_OK)
		pubkey_free(&k);
	return rc;
}

static void test_lines(void)
{
	char buf[600];
	char *comment = NULL;
	struct pubkey k;
	const char *ed = keys[0].line + strlen("ssh-ed25519 ");

	snprintf(buf, sizeof buf, "%s  alice@example  laptop ", keys[0].line);
	ok(pubkey_from_line(&k, buf, &comment) == ENF_OK && comment &&
	   strcmp(comment, "alice@example  laptop") == 0, "a line's comment is kept");
	if (comment) {
		pubkey_free(&k);
		free(comment);
	}
	snprintf(buf, sizeof buf, "ssh-rsa %s", ed);
	ok(text_rc(buf) == ENF_NO, "a line whose type is not its blob's is refused");
	snprintf(buf, sizeof buf, "ssh-ed25519 %s=", ed);
	ok(text_rc(buf) == ENF_NO, "a line with bad base64 is refused");
	ok(text_rc("ssh-ed25519") == ENF_NO && text_rc("") == ENF_NO, "an empty key is refused");
	snprintf(buf, sizeof buf, "%s\n", keys[0].line);
	ok(text_rc(buf) == ENF_OK, "a .pub file (line and newline) is read");
	snprintf(buf, sizeof buf, "%s\n%s\n", keys[0].line, keys[1].line);
	ok(text_rc(buf) == ENF_NO, "two keys in one file are refused");
	ok(text_rc(keys[3].pem) == ENF_OK, "pubkey_from_text reads PEM");
	snprintf(buf, sizeof buf, "%sx", keys[0].pem);
	ok(text_rc(buf) == ENF_NO, "text after the PEM block is refused");
}

static void test_digest_arg(void)
{
	unsigned char d[HASH_MAX];
	int alg;
	char ok256[80] = "sha256:", up[80];

	for (int i = 0; i < 64; i++)
		ok256[7 + i] = "0123456789abcdef"[i % 16];
	ok256[71] = '\0';
	ok(digest_arg_parse(ok256, &alg, d) == ENF_OK && alg == HASH_SHA256 && d[0] == 0x01,
	   "--digest sha256:HEX parses");
	memcpy(up, ok256, sizeof up);
	up[8] = 'A';
	ok(digest_arg_parse(up, &alg, d) == ENF_USAGE, "--digest refuses uppercase hex");
	ok(digest_arg_parse("sha256:0123", &alg, d) == ENF_USAGE, "--digest refuses a short digest");
	ok(digest_arg_parse("md5:00", &alg, d) == ENF_USAGE, "--digest refuses an unknown algorithm");
	ok(digest_arg_parse("sha256", &alg, d) == ENF_USAGE, "--digest refuses a missing colon");
}

static void test_json_string(void)
{
	struct wbuf w;
	const char in[] = "a\"b\\c\n\x01\xc3\xa9\xff";

	wbuf_init(&w, 0);
	ok(json_string(&w, in, sizeof in - 1) == 0 && wbuf_cstr_terminate(&w) == 0 &&
	   strcmp((char *)w.p, "\"a\\\"b\\\\c\\u000a\\u0001\xc3\xa9\\ufffd\"") == 0,
	   "json_string escapes quotes, backslashes and controls, keeps UTF-8, replaces bad bytes: %s",
	   (char *)w.p);
	wbuf_free(&w);
}

int main(void)
{
	if (crypto_init() != ENF_OK) {
		printf("not ok 1 - crypto_init\n1..1\n");
		return 1;
	}
	test_base64();
	test_hex();
	test_armor();
	test_keys();
	test_der_strict();
	test_lines();
	test_digest_arg();
	test_json_string();
	return done_testing();
}
