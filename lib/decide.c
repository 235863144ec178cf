/* The decision (SPEC "Signing", draft sections 3-7): one pure function.
 *
 * No clock, no environment, no I/O: everything it looks at is an argument,
 * so the same request, policy and key facts always give the same answer.
 * The checks run in one fixed order that never depends on the input; the
 * first that fails is the reason, and nothing after it is consulted. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "enf.h"
#include "keyfmt.h"
#include "decide.h"

static const char *const reason_codes[R__COUNT] = {
	[R_PERMIT] = "permit",
	[R_MALFORMED] = "malformed-request",
	[R_NO_POLICY] = "no-policy",
	[R_POLICY_DRIFT] = "policy-drift",
	[R_UNKNOWN_IDENTITY] = "unknown-identity",
	[R_BAD_SIGNATURE] = "bad-signature",
	[R_BAD_APPROVAL] = "bad-approval",
	[R_UNKNOWN_RULE] = "unknown-rule",
	[R_REVOKED_RULE] = "revoked-rule",
	[R_RULE_KEY] = "rule-key-mismatch",
	[R_RULE_IDENTITY] = "rule-identity-mismatch",
	[R_RULE_PURPOSE] = "rule-purpose-mismatch",
	[R_SCOPE] = "scope-not-allowed",
	[R_REVOKED_IDENTITY] = "revoked-identity",
	[R_REVOKED_KEY] = "revoked-key",
	[R_UNKNOWN_KEY] = "unknown-key",
	[R_KEY_NOT_ACTIVE] = "key-not-active",
	[R_KEY_PURPOSE] = "key-lacks-purpose",
	[R_APPROVALS] = "insufficient-approvals",
	[R_RAW_NOT_ALLOWED] = "raw-not-allowed",
};

const char *reason_code(int r)
{
	return r >= 0 && r < R__COUNT ? reason_codes[r] : "unknown-reason";
}

static int verdict(struct decision *d, int reason, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int verdict(struct decision *d, int reason, const char *fmt, ...)
{
	va_list ap;

	d->reason = reason;
	va_start(ap, fmt);
	vsnprintf(d->detail, sizeof d->detail, fmt, ap);
	va_end(ap);
	return reason;
}

/* Step 2.  signer[i] receives the policy identity whose key made approval i. */
static int authenticate(const struct envelope *env, const struct policy *pol, int status,
			const struct pol_identity **signer, struct decision *d)
{
	const struct pol_identity *req;

	if (status == POLICY_NONE)
		return verdict(d, R_NO_POLICY, "no policy is installed");
	if (status != POLICY_OK)
		return verdict(d, R_POLICY_DRIFT, "the installed policy does not match the "
			       "digest recorded at install; an officer must install a policy");
	if (!pol)
		return verdict(d, R_NO_POLICY, "no policy was given to the decision");
	if (!(req = policy_identity(pol, env->identity)))
		return verdict(d, R_UNKNOWN_IDENTITY, "identity '%s' is not in policy '%s'",
			       env->identity, pol->id);
	if (sshsig_verify(&env->requester, NS_REQUEST, &req->key, env->body,
			  env->bodylen) != ENF_OK)
		return verdict(d, R_BAD_SIGNATURE, "the request signature does not verify "
			       "under identity '%s''s key (namespace %s)", env->identity,
			       NS_REQUEST);
	for (size_t i = 0; i < env->napprovals; i++) {
		const struct sshsig *a = &env->approvals[i];
		char fp[FINGERPRINT_MAX];

		signer[i] = NULL;
		/* Identity keys are unique in a policy (the parser sees to it),
		 * so the signer's key names at most one candidate. */
		for (size_t k = 0; k < pol->nidentities && !signer[i]; k++)
			if (pubkey_equal(&a->key, &pol->identities[k].key))
				signer[i] = &pol->identities[k];
		if (!signer[i]) {
			pubkey_fingerprint(&a->key, fp);
			return verdict(d, R_BAD_APPROVAL, "approval %zu is signed by %s, which "
				       "is no identity of policy '%s'", i + 1, fp, pol->id);
		}
		if (sshsig_verify(a, NS_APPROVE, &signer[i]->key, env->body,
				  env->bodylen) != ENF_OK)
			return verdict(d, R_BAD_APPROVAL, "approval %zu by '%s' does not verify "
				       "over this request (namespace %s)", i + 1, signer[i]->name,
				       NS_APPROVE);
	}
	return R_PERMIT;
}

