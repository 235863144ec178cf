/* The officer's verbs of enf-keygen (enf-keygen(1)): each checks what it
 * is given, unlocks the officer with offpass (a file, or NULL: the
 * environment, else the terminal), does its work and writes its audit
 * record, so that the program only parses options.  The token verbs are
 * token.h's, the list keylist.h's. */
#ifndef ENF_KEYGEN_CMD_H
#define ENF_KEYGEN_CMD_H

#include <stdio.h>
#include "buf.h"
#include "keystore.h"

/* init's options as given (NULL: not given). */
struct keygen_init {
	unsigned lockout;			/* 0: the keystore's default */
	const char *bind;			/* "tpm", "host", "none" */
	const char *argon2;			/* "T:M:P" */
	const char *tpm_pcrs, *tcti;		/* with --bind tpm only */
	const char *offpass, *oppass;		/* the two new passphrases */
};
/* A new instance in home_opt (-H, or NULL: $ENF_HOME, else ~/.enf); its
 * id on out.  ENF_USAGE for an option that does not fit, before anything
 * is read or written. */
int keygen_init(const char *home_opt, const struct keygen_init *a, FILE *out);

/* new: a key made in the keystore; its OpenSSH line on out.  purposes is
 * the -p text as given (the audit record's purpose field). */
int keygen_key_new(struct keystore *ks, const char *name, int alg, char *const *purposes,
		   size_t npurposes, const char *purpose_text, const char *offpass, FILE *out);
/* new and adopt as given: a key made in the keystore (keygen_key_new), or
 * with token a key made in that token, or with id_hex one adopted from it
 * (token.h).  purposes is the -p text, split at commas. */
struct keygen_new {
	const char *name, *purposes;
	int alg;
	const char *token, *id_hex, *pinfile;	/* NULL: not given */
	const char *offpass;
};
int keygen_new(struct keystore *ks, const struct keygen_new *a, FILE *out);

/* pubkey: key name's OpenSSH line (with its newline), or with pem its
 * SubjectPublicKeyInfo, appended to out.  ENF_NO when there is no such key. */
int keygen_pubkey(const struct keystore *ks, const char *name, int pem, struct wbuf *out);
/* krl: the KRL of every revoked key written to output (NULL or "-":
 * standard output), the count on stderr for a file. */
int keygen_krl(const struct keystore *ks, const char *output);

/* state: key name to state (enum key_state); a destroyed token key's
 * objects go first (token_before_state, with the PIN in pinfile). */
int keygen_state(struct keystore *ks, const char *name, int state, const char *offpass,
		 const char *pinfile);
/* passwd: role's new passphrase from newpass (the operator's change also
 * reads the current one from oppass). */
int keygen_passwd(struct keystore *ks, int role, const char *offpass, const char *oppass,
		  const char *newpass);
/* reset-lockout: the operator's failed-unlock count back to zero. */
int keygen_reset_lockout(struct keystore *ks, const char *offpass);

#endif
