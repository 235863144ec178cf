/* enf-sign: sign what the installed policy permits, and nothing else
 * (enf-sign(1), SPEC "Signing").
 *
 * Order: read the request, unlock the operator (which authenticates the
 * keystore's officer-controlled state), evaluate (evaluate.h: the one flow
 * shared with enf-policy eval), and only on permit load the key and sign.
 * Every decision is one audit record.  The caller learns "permitted" or
 * "denied (audit #SEQ)", never which check failed. */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "enf.h"
#include "audit.h"
#include "evaluate.h"
#include "io.h"
#include "keystore.h"
#include "proc.h"
#include "sshsig.h"
#include "unlock.h"

#define PROG "enf-sign"

/* Set once the denial line is out: nothing more goes to stderr then. */
static int denial_printed;

static void usage(FILE *f)
{
	fprintf(f, "usage: enf-sign [-H DIR] [--passphrase-file F] [-o OUT] [REQUEST|-]\n"
		   "       enf-sign -h | --version\n"
		   "credential: --passphrase-file F | $ENF_PASSPHRASE_FILE (operator), else the terminal\n");
}

struct opts {
	const char *home, *passfile, *out, *request;
};

struct job {
	struct keystore *ks;
	struct evaluation ev;
	const char *out;
};

/* The audit record of this request's decision; 0 if none was written. */
static uint64_t record(struct job *j, const char *outcome, const char *reason,
		       const char *detail)
{
	struct evaluation *ev = &j->ev;
	struct audit_event a = {
		.program = PROG, .op = "sign", .outcome = outcome, .reason = reason,
		.detail = detail,
	};

	if (ev->have_env) {
		a.key = ev->env.key;
		a.identity = ev->env.identity;
		a.purpose = ev->env.purpose;
		a.scope = ev->env.scope;
		a.rule = ev->env.rule;
		a.request_digest = ev->env.body_sha256;
	}
	if (ev->pol)
		a.policy_id = ev->pol->id;
	if (ev->have_policy_digest)
		a.policy_digest = ev->policy_digest;
	return audit_append(j->ks, &a);
}

static int deny(struct job *j)
{
	uint64_t seq = record(j, "deny", reason_code(j->ev.d.reason), j->ev.d.detail);

	/* Exactly this line and nothing else: the reason is in the log. */
	denial_printed = 1;
	if (seq)
		fprintf(stderr, "%s: denied (audit #%llu)\n", PROG, (unsigned long long)seq);
	else
		fprintf(stderr, "%s: denied (audit record not written)\n", PROG);
	return ENF_NO;
}

/* A permitted request that could still not be carried out (key unreadable,
 * signing or output failed): recorded as such, exit 3. */
static int failed(struct job *j, const char *reason)
{
	char msg[512];

	snprintf(msg, sizeof msg, "%s", enf_errmsg());
	record(j, "fail", reason, msg[0] ? msg : NULL);
	return enf_err(ENF_FAIL, "%s", msg[0] ? msg : "signing failed");
}

static int make_signature(const struct job *j, struct wbuf *sig)
{
	const struct envelope *e = &j->ev.env;
	struct privkey k;
	int rc;

	memset(&k, 0, sizeof k);
	if ((rc = ks_key_private(j->ks, e->key, &k)) != ENF_OK)
		return rc;
	if (e->format == FMT_RAW)
		rc = privkey_sign_raw(&k, e->digest_alg, e->digest, sig);
	else
		rc = sshsig_sign_digest(&k, e->purpose, e->digest_alg, e->digest, sig);
	privkey_free(&k);
	if (rc == ENF_OK && sig->failed)
		rc = enf_err(ENF_FAIL, "out of memory");
	return rc;
}

/* Sign, stage the output, record the permit, then publish: a signature
 * never appears without its audit record having been attempted first. */
static int permit(struct job *j)
{
	struct atomic_file f;
	struct wbuf sig;
	int rc;

	wbuf_init(&sig, 0);
	enf_err_clear();
	if (make_signature(j, &sig) != ENF_OK) {
		wbuf_free(&sig);
		return failed(j, "sign-failed");
	}
	if (atomic_open(&f, j->out, 0644) != ENF_OK) {
		wbuf_free(&sig);
		return failed(j, "output-failed");
	}
	if (atomic_write(&f, sig.p, sig.len) != ENF_OK) {
		atomic_abort(&f);
		wbuf_free(&sig);
		return failed(j, "output-failed");
	}
	wbuf_free(&sig);
	record(j, "permit", reason_code(R_PERMIT), j->ev.d.detail);
	rc = atomic_commit(&f);
	return rc;
}

static int run(const struct opts *o)
{
	struct job j = { .out = o->out };
	struct request_text req = { 0 };
	int rc;

	if ((rc = ks_open_home(o->home, &j.ks)) != ENF_OK)
		return rc;
	/* Read before asking for the passphrase: an unreadable file stops here. */
	if ((rc = request_read(o->request, &req)) != ENF_OK)
		goto out;
	if ((rc = unlock_role(j.ks, ROLE_OPERATOR, o->passfile, PROG, "sign")) != ENF_OK)
		goto out;
	rc = evaluate_request(j.ks, &req, &j.ev);
	if (rc == ENF_OK)
		rc = permit(&j);
	else if (rc == ENF_NO)
		rc = deny(&j);
	else
		rc = failed(&j, "evaluation-failed");
out:
	evaluation_free(&j.ev);
	request_free(&req);
	ks_close(j.ks);
	return rc;
}

enum { OPT_PASSFILE = 256, OPT_VERSION };

int main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "output", required_argument, NULL, 'o' },
		{ "home", required_argument, NULL, 'H' },
		{ "passphrase-file", required_argument, NULL, OPT_PASSFILE },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, OPT_VERSION },
		{ NULL, 0, NULL, 0 }
	};
	struct opts o = { 0 };
	int c, rc;

	if (enf_start(argv[0]) != ENF_OK)
		return enf_report(ENF_FAIL);
	while ((c = getopt_long(argc, argv, "o:H:h", lo, NULL)) != -1) {
		switch (c) {
		case 'o': o.out = optarg; break;
		case 'H': o.home = optarg; break;
		case OPT_PASSFILE: o.passfile = optarg; break;
		case 'h': usage(stdout); return ENF_OK;
		case OPT_VERSION: printf("enf-sign %s\n", ENF_VERSION); return ENF_OK;
		default: usage(stderr); return ENF_USAGE;
		}
	}
	if (argc - optind > 1) {
		usage(stderr);
		return ENF_USAGE;
	}
	o.request = optind < argc ? argv[optind] : NULL;
	if (crypto_init() != ENF_OK)
		return enf_report(ENF_FAIL);
	rc = run(&o);
	/* A denial has printed its one line; anything else (a tampered keystore
	 * at unlock is ENF_NO too) says what stopped us. */
	return denial_printed ? rc : enf_report(rc);
}
