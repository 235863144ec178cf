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
static int field_of(const char *word, size_t n)
{
	for (int f = 0; f < F_COUNT; f++)
		if (text_is(word, n, field_words[f]))
			return f;
	return -1;
}

static int copy_name(char dst[ENF_NAME_MAX + 1], const char *v, size_t n)
{
	char name[ENF_NAME_MAX + 1];

	if (n > ENF_NAME_MAX)
		return ENF_NO;
	memcpy(name, v, n);
	name[n] = '\0';
	if (!enf_valid_name(name))
		return ENF_NO;
	memcpy(dst, name, n + 1);
	return ENF_OK;
}

/* "ALG HEX": the algorithm, one space, the digest's lowercase hex. */
static int parse_digest(struct envelope *e, const char *v, size_t n)
{
	const char *alg, *hex;
	size_t algn, hexn;
	struct rbuf r;

	rbuf_init(&r, v, n);
	if (rbuf_until(&r, ' ', &alg, &algn) != 0)
		return ENF_NO;
	rbuf_rest(&r, &hex, &hexn);
	if (text_is(alg, algn, "sha256"))
		e->digest_alg = HASH_SHA256;
	else if (text_is(alg, algn, "sha512"))
		e->digest_alg = HASH_SHA512;
	else
		return ENF_NO;
	return hex_decode(hex, hexn, e->digest, hash_len(e->digest_alg));
}

/* One field's value (the text after "WORD "). */
static int parse_value(struct envelope *e, int f, const char *v, size_t n)
{
	switch (f) {
	case F_MAGIC:
		return text_is(v, n, "1") ? ENF_OK : ENF_NO;
	case F_KEY:
		return copy_name(e->key, v, n);
	case F_IDENTITY:
		return copy_name(e->identity, v, n);
	case F_PURPOSE:
		return copy_name(e->purpose, v, n);
	case F_SCOPE:
		if (!scope_valid(v, n))
			return ENF_NO;
		memcpy(e->scope, v, n);
		e->scope[n] = '\0';
		return ENF_OK;
	case F_RULE:
		return copy_name(e->rule, v, n);
	case F_FORMAT:
		if (text_is(v, n, "sshsig"))
			e->format = FMT_SSHSIG;
		else if (text_is(v, n, "raw"))
			e->format = FMT_RAW;
		else
			return ENF_NO;
		return ENF_OK;
	case F_DIGEST:
		return parse_digest(e, v, n);
	}
	return ENF_NO;
}

/* "WORD VALUE", WORD the field `want`: one space, the value all the rest. */
static int parse_line(struct envelope *e, int want, const char *line, size_t len,
		      unsigned lineno, char *why, size_t whylen)
{
	const char *word, *value;
	size_t wordn, valuen;
	struct rbuf r;
	int has_value, f;

	rbuf_init(&r, line, len);
	has_value = rbuf_until(&r, ' ', &word, &wordn) == 0;
	if (!has_value)
		rbuf_rest(&r, &word, &wordn);
	rbuf_rest(&r, &value, &valuen);
	if ((f = field_of(word, wordn)) < 0)
		return fail(why, whylen, lineno, "expected '%s'", field_forms[want]);
	if (f < want)
		return fail(why, whylen, lineno, "repeated or out-of-order '%s' line", field_words[f]);
	if (f > want)
		return fail(why, whylen, lineno, "missing or out-of-order line: expected '%s'", field_forms[want]);
	if (!has_value || parse_value(e, f, value, valuen) != ENF_OK)
		return fail(why, whylen, lineno, "expected '%s' (single spaces, no trailing space)", field_forms[want]);
	return ENF_OK;
}

