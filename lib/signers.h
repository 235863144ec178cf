/* OpenSSH allowed_signers files: the keys a principal may sign with. */
#ifndef ENF_SIGNERS_H
#define ENF_SIGNERS_H

#include <stddef.h>
#include "pubkey.h"

/* Find the key of principal `name` for namespace `ns` in an OpenSSH
 * allowed_signers file (ssh-keygen(1) ALLOWED SIGNERS: principals list with
 * '*' / '?' patterns, options namespaces="..." and cert-authority (refused),
 * valid-after/valid-before (refused: no clock in decisions), comments).
 * Returns ENF_OK and fills keys (array of n) for every matching line,
 * ENF_NO if none, ENF_FAIL if the file is malformed. */
int allowed_signers_find(const char *text, size_t n, const char *name, const char *ns,
			 struct pubkey **keys, size_t *nkeys);

#endif
