/* The request envelope (SPEC "Request envelope", man enf-request(5)): one
 * strict canonical parser and writer. */
#ifndef ENF_ENVELOPE_H
#define ENF_ENVELOPE_H

#include "sshsig.h"
#include "crypto.h"
#include "scope.h"

#define ENVELOPE_BODY_MAX 4096
#define NS_REQUEST "enf-request"
#define NS_APPROVE "enf-approve"

enum req_format { FMT_SSHSIG = 0, FMT_RAW };

struct envelope {
	char key[ENF_NAME_MAX + 1];
	char identity[ENF_NAME_MAX + 1];
	char purpose[ENF_NAME_MAX + 1];
	char scope[SCOPE_MAX + 1];
	char rule[ENF_NAME_MAX + 1];
	int format;			/* enum req_format */
	int digest_alg;			/* HASH_SHA256 or HASH_SHA512 */
	unsigned char digest[HASH_MAX];	/* the data's digest */
	char *body;			/* exact body bytes, NUL-terminated */
	size_t bodylen;
	unsigned char body_sha256[32];	/* "request digest" in the audit log */
	int has_signature;		/* 0 only for a bare body */
	struct sshsig requester;	/* namespace enf-request */
	struct sshsig *approvals;	/* namespace enf-approve */
	size_t napprovals;
};

/* Parse a whole request (body, requester signature, approvals) strictly.
 * With allow_unsigned, a bare body is accepted (has_signature = 0).
 * ENF_NO with a short reason in why ("line 3: expected 'identity NAME'")
 * when anything is off; nothing is verified here. */
int envelope_parse(struct envelope *e, const char *text, size_t n, int allow_unsigned,
		   char *why, size_t whylen);
/* Write the canonical body for e's fields into out. */
int envelope_write_body(const struct envelope *e, struct wbuf *out);
void envelope_free(struct envelope *e);
const char *format_name(int fmt);	/* "sshsig", "raw" */

#endif
