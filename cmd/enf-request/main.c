/* enf-request: make, approve and show signing requests (enf-request(1)).
 * Needs no instance: a request is text signed with the requester's SSH key
 * by ssh-keygen itself, so agent-held and hardware keys work unchanged. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "enf.h"
#include "buf.h"
#include "cli.h"
#include "crypto.h"
#include "encode.h"
#include "envelope.h"
#include "evaluate.h"
#include "io.h"
#include "keyfmt.h"
#include "proc.h"
#include "keystore.h"
#include "request.h"
#include "verify.h"

/* The limit enf-sign and enf-policy eval apply, so that what show and
 * approve read, enf-sign reads too. */
#define REQUEST_MAX REQUEST_SIZE_MAX

static const char usage[] =
	"usage: enf-request -k KEY -i IDENTITY -p PURPOSE -s SCOPE -r RULE\n"
	"                   [-f sshsig|raw] [-a sha256|sha512] [-o OUT]\n"
	"                   (--ssh-key FILE | --unsigned) [--digest ALG:HEX | FILE | -]\n"
	"       enf-request approve --ssh-key FILE [-o OUT] [REQUEST|-]\n"
	"       enf-request show [REQUEST|-]\n"
	"       enf-request verify [--policy FILE | -H DIR] [--data FILE | --digest ALG:HEX]\n"
	"                   [REQUEST|-]\n"
	"       enf-request -h | --version\n";

static int read_request(const char *path, unsigned char **text, size_t *n)
{
	int rc = io_read_file(path, REQUEST_MAX, text, n);

	if (rc == ENF_NO)
		return enf_err(ENF_NO, "%s: request larger than %d bytes",
			       path ? path : "-", REQUEST_MAX);
	return rc;
}

/* The envelope carries sha256 or sha512 only. */
static int parse_digest_opt(const char *s, int *alg, unsigned char *digest)
{
	int rc = digest_arg_parse(s, alg, digest);

	if (rc == ENF_OK && *alg != HASH_SHA256 && *alg != HASH_SHA512)
		rc = enf_err(ENF_USAGE, "--digest: algorithm must be sha256 or sha512");
	return rc;
}

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

struct opts {
	const char *key, *identity, *purpose, *scope, *rule, *format, *hash;
	const char *out, *ssh_key, *digest;
	const char *home, *policy, *data;	/* verify */
	int unsigned_;
};

/* getopt for every form. */
static int parse_opts(int argc, char **argv, struct opts *o)
{
	int c;

	while ((c = cli_getopt(argc, argv, "k:i:p:s:r:f:a:o:H:h", longopts)) != -1) {
		switch (c) {
		case 'k': o->key = optarg; break;
		case 'i': o->identity = optarg; break;
		case 'p': o->purpose = optarg; break;
		case 's': o->scope = optarg; break;
		case 'r': o->rule = optarg; break;
		case 'f': o->format = optarg; break;
		case 'a': o->hash = optarg; break;
		case 'o': o->out = optarg; break;
		case 'H': o->home = optarg; break;	/* only verify reads an instance */
		case OPT_SSH_KEY: o->ssh_key = optarg; break;
		case OPT_UNSIGNED: o->unsigned_ = 1; break;
		case OPT_DIGEST: o->digest = optarg; break;
		case OPT_POLICY: o->policy = optarg; break;
		case OPT_DATA: o->data = optarg; break;
		default: return ENF_USAGE;
		}
	}
	return ENF_OK;
}

/* The body's fields from the options, the data's digest from the data
 * file or --digest (reconciled with -a as enf-verify does). */
static int fill_fields(const struct opts *o, const char *data, struct envelope *e)
{
	struct data_ref d = { .path = data, .digest_alg = -1 };
	int a = -1, rc;

	if (!o->key || !o->identity || !o->purpose || !o->scope || !o->rule)
		return enf_err(ENF_USAGE, "-k, -i, -p, -s and -r are all required");
	if (strlen(o->key) > ENF_NAME_MAX || strlen(o->identity) > ENF_NAME_MAX ||
	    strlen(o->purpose) > ENF_NAME_MAX || strlen(o->rule) > ENF_NAME_MAX ||
	    strlen(o->scope) > SCOPE_MAX)
		return enf_err(ENF_USAGE, "a name is longer than %d characters", ENF_NAME_MAX);
	strcpy(e->key, o->key);
	strcpy(e->identity, o->identity);
	strcpy(e->purpose, o->purpose);
	strcpy(e->scope, o->scope);
	strcpy(e->rule, o->rule);
	if ((e->format = o->format ? format_parse(o->format) : FMT_SSHSIG) < 0)
		return enf_err(ENF_USAGE, "-f: format must be sshsig or raw");
	if (o->hash && (a = hash_parse(o->hash)) != HASH_SHA256 && a != HASH_SHA512)
		return enf_err(ENF_USAGE, "-a: hash must be sha256 or sha512");
	if (o->digest && parse_digest_opt(o->digest, &d.digest_alg, d.digest) != ENF_OK)
		return ENF_USAGE;
	if ((rc = data_ref_hash(&d, a, HASH_SHA512, &e->digest_alg)) != ENF_OK)
		return rc;
	return data_ref_digest(&d, e->digest_alg, e->digest);
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
	if (o->policy || o->data)
		return enf_err(ENF_USAGE, "--policy and --data belong to enf-request verify");
	memset(&e, 0, sizeof e);
	if ((rc = fill_fields(o, argc ? argv[0] : NULL, &e)) != ENF_OK)
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
	if (!o->ssh_key || o->unsigned_ || o->key || o->identity || o->purpose || o->scope ||
	    o->rule || o->format || o->hash || o->digest || o->policy || o->data)
		return enf_err(ENF_USAGE, "approve takes --ssh-key FILE [-o OUT] [REQUEST|-]");
	if ((rc = read_request(argc ? argv[0] : NULL, &text, &n)) != ENF_OK)
		return rc;
	wbuf_init(&out, 0);
	if ((rc = request_approve((const char *)text, n, o->ssh_key, &out)) == ENF_OK)
		rc = io_write_atomic(o->out, out.p, out.len, 0644);
	wbuf_free(&out);
	free(text);
	return rc;
}

