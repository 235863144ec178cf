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

struct opts {
	struct seal_cmd c;
	const char *operator_pass, *officer_pass, *agent;
	int has_out;
};

/* seal and open: through the agent when there is one and no passphrase
 * was given, else in this process. */
static int seal_or_open(struct opts *o, int open)
{
	struct seal_cmd *c = &o->c;

	if (o->officer_pass || c->to || (c->from && !open) || (o->agent && o->operator_pass))
		return usage();
	c->passfile = o->operator_pass;
	if (!open && binary_to_tty(c->out) != ENF_OK)
		return enf_report(ENF_USAGE);
	if (!o->agent && !o->operator_pass)
		o->agent = getenv(AGENT_ENV);
	if (o->agent && *o->agent)
		return agent_seal(o->agent, open, c->from, c->in, c->out);
	return enf_report(open ? seal_cmd_open(c) : seal_cmd_seal(c));
}

static int verb_seal(struct opts *o) { return seal_or_open(o, 0); }
static int verb_open(struct opts *o) { return seal_or_open(o, 1); }

static int verb_transfer(struct opts *o)
{
	if (o->operator_pass || !o->c.to || o->c.from || o->agent)
		return usage();
	o->c.passfile = o->officer_pass;
	if (binary_to_tty(o->c.out) != ENF_OK)
		return enf_report(ENF_USAGE);
	return enf_report(seal_cmd_transfer(&o->c));
}

static int verb_info(struct opts *o)
{
	if (o->operator_pass || o->officer_pass || o->c.to || o->c.from || o->has_out ||
	    !o->c.in || o->agent)
		return usage();
	return enf_report(seal_cmd_info(&o->c));
}

/* Each verb checks which options apply to it and returns the exit code. */
static const struct {
	const char *name;
	int (*fn)(struct opts *);
} verbs[] = {
	{ "seal", verb_seal }, { "open", verb_open },
	{ "transfer", verb_transfer }, { "info", verb_info },
};

int main(int argc, char **argv)
{
	struct opts o = { 0 };
	int ch;

	if (enf_start(argv[0]) != ENF_OK)
		return enf_report(ENF_FAIL);
	while ((ch = getopt_long(argc, argv, "hH:o:", longopts, NULL)) != -1) {
		switch (ch) {
		case 'h': fputs(usage_text, stdout); return ENF_OK;
		case OPT_VERSION: printf("enf-seal %s\n", ENF_VERSION); return ENF_OK;
		case 'H': o.c.home = optarg; break;
		case 'o': o.c.out = optarg; o.has_out = 1; break;
		case OPT_PASS: o.operator_pass = optarg; break;
		case OPT_OFFICER: o.officer_pass = optarg; break;
		case OPT_TO: o.c.to = optarg; break;
		case OPT_FROM: o.c.from = optarg; break;
		case OPT_AGENT: o.agent = optarg; break;
		default: return usage();
		}
	}
	if (optind >= argc || argc - optind > 2)
		return usage();
	o.c.in = optind + 1 < argc ? argv[optind + 1] : NULL;
	for (size_t i = 0; i < sizeof verbs / sizeof verbs[0]; i++)
		if (strcmp(argv[optind], verbs[i].name) == 0)
			return verbs[i].fn(&o);
	return usage();
}
