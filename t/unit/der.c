/* der.c: the strict DER codec under SubjectPublicKeyInfo and ECDSA
 * signatures.  Every non-canonical form is refused and consumes nothing;
 * what the writers produce, the readers take back. */
#include <stdlib.h>
#include <string.h>
#include "tap.h"
#include "der.h"

/* der_get over hex: the contents' length, or -1 when refused (then with
 * nothing consumed).  *left: bytes after the TLV. */
static long get_hex(const char *hex, uint8_t tag, size_t *left)
{
	unsigned char b[600];
	size_t n = unhex(b, hex);
	struct rbuf r, in;

	rbuf_init(&r, b, n);
	if (der_get(&r, tag, &in) < 0)
		return r.off == 0 ? -1 : -2;
	if (left)
		*left = rbuf_left(&r);
	return (long)in.len;
}

/* der_uint over hex: the magnitude as hex into out, 0; -1 refused (and
 * nothing consumed), -2 refused but consumed. */
static int uint_hex(const char *hex, char *out)
{
	unsigned char b[64];
	size_t n = unhex(b, hex), len;
	const unsigned char *p;
	struct rbuf r;

	rbuf_init(&r, b, n);
	if (der_uint(&r, &p, &len) < 0)
		return r.off == 0 ? -1 : -2;
	for (size_t i = 0; i < len; i++)
		sprintf(out + 2 * i, "%02x", p[i]);
	out[2 * len] = '\0';
	return 0;
}

static int sig_parses(const char *hex)
{
	unsigned char b[256];
	size_t n = unhex(b, hex), rlen, slen;
	const unsigned char *r, *s;

	return der_ecdsa_sig_parse(b, n, &r, &rlen, &s, &slen) == 0;
}

static void test_lengths(void)
{
	char big[2 * 300 + 8];
	size_t left = 99;

	ok(get_hex("0403616263", 0x04, &left) == 3 && left == 0, "short form length");
	ok(get_hex("040361626364", 0x04, &left) == 3 && left == 1, "trailing bytes are left to the caller");
	ok(get_hex("0403616263", 0x30, NULL) == -1, "another tag is refused");
	ok(get_hex("04046162", 0x04, NULL) == -1, "contents shorter than the length are refused");
	ok(get_hex("04", 0x04, NULL) == -1, "a missing length is refused");
	ok(get_hex("0480616263", 0x04, NULL) == -1, "the indefinite length (BER) is refused");
	ok(get_hex("048103616263", 0x04, NULL) == -1, "a long form for a short length is refused");
	ok(get_hex("04820003616263", 0x04, NULL) == -1, "a long form padded with a zero byte is refused");
	ok(get_hex("0484000000" "03616263", 0x04, NULL) == -1, "more than three length bytes are refused");
	memcpy(big, "048180", 6);
	for (int i = 0; i < 128; i++)
		memcpy(big + 6 + 2 * i, "aa", 3);
	ok(get_hex(big, 0x04, &left) == 128 && left == 0, "0x81 0x80: the shortest long form is taken");
	big[6 + 2 * 127] = '\0';
	ok(get_hex(big, 0x04, NULL) == -1, "a long form longer than the input is refused");
}

static void test_integers(void)
{
	char m[64];

	ok(uint_hex("020101", m) == 0 && strcmp(m, "01") == 0, "INTEGER 1");
	ok(uint_hex("0202007f", m) == -1, "a leading zero before a byte below 0x80 is refused (not minimal)");
	ok(uint_hex("020300ff01", m) == 0 && strcmp(m, "ff01") == 0, "a leading zero before 0x80 or more is required and stripped");
	ok(uint_hex("02030000ff", m) == -1, "two leading zeros are refused");
	ok(uint_hex("0202ff01", m) == -1, "a negative INTEGER is refused");
	ok(uint_hex("020180", m) == -1, "0x80 alone is negative: refused");
	ok(uint_hex("020100", m) == -1, "zero is not positive: refused");
	ok(uint_hex("0200", m) == -1, "an empty INTEGER is refused");
	ok(uint_hex("0281020101", m) == -1, "an INTEGER with a padded length is refused");
	ok(uint_hex("030101", m) == -1, "a BIT STRING is not an INTEGER");
}

static void test_oid_bits(void)
{
	static const unsigned char oid[] = { 0x2b, 0x65, 0x70 };
	unsigned char b[16];
	struct rbuf r, in;
	size_t n;

	n = unhex(b, "06032b6570");
	rbuf_init(&r, b, n);
	ok(der_expect_oid(&r, oid, 3) == 0 && rbuf_done(&r), "the expected OID is consumed");
	n = unhex(b, "06032b6571");
	rbuf_init(&r, b, n);
	ok(der_expect_oid(&r, oid, 3) < 0 && r.off == 0, "another OID is refused, nothing consumed");
	n = unhex(b, "06022b65");
	rbuf_init(&r, b, n);
	ok(der_expect_oid(&r, oid, 3) < 0 && r.off == 0, "a prefix of the OID is refused");
	n = unhex(b, "030300abcd");
	rbuf_init(&r, b, n);
	ok(der_bits(&r, &in) == 0 && in.len == 2 && in.p[0] == 0xab && rbuf_done(&r), "BIT STRING, no unused bits");
	n = unhex(b, "030301abcd");
	rbuf_init(&r, b, n);
	ok(der_bits(&r, &in) < 0 && r.off == 0, "a BIT STRING with unused bits is refused, nothing consumed");
	n = unhex(b, "0300");
	rbuf_init(&r, b, n);
	ok(der_bits(&r, &in) < 0, "a BIT STRING without its unused-bits byte is refused");
}

