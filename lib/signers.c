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
		return *i < n && !keyline_space(s[*i]) ? -1 : 0;
	}
	while (*i < n && !keyline_space(s[*i]))
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
		if (*i >= n || keyline_space(s[*i]))
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
	while (i < n && keyline_space(s[i]))
		i++;
	if (starts_option(s, n, i)) {
		if (parse_options(s, n, &i, L) < 0)
			return -1;
		while (i < n && keyline_space(s[i]))
			i++;
	}
	if (i >= n)
		return -1;
	return pubkey_split_line(s + i, n - i, &L->type, &L->tlen, &L->blob, &rest) == ENF_OK ? 0 : -1;
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
		while (b < len && keyline_space(line[b]))
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