/* "TYPE [BITS ]SHA256:...", the way every signer is shown; bits for RSA
 * when asked (show, which verifies nothing, says what it saw). */
static void print_key(const struct pubkey *k, int bits)
{
	char fp[FINGERPRINT_MAX];

	pubkey_fingerprint(k, fp);
	printf("%s ", pubkey_ssh_type(k));
	if (bits && k->type == KT_RSA)
		printf("%u ", k->bits);
	fputs(fp, stdout);
}

static void show_signer(const char *label, const struct sshsig *s)
{
	printf("%-15s", label);
	print_key(&s->key, 1);
	printf(" (namespace %s, %s)\n", s->ns, hash_name(s->hash_alg));
}

static void show_fields(const struct envelope *e, const char *digest_note);

static int cmd_show(struct opts *o, int argc, char **argv)
{
	unsigned char *text = NULL;
	struct envelope e;
	char why[256];
	size_t n;
	int rc;

	if (argc > 1)
		return enf_err(ENF_USAGE, "at most one request file");
	if (o->ssh_key || o->unsigned_ || o->key || o->identity || o->purpose || o->scope ||
	    o->rule || o->format || o->hash || o->digest || o->out || o->policy || o->data)
		return enf_err(ENF_USAGE, "show takes [REQUEST|-]");
	if ((rc = read_request(argc ? argv[0] : NULL, &text, &n)) != ENF_OK)
		return rc;
	rc = envelope_parse(&e, (const char *)text, n, 1, why, sizeof why);
	free(text);
	if (rc != ENF_OK)
		return enf_err(ENF_NO, "malformed request: %s", why);
	show_fields(&e, NULL);
	if (!e.has_signature)
		printf("%-15s%s\n", "requester", "none (unsigned body)");
	else
		show_signer("requester", &e.requester);
	for (size_t i = 0; i < e.napprovals; i++) {
		char label[32];
		snprintf(label, sizeof label, "approval %zu", i + 1);
		show_signer(label, &e.approvals[i]);
	}
	printf("signatures are not verified here (enf-request verify and enf-sign verify them "
	       "against the policy)\n");
	envelope_free(&e);
	return cli_flush_stdout();
}

/* The body's fields; digest_note follows the data's digest when given. */
static void show_fields(const struct envelope *e, const char *digest_note)
{
	struct wbuf hex;

	wbuf_init(&hex, 0);
	hex_encode(&hex, e->digest, hash_len(e->digest_alg));
	wbuf_put(&hex, " ", 1);
	hex_encode(&hex, e->body_sha256, 32);
	wbuf_cstr_terminate(&hex);
	printf("%-15s%s\n%-15s%s\n%-15s%s\n%-15s%s\n%-15s%s\n%-15s%s\n", "key", e->key,
	       "identity", e->identity, "purpose", e->purpose, "scope", e->scope, "rule", e->rule,
	       "format", format_name(e->format));
	if (!hex.failed) {
		printf("%-15s%s %.*s%s%s\n", "digest", hash_name(e->digest_alg),
		       (int)(2 * hash_len(e->digest_alg)), (char *)hex.p,
		       digest_note ? " " : "", digest_note ? digest_note : "");
		printf("%-15ssha256 %s\n", "request", (char *)hex.p + 2 * hash_len(e->digest_alg) + 1);
	}
	wbuf_free(&hex);
}

/* ---- verify: what an approver or operator checks before acting ---- */

/* The policy whose identities the signatures must verify under: the file
 * given, or the instance's installed one, which must still match the
 * digest recorded at install (as enf-sign requires). */
