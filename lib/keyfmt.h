/* Public key text formats: OpenSSH public key lines, SHA256 fingerprints,
 * PEM SubjectPublicKeyInfo, and OpenSSH allowed_signers files. */
#ifndef ENF_KEYFMT_H
#define ENF_KEYFMT_H

#include "key.h"

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

/* Find the key of principal `name` for namespace `ns` in an OpenSSH
 * allowed_signers file (ssh-keygen(1) ALLOWED SIGNERS: principals list with
 * '*' / '?' patterns, options namespaces="..." and cert-authority (refused),
 * valid-after/valid-before (refused: no clock in decisions), comments).
 * Returns ENF_OK and fills keys (array of n) for every matching line,
 * ENF_NO if none, ENF_FAIL if the file is malformed. */
int allowed_signers_find(const char *text, size_t n, const char *name, const char *ns,
			 struct pubkey **keys, size_t *nkeys);

#endif
