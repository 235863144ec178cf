/* Bounded reader and growable writer: every parser reads through struct rbuf
 * so that no parser does pointer arithmetic of its own (cf. OpenSSH sshbuf).
 * Wire encoding is SSH's (RFC 4251): uint32 big-endian, string = uint32 len
 * + bytes, mpint = two's complement big-endian, minimal. */
#ifndef ENF_BUF_H
#define ENF_BUF_H

#include <stddef.h>
#include <stdint.h>

struct rbuf {
	const unsigned char *p;
	size_t len, off;
};

void rbuf_init(struct rbuf *r, const void *p, size_t len);
size_t rbuf_left(const struct rbuf *r);
/* Getters return 0 or -1 on short input; on failure nothing is consumed. */
int rbuf_u8(struct rbuf *r, uint8_t *v);
int rbuf_u32(struct rbuf *r, uint32_t *v);
int rbuf_u64(struct rbuf *r, uint64_t *v);
int rbuf_bytes(struct rbuf *r, size_t n, const unsigned char **p);
/* string: points into the buffer, no copy. */
int rbuf_string(struct rbuf *r, const unsigned char **p, size_t *n);
/* string that must equal `s` exactly. */
int rbuf_expect_cstring(struct rbuf *r, const char *s);
/* string that must be exactly n bytes long. */
int rbuf_fixed_string(struct rbuf *r, size_t n, const unsigned char **p);
/* mpint that must be non-negative; returns magnitude without leading zeros. */
int rbuf_mpint(struct rbuf *r, const unsigned char **p, size_t *n);
/* 1 when every byte was consumed. */
int rbuf_done(const struct rbuf *r);

/* Text.  These read bytes, not C strings: the buffer need not end in a NUL
 * (an mmap'd file, a read() buffer), and a NUL inside is just a byte that a
 * caller forbidding it must check for.  Results point into the buffer and
 * are not NUL-terminated; on failure nothing is consumed.
 *
 * rbuf_line: the next line, without its '\n'.  *nl (may be NULL) is 1 when
 *   the line ended in '\n', 0 for a final line without one: whether that is
 *   allowed is the caller's to say.  -1 when nothing is left.
 * rbuf_until: the bytes up to the next `sep`, which is consumed too; -1 when
 *   no `sep` follows.
 * rbuf_word: skips any run of bytes from `seps`, then the bytes up to the
 *   next byte of `seps` or the end (the separator is not consumed); -1 when
 *   only separators remain (strtok's tokens, without writing).
 * rbuf_expect: the literal s (no length prefix) at the cursor; -1 otherwise.
 * rbuf_rest: all that is left (possibly nothing); always succeeds.
 * rbuf_peek: 1 when the next bytes are s, nothing consumed. */
int rbuf_line(struct rbuf *r, const char **s, size_t *n, int *nl);
int rbuf_until(struct rbuf *r, char sep, const char **s, size_t *n);
int rbuf_word(struct rbuf *r, const char *seps, const char **s, size_t *n);
int rbuf_expect(struct rbuf *r, const char *s);
void rbuf_rest(struct rbuf *r, const char **s, size_t *n);
int rbuf_peek(const struct rbuf *r, const char *s);
/* 1 when p[0..n) equals the C string s (a word from the getters above). */
int text_is(const char *p, size_t n, const char *s);

struct wbuf {
	unsigned char *p;
	size_t len, cap;
	int secure;	/* allocate in libgcrypt secure memory, wipe on free */
	int fixed;	/* p is the caller's array of cap bytes: never grown or freed */
	int failed;	/* sticky: an allocation failed, or a fixed array was full */
};

void wbuf_init(struct wbuf *w, int secure);
/* A writer into the caller's array p[0..cap) (a header, a nonce): no
 * allocation; writing past cap fails and sets failed.  wbuf_free only
 * forgets it; the caller owns and wipes p. */
void wbuf_init_fixed(struct wbuf *w, void *p, size_t cap);
/* Appenders return 0 or -1 (and set failed). */
int wbuf_put(struct wbuf *w, const void *p, size_t n);
int wbuf_u8(struct wbuf *w, uint8_t v);
int wbuf_u32(struct wbuf *w, uint32_t v);
int wbuf_u64(struct wbuf *w, uint64_t v);
int wbuf_string(struct wbuf *w, const void *p, size_t n);
int wbuf_cstring(struct wbuf *w, const char *s);
/* mpint from an unsigned big-endian magnitude. */
int wbuf_mpint(struct wbuf *w, const unsigned char *p, size_t n);
int wbuf_printf(struct wbuf *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Append a NUL without counting it, so p can be used as a C string. */
int wbuf_cstr_terminate(struct wbuf *w);
void wbuf_reset(struct wbuf *w);	/* len = 0, wipes */
void wbuf_free(struct wbuf *w);		/* wipes, frees */

#endif
