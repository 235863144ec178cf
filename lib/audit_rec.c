/* Audit records (enf-audit(5), RECORD): encoding, strict parsing, hashing
 * and the record signature.
 *
 * A record is one line of ASCII: the magic "enf-audit-1", then every field
 * in a fixed order as " name=value".  Values never hold a space, a control
 * byte, a non-ASCII byte or '%': those are written %XX, so no value can end
 * a field or a line early, and each record has exactly one encoding.  The
 * hash covers the line up to " hash=" (prev included: the chain); the
 * signature signs the hash and is itself outside it. */
#include <stdio.h>
#include <string.h>
#include <time.h>
#include "enf.h"
#include "audit_impl.h"
#include "crypto.h"
#include "encode.h"

static const char *const field_names[AF_COUNT] = {
	"seq", "time", "instance", "program", "op", "outcome", "reason",
	"key", "identity", "purpose", "scope", "rule", "policy",
	"policy_digest", "request_digest", "peer", "detail", "prev", "hash", "sig",
};

/* Signed messages carry a context so that a record signature can never be
 * taken for a head signature or anything else the identity key signs. */
static const char SIGCTX_RECORD[] = "enf-audit-1 record";

const char *audit_field_name(int f)
{
	return f >= 0 && f < AF_COUNT ? field_names[f] : "?";
}

/* ---------------------------------------------------------------- encode */

static int needs_escape(unsigned char c)
{
	return c < 0x21 || c > 0x7e || c == '%';
}

int audit_put_value(struct wbuf *w, const char *s)
{
	static const char hx[] = "0123456789ABCDEF";
	size_t i, n;

	if (!s || !*s)
		return wbuf_put(w, "-", 1);
	if (strcmp(s, "-") == 0)
		return wbuf_put(w, "%2D", 3);
	n = strnlen(s, AUDIT_VALUE_MAX);
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		char e[3] = { '%', hx[c >> 4], hx[c & 15] };
		if (needs_escape(c) ? wbuf_put(w, e, 3) : wbuf_put(w, &s[i], 1))
			return -1;
	}
	return 0;
}

int audit_put_hex(struct wbuf *w, const unsigned char *d)
{
	if (!d)
		return wbuf_put(w, "-", 1);
	return hex_encode(w, d, 32) == ENF_OK ? 0 : -1;
}

static int put_field(struct wbuf *w, int f)
{
	return wbuf_printf(w, " %s=", field_names[f]);
}

void audit_utc_time(int64_t when, char out[32])
{
	struct tm tm;
	time_t t = (time_t)when;

	if (!gmtime_r(&t, &tm) || strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm) != 20)
		snprintf(out, 32, "1970-01-01T00:00:00Z");
}

/* What the identity signs: a context string, its NUL, then the body. */
static int frame_msg(unsigned char msg[64], const char *ctx, const void *body, size_t n,
		     size_t *len)
{
	size_t cl = strlen(ctx) + 1;

	if (cl + n > 64)
		return -1;
	memcpy(msg, ctx, cl);
	memcpy(msg + cl, body, n);
	*len = cl + n;
	return 0;
}

int audit_sign_msg(const struct privkey *key, const char *ctx, const void *body, size_t n,
		    struct wbuf *sig)
{
	unsigned char msg[64];
	size_t len;

	if (frame_msg(msg, ctx, body, n, &len) < 0)
		return ENF_FAIL;
	return privkey_sign_ssh(key, msg, len, sig);
}

int audit_verify_msg(const struct pubkey *id, const char *ctx, const void *body, size_t n,
		      const unsigned char *sig, size_t siglen)
{
	unsigned char msg[64];
	size_t len;

	if (frame_msg(msg, ctx, body, n, &len) < 0)
		return ENF_FAIL;
	return pubkey_verify_ssh(id, msg, len, sig, siglen);
}

