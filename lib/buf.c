/* Bounded reader and growable writer (see buf.h). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "buf.h"
#include "crypto.h"

void rbuf_init(struct rbuf *r, const void *p, size_t len)
{
	r->p = p;
	r->len = len;
	r->off = 0;
}

size_t rbuf_left(const struct rbuf *r) { return r->len - r->off; }
int rbuf_done(const struct rbuf *r) { return r->off == r->len; }

int rbuf_bytes(struct rbuf *r, size_t n, const unsigned char **p)
{
	if (n > rbuf_left(r))
		return -1;
	*p = r->p + r->off;
	r->off += n;
	return 0;
}

int rbuf_u8(struct rbuf *r, uint8_t *v)
{
	const unsigned char *p;

	if (rbuf_bytes(r, 1, &p) < 0)
		return -1;
	*v = p[0];
	return 0;
}

int rbuf_u32(struct rbuf *r, uint32_t *v)
{
	const unsigned char *p;

	if (rbuf_bytes(r, 4, &p) < 0)
		return -1;
	*v = (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
	return 0;
}

int rbuf_u64(struct rbuf *r, uint64_t *v)
{
	uint32_t hi, lo;
	size_t save = r->off;

	if (rbuf_u32(r, &hi) < 0 || rbuf_u32(r, &lo) < 0) {
		r->off = save;
		return -1;
	}
	*v = (uint64_t)hi << 32 | lo;
	return 0;
}

int rbuf_string(struct rbuf *r, const unsigned char **p, size_t *n)
{
	uint32_t len;
	size_t save = r->off;

	if (rbuf_u32(r, &len) < 0 || rbuf_bytes(r, len, p) < 0) {
		r->off = save;
		return -1;
	}
	*n = len;
	return 0;
}

int rbuf_fixed_string(struct rbuf *r, size_t n, const unsigned char **p)
{
	size_t save = r->off, got;

	if (rbuf_string(r, p, &got) < 0)
		return -1;
	if (got != n) {
		r->off = save;
		return -1;
	}
	return 0;
}

int rbuf_expect_cstring(struct rbuf *r, const char *s)
{
	const unsigned char *p;
	size_t n, save = r->off;

	if (rbuf_string(r, &p, &n) < 0)
		return -1;
	if (n != strlen(s) || memcmp(p, s, n) != 0) {
		r->off = save;
		return -1;
	}
	return 0;
}

int rbuf_mpint(struct rbuf *r, const unsigned char **p, size_t *n)
{
	const unsigned char *q;
	size_t len, save = r->off;

	if (rbuf_string(r, &q, &len) < 0)
		return -1;
	/* Non-negative and minimal: no sign bit, no needless leading zero. */
	if ((len > 0 && (q[0] & 0x80)) || (len > 1 && q[0] == 0 && !(q[1] & 0x80)) ||
	    (len == 1 && q[0] == 0)) {
		r->off = save;
		return -1;
	}
	if (len > 0 && q[0] == 0) {
		q++;
		len--;
	}
	*p = q;
	*n = len;
	return 0;
}

/* ---- text ---- */

int rbuf_line(struct rbuf *r, const char **s, size_t *n, int *nl)
{
	const unsigned char *start, *end;
	size_t left = rbuf_left(r);

	if (left == 0)
		return -1;
	start = r->p + r->off;
	end = memchr(start, '\n', left);
	*s = (const char *)start;
	*n = end ? (size_t)(end - start) : left;
	if (nl)
		*nl = end != NULL;
	r->off += *n + (end ? 1 : 0);
	return 0;
}

int rbuf_until(struct rbuf *r, char sep, const char **s, size_t *n)
{
	const unsigned char *start, *end;

	if (rbuf_left(r) == 0)
		return -1;
	start = r->p + r->off;
	if (!(end = memchr(start, (unsigned char)sep, rbuf_left(r))))
		return -1;
	*s = (const char *)start;
	*n = (size_t)(end - start);
	r->off += *n + 1;
	return 0;
}

/* seps is a C string, so a NUL byte in the text is never a separator. */
static int is_sep(unsigned char c, const char *seps)
{
	return c != '\0' && strchr(seps, c) != NULL;
}

int rbuf_word(struct rbuf *r, const char *seps, const char **s, size_t *n)
{
	size_t at = r->off, end;

	while (at < r->len && is_sep(r->p[at], seps))
		at++;
	if (at == r->len)
		return -1;
	for (end = at; end < r->len && !is_sep(r->p[end], seps); end++)
		;
	*s = (const char *)r->p + at;
	*n = end - at;
	r->off = end;
	return 0;
}

