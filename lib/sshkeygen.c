/* Signing with OpenSSH's ssh-keygen (see sshkeygen.h). */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include "enf.h"
#include "io.h"
#include "sshkeygen.h"
#include "sshsig.h"

#define SIG_MAX (16 * 1024)

/* Run `ssh-keygen -q -Y sign -n NS -f KEYFILE` with msg on its stdin and
 * collect the armored signature from its stdout.  argv, no shell; the
 * environment (SSH_AUTH_SOCK) passes through; ssh-keygen's own messages
 * and passphrase prompts (on the terminal) reach the user unchanged. */
static int run_ssh_keygen(const char *keyfile, const char *ns, const char *msg, size_t n,
			  struct wbuf *sig)
{
	int in[2], out[2], status;
	unsigned char chunk[4096];
	ssize_t r;
	pid_t pid;

	if (pipe(in) < 0)
		return enf_err(ENF_FAIL, "pipe: %s", strerror(errno));
	if (pipe(out) < 0) {
		close(in[0]), close(in[1]);
		return enf_err(ENF_FAIL, "pipe: %s", strerror(errno));
	}
	pid = fork();
	if (pid < 0) {
		close(in[0]), close(in[1]), close(out[0]), close(out[1]);
		return enf_err(ENF_FAIL, "fork: %s", strerror(errno));
	}
	if (pid == 0) {
		char *argv[] = { "ssh-keygen", "-q", "-Y", "sign", "-n", (char *)ns,
				 "-f", (char *)keyfile, NULL };
		if (dup2(in[0], 0) < 0 || dup2(out[1], 1) < 0)
			_exit(127);
		close(in[0]), close(in[1]), close(out[0]), close(out[1]);
		execvp(argv[0], argv);
		fprintf(stderr, "%s: cannot run ssh-keygen: %s\n", enf_progname(), strerror(errno));
		_exit(127);
	}
	close(in[0]);
	close(out[1]);
	/* The body (<= 4 KiB) fits in the pipe: writing it all before reading
	 * cannot deadlock. */
	if (io_write_all(in[1], msg, n) != ENF_OK)
		sig->failed = 1;
	close(in[1]);
	while ((r = read(out[0], chunk, sizeof chunk)) != 0) {
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 || sig->len + (size_t)r > SIG_MAX) {
			sig->failed = 1;
			break;
		}
		wbuf_put(sig, chunk, (size_t)r);
	}
	close(out[0]);
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return enf_err(ENF_FAIL, "waitpid: %s", strerror(errno));
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		return enf_err(ENF_FAIL, "ssh-keygen -Y sign failed (key %s)", keyfile);
	if (sig->failed)
		return enf_err(ENF_FAIL, "cannot collect the signature from ssh-keygen");
	return ENF_OK;
}

/* Sign msg and check that what ssh-keygen gave back is one well-formed
 * SSHSIG of the right namespace that verifies over msg. */
int sshkeygen_sign(const char *keyfile, const char *ns, const char *msg, size_t n,
		   struct wbuf *sig)
{
	struct sshsig s;
	size_t used = 0;
	int rc;

	if ((rc = run_ssh_keygen(keyfile, ns, msg, n, sig)) != ENF_OK)
		return rc;
	memset(&s, 0, sizeof s);
	rc = sshsig_parse_armored(&s, (const char *)sig->p, sig->len, &used);
	if (rc != ENF_OK || used != sig->len || strcmp(s.ns, ns) != 0 ||
	    sshsig_verify(&s, ns, NULL, msg, n) != ENF_OK)
		rc = enf_err(ENF_FAIL, "ssh-keygen produced an unexpected signature");
	sshsig_free(&s);
	return rc;
}

