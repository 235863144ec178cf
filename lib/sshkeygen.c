/* Signing with OpenSSH's ssh-keygen (see sshkeygen.h). */
#include <string.h>
#include "enf.h"
#include "spawn.h"
#include "sshkeygen.h"
#include "sshsig.h"

#define SIG_MAX (16 * 1024)

/* Run `ssh-keygen -q -Y sign -n NS -f KEYFILE [-U]` with msg on its stdin
 * and collect the armored signature from its stdout.  argv, no shell; the
 * environment (SSH_AUTH_SOCK) passes through; ssh-keygen's own messages
 * and passphrase prompts (on the terminal) reach the user unchanged. */
static int run_ssh_keygen(const char *keyfile, int agent, const char *ns, const char *msg,
			  size_t n, struct wbuf *sig)
{
	char *argv[] = { "ssh-keygen", "-q", "-Y", "sign", "-n", (char *)ns,
			 "-f", (char *)keyfile, agent ? "-U" : NULL, NULL };
	int status, rc = spawn_run(argv, 0, msg, n, sig, SIG_MAX, &status);

	if (rc != ENF_OK)
		return enf_err(ENF_FAIL, "cannot collect the signature from ssh-keygen: %s",
			       enf_errmsg());
	if (status != 0)
		return enf_err(ENF_FAIL, "ssh-keygen -Y sign failed (key %s)", keyfile);
	return ENF_OK;
}

/* Sign msg and check that what ssh-keygen gave back is one well-formed
 * SSHSIG of the right namespace that verifies over msg. */
int sshkeygen_sign_agent(const char *keyfile, int agent, const char *ns, const char *msg,
			 size_t n, struct wbuf *sig)
{
	struct sshsig s;
	size_t used = 0;
	int rc;

	if ((rc = run_ssh_keygen(keyfile, agent, ns, msg, n, sig)) != ENF_OK)
		return rc;
	memset(&s, 0, sizeof s);
	rc = sshsig_parse_armored(&s, (const char *)sig->p, sig->len, &used);
	if (rc != ENF_OK || used != sig->len || strcmp(s.ns, ns) != 0 ||
	    sshsig_verify(&s, ns, NULL, msg, n) != ENF_OK)
		rc = enf_err(ENF_FAIL, "ssh-keygen produced an unexpected signature");
	sshsig_free(&s);
	return rc;
}

int sshkeygen_sign(const char *keyfile, const char *ns, const char *msg, size_t n,
		   struct wbuf *sig)
{
	return sshkeygen_sign_agent(keyfile, 0, ns, msg, n, sig);
}