static int put_sig(struct wbuf *w, const struct privkey *key, const unsigned char hash[32])
{
	struct wbuf sig;
	int rc;

	if (!key)
		return wbuf_put(w, "-", 1);
	wbuf_init(&sig, 0);
	rc = audit_sign_msg(key, SIGCTX_RECORD, hash, 32, &sig);
	if (rc == ENF_OK)
		rc = base64_encode(w, sig.p, sig.len, 1);
	wbuf_free(&sig);
	return rc == ENF_OK ? 0 : -1;
}

int audit_rec_encode_hashed(struct wbuf *out, uint64_t seq, int64_t when,
			    const char *instance_id, const struct audit_event *ev,
			    const unsigned char prev[32], unsigned char hash_out[32])
{
	const char *text[AF_COUNT] = { 0 };
	char tbuf[32];
	size_t start = out->len;
	int f, bad = 0;

	audit_utc_time(when, tbuf);
	text[AF_PROGRAM] = ev->program; text[AF_OP] = ev->op;
	text[AF_OUTCOME] = ev->outcome; text[AF_REASON] = ev->reason;
	text[AF_KEY] = ev->key; text[AF_IDENTITY] = ev->identity;
	text[AF_PURPOSE] = ev->purpose; text[AF_SCOPE] = ev->scope;
	text[AF_RULE] = ev->rule; text[AF_POLICY] = ev->policy_id;
	text[AF_PEER] = ev->peer; text[AF_DETAIL] = ev->detail;
	bad |= wbuf_put(out, AUDIT_MAGIC, strlen(AUDIT_MAGIC));
	bad |= wbuf_printf(out, " seq=%llu time=%s instance=", (unsigned long long)seq, tbuf);
	bad |= audit_put_value(out, instance_id);
	for (f = AF_PROGRAM; f <= AF_DETAIL; f++) {
		bad |= put_field(out, f);
		if (f == AF_POLICY_DIGEST)
			bad |= audit_put_hex(out, ev->policy_digest);
		else if (f == AF_REQUEST_DIGEST)
			bad |= audit_put_hex(out, ev->request_digest);
		else
			bad |= audit_put_value(out, text[f]);
	}
	bad |= put_field(out, AF_PREV);
	bad |= audit_put_hex(out, prev);
	if (bad || out->failed)
		return enf_err(ENF_FAIL, "out of memory");
	if (hash_buf(HASH_SHA256, out->p + start, out->len - start, hash_out) != ENF_OK)
		return enf_err(ENF_FAIL, "cannot hash the record");
	bad |= put_field(out, AF_HASH);
	bad |= audit_put_hex(out, hash_out);
	return bad || out->failed ? enf_err(ENF_FAIL, "out of memory") : ENF_OK;
}

int audit_rec_encode_signed(struct wbuf *out, size_t start, const struct privkey *key,
			    const unsigned char hash[32])
{
	int bad = 0;

	bad |= put_field(out, AF_SIG);
	bad |= put_sig(out, key, hash);
	bad |= wbuf_put(out, "\n", 1);
	if (bad || out->failed)
		return enf_err(ENF_FAIL, "cannot encode or sign the record");
	if (out->len - start > AUDIT_LINE_MAX)
		return enf_err(ENF_FAIL, "record too long");
	return ENF_OK;
}

int audit_rec_encode(struct wbuf *out, uint64_t seq, int64_t when, const char *instance_id,
		     const struct audit_event *ev, const unsigned char prev[32],
		     const struct privkey *key, unsigned char hash_out[32])
{
	size_t start = out->len;
	int rc = audit_rec_encode_hashed(out, seq, when, instance_id, ev, prev, hash_out);

	return rc != ENF_OK ? rc : audit_rec_encode_signed(out, start, key, hash_out);
}

/* ----------------------------------------------------------------- parse */

