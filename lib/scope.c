/* Scopes: one grammar for requests and policy patterns (scope.h). */
#include <string.h>
#include "scope.h"

static int scope_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       (c && strchr("._:/@+-", c));
}

/* A pattern is a scope with an optional '*' after it, in SCOPE_MAX bytes. */
static int scope_span(const char *s, size_t n, int pattern)
{
	if (n < 1 || n > SCOPE_MAX)
		return 0;
	if (pattern && s[n - 1] == '*')
		n--;
	for (size_t i = 0; i < n; i++)
		if (!scope_char(s[i]))
			return 0;
	return 1;
}

int scope_valid(const char *s, size_t n)
{
	return s && scope_span(s, n, 0);
}

int scope_pattern_valid(const char *s)
{
	return s && scope_span(s, strlen(s), 1);
}

int scope_match(const char *pattern, const char *scope)
{
	size_t n;

	if (!pattern || !scope)
		return 0;
	n = strlen(pattern);
	if (n && pattern[n - 1] == '*')
		return strncmp(pattern, scope, n - 1) == 0;
	return strcmp(pattern, scope) == 0;
}
