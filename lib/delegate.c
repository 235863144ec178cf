/* A signature through enf for ssh-keygen's callers (see delegate.h).
 *
 * The request is built exactly as enf-request builds one, so enf-sign
 * judges it by the same code.  What comes back is checked to be one SSHSIG
 * of the namespace asked for, over this data, before it is handed on. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "enf.h"
#include "crypto.h"
#include "delegate.h"
#include "spawn.h"
#include "sshkeygen.h"
#include "sshsig.h"

#define CONFIG_MAX (64 * 1024)
#define SIG_MAX (64 * 1024)
#define REQUEST_TEXT_MAX (64 * 1024)

static const struct {
	const char *env, *git;
	size_t off, size;
} fields[] = {
	{ "ENF_SSHSIG_KEY", "enf.key", offsetof(struct delegate_conf, key), ENF_NAME_MAX + 1 },
	{ "ENF_SSHSIG_IDENTITY", "enf.identity", offsetof(struct delegate_conf, identity),
	  ENF_NAME_MAX + 1 },
	{ "ENF_SSHSIG_RULE", "enf.rule", offsetof(struct delegate_conf, rule), ENF_NAME_MAX + 1 },
	{ "ENF_SSHSIG_SCOPE", "enf.scope", offsetof(struct delegate_conf, scope), SCOPE_MAX + 1 },
};
#define NFIELDS (sizeof fields / sizeof *fields)

/* `git config --get-regexp '^enf\.'`: "enf.key NAME" lines.  No git, no
 * repository, no such setting: nothing, which is no error. */
static void git_config(struct wbuf *out)
{
	char *argv[] = { "git", "config", "--get-regexp", "^enf\\.", NULL };
	int status;

	if (spawn_run(argv, SPAWN_QUIET, NULL, 0, out, CONFIG_MAX, &status) != ENF_OK || status)
		wbuf_reset(out);
	wbuf_cstr_terminate(out);
}

static int set_field(struct delegate_conf *c, size_t i, const char *v, size_t n,
		     const char *from)
{
	char *dst = (char *)c + fields[i].off;

	if (n == 0 || n >= fields[i].size)
		return enf_err(ENF_FAIL, "%s: empty or longer than %zu characters", from,
			       fields[i].size - 1);
	memcpy(dst, v, n);
	dst[n] = '\0';
	return ENF_OK;
}

/* The value git printed for name, if any. */
static int from_git(const char *cfg, const char *name, const char **v, size_t *n)
{
	size_t len = strlen(name);

	for (const char *l = cfg; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
		const char *end = strchr(l, '\n');
		if (!end)
			end = l + strlen(l);
		if (strncmp(l, name, len) == 0 && l[len] == ' ') {
			*v = l + len + 1;
			*n = (size_t)(end - *v);
			return 1;
		}
	}
	return 0;
}

int delegate_config(struct delegate_conf *c)
{
	struct wbuf cfg;
	int rc = ENF_OK;

	memset(c, 0, sizeof *c);
	wbuf_init(&cfg, 0);
	git_config(&cfg);
	for (size_t i = 0; i < NFIELDS && rc == ENF_OK; i++) {
		const char *v = getenv(fields[i].env), *from = fields[i].env;
		size_t n = v ? strlen(v) : 0;

		/* The environment wins: it is set for one run, git config for
		 * every run in the repository. */
		if (!v && from_git((const char *)cfg.p, fields[i].git, &v, &n))
			from = fields[i].git;
		if (v)
			rc = set_field(c, i, v, n, from);
		else if (i != NFIELDS - 1)
			rc = enf_err(ENF_FAIL, "no %s: set `git config %s NAME` or $%s",
				     fields[i].git + 4, fields[i].git, fields[i].env);
	}
	wbuf_free(&cfg);
	return rc;
}

/* A scope nobody configured is read from what git signs: commits begin
 * with "tree ", tags with "object ", push certificates with
 * "certificate version".  It is the requester's claim like any scope;
 * the policy decides which scopes a rule grants. */
static int scope_from_data(const struct delegate_job *j, char *scope)
{
	static const struct { const char *head, *scope; } kinds[] = {
		{ "tree ", "git:commit" }, { "object ", "git:tag" },
		{ "certificate version ", "git:push" },
	};
	char head[32] = { 0 };
	int fd = -1;
	ssize_t r = -1;

	if (j->data && strcmp(j->data, "-") != 0 && (fd = open(j->data, O_RDONLY | O_CLOEXEC)) >= 0) {
		r = read(fd, head, sizeof head - 1);
		close(fd);
	}
	for (size_t i = 0; r > 0 && i < sizeof kinds / sizeof *kinds; i++)
		if (strncmp(head, kinds[i].head, strlen(kinds[i].head)) == 0) {
			strcpy(scope, kinds[i].scope);
			return ENF_OK;
		}
	return enf_err(ENF_FAIL, "no scope: set `git config enf.scope SCOPE` or $ENF_SSHSIG_SCOPE");
}

