/* Acting as a role: credential, unlock, and an audit record of a failure. */
#include "audit.h"
#include "cred.h"
#include "unlock.h"

int unlock_role(struct keystore *ks, int role, const char *passfile, const char *program,
		const char *op)
{
	struct secret pass;
	struct audit_event ev = { .program = program, .op = op, .outcome = "fail",
				  .identity = role_name(role) };
	int rc;

	/* A home bound to another TPM fails before a passphrase is asked. */
	if ((rc = ks_tpm_unlock(ks)) != ENF_OK) {
		ev.reason = ks_tpm_failure(ks);
		audit_append(ks, &ev);
		return rc;
	}
	rc = cred_read(role, passfile, 0,
		       role == ROLE_OFFICER ? "officer passphrase" : "operator passphrase", &pass);
	if (rc != ENF_OK)
		return rc;
	rc = ks_unlock(ks, role, &pass);
	secret_free(&pass);
	if (rc == ENF_OK)
		return rc;
	if (ks_role_locked(ks, role))
		ev.reason = "locked";
	else if (rc == ENF_NO)
		ev.reason = "keystore-tampered";
	else
		ev.reason = "bad-passphrase";
	audit_append(ks, &ev);
	return rc;
}