/* der_put with n bytes of contents reads back as one TLV of n bytes. */
static int put_reads_back(size_t n, size_t header)
{
	unsigned char *p = calloc(1, n ? n : 1);
	struct wbuf w;
	struct rbuf r, in;
	int good;

	wbuf_init(&w, 0);
	good = p && der_put(&w, 0x04, p, n) == 0 && w.len == header + n;
	rbuf_init(&r, w.p, w.len);
	good = good && der_get(&r, 0x04, &in) == 0 && in.len == n && rbuf_done(&r);
	wbuf_free(&w);
	free(p);
	return good;
}

static void test_writers(void)
{
	static const unsigned char z[] = { 0, 0, 0x80, 1 }, one[] = { 0, 0, 1 };
	struct wbuf w;
	unsigned char want[16];
	size_t n;

	ok(put_reads_back(0, 2) && put_reads_back(0x7f, 2), "lengths up to 0x7f: short form");
	ok(put_reads_back(0x80, 3) && put_reads_back(0xff, 3), "0x80 to 0xff: 0x81 and one byte");
	ok(put_reads_back(0x100, 4) && put_reads_back(0xffff, 4), "to 0xffff: 0x82 and two bytes");
	ok(put_reads_back(0x10000, 5), "0x10000: 0x83 and three bytes");
	wbuf_init(&w, 0);
	ok(der_put(&w, 0x04, NULL, 0x1000000) < 0 && w.len == 0, "2^24 bytes of contents are refused");
	ok(der_put_uint(&w, z, sizeof z) == 0, "der_put_uint");
	n = unhex(want, "0203008001");
	ok(w.len == n && memcmp(w.p, want, n) == 0, "leading zeros go, a zero byte comes before 0x80");
	wbuf_reset(&w);
	n = unhex(want, "020101");
	ok(der_put_uint(&w, one, sizeof one) == 0 && w.len == n && memcmp(w.p, want, n) == 0,
	   "1 as one byte");
	wbuf_reset(&w);
	n = unhex(want, "020100");
	ok(der_put_uint(&w, NULL, 0) == 0 && w.len == n && memcmp(w.p, want, n) == 0, "no bytes: zero");
	wbuf_reset(&w);
	n = unhex(want, "03030001ff");
	ok(der_put_bits(&w, "\x01\xff", 2) == 0 && w.len == n && memcmp(w.p, want, n) == 0,
	   "BIT STRING with no unused bits");
	wbuf_free(&w);
}

static void test_ecdsa_sig(void)
{
	static const unsigned char r[] = { 0x00, 0x81, 0x02 }, s[] = { 0x7f };
	unsigned char want[16];
	const unsigned char *pr, *ps;
	size_t rlen, slen, n;
	struct wbuf w;

	wbuf_init(&w, 0);
	n = unhex(want, "300802030081020201" "7f");
	ok(der_ecdsa_sig_put(&w, r, sizeof r, s, sizeof s) == 0 && w.len == n &&
	   memcmp(w.p, want, n) == 0, "ECDSA-Sig-Value written");
	ok(der_ecdsa_sig_parse(w.p, w.len, &pr, &rlen, &ps, &slen) == 0 && rlen == 2 &&
	   pr[0] == 0x81 && pr[1] == 0x02 && slen == 1 && ps[0] == 0x7f, "and read back as magnitudes");
	wbuf_free(&w);
	ok(sig_parses("3006020101020101"), "r = s = 1");
	ok(!sig_parses("300602010102010100"), "a byte after the SEQUENCE is refused");
	ok(!sig_parses("3009020101020101050000"), "a third element in the SEQUENCE is refused");
	ok(!sig_parses("3007020101020101"), "a SEQUENCE longer than its contents is refused");
	ok(!sig_parses("30810602010102010100"), "a SEQUENCE with a padded length is refused");
	ok(!sig_parses("3003020101"), "s missing is refused");
	ok(!sig_parses("300702020001020101"), "a non-minimal r is refused");
	ok(!sig_parses("30060201ff020101"), "a negative r is refused");
	ok(!sig_parses("3006020100020101"), "r = 0 is refused");
	ok(!sig_parses("3106020101020101"), "a SET is not a SEQUENCE");
	ok(!sig_parses(""), "no bytes are refused");
}

int main(void)
{
	test_lengths();
	test_integers();
	test_oid_bits();
	test_writers();
	test_ecdsa_sig();
	return done_testing();
}
