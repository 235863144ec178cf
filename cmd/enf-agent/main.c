/* enf-agent: the signing service (enf-agent(1), SPEC "The signing service").
 * Options, then agent_run or agent_stop (agent.h). */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include "enf.h"
#include "agent.h"
#include "proc.h"

static void usage(FILE *f)
{
	fprintf(f, "usage: enf-agent [-H DIR] [--passphrase-file F] [-a SOCKET] [-t LIFETIME]\n"
		   "                 [--group G] [--timeout SECONDS] [-D]\n"
		   "       enf-agent -k\n"
		   "       enf-agent -h | --version\n");
}

enum { OPT_PASSFILE = 256, OPT_GROUP, OPT_TIMEOUT, OPT_VERSION };

int main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "home", required_argument, NULL, 'H' },
		{ "passphrase-file", required_argument, NULL, OPT_PASSFILE },
		{ "socket", required_argument, NULL, 'a' },
		{ "lifetime", required_argument, NULL, 't' },
		{ "group", required_argument, NULL, OPT_GROUP },
		{ "timeout", required_argument, NULL, OPT_TIMEOUT },
		{ "foreground", no_argument, NULL, 'D' },
		{ "kill", no_argument, NULL, 'k' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, OPT_VERSION },
		{ NULL, 0, NULL, 0 }
	};
	struct agent_opts o = { 0 };
	int c, stop = 0;
	long v;

	if (enf_start(argv[0]) != ENF_OK)
		return enf_report(ENF_FAIL);
	while ((c = getopt_long(argc, argv, "H:a:t:Dkh", lo, NULL)) != -1) {
		switch (c) {
		case 'H': o.home = optarg; break;
		case OPT_PASSFILE: o.passfile = optarg; break;
		case 'a': o.socket = optarg; break;
		case 't':
			if ((v = agent_parse_lifetime(optarg)) < 0) {
				fprintf(stderr, "enf-agent: bad lifetime '%s' (seconds, or N[smhd])\n", optarg);
				return ENF_USAGE;
			}
			o.lifetime = (unsigned long)v;
			break;
		case OPT_GROUP: o.group = optarg; break;
		case OPT_TIMEOUT:
			if ((v = agent_parse_lifetime(optarg)) < 0 || v > 86400) {
				fprintf(stderr, "enf-agent: bad timeout '%s'\n", optarg);
				return ENF_USAGE;
			}
			o.timeout = (unsigned)v;
			break;
		case 'D': o.foreground = 1; break;
		case 'k': stop = 1; break;
		case 'h': usage(stdout); return ENF_OK;
		case OPT_VERSION: printf("enf-agent %s\n", ENF_VERSION); return ENF_OK;
		default: usage(stderr); return ENF_USAGE;
		}
	}
	if (optind != argc || (stop && (o.home || o.passfile || o.lifetime || o.group ||
					o.foreground))) {
		usage(stderr);
		return ENF_USAGE;
	}
	if (stop)
		return agent_stop(o.socket ? o.socket : getenv(AGENT_ENV));
	return agent_run(&o);
}
