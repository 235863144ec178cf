/* Text encodings: base64 (RFC 4648), lowercase hex, PEM-style armor.
 * Decoders are strict: there is exactly one accepted spelling of every
 * byte string, so that a signature or key cannot be re-encoded into a
 * different text that still verifies. */
#include <string.h>
#include "crypto.h"
#include "encode.h"
#include "enf.h"

static const char b64[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static int b64val(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

int base64_encode(struct wbuf *out, const void *p, size_t n, int pad)
{
	const unsigned char *s = p;
	size_t i;

	for (i = 0; i + 3 <= n; i += 3) {
		unsigned long v = (unsigned long)s[i] << 16 | (unsigned long)s[i + 1] << 8 | s[i + 2];
		char q[4] = { b64[v >> 18 & 63], b64[v >> 12 & 63], b64[v >> 6 & 63], b64[v & 63] };

		if (wbuf_put(out, q, 4) < 0)
			return ENF_FAIL;
	}
	if (n - i == 1) {
		char q[4] = { b64[s[i] >> 2], b64[(s[i] & 3) << 4], '=', '=' };

		if (wbuf_put(out, q, pad ? 4 : 2) < 0)
			return ENF_FAIL;
	} else if (n - i == 2) {
		unsigned v = (unsigned)s[i] << 8 | s[i + 1];
		char q[4] = { b64[v >> 10], b64[v >> 4 & 63], b64[(v & 15) << 2], '=' };

		if (wbuf_put(out, q, pad ? 4 : 3) < 0)
			return ENF_FAIL;
	}
	return ENF_OK;
}

/* Decodes the final group of 2 or 3 symbols; the bits that do not make a
 * whole byte must be zero (RFC 4648 3.5: canonical encoding). */
static int b64_tail(struct wbuf *out, const int *v, size_t k)
{
	unsigned char b[2];

	if (k == 2) {
		if (v[1] & 15)
			return ENF_NO;
		b[0] = (unsigned char)(v[0] << 2 | v[1] >> 4);
		return wbuf_put(out, b, 1) < 0 ? ENF_FAIL : ENF_OK;
	}
	if (v[2] & 3)
		return ENF_NO;
	b[0] = (unsigned char)(v[0] << 2 | v[1] >> 4);
	b[1] = (unsigned char)((v[1] & 15) << 4 | v[2] >> 2);
	return wbuf_put(out, b, 2) < 0 ? ENF_FAIL : ENF_OK;
}

int base64_decode(struct wbuf *out, const char *s, size_t n, int pad)
{
	size_t i, full, rest, npad = 0;
	int v[4];

	if (pad) {
		if (n % 4)
			return ENF_NO;
		while (npad < 2 && npad < n && s[n - 1 - npad] == '=')
			npad++;
		if (npad == 0) {
			full = n;
			rest = 0;
		} else {
			full = n - 4;
			rest = 4 - npad;
		}
	} else {
		if (n % 4 == 1)
			return ENF_NO;
		full = n - n % 4;
		rest = n % 4;
	}
	for (i = 0; i < full; i += 4) {
		unsigned char b[3];

		for (int j = 0; j < 4; j++)
			if ((v[j] = b64val((unsigned char)s[i + j])) < 0)
				return ENF_NO;
		b[0] = (unsigned char)(v[0] << 2 | v[1] >> 4);
		b[1] = (unsigned char)((v[1] & 15) << 4 | v[2] >> 2);
		b[2] = (unsigned char)((v[2] & 3) << 6 | v[3]);
		if (wbuf_put(out, b, 3) < 0)
			return ENF_FAIL;
	}
	if (rest == 0)
		return ENF_OK;
	for (size_t j = 0; j < rest; j++)
		if ((v[j] = b64val((unsigned char)s[full + j])) < 0)
			return ENF_NO;
	return b64_tail(out, v, rest);
}

int hex_encode(struct wbuf *out, const void *p, size_t n)
{
	static const char hx[] = "0123456789abcdef";
	const unsigned char *s = p;

	for (size_t i = 0; i < n; i++) {
		char q[2] = { hx[s[i] >> 4], hx[s[i] & 15] };

		if (wbuf_put(out, q, 2) < 0)
			return ENF_FAIL;
	}
	return ENF_OK;
}

int hex_to_str(char *out, size_t outlen, const void *p, size_t n)
{
	struct wbuf w;

	if (n > (SIZE_MAX - 1) / 2 || outlen < 2 * n + 1)
		return ENF_FAIL;
	wbuf_init_fixed(&w, out, outlen);
	if (hex_encode(&w, p, n) != ENF_OK || wbuf_cstr_terminate(&w) != 0)
		return ENF_FAIL;
	return ENF_OK;
}

/* A digit's value + 1, 0 for anything else: a table and no branch per
 * digit, because enf-audit verify decodes three hashes per record. */
static const unsigned char hex_value[256] = {
	['0'] = 1, ['1'] = 2, ['2'] = 3, ['3'] = 4, ['4'] = 5, ['5'] = 6, ['6'] = 7,
	['7'] = 8, ['8'] = 9, ['9'] = 10, ['a'] = 11, ['b'] = 12, ['c'] = 13,
	['d'] = 14, ['e'] = 15, ['f'] = 16,
};

int hex_decode(const char *s, size_t n, unsigned char *out, size_t outlen)
{
	const unsigned char *u = (const unsigned char *)s;
	unsigned bad = 0;

	if (outlen > SIZE_MAX / 2 || n != outlen * 2)
		return ENF_NO;
	for (size_t i = 0; i < outlen; i++) {
		unsigned hi = hex_value[u[2 * i]], lo = hex_value[u[2 * i + 1]];

		bad |= (hi == 0) | (lo == 0);
		out[i] = (unsigned char)((hi - 1) << 4 | (lo - 1));
	}
	if (bad) {
		memset(out, 0, outlen);
		return ENF_NO;
	}
	return ENF_OK;
}

int armor_encode(struct wbuf *out, const char *label, const void *p, size_t n, int width)
{
	struct wbuf b;
	int rc = ENF_FAIL;

	if (width <= 0)
		return ENF_FAIL;
	wbuf_init(&b, 0);
	if (base64_encode(&b, p, n, 1) != ENF_OK)
		goto out;
	if (wbuf_printf(out, "-----BEGIN %s-----\n", label) < 0)
		goto out;
	for (size_t i = 0; i < b.len; i += (size_t)width) {
		size_t k = b.len - i < (size_t)width ? b.len - i : (size_t)width;

		if (wbuf_put(out, b.p + i, k) < 0 || wbuf_u8(out, '\n') < 0)
			goto out;
	}
	if (wbuf_printf(out, "-----END %s-----\n", label) < 0)
		goto out;
	rc = ENF_OK;
out:
	wbuf_free(&b);
	return rc;
}

/* The next line of text at *off (without its newline); *more is 0 when
 * the text ended without a newline. */
static int next_line(const char *text, size_t n, size_t *off, const char **line,
		     size_t *len, int *nl)
{
	const char *end;

	if (*off >= n)
		return -1;
	*line = text + *off;
	end = memchr(*line, '\n', n - *off);
	*len = end ? (size_t)(end - *line) : n - *off;
	*nl = end != NULL;
	*off += *len + (end ? 1 : 0);
	return 0;
}

static int is_marker(const char *line, size_t len, const char *what, const char *label)
{
	size_t wl = strlen(what), ll = strlen(label);

	return len == 5 + wl + 1 + ll + 5 && memcmp(line, "-----", 5) == 0 &&
	       memcmp(line + 5, what, wl) == 0 && line[5 + wl] == ' ' &&
	       memcmp(line + 6 + wl, label, ll) == 0 && memcmp(line + 6 + wl + ll, "-----", 5) == 0;
}

/* Body lines are all `width` long (64 as OpenSSL writes, 70 as ssh-keygen
 * does) but the last, which is 1..width; the END line follows. */
int armor_decode(struct wbuf *out, const char *label, const char *text, size_t n, size_t *used)
{
	struct wbuf b;
	size_t off = 0, len, width = 0, last = 0, lines = 0;
	const char *line;
	int nl, rc = ENF_NO;

	wbuf_init(&b, 0);
	if (next_line(text, n, &off, &line, &len, &nl) < 0 || !nl ||
	    !is_marker(line, len, "BEGIN", label))
		goto out;
	for (;;) {
		if (next_line(text, n, &off, &line, &len, &nl) < 0)
			goto out;
		if (is_marker(line, len, "END", label))
			break;
		if (!nl || len == 0 || len > 70 || (lines > 0 && last != width))
			goto out;
		if (lines == 0)
			width = len;
		else if (len > width)
			goto out;
		last = len;
		lines++;
		if (wbuf_put(&b, line, len) < 0) {
			rc = ENF_FAIL;
			goto out;
		}
	}
	/* One line of any length up to 70, or full lines of 64 or 70. */
	if (lines == 0 || (lines > 1 && width != 64 && width != 70))
		goto out;
	rc = base64_decode(out, (const char *)b.p, b.len, 1);
	if (rc == ENF_OK)
		*used = off;
out:
	wbuf_free(&b);
	return rc;
}

int digest_arg_parse(const char *s, int *alg, unsigned char *digest)
{
	const char *colon = strchr(s, ':');
	char name[8];

	if (!colon || (size_t)(colon - s) >= sizeof name)
		return enf_err(ENF_USAGE, "--digest wants ALG:HEX");
	memcpy(name, s, (size_t)(colon - s));
	name[colon - s] = '\0';
	if ((*alg = hash_parse(name)) < 0)
		return enf_err(ENF_USAGE, "--digest: unknown hash algorithm \"%s\"", name);
	if (hex_decode(colon + 1, strlen(colon + 1), digest, hash_len(*alg)) != ENF_OK)
		return enf_err(ENF_USAGE, "--digest: want %zu lowercase hex digits for %s",
			       2 * hash_len(*alg), name);
	return ENF_OK;
}

/* The length of the UTF-8 sequence at s, or 0 when it is not one. */
static int utf8_len(const unsigned char *s, size_t n)
{
	int len, i;
	uint32_t cp;

	if (s[0] < 0xc2 || s[0] > 0xf4)
		return 0;
	len = s[0] >= 0xf0 ? 4 : s[0] >= 0xe0 ? 3 : 2;
	if ((size_t)len > n)
		return 0;
	cp = s[0] & (0x7f >> len);
	for (i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return len;
}

/* A JSON string; bytes that are not UTF-8 become U+FFFD. */
int json_string(struct wbuf *w, const void *str, size_t n)
{
	const unsigned char *s = str;
	size_t i = 0;

	wbuf_put(w, "\"", 1);
	while (i < n) {
		unsigned char c = s[i];
		int l;
		if (c == '"' || c == '\\') {
			wbuf_u8(w, '\\');
			wbuf_u8(w, c);
		} else if (c < 0x20 || c == 0x7f) {
			wbuf_printf(w, "\\u%04x", c);
		} else if (c < 0x80) {
			wbuf_u8(w, c);
		} else if ((l = utf8_len(s + i, n - i)) > 0) {
			wbuf_put(w, s + i, (size_t)l);
			i += (size_t)l;
			continue;
		} else {
			wbuf_printf(w, "\\ufffd");
		}
		i++;
	}
	wbuf_put(w, "\"", 1);
	return w->failed ? -1 : 0;
}
