/* Public key text formats: OpenSSH public key lines, SHA256 fingerprints,
 * PEM SubjectPublicKeyInfo.  (allowed_signers files: signers.h.) */
#ifndef ENF_KEYFMT_H
#define ENF_KEYFMT_H

#include "key.h"
#include "signers.h"	/* allowed_signers_find, for callers of keyfmt.h */

/* "ssh-ed25519 AAAA... comment": `comment` may be NULL.  The result is a
 * NUL-terminated string in out (no trailing newline). */
int pubkey_to_line(const struct pubkey *k, const char *comment, struct wbuf *out);
/* Parses "TYPE BASE64 [COMMENT]" (one line, no newline); the type must match
 * the blob's.  *comment (may be NULL) receives a malloc'd copy or NULL. */
int pubkey_from_line(struct pubkey *k, const char *line, char **comment);
/* "SHA256:" + unpadded base64 of SHA-256(blob), as ssh-keygen -l prints. */
#define FINGERPRINT_MAX 64
void pubkey_fingerprint(const struct pubkey *k, char out[FINGERPRINT_MAX]);
/* PEM "PUBLIC KEY" (SubjectPublicKeyInfo, RFC 5480 / 8410 / 8017). */
int pubkey_to_pem(const struct pubkey *k, struct wbuf *out);
int pubkey_from_pem(struct pubkey *k, const char *text, size_t n);
/* Either an OpenSSH line or PEM, as enf-verify -k accepts. */
int pubkey_from_text(struct pubkey *k, const char *text, size_t n);

/* For signers.c, whose lines end in a key: */
/* The blanks between the fields of a key line. */
#define KEYLINE_BLANKS " \t"
void keyline_skip_blanks(struct rbuf *r);
/* "TYPE BASE64" at the cursor (no blank before TYPE), the blob decoded into
 * blob (its own type name must be TYPE), then the blanks after it: r is
 * left at the comment, if any.  ENF_NO when malformed, nothing consumed. */
int pubkey_read_key(struct rbuf *r, const char **type, size_t *tlen, struct wbuf *blob);

#endif
