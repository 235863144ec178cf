/* The audit log: record encoding, parsing and hashing (enf-audit(5)), the
 * serialised, crash-safe append, and verification of a whole log.
 *
 * A record is one line of ASCII: the magic "enf-audit-1", then every field
 * in a fixed order as " name=value".  Values never hold a space, a control
 * byte, a non-ASCII byte or '%': those are written %XX, so no value can end
 * a field or a line early, and each record has exactly one encoding.  The
 * hash covers the line up to " hash=" (prev included: the chain); the
 * signature signs the hash and is itself outside it. */
#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "enf.h"
#include "audit.h"
#include "crypto.h"
#include "encode.h"
#include "io.h"
#include "key.h"
#include "keyfmt.h"

static const char *const field_names[AF_COUNT] = {
	"seq", "time", "instance", "program", "op", "outcome", "reason",
	"key", "identity", "purpose", "scope", "rule", "policy",
	"policy_digest", "request_digest", "peer", "detail", "prev", "hash", "sig",
};

/* Signed messages carry a context so that a record signature can never be
 * taken for a head signature or anything else the identity key signs. */
static const char SIGCTX_RECORD[] = "enf-audit-1 record";
static const char SIGCTX_HEAD[] = "enf-audit-1 head";
#define HEAD_MAGIC "enf-audit-head-1"
#define HEAD_MAX 1024		/* bytes: a head is about 250 */

const char *audit_field_name(int f)
{
	return f >= 0 && f < AF_COUNT ? field_names[f] : "?";
}

/* ---------------------------------------------------------------- encode */

static int needs_escape(unsigned char c)
{
	return c < 0x21 || c > 0x7e || c == '%';
}

static int put_value(struct wbuf *w, const char *s)
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

static int put_hex(struct wbuf *w, const unsigned char *d)
{
	if (!d)
		return wbuf_put(w, "-", 1);
	return hex_encode(w, d, 32) == ENF_OK ? 0 : -1;
}

static int put_field(struct wbuf *w, int f)
{
	return wbuf_printf(w, " %s=", field_names[f]);
}

static void utc_time(int64_t when, char out[32])
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

static int sign_msg(const struct privkey *key, const char *ctx, const void *body, size_t n,
		    struct wbuf *sig)
{
	unsigned char msg[64];
	size_t len;

	if (frame_msg(msg, ctx, body, n, &len) < 0)
		return ENF_FAIL;
	return privkey_sign_ssh(key, msg, len, sig);
}

static int verify_msg(const struct pubkey *id, const char *ctx, const void *body, size_t n,
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
	rc = sign_msg(key, SIGCTX_RECORD, hash, 32, &sig);
	if (rc == ENF_OK)
		rc = base64_encode(w, sig.p, sig.len, 1);
	wbuf_free(&sig);
	return rc == ENF_OK ? 0 : -1;
}

int audit_rec_encode(struct wbuf *out, uint64_t seq, int64_t when, const char *instance_id,
		     const struct audit_event *ev, const unsigned char prev[32],
		     const struct privkey *key, unsigned char hash_out[32])
{
	const char *text[AF_COUNT] = { 0 };
	char tbuf[32];
	size_t start = out->len;
	int f, bad = 0;

	utc_time(when, tbuf);
	text[AF_PROGRAM] = ev->program; text[AF_OP] = ev->op;
	text[AF_OUTCOME] = ev->outcome; text[AF_REASON] = ev->reason;
	text[AF_KEY] = ev->key; text[AF_IDENTITY] = ev->identity;
	text[AF_PURPOSE] = ev->purpose; text[AF_SCOPE] = ev->scope;
	text[AF_RULE] = ev->rule; text[AF_POLICY] = ev->policy_id;
	text[AF_PEER] = ev->peer; text[AF_DETAIL] = ev->detail;
	bad |= wbuf_put(out, AUDIT_MAGIC, strlen(AUDIT_MAGIC));
	bad |= wbuf_printf(out, " seq=%llu time=%s instance=", (unsigned long long)seq, tbuf);
	bad |= put_value(out, instance_id);
	for (f = AF_PROGRAM; f <= AF_DETAIL; f++) {
		bad |= put_field(out, f);
		if (f == AF_POLICY_DIGEST)
			bad |= put_hex(out, ev->policy_digest);
		else if (f == AF_REQUEST_DIGEST)
			bad |= put_hex(out, ev->request_digest);
		else
			bad |= put_value(out, text[f]);
	}
	bad |= put_field(out, AF_PREV);
	bad |= put_hex(out, prev);
	if (bad || out->failed)
		return enf_err(ENF_FAIL, "out of memory");
	if (hash_buf(HASH_SHA256, out->p + start, out->len - start, hash_out) != ENF_OK)
		return enf_err(ENF_FAIL, "cannot hash the record");
	bad |= put_field(out, AF_HASH);
	bad |= put_hex(out, hash_out);
	bad |= put_field(out, AF_SIG);
	bad |= put_sig(out, key, hash_out);
	bad |= wbuf_put(out, "\n", 1);
	if (bad || out->failed)
		return enf_err(ENF_FAIL, "cannot encode or sign the record");
	if (out->len - start > AUDIT_LINE_MAX)
		return enf_err(ENF_FAIL, "record too long");
	return ENF_OK;
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

static int parse_hash(const char *s, size_t n, unsigned char out[32])
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

static int parse_seq(const char *s, size_t n, uint64_t *out)
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

static int check_base64(const char *s, size_t n)
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
		return parse_seq(s, n, &r->seq) ? "bad seq" : NULL;
	case AF_TIME:
		return check_time(s, n) ? "bad time" : NULL;
	case AF_INSTANCE: case AF_PROGRAM: case AF_OP: case AF_OUTCOME:
		return is_dash(s, n) || check_value(s, n) ? "bad or missing value" : NULL;
	case AF_POLICY_DIGEST: case AF_REQUEST_DIGEST: {
		unsigned char d[32];
		return is_dash(s, n) || parse_hash(s, n, d) == 0 ? NULL : "bad digest";
	}
	case AF_PREV:
		return parse_hash(s, n, r->prev) ? "bad prev" : NULL;
	case AF_HASH:
		return parse_hash(s, n, r->hash) ? "bad hash field" : NULL;
	case AF_SIG:
		r->has_sig = !is_dash(s, n);
		return r->has_sig && check_base64(s, n) ? "bad signature field" : NULL;
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
	     verify_msg(id, SIGCTX_RECORD, r->hash, 32, sig.p, sig.len) == ENF_OK;
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

	if (!colon || parse_seq(s, (size_t)(colon - s), &a->seq) ||
	    parse_hash(colon + 1, strlen(colon + 1), a->hash))
		return ENF_NO;
	return ENF_OK;
}

/* ------------------------------------------------------------------ head */

/* audit.head: "enf-audit-head-1 TIPSEQ TIPHASH SSEQ SHASH SIG" where the
 * last three are the last signed record, signed by the identity (always
 * present); the tip is the last record, which may be a refusal written
 * without the key after it. */
struct head {
	uint64_t tip;
	unsigned char tip_hash[32];
	uint64_t sseq;			/* 0: no signed head */
	unsigned char shash[32];
	char *sig;			/* base64, malloc'd */
};

static void head_free(struct head *h)
{
	free(h->sig);
	h->sig = NULL;
}

static int next_tok(char **p, char **tok)
{
	char *s = *p, *e;

	if (*s != ' ')
		return -1;
	s++;
	e = s + strcspn(s, " \n");
	*tok = s;
	*p = e;
	if (e == s)
		return -1;
	return 0;
}

/* A head's sequence numbers may be 0: the genesis head (tip 0, sseq 0,
 * both hashes the zero prev of record 1), which the first append writes
 * before its record (head_genesis). */
static int parse_head_seq(const char *s, uint64_t *out)
{
	if (strcmp(s, "0") == 0) {
		*out = 0;
		return 0;
	}
	return parse_seq(s, strlen(s), out);
}

