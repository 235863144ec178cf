/* enf-sign: sign what the installed policy permits, and nothing else
 * (enf-sign(1), SPEC "Signing", "Many requests").
 *
 * Options, then one library call: sign_local (sign.h: evaluate -> sign ->
 * stage -> record -> publish, in this process), or agent_sign, which hands
 * the requests to enf-agent, where the same transaction runs.  The caller learns
 * "permitted" or "denied (audit #SEQ)", never which check failed. */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "enf.h"
#include "crypto.h"
#include "agent.h"
#include "proc.h"
#include "sign.h"

static void usage(FILE *f)
{
	fprintf(f, "usage: enf-sign [-H DIR] [--passphrase-file F] [-o OUT] [REQUEST|-]\n"
		   "       enf-sign [-H DIR] [--passphrase-file F] -d DIR REQUEST...\n"
		   "       enf-sign --agent SOCKET [-o OUT | -d DIR] ...   (or $ENF_AGENT_SOCK)\n"
		   "       enf-sign -h | --version\n"
		   "credential: --passphrase-file F | $ENF_PASSPHRASE_FILE (operator), else the terminal\n");
}

enum { OPT_PASSFILE = 256, OPT_AGENT, OPT_VERSION };

int main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "output", required_argument, NULL, 'o' },
		{ "dir", required_argument, NULL, 'd' },
		{ "home", required_argument, NULL, 'H' },
		{ "passphrase-file", required_argument, NULL, OPT_PASSFILE },
		{ "agent", required_argument, NULL, OPT_AGENT },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, OPT_VERSION },
		{ NULL, 0, NULL, 0 }
	};
	struct sign_job j = { 0 };
	const char *agent = NULL;
	int c;

	if (enf_start(argv[0]) != ENF_OK)
		return enf_report(ENF_FAIL);
	while ((c = getopt_long(argc, argv, "o:d:H:h", lo, NULL)) != -1) {
		switch (c) {
		case 'o': j.out = optarg; break;
		case 'd': j.dir = optarg; break;
		case 'H': j.home = optarg; break;
		case OPT_PASSFILE: j.passfile = optarg; break;
		case OPT_AGENT: agent = optarg; break;
		case 'h': usage(stdout); return ENF_OK;
		case OPT_VERSION: printf("enf-sign %s\n", ENF_VERSION); return ENF_OK;
		default: usage(stderr); return ENF_USAGE;
		}
	}
	j.requests = argv + optind;
	j.nrequests = (size_t)(argc - optind);
	if (j.dir) {
		/* A batch names its files: each gives its output's name. */
		if (j.out || j.nrequests == 0 || j.nrequests > SIGN_BATCH_MAX) {
			usage(stderr);
			return ENF_USAGE;
		}
		for (size_t i = 0; i < j.nrequests; i++) {
			char *p = sign_batch_path(j.dir, j.requests[i]);
			if (!p || strcmp(j.requests[i], "-") == 0) {
				free(p);
				fprintf(stderr, "enf-sign: %s: a batch request must be a named file\n",
					j.requests[i]);
				return ENF_USAGE;
			}
			free(p);
		}
	} else if (j.nrequests > 1) {
		usage(stderr);
		return ENF_USAGE;
	}
	/* Through the agent the caller needs no passphrase and no access to
	 * the home: the agent's instance decides.  A credential given on the
	 * command line asks for this process instead. */
	if (agent && j.passfile) {
		usage(stderr);
		return ENF_USAGE;
	}
	if (!agent && !j.passfile)
		agent = getenv(AGENT_ENV);
	if (agent && *agent)
		return agent_sign(agent, &j);
	if (crypto_init() != ENF_OK)
		return enf_report(ENF_FAIL);
	return sign_local(&j);
}
