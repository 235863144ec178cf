/* Public key text formats.  The SSH wire blob is the canonical form (pubkey.h);
 * every format here is a strict translation to or from it, and every parsed
 * key goes through pubkey_from_blob so that one place validates keys. */
#include <stdlib.h>
#include <string.h>
#include "crypto.h"
#include "der.h"
#include "encode.h"
#include "enf.h"
#include "keyfmt.h"

/* ---- OpenSSH lines and fingerprints ---------------------------------- */

int pubkey_to_line(const struct pubkey *k, const char *comment, struct wbuf *out)
{
	if (wbuf_printf(out, "%s ", pubkey_ssh_type(k)) < 0 ||
	    base64_encode(out, k->blob, k->bloblen, 1) != ENF_OK)
		return enf_err(ENF_FAIL, "out of memory");
	if (comment && *comment && wbuf_printf(out, " %s", comment) < 0)
		return enf_err(ENF_FAIL, "out of memory");
	if (wbuf_cstr_terminate(out) < 0)
		return enf_err(ENF_FAIL, "out of memory");
	return ENF_OK;
}

static int is_blank(char c) { return c == ' ' || c == '\t'; }

void keyline_skip_blanks(struct rbuf *r)
{
	const unsigned char *p;

	while (rbuf_peek(r, " ") || rbuf_peek(r, "\t"))
		rbuf_bytes(r, 1, &p);
}

/* The SSH type name a key of that blob must carry. */
static int blob_type_is(const unsigned char *blob, size_t n, const char *type, size_t tlen)
{
	struct rbuf r;
	const unsigned char *p;
	size_t len;

	rbuf_init(&r, blob, n);
	return rbuf_string(&r, &p, &len) == 0 && len == tlen && memcmp(p, type, tlen) == 0;
}

int pubkey_read_key(struct rbuf *r, const char **type, size_t *tlen, struct wbuf *blob)
{
	struct rbuf start = *r;
	const char *b64;
	size_t blen;

	/* TYPE starts the text: no blank before it. */
	if (rbuf_peek(r, " ") || rbuf_peek(r, "\t") ||
	    rbuf_word(r, KEYLINE_BLANKS, type, tlen) < 0 ||
	    rbuf_word(r, KEYLINE_BLANKS, &b64, &blen) < 0 ||
	    base64_decode(blob, b64, blen, 1) != ENF_OK ||
	    !blob_type_is(blob->p, blob->len, *type, *tlen)) {
		*r = start;
		return ENF_NO;
	}
	keyline_skip_blanks(r);
	return ENF_OK;
}

int pubkey_from_line(struct pubkey *k, const char *line, char **comment)
{
	struct wbuf blob;
	struct rbuf r;
	const char *type, *rest;
	size_t tlen, n = strlen(line);
	int rc;

	if (comment)
		*comment = NULL;
	if (memchr(line, '\n', n))
		return enf_err(ENF_NO, "public key: more than one line");
	wbuf_init(&blob, 0);
	rbuf_init(&r, line, n);
	rc = pubkey_read_key(&r, &type, &tlen, &blob);
	if (rc != ENF_OK) {
		wbuf_free(&blob);
		return enf_err(ENF_NO, "public key: not an OpenSSH public key line");
	}
	rc = pubkey_from_blob(k, blob.p, blob.len);
	wbuf_free(&blob);
	if (rc != ENF_OK)
		return enf_err(ENF_NO, "public key: malformed or unsupported key");
	rbuf_rest(&r, &rest, &n);
	while (n > 0 && is_blank(rest[n - 1]))
		n--;
	if (comment && n && !(*comment = strndup(rest, n))) {
		pubkey_free(k);
		return enf_err(ENF_FAIL, "out of memory");
	}
	return ENF_OK;
}

void pubkey_fingerprint(const struct pubkey *k, char out[FINGERPRINT_MAX])
{
	unsigned char h[32];
	struct wbuf w;

	strcpy(out, "SHA256:?");
	wbuf_init(&w, 0);
	if (hash_buf(HASH_SHA256, k->blob, k->bloblen, h) == ENF_OK &&
	    base64_encode(&w, h, sizeof h, 0) == ENF_OK && w.len + 8 <= FINGERPRINT_MAX) {
		memcpy(out + 7, w.p, w.len);
		out[7 + w.len] = '\0';
	}
	wbuf_free(&w);
}

