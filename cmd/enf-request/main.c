/* enf-request: make, approve and show signing requests (enf-request(1)).
 * Needs no instance: a request is text signed with the requester's SSH key
 * by ssh-keygen itself, so agent-held and hardware keys work unchanged. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "enf.h"
#include "buf.h"
#include "cli.h"
#include "crypto.h"
#include "decide.h"
#include "envelope.h"
#include "io.h"
#include "request.h"

static const char usage[] =
	"usage: enf-request -k KEY -i IDENTITY -p PURPOSE -s SCOPE -r RULE\n"
	"                   [-f sshsig|raw] [-a sha256|sha512] [-o OUT]\n"
	"                   (--ssh-key FILE | --unsigned) [--digest ALG:HEX | FILE | -]\n"
	"       enf-request approve --ssh-key FILE [-o OUT] [REQUEST|-]\n"
	"       enf-request show [REQUEST|-]\n"
	"       enf-request verify [--policy FILE | -H DIR] [--data FILE | --digest ALG:HEX]\n"
	"                   [REQUEST|-]\n"
	"       enf-request -h | --version\n";

enum { OPT_SSH_KEY = 256, OPT_UNSIGNED, OPT_DIGEST, OPT_POLICY, OPT_DATA };

static const struct option longopts[] = {
	{ "key", required_argument, NULL, 'k' },
	{ "identity", required_argument, NULL, 'i' },
	{ "purpose", required_argument, NULL, 'p' },
	{ "scope", required_argument, NULL, 's' },
	{ "rule", required_argument, NULL, 'r' },
	{ "format", required_argument, NULL, 'f' },
	{ "hash", required_argument, NULL, 'a' },
	{ "output", required_argument, NULL, 'o' },
	{ "home", required_argument, NULL, 'H' },
	{ "ssh-key", required_argument, NULL, OPT_SSH_KEY },
	{ "unsigned", no_argument, NULL, OPT_UNSIGNED },
	{ "digest", required_argument, NULL, OPT_DIGEST },
	{ "policy", required_argument, NULL, OPT_POLICY },
	{ "data", required_argument, NULL, OPT_DATA },
	CLI_LONGOPTS_END
};

/* A bit per option a verb may refuse (-H is taken by every form: only
 * verify reads an instance): "kipsrfao" in order, then the long ones. */
#define SHORT_BITS "kipsrfao"
#define BIT(c) (1u << ((c) >= OPT_SSH_KEY ? 8 + (c) - OPT_SSH_KEY \
				      : (int)(strchr(SHORT_BITS, (c)) - SHORT_BITS)))

struct opts {
	struct request_args req;		/* make; req.digest and req.data: verify */
	const char *out, *ssh_key;
	const char *home, *policy;		/* verify */
	int unsigned_;
	unsigned seen;				/* BIT() of every option given */
};

/* getopt for every form. */
static int parse_opts(int argc, char **argv, struct opts *o)
{
	int c;

	while ((c = cli_getopt(argc, argv, "k:i:p:s:r:f:a:o:H:h", longopts)) != -1) {
		switch (c) {
		case 'k': o->req.key = optarg; break;
		case 'i': o->req.identity = optarg; break;
		case 'p': o->req.purpose = optarg; break;
		case 's': o->req.scope = optarg; break;
		case 'r': o->req.rule = optarg; break;
		case 'f': o->req.format = optarg; break;
		case 'a': o->req.hash = optarg; break;
		case 'o': o->out = optarg; break;
		case 'H': o->home = optarg; break;
		case OPT_SSH_KEY: o->ssh_key = optarg; break;
		case OPT_UNSIGNED: o->unsigned_ = 1; break;
		case OPT_DIGEST: o->req.digest = optarg; break;
		case OPT_POLICY: o->policy = optarg; break;
		case OPT_DATA: o->req.data = optarg; break;
		default: return ENF_USAGE;
		}
		if (c != 'H')
			o->seen |= BIT(c);
	}
	return ENF_OK;
}

static int cmd_make(struct opts *o, int argc, char **argv)
{
	struct envelope e;
	struct wbuf out;
	int rc;

	if (argc > 1)
		return enf_err(ENF_USAGE, "at most one data file");
	if (!o->ssh_key == !o->unsigned_)
		return enf_err(ENF_USAGE, "give exactly one of --ssh-key FILE and --unsigned");
	if (o->seen & (BIT(OPT_POLICY) | BIT(OPT_DATA)))
		return enf_err(ENF_USAGE, "--policy and --data belong to enf-request verify");
	memset(&e, 0, sizeof e);
	o->req.data = argc ? argv[0] : NULL;
	if ((rc = request_fields(&o->req, &e)) != ENF_OK)
		return rc;
	wbuf_init(&out, 0);
	if ((rc = request_make(&e, o->ssh_key, &out)) == ENF_OK)
		rc = io_write_atomic(o->out, out.p, out.len, 0644);
	wbuf_free(&out);
	return rc;
}

