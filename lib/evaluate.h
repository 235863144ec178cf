/* The whole decision for one request against one instance, shared by
 * enf-sign and enf-policy eval so that the dry run is the real thing:
 * load the installed policy, compare it with its recorded digest, parse the
 * request, look the key up, and call decide(). */
#ifndef ENF_EVALUATE_H
#define ENF_EVALUATE_H

#include <stdio.h>
#include "decide.h"
#include "keystore.h"

#define POLICY_FILE "policy"
#define POLICY_SIZE_MAX (1024 * 1024)
#define REQUEST_SIZE_MAX (1024 * 1024)

struct evaluation {
	struct decision d;
	int policy_status;		/* enum policy_status */
	struct policy *pol;		/* NULL unless status is POLICY_OK */
	int have_policy_digest;		/* the installed file could be read */
	unsigned char policy_digest[32];	/* SHA-256 of the installed file */
	int have_env;			/* the request parsed */
	struct envelope env;		/* valid when have_env */
	int policy_borrowed;		/* pol belongs to another evaluation */
};

/* The installed policy, read once: HOME/policy is opened without following
 * a symlink or waiting on a FIFO, checked on the very descriptor it is read
 * from (a private regular file of ours), and hashed; whoever then parses it
 * parses these bytes.  Never a check of the path followed by a second open.
 * ENF_OK; ENF_NO when there is no file or it is larger than
 * POLICY_SIZE_MAX (for a decision, both are drift); ENF_FAIL when it is
 * unsafe or cannot be read (message set). */
struct installed_policy {
	unsigned char *p;		/* NUL-terminated (not counted) */
	size_t n;
	unsigned char digest[32];	/* SHA-256 of p[0..n) */
};
int installed_policy_read(const struct keystore *ks, struct installed_policy *out);
void installed_policy_free(struct installed_policy *ip);

/* A request as read from a file or stdin.  One over REQUEST_SIZE_MAX is
 * not an I/O error but a request to deny as malformed (and audit). */
struct request_text {
	unsigned char *p;
	size_t n;
	int oversize;
};

/* ENF_OK (possibly oversize) or ENF_FAIL (cannot read; message set). */
int request_read(const char *path, struct request_text *r);
void request_free(struct request_text *r);

/* Evaluate the request against the instance ks (open, any role).
 * Returns ENF_OK (permit), ENF_NO (deny: ev->d says why), or ENF_FAIL when
 * the decision cannot be made at all (unsafe policy file, I/O, memory;
 * message recorded).  Free ev with evaluation_free() in every case. */
int evaluate_request(const struct keystore *ks, const struct request_text *r,
		     struct evaluation *ev);
void evaluation_free(struct evaluation *ev);

/* A batch (sign.h) reads the installed policy once: evaluation_policy_load
 * fills only pol's policy part (status, digest, parsed policy) as
 * evaluate_request would; evaluate_request_under then decides a request
 * under exactly those bytes.  Free pol (evaluation_free) after every ev. */
int evaluation_policy_load(const struct keystore *ks, struct evaluation *pol);
int evaluate_request_under(const struct keystore *ks, const struct evaluation *pol,
			   const struct request_text *r, struct evaluation *ev);

/* The checks enf-policy check -H and install add once an instance is
 * known: each rule's key exists, is active and has the rule's purpose.
 * Warnings only ("FILE:LINE: warning: ..." on diag); returns their count. */
int policy_check_keystore(const struct policy *p, const struct keystore *ks, const char *fname,
			  FILE *diag);

#endif
