/* The request envelope: one strict parser and one writer (enf-request(5)).
 *
 * The parser accepts exactly one spelling of a request; nothing is repaired
 * or normalised, so the bytes that were signed are the bytes that are read.
 * It checks syntax only: signatures are verified by decide(). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "enf.h"
#include "buf.h"
#include "encode.h"
#include "envelope.h"

/* A request is small; enough approvals for any sane group, and a bound so
 * that a hostile file cannot make us allocate without limit. */
#define ENVELOPE_APPROVALS_MAX 64
#define ARMOR_BEGIN "-----BEGIN SSH SIGNATURE-----\n"

static const char *const format_names[] = { "sshsig", "raw" };

const char *format_name(int fmt)
{
	return fmt == FMT_SSHSIG || fmt == FMT_RAW ? format_names[fmt] : "?";
}

static int fail(char *why, size_t whylen, unsigned line, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* Record why the request is malformed ("line 3: ...") and say ENF_NO. */
static int fail(char *why, size_t whylen, unsigned line, const char *fmt, ...)
{
	char msg[160];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	if (why && whylen) {
		if (line)
			snprintf(why, whylen, "line %u: %s", line, msg);
		else
			snprintf(why, whylen, "%s", msg);
	}
	return ENF_NO;
}

/* Printable ASCII and LF only: this one check rules out CR, tab, NUL,
 * other control bytes and anything non-ASCII, anywhere in the request. */
static int bad_byte(const char *text, size_t n, size_t *at)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)text[i];
		if (c != '\n' && (c < 0x20 || c > 0x7e)) {
			*at = i;
			return 1;
		}
	}
	return 0;
}

static const char *byte_kind(unsigned char c)
{
	if (c == '\r')
		return "carriage return (CR)";
	if (c == '\t')
		return "tab";
	if (c == 0)
		return "NUL byte";
	if (c > 0x7e)
		return "non-ASCII byte";
	return "control character";
}

/* The body's lines, in their one order. */
enum field { F_MAGIC, F_KEY, F_IDENTITY, F_PURPOSE, F_SCOPE, F_RULE, F_FORMAT, F_DIGEST, F_COUNT };
static const char *const field_words[F_COUNT] = {
	"enf-request", "key", "identity", "purpose", "scope", "rule", "format", "digest"
};
static const char *const field_forms[F_COUNT] = {
	"enf-request 1", "key NAME", "identity NAME", "purpose NAME", "scope SCOPE",
	"rule NAME", "format sshsig|raw", "digest sha256|sha512 HEX"
};

/* A line's keyword names which field it is (-1 for none), so that an
 * error can say "repeated" or "out of order" rather than just "wrong". */
static int field_of(const char *line)
{
	for (int f = 0; f < F_COUNT; f++) {
		size_t k = strlen(field_words[f]);
		if (strncmp(line, field_words[f], k) == 0 && (line[k] == ' ' || line[k] == '\0'))
			return f;
	}
	return -1;
}

static int copy_name(char *dst, const char *v)
{
	if (!enf_valid_name(v))
		return ENF_NO;
	strcpy(dst, v);		/* enf_valid_name bounds it to ENF_NAME_MAX */
	return ENF_OK;
}

static int parse_digest(struct envelope *e, const char *v)
{
	const char *sp = strchr(v, ' ');
	char alg[8];
	size_t hl;

	if (!sp || (size_t)(sp - v) >= sizeof alg)
		return ENF_NO;
	memcpy(alg, v, (size_t)(sp - v));
	alg[sp - v] = '\0';
	if (strcmp(alg, "sha256") == 0)
		e->digest_alg = HASH_SHA256;
	else if (strcmp(alg, "sha512") == 0)
		e->digest_alg = HASH_SHA512;
	else
		return ENF_NO;
	hl = hash_len(e->digest_alg);
	if (strlen(sp + 1) != 2 * hl)
		return ENF_NO;
	return hex_decode(sp + 1, 2 * hl, e->digest, hl) == ENF_OK ? ENF_OK : ENF_NO;
}