static int head_parse(char *text, size_t n, struct head *h)
{
	char *p = text, *t[5];
	size_t ml = strlen(HEAD_MAGIC);
	int i;

	memset(h, 0, sizeof *h);
	if (n < ml || memcmp(text, HEAD_MAGIC, ml) != 0 || memchr(text, '\0', n) ||
	    n == 0 || text[n - 1] != '\n' || memchr(text, '\n', n) != text + n - 1)
		return -1;
	p += ml;
	for (i = 0; i < 5; i++)
		if (next_tok(&p, &t[i]))
			return -1;
	if (*p != '\n')
		return -1;
	for (i = 0; i < 5; i++)
		t[i][strcspn(t[i], " \n")] = '\0';
	if (parse_head_seq(t[0], &h->tip) || parse_hash(t[1], strlen(t[1]), h->tip_hash))
		return -1;
	/* The signed part is not optional: an unsigned head would let anyone
	 * who can write the file point it wherever they like. */
	if (parse_head_seq(t[2], &h->sseq) || parse_hash(t[3], strlen(t[3]), h->shash) ||
	    check_base64(t[4], strlen(t[4])) || h->sseq > h->tip)
		return -1;
	h->sig = strdup(t[4]);
	return h->sig ? 0 : -1;
}

/* ENF_OK with *present = 0 when there is no head file; ENF_NO when it is
 * not a regular file (a symbolic link is not followed: whoever planted it
 * would choose what the head says) or does not parse. */
static int head_read(const char *path, struct head *h, int *present)
{
	char text[HEAD_MAX + 1];
	struct stat st;
	size_t n = 0;
	ssize_t r = 0;
	int fd, rc;

	memset(h, 0, sizeof *h);
	*present = 0;
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT)
		return ENF_OK;
	if (fd < 0)
		return errno == ELOOP ? enf_err(ENF_NO, "%s is a symbolic link; refusing it", path) :
			enf_err(ENF_FAIL, "%s: %s", path, strerror(errno));
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return enf_err(ENF_NO, "%s is not a regular file; refusing it", path);
	}
	while (n < sizeof text && ((r = read(fd, text + n, sizeof text - n)) > 0 ||
				   (r < 0 && errno == EINTR)))
		n += r > 0 ? (size_t)r : 0;
	rc = r < 0 ? enf_err(ENF_FAIL, "%s: %s", path, strerror(errno)) : ENF_OK;
	close(fd);
	if (rc != ENF_OK)
		return rc;
	if (n <= HEAD_MAX)
		text[n] = '\0';
	if (n > HEAD_MAX || head_parse(text, n, h))
		return enf_err(ENF_NO, "%s: malformed or without its signed part (see "
			       "enf-audit(5), HEAD)", path);
	*present = 1;
	return ENF_OK;
}

static int head_sig_ok(const struct head *h, const struct pubkey *id)
{
	unsigned char body[40];
	struct wbuf sig;
	int ok;

	for (int i = 0; i < 8; i++)
		body[i] = (unsigned char)(h->sseq >> (56 - 8 * i));
	memcpy(body + 8, h->shash, 32);
	wbuf_init(&sig, 0);
	ok = base64_decode(&sig, h->sig, strlen(h->sig), 1) == ENF_OK &&
	     verify_msg(id, SIGCTX_HEAD, body, sizeof body, sig.p, sig.len) == ENF_OK;
	wbuf_free(&sig);
	return ok;
}

/* The signed part of the last head this process (or, with
 * audit_share_head_memo, any of the agent's handlers) signed or verified:
 * SHA-256 of the identity's key, SSEQ, SHASH and SIG.  An append that finds
 * exactly that in audit.head knows its signature is good without verifying
 * it again (one Ed25519 verify of every agent request); anything else, a
 * head written elsewhere or altered, is verified as always.  Read and
 * written only under the log's lock. */
static unsigned char head_memo_own[32], *head_memo = head_memo_own;

void audit_share_head_memo(void *mem)
{
	head_memo = mem ? mem : head_memo_own;
}

static void head_digest(const struct pubkey *id, uint64_t sseq, const unsigned char shash[32],
			const char *sig, size_t siglen, unsigned char out[32])
{
	struct wbuf w;

	wbuf_init(&w, 0);
	wbuf_string(&w, id->blob, id->bloblen);
	wbuf_printf(&w, "%llu ", (unsigned long long)sseq);
	wbuf_put(&w, shash, 32);
	wbuf_put(&w, sig, siglen);
	if (w.failed || hash_buf(HASH_SHA256, w.p, w.len, out) != ENF_OK)
		memset(out, 0, 32);
	wbuf_free(&w);
}

static void head_remember(const struct pubkey *id, uint64_t sseq, const unsigned char shash[32],
			  const char *sig, size_t siglen)
{
	head_digest(id, sseq, shash, sig, siglen, head_memo);
}

static int head_known_good(const struct head *h, const struct pubkey *id)
{
	static const unsigned char none[32];
	unsigned char d[32];

	head_digest(id, h->sseq, h->shash, h->sig, strlen(h->sig), d);
	return memcmp(d, none, 32) != 0 && memcmp(d, head_memo, 32) == 0;
}

static int head_encode(struct wbuf *w, uint64_t tip, const unsigned char tip_hash[32],
		       const struct privkey *key, const struct head *old)
{
	wbuf_printf(w, "%s %llu ", HEAD_MAGIC, (unsigned long long)tip);
	hex_encode(w, tip_hash, 32);
	if (key) {
		unsigned char body[40];
		struct wbuf sig;
		int rc;

		for (int i = 0; i < 8; i++)
			body[i] = (unsigned char)(tip >> (56 - 8 * i));
		memcpy(body + 8, tip_hash, 32);
		wbuf_init(&sig, 0);
		rc = sign_msg(key, SIGCTX_HEAD, body, sizeof body, &sig);
		wbuf_printf(w, " %llu ", (unsigned long long)tip);
		hex_encode(w, tip_hash, 32);
		wbuf_put(w, " ", 1);
		size_t at = w->len;
		if (rc == ENF_OK && base64_encode(w, sig.p, sig.len, 1) == ENF_OK && !w->failed)
			head_remember(&key->pub, tip, tip_hash, (const char *)w->p + at, w->len - at);
		wbuf_free(&sig);
		if (rc != ENF_OK)
			return ENF_FAIL;
	} else if (old && old->sseq) {
		wbuf_printf(w, " %llu ", (unsigned long long)old->sseq);
		hex_encode(w, old->shash, 32);
		wbuf_printf(w, " %s", old->sig);
	} else {
		return enf_err(ENF_FAIL, "no signed head to keep");
	}
	wbuf_put(w, "\n", 1);
	return w->failed ? ENF_FAIL : ENF_OK;
}

/* Under the log's lock, so a fixed temp name is safe and a crash leaves at
 * most that one file, which the next append overwrites. */
static int head_write(const char *home, const struct wbuf *w)
{
	char *path = home_path(home, AUDIT_HEAD_FILE), *tmp = home_path(home, AUDIT_HEAD_FILE ".tmp");
	int fd = -1, rc = ENF_FAIL, e = ENOMEM;

	if (!path || !tmp)
		goto out;
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0 || io_write_all(fd, w->p, w->len) < 0 || fsync(fd) < 0 || rename(tmp, path) < 0)
		e = errno;
	else
		rc = ENF_OK;
out:
	if (rc != ENF_OK)
		enf_err(ENF_FAIL, "cannot update %s: %s", path ? path : AUDIT_HEAD_FILE, strerror(e));
	if (fd >= 0)
		close(fd);
	if (rc != ENF_OK && tmp)
		unlink(tmp);
	free(path);
	free(tmp);
	return rc;
}

/* Before the first record of a log: a head that signs "nothing yet" (tip
 * 0), so that a crash between that record and its head leaves a log the
 * next append can check and catch up with, as after any other record,
 * rather than records and no head, which looks like a deleted head and is
 * refused.  A missing head therefore always means a deleted one. */