static int hexval_upper(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Lower-case hex digit value + 1 (0: not one); a table because verify
 * decodes three hashes per record and this is its hottest loop. */
static const unsigned char HEXV[256] = {
	['0'] = 1, ['1'] = 2, ['2'] = 3, ['3'] = 4, ['4'] = 5, ['5'] = 6, ['6'] = 7,
	['7'] = 8, ['8'] = 9, ['9'] = 10, ['a'] = 11, ['b'] = 12, ['c'] = 13,
	['d'] = 14, ['e'] = 15, ['f'] = 16,
};

int audit_parse_hash(const char *s, size_t n, unsigned char out[32])
{
	const unsigned char *u = (const unsigned char *)s;
	unsigned bad = 0;

	if (n != 64)
		return -1;
	for (size_t i = 0; i < 32; i++) {
		unsigned a = HEXV[u[2 * i]], b = HEXV[u[2 * i + 1]];
		bad |= (a == 0) | (b == 0);
		out[i] = (unsigned char)((a - 1) << 4 | (b - 1));
	}
	return bad ? -1 : 0;
}

/* Canonical escaping: %XX only for the bytes that need it, upper-case hex,
 * and "%2D" only as the whole value (a literal "-"). */
static int check_value(const char *s, size_t n)
{
	size_t i;

	if (n == 0)
		return -1;
	if (n == 3 && memcmp(s, "%2D", 3) == 0)
		return 0;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c < 0x21 || c > 0x7e)
			return -1;
		if (c == '%') {
			int a, b;
			if (i + 2 >= n)
				return -1;
			a = hexval_upper(s[i + 1]);
			b = hexval_upper(s[i + 2]);
			if (a < 0 || b < 0 || !needs_escape((unsigned char)(a << 4 | b)))
				return -1;
			i += 2;
		}
	}
	return 0;
}

static int check_time(const char *s, size_t n)
{
	static const char pat[] = "dddd-dd-ddTdd:dd:ddZ";

	if (n != 20)
		return -1;
	for (size_t i = 0; i < 20; i++) {
		if (pat[i] == 'd' ? (s[i] < '0' || s[i] > '9') : s[i] != pat[i])
			return -1;
	}
	return 0;
}

int audit_parse_seq(const char *s, size_t n, uint64_t *out)
{
	uint64_t v = 0;

	if (n == 0 || n > 19 || s[0] == '0')
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	*out = v;
	return 0;
}