/* One field's value (the text after "WORD "). */
static int parse_value(struct envelope *e, int f, const char *v)
{
	switch (f) {
	case F_MAGIC:
		return strcmp(v, "1") == 0 ? ENF_OK : ENF_NO;
	case F_KEY:
		return copy_name(e->key, v);
	case F_IDENTITY:
		return copy_name(e->identity, v);
	case F_PURPOSE:
		return copy_name(e->purpose, v);
	case F_SCOPE:
		if (!scope_valid(v, strlen(v)))
			return ENF_NO;
		strcpy(e->scope, v);
		return ENF_OK;
	case F_RULE:
		return copy_name(e->rule, v);
	case F_FORMAT:
		if (strcmp(v, "sshsig") == 0)
			e->format = FMT_SSHSIG;
		else if (strcmp(v, "raw") == 0)
			e->format = FMT_RAW;
		else
			return ENF_NO;
		return ENF_OK;
	case F_DIGEST:
		return parse_digest(e, v);
	}
	return ENF_NO;
}

static int parse_line(struct envelope *e, int want, const char *line, unsigned lineno,
		      char *why, size_t whylen)
{
	int f = field_of(line);
	size_t k;

	if (f < 0)
		return fail(why, whylen, lineno, "expected '%s'", field_forms[want]);
	if (f < want)
		return fail(why, whylen, lineno, "repeated or out-of-order '%s' line", field_words[f]);
	if (f > want)
		return fail(why, whylen, lineno, "missing or out-of-order line: expected '%s'", field_forms[want]);
	k = strlen(field_words[f]);
	if (line[k] != ' ' || parse_value(e, f, line + k + 1) != ENF_OK)
		return fail(why, whylen, lineno, "expected '%s' (single spaces, no trailing space)", field_forms[want]);
	return ENF_OK;
}

/* The body ends with the 8th line; what follows is signatures. */
static int parse_body(struct envelope *e, const char *text, size_t n, size_t *bodylen,
		      char *why, size_t whylen)
{
	char line[ENVELOPE_BODY_MAX + 1];
	size_t off = 0;

	for (int f = 0; f < F_COUNT; f++) {
		const char *nl;
		size_t len;

		/* The text is n bytes, not a C string: never read past them. */
		if (off >= n || (n - off >= 5 && memcmp(text + off, "-----", 5) == 0))
			return fail(why, whylen, f + 1, "missing line: expected '%s'", field_forms[f]);
		nl = memchr(text + off, '\n', n - off);
		if (!nl)
			return fail(why, whylen, f + 1, "line does not end in LF");
		len = (size_t)(nl - (text + off));
		if (off + len + 1 > ENVELOPE_BODY_MAX)
			return fail(why, whylen, 0, "request body over 4096 bytes");
		memcpy(line, text + off, len);
		line[len] = '\0';
		if (parse_line(e, f, line, (unsigned)f + 1, why, whylen) != ENF_OK)
			return ENF_NO;
		off += len + 1;
	}
	*bodylen = off;
	return ENF_OK;
}

static int parse_sig(struct sshsig *s, const char *ns, const char *text, size_t n,
		     size_t *used, const char *what, const char *after, char *why, size_t whylen)
{
	if (n < sizeof ARMOR_BEGIN - 1 || memcmp(text, ARMOR_BEGIN, sizeof ARMOR_BEGIN - 1) != 0)
		return fail(why, whylen, 0, "text after the %s is not %s", after, what);
	memset(s, 0, sizeof *s);
	/* The block must end with its END line's LF, as ssh-keygen writes it. */
	if (sshsig_parse_armored(s, text, n, used) != ENF_OK || *used == 0 ||
	    text[*used - 1] != '\n') {
		sshsig_free(s);
		return fail(why, whylen, 0, "%s is not a well-formed armored SSHSIG", what);
	}
	if (strcmp(s->ns, ns) != 0) {
		sshsig_free(s);
		return fail(why, whylen, 0, "%s has the wrong namespace", what);
	}
	return ENF_OK;
}

static int parse_approvals(struct envelope *e, const char *text, size_t n, char *why,
			   size_t whylen)
{
	size_t off = 0, used;

	while (off < n) {
		struct sshsig *grown;

		if (e->napprovals == ENVELOPE_APPROVALS_MAX)
			return fail(why, whylen, 0, "more than 64 approvals");
		grown = realloc(e->approvals, (e->napprovals + 1) * sizeof *grown);
		if (!grown)
			return enf_err(ENF_FAIL, "out of memory");
		e->approvals = grown;
		if (parse_sig(&e->approvals[e->napprovals], NS_APPROVE, text + off, n - off, &used,
			      "an approval (SSHSIG, namespace enf-approve)", "last signature", why,
			      whylen) != ENF_OK)
			return ENF_NO;
		e->napprovals++;
		off += used;
	}
	return ENF_OK;
}

