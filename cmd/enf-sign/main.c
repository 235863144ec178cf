/* enf-sign: sign what the installed policy permits, and nothing else
 * (enf-sign(1), SPEC "Signing", "Many requests").
 *
 * Options, then one library call: sign_local (sign.h: evaluate -> sign ->
 * stage -> record -> publish, in this process), or agent_sign, which hands
 * the requests to enf-agent, where the same transaction runs.  The caller learns
 * "permitted" or "denied (audit #SEQ)", never which check failed. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "enf.h"
#include "cli.h"
#include "crypto.h"
#include "agent.h"
#include "sign.h"

static const char usage[] =
	"usage: enf-sign [-H DIR] [--passphrase-file F] [-o OUT] [REQUEST|-]\n"
	"       enf-sign [-H DIR] [--passphrase-file F] -d DIR REQUEST...\n"
	"       enf-sign --agent SOCKET [-o OUT | -d DIR] ...   (or $ENF_AGENT_SOCK)\n"
	"       enf-sign -h | --version\n"
	"credential: --passphrase-file F | $ENF_PASSPHRASE_FILE (operator), else the terminal\n";

enum { OPT_PASSFILE = 256, OPT_AGENT };

/* A batch names its files: each gives its output's name. */
static int check_batch(const struct sign_job *j)
{
	if (j->out || j->nrequests == 0 || j->nrequests > SIGN_BATCH_MAX)
		return ENF_USAGE;
	for (size_t i = 0; i < j->nrequests; i++) {
		char *p = sign_batch_path(j->dir, j->requests[i]);
		int named = p && strcmp(j->requests[i], "-") != 0;

		free(p);
		if (!named)
			return enf_err(ENF_USAGE, "%s: a batch request must be a named file",
				       j->requests[i]);
	}
	return ENF_OK;
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "output", required_argument, NULL, 'o' },
		{ "dir", required_argument, NULL, 'd' },
		{ "home", required_argument, NULL, 'H' },
		{ "passphrase-file", required_argument, NULL, OPT_PASSFILE },
		{ "agent", required_argument, NULL, OPT_AGENT },
		CLI_LONGOPTS_END
	};
	struct sign_job j = { 0 };
	const char *agent = NULL;
	int c;

	if (cli_start(argc, argv, usage) != ENF_OK)
		return cli_exit(ENF_FAIL);
	while ((c = cli_getopt(argc, argv, "o:d:H:h", lo)) != -1) {
		switch (c) {
		case 'o': j.out = optarg; break;
		case 'd': j.dir = optarg; break;
		case 'H': j.home = optarg; break;
		case OPT_PASSFILE: j.passfile = optarg; break;
		case OPT_AGENT: agent = optarg; break;
		default: return cli_exit(ENF_USAGE);
		}
	}
	j.requests = argv + optind;
	j.nrequests = (size_t)(argc - optind);
	if ((j.dir && check_batch(&j) != ENF_OK) || (!j.dir && j.nrequests > 1))
		return cli_exit(ENF_USAGE);
	/* Through the agent the caller needs no passphrase and no access to
	 * the home: the agent's instance decides.  A credential given on the
	 * command line asks for this process instead. */
	if (agent && j.passfile)
		return cli_exit(ENF_USAGE);
	if (!agent && !j.passfile)
		agent = getenv(AGENT_ENV);
	if (agent && *agent)
		return agent_sign(agent, &j);
	if (crypto_init() != ENF_OK)
		return cli_exit(ENF_FAIL);
	return sign_local(&j);
}
