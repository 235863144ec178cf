/* DER, the strict subset enf reads and writes (X.690 section 10): one tag
 * byte, a definite length in its shortest form (at most three length
 * bytes), INTEGERs positive and minimal, BIT STRINGs with no unused bits.
 * Every value has exactly one accepted encoding: indefinite or padded
 * lengths, leading zero bytes, negative numbers and, where a caller checks
 * rbuf_done, trailing bytes are refused.  SubjectPublicKeyInfo (keyfmt.c)
 * and ECDSA-Sig-Value (pubkey.c, privkey.c) are built on it. */
#ifndef ENF_DER_H
#define ENF_DER_H

#include <stddef.h>
#include <stdint.h>
#include "buf.h"

enum der_tag { DER_INTEGER = 0x02, DER_BITSTRING = 0x03, DER_NULL = 0x05, DER_OID = 0x06,
	       DER_SEQUENCE = 0x30 };

/* Readers return 0 or -1; on failure nothing is consumed. */
/* One TLV of the given tag; *in covers its contents. */
int der_get(struct rbuf *r, uint8_t tag, struct rbuf *in);
/* The OBJECT IDENTIFIER whose contents are oid[0..n), and only that one, so
 * that callers can try several. */
int der_expect_oid(struct rbuf *r, const unsigned char *oid, size_t n);
/* A positive INTEGER; *p and *n receive its magnitude (no leading zero). */
int der_uint(struct rbuf *r, const unsigned char **p, size_t *n);
/* A BIT STRING with no unused bits; *in covers the bits. */
int der_bits(struct rbuf *r, struct rbuf *in);

/* Writers return 0 or -1 (contents of 2^24 bytes or more are refused). */
int der_put(struct wbuf *w, uint8_t tag, const void *p, size_t n);
/* A non-negative INTEGER from an unsigned big-endian magnitude (leading
 * zeros allowed; n == 0 is zero). */
int der_put_uint(struct wbuf *w, const unsigned char *p, size_t n);
int der_put_bits(struct wbuf *w, const void *p, size_t n);

/* ECDSA-Sig-Value ::= SEQUENCE { r INTEGER, s INTEGER } (RFC 3279 2.2.3),
 * the whole of sig: *r and *s point into it, as magnitudes. */
int der_ecdsa_sig_parse(const unsigned char *sig, size_t n, const unsigned char **r, size_t *rlen,
			const unsigned char **s, size_t *slen);
int der_ecdsa_sig_put(struct wbuf *w, const unsigned char *r, size_t rlen, const unsigned char *s,
		      size_t slen);

#endif