static int head_genesis(const char *home, const struct privkey *key)
{
	static const unsigned char zero[32];
	struct wbuf w;
	int rc;

	wbuf_init(&w, 0);
	rc = head_encode(&w, 0, zero, key, NULL);
	if (rc == ENF_OK)
		rc = head_write(home, &w);
	wbuf_free(&w);
	return rc;
}

/* ------------------------------------------------------------------- gap */

/* A record that could not be written leaves a line in audit.gap beside the
 * log (enf-audit(5), GAPS): a small file of its own, so that it can still
 * be written when the log is refused or its disk has no room for a record.
 * The next signed append records it and moves it to audit.gap.SEQ. */
#define GAP_MAGIC "enf-audit-gap-1"
#define GAP_SUMMARY_MAX 4096		/* bytes of the file quoted in the record */

static int put_gap_value(struct wbuf *w, const char *name, const char *v)
{
	return wbuf_printf(w, " %s=", name) || put_value(w, v) ? -1 : 0;
}

static int gap_line(struct wbuf *w, const struct audit_event *ev, const char *why)
{
	char tbuf[32];
	int bad = 0;

	utc_time((int64_t)time(NULL), tbuf);
	bad |= wbuf_printf(w, "%s time=%s", GAP_MAGIC, tbuf);
	bad |= put_gap_value(w, "program", ev->program);
	bad |= put_gap_value(w, "op", ev->op);
	bad |= put_gap_value(w, "outcome", ev->outcome);
	bad |= put_gap_value(w, "reason", ev->reason);
	bad |= put_gap_value(w, "key", ev->key);
	bad |= put_gap_value(w, "identity", ev->identity);
	bad |= put_gap_value(w, "rule", ev->rule);
	bad |= wbuf_printf(w, " request_digest=");
	bad |= put_hex(w, ev->request_digest);
	bad |= put_gap_value(w, "why", why);
	bad |= wbuf_put(w, "\n", 1);
	return bad || w->failed ? -1 : 0;
}

/* Open audit.gap to add to it, under its lock, and make sure the file we
 * hold is still the one at the path (an append may have just moved it). */
static int gap_open_append(const char *path)
{
	for (int tries = 0; tries < 4; tries++) {
		struct stat st, now;
		int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_NOFOLLOW | O_CLOEXEC, 0600);

		if (fd < 0)
			return -1;
		if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_uid != geteuid() ||
		    (st.st_mode & 077) || flock(fd, LOCK_EX) < 0) {
			close(fd);
			errno = EPERM;
			return -1;
		}
		if (lstat(path, &now) == 0 && now.st_ino == st.st_ino && now.st_dev == st.st_dev)
			return fd;
		close(fd);
	}
	errno = EAGAIN;
	return -1;
}

/* The trace of a record that could not be written.  Best effort: if even
 * this fails, the message on stderr is all there is. */
static void gap_note(const char *home, const struct audit_event *ev, const char *why)
{
	char *path = home_path(home, AUDIT_GAP_FILE);
	struct wbuf w;
	int fd = path ? gap_open_append(path) : -1;

	wbuf_init(&w, 0);
	if (fd < 0 || gap_line(&w, ev, why) < 0 || io_write_all(fd, w.p, w.len) < 0 ||
	    fsync(fd) < 0)
		enf_warn("audit: nor can %s record that it is missing: %s",
			 path ? path : AUDIT_GAP_FILE, strerror(errno));
	if (fd >= 0)
		close(fd);
	wbuf_free(&w);
	free(path);
}

/* A pending audit.gap, opened and locked by the appender. */
struct gap {
	int fd;				/* -1: none */
	char *path;
	uint64_t lines, bytes;
	unsigned char sha[32];
	char first[GAP_SUMMARY_MAX + 1];	/* the start of the file, for the record */
	uint64_t seq;			/* the gap record's number, once built */
};

static void gap_close(struct gap *g)
{
	if (g->fd >= 0)
		close(g->fd);
	free(g->path);
	g->fd = -1;
	g->path = NULL;
}

/* Only a writer holding the key takes audit.gap in: a record of it must be
 * signed, and a refusal (the only unsigned kind) cannot say it. */
