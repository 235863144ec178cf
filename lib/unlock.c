/* Acting as a role: credential, unlock, and an audit record of a failure. */
#include <signal.h>
#include "audit.h"
#include "cred.h"
#include "unlock.h"

/* Over a file-size limit the record fails and is reported; it must not
 * kill the program and turn the exit status into an oracle. */
static void record_failure(struct keystore *ks, struct audit_event *ev)
{
	struct sigaction ign = { .sa_handler = SIG_IGN }, old;

	sigemptyset(&ign.sa_mask);
	sigaction(SIGXFSZ, &ign, &old);
	audit_append(ks, ev);
	sigaction(SIGXFSZ, &old, NULL);
}

static const char *failure_reason(const struct keystore *ks)
{
	if (ks_tpm_failure(ks))
		return ks_tpm_failure(ks);
	switch (ks_unlock_result(ks)) {
	case UNLOCK_LOCKED: return "locked";
	case UNLOCK_UNCOUNTED: return "lockout-unwritable";
	case UNLOCK_WRONG: return "bad-passphrase";
	case UNLOCK_TAMPERED: return "keystore-tampered";
	default: return "unlock-error";
	}
}

int unlock_with(struct keystore *ks, int role, const struct secret *pass, const char *program,
		const char *op)
{
	struct audit_event ev = audit_event_make(program, op, "fail", NULL);
	int rc = ks_unlock(ks, role, pass);

	ev.identity = role_name(role);
	if (rc == ENF_OK)
		return rc;
	ev.reason = failure_reason(ks);
	record_failure(ks, &ev);
	return rc;
}

int unlock_role(struct keystore *ks, int role, const char *passfile, const char *program,
		const char *op)
{
	struct audit_event ev = audit_event_make(program, op, "fail", NULL);
	struct secret pass;
	int rc;

	ev.identity = role_name(role);
	/* A home bound to another TPM fails before a passphrase is asked. */
	if ((rc = ks_tpm_unlock(ks)) != ENF_OK) {
		ev.reason = ks_tpm_failure(ks);
		record_failure(ks, &ev);
		return rc;
	}
	rc = cred_read(role, passfile, 0,
		       role == ROLE_OFFICER ? "officer passphrase" : "operator passphrase", &pass);
	if (rc != ENF_OK)
		return rc;
	rc = unlock_with(ks, role, &pass, program, op);
	secret_free(&pass);
	return rc;
}
