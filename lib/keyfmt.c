/* Public key text formats.  The SSH wire blob is the canonical form (key.h);
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

static int is_space(char c) { return c == ' ' || c == '\t'; }

/* The SSH type name a key of that blob must carry. */
static int blob_type_is(const unsigned char *blob, size_t n, const char *type, size_t tlen)
{
	struct rbuf r;
	const unsigned char *p;
	size_t len;

	rbuf_init(&r, blob, n);
	return rbuf_string(&r, &p, &len) == 0 && len == tlen && memcmp(p, type, tlen) == 0;
}

/* TYPE and BASE64 of "TYPE BASE64 [COMMENT]" into blob; *rest is where the
 * comment (if any) starts. */
static int split_key(const char *s, size_t n, const char **type, size_t *tlen,
		     struct wbuf *blob, const char **rest)
{
	size_t i = 0, b;

	while (i < n && !is_space(s[i]))
		i++;
	*type = s;
	*tlen = i;
	if (i == 0 || i == n)
		return ENF_NO;
	while (i < n && is_space(s[i]))
		i++;
	b = i;
	while (i < n && !is_space(s[i]))
		i++;
	if (i == b || base64_decode(blob, s + b, i - b, 1) != ENF_OK)
		return ENF_NO;
	if (!blob_type_is(blob->p, blob->len, *type, *tlen))
		return ENF_NO;
	while (i < n && is_space(s[i]))
		i++;
	*rest = s + i;
	return ENF_OK;
}