static int gap_take(const char *home, struct gap *g)
{
	unsigned char buf[8192];
	struct hash_ctx md;
	struct stat st;
	ssize_t r;

	memset(g, 0, sizeof *g);
	g->fd = -1;
	if (!(g->path = home_path(home, AUDIT_GAP_FILE)))
		return enf_err(ENF_FAIL, "out of memory");
	g->fd = open(g->path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (g->fd < 0)		/* none, or not a file we may read: verify reports it */
		return ENF_OK;
	if (fstat(g->fd, &st) < 0 || !S_ISREG(st.st_mode) || flock(g->fd, LOCK_EX) < 0 ||
	    hash_begin(&md, HASH_SHA256) != ENF_OK) {
		gap_close(g);
		return ENF_OK;
	}
	while ((r = read(g->fd, buf, sizeof buf)) > 0 || (r < 0 && errno == EINTR)) {
		for (ssize_t i = 0; i < r; i++)
			g->lines += buf[i] == '\n';
		if (g->bytes < GAP_SUMMARY_MAX) {
			size_t n = (size_t)r < GAP_SUMMARY_MAX - g->bytes ? (size_t)r :
				GAP_SUMMARY_MAX - (size_t)g->bytes;
			memcpy(g->first + g->bytes, buf, n);
			g->first[g->bytes + n] = '\0';
		}
		g->bytes += r > 0 ? (uint64_t)r : 0;
		hash_update(&md, buf, r > 0 ? (size_t)r : 0);
	}
	if (hash_end(&md, g->sha) != ENF_OK || r < 0)
		gap_close(g);
	return ENF_OK;
}

/* "N record(s) could not be written ...: <the first of them>" */
static void gap_detail(const struct gap *g, uint64_t seq, char *out, size_t n)
{
	char hex[65];
	const char *first = g->first;
	size_t ml = strlen(GAP_MAGIC " ");
	int k;

	for (int i = 0; i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", g->sha[i]);
	if (strncmp(first, GAP_MAGIC " ", ml) == 0)
		first += ml;
	k = snprintf(out, n, "%llu record(s) could not be written (from audit.gap, not "
		     "authenticated, %llu bytes, sha256 %s, kept as audit.gap.%llu)%s",
		     (unsigned long long)g->lines, (unsigned long long)g->bytes, hex,
		     (unsigned long long)seq, g->bytes ? "; the first: " : "");
	if (k > 0 && (size_t)k < n)
		snprintf(out + k, n - (size_t)k, "%.*s", (int)strcspn(first, "\n"), first);
}

/* The gap is in the log: move the file aside (under its lock, so that a
 * writer adding to it either got in before or finds the path free). */
static void gap_done(const char *home, struct gap *g)
{
	char suffix[40], *to;

	snprintf(suffix, sizeof suffix, AUDIT_GAP_FILE ".%llu", (unsigned long long)g->seq);
	to = home_path(home, suffix);
	if (!to || rename(g->path, to) < 0)
		enf_warn("audit: recorded %s as record %llu but cannot move it aside: %s",
			 g->path, (unsigned long long)g->seq, strerror(errno));
	free(to);
}

/* ---------------------------------------------------------------- append */

/* What the end of the log holds: the last good record and what to drop. */
struct tail {
	uint64_t seq;			/* 0: empty log */
	unsigned char hash[32];
	off_t keep;			/* bytes to keep */
	size_t dropped;
	const char *why;		/* why bytes are dropped */
	unsigned char dropped_sha[32];
};

/* Last line of buf[0..n) (n ends right after a '\n'): its start. */
static const char *last_line(const char *buf, size_t n)
{
	const char *p = buf + n - 1;

	while (p > buf && p[-1] != '\n')
		p--;
	return p;
}

static int tail_record(const char *line, size_t len, struct tail *t)
{
	struct audit_rec r;
	char why[128];

	if (audit_rec_parse(&r, line, len, why, sizeof why) != ENF_OK || !audit_rec_hash_ok(&r))
		return -1;
	t->seq = r.seq;
	memcpy(t->hash, r.hash, 32);
	return 0;
}

static int tail_scan(int fd, off_t size, const char *path, struct tail *t)
{
	size_t want = 3 * AUDIT_LINE_MAX, n, frag = 0;
	off_t start = size > (off_t)want ? size - (off_t)want : 0;
	char *buf;
	const char *line;
	ssize_t got;

	memset(t, 0, sizeof *t);
	t->keep = size;
	if (size == 0)
		return ENF_OK;
	n = (size_t)(size - start);
	if (!(buf = malloc(n)))
		return enf_err(ENF_FAIL, "out of memory");
	got = pread(fd, buf, n, start);
	if (got != (ssize_t)n) {
		free(buf);
		return enf_err(ENF_FAIL, "cannot read %s", path);
	}
	while (frag < n && buf[n - 1 - frag] != '\n')
		frag++;
	if (frag) {
		t->why = "incomplete last line";
		if (frag == n && start > 0)
			goto damaged;
	}
	n -= frag;
	for (int pass = 0; n > 0; pass++) {
		line = last_line(buf, n);
		if (line == buf && start > 0)
			goto damaged;
		if (tail_record(line, (size_t)(buf + n - 1 - line), t) == 0)
			break;
		if (pass == 1)
			goto damaged;
		t->why = "last record did not verify";
		frag += (size_t)(buf + n - line);
		n = (size_t)(line - buf);
	}
	if (frag) {
		t->dropped = frag;
		t->keep = size - (off_t)frag;
		hash_buf(HASH_SHA256, buf + n, frag, t->dropped_sha);
	}
	free(buf);
	return ENF_OK;
damaged:
	free(buf);
	return enf_err(ENF_FAIL, "%s: the end of the log is damaged beyond a torn record; "
		       "run enf-audit verify", path);
}

#define NOT_IN_WINDOW (-1)

/* The records from the signed head's record to the end of [p, end) (whole
 * lines): ENF_OK when they are all there and good, NOT_IN_WINDOW when the
 * head's record is before p (read further back), ENF_FAIL (message set)
 * when they are not. */
static int walk_since_head(const char *p, const char *end, int from_start, const struct head *h,
			   const struct pubkey *id, const char *path)
{
	struct audit_rec r;
	unsigned char prev[32];
	uint64_t expect = 0;
	char why[128];

	/* The genesis head signs the zero prev of record 1: the walk starts
	 * before the first record (check_since_head reads from the start). */
	if (h->sseq == 0) {
		if (!from_start)
			return NOT_IN_WINDOW;
		memcpy(prev, h->shash, 32);
		expect = 1;
	}
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		int parsed = audit_rec_parse(&r, p, (size_t)(nl - p), why, sizeof why) == ENF_OK;

		p = nl + 1;
		if (!expect) {
			if (!parsed || r.seq < h->sseq)
				continue;
			if (r.seq > h->sseq)
				break;
			if (!audit_rec_hash_ok(&r) || memcmp(r.hash, h->shash, 32) != 0 || !r.has_sig)
				return enf_err(ENF_FAIL, "%s: record %llu differs from the signed "
					       AUDIT_HEAD_FILE, path, (unsigned long long)r.seq);
			memcpy(prev, r.hash, 32);
			expect = r.seq + 1;
			continue;
		}
		if (!parsed || r.seq != expect || memcmp(r.prev, prev, 32) != 0 ||
		    !audit_rec_hash_ok(&r))
			return enf_err(ENF_FAIL, "%s: record %llu does not follow record %llu",
				       path, (unsigned long long)expect, (unsigned long long)(expect - 1));
		/* After the signed head only a refusal, or a signed record whose
		 * head was never written (a crash), can stand: chaining onto
		 * anything else would sign what the instance never wrote. */
		if (r.has_sig ? !audit_rec_sig_ok(&r, id) : !audit_rec_may_be_unsigned(&r))
			return enf_err(ENF_FAIL, "%s: record %llu %s", path, (unsigned long long)r.seq,
				       r.has_sig ? "has a signature that does not verify" :
				       "is not signed and not a refusal");
		if (r.seq == h->tip && memcmp(r.hash, h->tip_hash, 32) != 0)
			return enf_err(ENF_FAIL, "%s: record %llu differs from " AUDIT_HEAD_FILE,
				       path, (unsigned long long)r.seq);
		memcpy(prev, r.hash, 32);
		expect++;
	}
	if (expect)
		return ENF_OK;
	return from_start ? enf_err(ENF_FAIL, "%s: record %llu, the last signed one by "
				    AUDIT_HEAD_FILE ", is missing", path,
				    (unsigned long long)h->sseq) : NOT_IN_WINDOW;
}

/* Read back from the end of the log (keep bytes) until the signed head's
 * record is in the window: usually it is the last record, or a few
 * refusals before it. */
static int check_since_head(int fd, off_t keep, const char *path, const struct head *h,
			    const struct pubkey *id)
{
	size_t want = h->sseq ? 3 * AUDIT_LINE_MAX : (size_t)keep;

	for (;;) {
		off_t start = keep > (off_t)want ? keep - (off_t)want : 0;
		size_t n = (size_t)(keep - start);
		char *buf = malloc(n ? n : 1);
		const char *p;
		int rc;

		if (!buf)
			return enf_err(ENF_FAIL, "out of memory");
		if (pread(fd, buf, n, start) != (ssize_t)n) {
			free(buf);
			return enf_err(ENF_FAIL, "cannot read %s", path);
		}
		p = buf;
		if (start > 0)		/* skip the partial first line */
			p = (p = memchr(buf, '\n', n)) ? p + 1 : buf + n;
		rc = walk_since_head(p, buf + n, start == 0, h, id, path);
		free(buf);
		if (rc != NOT_IN_WINDOW)
			return rc;
		want *= 4;
	}
}

/* Refuse to write over evidence: a log shorter than, or different from,
 * what the signed audit.head recorded was cut or altered, and appending
 * would hide it (and sign the result). */
static int tail_vs_head(int fd, const struct tail *t, const struct head *h, int present,
			const struct pubkey *id, int signing, const char *path)
{
	if (!present) {
		if (t->seq || t->dropped)
			return enf_err(ENF_FAIL, "%s holds records but " AUDIT_HEAD_FILE " is missing; "
				       "not appending (see enf-audit(5), RECOVERY)", path);
		return signing ? ENF_OK : enf_err(ENF_FAIL, "%s is empty, and a record without the "
						  "instance key cannot start it", path);
	}
	if (t->dropped && !signing)
		return enf_err(ENF_FAIL, "the end of %s needs a repair, which only a writer "
			       "holding the instance key records", path);
	if (t->seq < h->tip)
		return enf_err(ENF_FAIL, "%s ends at record %llu but " AUDIT_HEAD_FILE
			       " records %llu: the log was cut short; not appending", path,
			       (unsigned long long)t->seq, (unsigned long long)h->tip);
	if (!head_known_good(h, id)) {
		if (!head_sig_ok(h, id))
			return enf_err(ENF_FAIL, AUDIT_HEAD_FILE ": its signature does not verify; "
				       "not appending to %s", path);
		head_remember(id, h->sseq, h->shash, h->sig, strlen(h->sig));
	}
	return check_since_head(fd, t->keep, path, h, id);
}

static int open_log(const char *path, int *fdp)
{
	int fd;

	if (io_open_private(path, O_RDWR | O_CREAT | O_APPEND, 0600, &fd) != ENF_OK)
		return ENF_FAIL;
	while (flock(fd, LOCK_EX) < 0) {
		if (errno != EINTR) {
			close(fd);
			return enf_err(ENF_FAIL, "cannot lock %s: %s", path, strerror(errno));
		}
	}
	*fdp = fd;
	return ENF_OK;
}

static int build_records(struct wbuf *w, const struct tail *t, struct gap *g,
			 const char *instance_id, const struct privkey *key,
			 const struct audit_event *evs, size_t n, uint64_t *seqs,
			 unsigned char hash[32])
{
	static const unsigned char zero[32];
	int64_t now = (int64_t)time(NULL);
	const unsigned char *prev = t->seq ? t->hash : zero;
	uint64_t seq = t->seq + 1;
	int rc;

	if (t->dropped) {
		char detail[160], hex[65];
		struct audit_event rep = {
			.program = evs[0].program, .op = "repair", .outcome = "ok",
			.reason = "torn-tail", .detail = detail,
		};
		for (int i = 0; i < 32; i++)
			snprintf(hex + 2 * i, 3, "%02x", t->dropped_sha[i]);
		snprintf(detail, sizeof detail, "dropped %zu bytes (%s), sha256 %s",
			 t->dropped, t->why, hex);
		if ((rc = audit_rec_encode(w, seq++, now, instance_id, &rep, prev, key, hash)))
			return rc;
		prev = hash;
	}
	if (g->fd >= 0) {
		char detail[AUDIT_VALUE_MAX + 1];
		struct audit_event gr = {
			.program = evs[0].program, .op = "gap", .outcome = "ok",
			.reason = "unrecorded", .detail = detail,
		};
		gap_detail(g, seq, detail, sizeof detail);
		if ((rc = audit_rec_encode(w, seq, now, instance_id, &gr, prev, key, hash)))
			return rc;
		prev = hash;
		g->seq = seq++;
	}
	/* Each event chained to the one before: one write, one fsync for all. */
	for (size_t i = 0; i < n; i++) {
		seqs[i] = seq++;
		if ((rc = audit_rec_encode(w, seqs[i], now, instance_id, &evs[i], prev, key, hash)))
			return rc;
		prev = hash;
	}
	return ENF_OK;
}

static int append_locked(int fd, const char *path, const char *home, const struct pubkey *id,
			 const char *instance_id, const struct privkey *key,
			 const struct audit_event *evs, size_t n, uint64_t *seqs)
{
	struct tail t;
	struct head h;
	struct gap g = { .fd = -1 };
	struct wbuf w, hw;
	struct stat st;
	unsigned char hash[32];
	char *hpath = home_path(home, AUDIT_HEAD_FILE);
	int present = 0, rc, written = 0;

	wbuf_init(&w, 0);
	wbuf_init(&hw, 0);
	memset(&h, 0, sizeof h);
	if (!hpath)
		rc = enf_err(ENF_FAIL, "out of memory");
	else if (fstat(fd, &st) < 0)
		rc = enf_err(ENF_FAIL, "cannot stat %s: %s", path, strerror(errno));
	else if ((rc = tail_scan(fd, st.st_size, path, &t)) == ENF_OK &&
		 (rc = head_read(hpath, &h, &present)) == ENF_OK &&
		 (rc = tail_vs_head(fd, &t, &h, present, id, key != NULL, path)) == ENF_OK &&
		 (rc = present || !key ? ENF_OK : head_genesis(home, key)) == ENF_OK &&
		 (rc = key ? gap_take(home, &g) : ENF_OK) == ENF_OK &&
		 (rc = build_records(&w, &t, &g, instance_id, key, evs, n, seqs, hash)) == ENF_OK &&
		 (rc = head_encode(&hw, seqs[n - 1], hash, key, &h)) == ENF_OK) {
		if (t.dropped && ftruncate(fd, t.keep) < 0)
			rc = enf_err(ENF_FAIL, "cannot repair %s: %s", path, strerror(errno));
		else if (io_write_all(fd, w.p, w.len) < 0 || fsync(fd) < 0)
			rc = enf_err(ENF_FAIL, "cannot write %s: %s", path, strerror(errno));
		else {
			written = 1;
			/* The record is in the log: say so, not that it was lost.  The
			 * next append finds it after the old head and catches up. */
			if (head_write(home, &hw) != ENF_OK)
				enf_warn("audit: record %llu written, but %s; the next append "
					 "updates it", (unsigned long long)seqs[n - 1], enf_errmsg());
		}
	}
	if (rc != ENF_OK && rc != ENF_FAIL)
		rc = ENF_FAIL;
	if (written && g.fd >= 0)
		gap_done(home, &g);
	gap_close(&g);
	head_free(&h);
	wbuf_free(&w);
	wbuf_free(&hw);
	free(hpath);
	return rc;
}

/* What may be appended at all: a record without the key only if it is a
 * refusal, and never a repair of someone else's tail. */
static int event_ok(const struct audit_event *ev, const struct privkey *key)
{
	if (!ev || !ev->program || !ev->op || !ev->outcome)
		return enf_err(ENF_FAIL, "incomplete audit event");
	if (!key && strcmp(ev->outcome, "fail") != 0)
		return enf_err(ENF_FAIL, "only a refusal (outcome fail) may be recorded without "
			       "the instance key");
	return ENF_OK;
}

/* Append n events in one locked write (n = 1 for every program but a
 * batch).  seqs[i] is each record's sequence number, or 0 for all when
 * nothing could be written; the failure is reported and left as a gap. */
static int append_events(const char *home, const struct pubkey *id, const struct privkey *key,
			 const struct audit_event *evs, size_t n, uint64_t *seqs)
{
	char saved[512], instance_id[FINGERPRINT_MAX], *path = NULL;
	int fd = -1, rc = ENF_OK;

	/* The caller's pending error message must survive our own. */
	snprintf(saved, sizeof saved, "%s", enf_errmsg());
	memset(seqs, 0, n * sizeof *seqs);
	for (size_t i = 0; i < n && rc == ENF_OK; i++)
		rc = event_ok(&evs[i], key);
	if (rc != ENF_OK)
		;
	else if (!home || !id)
		rc = enf_err(ENF_FAIL, "no instance");
	else if (crypto_init() != ENF_OK)
		rc = enf_err(ENF_FAIL, "cannot initialise the crypto library");
	else if (!(path = home_path(home, AUDIT_FILE)))
		rc = enf_err(ENF_FAIL, "out of memory");
	else if ((rc = open_log(path, &fd)) == ENF_OK) {
		pubkey_fingerprint(id, instance_id);
		rc = append_locked(fd, path, home, id, instance_id, key, evs, n, seqs);
	}
	if (rc != ENF_OK) {
		char why[256];

		snprintf(why, sizeof why, "%s", enf_errmsg());
		for (size_t i = 0; i < n; i++) {
			const struct audit_event *ev = &evs[i];

			enf_warn("audit: cannot write the record (%s %s %s): %s",
				 ev->program ? ev->program : "?", ev->op ? ev->op : "?",
				 ev->outcome ? ev->outcome : "?", why);
			if (home && ev->program && ev->op && ev->outcome)
				gap_note(home, ev, why);
		}
		memset(seqs, 0, n * sizeof *seqs);
	}
	if (fd >= 0)
		close(fd);	/* releases the lock */
	free(path);
	enf_err(ENF_OK, "%s", saved);
	return rc;
}

uint64_t audit_append_raw(const char *home, const struct pubkey *id,
			  const struct privkey *key, const struct audit_event *ev)
{
	uint64_t seq = 0;

	if (!ev) {
		enf_warn("audit: cannot write the record: incomplete audit event");
		return 0;
	}
	append_events(home, id, key, ev, 1, &seq);
	return seq;
}

static const struct privkey *writer_key(const struct keystore *ks)
{
	return ks_unlocked_role(ks) >= 0 ? ks_identity_key(ks) : NULL;
}

uint64_t audit_append(struct keystore *ks, const struct audit_event *ev)
{
	if (!ks) {
		enf_warn("audit: cannot write the record: no instance");
		return 0;
	}
	return audit_append_raw(ks_home(ks), ks_identity_pub(ks), writer_key(ks), ev);
}

int audit_append_many(struct keystore *ks, const struct audit_event *evs, size_t n,
		      uint64_t *seqs)
{
	if (n == 0)
		return ENF_OK;
	if (!ks) {
		memset(seqs, 0, n * sizeof *seqs);
		enf_warn("audit: cannot write the records: no instance");
		return ENF_FAIL;
	}
	return append_events(ks_home(ks), ks_identity_pub(ks), writer_key(ks), evs, n, seqs);
}

/* ------------------------------------------------------------------- map */

int audit_map_open(struct audit_map *m, const char *path)
{
	struct stat st;

	memset(m, 0, sizeof *m);
	m->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (m->fd < 0)
		return enf_err(ENF_FAIL, "%s: %s", path, strerror(errno));
	/* A shared lock for the instant of taking the size: appends are whole
	 * records written under the exclusive lock, so this size ends on one. */
	flock(m->fd, LOCK_SH);
	if (fstat(m->fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(m->fd);
		return enf_err(ENF_FAIL, "%s: not a regular file", path);
	}
	m->len = (size_t)st.st_size;
	flock(m->fd, LOCK_UN);
	if (m->len == 0)
		return ENF_OK;
	m->p = mmap(NULL, m->len, PROT_READ, MAP_PRIVATE, m->fd, 0);
	if (m->p == MAP_FAILED) {
		m->p = NULL;
		close(m->fd);
		return enf_err(ENF_FAIL, "%s: cannot map: %s", path, strerror(errno));
	}
	madvise((void *)m->p, m->len, MADV_SEQUENTIAL);
	return ENF_OK;
}

void audit_map_close(struct audit_map *m)
{
	if (m->p)
		munmap((void *)m->p, m->len);
	if (m->fd >= 0)
		close(m->fd);
	m->p = NULL;
	m->fd = -1;
}

int audit_head(const char *log, uint64_t *seq, unsigned char hash[32])
{
	struct audit_map m;
	struct tail t;
	int rc = audit_map_open(&m, log);
	const char *line, *end;

	if (rc != ENF_OK)
		return rc;
	end = m.p ? m.p + m.len : NULL;
	while (end && end > m.p && end[-1] != '\n')
		end--;
	if (!end || end == m.p) {
		audit_map_close(&m);
		return enf_err(ENF_NO, "%s: no complete record", log);
	}
	line = last_line(m.p, (size_t)(end - m.p));
	rc = tail_record(line, (size_t)(end - 1 - line), &t) == 0 ? ENF_OK :
		enf_err(ENF_NO, "%s: the last record is malformed or its hash is wrong", log);
	if (rc == ENF_OK) {
		*seq = t.seq;
		memcpy(hash, t.hash, 32);
	}
	audit_map_close(&m);
	return rc;
}

/* ---------------------------------------------------------------- verify */

struct checkpoint {
	uint64_t seq;
	unsigned char hash[32];
	char what[64];
};

struct vstate {
	const struct audit_verify_opts *o;
	struct audit_verify_result *res;
	const char *base;
	struct wbuf inst;		/* the expected instance value, encoded */
	size_t *sig_off;		/* line offsets of the signed records */
	size_t nsig, capsig;
	struct checkpoint cp[64];
	size_t ncp;
	struct head head;
	int head_present;
	uint64_t cp_bad;		/* first record that differs from a checkpoint */
	char cp_why[80];
	int show_progress;
};

static int bad(struct audit_verify_result *res, uint64_t seq, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int bad(struct audit_verify_result *res, uint64_t seq, const char *fmt, ...)
{
	char msg[200];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	res->bad = seq;
	if (seq)
		snprintf(res->why, sizeof res->why, "record %llu: %s", (unsigned long long)seq, msg);
	else
		snprintf(res->why, sizeof res->why, "%s", msg);
	return ENF_NO;
}

static int map_locked(struct audit_map *m, const char *path, struct vstate *vs)
{
	struct stat st;
	int rc = ENF_OK;

	memset(m, 0, sizeof *m);
	m->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (m->fd < 0)
		return enf_err(ENF_FAIL, "%s: %s", path, strerror(errno));
	/* Log size and head are taken together under a shared lock, so that a
	 * concurrent append cannot make the head look ahead of the log. */
	flock(m->fd, LOCK_SH);
	if (fstat(m->fd, &st) < 0 || !S_ISREG(st.st_mode))
		rc = enf_err(ENF_FAIL, "%s: not a regular file", path);
	else if (vs->o->head && (rc = head_read(vs->o->head, &vs->head, &vs->head_present)) ==
		 ENF_NO)
		rc = bad(vs->res, 0, "%s", enf_errmsg());
	m->len = rc == ENF_OK ? (size_t)st.st_size : 0;
	flock(m->fd, LOCK_UN);
	if (rc == ENF_OK && m->len) {
		m->p = mmap(NULL, m->len, PROT_READ, MAP_PRIVATE, m->fd, 0);
		if (m->p == MAP_FAILED) {
			m->p = NULL;
			rc = enf_err(ENF_FAIL, "%s: cannot map: %s", path, strerror(errno));
		} else {
			madvise((void *)m->p, m->len, MADV_SEQUENTIAL);
		}
	}
	if (rc != ENF_OK)
		audit_map_close(m);
	return rc;
}

static int add_checkpoint(struct vstate *vs, uint64_t seq, const unsigned char hash[32],
			  const char *what)
{
	struct checkpoint *c;

	if (vs->ncp == sizeof vs->cp / sizeof vs->cp[0])
		return enf_err(ENF_USAGE, "too many anchors");
	c = &vs->cp[vs->ncp++];
	c->seq = seq;
	memcpy(c->hash, hash, 32);
	snprintf(c->what, sizeof c->what, "%s", what);
	return ENF_OK;
}

static int checkpoints_setup(struct vstate *vs)
{
	const struct audit_verify_opts *o = vs->o;
	int rc = ENF_OK;

	for (size_t i = 0; rc == ENF_OK && i < o->nanchors; i++)
		rc = add_checkpoint(vs, o->anchors[i].seq, o->anchors[i].hash, "the anchor");
	if (rc != ENF_OK || !o->head)
		return rc;
	if (!vs->head_present)
		return o->head_required ? bad(vs->res, 0, "%s is missing: cannot tell whether the "
					      "log was cut short", o->head) : ENF_OK;
	rc = add_checkpoint(vs, vs->head.tip, vs->head.tip_hash, AUDIT_HEAD_FILE);
	if (rc == ENF_OK)
		rc = add_checkpoint(vs, vs->head.sseq, vs->head.shash, "the signed " AUDIT_HEAD_FILE);
	return rc;
}

static int push_signed(struct vstate *vs, size_t off)
{
	if (vs->nsig == vs->capsig) {
		size_t cap = vs->capsig ? 2 * vs->capsig : 1024;
		size_t *n = realloc(vs->sig_off, cap * sizeof *n);
		if (!n)
			return enf_err(ENF_FAIL, "out of memory");
		vs->sig_off = n;
		vs->capsig = cap;
	}
	vs->sig_off[vs->nsig++] = off;
	return ENF_OK;
}

/* One complete line at expected position `expect`, following `prev`. */
static int check_record(struct vstate *vs, struct audit_rec *r, const char *line, size_t len,
			uint64_t expect, const unsigned char prev[32])
{
	struct audit_verify_result *res = vs->res;
	char why[128];

	if (len + 1 > AUDIT_LINE_MAX)
		return bad(res, expect, "longer than %d bytes", AUDIT_LINE_MAX);
	if (audit_rec_parse(r, line, len, why, sizeof why) != ENF_OK)
		return bad(res, expect, "malformed: %s", why);
	if (r->seq != expect)
		return bad(res, expect, "sequence number is %llu, expected %llu "
			   "(a record was deleted, inserted or reordered)",
			   (unsigned long long)r->seq, (unsigned long long)expect);
	if (memcmp(r->prev, prev, 32) != 0)
		return bad(res, expect, "prev is not the hash of record %llu "
			   "(a record before it was changed, removed or inserted)",
			   (unsigned long long)(expect - 1));
	if (!audit_rec_hash_ok(r))
		return bad(res, expect, "hash mismatch (the record was edited)");
	if (r->v[AF_INSTANCE].len != vs->inst.len ||
	    memcmp(line + r->v[AF_INSTANCE].off, vs->inst.p, vs->inst.len) != 0)
		return bad(res, expect, "written by another instance");
	/* Reported after the signatures: a rewrite is better named by them. */
	for (size_t i = 0; i < vs->ncp && !vs->cp_bad; i++)
		if (vs->cp[i].seq == expect && memcmp(vs->cp[i].hash, r->hash, 32) != 0) {
			vs->cp_bad = expect;
			snprintf(vs->cp_why, sizeof vs->cp_why, "%s", vs->cp[i].what);
		}
	/* Only a refusal can be written without the key; anything else
	 * unsigned was put there by someone without it. */
	if (!r->has_sig && !audit_rec_may_be_unsigned(r))
		return bad(res, expect, "not signed, and only a refusal (outcome=fail) may be");
	if (!r->has_sig && vs->head_present && expect == vs->head.sseq)
		return bad(res, expect, "not signed, but the signed %s names it", AUDIT_HEAD_FILE);
	if (r->v[AF_OP].len == 3 && memcmp(line + r->v[AF_OP].off, "gap", 3) == 0)
		res->gaps++;
	if (r->has_sig) {
		if (vs->o->all_signatures && !audit_rec_sig_ok(r, vs->o->id))
			return bad(res, expect, "signature does not verify");
		if (push_signed(vs, (size_t)(line - vs->base)) != ENF_OK)
			return ENF_FAIL;
		res->last_signed = expect;
	}
	return ENF_OK;
}

static void progress(const struct vstate *vs, size_t done, size_t total, size_t *next)
{
	if (!vs->show_progress || total < ((size_t)64 << 20) || done < *next)
		return;
	fprintf(stderr, "\r%s: verifying %3u%%", enf_progname(), (unsigned)(done * 100 / total));
	*next = done + total / 50;
}

static int cp_mismatch(struct vstate *vs)
{
	return bad(vs->res, vs->cp_bad, "hash differs from %s", vs->cp_why);
}

/* Records in [p, end) (whole lines).  With `linked` the first record must
 * follow `prev` as record `expect`; without, the first record's own seq and
 * prev are taken (a chunk of a parallel scan: its link is checked after). */
static int scan_range(struct vstate *vs, const char *p, const char *end, uint64_t expect,
		      unsigned char prev[32], int linked)
{
	struct audit_rec r;
	size_t next = 0, total = (size_t)(end - p);
	const char *start = p;
	int rc;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		char why[128];

		if (!linked) {
			if (audit_rec_parse(&r, p, (size_t)(nl - p), why, sizeof why) != ENF_OK)
				return ENF_NO;
			expect = r.seq;
			memcpy(prev, r.prev, 32);
			linked = 1;
		}
		if ((rc = check_record(vs, &r, p, (size_t)(nl - p), expect, prev)) != ENF_OK)
			return rc == ENF_NO && vs->cp_bad ? cp_mismatch(vs) : rc;
		memcpy(prev, r.hash, 32);
		vs->res->records = expect++;
		p = nl + 1;
		progress(vs, (size_t)(p - start), total, &next);
	}
	if (vs->show_progress && total >= ((size_t)64 << 20))
		fprintf(stderr, "\r%*s\r", 40, "");
	return ENF_OK;
}

struct chunk {
	struct vstate vs;
	struct audit_verify_result res;
	const char *start, *end;
	uint64_t first_seq;
	unsigned char first_prev[32], last_hash[32];
	int rc;
	pthread_t th;
};

static void *chunk_run(void *arg)
{
	struct chunk *c = arg;
	struct audit_rec r;
	char why[128];
	const char *nl = memchr(c->start, '\n', (size_t)(c->end - c->start));

	c->rc = ENF_NO;
	if (audit_rec_parse(&r, c->start, (size_t)(nl - c->start), why, sizeof why) != ENF_OK)
		return NULL;
	c->first_seq = r.seq;
	memcpy(c->first_prev, r.prev, 32);
	c->rc = scan_range(&c->vs, c->start, c->end, 0, c->last_hash, 0);
	return NULL;
}

/* Fold the chunks into vs; 0 when they do not join into one good chain
 * (the caller then rescans serially, which names the first bad record). */
static int chunks_join(struct vstate *vs, struct chunk *c, size_t n)
{
	unsigned char prev[32] = { 0 };
	uint64_t next = 1;

	for (size_t i = 0; i < n; i++) {
		if (c[i].rc != ENF_OK || c[i].vs.cp_bad || c[i].first_seq != next ||
		    memcmp(c[i].first_prev, prev, 32) != 0)
			return 0;
		next = c[i].res.records + 1;
		memcpy(prev, c[i].last_hash, 32);
	}
	for (size_t i = 0; i < n; i++) {
		for (size_t j = 0; j < c[i].vs.nsig; j++)
			if (push_signed(vs, c[i].vs.sig_off[j]) != ENF_OK)
				return 0;
		if (c[i].res.last_signed)
			vs->res->last_signed = c[i].res.last_signed;
		vs->res->gaps += c[i].res.gaps;
	}
	vs->res->records = next - 1;
	return 1;
}

/* Split [p, end) at line ends into up to n chunks and check them at once. */
static int scan_parallel(struct vstate *vs, const char *p, const char *end, size_t n)
{
	struct chunk *c = calloc(n, sizeof *c);
	size_t k = 0, started = 0, step = (size_t)(end - p) / n;
	int ok = 0;

	if (!c)
		return 0;
	while (p < end && k < n) {
		const char *q = k == n - 1 || (size_t)(end - p) <= step ? end : p + step;
		if (q < end)
			q = (const char *)memchr(q, '\n', (size_t)(end - q)) + 1;
		c[k].vs = *vs;
		c[k].vs.res = &c[k].res;
		c[k].vs.sig_off = NULL;
		c[k].vs.nsig = c[k].vs.capsig = 0;
		c[k].vs.show_progress = vs->show_progress && k == 0;
		c[k].start = p;
		c[k].end = q;
		p = q;
		k++;
	}
	for (started = 0; started < k; started++)
		if (pthread_create(&c[started].th, NULL, chunk_run, &c[started]) != 0)
			break;
	for (size_t i = 0; i < started; i++)
		pthread_join(c[i].th, NULL);
	if (started == k)
		ok = chunks_join(vs, c, k);
	for (size_t i = 0; i < k; i++)
		free(c[i].vs.sig_off);
	free(c);
	return ok;
}

static size_t scan_threads(const struct audit_verify_opts *o, size_t len)
{
	long cpus;

	if (o->threads)
		return o->threads;
	if (len < ((size_t)4 << 20))
		return 1;
	cpus = sysconf(_SC_NPROCESSORS_ONLN);
	return cpus < 2 ? 1 : cpus > 4 ? 4 : (size_t)cpus;
}

static int scan(struct vstate *vs, const struct audit_map *m)
{
	const char *end;
	unsigned char prev[32] = { 0 };
	size_t threads;

	if (m->len == 0)	/* an empty log is not mapped: m->p is NULL */
		return ENF_OK;
	end = m->p + m->len;
	while (end > m->p && end[-1] != '\n')
		end--;
	vs->res->torn = (size_t)(m->p + m->len - end);
	if (end == m->p)
		return ENF_OK;
	threads = scan_threads(vs->o, (size_t)(end - m->p));
	if (threads > 1 && scan_parallel(vs, m->p, end, threads))
		return ENF_OK;
	/* serial: the only pass for small logs, the naming pass for bad ones */
	vs->nsig = 0;
	vs->res->last_signed = vs->res->records = vs->res->gaps = 0;
	return scan_range(vs, m->p, end, 1, prev, 1);
}

static int signed_at(const struct vstate *vs, size_t i, struct audit_rec *r)
{
	const char *line = vs->base + vs->sig_off[i];
	const char *nl = strchr(line, '\n');
	char why[128];

	return nl && audit_rec_parse(r, line, (size_t)(nl - line), why, sizeof why) == ENF_OK &&
	       audit_rec_sig_ok(r, vs->o->id);
}

/* The last signature covers every record before it through the chain.  If
 * it fails, find where the signatures start failing: after a rewrite that
 * re-chained the log from record k, every signature from k on fails and
 * every one before k holds, so a binary search names k. */
static int check_last_signature(struct vstate *vs)
{
	struct audit_rec r;
	size_t lo = 0, hi;

	if (vs->nsig == 0)
		return bad(vs->res, 1, "no record in the log is signed");
	if (vs->o->all_signatures || signed_at(vs, vs->nsig - 1, &r))
		return ENF_OK;
	hi = vs->nsig - 1;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (signed_at(vs, mid, &r))
			lo = mid + 1;
		else
			hi = mid;
	}
	{
		const char *line = vs->base + vs->sig_off[hi];
		char why[128];
		const char *nl = strchr(line, '\n');
		audit_rec_parse(&r, line, (size_t)(nl - line), why, sizeof why);
	}
	return bad(vs->res, r.seq, "signature does not verify (the log was rewritten from here on)");
}

/* Signed records after the signed head's: an append that wrote its record
 * but not the head (a crash, or a head that could not be written).  The
 * last signature covers them through the chain only if it is theirs, so
 * each is verified (there is normally none). */
static int check_head_lag(struct vstate *vs)
{
	struct audit_rec r;

	for (size_t i = vs->nsig; i > 0; i--) {
		int good = signed_at(vs, i - 1, &r);
		if (r.seq <= vs->head.sseq)
			break;
		if (!good)
			return bad(vs->res, r.seq, "signature does not verify");
		vs->res->head_lag++;
	}
	return ENF_OK;
}

/* A pending audit.gap: records that could not be written and that no
 * append has recorded yet.  The log is then incomplete, whatever else holds. */
static int check_gap(const char *path, struct audit_verify_result *res)
{
	unsigned char buf[8192];
	struct stat st;
	uint64_t lines = 0;
	ssize_t r;
	int fd;

	if (lstat(path, &st) < 0)
		return errno == ENOENT ? ENF_OK : enf_err(ENF_FAIL, "%s: %s", path, strerror(errno));
	fd = S_ISREG(st.st_mode) ? open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC) : -1;
	while (fd >= 0 && ((r = read(fd, buf, sizeof buf)) > 0 || (r < 0 && errno == EINTR)))
		for (ssize_t i = 0; i < r; i++)
			lines += buf[i] == '\n';
	if (fd >= 0)
		close(fd);
	res->gap_pending = lines ? lines : 1;
	return bad(res, 0, "%s: %llu record(s) could not be written and are not in the log yet "
		   "(the log is incomplete; the next signed append records them, see "
		   "enf-audit(5), GAPS)", path, (unsigned long long)res->gap_pending);
}