static int parse_all(struct envelope *e, const char *text, size_t n, int allow_unsigned,
		     char *why, size_t whylen)
{
	size_t at, bodylen, used;
	int rc;

	if (n == 0)
		return fail(why, whylen, 0, "empty request");
	if (bad_byte(text, n, &at))
		return fail(why, whylen, 0, "%s in the request", byte_kind((unsigned char)text[at]));
	if ((rc = parse_body(e, text, n, &bodylen, why, whylen)) != ENF_OK)
		return rc;
	e->body = malloc(bodylen + 1);
	if (!e->body)
		return enf_err(ENF_FAIL, "out of memory");
	memcpy(e->body, text, bodylen);
	e->body[bodylen] = '\0';
	e->bodylen = bodylen;
	if (hash_buf(HASH_SHA256, e->body, bodylen, e->body_sha256) != ENF_OK)
		return enf_err(ENF_FAIL, "cannot hash the request body");
	if (bodylen == n) {
		if (!allow_unsigned)
			return fail(why, whylen, 0, "no requester signature");
		return ENF_OK;
	}
	if (parse_sig(&e->requester, NS_REQUEST, text + bodylen, n - bodylen, &used,
		      "the requester's signature (SSHSIG, namespace enf-request)", "body",
		      why, whylen) != ENF_OK)
		return ENF_NO;
	e->has_signature = 1;
	return parse_approvals(e, text + bodylen + used, n - bodylen - used, why, whylen);
}

int envelope_parse(struct envelope *e, const char *text, size_t n, int allow_unsigned,
		   char *why, size_t whylen)
{
	int rc;

	memset(e, 0, sizeof *e);
	if (why && whylen)
		why[0] = '\0';
	if (!text)
		return fail(why, whylen, 0, "empty request");
	rc = parse_all(e, text, n, allow_unsigned, why, whylen);
	if (rc != ENF_OK)
		envelope_free(e);
	return rc;
}

int envelope_write_body(const struct envelope *e, struct wbuf *out)
{
	struct wbuf hex;
	int rc;

	if (!enf_valid_name(e->key) || !enf_valid_name(e->identity) ||
	    !enf_valid_name(e->purpose) || !enf_valid_name(e->rule))
		return enf_err(ENF_USAGE, "key, identity, purpose and rule must match "
				"[a-z0-9][a-z0-9._-]{0,63}");
	if (!scope_valid(e->scope, strlen(e->scope)))
		return enf_err(ENF_USAGE, "scope must match " SCOPE_CHARS "{1,%d}", SCOPE_MAX);
	if (e->format != FMT_SSHSIG && e->format != FMT_RAW)
		return enf_err(ENF_USAGE, "format must be sshsig or raw");
	if (e->digest_alg != HASH_SHA256 && e->digest_alg != HASH_SHA512)
		return enf_err(ENF_USAGE, "digest must be sha256 or sha512");
	wbuf_init(&hex, 0);
	hex_encode(&hex, e->digest, hash_len(e->digest_alg));
	wbuf_cstr_terminate(&hex);
	if (hex.failed) {
		wbuf_free(&hex);
		return enf_err(ENF_FAIL, "out of memory");
	}
	wbuf_printf(out, "enf-request 1\nkey %s\nidentity %s\npurpose %s\nscope %s\nrule %s\n"
		    "format %s\ndigest %s %s\n", e->key, e->identity, e->purpose, e->scope,
		    e->rule, format_name(e->format), hash_name(e->digest_alg), (char *)hex.p);
	wbuf_free(&hex);
	rc = out->failed ? enf_err(ENF_FAIL, "out of memory") : ENF_OK;
	return rc;
}

void envelope_free(struct envelope *e)
{
	if (!e)
		return;
	free(e->body);
	sshsig_free(&e->requester);
	for (size_t i = 0; i < e->napprovals; i++)
		sshsig_free(&e->approvals[i]);
	free(e->approvals);
	memset(e, 0, sizeof *e);
}
