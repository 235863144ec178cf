/* enf-audit: verify, show and anchor the instance's audit log
 * (enf-audit(1), format in enf-audit(5)). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "enf.h"
#include "audit.h"
#include "crypto.h"
#include "encode.h"
#include "instance.h"
#include "io.h"
#include "keyfmt.h"
#include "keystore.h"
#include "proc.h"

#define PROG "enf-audit"
#define ANCHORS_MAX 16

struct opts {
	const char *home, *instance, *file;
	struct audit_anchor anchors[ANCHORS_MAX];
	size_t nanchors;
	int json, all_sigs, allow_tail, quiet;
};

static void usage(FILE *f)
{
	fprintf(f,
		"usage: enf-audit [-H DIR] verify [--instance PUB] [--anchor SEQ:HASH]...\n"
		"                 [--all-signatures] [--allow-unsigned-tail] [-q] [LOG]\n"
		"       enf-audit [-H DIR] show [--json] [-f LOG] [SEQ|FIRST-LAST]...\n"
		"       enf-audit [-H DIR] head [-f LOG]\n"
		"       enf-audit -h | --version\n");
}

/* The instance's public identity: the file `enf-keygen instance` writes
 * (its first line is the identity key), or the home's keystore. */
static int load_identity(const struct opts *o, const char *home, struct pubkey *id)
{
	struct keystore *ks;
	struct instance_file f;
	unsigned char *text;
	size_t n;
	int rc;

	if (o->instance) {
		if ((rc = io_read_file(o->instance, INSTANCE_FILE_MAX, &text, &n)) != ENF_OK)
			return rc == ENF_NO ? enf_err(ENF_FAIL, "%s: too large", o->instance) : rc;
		rc = instance_parse((const char *)text, n, &f);
		free(text);
		if (rc != ENF_OK)
			return enf_err(ENF_FAIL, "%s: not an instance identity (an ssh-ed25519 line, "
				       "as enf-keygen instance prints)", o->instance);
		*id = f.identity;	/* only the identity is needed: it is moved out, not freed */
		return ENF_OK;
	}
	if (!home || ks_open(home, &ks) != ENF_OK)
		return enf_err(ENF_FAIL, "no instance keystore%s%s: give --instance PUB "
			       "(the file enf-keygen instance prints)", home ? " in " : "",
			       home ? home : "");
	rc = pubkey_copy(id, ks_identity_pub(ks));
	ks_close(ks);
	return rc;
}

/* The home's log, or `file`; *in_home says whether it is the home's. */
static int log_path(const struct opts *o, const char *file, char **home, char **log)
{
	int rc;

	*home = NULL;
	*log = NULL;
	if (file) {
		if (!(*log = strdup(file)))
			return enf_err(ENF_FAIL, "out of memory");
		if (home_resolve(o->home, home) != ENF_OK)
			*home = NULL;
		return ENF_OK;
	}
	if ((rc = home_resolve(o->home, home)) != ENF_OK || (rc = home_check(*home)) != ENF_OK)
		return rc;
	if (!(*log = home_path(*home, AUDIT_FILE)))
		return enf_err(ENF_FAIL, "out of memory");
	if (access(*log, F_OK) != 0)
		return enf_err(ENF_FAIL, "%s: no audit log", *log);
	return io_check_private(*log);
}

/* The file `name` (audit.head, audit.gap) beside a log. */
static char *beside(const char *log, const char *name)
{
	const char *slash = strrchr(log, '/');
	size_t dl = slash ? (size_t)(slash - log) + 1 : 0, nl = strlen(name) + 1;
	char *p = malloc(dl + nl);

	if (!p)
		return NULL;
	memcpy(p, log, dl);
	memcpy(p + dl, name, nl);
	return p;
}

/* What the signatures were checked against: only an identity the user
 * brought (--instance) is authenticated; the keystore's is whatever the
 * home holds, which whoever could rewrite the log could rewrite too. */
static void report_identity(const struct opts *o, const struct pubkey *id)
{
	char fp[FINGERPRINT_MAX];

	pubkey_fingerprint(id, fp);
	if (o->instance)
		printf("signatures checked against the identity in %s (%s)\n", o->instance, fp);
	else
		printf("signatures checked against the identity in the keystore (%s), which is "
		       "not authenticated: pass --instance FILE for that\n", fp);
}

static void report_ok(const struct opts *o, const struct audit_verify_result *r,
		      const struct pubkey *id)
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
	report_identity(o, id);
}