static int after_scan(struct vstate *vs)
{
	struct audit_verify_result *res = vs->res;
	uint64_t n = res->records;

	if (n == 0)
		return bad(res, 0, "the log holds no complete record");
	for (size_t i = 0; i < vs->ncp; i++)
		if (vs->cp[i].seq > n)
			return bad(res, n + 1, "missing: the log ends at record %llu but %s "
				   "records %llu (the log was cut short)", (unsigned long long)n,
				   vs->cp[i].what, (unsigned long long)vs->cp[i].seq);
	if (check_last_signature(vs) != ENF_OK)
		return ENF_NO;
	if (vs->cp_bad)
		return cp_mismatch(vs);
	if (vs->head_present && !head_sig_ok(&vs->head, vs->o->id))
		return bad(res, 0, "%s: its signature does not verify", vs->o->head);
	if (vs->head_present && check_head_lag(vs) != ENF_OK)
		return ENF_NO;
	res->unsigned_tail = n - res->last_signed;
	if (res->unsigned_tail && !vs->o->allow_unsigned_tail)
		return bad(res, res->last_signed + 1, "not signed, and no signed record follows "
			   "(%llu unauthenticated record(s) at the end)",
			   (unsigned long long)res->unsigned_tail);
	return vs->o->gap ? check_gap(vs->o->gap, res) : ENF_OK;
}

