/* enf-sshsig: `ssh-keygen -Y` for git and its kind, signing through enf
 * (enf-sshsig(1)).  `-Y sign` becomes a request signed with the caller's
 * SSH key and judged by enf-sign; every other use is ssh-keygen itself. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "enf.h"
#include "cli.h"
#include "crypto.h"
#include "delegate.h"
#include "io.h"
#include "proc.h"

static const char usage[] =
	"usage: enf-sshsig -Y sign -n NAMESPACE -f KEY [-U] [-q] [-O hashalg=sha256|sha512]\n"
	"                  [FILE...]\n"
	"       enf-sshsig -Y verify|find-principals|check-novalidate|... (run as ssh-keygen)\n"
	"       enf-sshsig -h | --version\n"
	"request: $ENF_SSHSIG_KEY|IDENTITY|RULE|SCOPE, else git config enf.key|identity|rule|scope\n"
	"signer: $ENF_SIGN_COMMAND (sh -c), else enf-sign\n";

/* The -Y operation, wherever it stands; NULL when there is none. */
static const char *operation(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--") == 0)
			break;
		if (strcmp(argv[i], "-Y") == 0)
			return i + 1 < argc ? argv[i + 1] : NULL;
		if (strncmp(argv[i], "-Y", 2) == 0)
			return argv[i] + 2;
	}
	return NULL;
}

/* Verification needs no policy and no instance: OpenSSH does it, with the
 * caller's allowed_signers and revocation list, unchanged. */
static int run_ssh_keygen(char **argv)
{
	argv[0] = "ssh-keygen";
	execvp(argv[0], argv);
	return enf_err(ENF_FAIL, "cannot run ssh-keygen: %s", strerror(errno));
}

static int sign_one(const struct delegate_conf *c, struct delegate_job *j, const char *file)
{
	struct wbuf sig, path;
	int rc, to_stdout = !file || strcmp(file, "-") == 0;

	j->data = file;
	wbuf_init(&sig, 0);
	wbuf_init(&path, 0);
	rc = delegate_sign(c, j, &sig);
	if (rc == ENF_OK && !to_stdout) {
		wbuf_printf(&path, "%s.sig", file);
		wbuf_cstr_terminate(&path);
		rc = path.failed ? enf_err(ENF_FAIL, "out of memory")
				 : io_write_atomic((char *)path.p, sig.p, sig.len, 0644);
	} else if (rc == ENF_OK) {
		rc = io_write_atomic(NULL, sig.p, sig.len, 0644);
	}
	wbuf_free(&path);
	wbuf_free(&sig);
	return rc;
}

static int parse_hashalg(const char *opt, int *alg)
{
	if (strcmp(opt, "hashalg=sha512") == 0)
		*alg = HASH_SHA512;
	else if (strcmp(opt, "hashalg=sha256") == 0)
		*alg = HASH_SHA256;
	else
		return enf_err(ENF_USAGE, "-O %s: only hashalg=sha256|sha512 is understood", opt);
	return ENF_OK;
}

static int sign(int argc, char **argv)
{
	struct delegate_job j = { .hash_alg = HASH_SHA512 };
	struct delegate_conf conf;
	int c, rc = ENF_OK;

	while ((c = getopt(argc, argv, "Y:n:f:UqO:")) != -1) {
		switch (c) {
		case 'Y': break;	/* "sign": operation() saw it */
		case 'n': j.ns = optarg; break;
		case 'f': j.ssh_key = optarg; break;
		case 'U': j.agent = 1; break;
		case 'q': break;	/* enf-sshsig is always quiet */
		case 'O':
			if (parse_hashalg(optarg, &j.hash_alg) != ENF_OK)
				return ENF_USAGE;
			break;
		default: return ENF_USAGE;
		}
	}
	if (!j.ns || !j.ssh_key)
		return enf_err(ENF_USAGE, "-Y sign needs -n NAMESPACE and -f KEY");
	if (crypto_init() != ENF_OK || (rc = delegate_config(&conf)) != ENF_OK)
		return rc ? rc : ENF_FAIL;
	if (optind == argc)
		return sign_one(&conf, &j, NULL);
	for (int i = optind; i < argc && rc == ENF_OK; i++)
		rc = sign_one(&conf, &j, argv[i]);
	return rc;
}

int main(int argc, char **argv)
{
	const char *op;

	if (cli_start(argc, argv, usage) != ENF_OK)
		return cli_exit(ENF_FAIL);
	/* Alone only: every other argument is ssh-keygen's. */
	if (argc == 2 && (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0))
		cli_help();
	if (argc == 2 && strcmp(argv[1], "--version") == 0)
		cli_version();
	op = operation(argc, argv);
	if (!op || strcmp(op, "sign") != 0)
		return cli_exit(run_ssh_keygen(argv));
	/* A refusal by the signer has printed its own line and recorded none. */
	return cli_exit(sign(argc, argv));
}
