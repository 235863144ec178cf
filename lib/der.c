/* Strict DER (see der.h): the one codec for SubjectPublicKeyInfo and
 * ECDSA signatures, so that both refuse the same non-canonical forms. */
#include <string.h>
#include "der.h"

int der_get(struct rbuf *r, uint8_t tag, struct rbuf *in)
{
	uint8_t t, l0, b;
	size_t len = 0, save = r->off;
	const unsigned char *p;

	if (rbuf_u8(r, &t) < 0 || t != tag || rbuf_u8(r, &l0) < 0)
		goto bad;
	if (l0 < 0x80)
		len = l0;
	else {
		int nb = l0 & 0x7f;

		/* 0x80 is BER's indefinite length; a leading zero byte or a
		 * long form for a short length is padding. */
		if (nb < 1 || nb > 3)
			goto bad;
		for (int i = 0; i < nb; i++) {
			if (rbuf_u8(r, &b) < 0 || (i == 0 && b == 0))
				goto bad;
			len = len << 8 | b;
		}
		if (len < 0x80)
			goto bad;
	}
	if (rbuf_bytes(r, len, &p) < 0)
		goto bad;
	rbuf_init(in, p, len);
	return 0;
bad:
	r->off = save;
	return -1;
}

int der_expect_oid(struct rbuf *r, const unsigned char *oid, size_t n)
{
	struct rbuf c;
	size_t save = r->off;

	if (der_get(r, DER_OID, &c) == 0 && c.len == n && memcmp(c.p, oid, n) == 0)
		return 0;
	r->off = save;
	return -1;
}

int der_uint(struct rbuf *r, const unsigned char **p, size_t *n)
{
	struct rbuf c;
	size_t save = r->off;

	if (der_get(r, DER_INTEGER, &c) < 0)
		return -1;
	/* Empty, negative, or a zero byte the next byte did not need. */
	if (c.len == 0 || (c.p[0] & 0x80) || (c.len > 1 && c.p[0] == 0 && !(c.p[1] & 0x80)))
		goto bad;
	if (c.p[0] == 0)
		c.off = 1;
	if (rbuf_left(&c) == 0)
		goto bad;	/* zero is not positive */
	*n = rbuf_left(&c);
	*p = c.p + c.off;
	return 0;
bad:
	r->off = save;
	return -1;
}

int der_bits(struct rbuf *r, struct rbuf *in)
{
	struct rbuf c;
	uint8_t unused;
	size_t save = r->off;

	if (der_get(r, DER_BITSTRING, &c) < 0 || rbuf_u8(&c, &unused) < 0 || unused != 0) {
		r->off = save;
		return -1;
	}
	rbuf_init(in, c.p + c.off, rbuf_left(&c));
	return 0;
}

int der_put(struct wbuf *w, uint8_t tag, const void *p, size_t n)
{
	int nb = n < 0x80 ? 0 : n < 0x100 ? 1 : n < 0x10000 ? 2 : n < 0x1000000 ? 3 : -1;

	if (nb < 0 || wbuf_u8(w, tag) < 0)
		return -1;
	if (nb == 0)
		return wbuf_u8(w, (uint8_t)n) < 0 ? -1 : wbuf_put(w, p, n);
	if (wbuf_u8(w, (uint8_t)(0x80 | nb)) < 0)
		return -1;
	for (int i = nb - 1; i >= 0; i--)
		if (wbuf_u8(w, (uint8_t)(n >> (8 * i))) < 0)
			return -1;
	return wbuf_put(w, p, n);
}

int der_put_uint(struct wbuf *w, const unsigned char *p, size_t n)
{
	struct wbuf t;
	int rc;

	while (n > 1 && p[0] == 0) {
		p++;
		n--;
	}
	wbuf_init(&t, 0);
	if (n == 0 || (p[0] & 0x80))
		wbuf_u8(&t, 0);
	wbuf_put(&t, p, n);
	rc = t.failed ? -1 : der_put(w, DER_INTEGER, t.p, t.len);
	wbuf_free(&t);
	return rc;
}

int der_put_bits(struct wbuf *w, const void *p, size_t n)
{
	struct wbuf t;
	int rc;

	wbuf_init(&t, 0);
	wbuf_u8(&t, 0);
	wbuf_put(&t, p, n);
	rc = t.failed ? -1 : der_put(w, DER_BITSTRING, t.p, t.len);
	wbuf_free(&t);
	return rc;
}

int der_ecdsa_sig_parse(const unsigned char *sig, size_t n, const unsigned char **r, size_t *rlen,
			const unsigned char **s, size_t *slen)
{
	struct rbuf in, seq;

	rbuf_init(&in, sig, n);
	if (der_get(&in, DER_SEQUENCE, &seq) < 0 || !rbuf_done(&in) ||
	    der_uint(&seq, r, rlen) < 0 || der_uint(&seq, s, slen) < 0 || !rbuf_done(&seq))
		return -1;
	return 0;
}

int der_ecdsa_sig_put(struct wbuf *w, const unsigned char *r, size_t rlen, const unsigned char *s,
		      size_t slen)
{
	struct wbuf seq;
	int rc;

	wbuf_init(&seq, 0);
	rc = der_put_uint(&seq, r, rlen) < 0 || der_put_uint(&seq, s, slen) < 0 ? -1 :
		der_put(w, DER_SEQUENCE, seq.p, seq.len);
	wbuf_free(&seq);
	return rc;
}
