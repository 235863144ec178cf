/* The officer's verbs of enf-keygen (keygen_cmd.h). */
#include <stdlib.h>
#include <string.h>
#include "audit.h"
#include "cred.h"
#include "crypto.h"
#include "enf.h"
#include "io.h"
#include "keyfmt.h"
#include "keygen_cmd.h"
#include "token.h"
#include "tpm.h"
#include "trust.h"
#include "unlock.h"

#define PROG "enf-keygen"

static void record(struct keystore *ks, const char *op, int rc, const char *reason,
		   const char *key)
{
	struct audit_event ev = audit_event_result(PROG, op, rc, reason, reason);

	ev.key = key;
	audit_append(ks, &ev);
}

/* init's options into what ks_init takes; ENF_USAGE for one that does not fit. */
static int init_opts(const struct keygen_init *a, struct ks_init_opts *io, struct kdf_params *kp)
{
	*io = (struct ks_init_opts){ .lockout = a->lockout, .binding = BIND_NONE, .tcti = a->tcti };
	if (a->bind && strcmp(a->bind, "host") == 0)
		io->binding = BIND_HOST;
	else if (a->bind && strcmp(a->bind, "tpm") == 0)
		io->binding = BIND_TPM;
	else if (a->bind && strcmp(a->bind, "none") != 0)
		return enf_err(ENF_USAGE, "--bind takes tpm, host or none");
	if ((a->tpm_pcrs || a->tcti) && io->binding != BIND_TPM)
		return enf_err(ENF_USAGE, "--tpm-pcrs and --tcti go with --bind tpm");
	if (a->tpm_pcrs && tpm_parse_pcrs(a->tpm_pcrs, &io->tpm_pcrs) < 0)
		return enf_err(ENF_USAGE, "--tpm-pcrs takes PCR numbers 0-23 separated by commas");
	if (a->argon2) {
		if (kdf_params_parse(a->argon2, kp) < 0)
			return enf_err(ENF_USAGE, "--argon2 takes T:M:P (1-64 passes, 8192+ KiB, 1-16 lanes)");
		io->kdf = kp;
	}
	return ENF_OK;
}

static const char *bind_reason(int binding)
{
	return binding == BIND_TPM ? "bind-tpm" : binding == BIND_HOST ? "bind-host" : "bind-none";
}

static int init_in(const char *home, const struct keygen_init *a, FILE *out)
{
	struct ks_init_opts io;
	struct kdf_params kp;
	struct secret off = { 0 }, op = { 0 };
	struct keystore *ks = NULL;
	int rc;

	if ((rc = init_opts(a, &io, &kp)) != ENF_OK)
		return rc;
	if ((rc = cred_read(ROLE_OFFICER, a->offpass, 1, "new officer passphrase", &off)) != ENF_OK ||
	    (rc = cred_read_distinct(ROLE_OPERATOR, a->oppass, "new operator passphrase", &off,
				     &op)) != ENF_OK)
		goto out;
	if ((rc = ks_init(home, &io, &off, &op, &ks)) == ENF_OK) {
		record(ks, "init", ENF_OK, bind_reason(io.binding), NULL);
		fprintf(out, "%s\n", ks_instance_id(ks));
	}
out:
	secret_free(&off);
	secret_free(&op);
	ks_close(ks);
	return rc;
}

int keygen_init(const char *home_opt, const struct keygen_init *a, FILE *out)
{
	char *home = NULL;
	int rc;

	if ((rc = home_resolve(home_opt, &home)) == ENF_OK)
		rc = init_in(home, a, out);
	free(home);
	return rc;
}

int keygen_key_new(struct keystore *ks, const char *name, int alg, char *const *purposes,
		   size_t npurposes, const char *purpose_text, const char *offpass, FILE *out)
{
	struct audit_event ev;
	const struct ks_key *k;
	struct wbuf line;
	int rc;

	if ((rc = unlock_role(ks, ROLE_OFFICER, offpass, PROG, "new")) != ENF_OK)
		return rc;
	rc = ks_key_new(ks, name, alg, purposes, npurposes, &k);
	ev = audit_event_result(PROG, "new", rc, "created", "refused");
	ev.key = name;
	ev.purpose = purpose_text;
	ev.detail = alg_name(alg);
	audit_append(ks, &ev);
	if (rc != ENF_OK)
		return rc;
	wbuf_init(&line, 0);
	if (pubkey_to_line(&k->pub, k->name, &line) == ENF_OK)
		fprintf(out, "%s\n", (char *)line.p);
	wbuf_free(&line);
	return ENF_OK;
}