int rbuf_peek(const struct rbuf *r, const char *s)
{
	size_t n = strlen(s);

	return n == 0 || (n <= rbuf_left(r) && memcmp(r->p + r->off, s, n) == 0);
}

int rbuf_expect(struct rbuf *r, const char *s)
{
	if (!rbuf_peek(r, s))
		return -1;
	r->off += strlen(s);
	return 0;
}

void rbuf_rest(struct rbuf *r, const char **s, size_t *n)
{
	*s = rbuf_left(r) ? (const char *)r->p + r->off : "";
	*n = rbuf_left(r);
	r->off = r->len;
}

int text_is(const char *p, size_t n, const char *s)
{
	return strlen(s) == n && memcmp(p, s, n) == 0;
}

/* ---- writer ---- */

void wbuf_init(struct wbuf *w, int secure)
{
	memset(w, 0, sizeof *w);
	w->secure = secure;
}

void wbuf_init_fixed(struct wbuf *w, void *p, size_t cap)
{
	memset(w, 0, sizeof *w);
	w->p = p;
	w->cap = cap;
	w->fixed = 1;
}

/* Secret or not, the bytes are wiped before the memory goes back. */
static void release(unsigned char *p, size_t cap, int secure)
{
	if (!p)
		return;
	if (secure) {
		secure_free(p, cap);
	} else {
		wipe(p, cap);
		free(p);
	}
}

static int grow(struct wbuf *w, size_t need)
{
	size_t cap;
	unsigned char *np;

	if (w->failed)
		return -1;
	if (need <= w->cap - w->len)
		return 0;
	if (w->fixed || need > SIZE_MAX / 2 - w->len)
		goto fail;
	cap = w->cap ? w->cap : 64;
	while (cap < w->len + need + 1)
		cap *= 2;
	/* Copy rather than realloc so that secret bytes are never left behind
	 * in freed memory. */
	np = w->secure ? secure_alloc(cap) : malloc(cap);
	if (!np)
		goto fail;
	if (w->len)
		memcpy(np, w->p, w->len);
	release(w->p, w->cap, w->secure);
	w->p = np;
	w->cap = cap;
	return 0;
fail:
	w->failed = 1;
	return -1;
}

int wbuf_put(struct wbuf *w, const void *p, size_t n)
{
	if (grow(w, n) < 0)
		return -1;
	if (n)
		memcpy(w->p + w->len, p, n);
	w->len += n;
	return 0;
}

int wbuf_u8(struct wbuf *w, uint8_t v) { return wbuf_put(w, &v, 1); }

int wbuf_u32(struct wbuf *w, uint32_t v)
{
	unsigned char b[4] = { v >> 24, v >> 16, v >> 8, v };

	return wbuf_put(w, b, 4);
}

int wbuf_u64(struct wbuf *w, uint64_t v)
{
	return wbuf_u32(w, (uint32_t)(v >> 32)) < 0 ? -1 : wbuf_u32(w, (uint32_t)v);
}

int wbuf_string(struct wbuf *w, const void *p, size_t n)
{
	if (n > UINT32_MAX) {
		w->failed = 1;
		return -1;
	}
	return wbuf_u32(w, (uint32_t)n) < 0 ? -1 : wbuf_put(w, p, n);
}

int wbuf_cstring(struct wbuf *w, const char *s) { return wbuf_string(w, s, strlen(s)); }

int wbuf_mpint(struct wbuf *w, const unsigned char *p, size_t n)
{
	while (n > 0 && p[0] == 0) {
		p++;
		n--;
	}
	if (n > 0 && (p[0] & 0x80)) {
		if (wbuf_u32(w, (uint32_t)n + 1) < 0 || wbuf_u8(w, 0) < 0)
			return -1;
		return wbuf_put(w, p, n);
	}
	return wbuf_string(w, p, n);
}

int wbuf_printf(struct wbuf *w, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0 || grow(w, (size_t)n + 1) < 0)
		return -1;
	va_start(ap, fmt);
	vsnprintf((char *)w->p + w->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	w->len += (size_t)n;
	return 0;
}

int wbuf_cstr_terminate(struct wbuf *w)
{
	if (grow(w, 1) < 0)
		return -1;
	w->p[w->len] = '\0';
	return 0;
}

void wbuf_reset(struct wbuf *w)
{
	if (w->p)
		wipe(w->p, w->cap);
	w->len = 0;
}

void wbuf_free(struct wbuf *w)
{
	if (!w->fixed)
		release(w->p, w->cap, w->secure);
	w->p = NULL;
	w->len = w->cap = 0;
	w->failed = 0;
}
