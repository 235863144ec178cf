/* A few lines of TAP for the C unit tests; t/run counts "ok" / "not ok". */
#ifndef ENF_TAP_H
#define ENF_TAP_H

#include <stddef.h>
#include <stdio.h>

static int tap_n, tap_failed;

#define ok(cond, ...) do { \
	int ok_ = !!(cond); \
	printf("%sok %d - ", ok_ ? "" : "not ", ++tap_n); \
	printf(__VA_ARGS__); \
	printf("\n"); \
	if (!ok_) { tap_failed++; printf("#   at %s:%d\n", __FILE__, __LINE__); } \
} while (0)

/* The plan goes last ("1..N"): t/run fails a unit test whose plan is
 * missing (it died or returned early) or does not match what it ran.  A
 * unit test that ran nothing fails. */
static inline int done_testing(void)
{
	if (tap_n == 0)
		ok(0, "no test ran");
	printf("1..%d\n", tap_n);
	return tap_failed ? 1 : 0;
}

static inline int hex_nibble(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Test vectors are written in hex.  A vector that is not all hex digits,
 * in pairs, is a failed test of its own (not a shorter vector). */
static inline size_t unhex(unsigned char *out, const char *hex)
{
	size_t n = 0;

	for (; hex[0]; hex += 2) {
		int hi = hex_nibble(hex[0]), lo = hex[1] ? hex_nibble(hex[1]) : -1;
		if (hi < 0 || lo < 0) {
			ok(0, "test vector is hex: bad digit at \"%.8s\"", hex);
			break;
		}
		out[n++] = (unsigned char)(hi << 4 | lo);
	}
	return n;
}

#endif
