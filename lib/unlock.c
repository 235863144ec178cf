/* Acting as a role: credential, unlock, and an audit record of a failure. */
#include "audit.h"
#include "cred.h"
#include "unlock.h"

int unlock_with(struct keystore *ks, int role, const struct secret *pass, const char *program,
		const char *op)
{
	struct audit_event ev = { .program = program, .op = op, .outcome = "fail",
				  .identity = role_name(role) };
	int rc = ks_unlock(ks, role, pass);

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

int unlock_role(struct keystore *ks, int role, const char *passfile, const char *program,
		const char *op)
{
	struct secret pass;
	int rc;

	rc = cred_read(role, passfile, 0,
		       role == ROLE_OFFICER ? "officer passphrase" : "operator passphrase", &pass);
	if (rc != ENF_OK)
		return rc;
	rc = unlock_with(ks, role, &pass, program, op);
	secret_free(&pass);
	return rc;
}
