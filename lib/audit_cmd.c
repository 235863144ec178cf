/* enf-audit(1)'s verbs on an instance's files: where the log and its head
 * and gap are (enf-audit(5), FILES), the identity to check it against, and
 * show's walk over the log.  The program maps options to these. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "enf.h"
#include "audit_impl.h"
#include "instance.h"
#include "io.h"
#include "keyfmt.h"
#include "keystore.h"

int audit_log_locate(const char *home_opt, const char *file, char **home, char **log)
{
	int rc;

	*home = NULL;
	*log = NULL;
	if (file) {
		if (!(*log = strdup(file)))
			return enf_err(ENF_FAIL, "out of memory");
		/* A copied log has no home; one is used only for its keystore. */
		if (home_resolve(home_opt, home) != ENF_OK)
			*home = NULL;
		return ENF_OK;
	}
	if ((rc = home_resolve(home_opt, home)) != ENF_OK || (rc = home_check(*home)) != ENF_OK)
		return rc;
	if (!(*log = home_path(*home, AUDIT_FILE)))
		return enf_err(ENF_FAIL, "out of memory");
	if (access(*log, F_OK) != 0)
		return enf_err(ENF_FAIL, "%s: no audit log", *log);
	return io_check_private(*log);
}

char *audit_beside(const char *log, const char *name)
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

/* The instance's public identity: the file `enf-keygen instance` writes,
 * or the home's keystore. */
static int load_identity(const char *instance, const char *home, struct pubkey *id)
{
	struct keystore *ks;
	struct instance_file f;
	unsigned char *text;
	size_t n;
	int rc;

	if (instance) {
		if ((rc = io_read_file(instance, INSTANCE_FILE_MAX, &text, &n)) != ENF_OK)
			return rc == ENF_NO ? enf_err(ENF_FAIL, "%s: too large", instance) : rc;
		rc = instance_parse((const char *)text, n, &f);
		free(text);
		if (rc != ENF_OK)
			return enf_err(ENF_FAIL, "%s: not an instance identity (an ssh-ed25519 line, "
				       "as enf-keygen instance prints)", instance);
		*id = f.identity;	/* only the identity is needed: moved out, not freed */
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

static int verify_located(const struct audit_cmd *c, const char *home, const char *log,
			  struct audit_verify_result *res, char fp[FINGERPRINT_MAX])
{
	struct audit_verify_opts vo = { 0 };
	struct pubkey id;
	char *head = NULL, *gap = NULL;
	int rc;

	if ((rc = load_identity(c->instance, home, &id)) != ENF_OK)
		return rc;
	if (!(head = audit_beside(log, AUDIT_HEAD_FILE)) || !(gap = audit_beside(log, AUDIT_GAP_FILE))) {
		rc = enf_err(ENF_FAIL, "out of memory");
		goto out;
	}
	vo.log = log;
	/* The home's own log must have its head; a copy is checked against
	 * a head copied beside it, if any, and against the anchors. */
	vo.head_required = c->log == NULL;
	vo.head = vo.head_required || access(head, F_OK) == 0 ? head : NULL;
	vo.gap = gap;
	vo.id = &id;
	vo.anchors = c->anchors;
	vo.nanchors = c->nanchors;
	vo.all_signatures = c->all_signatures;
	vo.allow_unsigned_tail = c->allow_unsigned_tail;
	vo.progress = c->progress;
	rc = audit_verify(&vo, res);
	if (rc == ENF_NO)
		rc = enf_err(ENF_NO, "%s: %s", log, res->why);
	pubkey_fingerprint(&id, fp);
out:
	pubkey_free(&id);
	free(head);
	free(gap);
	return rc;
}

int audit_cmd_verify(const struct audit_cmd *c, struct audit_verify_result *res,
		     char fp[FINGERPRINT_MAX])
{
	char *home, *log;
	int rc;

	memset(res, 0, sizeof *res);
	if ((rc = audit_log_locate(c->home, c->log, &home, &log)) == ENF_OK)
		rc = verify_located(c, home, log, res, fp);
	free(home);
	free(log);
	return rc;
}

/* ------------------------------------------------------------------ show */

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

/* Every complete line of the log, in order: the wanted records printed,
 * a malformed line reported (ENF_NO), an incomplete last line noted. */
static int show_map(const struct audit_map *m, int json, struct range *rs, size_t n, FILE *out)
{
	struct rbuf rb;
	struct wbuf w;
	const char *line;
	size_t len;
	uint64_t lineno = 0;
	int rc = ENF_OK, nl;

	rbuf_init(&rb, m->p, m->len);	/* an empty log is not mapped: p NULL, len 0 */
	wbuf_init(&w, 0);
	while (rbuf_line(&rb, &line, &len, &nl) == 0) {
		struct audit_rec r;
		char why[128];

		lineno++;
		if (!nl) {
			enf_warn("line %llu: incomplete (an interrupted append); not shown",
				 (unsigned long long)lineno);
			break;
		}
		if (audit_rec_parse(&r, line, len, why, sizeof why) != ENF_OK) {
			enf_warn("line %llu: malformed: %s", (unsigned long long)lineno, why);
			rc = ENF_NO;
		} else if (wanted(rs, n, r.seq)) {
			wbuf_reset(&w);
			if (json ? audit_rec_format_json(&r, &w) : audit_rec_format_text(&r, &w)) {
				rc = enf_err(ENF_FAIL, "out of memory");
				break;
			}
			fwrite(w.p, 1, w.len, out);
		}
	}
	wbuf_free(&w);
	return rc;
}

int audit_cmd_show(const struct audit_cmd *c, char **sel, size_t nsel, FILE *out)
{
	struct range *rs = calloc(nsel + 1, sizeof *rs);
	struct audit_map m;
	char *home = NULL, *log = NULL;
	int rc;

	if (!rs)
		return enf_err(ENF_FAIL, "out of memory");
	for (size_t i = 0; i < nsel; i++)
		if (parse_range(sel[i], &rs[i])) {
			free(rs);
			return enf_err(ENF_USAGE, "bad record number \"%s\" (want SEQ or FIRST-LAST)",
				       sel[i]);
		}
	if ((rc = audit_log_locate(c->home, c->log, &home, &log)) == ENF_OK &&
	    (rc = audit_map_open(&m, log)) == ENF_OK) {
		rc = show_map(&m, c->json, rs, nsel, out);
		audit_map_close(&m);
		for (size_t i = 0; i < nsel; i++)
			if (!rs[i].seen) {
				enf_warn("no record %s in %s", sel[i], log);
				rc = rc == ENF_OK ? ENF_NO : rc;
			}
	}
	free(rs);
	free(home);
	free(log);
	return rc;
}

int audit_cmd_head(const struct audit_cmd *c, uint64_t *seq, unsigned char hash[32])
{
	char *home, *log;
	int rc;

	if ((rc = audit_log_locate(c->home, c->log, &home, &log)) == ENF_OK)
		rc = audit_head(log, seq, hash);
	free(home);
	free(log);
	return rc;
}