static int verify_policy(const struct opts *o, struct policy **pol, char *where, size_t n)
{
	struct keystore *ks = NULL;
	struct evaluation ev;
	unsigned char *text = NULL;
	size_t len;
	int rc;

	if (o->policy) {
		if ((rc = io_read_file(o->policy, POLICY_SIZE_MAX, &text, &len)) == ENF_NO)
			return enf_err(ENF_NO, "%s: larger than any policy", o->policy);
		if (rc != ENF_OK)
			return rc;
		rc = policy_parse((char *)text, len, o->policy, stderr, pol);
		free(text);
		if (rc != ENF_OK)
			return enf_err(rc, "%s: not a valid policy", o->policy);
		snprintf(where, n, "file %s", o->policy);
		return ENF_OK;
	}
	if ((rc = ks_open_home(o->home, &ks)) != ENF_OK)
		return rc;
	rc = evaluation_policy_load(ks, &ev);
	if (rc == ENF_OK && ev.policy_status == POLICY_NONE)
		rc = enf_err(ENF_FAIL, "%s: no policy is installed (or give --policy FILE)",
			     ks_home(ks));
	else if (rc == ENF_OK && ev.policy_status != POLICY_OK)
		rc = enf_err(ENF_NO, "%s: the installed policy does not match the digest recorded "
			     "at install", ks_home(ks));
	if (rc == ENF_OK) {
		snprintf(where, n, "installed in %s", ks_home(ks));
		*pol = ev.pol;
		ev.pol = NULL;
	}
	evaluation_free(&ev);
	ks_close(ks);
	return rc;
}

/* The request's digest against the data (or a digest) the checker has. */
static int verify_digest(const struct opts *o, const struct envelope *e, char *note, size_t n)
{
	unsigned char d[HASH_MAX];
	int alg = e->digest_alg, rc;

	if (o->data && o->digest)
		return enf_err(ENF_USAGE, "--data and --digest exclude each other");
	if (!o->data && !o->digest) {
		snprintf(note, n, "(not checked: give --data FILE or --digest ALG:HEX)");
		return ENF_OK;
	}
	if (o->data && (rc = hash_path(alg, o->data, d)) != ENF_OK)
		return rc;
	if (o->digest && digest_arg_parse(o->digest, &alg, d) != ENF_OK)
		return ENF_USAGE;
	if (alg != e->digest_alg)
		return enf_err(ENF_NO, "--digest is %s but the request's digest is %s",
			       hash_name(alg), hash_name(e->digest_alg));
	if (!ct_equal(d, e->digest, hash_len(alg)))
		return enf_err(ENF_NO, "the request's digest does not match %s",
			       o->data ? o->data : "--digest");
	snprintf(note, n, "(matches %s)", o->data ? o->data : "--digest");
	return ENF_OK;
}

static void show_verified(const char *label, const struct pol_identity *id,
			  const struct sshsig *s, const struct policy *pol, int again)
{
	printf("%-15s%s: ", label, id->name);
	print_key(&s->key, 0);
	printf(" good signature%s%s\n",
	       policy_revoked_identity(pol, id->name) ? " (identity revoked in the policy)" : "",
	       again ? " (again: counts once)" : "");
}

static int cmd_verify(struct opts *o, int argc, char **argv)
{
	const struct pol_identity **signer = NULL;
	struct policy *pol = NULL;
	struct envelope e;
	struct decision d;
	unsigned char *text = NULL;
	char why[256], where[4200], note[128];
	size_t n;
	int rc;

	if (argc > 1)
		return enf_err(ENF_USAGE, "at most one request file");
	if (o->ssh_key || o->unsigned_ || o->key || o->identity || o->purpose || o->scope ||
	    o->rule || o->format || o->hash || o->out || (o->policy && o->home))
		return enf_err(ENF_USAGE, "verify takes [--policy FILE | -H DIR] "
			       "[--data FILE | --digest ALG:HEX] [REQUEST|-]");
	if ((rc = read_request(argc ? argv[0] : NULL, &text, &n)) != ENF_OK)
		return rc;
	rc = envelope_parse(&e, (const char *)text, n, 0, why, sizeof why);
	free(text);
	if (rc != ENF_OK)
		return enf_err(ENF_NO, "malformed request: %s", why);
	if ((rc = verify_policy(o, &pol, where, sizeof where)) == ENF_OK &&
	    !(signer = calloc(e.napprovals ? e.napprovals : 1, sizeof *signer)))
		rc = enf_err(ENF_FAIL, "out of memory");
	if (rc == ENF_OK && decide_authenticity(&e, pol, signer, &d) != R_PERMIT)
		rc = enf_err(ENF_NO, "%s: %s", reason_code(d.reason), d.detail);
	if (rc == ENF_OK)
		rc = verify_digest(o, &e, note, sizeof note);
	if (rc == ENF_OK) {
		show_fields(&e, note);
		printf("%-15s%s (%s)\n", "policy", pol->id, where);
		show_verified("requester", policy_identity(pol, e.identity), &e.requester, pol, 0);
		for (size_t i = 0; i < e.napprovals; i++) {
			char label[32];
			int again = 0;
			for (size_t j = 0; j < i; j++)
				again |= signer[j] == signer[i];
			snprintf(label, sizeof label, "approval %zu", i + 1);
			show_verified(label, signer[i], &e.approvals[i], pol, again);
		}
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
