/* Scopes, the one grammar that requests (enf-request(5)) and policy rules
 * (enf-policy(5)) share: SCOPE is [A-Za-z0-9._:/@+-]{1,SCOPE_MAX}; a rule's
 * pattern is a scope, or a prefix of one ending in '*'. */
#ifndef ENF_SCOPE_H
#define ENF_SCOPE_H

#include <stddef.h>

#define SCOPE_MAX 128
/* The characters of a scope, for messages. */
#define SCOPE_CHARS "[A-Za-z0-9._:/@+-]"

/* 1 when s[0..n) is a scope (s need not be NUL-terminated). */
int scope_valid(const char *s, size_t n);
/* 1 when the C string s is a valid scope pattern: 1..SCOPE_MAX bytes in
 * all, an optional '*' only as the last byte. */
int scope_pattern_valid(const char *s);
/* 1 when scope matches the pattern (literal, or prefix ending in '*'). */
int scope_match(const char *pattern, const char *scope);

#endif
