/* enf-agent: the signing service (enf-agent(1), SPEC "The signing service").
 * Options, then agent_run or agent_stop (agent.h). */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "enf.h"
#include "agent.h"
#include "cli.h"

static const char usage[] =
	"usage: enf-agent [-H DIR] [--passphrase-file F] [-a SOCKET] [-t LIFETIME]\n"
	"                 [--group G] [--timeout SECONDS] [-D]\n"
	"       enf-agent [-a SOCKET] -k\n"
	"       enf-agent -h | --version\n";

enum { OPT_PASSFILE = 256, OPT_GROUP, OPT_TIMEOUT };

/* A duration within max seconds (agent_parse_lifetime: N or N[smhd]). */
static int parse_duration(const char *s, long max, long *out)
{
	return (*out = agent_parse_lifetime(s)) >= 0 && *out <= max ? ENF_OK : ENF_USAGE;
}

/* -k.  For eval "$(enf-agent -k)", as with ssh-agent -k: the shell
 * forgets the agent just stopped (not another one it names). */
static int stop_agent(const char *socket)
{
	const char *env = getenv(AGENT_ENV);
	int rc = agent_stop(socket ? socket : env);

	if (rc == ENF_OK && env && (!socket || strcmp(socket, env) == 0))
		printf("unset %s;\necho Agent stopped;\n", AGENT_ENV);
	return rc;
}

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
		CLI_LONGOPTS_END
	};
	struct agent_opts o = { 0 };
	int c, stop = 0;
	long v;

	if (cli_start(argc, argv, usage) != ENF_OK)
		return cli_exit(ENF_FAIL);
	while ((c = cli_getopt(argc, argv, "H:a:t:Dkh", lo)) != -1) {
		switch (c) {
		case 'H': o.home = optarg; break;
		case OPT_PASSFILE: o.passfile = optarg; break;
		case 'a': o.socket = optarg; break;
		case 't':
			if (parse_duration(optarg, LONG_MAX, &v) != ENF_OK)
				return cli_exit(enf_err(ENF_USAGE, "bad lifetime '%s' (seconds, or N[smhd])",
							optarg));
			o.lifetime = (unsigned long)v;
			break;
		case OPT_GROUP: o.group = optarg; break;
		case OPT_TIMEOUT:
			if (parse_duration(optarg, 86400, &v) != ENF_OK)
				return cli_exit(enf_err(ENF_USAGE, "bad timeout '%s'", optarg));
			o.timeout = (unsigned)v;
			break;
		case 'D': o.foreground = 1; break;
		case 'k': stop = 1; break;
		default: return cli_exit(ENF_USAGE);
		}
	}
	if (optind != argc || (stop && (o.home || o.passfile || o.lifetime || o.group ||
					o.foreground)))
		return cli_exit(ENF_USAGE);
	if (stop)
		return stop_agent(o.socket);
	return agent_run(&o);
}
