/* Requests as enf-request makes and approves them (enf-request(1)): the
 * canonical body, signed by ssh-keygen with the requester's SSH key, then
 * approvals appended.  What is written always parses as enf-sign parses
 * it.  The format itself is envelope.c's. */
#ifndef ENF_REQUEST_H
#define ENF_REQUEST_H

#include <stdio.h>
#include "buf.h"
#include "envelope.h"
#include "policy.h"

/* e's fields as a request: the body, and with ssh_key (not NULL) the
 * requester's signature (namespace enf-request) after it. */
int request_make(const struct envelope *e, const char *ssh_key, struct wbuf *out);
/* The request text[0..n) with one more approval (namespace enf-approve,
 * over the body) by ssh_key.  ENF_NO "malformed request: WHY" when text
 * is not a request. */
int request_approve(const char *text, size_t n, const char *ssh_key, struct wbuf *out);

/* The request at path (NULL or "-": standard input), up to
 * REQUEST_SIZE_MAX bytes, the limit enf-sign and enf-policy eval apply, so
 * that what show and approve read, enf-sign reads too.  ENF_NO "PATH:
 * request larger than N bytes". */
int request_file_read(const char *path, unsigned char **text, size_t *n);
/* The same, parsed (unsigned_ok: a body without a signature is accepted).
 * ENF_NO "malformed request: WHY".  envelope_free(e) after ENF_OK. */
int request_file_parse(const char *path, int unsigned_ok, struct envelope *e);

/* The fields a request is made of, as enf-request's options give them
 * (NULL: not given). */
struct request_args {
	const char *key, *identity, *purpose, *scope, *rule;	/* all required */
	const char *format;		/* sshsig (default) or raw */
	const char *hash;		/* -a: sha256 or sha512 */
	const char *digest;		/* --digest ALG:HEX instead of the data */
	const char *data;		/* the data file, NULL or "-": stdin */
};
/* e's fields from a, the data's digest from the data or --digest,
 * reconciled with -a as enf-verify does (default sha512).  ENF_USAGE for a
 * missing or malformed field. */
int request_fields(const struct request_args *a, struct envelope *e);

/* The policy whose identities a request's signatures must verify under:
 * policy_file, or the installed policy of the instance in home (-H, NULL:
 * the default), which must still match the digest recorded at install (as
 * enf-sign requires).  where[0..n) says which ("file F", "installed in
 * HOME").  policy_free(*pol) after ENF_OK. */
int request_policy(const char *policy_file, const char *home, struct policy **pol, char *where,
		   size_t n);
/* The request's digest against the data file or the --digest ALG:HEX the
 * checker has (at most one of them; neither: not checked).  note[0..n)
 * says what was found, for request_print_verified.  ENF_NO on a mismatch. */
int request_digest_check(const struct envelope *e, const char *data, const char *digest,
			 char *note, size_t n);

/* What enf-request show prints: the body's fields and each signer as seen
 * (nothing verified). */
void request_print(const struct envelope *e, FILE *out);
/* What enf-request verify prints once decide_authenticity permitted e
 * under pol: the fields, the policy (where), and each signer with the
 * identity signer[i] it verified under. */
void request_print_verified(const struct envelope *e, const struct policy *pol,
			    const struct pol_identity *const *signer, const char *where,
			    const char *note, FILE *out);

#endif
