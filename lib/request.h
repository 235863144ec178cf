/* Requests as enf-request makes and approves them (enf-request(1)): the
 * canonical body, signed by ssh-keygen with the requester's SSH key, then
 * approvals appended.  What is written always parses as enf-sign parses
 * it.  The format itself is envelope.c's. */
#ifndef ENF_REQUEST_H
#define ENF_REQUEST_H

#include "buf.h"
#include "envelope.h"

/* e's fields as a request: the body, and with ssh_key (not NULL) the
 * requester's signature (namespace enf-request) after it. */
int request_make(const struct envelope *e, const char *ssh_key, struct wbuf *out);
/* The request text[0..n) with one more approval (namespace enf-approve,
 * over the body) by ssh_key.  ENF_NO "malformed request: WHY" when text
 * is not a request. */
int request_approve(const char *text, size_t n, const char *ssh_key, struct wbuf *out);

#endif
