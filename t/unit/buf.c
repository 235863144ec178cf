/* lib/buf.c: the bounded text reader and the fixed-array writer.
 * Text is placed flush against an unmapped page, so any read past the
 * buffer (a parser assuming a NUL terminator) crashes this test, with or
 * without a sanitizer. */
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include "buf.h"
#include "tap.h"

static unsigned char *guard_base;
static size_t guard_page;

/* s's bytes (without its NUL) ending exactly at the guard page. */
static const char *flush(const char *s, size_t n)
{
	if (!guard_base) {
		guard_page = (size_t)sysconf(_SC_PAGESIZE);
		guard_base = mmap(NULL, 2 * guard_page, PROT_READ | PROT_WRITE,
				  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (guard_base == MAP_FAILED || mprotect(guard_base + guard_page, guard_page,
							 PROT_NONE) != 0) {
			ok(0, "guard page");
			return s;
		}
	}
	memcpy(guard_base + guard_page - n, s, n);
	return (const char *)guard_base + guard_page - n;
}

static int is(const char *p, size_t n, const char *want)
{
	return text_is(p, n, want);
}

static void test_lines(void)
{
	const char *t = flush("a\n\nlast", 7), *s;
	struct rbuf r;
	size_t n;
	int nl;

	rbuf_init(&r, t, 7);
	ok(rbuf_line(&r, &s, &n, &nl) == 0 && is(s, n, "a") && nl, "line 1 with its newline");
	ok(rbuf_line(&r, &s, &n, &nl) == 0 && n == 0 && nl, "an empty line");
	ok(rbuf_line(&r, &s, &n, &nl) == 0 && is(s, n, "last") && !nl,
	   "a final line without newline says so");
	ok(rbuf_line(&r, &s, &n, &nl) == -1 && rbuf_done(&r), "then nothing is left");

	t = flush("x\n", 2);
	rbuf_init(&r, t, 2);
	ok(rbuf_line(&r, &s, &n, NULL) == 0 && is(s, n, "x") && rbuf_done(&r),
	   "a text ending in newline has no empty line after it");
	ok(rbuf_line(&r, &s, &n, &nl) == -1, "end");

	rbuf_init(&r, "", 0);
	ok(rbuf_line(&r, &s, &n, &nl) == -1, "an empty text has no line");

	t = flush("a\0b\nc", 5);
	rbuf_init(&r, t, 5);
	ok(rbuf_line(&r, &s, &n, &nl) == 0 && n == 3 && s[1] == '\0' && nl,
	   "a NUL byte is part of the line, not its end");
}

static void test_until_and_rest(void)
{
	const char *t = flush("key value x", 11), *s;
	struct rbuf r;
	size_t n;

	rbuf_init(&r, t, 11);
	ok(rbuf_until(&r, ' ', &s, &n) == 0 && is(s, n, "key"), "until a space");
	ok(rbuf_until(&r, ' ', &s, &n) == 0 && is(s, n, "value"), "until the next space");
	ok(rbuf_until(&r, ' ', &s, &n) == -1 && rbuf_left(&r) == 1,
	   "no separator left: fails, consumes nothing");
	rbuf_rest(&r, &s, &n);
	ok(is(s, n, "x") && rbuf_done(&r), "the rest");
	rbuf_rest(&r, &s, &n);
	ok(n == 0, "the rest of nothing is empty");
	ok(rbuf_until(&r, ' ', &s, &n) == -1, "until on an empty reader fails");

	t = flush("  x", 3);
	rbuf_init(&r, t, 3);
	ok(rbuf_until(&r, ' ', &s, &n) == 0 && n == 0, "an empty field before a separator");
}

static void test_words(void)
{
	const char *t = flush(" \tone  two\t", 11), *s;
	struct rbuf r;
	size_t n;

	rbuf_init(&r, t, 11);
	ok(rbuf_word(&r, " \t", &s, &n) == 0 && is(s, n, "one"), "a word after blanks");
	ok(rbuf_word(&r, " \t", &s, &n) == 0 && is(s, n, "two"), "runs of blanks are one separator");
	ok(rbuf_word(&r, " \t", &s, &n) == -1, "trailing blanks hold no word");

	t = flush("last", 4);
	rbuf_init(&r, t, 4);
	ok(rbuf_word(&r, " ", &s, &n) == 0 && is(s, n, "last") && rbuf_done(&r),
	   "a word that ends the buffer");

	t = flush("a\0b c", 5);
	rbuf_init(&r, t, 5);
	ok(rbuf_word(&r, " ", &s, &n) == 0 && n == 3, "a NUL byte is never a separator");
}

static void test_expect(void)
{
	const char *t = flush("-----BEGIN", 10);
	struct rbuf r;

	rbuf_init(&r, t, 10);
	ok(rbuf_peek(&r, "-----") && r.off == 0, "peek consumes nothing");
	ok(rbuf_expect(&r, "-----") == 0 && r.off == 5, "expect consumes the literal");
	ok(rbuf_expect(&r, "BEGINS") == -1 && r.off == 5,
	   "a literal longer than the rest fails without reading past it");
	ok(rbuf_expect(&r, "BEGUN") == -1 && r.off == 5, "a different literal fails");
	ok(rbuf_expect(&r, "BEGIN") == 0 && rbuf_done(&r), "the literal up to the end");
	ok(rbuf_expect(&r, "") == 0, "the empty literal is always there");
	ok(text_is("ab", 2, "ab") && !text_is("ab", 2, "abc") && !text_is("ab", 1, "ab"),
	   "text_is compares length and bytes");
}

static void test_truncated_binary(void)
{
	const char *t = flush("\0\0\0\5abc", 7);
	const unsigned char *p;
	struct rbuf r;
	size_t n;

	rbuf_init(&r, t, 7);
	ok(rbuf_string(&r, &p, &n) == -1 && r.off == 0,
	   "a string whose length runs past the buffer fails, nothing consumed");
}

static void test_fixed_writer(void)
{
	unsigned char a[6];
	struct wbuf w;

	memset(a, 0xee, sizeof a);
	wbuf_init_fixed(&w, a, 5);
	ok(wbuf_u32(&w, 0x01020304) == 0 && wbuf_u8(&w, 5) == 0 && w.len == 5 && !w.failed,
	   "a fixed writer fills its array");
	ok(memcmp(a, "\1\2\3\4\5", 5) == 0, "big-endian, in order");
	ok(wbuf_u8(&w, 6) == -1 && w.failed && a[5] == 0xee,
	   "one byte more fails and is not written");
	ok(wbuf_u8(&w, 6) == -1, "the failure is sticky");
	wbuf_free(&w);
	ok(a[0] == 1 && w.p == NULL, "free forgets the caller's array, leaves its bytes");

	wbuf_init_fixed(&w, a, 8 - 2);
	ok(wbuf_u64(&w, 1) == -1 && w.failed, "a u64 does not fit in 6 bytes");
	wbuf_free(&w);
}

int main(void)
{
	test_lines();
	test_until_and_rest();
	test_words();
	test_expect();
	test_truncated_binary();
	test_fixed_writer();
	return done_testing();
}
