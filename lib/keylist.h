/* The key list as enf-keygen list prints it (enf-keygen(1) "list"): one
 * line per key, in the keystore's order (by name), as text or as JSON
 * Lines.  Public view: names, algorithms, states, purposes, fingerprints,
 * creation times and back ends. */
#ifndef ENF_KEYLIST_H
#define ENF_KEYLIST_H

#include <stdio.h>
#include "buf.h"
#include "keystore.h"

/* k's line (with its newline) appended to out: "NAME ALG STATE CREATED FP
 * PURPOSES BACKEND" in columns (CREATED as YYYY-MM-DDTHH:MM:SSZ, UTC), or with json one object {"name",
 * "algorithm", "state", "purposes", "fingerprint", "created", "backend"},
 * backend being "keystore" or {"token":NAME,"id":HEX}.  ENF_FAIL when out
 * ran out of memory. */
int keylist_line(const struct ks_key *k, int json, struct wbuf *out);

/* Every key's line to f.  ENF_FAIL "out of memory" when a line could not
 * be built; a write error is f's (the caller flushes and checks). */
int keylist_print(const struct keystore *ks, int json, FILE *f);

#endif