static int cmd_approve(struct opts *o, int argc, char **argv)
{
	unsigned char *text = NULL;
	struct wbuf out;
	size_t n;
	int rc;

	if (argc > 1)
		return enf_err(ENF_USAGE, "at most one request file");
	if (!o->ssh_key || (o->seen & ~(BIT('o') | BIT(OPT_SSH_KEY))))
		return enf_err(ENF_USAGE, "approve takes --ssh-key FILE [-o OUT] [REQUEST|-]");
	if ((rc = request_file_read(argc ? argv[0] : NULL, &text, &n)) != ENF_OK)
		return rc;
	wbuf_init(&out, 0);
	if ((rc = request_approve((const char *)text, n, o->ssh_key, &out)) == ENF_OK)
		rc = io_write_atomic(o->out, out.p, out.len, 0644);
	wbuf_free(&out);
	free(text);
	return rc;
}

static int cmd_show(struct opts *o, int argc, char **argv)
{
	struct envelope e;
	int rc;

	if (argc > 1)
		return enf_err(ENF_USAGE, "at most one request file");
	if (o->seen)
		return enf_err(ENF_USAGE, "show takes [REQUEST|-]");
	if ((rc = request_file_parse(argc ? argv[0] : NULL, 1, &e)) != ENF_OK)
		return rc;
	request_print(&e, stdout);
	envelope_free(&e);
	return cli_flush_stdout();
}

/* What an approver or operator checks before acting: the signatures under
 * the policy's identities, then the digest against the data. */
static int check(const struct opts *o, const struct envelope *e, const struct policy *pol,
		 const struct pol_identity **signer, char *note, size_t n)
{
	struct decision d;

	if (decide_authenticity(e, pol, signer, &d) != R_PERMIT)
		return enf_err(ENF_NO, "%s: %s", reason_code(d.reason), d.detail);
	return request_digest_check(e, o->req.data, o->req.digest, note, n);
}

static int cmd_verify(struct opts *o, int argc, char **argv)
{
	const struct pol_identity **signer = NULL;
	struct policy *pol = NULL;
	struct envelope e;
	char where[4200], note[128];
	int rc;

	if (argc > 1)
		return enf_err(ENF_USAGE, "at most one request file");
	if ((o->seen & ~(BIT(OPT_DIGEST) | BIT(OPT_POLICY) | BIT(OPT_DATA))) ||
	    (o->policy && o->home))
		return enf_err(ENF_USAGE, "verify takes [--policy FILE | -H DIR] "
			       "[--data FILE | --digest ALG:HEX] [REQUEST|-]");
	if ((rc = request_file_parse(argc ? argv[0] : NULL, 0, &e)) != ENF_OK)
		return rc;
	if ((rc = request_policy(o->policy, o->home, &pol, where, sizeof where)) == ENF_OK &&
	    !(signer = calloc(e.napprovals ? e.napprovals : 1, sizeof *signer)))
		rc = enf_err(ENF_FAIL, "out of memory");
	if (rc == ENF_OK && (rc = check(o, &e, pol, signer, note, sizeof note)) == ENF_OK) {
		request_print_verified(&e, pol, signer, where, note, stdout);
		rc = cli_flush_stdout();
	}
	free(signer);
	policy_free(pol);
	envelope_free(&e);
	return rc;
}
/* The first word names the verb; without one, the request is made. */
static const struct verb {
	const char *name;
	int (*fn)(struct opts *, int, char **);
} verbs[] = {
	{ "approve", cmd_approve }, { "show", cmd_show }, { "verify", cmd_verify },
};

int main(int argc, char **argv)
{
	int (*cmd)(struct opts *, int, char **) = cmd_make;
	const struct verb *v = NULL;
	struct opts o;
	int rc;

	if (cli_start(argc, argv, usage) != ENF_OK)
		return cli_exit(ENF_FAIL);
	memset(&o, 0, sizeof o);
	for (size_t i = 0; argc > 1 && i < sizeof verbs / sizeof *verbs; i++)
		if (strcmp(argv[1], verbs[i].name) == 0)
			v = &verbs[i];
	if (v) {	/* the verb's word takes the program's name, which getopt prints */
		cmd = v->fn;
		argv[1] = argv[0];
		argv++;
		argc--;
	}
	if ((rc = parse_opts(argc, argv, &o)) != ENF_OK)
		return cli_exit(rc);
	if (crypto_init() != ENF_OK)
		return cli_exit(ENF_FAIL);
	return cli_exit(cmd(&o, argc - optind, argv + optind));
}