static int rule_allows_scope(const struct pol_rule *r, const char *scope)
{
	for (size_t i = 0; i < r->nscopes; i++)
		if (scope_match(r->scopes[i], scope))
			return 1;
	return 0;
}

static int in_group(const struct policy *pol, const struct pol_group *g,
		    const struct pol_identity *id)
{
	for (size_t i = 0; i < g->nmembers; i++)
		if (&pol->identities[g->members[i]] == id)
			return 1;
	return 0;
}

/* Add one approver's name to d->approvers; past the room left, count the
 * rest and say "and N more" (room for it is kept). */
static void name_approver(struct decision *d, const char *name, size_t *unnamed)
{
	size_t len = strlen(d->approvers), room = sizeof d->approvers - 24;
	size_t need = (len ? 2 : 0) + strlen(name);

	if (*unnamed || len + need >= room) {
		++*unnamed;
		return;
	}
	snprintf(d->approvers + len, sizeof d->approvers - len, "%s%s", len ? ", " : "", name);
}

/* Distinct members of the rule's group, other than the requester and not
 * revoked, that signed a valid approval (step 2 verified them all); their
 * names go to d->approvers. */
static size_t count_approvals(const struct envelope *env, const struct policy *pol,
			      const struct pol_rule *r, const struct pol_identity **signer,
			      struct decision *d)
{
	const struct pol_group *g = policy_group(pol, r->group);
	size_t n = 0, unnamed = 0;

	if (!g)
		return 0;
	for (size_t i = 0; i < env->napprovals; i++) {
		const struct pol_identity *s = signer[i];
		int seen = 0;

		if (!s || strcmp(s->name, env->identity) == 0 || !in_group(pol, g, s) ||
		    policy_revoked_identity(pol, s->name))
			continue;
		for (size_t j = 0; j < i && !seen; j++)
			seen = signer[j] == s;
		if (!seen) {
			n++;
			name_approver(d, s->name, &unnamed);
		}
	}
	if (unnamed) {
		size_t len = strlen(d->approvers);
		snprintf(d->approvers + len, sizeof d->approvers - len, ", and %zu more", unnamed);
	}
	return n;
}

static int check_rule(const struct envelope *env, const struct policy *pol,
		      const struct pol_rule **out, struct decision *d)
{
	const struct pol_rule *r = policy_rule(pol, env->rule);

	*out = r;
	if (!r)
		return verdict(d, R_UNKNOWN_RULE, "rule '%s' is not in policy '%s'", env->rule,
			       pol->id);
	if (policy_revoked_rule(pol, r->name))
		return verdict(d, R_REVOKED_RULE, "rule '%s' is revoked", r->name);
	if (strcmp(r->key, env->key) != 0)
		return verdict(d, R_RULE_KEY, "rule '%s' grants key '%s', not '%s'", r->name,
			       r->key, env->key);
	if (strcmp(r->identity, env->identity) != 0)
		return verdict(d, R_RULE_IDENTITY, "rule '%s' grants identity '%s', not '%s'",
			       r->name, r->identity, env->identity);
	if (strcmp(r->purpose, env->purpose) != 0)
		return verdict(d, R_RULE_PURPOSE, "rule '%s' grants purpose '%s', not '%s'",
			       r->name, r->purpose, env->purpose);
	if (!rule_allows_scope(r, env->scope))
		return verdict(d, R_SCOPE, "scope '%s' matches no scope of rule '%s'",
			       env->scope, r->name);
	if (policy_revoked_identity(pol, env->identity))
		return verdict(d, R_REVOKED_IDENTITY, "identity '%s' is revoked", env->identity);
	if (policy_revoked_key(pol, env->key))
		return verdict(d, R_REVOKED_KEY, "key '%s' is revoked", env->key);
	return R_PERMIT;
}

