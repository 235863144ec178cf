/* One request against one instance: the flow enf-sign and enf-policy eval
 * share.  Everything that needs I/O happens here, before decide(), so that
 * decide() itself stays pure. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "enf.h"
#include "crypto.h"
#include "io.h"
#include "evaluate.h"

static int read_fd(int fd, const char *path, size_t max, struct installed_policy *out)
{
	struct stat st;
	size_t cap;
	ssize_t r;

	if (fstat(fd, &st) < 0)
		return enf_err(ENF_FAIL, "%s: %s", path, strerror(errno));
	if ((uint64_t)st.st_size > max)
		return enf_err(ENF_NO, "%s: larger than %zu bytes", path, max);
	/* One byte more than the size: a file that grew past max is noticed. */
	cap = (size_t)st.st_size + 1;
	if (!(out->p = malloc(cap + 1)))
		return enf_err(ENF_FAIL, "out of memory");
	while (out->n < cap) {
		r = read(fd, out->p + out->n, cap - out->n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return enf_err(ENF_FAIL, "%s: %s", path, strerror(errno));
		if (r == 0)
			break;
		out->n += (size_t)r;
	}
	if (out->n > max)
		return enf_err(ENF_NO, "%s: larger than %zu bytes", path, max);
	out->p[out->n] = '\0';
	return hash_buf(HASH_SHA256, out->p, out->n, out->digest);
}

int installed_policy_read(const struct keystore *ks, struct installed_policy *out)
{
	char *path = home_path(ks_home(ks), POLICY_FILE);
	int fd, rc;

	memset(out, 0, sizeof *out);
	if (!path)
		return enf_err(ENF_FAIL, "out of memory");
	rc = io_open_private(path, O_RDONLY, 0, &fd);
	if (rc == ENF_NO)
		enf_err(ENF_NO, "%s: no installed policy", path);
	else if (rc == ENF_OK)
		rc = read_fd(fd, path, POLICY_SIZE_MAX, out);
	if (fd >= 0)
		close(fd);
	if (rc != ENF_OK)
		installed_policy_free(out);
	free(path);
	return rc;
}

void installed_policy_free(struct installed_policy *ip)
{
	free(ip->p);
	memset(ip, 0, sizeof *ip);
}

/* The installed policy and its status.  A missing digest means no policy,
 * whatever file may lie there; a file that is missing, differs from the
 * recorded digest or no longer parses is drift.  Only an unsafe file (or
 * I/O trouble) stops the evaluation.  The digest compared and the policy
 * parsed come from the one buffer read. */
static int load_policy(const struct keystore *ks, struct evaluation *ev)
{
	struct installed_policy ip;
	unsigned char recorded[32];
	int present = 0, rc;

	if (ks_policy_digest(ks, recorded, &present) != ENF_OK)
		return ENF_FAIL;
	if (!present) {
		ev->policy_status = POLICY_NONE;
		return ENF_OK;
	}
	ev->policy_status = POLICY_DRIFT;
	rc = installed_policy_read(ks, &ip);
	if (rc == ENF_NO) {	/* absent, or larger than any policy we install */
		enf_err_clear();
		return ENF_OK;
	}
	if (rc != ENF_OK)
		return rc;
	ev->have_policy_digest = 1;
	memcpy(ev->policy_digest, ip.digest, 32);
	if (ct_equal(ip.digest, recorded, 32) &&
	    policy_parse((char *)ip.p, ip.n, POLICY_FILE, NULL, &ev->pol) == ENF_OK)
		ev->policy_status = POLICY_OK;
	else if (ev->pol) {
		policy_free(ev->pol);
		ev->pol = NULL;
	}
	installed_policy_free(&ip);
	return ENF_OK;
}

int request_read(const char *path, struct request_text *r)
{
	int rc = io_read_file(path, REQUEST_SIZE_MAX, &r->p, &r->n);

	/* Too large is the request's fault, judged by decide(), not an error. */
	r->oversize = rc == ENF_NO;
	if (r->oversize)
		enf_err_clear();
	return rc == ENF_FAIL ? rc : ENF_OK;
}

void request_free(struct request_text *r)
{
	free(r->p);
	memset(r, 0, sizeof *r);
}

static int evaluate_loaded(const struct keystore *ks, const struct request_text *r,
			   struct evaluation *ev)
{
	struct key_facts kf;
	const struct ks_key *k;
	char why[160];
	int rc;

	if (r->oversize) {
		snprintf(why, sizeof why, "request larger than %d bytes", REQUEST_SIZE_MAX);
		rc = ENF_NO;
	} else {
		rc = envelope_parse(&ev->env, (const char *)r->p, r->n, 0, why, sizeof why);
	}
	if (rc == ENF_FAIL)
		return rc;
	ev->have_env = rc == ENF_OK;
	memset(&kf, 0, sizeof kf);
	if (ev->have_env && (k = ks_key_find(ks, ev->env.key))) {
		kf.exists = 1;
		kf.alg = k->alg;
		kf.state = k->state;
		kf.purposes = (const char *const *)k->purposes;
		kf.npurposes = k->npurposes;
	}
	decide(ev->have_env ? &ev->env : NULL, why, ev->pol, ev->policy_status, &kf, &ev->d);
	return ev->d.reason == R_PERMIT ? ENF_OK : ENF_NO;
}

int evaluate_request(const struct keystore *ks, const struct request_text *r,
		     struct evaluation *ev)
{
	int rc;

	memset(ev, 0, sizeof *ev);
	if ((rc = load_policy(ks, ev)) != ENF_OK)
		return rc;
	return evaluate_loaded(ks, r, ev);
}

void evaluation_free(struct evaluation *ev)
{
	if (!ev)
		return;
	if (!ev->policy_borrowed)
		policy_free(ev->pol);
	if (ev->have_env)
		envelope_free(&ev->env);
	memset(ev, 0, sizeof *ev);
}

int policy_check_keystore(const struct policy *p, const struct keystore *ks, const char *fname,
			  FILE *diag)
{
	int n = 0;

	for (size_t i = 0; p && i < p->nrules; i++) {
		const struct pol_rule *r = &p->rules[i];
		const struct ks_key *k = ks_key_find(ks, r->key);
		char msg[160];

		if (!k)
			snprintf(msg, sizeof msg, "is not in the keystore");
		else if (k->state != KS_ACTIVE)
			snprintf(msg, sizeof msg, "is %s, not active", key_state_name(k->state));
		else if (name_index((const char *const *)k->purposes, k->npurposes, r->purpose) < 0)
			snprintf(msg, sizeof msg, "lacks purpose '%s'", r->purpose);
		else
			continue;
		n++;
		if (diag)
			fprintf(diag, "%s:%u: warning: rule '%s': key '%s' %s\n", fname, r->line,
				r->name, r->key, msg);
	}
	return n;
}

int evaluation_policy_load(const struct keystore *ks, struct evaluation *pol)
{
	memset(pol, 0, sizeof *pol);
	return load_policy(ks, pol);
}

int evaluate_request_under(const struct keystore *ks, const struct evaluation *pol,
			   const struct request_text *r, struct evaluation *ev)
{
	memset(ev, 0, sizeof *ev);
	ev->policy_status = pol->policy_status;
	ev->pol = pol->pol;
	ev->policy_borrowed = 1;
	ev->have_policy_digest = pol->have_policy_digest;
	memcpy(ev->policy_digest, pol->policy_digest, sizeof ev->policy_digest);
	return evaluate_loaded(ks, r, ev);
}
