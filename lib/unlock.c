/* Acting as a role: credential, unlock, and an audit record of a failure. */
#include <signal.h>
#include "audit.h"
#include "cred.h"
#include "unlock.h"

int unlock_role(struct keystore *ks, int role, const char *passfile, const char *program,
		const char *op)
{
	struct secret pass;
	struct sigaction ign = { .sa_handler = SIG_IGN }, old;
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
	switch (ks_unlock_result(ks)) {
	case UNLOCK_LOCKED: ev.reason = "locked"; break;
	case UNLOCK_UNCOUNTED: ev.reason = "lockout-unwritable"; break;
	case UNLOCK_WRONG: ev.reason = "bad-passphrase"; break;
	case UNLOCK_TAMPERED: ev.reason = "keystore-tampered"; break;
	default: ev.reason = "unlock-error"; break;
	}
	/* Over a file-size limit the record fails and is reported; it must
	 * not kill the program and turn the exit status into an oracle. */
	sigemptyset(&ign.sa_mask);
	sigaction(SIGXFSZ, &ign, &old);
	audit_append(ks, &ev);
	sigaction(SIGXFSZ, &old, NULL);
	return rc;
}
