/* enf-audit: verify, show and anchor the instance's audit log
 * (enf-audit(1), format in enf-audit(5)).  The verbs are in
 * lib/audit_cmd.c; this file maps options to them and prints results. */
#include <stdio.h>
#include <unistd.h>
#include "enf.h"
#include "audit.h"
#include "cli.h"
#include "crypto.h"
#include "encode.h"

#define ANCHORS_MAX 16

enum { O_INSTANCE = 256, O_ANCHOR, O_ALLSIG, O_TAIL, O_JSON, O_FILE, O_QUIET };
#define BIT(o) (1u << ((o) - O_INSTANCE))

struct opts {
	struct audit_cmd c;
	const char *file;		/* -f LOG */
	struct audit_anchor anchors[ANCHORS_MAX];
	unsigned seen;			/* BIT(O_...) of the options given */
	int quiet;
};

static const char usage[] =
	"usage: enf-audit [-H DIR] verify [--instance PUB] [--anchor SEQ:HASH]...\n"
	"                 [--all-signatures] [--allow-unsigned-tail] [-q] [LOG]\n"
	"       enf-audit [-H DIR] show [--json] [-f LOG] [SEQ|FIRST-LAST]...\n"
	"       enf-audit [-H DIR] head [-f LOG]\n"
	"       enf-audit -h | --version\n";

/* What the signatures were checked against: only an identity the user
 * brought (--instance) is authenticated; the keystore's is whatever the
 * home holds, which whoever could rewrite the log could rewrite too. */
static void report_identity(const struct opts *o, const char *fp)
{
	if (o->c.instance)
		printf("signatures checked against the identity in %s (%s)\n", o->c.instance, fp);
	else
		printf("signatures checked against the identity in the keystore (%s), which is "
		       "not authenticated: pass --instance FILE for that\n", fp);
}

static void report_ok(const struct opts *o, const struct audit_verify_result *r, const char *fp)
{
	if (r->torn)
		enf_warn("warning: ignoring an incomplete last line (%zu bytes): an append was "
			 "interrupted; the next append removes it and records a repair", r->torn);
	if (r->gaps)
		enf_warn("warning: %llu record(s) of op gap: decisions whose records could not be "
			 "written at the time (enf-audit show --json | jq 'select(.op == \"gap\")')",
			 (unsigned long long)r->gaps);
	if (r->head_lag)
		enf_warn("warning: audit.head names an earlier signed record than the log's last "
			 "%llu (an append did not write its head); their signatures were checked, "
			 "and the next append updates the head", (unsigned long long)r->head_lag);
	if (r->unsigned_tail)
		enf_warn("warning: the last %llu record(s) are not signed and not covered by a "
			 "signature (written without the instance key)",
			 (unsigned long long)r->unsigned_tail);
	if (o->quiet)
		return;
	printf("intact: %llu records, the last signed is %llu\n",
	       (unsigned long long)r->records, (unsigned long long)r->last_signed);
	report_identity(o, fp);
}

static int cmd_verify(struct opts *o, int argc, char **argv)
{
	struct audit_verify_result res;
	char fp[FINGERPRINT_MAX];
	int rc;

	if (argc > 1)
		return enf_err(ENF_USAGE, "verify takes at most one LOG");
	o->c.log = argc ? argv[0] : NULL;
	o->c.progress = isatty(STDERR_FILENO);
	if ((rc = audit_cmd_verify(&o->c, &res, fp)) == ENF_OK)
		report_ok(o, &res, fp);
	return rc;
}

static int cmd_show(struct opts *o, int argc, char **argv)
{
	o->c.log = o->file;
	return audit_cmd_show(&o->c, argv, (size_t)argc, stdout);
}

static int cmd_head(struct opts *o, int argc, char **argv)
{
	unsigned char hash[32];
	uint64_t seq;
	struct wbuf hx;
	int rc;

	(void)argv;
	if (argc)
		return enf_err(ENF_USAGE, "head takes no arguments (use -f LOG)");
	o->c.log = o->file;
	if ((rc = audit_cmd_head(&o->c, &seq, hash)) == ENF_OK) {
		wbuf_init(&hx, 0);
		hex_encode(&hx, hash, 32);
		printf("%llu:%.*s\n", (unsigned long long)seq, (int)hx.len, (const char *)hx.p);
		wbuf_free(&hx);
	}
	return rc;
}

