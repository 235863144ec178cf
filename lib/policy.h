/* The flat-text policy (SPEC "Policy", man enf-policy(5)). */
#ifndef ENF_POLICY_H
#define ENF_POLICY_H

#include <stdio.h>
#include "enf.h"
#include "key.h"
#include "scope.h"

struct pol_identity {
	char name[ENF_NAME_MAX + 1];
	struct pubkey key;
	char *comment;			/* the key line's comment, or NULL */
	unsigned line;
};

struct pol_group {
	char name[ENF_NAME_MAX + 1];
	size_t *members;		/* indices into policy.identities */
	size_t nmembers;
	unsigned line;
};

struct pol_rule {
	char name[ENF_NAME_MAX + 1];
	char key[ENF_NAME_MAX + 1];
	char identity[ENF_NAME_MAX + 1];
	char purpose[ENF_NAME_MAX + 1];
	char **scopes;			/* literal, or literal ending in '*' */
	size_t nscopes;
	unsigned approvals;		/* 0: none required */
	char group[ENF_NAME_MAX + 1];	/* "" when approvals == 0 */
	unsigned line;
};

struct policy {
	char id[ENF_NAME_MAX + 1];
	unsigned char digest[32];	/* SHA-256 of the file bytes */
	char **purposes; size_t npurposes;
	struct pol_identity *identities; size_t nidentities;
	struct pol_group *groups; size_t ngroups;
	struct pol_rule *rules; size_t nrules;
	char **revoked_identities; size_t nrevoked_identities;
	char **revoked_keys; size_t nrevoked_keys;
	char **revoked_rules; size_t nrevoked_rules;
};

/* Parse and check.  Diagnostics go to diag (NULL: silent) as
 * "FILE:LINE: error: msg" / "FILE:LINE: warning: msg".  Returns ENF_OK
 * (warnings alone), ENF_NO (at least one error; *out is NULL). */
int policy_parse(const char *text, size_t n, const char *fname, FILE *diag,
		 struct policy **out);
void policy_free(struct policy *p);

const struct pol_identity *policy_identity(const struct policy *p, const char *name);
const struct pol_group *policy_group(const struct policy *p, const char *name);
const struct pol_rule *policy_rule(const struct policy *p, const char *name);
int policy_has_purpose(const struct policy *p, const char *purpose);
int policy_revoked_identity(const struct policy *p, const char *name);
int policy_revoked_key(const struct policy *p, const char *name);
int policy_revoked_rule(const struct policy *p, const char *name);
/* scope_match and scope_pattern_valid: scope.h. */

/* Human (one statement a line, canonical) or JSON rendering. */
int policy_show(const struct policy *p, FILE *out, int json);

#endif
