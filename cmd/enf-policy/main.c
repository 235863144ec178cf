/* enf-policy: check, show, digest, install and dry-run the flat-text
 * policy (enf-policy(1), enf-policy(5)).  The grammar lives in lib/policy.c
 * and the decision flow in lib/evaluate.c; this file maps verbs to them. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "enf.h"
#include "audit.h"
#include "cli.h"
#include "crypto.h"
#include "evaluate.h"
#include "io.h"
#include "proc.h"
#include "unlock.h"

struct opts {
	const char *home;		/* -H, or NULL */
	const char *officer_pass;	/* --officer-passphrase-file, or NULL */
	int json;
};

/* A policy file read into memory, with the name diagnostics use. */
struct text {
	unsigned char *p;
	size_t n;
	const char *name;
};

static const char usage[] =
	"usage: enf-policy check [-H DIR] FILE\n"
	"       enf-policy show [--json] [-H DIR] [FILE]\n"
	"       enf-policy digest [-H DIR] [FILE]\n"
	"       enf-policy install [-H DIR] [--officer-passphrase-file F] FILE\n"
	"       enf-policy eval [-H DIR] [REQUEST|-]\n"
	"       enf-policy -h | --version\n";

static int read_text(const char *path, size_t max, struct text *t)
{
	int rc = io_read_file(path, max, &t->p, &t->n);

	t->name = cli_is_stdin(path) ? "<stdin>" : path;
	return rc;
}

/* The installed policy says nothing unless its recorded digest vouches for
 * it; a reader is told so on stderr. */
static void note_installed_state(const struct keystore *ks, const struct text *t)
{
	unsigned char rec[32], now[32];
	int present = 0;

	if (ks_policy_digest(ks, rec, &present) != ENF_OK)
		return;
	if (!present)
		enf_warn("warning: no policy digest is recorded: %s is not in force", t->name);
	else if (hash_buf(HASH_SHA256, t->p, t->n, now) != ENF_OK || !ct_equal(rec, now, 32))
		enf_warn("warning: %s does not match the digest recorded at install: every "
			 "request is denied until an officer installs a policy", t->name);
}

/* FILE, or the instance's installed policy when FILE is NULL (read once:
 * what is shown or hashed is what was checked). */
static int read_policy(const struct opts *o, const char *file, struct text *t)
{
	struct keystore *ks;
	struct installed_policy ip;
	int rc;

	if (file)
		return read_text(file, POLICY_SIZE_MAX, t);
	if ((rc = ks_open_home(o->home, &ks)) != ENF_OK)
		return rc;
	if ((rc = installed_policy_read(ks, &ip)) == ENF_OK) {
		t->p = ip.p;	/* handed over */
		t->n = ip.n;
		t->name = POLICY_FILE;
		note_installed_state(ks, t);
	} else if (rc == ENF_NO) {
		rc = ENF_FAIL;	/* absent or oversized: nothing to show */
	}
	ks_close(ks);
	return rc;
}

static int cmd_check(const struct opts *o, const char *file)
{
	struct text t = { 0 };
	struct policy *p = NULL;
	struct keystore *ks = NULL;
	int rc;

	if ((rc = read_text(file, POLICY_SIZE_MAX, &t)) != ENF_OK)
		return rc;
	rc = policy_parse((char *)t.p, t.n, t.name, stderr, &p);
	if (rc == ENF_OK && o->home) {
		if ((rc = ks_open_home(o->home, &ks)) == ENF_OK)
			policy_check_keystore(p, ks, t.name, stderr);
		ks_close(ks);
	}
	policy_free(p);
	free(t.p);
	return rc;
}

static int cmd_show(const struct opts *o, const char *file)
{
	struct text t = { 0 };
	struct policy *p = NULL;
	int rc;

	if ((rc = read_policy(o, file, &t)) != ENF_OK)
		return rc;
	if ((rc = policy_parse((char *)t.p, t.n, t.name, stderr, &p)) == ENF_OK)
		rc = policy_show(p, stdout, o->json);
	policy_free(p);
	free(t.p);
	return rc;
}

static int cmd_digest(const struct opts *o, const char *file)
{
	struct text t = { 0 };
	unsigned char d[32];
	int rc;

	if ((rc = read_policy(o, file, &t)) != ENF_OK)
		return rc;
	if ((rc = hash_buf(HASH_SHA256, t.p, t.n, d)) == ENF_OK) {
		for (size_t i = 0; i < sizeof d; i++)
			printf("%02x", d[i]);
		putchar('\n');
	}
	free(t.p);
	return rc;
}

