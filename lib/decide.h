/* The decision: one pure function, no clock, no environment, no I/O.
 * enf-sign and enf-policy eval both call it (through evaluate.h). */
#ifndef ENF_DECIDE_H
#define ENF_DECIDE_H

#include "envelope.h"
#include "policy.h"

/* In the fixed order of the SPEC ("Signing", steps 1-3); the first failing
 * check is the reason.  Codes are stable: they appear in the audit log. */
enum reason {
	R_PERMIT = 0,
	/* 1. structure */
	R_MALFORMED,		/* "malformed-request" */
	/* 2. authenticity */
	R_NO_POLICY,		/* "no-policy": none installed */
	R_POLICY_DRIFT,		/* "policy-drift": file != recorded digest */
	R_UNKNOWN_IDENTITY,	/* "unknown-identity": requester not in policy */
	R_BAD_SIGNATURE,	/* "bad-signature": requester sig invalid */
	R_BAD_APPROVAL,		/* "bad-approval": an approval verifies under no identity */
	/* 3. evaluation */
	R_UNKNOWN_RULE,		/* "unknown-rule" */
	R_REVOKED_RULE,		/* "revoked-rule" */
	R_RULE_KEY,		/* "rule-key-mismatch" */
	R_RULE_IDENTITY,	/* "rule-identity-mismatch" */
	R_RULE_PURPOSE,		/* "rule-purpose-mismatch" */
	R_SCOPE,		/* "scope-not-allowed" */
	R_REVOKED_IDENTITY,	/* "revoked-identity" */
	R_REVOKED_KEY,		/* "revoked-key" */
	R_UNKNOWN_KEY,		/* "unknown-key" */
	R_KEY_NOT_ACTIVE,	/* "key-not-active" */
	R_KEY_PURPOSE,		/* "key-lacks-purpose" */
	R_APPROVALS,		/* "insufficient-approvals" */
	R_RAW_NOT_ALLOWED,	/* "raw-not-allowed" */
	R__COUNT
};
const char *reason_code(int r);

/* What the keystore says of the requested key. */
struct key_facts {
	int exists;
	int alg;			/* enum key_alg */
	int state;			/* enum key_state */
	const char *const *purposes;
	size_t npurposes;
};

enum policy_status { POLICY_OK = 0, POLICY_NONE, POLICY_DRIFT };

struct decision {
	int reason;			/* enum reason */
	char detail[512];		/* for the audit log and eval, never the caller of enf-sign */
	size_t approvals;		/* distinct valid approvals from the rule's group */
	/* The identities whose approvals counted, in the order they appear in
	 * the request, ", "-separated ("" when none); a permit's detail names
	 * them, so that its audit record says who approved.  If they do not
	 * all fit, the list ends in "and N more". */
	char approvers[384];
};

/* env is NULL when step 1 failed (detail then holds the parser's why).
 * Returns d->reason. */
int decide(const struct envelope *env, const char *parse_why, const struct policy *pol,
	   int policy_status, const struct key_facts *key, struct decision *d);

/* Step 2 alone, for those who check a request before it reaches enf-sign
 * (enf-request verify): the same checks decide() makes of the requester's
 * signature and of every approval.  signer has env->napprovals entries and
 * receives the identity behind each approval.  Returns d->reason. */
int decide_authenticity(const struct envelope *env, const struct policy *pol,
			const struct pol_identity **signer, struct decision *d);

#endif