int audit_verify(const struct audit_verify_opts *o, struct audit_verify_result *res)
{
	struct vstate vs;
	struct audit_map m = { .fd = -1 };
	char fp[FINGERPRINT_MAX];
	int rc;

	memset(res, 0, sizeof *res);
	memset(&vs, 0, sizeof vs);
	vs.o = o;
	vs.res = res;
	vs.show_progress = o->progress;
	wbuf_init(&vs.inst, 0);
	if ((rc = crypto_init()) != ENF_OK)
		return rc;
	pubkey_fingerprint(o->id, fp);
	if (put_value(&vs.inst, fp) || vs.inst.failed)
		return enf_err(ENF_FAIL, "out of memory");
	rc = map_locked(&m, o->log, &vs);
	vs.base = m.p;
	if (rc == ENF_OK)
		rc = checkpoints_setup(&vs);
	if (rc == ENF_OK)
		rc = scan(&vs, &m);
	if (rc == ENF_OK)
		rc = after_scan(&vs);
	audit_map_close(&m);
	head_free(&vs.head);
	wbuf_free(&vs.inst);
	free(vs.sig_off);
	return rc;
}

/* ---------------------------------------------------------------- format */

int audit_rec_format_json(const struct audit_rec *r, struct wbuf *out)
{
	struct wbuf v;

	wbuf_init(&v, 0);
	wbuf_printf(out, "{\"seq\":%llu", (unsigned long long)r->seq);
	for (int f = AF_TIME; f < AF_COUNT; f++) {
		wbuf_printf(out, ",\"%s\":", field_names[f]);
		if (audit_rec_value(r, f, &v) == ENF_OK)
			json_string(out, v.p, v.len);
		else
			wbuf_printf(out, "null");
	}
	wbuf_printf(out, "}\n");
	wbuf_free(&v);
	return out->failed ? enf_err(ENF_FAIL, "out of memory") : ENF_OK;
}

