/* Signing through OpenSSH's own ssh-keygen -Y sign, so that keys held by an
 * agent (SSH_AUTH_SOCK) or on hardware sign requests unchanged. */
#ifndef ENF_SSHKEYGEN_H
#define ENF_SSHKEYGEN_H

#include <stddef.h>
#include "buf.h"

/* Runs `ssh-keygen -q -Y sign -n NS -f KEYFILE` (argv, no shell) with msg on
 * its stdin; sig receives the armored SSHSIG, checked to be one well-formed
 * signature of namespace ns that verifies over msg.  ENF_FAIL otherwise. */
int sshkeygen_sign(const char *keyfile, const char *ns, const char *msg, size_t n,
		   struct wbuf *sig);
/* The same; with agent, `-U`: KEYFILE is a public key whose private half
 * the ssh-agent at $SSH_AUTH_SOCK holds (git's "key::" signing keys). */
int sshkeygen_sign_agent(const char *keyfile, int agent, const char *ns, const char *msg,
			 size_t n, struct wbuf *sig);

#endif
