/* enf-verify: check an SSHSIG (or a raw ECDSA/RSA signature) against a
 * public key or an allowed_signers file, with no instance and no
 * credential (enf-verify(1)).  The purpose is mandatory: it is the SSHSIG
 * namespace, so a signature made for another purpose never verifies.
 * Options, then verify_request (verify.h). */
#include <stdio.h>
#include <string.h>
#include "enf.h"
#include "cli.h"
#include "crypto.h"
#include "encode.h"
#include "verify.h"

static const char usage[] =
	"usage: enf-verify -p PURPOSE (-k PUBKEY | -A ALLOWED_SIGNERS -I NAME) -s SIG\n"
	"                  [--raw [-a sha256|sha384|sha512]] [-v]\n"
	"                  [--digest ALG:HEX | FILE | -]\n"
	"       enf-verify -h | --version\n";

struct opts {
	struct verify_req r;
	int verbose, alg;	/* alg: -a, or -1 */
};

/* A path given that means stdin; an input not given (NULL) reads nothing. */
static int names_stdin(const char *p) { return p && cli_is_stdin(p); }

/* The combination rules of the synopsis. */
static int check_opts(struct opts *o, int argc, char **argv)
{
	struct verify_req *r = &o->r;
	int rc, given_digest = r->data.digest_alg >= 0;

	if (argc > 1)
		return enf_err(ENF_USAGE, "at most one data file");
	r->data.path = argc == 1 ? argv[0] : NULL;
	if (!r->purpose || !r->sigfile)
		return enf_err(ENF_USAGE, "-p PURPOSE and -s SIG are required");
	if (!enf_valid_name(r->purpose))
		return enf_err(ENF_USAGE, "bad purpose \"%s\"", r->purpose);
	if (!!r->keyfile == !!r->signers || !!r->signers != !!r->principal)
		return enf_err(ENF_USAGE, "give either -k PUBKEY or -A ALLOWED_SIGNERS -I NAME");
	if (o->alg >= 0 && !r->raw)
		return enf_err(ENF_USAGE, "-a is for --raw; an SSHSIG names its own hash");
	if ((rc = data_ref_hash(&r->data, o->alg, HASH_SHA256, &r->alg)) != ENF_OK)
		return rc;
	if (names_stdin(r->keyfile) + names_stdin(r->signers) + names_stdin(r->sigfile) +
	    (!given_digest && cli_is_stdin(r->data.path)) > 1)
		return enf_err(ENF_USAGE, "only one input can come from stdin");
	return ENF_OK;
}

static int parse_opts(struct opts *o, int argc, char **argv)
{
	static const struct option lo[] = {
		{ "purpose", required_argument, NULL, 'p' },
		{ "key", required_argument, NULL, 'k' },
		{ "allowed-signers", required_argument, NULL, 'A' },
		{ "identity", required_argument, NULL, 'I' },
		{ "signature", required_argument, NULL, 's' },
		{ "hash", required_argument, NULL, 'a' },
		{ "raw", no_argument, NULL, 'r' },
		{ "digest", required_argument, NULL, 'd' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "home", required_argument, NULL, 'H' },
		CLI_LONGOPTS_END
	};
	int c;

	memset(o, 0, sizeof *o);
	o->alg = o->r.data.digest_alg = -1;
	while ((c = cli_getopt(argc, argv, "p:k:A:I:s:a:vH:h", lo)) != -1) {
		switch (c) {
		case 'p': o->r.purpose = optarg; break;
		case 'k': o->r.keyfile = optarg; break;
		case 'A': o->r.signers = optarg; break;
		case 'I': o->r.principal = optarg; break;
		case 's': o->r.sigfile = optarg; break;
		case 'r': o->r.raw = 1; break;
		case 'v': o->verbose = 1; break;
		case 'H': break;	/* no instance is used; accepted like every enf program */
		case 'a':
			if ((o->alg = hash_parse(optarg)) < 0)
				return enf_err(ENF_USAGE, "-a: unknown hash \"%s\"", optarg);
			break;
		case 'd':
			if (digest_arg_parse(optarg, &o->r.data.digest_alg, o->r.data.digest) != ENF_OK)
				return ENF_USAGE;
			break;
		default: return ENF_USAGE;
		}
	}
	return check_opts(o, argc - optind, argv + optind);
}

int main(int argc, char **argv)
{
	struct verify_result res;
	struct opts o;
	int rc;

	if (cli_start(argc, argv, usage) != ENF_OK)
		return cli_exit(ENF_FAIL);
	if ((rc = parse_opts(&o, argc, argv)) != ENF_OK)
		return cli_exit(rc);
	if (crypto_init() != ENF_OK)
		return cli_exit(ENF_FAIL);
	if ((rc = verify_request(&o.r, &res)) == ENF_OK && o.verbose && o.r.raw)
		enf_warn("good raw %s signature by %s key %s", hash_name(res.hash_alg),
			 res.key_type, res.fingerprint);
	else if (rc == ENF_OK && o.verbose)
		enf_warn("good signature for purpose %s by %s key %s", o.r.purpose, res.key_type,
			 res.fingerprint);
	return cli_exit(rc);
}