/* ---- SubjectPublicKeyInfo -------------------------------------------- */

static const unsigned char OID_ED25519[] = { 0x2b, 0x65, 0x70 };
static const unsigned char OID_EC_PUBLIC[] = { 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01 };
static const unsigned char OID_P256[] = { 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07 };
static const unsigned char OID_P384[] = { 0x2b, 0x81, 0x04, 0x00, 0x22 };
static const unsigned char OID_RSA[] = { 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01 };

static int spki_ed25519(struct rbuf *bits, struct wbuf *blob)
{
	const unsigned char *p;

	if (rbuf_left(bits) != 32 || rbuf_bytes(bits, 32, &p) < 0)
		return -1;
	wbuf_cstring(blob, "ssh-ed25519");
	return wbuf_string(blob, p, 32);
}

static int spki_ec(struct rbuf *alg, struct rbuf *bits, struct wbuf *blob)
{
	const char *curve;
	size_t plen;
	const unsigned char *p;

	if (der_expect_oid(alg, OID_P256, sizeof OID_P256) == 0) {
		curve = "nistp256";
		plen = 65;
	} else if (der_expect_oid(alg, OID_P384, sizeof OID_P384) == 0) {
		curve = "nistp384";
		plen = 97;
	} else
		return -1;
	/* Uncompressed points only, as OpenSSH writes and reads them. */
	if (!rbuf_done(alg) || rbuf_left(bits) != plen || bits->p[0] != 0x04 ||
	    rbuf_bytes(bits, plen, &p) < 0)
		return -1;
	if (wbuf_u32(blob, 19) < 0 || wbuf_put(blob, "ecdsa-sha2-", 11) < 0 ||
	    wbuf_put(blob, curve, 8) < 0 || wbuf_cstring(blob, curve) < 0)
		return -1;
	return wbuf_string(blob, p, plen);
}

static int spki_rsa(struct rbuf *alg, struct rbuf *bits, struct wbuf *blob)
{
	struct rbuf null, seq;
	const unsigned char *n, *e;
	size_t nlen, elen;

	if (der_get(alg, DER_NULL, &null) < 0 || null.len != 0 || !rbuf_done(alg))
		return -1;
	if (der_get(bits, DER_SEQUENCE, &seq) < 0 || !rbuf_done(bits) ||
	    der_uint(&seq, &n, &nlen) < 0 || der_uint(&seq, &e, &elen) < 0 || !rbuf_done(&seq))
		return -1;
	wbuf_cstring(blob, "ssh-rsa");
	wbuf_mpint(blob, e, elen);
	return wbuf_mpint(blob, n, nlen);
}

/* SubjectPublicKeyInfo DER -> SSH wire blob. */
static int spki_to_blob(const unsigned char *der, size_t n, struct wbuf *blob)
{
	struct rbuf r, spki, alg, bits;
	int rc;

	rbuf_init(&r, der, n);
	if (der_get(&r, DER_SEQUENCE, &spki) < 0 || !rbuf_done(&r) ||
	    der_get(&spki, DER_SEQUENCE, &alg) < 0 || der_bits(&spki, &bits) < 0 ||
	    !rbuf_done(&spki))
		return -1;
	if (der_expect_oid(&alg, OID_ED25519, sizeof OID_ED25519) == 0)
		rc = rbuf_done(&alg) ? spki_ed25519(&bits, blob) : -1;	/* RFC 8410: absent */
	else if (der_expect_oid(&alg, OID_EC_PUBLIC, sizeof OID_EC_PUBLIC) == 0)
		rc = spki_ec(&alg, &bits, blob);
	else if (der_expect_oid(&alg, OID_RSA, sizeof OID_RSA) == 0)
		rc = spki_rsa(&alg, &bits, blob);
	else
		return -1;
	return rc < 0 || blob->failed ? -1 : 0;
}

