/* The instance file (instance.h): read line by line within its n bytes. */
#include <stdlib.h>
#include <string.h>
#include "enf.h"
#include "instance.h"
#include "buf.h"
#include "encode.h"
#include "keyfmt.h"

#define X25519_TAG "enf-x25519 "

/* The next line that is not blank or a '#' comment, as a NUL-terminated
 * copy (the key parsers take C strings); NULL at the end. */
static char *next_line(const char *text, size_t n, size_t *off)
{
	while (*off < n) {
		const char *s = text + *off;
		const char *nl = memchr(s, '\n', n - *off);
		size_t len = nl ? (size_t)(nl - s) : n - *off;

		*off += len + (nl != NULL);
		if (len == 0 || s[0] == '#')
			continue;
		return strndup(s, len);
	}
	return NULL;
}

/* "enf-x25519 BASE64": 32 bytes that are not all zero (the all-zero
 * point would make every shared secret zero). */
static int parse_x25519(const char *line, unsigned char pk[X25519_LEN])
{
	const char *b64 = line + strlen(X25519_TAG);
	size_t n;
	struct wbuf b;
	int rc = ENF_NO;
	unsigned char any = 0;

	if (strncmp(line, X25519_TAG, strlen(X25519_TAG)) != 0)
		return ENF_NO;
	n = strlen(b64);
	wbuf_init(&b, 0);
	if (n > 0 && base64_decode(&b, b64, n, b64[n - 1] == '=') == ENF_OK &&
	    b.len == X25519_LEN) {
		for (size_t i = 0; i < X25519_LEN; i++)
			any |= b.p[i];
		if (any) {
			memcpy(pk, b.p, X25519_LEN);
			rc = ENF_OK;
		}
	}
	wbuf_free(&b);
	return rc;
}

int instance_parse(const char *text, size_t n, struct instance_file *f)
{
	size_t off = 0;
	char *id = next_line(text, n, &off), *x = next_line(text, n, &off);
	char *more = next_line(text, n, &off);
	int rc = ENF_NO;

	memset(f, 0, sizeof *f);
	if (id && pubkey_from_line(&f->identity, id, NULL) == ENF_OK &&
	    f->identity.type == KT_ED25519) {
		rc = ENF_OK;
		f->has_x25519 = x && !more && parse_x25519(x, f->x25519) == ENF_OK;
	}
	free(id);
	free(x);
	free(more);
	if (rc != ENF_OK) {
		instance_free(f);
		return enf_err(ENF_NO, "not an instance identity file (enf-keygen instance prints one)");
	}
	return ENF_OK;
}

void instance_free(struct instance_file *f)
{
	pubkey_free(&f->identity);	/* also of a zeroed or half-parsed key */
	memset(f, 0, sizeof *f);
}