static const struct verb {
	const char *name;
	int (*fn)(struct opts *, int, char **);
	unsigned allowed;	/* BIT(O_...) of the options it takes */
} verbs[] = {
	{ "verify", cmd_verify, BIT(O_INSTANCE) | BIT(O_ANCHOR) | BIT(O_ALLSIG) | BIT(O_TAIL) |
		BIT(O_QUIET) },
	{ "show", cmd_show, BIT(O_JSON) | BIT(O_FILE) },
	{ "head", cmd_head, BIT(O_FILE) },
};

/* Options that belong to another command are a usage error, not ignored. */
static int check_opts(const struct opts *o, const struct verb *v)
{
	unsigned stray = o->seen & ~v->allowed;

	if (stray & (BIT(O_INSTANCE) | BIT(O_ANCHOR) | BIT(O_ALLSIG) | BIT(O_TAIL) | BIT(O_QUIET)))
		return enf_err(ENF_USAGE, "--instance, --anchor, --all-signatures, "
			       "--allow-unsigned-tail and -q belong to verify");
	if (stray & BIT(O_JSON))
		return enf_err(ENF_USAGE, "--json belongs to show");
	if (stray & BIT(O_FILE))
		return enf_err(ENF_USAGE, "verify takes the log as its argument, not -f");
	return ENF_OK;
}

static int add_anchor(struct opts *o, const char *s)
{
	if (o->c.nanchors == ANCHORS_MAX)
		return enf_err(ENF_USAGE, "at most %d anchors", ANCHORS_MAX);
	if (audit_anchor_parse(s, &o->anchors[o->c.nanchors++]) != ENF_OK)
		return enf_err(ENF_USAGE, "--anchor wants SEQ:HASH (as enf-audit head prints), "
			       "not \"%s\"", s);
	return ENF_OK;
}

static int parse(int argc, char **argv, struct opts *o)
{
	static const struct option lo[] = {
		{ "instance", required_argument, NULL, O_INSTANCE },
		{ "anchor", required_argument, NULL, O_ANCHOR },
		{ "all-signatures", no_argument, NULL, O_ALLSIG },
		{ "allow-unsigned-tail", no_argument, NULL, O_TAIL },
		{ "json", no_argument, NULL, O_JSON },
		{ "file", required_argument, NULL, 'f' },
		{ "quiet", no_argument, NULL, 'q' },
		CLI_LONGOPTS_END
	};
	int c, rc = ENF_OK;

	o->c.anchors = o->anchors;
	while (rc == ENF_OK && (c = cli_getopt(argc, argv, "hH:f:q", lo)) != -1) {
		switch (c) {
		case 'H': o->c.home = optarg; break;
		case 'f': o->file = optarg; o->seen |= BIT(O_FILE); break;
		case 'q': o->quiet = 1; o->seen |= BIT(O_QUIET); break;
		case O_INSTANCE: o->c.instance = optarg; break;
		case O_ALLSIG: o->c.all_signatures = 1; break;
		case O_TAIL: o->c.allow_unsigned_tail = 1; break;
		case O_JSON: o->c.json = 1; break;
		case O_ANCHOR: rc = add_anchor(o, optarg); break;
		default: return ENF_USAGE;
		}
		if (c >= O_INSTANCE && c <= O_JSON)
			o->seen |= BIT(c);
	}
	return rc;
}

int main(int argc, char **argv)
{
	struct opts o = { 0 };
	const struct verb *v;
	int rc;

	if (cli_start(argc, argv, usage) != ENF_OK)
		return cli_exit(ENF_FAIL);
	if ((rc = parse(argc, argv, &o)) != ENF_OK)
		return cli_exit(rc);
	argc -= optind;
	argv += optind;
	if (!(v = CLI_VERB(verbs, argc, argv)))
		return cli_exit(ENF_USAGE);
	if ((rc = check_opts(&o, v)) != ENF_OK)
		return cli_exit(rc);
	if (crypto_init() != ENF_OK)
		return cli_exit(enf_err(ENF_FAIL, "cannot initialise libgcrypt"));
	return cli_exit(v->fn(&o, argc - 1, argv + 1));
}