static int cmd_verify(const struct opts *o, int argc, char **argv)
{
	struct audit_verify_opts vo = { 0 };
	struct audit_verify_result res;
	struct pubkey id;
	char *home = NULL, *log = NULL, *head = NULL, *gap = NULL;
	int rc;

	if (argc > 1)
		return enf_err(ENF_USAGE, "verify takes at most one LOG");
	if ((rc = log_path(o, argc ? argv[0] : NULL, &home, &log)) != ENF_OK)
		goto out;
	if ((rc = load_identity(o, home, &id)) != ENF_OK)
		goto out;
	if (!(head = beside(log, AUDIT_HEAD_FILE)) || !(gap = beside(log, AUDIT_GAP_FILE))) {
		rc = enf_err(ENF_FAIL, "out of memory");
		goto out_id;
	}
	vo.log = log;
	/* The home's own log must have its head; a copy is checked against
	 * a head copied beside it, if any, and against --anchor. */
	vo.head_required = argc == 0;
	vo.head = vo.head_required || access(head, F_OK) == 0 ? head : NULL;
	vo.gap = gap;
	vo.id = &id;
	vo.anchors = o->anchors;
	vo.nanchors = o->nanchors;
	vo.all_signatures = o->all_sigs;
	vo.allow_unsigned_tail = o->allow_tail;
	vo.progress = isatty(STDERR_FILENO);
	rc = audit_verify(&vo, &res);
	if (rc == ENF_NO)
		rc = enf_err(ENF_NO, "%s: %s", log, res.why);
	else if (rc == ENF_OK)
		report_ok(o, &res, &id);
out_id:
	pubkey_free(&id);
out:
	free(home);
	free(log);
	free(head);
	free(gap);
	return rc;
}

/* SEQ or FIRST-LAST. */
struct range { uint64_t lo, hi; int seen; };

static int parse_range(const char *s, struct range *r)
{
	char *end;
	unsigned long long a, b;

	if (*s < '1' || *s > '9')
		return -1;
	a = strtoull(s, &end, 10);
	b = a;
	if (*end == '-') {
		if (end[1] < '1' || end[1] > '9')
			return -1;
		b = strtoull(end + 1, &end, 10);
	}
	if (*end || b < a)
		return -1;
	r->lo = a;
	r->hi = b;
	r->seen = 0;
	return 0;
}

static int wanted(struct range *rs, size_t n, uint64_t seq)
{
	int hit = n == 0;

	for (size_t i = 0; i < n; i++)
		if (seq >= rs[i].lo && seq <= rs[i].hi)
			hit = rs[i].seen = 1;
	return hit;
}

static int show_map(const struct opts *o, const struct audit_map *m, struct range *rs, size_t n)
{
	const char *p = m->p, *end = m->p ? m->p + m->len : NULL;	/* empty: not mapped */
	struct wbuf out;
	uint64_t line = 0;
	int rc = ENF_OK;

	wbuf_init(&out, 0);
	while (p && p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		struct audit_rec r;
		char why[128];

		line++;
		if (!nl) {
			enf_warn("line %llu: incomplete (an interrupted append); not shown",
				 (unsigned long long)line);
			break;
		}
		if (audit_rec_parse(&r, p, (size_t)(nl - p), why, sizeof why) != ENF_OK) {
			enf_warn("line %llu: malformed: %s", (unsigned long long)line, why);
			rc = ENF_NO;
		} else if (wanted(rs, n, r.seq)) {
			wbuf_reset(&out);
			if (o->json ? audit_rec_format_json(&r, &out) : audit_rec_format_text(&r, &out))
				return enf_err(ENF_FAIL, "out of memory");
			fwrite(out.p, 1, out.len, stdout);
		}
		p = nl + 1;
	}
	wbuf_free(&out);
	return rc;
}

static int cmd_show(const struct opts *o, int argc, char **argv)
{
	struct range *rs = calloc((size_t)argc + 1, sizeof *rs);
	struct audit_map m;
	char *home = NULL, *log = NULL;
	int rc, i;

	if (!rs)
		return enf_err(ENF_FAIL, "out of memory");
	for (i = 0; i < argc; i++)
		if (parse_range(argv[i], &rs[i])) {
			free(rs);
			return enf_err(ENF_USAGE, "bad record number \"%s\" (want SEQ or FIRST-LAST)",
				       argv[i]);
		}
	if ((rc = log_path(o, o->file, &home, &log)) == ENF_OK &&
	    (rc = audit_map_open(&m, log)) == ENF_OK) {
		rc = show_map(o, &m, rs, (size_t)argc);
		audit_map_close(&m);
		for (i = 0; i < argc; i++)
			if (!rs[i].seen) {
				enf_warn("no record %s in %s", argv[i], log);
				rc = rc == ENF_OK ? ENF_NO : rc;
			}
	}
	if (fflush(stdout) != 0 && rc == ENF_OK)
		rc = enf_err(ENF_FAIL, "cannot write to standard output");
	free(rs);
	free(home);
	free(log);
	return rc;
}

