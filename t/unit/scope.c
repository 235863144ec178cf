/* lib/scope.c: the one scope grammar of requests and policy patterns. */
#include <string.h>
#include "scope.h"
#include "tap.h"

int main(void)
{
	char big[SCOPE_MAX + 2];

	ok(scope_valid("a.b_c:d/e@f+g-h", 15), "every allowed character");
	ok(scope_valid("device:gw1xyz", 9), "the length given bounds it (no NUL needed)");
	ok(!scope_valid("", 0) && !scope_valid(NULL, 0), "an empty scope is not one");
	ok(!scope_valid("a*", 2), "a request's scope has no '*'");
	ok(!scope_valid("a b", 3) && !scope_valid("a#", 2) && !scope_valid("a\0b", 3),
	   "space, '#' and NUL are not scope characters");
	memset(big, 'a', sizeof big);
	ok(scope_valid(big, SCOPE_MAX), "SCOPE_MAX bytes is a scope");
	ok(!scope_valid(big, SCOPE_MAX + 1), "one more is not");
	big[SCOPE_MAX - 1] = '*';
	big[SCOPE_MAX] = '\0';
	ok(scope_pattern_valid(big), "a pattern of SCOPE_MAX bytes, '*' included");
	big[SCOPE_MAX] = '*';
	big[SCOPE_MAX + 1] = '\0';
	ok(!scope_pattern_valid(big), "the '*' counts towards SCOPE_MAX");
	ok(scope_pattern_valid("device:*") && scope_pattern_valid("*") &&
	   scope_pattern_valid("device:gw"), "a scope, a prefix with '*', a bare '*'");
	ok(!scope_pattern_valid("**") && !scope_pattern_valid("a*b") && !scope_pattern_valid("") &&
	   !scope_pattern_valid(NULL), "'*' only once and last; not empty");
	ok(scope_match("device:*", "device:gw") && !scope_match("device:gw", "device:gw2") &&
	   !scope_match(NULL, "x"), "matching: prefix with '*', else the whole scope");
	return done_testing();
}
