/* The programs' verbs over sealing: what enf-seal's seal, open, transfer
 * and info do, and enf-agent's seal and open for a caller (seal_cmd.c).
 * The format and its cryptography are seal.h's. */
#ifndef ENF_SEAL_CMD_H
#define ENF_SEAL_CMD_H

#include "io.h"
#include "keystore.h"

/* The programs' verbs: resolve the home, unlock the role, run, audit.
 * Paths NULL or "-" mean stdin/stdout. */
struct seal_cmd {
	const char *home;		/* -H or NULL */
	const char *in, *out;
	const char *passfile;		/* operator (seal, open) or officer (transfer) */
	const char *to;			/* transfer: the target's identity file */
	const char *from;		/* open: the expected source's identity file, or NULL */
};
int seal_cmd_seal(const struct seal_cmd *c);
int seal_cmd_open(const struct seal_cmd *c);
int seal_cmd_transfer(const struct seal_cmd *c);
int seal_cmd_info(const struct seal_cmd *c);
/* enf-agent's seal (open = 0) and open (open = 1) for a caller, with the
 * agent's unlocked keystore: in and out are the relayed stream (out is not
 * committed here); source: the --from instance's id, or NULL (open);
 * out_error: why the caller's output could not be opened,
 * or NULL; stream: the caller writes to a stream; observer joins the
 * record's peer field.  Audits like the verbs above. */
int seal_serve(struct keystore *ks, int open, const unsigned char *source, int in,
	       struct atomic_file *out, const char *out_error, int stream, const char *observer);

#endif
