/* enf-seal: encryption bound to this instance (enf-seal(1), enf-seal(5)). */
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <stdlib.h>
#include "enf.h"
#include "agent.h"
#include "proc.h"
#include "seal_cmd.h"

static const char usage_text[] =
	"usage: enf-seal [-H DIR] seal [-o OUT] [--passphrase-file F | --agent SOCKET] [FILE|-]\n"
	"       enf-seal [-H DIR] open [-o OUT] [--passphrase-file F | --agent SOCKET]\n"
	"                [--from INSTANCE.pub] [FILE|-]\n"
	"       enf-seal [-H DIR] transfer --to INSTANCE.pub [-o OUT]\n"
	"                [--officer-passphrase-file F] [FILE|-]\n"
	"       enf-seal info [FILE|-]\n";

static int usage(void)
{
	fputs(usage_text, stderr);
	return ENF_USAGE;
}

enum { OPT_PASS = 256, OPT_OFFICER, OPT_TO, OPT_AGENT, OPT_VERSION, OPT_FROM };

static const struct option longopts[] = {
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, OPT_VERSION },
	{ "home", required_argument, NULL, 'H' },
	{ "output", required_argument, NULL, 'o' },
	{ "passphrase-file", required_argument, NULL, OPT_PASS },
	{ "officer-passphrase-file", required_argument, NULL, OPT_OFFICER },
	{ "to", required_argument, NULL, OPT_TO },
	{ "from", required_argument, NULL, OPT_FROM },
	{ "agent", required_argument, NULL, OPT_AGENT },
	{ NULL, 0, NULL, 0 },
};

/* Sealed data is binary: like age, refuse to spray it on a terminal. */
static int binary_to_tty(const char *out)
{
	if ((!out || strcmp(out, "-") == 0) && isatty(STDOUT_FILENO))
		return enf_err(ENF_USAGE, "refusing to write sealed data to a terminal (use -o)");
	return ENF_OK;
}

int main(int argc, char **argv)
{
	struct seal_cmd c = { 0 };
	const char *verb, *operator_pass = NULL, *officer_pass = NULL, *agent = NULL;
	int ch, has_out = 0, rc;

	if (enf_start(argv[0]) != ENF_OK)
		return enf_report(ENF_FAIL);
	while ((ch = getopt_long(argc, argv, "hH:o:", longopts, NULL)) != -1) {
		switch (ch) {
		case 'h': fputs(usage_text, stdout); return ENF_OK;
		case OPT_VERSION: printf("enf-seal %s\n", ENF_VERSION); return ENF_OK;
		case 'H': c.home = optarg; break;
		case 'o': c.out = optarg; has_out = 1; break;
		case OPT_PASS: operator_pass = optarg; break;
		case OPT_OFFICER: officer_pass = optarg; break;
		case OPT_TO: c.to = optarg; break;
		case OPT_FROM: c.from = optarg; break;
		case OPT_AGENT: agent = optarg; break;
		default: return usage();
		}
	}
	if (optind >= argc || argc - optind > 2)
		return usage();
	verb = argv[optind];
	c.in = optind + 1 < argc ? argv[optind + 1] : NULL;

	if (strcmp(verb, "seal") == 0 || strcmp(verb, "open") == 0) {
		if (officer_pass || c.to || (c.from && verb[0] == 's') || (agent && operator_pass))
			return usage();
		c.passfile = operator_pass;
		if (verb[0] == 's' && binary_to_tty(c.out) != ENF_OK)
			return enf_report(ENF_USAGE);
		/* The agent, when there is one and no passphrase was given. */
		if (!agent && !operator_pass)
			agent = getenv(AGENT_ENV);
		if (agent && *agent)
			return agent_seal(agent, verb[0] == 'o', c.from, c.in, c.out);
		rc = verb[0] == 's' ? seal_cmd_seal(&c) : seal_cmd_open(&c);
	} else if (strcmp(verb, "transfer") == 0) {
		if (operator_pass || !c.to || c.from || agent)
			return usage();
		c.passfile = officer_pass;
		if (binary_to_tty(c.out) != ENF_OK)
			return enf_report(ENF_USAGE);
		rc = seal_cmd_transfer(&c);
	} else if (strcmp(verb, "info") == 0) {
		if (operator_pass || officer_pass || c.to || c.from || has_out || !c.in || agent)
			return usage();
		rc = seal_cmd_info(&c);
	} else {
		return usage();
	}
	return enf_report(rc);
}