int pubkey_from_line(struct pubkey *k, const char *line, char **comment)
{
	struct wbuf blob;
	const char *type, *rest;
	size_t tlen, n = strlen(line);
	int rc;

	if (comment)
		*comment = NULL;
	if (memchr(line, '\n', n))
		return enf_err(ENF_NO, "public key: more than one line");
	wbuf_init(&blob, 0);
	rc = split_key(line, n, &type, &tlen, &blob, &rest);
	if (rc != ENF_OK) {
		wbuf_free(&blob);
		return enf_err(ENF_NO, "public key: not an OpenSSH public key line");
	}
	rc = pubkey_from_blob(k, blob.p, blob.len);
	wbuf_free(&blob);
	if (rc != ENF_OK)
		return enf_err(ENF_NO, "public key: malformed or unsupported key");
	if (comment && *rest) {
		size_t cl = strlen(rest);

		while (cl > 0 && is_space(rest[cl - 1]))
			cl--;
		if (cl && !(*comment = strndup(rest, cl))) {
			pubkey_free(k);
			return enf_err(ENF_FAIL, "out of memory");
		}
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
	static const char pem[] = "-----BEGIN PUBLIC KEY-----\n";
	char *line;
	int rc;

	if (n >= sizeof pem - 1 && memcmp(text, pem, sizeof pem - 1) == 0)
		return pubkey_from_pem(k, text, n);
	/* One OpenSSH line, as a .pub file holds it. */
	if (n > 0 && text[n - 1] == '\n')
		n--;
	if (memchr(text, '\0', n) || memchr(text, '\n', n))
		return enf_err(ENF_NO, "public key: expected one OpenSSH key line or a PEM PUBLIC KEY");
	if (!(line = strndup(text, n)))
		return enf_err(ENF_FAIL, "out of memory");
	rc = pubkey_from_line(k, line, NULL);
	free(line);
	return rc;
}

/* ---- allowed_signers ------------------------------------------------- */

/* ssh_config(5) PATTERNS: '*' any run, '?' one character. */
static int match_glob(const char *s, size_t sn, const char *p, size_t pn)
{
	size_t si = 0, pi = 0, star = (size_t)-1, mark = 0;

	while (si < sn) {
		if (pi < pn && (p[pi] == '?' || p[pi] == s[si])) {
			si++;
			pi++;
		} else if (pi < pn && p[pi] == '*') {
			star = pi++;
			mark = si;
		} else if (star != (size_t)-1) {
			pi = star + 1;
			si = ++mark;
		} else
			return 0;
	}
	while (pi < pn && p[pi] == '*')
		pi++;
	return pi == pn;
}

/* Comma-separated pattern list; a matching "!pattern" vetoes the match. */
static int match_list(const char *s, const char *list, size_t n)
{
	size_t i = 0, sn = strlen(s);
	int got = 0;

	while (i <= n) {
		size_t j = i;
		int neg;

		while (j < n && list[j] != ',')
			j++;
		neg = j > i && list[i] == '!';
		if (j > i + (size_t)neg && match_glob(s, sn, list + i + neg, j - i - neg)) {
			if (neg)
				return 0;
			got = 1;
		}
		i = j + 1;
	}
	return got;
}

struct signer_line {
	const char *principals;		/* pattern list (quotes removed) */
	size_t plen;
	char *namespaces;		/* malloc'd pattern list or NULL */
	int refused;			/* cert-authority, valid-after/-before */
	const char *type;		/* key type token */
	size_t tlen;
	struct wbuf blob;
};

/* A field that may be "quoted" (no quote inside); *i moves past it. */
static int field(const char *s, size_t n, size_t *i, const char **f, size_t *fl)
{
	size_t b = *i;

	if (b < n && s[b] == '"') {
		const char *q = memchr(s + b + 1, '"', n - b - 1);

		if (!q)
			return -1;
		*f = s + b + 1;
		*fl = (size_t)(q - *f);
		*i = (size_t)(q - s) + 1;
		return *i < n && !is_space(s[*i]) ? -1 : 0;
	}
	while (*i < n && !is_space(s[*i]))
		(*i)++;
	*f = s + b;
	*fl = *i - b;
	return *fl ? 0 : -1;
}

static int opt_is(const char *s, size_t n, size_t i, const char *kw)
{
	size_t kl = strlen(kw);

	return n - i >= kl && strncasecmp(s + i, kw, kl) == 0;
}

/* A quoted option value at s[*i] ('"' ... '"', \" escapes a quote). */
static char *opt_value(const char *s, size_t n, size_t *i)
{
	struct wbuf v;
	char *r;

	if (*i >= n || s[*i] != '"')
		return NULL;
	wbuf_init(&v, 0);
	for ((*i)++; *i < n && s[*i] != '"'; (*i)++) {
		if (s[*i] == '\\' && *i + 1 < n && s[*i + 1] == '"')
			(*i)++;
		wbuf_u8(&v, (uint8_t)s[*i]);
	}
	if (*i >= n || wbuf_cstr_terminate(&v) < 0) {
		wbuf_free(&v);
		return NULL;
	}
	(*i)++;
	r = strdup((char *)v.p);
	wbuf_free(&v);
	return r;
}

/* The options field: option[,option...], no spaces but inside quotes. */
static int parse_options(const char *s, size_t n, size_t *i, struct signer_line *L)
{
	for (;;) {
		if (opt_is(s, n, *i, "cert-authority")) {
			*i += 14;
			L->refused = 1;
		} else if (opt_is(s, n, *i, "namespaces=")) {
			*i += 11;
			if (L->namespaces || !(L->namespaces = opt_value(s, n, i)))
				return -1;
		} else if (opt_is(s, n, *i, "valid-after=") || opt_is(s, n, *i, "valid-before=")) {
			char *v;

			*i += s[*i + 6] == 'a' || s[*i + 6] == 'A' ? 12 : 13;
			if (!(v = opt_value(s, n, i)))
				return -1;
			free(v);
			L->refused = 1;
		} else
			return -1;
		if (*i >= n || is_space(s[*i]))
			return 0;
		if (s[(*i)++] != ',')
			return -1;
	}
}

static int starts_option(const char *s, size_t n, size_t i)
{
	return opt_is(s, n, i, "cert-authority") || opt_is(s, n, i, "namespaces=") ||
	       opt_is(s, n, i, "valid-after=") || opt_is(s, n, i, "valid-before=");
}

/* principals [options] keytype base64 [comment]; -1 when malformed. */
static int parse_signer_line(const char *s, size_t n, struct signer_line *L)
{
	size_t i = 0;
	const char *rest;

	if (field(s, n, &i, &L->principals, &L->plen) < 0)
		return -1;
	while (i < n && is_space(s[i]))
		i++;
	if (starts_option(s, n, i)) {
		if (parse_options(s, n, &i, L) < 0)
			return -1;
		while (i < n && is_space(s[i]))
			i++;
	}
	if (i >= n)
		return -1;
	return split_key(s + i, n - i, &L->type, &L->tlen, &L->blob, &rest) == ENF_OK ? 0 : -1;
}

static int supported_type(const char *t, size_t n)
{
	static const char *const types[] = { "ssh-ed25519", "ecdsa-sha2-nistp256",
					     "ecdsa-sha2-nistp384", "ssh-rsa" };

	for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
		if (strlen(types[i]) == n && memcmp(types[i], t, n) == 0)
			return 1;
	return 0;
}

static int add_key(struct pubkey **keys, size_t *nkeys, const struct wbuf *blob)
{
	struct pubkey *nk = realloc(*keys, (*nkeys + 1) * sizeof **keys);

	if (!nk)
		return enf_err(ENF_FAIL, "out of memory");
	*keys = nk;
	if (pubkey_from_blob(&nk[*nkeys], blob->p, blob->len) != ENF_OK)
		return ENF_NO;
	(*nkeys)++;
	return ENF_OK;
}

static void free_keys(struct pubkey **keys, size_t *nkeys)
{
	for (size_t i = 0; i < *nkeys; i++)
		pubkey_free(&(*keys)[i]);
	free(*keys);
	*keys = NULL;
	*nkeys = 0;
}

/* One line: 1 when it gave a key, 0 when it does not apply, 2 when it
 * applies but carries an option we refuse, -1 when it is malformed. */
static int signer_line(const char *s, size_t n, size_t lineno, const char *name,
		       const char *ns, struct pubkey **keys, size_t *nkeys)
{
	struct signer_line L;
	char *pl;
	int rc = 0, m;

	memset(&L, 0, sizeof L);
	wbuf_init(&L.blob, 0);
	if (parse_signer_line(s, n, &L) < 0) {
		rc = enf_err(-1, "allowed signers line %zu: malformed", lineno);
		goto out;
	}
	if (!(pl = strndup(L.principals, L.plen))) {
		rc = enf_err(-1, "out of memory");
		goto out;
	}
	m = match_list(name, pl, L.plen);
	free(pl);
	if (!m || (L.namespaces && !match_list(ns, L.namespaces, strlen(L.namespaces))))
		goto out;
	if (L.refused) {
		rc = 2;
		goto out;
	}
	if (!supported_type(L.type, L.tlen))
		goto out;
	if ((m = add_key(keys, nkeys, &L.blob)) != ENF_OK)
		rc = enf_err(-1, m == ENF_NO ? "allowed signers line %zu: malformed or unsupported key" :
				  "out of memory", lineno);
	else
		rc = 1;
out:
	free(L.namespaces);
	wbuf_free(&L.blob);
	return rc;
}

int allowed_signers_find(const char *text, size_t n, const char *name, const char *ns,
			 struct pubkey **keys, size_t *nkeys)
{
	size_t off = 0, lineno = 0, refused = 0;

	*keys = NULL;
	*nkeys = 0;
	while (off < n) {
		const char *line = text + off, *nl = memchr(line, '\n', n - off);
		size_t len = nl ? (size_t)(nl - line) : n - off, b = 0;
		int rc;

		off += len + (nl ? 1 : 0);
		lineno++;
		while (b < len && is_space(line[b]))
			b++;
		if (b == len || line[b] == '#')
			continue;
		if (memchr(line, '\0', len)) {
			free_keys(keys, nkeys);
			return enf_err(ENF_FAIL, "allowed signers line %zu: malformed", lineno);
		}
		rc = signer_line(line + b, len - b, lineno, name, ns, keys, nkeys);
		if (rc < 0) {
			free_keys(keys, nkeys);
			return ENF_FAIL;
		}
		refused += rc == 2;
	}
	if (*nkeys)
		return ENF_OK;
	if (refused)
		return enf_err(ENF_NO, "no key for \"%s\" in namespace \"%s\" (%zu line(s) with "
			       "cert-authority, valid-after or valid-before ignored: unsupported)",
			       name, ns, refused);
	return enf_err(ENF_NO, "no key for \"%s\" in namespace \"%s\"", name, ns);
}