static int cmd_head(const struct opts *o, int argc)
{
	char *home = NULL, *log = NULL;
	unsigned char hash[32];
	uint64_t seq;
	struct wbuf hx;
	int rc;

	if (argc)
		return enf_err(ENF_USAGE, "head takes no arguments (use -f LOG)");
	if ((rc = log_path(o, o->file, &home, &log)) == ENF_OK &&
	    (rc = audit_head(log, &seq, hash)) == ENF_OK) {
		wbuf_init(&hx, 0);
		hex_encode(&hx, hash, 32);
		printf("%llu:%.*s\n", (unsigned long long)seq, (int)hx.len, (const char *)hx.p);
		wbuf_free(&hx);
	}
	free(home);
	free(log);
	return rc;
}

enum { OPT_INSTANCE = 256, OPT_ANCHOR, OPT_ALLSIG, OPT_TAIL, OPT_JSON, OPT_VERSION };

static int parse_opts(struct opts *o, int argc, char **argv)
{
	static const struct option lo[] = {
		{ "instance", required_argument, 0, OPT_INSTANCE },
		{ "anchor", required_argument, 0, OPT_ANCHOR },
		{ "all-signatures", no_argument, 0, OPT_ALLSIG },
		{ "allow-unsigned-tail", no_argument, 0, OPT_TAIL },
		{ "json", no_argument, 0, OPT_JSON },
		{ "file", required_argument, 0, 'f' },
		{ "quiet", no_argument, 0, 'q' },
		{ "help", no_argument, 0, 'h' },
		{ "version", no_argument, 0, OPT_VERSION },
		{ 0, 0, 0, 0 },
	};
	int c;

	while ((c = getopt_long(argc, argv, "H:f:qh", lo, NULL)) != -1) {
		switch (c) {
		case 'H': o->home = optarg; break;
		case 'f': o->file = optarg; break;
		case 'q': o->quiet = 1; break;
		case OPT_INSTANCE: o->instance = optarg; break;
		case OPT_ALLSIG: o->all_sigs = 1; break;
		case OPT_TAIL: o->allow_tail = 1; break;
		case OPT_JSON: o->json = 1; break;
		case OPT_ANCHOR:
			if (o->nanchors == ANCHORS_MAX)
				return enf_err(ENF_USAGE, "at most %d anchors", ANCHORS_MAX);
			if (audit_anchor_parse(optarg, &o->anchors[o->nanchors++]) != ENF_OK)
				return enf_err(ENF_USAGE, "--anchor wants SEQ:HASH (as enf-audit head "
					       "prints), not \"%s\"", optarg);
			break;
		case 'h': usage(stdout); exit(0);
		case OPT_VERSION: printf("%s %s\n", PROG, ENF_VERSION); exit(0);
		default: usage(stderr); exit(ENF_USAGE);
		}
	}
	return ENF_OK;
}

/* Options that belong to another command are a usage error, not ignored. */
static int check_opts(const struct opts *o, const char *cmd)
{
	int verify = strcmp(cmd, "verify") == 0, show = strcmp(cmd, "show") == 0;

	if (!verify && (o->instance || o->nanchors || o->all_sigs || o->allow_tail || o->quiet))
		return enf_err(ENF_USAGE, "--instance, --anchor, --all-signatures, "
			       "--allow-unsigned-tail and -q belong to verify");
	if (!show && o->json)
		return enf_err(ENF_USAGE, "--json belongs to show");
	if (verify && o->file)
		return enf_err(ENF_USAGE, "verify takes the log as its argument, not -f");
	return ENF_OK;
}

int main(int argc, char **argv)
{
	struct opts o = { 0 };
	const char *cmd;
	int rc;

	if (enf_start(PROG) != ENF_OK)
		return enf_report(ENF_FAIL);
	if ((rc = parse_opts(&o, argc, argv)) != ENF_OK)
		return enf_report(rc);
	if (optind >= argc) {
		usage(stderr);
		return ENF_USAGE;
	}
	cmd = argv[optind++];
	if (strcmp(cmd, "verify") && strcmp(cmd, "show") && strcmp(cmd, "head")) {
		enf_warn("unknown command \"%s\"", cmd);
		usage(stderr);
		return ENF_USAGE;
	}
	if ((rc = check_opts(&o, cmd)) != ENF_OK)
		return enf_report(rc);
	if (crypto_init() != ENF_OK)
		return enf_report(enf_err(ENF_FAIL, "cannot initialise libgcrypt"));
	argc -= optind;
	argv += optind;
	if (strcmp(cmd, "verify") == 0)
		rc = cmd_verify(&o, argc, argv);
	else if (strcmp(cmd, "show") == 0)
		rc = cmd_show(&o, argc, argv);
	else
		rc = cmd_head(&o, argc);
	return enf_report(rc);
}
