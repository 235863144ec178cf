/* The instance file (enf-keygen(1), instance): an instance's public
 * identity, as `enf-keygen instance` prints it and another machine or
 * instance is given it:
 *
 *   ssh-ed25519 BASE64 [COMMENT]      the identity key (its fingerprint is
 *                                     the instance id, it signs the log)
 *   enf-x25519 BASE64                 the X25519 key transfers are sealed to
 *
 * Blank lines and '#' comments are skipped; nothing may follow the second
 * line.  Parsed here, once, for enf-audit --instance and enf-seal. */
#ifndef ENF_INSTANCE_H
#define ENF_INSTANCE_H

#include <stddef.h>
#include "crypto.h"
#include "key.h"

#define INSTANCE_FILE_MAX (64u * 1024u)	/* bytes of an instance file */

struct instance_file {
	struct pubkey identity;		/* Ed25519 */
	/* The second line is a good enf-x25519 key (32 bytes, not all zero)
	 * and nothing follows it: the file is complete. */
	int has_x25519;
	unsigned char x25519[X25519_LEN];
};

/* ENF_OK when the first line is an Ed25519 identity (then free the result
 * with instance_free); has_x25519 says whether the rest is the transfer key
 * and nothing else.  ENF_NO, with nothing to free, when the identity line
 * is missing or is not an ssh-ed25519 key line. */
int instance_parse(const char *text, size_t n, struct instance_file *f);
void instance_free(struct instance_file *f);

#endif
