/* Keys in a PKCS#11 token (SPEC "Keys in a PKCS#11 token"): the token back
 * end of the signer seam (signer.h), the officer's token verbs of
 * enf-keygen, and the broker through which enf-agent's connection
 * processes reach the one token session the agent holds.
 *
 * Every signature a token returns is verified against the public key the
 * keystore holds before it is used: a token that returns a bad one is
 * ENF_FAIL "token returned an invalid signature".  Every token failure is
 * ENF_FAIL (exit 3).  A session that failed to open or log in, or whose
 * module timed out, stays failed for the life of the process (the agent's:
 * until it is restarted): a wrong PIN is never tried twice. */
#ifndef ENF_TOKEN_H
#define ENF_TOKEN_H

#include "keystore.h"
#include "signer.h"

#define TOKEN_TIMEOUT_DEFAULT 30	/* seconds per module call */

/* Operator: the signer of token key k.  Opens nothing yet: the module is
 * loaded and logged in to at the first signature, in the process that
 * signs (PKCS#11 handles do not survive fork). */
int token_signer_open(const struct keystore *ks, const struct ks_key *k, struct signer **out);

/* Officer verbs; each unlocks the officer (offpass), does its work, and
 * writes its audit record. */
struct token_def_args {
	const char *name, *module, *label, *serial;	/* serial NULL: the token's own */
	unsigned timeout_s;				/* 0: TOKEN_TIMEOUT_DEFAULT */
	const char *pinfile;
};
int token_add(struct keystore *ks, const struct token_def_args *a, const char *offpass);
int token_remove(struct keystore *ks, const char *name, const char *offpass);
/* Public: one line (or one JSON object) per token. */
int token_list(const struct keystore *ks, int json);

struct token_key_args {
	const char *token, *name, *id_hex;		/* id_hex: adopt only */
	int alg;
	char *const *purposes;
	size_t npurposes;
	const char *pinfile;
};
/* new --token (generate inside the token) and adopt --token --id; on
 * success prints the key's OpenSSH line as new does. */
int token_key_new(struct keystore *ks, const struct token_key_args *a, const char *offpass);
int token_key_adopt(struct keystore *ks, const struct token_key_args *a, const char *offpass);
/* Officer, before a state change: when it destroys a token key, the
 * token's objects are destroyed first (C_DestroyObject), logged in with
 * the PIN from pinfile (ENF_USAGE without); if that fails the state stays.
 * ENF_OK at once for every other change. */
int token_before_state(const struct keystore *ks, const char *name, int state,
		       const char *pinfile);

/* The agent's broker: a process started before the agent reads a secret
 * or forks any connection process, when the instance in home (the -H
 * option, NULL for the default) defines a token; it holds one session per
 * token for the agent's lifetime and signs for those processes one request
 * at a time (which also keeps SoftHSMv2 from failing under parallel
 * signers, its issue #757).  After token_broker_start every token signer
 * of this process and its children signs through it (or fails, exit 3,
 * when no token was defined at the start). */
int token_broker_start(const char *home);
void token_broker_stop(void);

#endif