static int make_request(const struct delegate_conf *c, const struct delegate_job *j,
			struct envelope *e, struct wbuf *req)
{
	struct wbuf sig;
	int rc;

	memset(e, 0, sizeof *e);
	strcpy(e->key, c->key);
	strcpy(e->identity, c->identity);
	strcpy(e->rule, c->rule);
	if (strlen(j->ns) > ENF_NAME_MAX)
		return enf_err(ENF_USAGE, "-n: namespace longer than %d characters", ENF_NAME_MAX);
	strcpy(e->purpose, j->ns);
	if (c->scope[0])
		strcpy(e->scope, c->scope);
	else if ((rc = scope_from_data(j, e->scope)) != ENF_OK)
		return rc;
	e->format = FMT_SSHSIG;
	e->digest_alg = j->hash_alg;
	if ((rc = hash_path(j->hash_alg, j->data, e->digest)) != ENF_OK ||
	    (rc = envelope_write_body(e, req)) != ENF_OK)
		return rc;
	wbuf_init(&sig, 0);
	rc = sshkeygen_sign_agent(j->ssh_key, j->agent, NS_REQUEST, (const char *)req->p,
				  req->len, &sig);
	if (rc == ENF_OK && wbuf_put(req, sig.p, sig.len) < 0)
		rc = enf_err(ENF_FAIL, "out of memory");
	wbuf_free(&sig);
	return rc;
}

/* enf-sign from the directory this program was run from, so that an
 * installed pair stays together; else from PATH. */
static void find_enf_sign(char *path, size_t size)
{
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
	char *slash;

	snprintf(path, size, "enf-sign");
	if (n <= 0)
		return;
	self[n] = '\0';
	if ((slash = strrchr(self, '/'))) {
		*slash = '\0';
		if ((size_t)snprintf(path, size, "%s/enf-sign", self) < size && access(path, X_OK) == 0)
			return;
	}
	snprintf(path, size, "enf-sign");
}

static int run_signer(const struct wbuf *req, struct wbuf *sig)
{
	const char *cmd = getenv("ENF_SIGN_COMMAND");
	char path[PATH_MAX];
	char *sh[] = { "/bin/sh", "-c", (char *)cmd, NULL };
	char *direct[] = { path, NULL };
	int status, rc;

	find_enf_sign(path, sizeof path);
	rc = spawn_run(cmd && *cmd ? sh : direct, 0, req->p, req->len, sig, SIG_MAX, &status);
	if (rc != ENF_OK)
		return rc;
	/* enf-sign has said why on stderr (for a denial, its one line).  Its
	 * usage errors are not our caller's: they cannot proceed either. */
	if (status != 0) {
		enf_err_clear();
		return status == ENF_NO ? ENF_NO : ENF_FAIL;
	}
	return ENF_OK;
}

/* One SSHSIG, of namespace ns and our hash, that verifies over our digest
 * under the key it names (which enf's policy chose; the verifier's
 * allowed_signers decides whether to trust it). */
static int check_signature(const struct envelope *e, const struct wbuf *sig)
{
	struct sshsig s;
	size_t used = 0;
	int rc;

	memset(&s, 0, sizeof s);
	rc = sshsig_parse_armored(&s, (const char *)sig->p, sig->len, &used);
	if (rc != ENF_OK || used != sig->len || strcmp(s.ns, e->purpose) != 0 ||
	    s.hash_alg != e->digest_alg || sshsig_verify_digest(&s, e->purpose, NULL,
								e->digest) != ENF_OK)
		rc = enf_err(ENF_FAIL, "the signer returned no valid signature over this data");
	sshsig_free(&s);
	return rc;
}

int delegate_sign(const struct delegate_conf *c, const struct delegate_job *j, struct wbuf *sig)
{
	struct envelope e;
	struct wbuf req;
	int rc;

	wbuf_init(&req, 0);
	rc = make_request(c, j, &e, &req);
	if (rc == ENF_OK && req.len > REQUEST_TEXT_MAX)
		rc = enf_err(ENF_FAIL, "the request is unexpectedly large");
	if (rc == ENF_OK)
		rc = run_signer(&req, sig);
	if (rc == ENF_OK)
		rc = check_signature(&e, sig);
	wbuf_free(&req);
	return rc;
}
