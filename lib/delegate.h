/* Signing through enf for a program that expects `ssh-keygen -Y sign`
 * (enf-sshsig(1)): make a request for the data, signed by the requester's
 * SSH key, hand it to enf-sign or $ENF_SIGN_COMMAND, and check what comes
 * back before anyone uses it. */
#ifndef ENF_DELEGATE_H
#define ENF_DELEGATE_H

#include "buf.h"
#include "envelope.h"

/* What the request says besides the data: from $ENF_SSHSIG_KEY, _IDENTITY,
 * _RULE, _SCOPE, else from `git config enf.key|identity|rule|scope`. */
struct delegate_conf {
	char key[ENF_NAME_MAX + 1];
	char identity[ENF_NAME_MAX + 1];
	char rule[ENF_NAME_MAX + 1];
	char scope[SCOPE_MAX + 1];	/* "" when neither says: see delegate_sign */
};

/* ENF_OK, or ENF_FAIL naming what is missing or malformed (scope may be
 * left empty). */
int delegate_config(struct delegate_conf *c);

/* The data to sign and how the requester signs its request. */
struct delegate_job {
	const char *data;	/* path, or NULL/"-" for stdin */
	const char *ns;		/* the SSHSIG namespace: the request's purpose */
	int hash_alg;		/* HASH_SHA512 (ssh-keygen's default) or HASH_SHA256 */
	const char *ssh_key;	/* the requester's key file (-f) */
	int agent;		/* -U: ssh_key is public, the agent holds it */
};

/* sig receives the armored SSHSIG of the data in namespace ns, checked to
 * verify over the data's digest.  ENF_NO when the signer denied it (its
 * one line is already on stderr; no message is added), ENF_FAIL when the
 * signer failed otherwise (it said why), could not be run, or returned
 * something that is not such a signature. */
int delegate_sign(const struct delegate_conf *c, const struct delegate_job *j, struct wbuf *sig);

#endif
