/* The audit log (SPEC "Audit", man enf-audit(5)): the one way any program
 * records a decision.  Text, one record a line, hash-chained, signed by the
 * instance identity when the writer holds it unlocked. */
#ifndef ENF_AUDIT_H
#define ENF_AUDIT_H

#include <stdint.h>
#include "keystore.h"

#define AUDIT_FILE "audit.log"

/* Fields a program fills; NULL means "not applicable" ("-" in the log). */
struct audit_event {
	const char *program;		/* "enf-sign" */
	const char *op;			/* "sign", "init", "new", "state", "passwd",
					   "reset-lockout", "unlock", "install",
					   "seal", "open", "transfer" */
	const char *outcome;		/* "permit", "deny", "ok", "fail" */
	const char *reason;		/* reason code (decide.h) or short code */
	const char *key, *identity, *purpose, *scope, *rule;
	const char *policy_id;
	const unsigned char *policy_digest;	/* 32 bytes */
	const unsigned char *request_digest;	/* 32 bytes */
	const char *peer;		/* the other instance's id (transfer) */
};

/* Append one record (flock-serialised, fsynced) before the program returns.
 * ks gives the instance id and, when unlocked, the signing key.  Returns the
 * record's sequence number, or 0 when it could not be written — which it
 * reports on stderr itself and which must never change a decision. */
uint64_t audit_append(struct keystore *ks, const struct audit_event *ev);

#endif