static int check_key(const struct envelope *env, const struct key_facts *key,
		     struct decision *d)
{
	if (!key || !key->exists)
		return verdict(d, R_UNKNOWN_KEY, "key '%s' is not in the keystore", env->key);
	if (key->state != KS_ACTIVE)
		return verdict(d, R_KEY_NOT_ACTIVE, "key '%s' is %s, not active", env->key,
			       key_state_name(key->state));
	if (name_index(key->purposes, key->npurposes, env->purpose) < 0)
		return verdict(d, R_KEY_PURPOSE, "key '%s' was not created for purpose '%s'",
			       env->key, env->purpose);
	return R_PERMIT;
}

/* Step 3. */
static int evaluate(const struct envelope *env, const struct policy *pol,
		    const struct key_facts *key, const struct pol_identity **signer,
		    struct decision *d)
{
	const struct pol_rule *r;

	if (check_rule(env, pol, &r, d) != R_PERMIT || check_key(env, key, d) != R_PERMIT)
		return d->reason;
	d->approvals = r->approvals ? count_approvals(env, pol, r, signer, d) : 0;
	if (d->approvals < r->approvals)
		return verdict(d, R_APPROVALS, "rule '%s' needs %u approval%s from group '%s' "
			       "(requester and revoked identities excluded), got %zu%s%s%s", r->name,
			       r->approvals, r->approvals == 1 ? "" : "s", r->group,
			       d->approvals, d->approvals ? " (" : "", d->approvers,
			       d->approvals ? ")" : "");
	if (env->format == FMT_RAW && (key->npurposes != 1 || key->alg == ALG_ED25519))
		return verdict(d, R_RAW_NOT_ALLOWED, "format raw needs a key with exactly one "
			       "purpose that is not Ed25519; key '%s' is %s with %zu purpose%s",
			       env->key, alg_name(key->alg), key->npurposes,
			       key->npurposes == 1 ? "" : "s");
	/* Key, identity, purpose and scope are in the audit record beside it;
	 * who approved is only here. */
	if (d->approvals)
		return verdict(d, R_PERMIT, "rule '%s' permits this request (%zu approval%s: %s)",
			       r->name, d->approvals, d->approvals == 1 ? "" : "s", d->approvers);
	return verdict(d, R_PERMIT, "rule '%s' permits this request (no approval required)",
		       r->name);
}

int decide(const struct envelope *env, const char *parse_why, const struct policy *pol,
	   int policy_status, const struct key_facts *key, struct decision *d)
{
	const struct pol_identity **signer;
	int r;

	memset(d, 0, sizeof *d);
	/* Step 1. */
	if (!env)
		return verdict(d, R_MALFORMED, "%s", parse_why && parse_why[0] ? parse_why :
			       "the request does not parse");
	if (!env->has_signature || !env->body)
		return verdict(d, R_MALFORMED, "the request is not signed");
	if (env->format != FMT_SSHSIG && env->format != FMT_RAW)
		return verdict(d, R_MALFORMED, "the request names no known format");
	signer = calloc(env->napprovals ? env->napprovals : 1, sizeof *signer);
	/* Fail closed: with no memory there is no way to count approvals. */
	if (!signer)
		return verdict(d, R_MALFORMED, "out of memory evaluating the request");
	if ((r = authenticate(env, pol, policy_status, signer, d)) == R_PERMIT)
		r = evaluate(env, pol, key, signer, d);
	free(signer);
	return r;
}

int decide_authenticity(const struct envelope *env, const struct policy *pol,
			const struct pol_identity **signer, struct decision *d)
{
	memset(d, 0, sizeof *d);
	if (!env->has_signature || !env->body)
		return verdict(d, R_MALFORMED, "the request is not signed");
	return authenticate(env, pol, pol ? POLICY_OK : POLICY_NONE, signer, d);
}
