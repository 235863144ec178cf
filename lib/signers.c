/* OpenSSH allowed_signers files (ssh-keygen(1) ALLOWED SIGNERS): which keys
 * may sign as a principal for a namespace. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "enf.h"
#include "keyfmt.h"
#include "signers.h"

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

/* Comma-separated pattern list; a matching "!pattern" vetoes the match.
 * Empty elements match nothing. */
static int match_list(const char *s, const char *list, size_t n)
{
	struct rbuf r;
	const char *p;
	size_t pn, sn = strlen(s);
	int got = 0;

	rbuf_init(&r, list, n);
	while (rbuf_word(&r, ",", &p, &pn) == 0) {
		int neg = p[0] == '!';

		if (pn > (size_t)neg && match_glob(s, sn, p + neg, pn - neg)) {
			if (neg)
				return 0;
			got = 1;
		}
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

static int at_field_end(const struct rbuf *r)
{
	return rbuf_done(r) || rbuf_peek(r, " ") || rbuf_peek(r, "\t");
}

/* The principals, which may be "quoted" (no quote inside). */
static int read_principals(struct rbuf *r, const char **f, size_t *fl)
{
	if (rbuf_expect(r, "\"") == 0)
		return rbuf_until(r, '"', f, fl) == 0 && at_field_end(r) ? 0 : -1;
	return rbuf_word(r, KEYLINE_BLANKS, f, fl);
}

/* The keyword kw in any case, as ssh-keygen matches option names. */
static int take_keyword(struct rbuf *r, const char *kw)
{
	struct rbuf t = *r;
	const unsigned char *p;
	size_t n = strlen(kw);

	if (rbuf_bytes(&t, n, &p) < 0 || strncasecmp((const char *)p, kw, n) != 0)
		return -1;
	*r = t;
	return 0;
}

static int starts_option(const struct rbuf *r)
{
	static const char *const kws[] = { "cert-authority", "namespaces=", "valid-after=",
					   "valid-before=" };

	for (size_t i = 0; i < sizeof kws / sizeof kws[0]; i++) {
		struct rbuf t = *r;

		if (take_keyword(&t, kws[i]) == 0)
			return 1;
	}
	return 0;
}

/* A quoted option value ('"' ... '"', \" is a quote), malloc'd. */
static char *opt_value(struct rbuf *r)
{
	struct wbuf v;
	uint8_t c;
	int closed = 0;
	char *s = NULL;

	if (rbuf_expect(r, "\"") < 0)
		return NULL;
	wbuf_init(&v, 0);
	while (!closed && rbuf_u8(r, &c) == 0) {
		if (c == '"')
			closed = 1;
		else
			wbuf_u8(&v, c == '\\' && rbuf_expect(r, "\"") == 0 ? '"' : c);
	}
	if (closed && wbuf_cstr_terminate(&v) == 0)
		s = strdup((char *)v.p);
	wbuf_free(&v);
	return s;
}

/* The options field: option[,option...], no blanks but inside quotes. */
static int read_options(struct rbuf *r, struct signer_line *L)
{
	for (;;) {
		if (take_keyword(r, "cert-authority") == 0) {
			L->refused = 1;
		} else if (take_keyword(r, "namespaces=") == 0) {
			if (L->namespaces || !(L->namespaces = opt_value(r)))
				return -1;
		} else if (take_keyword(r, "valid-after=") == 0 ||
			   take_keyword(r, "valid-before=") == 0) {
			char *v = opt_value(r);

			if (!v)
				return -1;
			free(v);
			L->refused = 1;
		} else
			return -1;
		if (at_field_end(r))
			return 0;
		if (rbuf_expect(r, ",") < 0)
			return -1;
	}
}

/* principals [options] keytype base64 [comment]; -1 when malformed. */
static int parse_signer_line(struct rbuf *r, struct signer_line *L)
{
	if (read_principals(r, &L->principals, &L->plen) < 0)
		return -1;
	keyline_skip_blanks(r);
	if (starts_option(r)) {
		if (read_options(r, L) < 0)
			return -1;
		keyline_skip_blanks(r);
	}
	if (rbuf_done(r))
		return -1;
	return pubkey_read_key(r, &L->type, &L->tlen, &L->blob) == ENF_OK ? 0 : -1;
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
static int signer_line(struct rbuf *line, size_t lineno, const char *name, const char *ns,
		       struct pubkey **keys, size_t *nkeys)
{
	struct signer_line L;
	int rc = 0, m;

	memset(&L, 0, sizeof L);
	wbuf_init(&L.blob, 0);
	if (parse_signer_line(line, &L) < 0) {
		rc = enf_err(-1, "allowed signers line %zu: malformed", lineno);
		goto out;
	}
	if (!match_list(name, L.principals, L.plen) ||
	    (L.namespaces && !match_list(ns, L.namespaces, strlen(L.namespaces))))
		goto out;
	if (L.refused) {
		rc = 2;
		goto out;
	}
	if (pubkey_type_parse(L.type, L.tlen) < 0)
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
	struct rbuf file, line;
	const char *s;
	size_t len, lineno = 0, refused = 0;

	*keys = NULL;
	*nkeys = 0;
	rbuf_init(&file, text, n);
	while (rbuf_line(&file, &s, &len, NULL) == 0) {
		int rc;

		lineno++;
		rbuf_init(&line, s, len);
		keyline_skip_blanks(&line);
		if (rbuf_done(&line) || rbuf_peek(&line, "#"))
			continue;
		if (memchr(s, '\0', len)) {
			free_keys(keys, nkeys);
			return enf_err(ENF_FAIL, "allowed signers line %zu: malformed", lineno);
		}
		rc = signer_line(&line, lineno, name, ns, keys, nkeys);
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