/* The body ends with the 8th line; what follows is signatures. */
static int parse_body(struct envelope *e, struct rbuf *r, char *why, size_t whylen)
{
	for (int f = 0; f < F_COUNT; f++) {
		const char *line;
		size_t len;
		int nl;

		if (rbuf_peek(r, "-----") || rbuf_line(r, &line, &len, &nl) != 0)
			return fail(why, whylen, f + 1, "missing line: expected '%s'", field_forms[f]);
		if (!nl)
			return fail(why, whylen, f + 1, "line does not end in LF");
		if (r->off > ENVELOPE_BODY_MAX)
			return fail(why, whylen, 0, "request body over %d bytes", ENVELOPE_BODY_MAX);
		if (parse_line(e, f, line, len, (unsigned)f + 1, why, whylen) != ENF_OK)
			return ENF_NO;
	}
	return ENF_OK;
}

/* One armored SSHSIG at r, in namespace ns; r moves past it. */
static int parse_sig(struct sshsig *s, const char *ns, struct rbuf *r, const char *what,
		     const char *after, char *why, size_t whylen)
{
	struct rbuf look = *r;
	const unsigned char *skip;
	const char *text;
	size_t n, used;

	if (!rbuf_peek(r, ARMOR_BEGIN))
		return fail(why, whylen, 0, "text after the %s is not %s", after, what);
	rbuf_rest(&look, &text, &n);
	memset(s, 0, sizeof *s);
	/* The block must end with its END line's LF, as ssh-keygen writes it. */
	if (sshsig_parse_armored(s, text, n, &used) != ENF_OK || used == 0 ||
	    text[used - 1] != '\n' || rbuf_bytes(r, used, &skip) != 0) {
		sshsig_free(s);
		return fail(why, whylen, 0, "%s is not a well-formed armored SSHSIG", what);
	}
	if (strcmp(s->ns, ns) != 0) {
		sshsig_free(s);
		return fail(why, whylen, 0, "%s has the wrong namespace", what);
	}
	return ENF_OK;
}

static int parse_approvals(struct envelope *e, struct rbuf *r, char *why, size_t whylen)
{
	while (!rbuf_done(r)) {
		struct sshsig *grown;

		if (e->napprovals == ENVELOPE_APPROVALS_MAX)
			return fail(why, whylen, 0, "more than %d approvals", ENVELOPE_APPROVALS_MAX);
		grown = realloc(e->approvals, (e->napprovals + 1) * sizeof *grown);
		if (!grown)
			return enf_err(ENF_FAIL, "out of memory");
		e->approvals = grown;
		if (parse_sig(&e->approvals[e->napprovals], NS_APPROVE, r,
			      "an approval (SSHSIG, namespace enf-approve)", "last signature", why,
			      whylen) != ENF_OK)
			return ENF_NO;
		e->napprovals++;
	}
	return ENF_OK;
}

static int parse_all(struct envelope *e, const char *text, size_t n, int allow_unsigned,
		     char *why, size_t whylen)
{
	struct rbuf r;
	size_t at;
	int rc;

	if (n == 0)
		return fail(why, whylen, 0, "empty request");
	if (bad_byte(text, n, &at))
		return fail(why, whylen, 0, "%s in the request", byte_kind((unsigned char)text[at]));
	rbuf_init(&r, text, n);
	if ((rc = parse_body(e, &r, why, whylen)) != ENF_OK)
		return rc;
	e->bodylen = r.off;
	e->body = malloc(e->bodylen + 1);
	if (!e->body)
		return enf_err(ENF_FAIL, "out of memory");
	memcpy(e->body, text, e->bodylen);
	e->body[e->bodylen] = '\0';
	if (hash_buf(HASH_SHA256, e->body, e->bodylen, e->body_sha256) != ENF_OK)
		return enf_err(ENF_FAIL, "cannot hash the request body");
	if (rbuf_done(&r)) {
		if (!allow_unsigned)
			return fail(why, whylen, 0, "no requester signature");
		return ENF_OK;
	}
	if (parse_sig(&e->requester, NS_REQUEST, &r,
		      "the requester's signature (SSHSIG, namespace enf-request)", "body",
		      why, whylen) != ENF_OK)
		return ENF_NO;
	e->has_signature = 1;
	return parse_approvals(e, &r, why, whylen);
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

int format_parse(const char *s) { return name_index(format_names, 2, s); }
