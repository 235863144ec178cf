/* What every program does to act as a role: read the credential, unlock,
 * audit a failure or a lockout. */
#ifndef ENF_UNLOCK_H
#define ENF_UNLOCK_H

#include "keystore.h"

/* passfile: the option's value or NULL.  program/op name the audit record
 * written on failure.  Returns ENF_OK or the error (message recorded). */
int unlock_role(struct keystore *ks, int role, const char *passfile,
		const char *program, const char *op);

/* The same with the passphrase in hand (enf-agent keeps it, in secure
 * memory, to re-authenticate a keystore that changed under it). */
int unlock_with(struct keystore *ks, int role, const struct secret *pass, const char *program,
		const char *op);

#endif
