/* Trust files for verifiers who have only OpenSSH (SPEC "Trust for
 * verifiers who have only OpenSSH"): allowed_signers lines for the keys
 * that sign, a KRL for the keys whose signatures must no longer count. */
#ifndef ENF_TRUST_H
#define ENF_TRUST_H

#include <stddef.h>
#include "buf.h"
#include "keystore.h"

/* `NAME namespaces="P1,P2" TYPE BASE64` for each named key (all active
 * keys when n is 0), in keystore order.  A named key that is unknown or
 * not active is ENF_NO naming it, and nothing is produced. */
int trust_allowed_signers(const struct keystore *ks, char *const *names, size_t n,
			  struct wbuf *out);

/* An OpenSSH KRL (ssh-keygen -k) of every compromised or destroyed key;
 * *count receives how many.  ENF_FAIL when ssh-keygen cannot make it. */
int trust_krl(const struct keystore *ks, struct wbuf *out, size_t *count);

#endif
