/* The signing transaction (SPEC "Signing", "Many requests"): the one
 * sequence every path to a signature goes through — enf-sign in process,
 * enf-sign -d (batch), and enf-agent:
 *
 *   for each request:  evaluate -> sign -> stage the output
 *   once:              append every decision's record (one fsync),
 *                      then the signed audit head
 *   then:              publish each staged output
 *
 * so that no signature is ever published before its record was written
 * (or, when the log cannot be written, attempted: a failed append never
 * changes a decision, draft section 8).  A denial or a failure of one
 * request changes nothing for the others. */
#ifndef ENF_SIGN_H
#define ENF_SIGN_H

#include <stdint.h>
#include "evaluate.h"
#include "keystore.h"

#define SIGN_PROGRAM "enf-sign"
/* Requests in one batch: bounds the memory a batch holds until its commit. */
#define SIGN_BATCH_MAX 16384

/* Where a permitted signature goes.  stage() runs before the record (its
 * failure is recorded as "output-failed"); publish() after it; discard()
 * when the staged output must vanish.  Any of them may be NULL. */
struct sign_output {
	int (*stage)(void *arg, const unsigned char *sig, size_t n);
	int (*publish)(void *arg);
	void (*discard)(void *arg);
	void *arg;
};

/* What became of one request. */
struct sign_outcome {
	int status;		/* ENF_OK published, ENF_NO denied, ENF_FAIL failed */
	uint64_t seq;		/* its audit record; 0 when none could be written */
	char msg[512];		/* ENF_FAIL: what stopped it (for the caller) */
};

struct sign_batch;
struct sign_cache;

/* What a batch reads once: the installed policy (read and checked against
 * its recorded digest once) and the private keys it opened.  The agent
 * keeps one across connections and reloads it (sign_cache_load) whenever
 * the keystore or the policy file changes; keys: open every active key
 * now (else as they are asked for). */
struct sign_cache *sign_cache_new(void);
int sign_cache_load(struct sign_cache *c, const struct keystore *ks, int keys);
void sign_cache_free(struct sign_cache *c);	/* wipes */

/* A batch under the unlocked operator ks.  observer: the audit record's
 * peer field (the agent's caller, "uid=N,pid=N") or NULL.  cache: the
 * agent's, or NULL for one of the batch's own (read at its first request). */
int sign_batch_new(struct keystore *ks, const char *observer, struct sign_cache *cache,
		   struct sign_batch **out);
/* Decide request r (evaluate, and on permit sign and stage into out).
 * Nothing is recorded or published yet.  ENF_FAIL only when the batch
 * itself cannot go on (memory, more than SIGN_BATCH_MAX). */
int sign_batch_add(struct sign_batch *b, const struct request_text *r,
		   const struct sign_output *out);
/* Optional: runs once after the records are written and before the first
 * publish (a batch's outputs are synced together here). */
void sign_batch_before_publish(struct sign_batch *b, int (*fn)(void *), void *arg);
/* Optional: runs once, as soon as the records are durable (or could not
 * be written), before the audit head is written and before any output is
 * published, with the log still locked, so it must not wait on anyone.
 * The outcomes and their records' numbers are final here for outputs that
 * have no publish step: the agent, which holds its signatures, answers
 * here, and its caller does not wait for the head. */
void sign_batch_on_recorded(struct sign_batch *b, void (*fn)(void *), void *arg);
/* Record every decision with one durable write, then publish each
 * permitted output.  Returns the number of requests added. */
size_t sign_batch_commit(struct sign_batch *b);
const struct sign_outcome *sign_batch_outcome(const struct sign_batch *b, size_t i);
void sign_batch_free(struct sign_batch *b);

/* For the agent, whose handlers are processes of their own: mem, 32 bytes
 * of a MAP_SHARED mapping they inherit, carries the last audit head signed
 * or verified from one append to the next (audit_share_head_memo). */
void sign_share_head_memo(void *mem);

/* The line a caller sees for an outcome, on stderr: the denial line
 * ("enf-sign: [NAME: ]denied (audit #SEQ)") or the failure's message.
 * name is NULL for a single request. */
void sign_report(const char *name, const struct sign_outcome *o);
/* The program's exit code for a set of outcomes: 3 if any failed, else 1
 * if any was denied, else 0. */
int sign_exit_code(const struct sign_outcome *const *o, size_t n);

/* The whole of enf-sign in process.  With dir NULL: one request (path,
 * NULL or "-" for stdin) to out (NULL or "-" for stdout).  With dir: each
 * request to DIR/BASENAME.sig.  Prints what sign_report prints; returns
 * the exit code. */
struct sign_job {
	const char *home, *passfile;
	const char *out, *dir;
	char *const *requests;
	size_t nrequests;
};
int sign_local(const struct sign_job *j);

/* DIR/BASENAME.sig for a request path (BASENAME: its file name without a
 * trailing ".req"); malloc'd, NULL when the name is empty. */
char *sign_batch_path(const char *dir, const char *request);

/* Batch outputs: a temp file per signature beside its target, all synced
 * once (syncfs) before the first rename.  Used by sign_local and by the
 * agent's client. */
struct staged_file {
	char *path, *tmp;
	int fd;
};
int staged_open(struct staged_file *f, const char *path);
int staged_write(struct staged_file *f, const unsigned char *p, size_t n);
int staged_rename(struct staged_file *f);
void staged_discard(struct staged_file *f);
int staged_sync_dir(const char *dir);

#endif