/* AlgorithmIdentifier and subjectPublicKey bits for key k. */
static int blob_to_spki_parts(const struct pubkey *k, struct wbuf *alg, struct wbuf *bits)
{
	struct rbuf r;
	const unsigned char *p, *e, *n;
	size_t len, elen, nlen;

	rbuf_init(&r, k->blob, k->bloblen);
	if (rbuf_string(&r, &p, &len) < 0)
		return -1;
	switch (k->type) {
	case KT_ED25519:
		if (rbuf_fixed_string(&r, 32, &p) < 0)
			return -1;
		der_put(alg, DER_OID, OID_ED25519, sizeof OID_ED25519);
		return wbuf_put(bits, p, 32);
	case KT_P256:
	case KT_P384:
		if (rbuf_string(&r, &p, &len) < 0 || rbuf_string(&r, &p, &len) < 0)
			return -1;
		der_put(alg, DER_OID, OID_EC_PUBLIC, sizeof OID_EC_PUBLIC);
		if (k->type == KT_P256)
			der_put(alg, DER_OID, OID_P256, sizeof OID_P256);
		else
			der_put(alg, DER_OID, OID_P384, sizeof OID_P384);
		return wbuf_put(bits, p, len);
	case KT_RSA: {
		struct wbuf seq;
		int rc;

		if (rbuf_mpint(&r, &e, &elen) < 0 || rbuf_mpint(&r, &n, &nlen) < 0)
			return -1;
		der_put(alg, DER_OID, OID_RSA, sizeof OID_RSA);
		der_put(alg, DER_NULL, NULL, 0);
		wbuf_init(&seq, 0);
		der_put_uint(&seq, n, nlen);
		der_put_uint(&seq, e, elen);
		rc = seq.failed ? -1 : der_put(bits, DER_SEQUENCE, seq.p, seq.len);
		wbuf_free(&seq);
		return rc;
	}
	}
	return -1;
}

int pubkey_to_pem(const struct pubkey *k, struct wbuf *out)
{
	struct wbuf alg, bits, body, spki;
	int rc = ENF_FAIL;

	wbuf_init(&alg, 0);
	wbuf_init(&bits, 0);
	wbuf_init(&body, 0);
	wbuf_init(&spki, 0);
	if (blob_to_spki_parts(k, &alg, &bits) < 0 || alg.failed || bits.failed)
		goto out;
	if (der_put(&body, DER_SEQUENCE, alg.p, alg.len) < 0 ||
	    der_put_bits(&body, bits.p, bits.len) < 0 ||
	    der_put(&spki, DER_SEQUENCE, body.p, body.len) < 0)
		goto out;
	rc = armor_encode(out, "PUBLIC KEY", spki.p, spki.len, 64);
out:
	wbuf_free(&alg);
	wbuf_free(&bits);
	wbuf_free(&body);
	wbuf_free(&spki);
	return rc == ENF_OK ? ENF_OK : enf_err(ENF_FAIL, "cannot encode the public key as PEM");
}

int pubkey_from_pem(struct pubkey *k, const char *text, size_t n)
{
	struct wbuf der, blob;
	size_t used;
	int rc = ENF_NO;

	wbuf_init(&der, 0);
	wbuf_init(&blob, 0);
	if (armor_decode(&der, "PUBLIC KEY", text, n, &used) != ENF_OK || used != n ||
	    spki_to_blob(der.p, der.len, &blob) < 0)
		goto out;
	rc = pubkey_from_blob(k, blob.p, blob.len) == ENF_OK ? ENF_OK : ENF_NO;
out:
	wbuf_free(&der);
	wbuf_free(&blob);
	return rc == ENF_OK ? ENF_OK : enf_err(ENF_NO, "public key: malformed or unsupported PEM");
}

int pubkey_from_text(struct pubkey *k, const char *text, size_t n)
{
	struct rbuf r;
	const char *s = "";
	char *line;
	int rc;

	rbuf_init(&r, text, n);
	if (rbuf_peek(&r, "-----BEGIN PUBLIC KEY-----\n"))
		return pubkey_from_pem(k, text, n);
	/* One OpenSSH line, as a .pub file holds it (nothing is a line too:
	 * pubkey_from_line says what is wrong with it). */
	n = 0;
	if ((rbuf_line(&r, &s, &n, NULL) == 0 && !rbuf_done(&r)) || memchr(s, '\0', n))
		return enf_err(ENF_NO, "public key: expected one OpenSSH key line or a PEM PUBLIC KEY");
	if (!(line = strndup(s, n)))
		return enf_err(ENF_FAIL, "out of memory");
	rc = pubkey_from_line(k, line, NULL);
	free(line);
	return rc;
}