static int split_purposes(char *s, char **out, size_t *n)
{
	char *tok;

	for (*n = 0, tok = strtok(s, ","); tok; tok = strtok(NULL, ",")) {
		if (*n == PURPOSES_MAX)
			return -1;
		out[(*n)++] = tok;
	}
	return 0;
}

int keygen_new(struct keystore *ks, const struct keygen_new *a, FILE *out)
{
	char *purposes[PURPOSES_MAX], *copy;
	size_t n;
	int rc;

	if (!(copy = strdup(a->purposes)))
		return enf_err(ENF_FAIL, "out of memory");
	if (split_purposes(copy, purposes, &n) < 0) {
		free(copy);
		return enf_err(ENF_USAGE, "too many purposes");
	}
	if (a->token || a->id_hex) {
		struct token_key_args ta = { a->token, a->name, a->id_hex, a->alg, purposes, n,
					     a->pinfile };
		rc = a->id_hex ? token_key_adopt(ks, &ta, a->offpass)
			       : token_key_new(ks, &ta, a->offpass);
	} else {
		rc = keygen_key_new(ks, a->name, a->alg, purposes, n, a->purposes, a->offpass, out);
	}
	free(copy);
	return rc;
}

int keygen_pubkey(const struct keystore *ks, const char *name, int pem, struct wbuf *out)
{
	const struct ks_key *k = ks_key_find(ks, name);
	int rc;

	if (!k)
		return enf_err(ENF_NO, "no key named '%s'", name);
	rc = pem ? pubkey_to_pem(&k->pub, out) : pubkey_to_line(&k->pub, k->name, out);
	if (rc == ENF_OK && !pem)
		wbuf_put(out, "\n", 1);
	return rc;
}

int keygen_krl(const struct keystore *ks, const char *output)
{
	struct wbuf out;
	size_t count = 0;
	int rc;

	wbuf_init(&out, 0);
	rc = trust_krl(ks, &out, &count);
	if (rc == ENF_OK)
		rc = io_write_atomic(output, out.p, out.len, 0644);
	wbuf_free(&out);
	if (rc == ENF_OK && strcmp(output, "-") != 0)
		fprintf(stderr, PROG ": %s: %zu revoked key%s\n", output, count,
			count == 1 ? "" : "s");
	return rc;
}

int keygen_state(struct keystore *ks, const char *name, int state, const char *offpass,
		 const char *pinfile)
{
	char reason[32];
	int rc;

	if (!ks_key_find(ks, name))
		return enf_err(ENF_NO, "no key named '%s'", name);
	if ((rc = unlock_role(ks, ROLE_OFFICER, offpass, PROG, "state")) != ENF_OK)
		return rc;
	rc = token_before_state(ks, name, state, pinfile);
	if (rc == ENF_OK)
		rc = ks_key_set_state(ks, name, state);
	snprintf(reason, sizeof reason, "%s%s", rc == ENF_OK ? "to-" : "refused-to-",
		 key_state_name(state));
	record(ks, "state", rc, reason, name);
	return rc;
}

int keygen_passwd(struct keystore *ks, int role, const char *offpass, const char *oppass,
		  const char *newpass)
{
	struct secret cur = { 0 }, next = { 0 };
	char what[64];
	int rc;

	if ((rc = unlock_role(ks, ROLE_OFFICER, offpass, PROG, "passwd")) != ENF_OK)
		return rc;
	if (role == ROLE_OPERATOR &&
	    (rc = cred_read(ROLE_OPERATOR, oppass, 0, "current operator passphrase", &cur)) != ENF_OK)
		return rc;
	snprintf(what, sizeof what, "new %s passphrase", role_name(role));
	if ((rc = cred_read_new(newpass, what, &next)) == ENF_OK)
		rc = ks_passwd(ks, role, &cur, &next);
	record(ks, "passwd", rc, role_name(role), NULL);
	secret_free(&cur);
	secret_free(&next);
	return rc;
}

int keygen_reset_lockout(struct keystore *ks, const char *offpass)
{
	int rc = unlock_role(ks, ROLE_OFFICER, offpass, PROG, "reset-lockout");

	if (rc != ENF_OK)
		return rc;
	rc = ks_reset_lockout(ks);
	record(ks, "reset-lockout", rc, "operator", NULL);
	return rc;
}
