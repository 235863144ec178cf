/* Text encodings: base64 (RFC 4648), lowercase hex, PEM-style armor. */
#ifndef ENF_ENCODE_H
#define ENF_ENCODE_H

#include <stddef.h>
#include "buf.h"

/* Appends base64 of p to out (no line breaks; pad when `pad`). */
int base64_encode(struct wbuf *out, const void *p, size_t n, int pad);
/* Strict decode: only the alphabet and correct '=' padding (required when
 * `pad`, forbidden otherwise); no whitespace.  ENF_NO on bad input. */
int base64_decode(struct wbuf *out, const char *s, size_t n, int pad);
/* Hex, the one codec: lowercase only, as every file of enf writes it. */
int hex_encode(struct wbuf *out, const void *p, size_t n);
/* The same as a C string into out[0..outlen) (2n digits and a NUL); ENF_FAIL
 * when it does not fit. */
int hex_to_str(char *out, size_t outlen, const void *p, size_t n);
/* Strict lowercase hex of exactly outlen bytes; ENF_NO otherwise (out is
 * then zeroed).  s need not be NUL-terminated. */
int hex_decode(const char *s, size_t n, unsigned char *out, size_t outlen);

/* "ALG:HEX" as --digest takes it (ALG: sha256, sha384, sha512; HEX: the
 * digest in lowercase hex).  ENF_USAGE with a message otherwise. */
int digest_arg_parse(const char *s, int *alg, unsigned char *digest);

/* A quoted JSON string of s[0..n): control bytes escaped, bytes that are not
 * UTF-8 become U+FFFD, so that jq never sees a broken document. */
int json_string(struct wbuf *w, const void *s, size_t n);

/* Armor: "-----BEGIN LABEL-----\n" base64 lines of `width` chars
 * "-----END LABEL-----\n". */
int armor_encode(struct wbuf *out, const char *label, const void *p, size_t n, int width);
/* Decodes one armored block starting at text (which must begin with the
 * BEGIN line); *used receives the bytes consumed including the END line's
 * newline.  ENF_NO on anything malformed. */
int armor_decode(struct wbuf *out, const char *label, const char *text, size_t n, size_t *used);

#endif