int audit_check_base64(const char *s, size_t n)
{
	size_t i, pad = 0;

	if (n == 0 || n % 4)
		return -1;
	for (i = 0; i < n; i++) {
		char c = s[i];
		if (c == '=') {
			pad++;
			continue;
		}
		if (pad || !((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
			     (c >= '0' && c <= '9') || c == '+' || c == '/'))
			return -1;
	}
	return pad > 2 ? -1 : 0;
}

static int is_dash(const char *s, size_t n)
{
	return n == 1 && s[0] == '-';
}

/* The syntax of one field's value; "why" names what is wrong. */
static const char *check_field(struct audit_rec *r, int f, const char *s, size_t n)
{
	switch (f) {
	case AF_SEQ:
		return audit_parse_seq(s, n, &r->seq) ? "bad seq" : NULL;
	case AF_TIME:
		return check_time(s, n) ? "bad time" : NULL;
	case AF_INSTANCE: case AF_PROGRAM: case AF_OP: case AF_OUTCOME:
		return is_dash(s, n) || check_value(s, n) ? "bad or missing value" : NULL;
	case AF_POLICY_DIGEST: case AF_REQUEST_DIGEST: {
		unsigned char d[32];
		return is_dash(s, n) || audit_parse_hash(s, n, d) == 0 ? NULL : "bad digest";
	}
	case AF_PREV:
		return audit_parse_hash(s, n, r->prev) ? "bad prev" : NULL;
	case AF_HASH:
		return audit_parse_hash(s, n, r->hash) ? "bad hash field" : NULL;
	case AF_SIG:
		r->has_sig = !is_dash(s, n);
		return r->has_sig && audit_check_base64(s, n) ? "bad signature field" : NULL;
	default:
		return is_dash(s, n) || check_value(s, n) == 0 ? NULL : "bad value";
	}
}

int audit_rec_parse(struct audit_rec *r, const char *line, size_t len, char *why, size_t whylen)
{
	size_t ml = strlen(AUDIT_MAGIC), off;
	int f;

	memset(r, 0, sizeof *r);
	r->line = line;
	r->len = len;
	if (len < ml || memcmp(line, AUDIT_MAGIC, ml) != 0) {
		snprintf(why, whylen, "not an enf-audit-1 record");
		return ENF_NO;
	}
	off = ml;
	for (f = 0; f < AF_COUNT; f++) {
		const char *name = field_names[f], *v, *sp;
		size_t nl = strlen(name), vl;
		const char *err;

		if (f == AF_HASH)
			r->hashed = off;
		if (len - off < nl + 2 || line[off] != ' ' || memcmp(line + off + 1, name, nl) != 0 ||
		    line[off + 1 + nl] != '=') {
			snprintf(why, whylen, "expected field \"%s\"", name);
			return ENF_NO;
		}
		off += nl + 2;
		v = line + off;
		sp = memchr(v, ' ', len - off);
		vl = sp ? (size_t)(sp - v) : len - off;
		if (f == AF_SIG && sp) {
			snprintf(why, whylen, "text after the signature");
			return ENF_NO;
		}
		if ((err = check_field(r, f, v, vl))) {
			snprintf(why, whylen, "%s: %s", name, err);
			return ENF_NO;
		}
		r->v[f].off = off;
		r->v[f].len = vl;
		off += vl;
	}
	return ENF_OK;
}

int audit_rec_hash_ok(const struct audit_rec *r)
{
	unsigned char h[32];

	if (hash_buf(HASH_SHA256, r->line, r->hashed, h) != ENF_OK)
		return 0;
	return memcmp(h, r->hash, 32) == 0;
}

int audit_rec_absent(const struct audit_rec *r, int f)
{
	return is_dash(r->line + r->v[f].off, r->v[f].len);
}

int audit_rec_value(const struct audit_rec *r, int f, struct wbuf *out)
{
	const char *s = r->line + r->v[f].off;
	size_t n = r->v[f].len, i;

	wbuf_reset(out);
	if (audit_rec_absent(r, f))
		return ENF_NO;
	for (i = 0; i < n; i++) {
		if (s[i] == '%') {
			wbuf_u8(out, (uint8_t)(hexval_upper(s[i + 1]) << 4 | hexval_upper(s[i + 2])));
			i += 2;
		} else {
			wbuf_put(out, &s[i], 1);
		}
	}
	wbuf_cstr_terminate(out);
	return out->failed ? enf_err(ENF_FAIL, "out of memory") : ENF_OK;
}

int audit_rec_sig_ok(const struct audit_rec *r, const struct pubkey *id)
{
	struct wbuf sig;
	int ok;

	if (!r->has_sig)
		return 0;
	wbuf_init(&sig, 0);
	ok = base64_decode(&sig, r->line + r->v[AF_SIG].off, r->v[AF_SIG].len, 1) == ENF_OK &&
	     audit_verify_msg(id, SIGCTX_RECORD, r->hash, 32, sig.p, sig.len) == ENF_OK;
	wbuf_free(&sig);
	return ok;
}

int audit_rec_may_be_unsigned(const struct audit_rec *r)
{
	return r->v[AF_OUTCOME].len == 4 && memcmp(r->line + r->v[AF_OUTCOME].off, "fail", 4) == 0;
}

int audit_anchor_parse(const char *s, struct audit_anchor *a)
{
	const char *colon = strchr(s, ':');

	if (!colon || audit_parse_seq(s, (size_t)(colon - s), &a->seq) ||
	    audit_parse_hash(colon + 1, strlen(colon + 1), a->hash))
		return ENF_NO;
	return ENF_OK;
}