static void audit_install(struct keystore *ks, const struct policy *p, const struct text *t,
			  const char *outcome, const char *reason)
{
	unsigned char d[32];
	struct audit_event ev = audit_event_make("enf-policy", "install", outcome, reason);

	if (p) {
		ev.policy_id = p->id;
		ev.policy_digest = p->digest;
	} else if (hash_buf(HASH_SHA256, t->p, t->n, d) == ENF_OK) {
		ev.policy_digest = d;
	}
	audit_append(ks, &ev);
}

/* Record the digest, then the file: a crash between the two leaves a file
 * that does not match its digest, which denies everything (fail closed). */
static int install(struct keystore *ks, const struct policy *p, const struct text *t)
{
	char *path = home_path(ks_home(ks), POLICY_FILE);
	int rc;

	if (!path)
		return enf_err(ENF_FAIL, "out of memory");
	if ((rc = ks_set_policy_digest(ks, p->digest)) != ENF_OK) {
		audit_install(ks, p, t, "fail", "keystore");
		free(path);
		return rc;
	}
	if ((rc = io_write_home_file(path, t->p, t->n, 0600)) != ENF_OK) {
		audit_install(ks, p, t, "fail", "io");
		enf_warn("%s: not written; every request is denied until a policy is "
			 "installed", path);
	} else {
		audit_install(ks, p, t, "ok", NULL);
	}
	free(path);
	return rc;
}

static int cmd_install(const struct opts *o, const char *file)
{
	struct text t = { 0 };
	struct policy *p = NULL;
	struct keystore *ks = NULL;
	int rc;

	if ((rc = ks_open_home(o->home, &ks)) != ENF_OK)
		goto out;
	if ((rc = read_text(file, POLICY_SIZE_MAX, &t)) != ENF_OK)
		goto out;
	/* Checked before any credential is asked for: a policy with errors
	 * never reaches the instance. */
	if ((rc = policy_parse((char *)t.p, t.n, t.name, stderr, &p)) != ENF_OK) {
		if (rc == ENF_NO) {
			audit_install(ks, NULL, &t, "fail", "invalid-policy");
			rc = enf_err(ENF_NO, "%s has errors; nothing installed", t.name);
		}
		goto out;
	}
	policy_check_keystore(p, ks, t.name, stderr);
	if ((rc = unlock_role(ks, ROLE_OFFICER, o->officer_pass, "enf-policy", "install")) ==
	    ENF_OK)
		rc = install(ks, p, &t);
out:
	policy_free(p);
	free(t.p);
	ks_close(ks);
	return rc;
}

static int cmd_eval(const struct opts *o, const char *file)
{
	struct evaluation ev;
	struct request_text req = { 0 };
	struct keystore *ks = NULL;
	int rc;

	if ((rc = ks_open_home(o->home, &ks)) != ENF_OK || (rc = request_read(file, &req)) != ENF_OK)
		goto out;
	rc = evaluate_request(ks, &req, &ev);
	if (rc == ENF_OK)
		printf("permit\n");
	else if (rc == ENF_NO)
		printf("deny: %s: %s\n", reason_code(ev.d.reason), ev.d.detail);
	evaluation_free(&ev);
out:
	request_free(&req);
	ks_close(ks);
	return rc;
}

static const struct verb {
	const char *name;
	int (*fn)(const struct opts *, const char *);
	int file_required;
} verbs[] = {
	{ "check", cmd_check, 1 }, { "show", cmd_show, 0 }, { "digest", cmd_digest, 0 },
	{ "install", cmd_install, 1 }, { "eval", cmd_eval, 0 },
};

static int run(const struct opts *o, int argc, char **argv)
{
	const struct verb *v = CLI_VERB(verbs, argc, argv);

	if (!v)
		return ENF_USAGE;
	if (argc > 2)
		return enf_err(ENF_USAGE, "%s: at most one file", argv[0]);
	if (v->file_required && argc < 2)
		return enf_err(ENF_USAGE, "%s needs a FILE", argv[0]);
	if (o->json && v->fn != cmd_show)
		return enf_err(ENF_USAGE, "--json applies to show only");
	if (o->officer_pass && v->fn != cmd_install)
		return enf_err(ENF_USAGE, "--officer-passphrase-file applies to install only");
	if (crypto_init() != ENF_OK)
		return ENF_FAIL;
	return v->fn(o, argc > 1 ? argv[1] : NULL);
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "officer-passphrase-file", required_argument, NULL, 'O' },
		CLI_LONGOPTS_END
	};
	struct opts o = { 0 };
	int c;

	if (cli_start(argc, argv, usage) != ENF_OK)
		return cli_exit(ENF_FAIL);
	while ((c = cli_getopt(argc, argv, "H:h", lo)) != -1) {
		switch (c) {
		case 'H': o.home = optarg; break;
		case 'j': o.json = 1; break;
		case 'O': o.officer_pass = optarg; break;
		default: return cli_exit(ENF_USAGE);
		}
	}
	return cli_exit(run(&o, argc - optind, argv + optind));
}