/* A decoded value for a human: as is when it is one plain token, else in
 * double quotes with \" \\ and every byte outside printable ASCII as \xHH, so
 * that nothing reaches the terminal but printable ASCII and no value can
 * pose as another field. */
static void put_text_value(struct wbuf *out, const unsigned char *v, size_t n)
{
	int plain = n > 0;

	for (size_t i = 0; i < n; i++)
		if (v[i] < 0x21 || v[i] > 0x7e || v[i] == '"' || v[i] == '\\')
			plain = 0;
	if (plain) {
		wbuf_put(out, v, n);
		return;
	}
	wbuf_put(out, "\"", 1);
	for (size_t i = 0; i < n; i++) {
		if (v[i] == '"' || v[i] == '\\')
			wbuf_printf(out, "\\%c", v[i]);
		else if (v[i] < 0x20 || v[i] > 0x7e)
			wbuf_printf(out, "\\x%02x", v[i]);
		else
			wbuf_put(out, &v[i], 1);
	}
	wbuf_put(out, "\"", 1);
}

int audit_rec_format_text(const struct audit_rec *r, struct wbuf *out)
{
	static const int head[] = { AF_SEQ, AF_TIME, AF_PROGRAM, AF_OP, AF_OUTCOME };
	struct wbuf v;
	int failed;

	wbuf_init(&v, 0);
	for (size_t i = 0; i < sizeof head / sizeof head[0]; i++) {
		if (i)
			wbuf_put(out, " ", 1);
		if (audit_rec_value(r, head[i], &v) == ENF_OK)
			put_text_value(out, v.p, v.len);
	}
	for (int f = AF_REASON; f <= AF_DETAIL; f++)
		if (audit_rec_value(r, f, &v) == ENF_OK) {
			wbuf_printf(out, " %s=", field_names[f]);
			put_text_value(out, v.p, v.len);
		}
	wbuf_printf(out, "%s\n", r->has_sig ? "" : " (unsigned)");
	failed = out->failed || v.failed;
	wbuf_free(&v);
	return failed ? enf_err(ENF_FAIL, "out of memory") : ENF_OK;
}
