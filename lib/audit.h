/* The audit log (SPEC "Audit", man enf-audit(5)): the one way any program
 * records a decision.  Text, one record a line, hash-chained, signed by the
 * instance identity when the writer holds it unlocked. */
#ifndef ENF_AUDIT_H
#define ENF_AUDIT_H

#include <stdint.h>
#include <stdio.h>
#include "keyfmt.h"
#include "keystore.h"

#define AUDIT_FILE "audit.log"
#define AUDIT_HEAD_FILE "audit.head"
#define AUDIT_GAP_FILE "audit.gap"	/* records that could not be written */

/* Fields a program fills; NULL means "not applicable" ("-" in the log). */
struct audit_event {
	const char *program;		/* "enf-sign" */
	const char *op;			/* "sign", "init", "new", "state", "passwd",
					   "reset-lockout", "unlock", "install",
					   "seal", "open", "transfer" */
	const char *outcome;		/* "permit", "deny", "ok", "fail" */
	const char *reason;		/* reason code (decide.h) or short code */
	const char *key, *identity, *purpose, *scope, *rule;
	const char *policy_id;
	const unsigned char *policy_digest;	/* 32 bytes */
	const unsigned char *request_digest;	/* 32 bytes */
	const char *peer;		/* the other instance's id (transfer) */
	const char *detail;		/* free text for the operator (decision.detail) */
};

/* The one way to build an event: the fields every record has (program, op,
 * outcome, reason); every other field is absent until the caller sets it. */
struct audit_event audit_event_make(const char *program, const char *op, const char *outcome,
				    const char *reason);
/* The event of an operation's result: outcome "ok" with ok_reason when rc is
 * ENF_OK, else "fail" with fail_reason. */
struct audit_event audit_event_result(const char *program, const char *op, int rc,
				      const char *ok_reason, const char *fail_reason);

/* Append one record (flock-serialised, fsynced) before the program returns.
 * ks gives the instance id and, when unlocked, the signing key.  Returns the
 * record's sequence number, or 0 when it could not be written — which it
 * reports on stderr itself and which must never change a decision. */
uint64_t audit_append(struct keystore *ks, const struct audit_event *ev);

/* The same without a keystore: the log in `home` of the instance whose
 * identity is `id`, records signed with `key` (id's private half) when it is
 * not NULL.  Without the key only a refusal (outcome "fail") can be written,
 * and only after a signed record.  Every append checks the log's end against
 * the signed audit.head (enf-audit(5), APPENDING) and refuses to chain onto
 * a log that does not match it.  audit_append is this with ks_home /
 * ks_identity_pub / ks_identity_key. */
uint64_t audit_append_raw(const char *home, const struct pubkey *id,
			  const struct privkey *key, const struct audit_event *ev);

/* Where appends remember the last signed head known good (so that the next
 * append need not verify it again): by default this process's memory; the
 * agent gives 32 bytes of a MAP_SHARED mapping its handlers inherit. */
void audit_share_head_memo(void *mem);

/* --- Records (enf-audit(5)) --- */

enum audit_field {
	AF_SEQ = 0, AF_TIME, AF_INSTANCE, AF_PROGRAM, AF_OP, AF_OUTCOME, AF_REASON,
	AF_KEY, AF_IDENTITY, AF_PURPOSE, AF_SCOPE, AF_RULE, AF_POLICY,
	AF_POLICY_DIGEST, AF_REQUEST_DIGEST, AF_PEER, AF_DETAIL, AF_PREV, AF_HASH,
	AF_SIG, AF_COUNT
};
/* The field's name in the log and in `enf-audit show --json`. */
const char *audit_field_name(int f);

#define AUDIT_MAGIC "enf-audit-1"
#define AUDIT_LINE_MAX 8192		/* bytes of one record, newline included */
#define AUDIT_VALUE_MAX 512		/* raw bytes kept of one free-text value */

/* One parsed record: spans into the line it was parsed from (no copy). */
struct audit_rec {
	const char *line;
	size_t len;			/* without the newline */
	struct { size_t off, len; } v[AF_COUNT];	/* encoded values */
	uint64_t seq;
	size_t hashed;			/* bytes the hash covers: line[0..hashed) */
	unsigned char prev[32], hash[32];
	int has_sig;
};

/* Strict syntax check of one line (no newline): magic, every field in order,
 * canonical escaping, well-formed seq/time/digests/signature.  Does not
 * check the hash.  ENF_NO with a reason in why. */
int audit_rec_parse(struct audit_rec *r, const char *line, size_t len,
		    char *why, size_t whylen);
/* 1 when the record's hash field equals SHA-256 of its hashed bytes. */
int audit_rec_hash_ok(const struct audit_rec *r);
/* 1 when the value is "-" (absent). */
int audit_rec_absent(const struct audit_rec *r, int f);
/* Decoded value of field f (NUL-terminated in out); ENF_NO if absent. */
int audit_rec_value(const struct audit_rec *r, int f, struct wbuf *out);
/* 1 when the record may stand without a signature: a refusal (outcome
 * "fail"), written by a program that verified no credential. */
int audit_rec_may_be_unsigned(const struct audit_rec *r);
/* Verify the record's signature under the instance identity. */
int audit_rec_sig_ok(const struct audit_rec *r, const struct pubkey *id);

/* Encode a complete record line (with its newline) into out. */
int audit_rec_encode(struct wbuf *out, uint64_t seq, int64_t when, const char *instance_id,
		     const struct audit_event *ev, const unsigned char prev[32],
		     const struct privkey *key, unsigned char hash_out[32]);
/* The same in two steps, so that an append can make its records' and
 * its head's signatures at once (audit.c): the line up to and including
 * its hash, then, from start, its signature and newline. */
int audit_rec_encode_hashed(struct wbuf *out, uint64_t seq, int64_t when,
			    const char *instance_id, const struct audit_event *ev,
			    const unsigned char prev[32], unsigned char hash_out[32]);
int audit_rec_encode_signed(struct wbuf *out, size_t start, const struct privkey *key,
			    const unsigned char hash[32]);

/* --- Verification (enf-audit verify) --- */

struct audit_anchor { uint64_t seq; unsigned char hash[32]; };
/* "SEQ:HEX" -> anchor; ENF_NO if malformed. */
int audit_anchor_parse(const char *s, struct audit_anchor *a);

struct audit_verify_opts {
	const char *log;		/* path */
	const char *head;		/* audit.head to check against, or NULL */
	const char *gap;		/* audit.gap that must not exist, or NULL */
	int head_required;		/* a missing head file is a failure */
	const struct pubkey *id;	/* the instance identity */
	const struct audit_anchor *anchors;
	size_t nanchors;
	int all_signatures;
	int allow_unsigned_tail;
	int progress;			/* percentage on stderr */
	unsigned threads;		/* 0: as many as CPUs (max 4) for logs over 4 MiB */
};

struct audit_verify_result {
	uint64_t records;		/* complete records read */
	uint64_t last_signed;		/* seq of the last signed record, 0 if none */
	uint64_t unsigned_tail;		/* records after last_signed */
	uint64_t head_lag;		/* signed records after audit.head's signed one */
	uint64_t gaps;			/* op=gap records: what earlier appends could not write */
	uint64_t gap_pending;		/* lines of a pending audit.gap (a failure) */
	uint64_t bad;			/* first bad record (0: none / whole log) */
	size_t torn;			/* bytes of an incomplete last line ignored */
	char why[256];
};

/* ENF_OK intact, ENF_NO not (why names the first bad record), ENF_FAIL when
 * the log cannot be read. */
int audit_verify(const struct audit_verify_opts *o, struct audit_verify_result *res);

/* The last complete record of a log (hash-checked): seq and hash.
 * ENF_NO if the log is empty or its last record is bad. */
int audit_head(const char *log, uint64_t *seq, unsigned char hash[32]);

/* --- Reading (enf-audit show) --- */

/* A read-only mapping of a log. */
struct audit_map { const char *p; size_t len; int fd; };
int audit_map_open(struct audit_map *m, const char *path);
void audit_map_close(struct audit_map *m);

/* Human line / JSON object (with newline) for a record into out. */
int audit_rec_format_text(const struct audit_rec *r, struct wbuf *out);
int audit_rec_format_json(const struct audit_rec *r, struct wbuf *out);

/* --- The program's verbs (enf-audit(1); audit_cmd.c) --- */

/* Where the log is: `file` (a copy; *home is then the resolved home if
 * there is one, else NULL), or the private home's audit.log, which must
 * exist.  Both malloc'd. */
int audit_log_locate(const char *home_opt, const char *file, char **home, char **log);
/* The file `name` (AUDIT_HEAD_FILE, AUDIT_GAP_FILE) beside a log; malloc'd. */
char *audit_beside(const char *log, const char *name);

struct audit_cmd {
	const char *home;		/* -H, or NULL: $ENF_HOME, else ~/.enf */
	const char *log;		/* a copied log, or NULL: the home's */
	const char *instance;		/* identity file (--instance), or NULL: the keystore's */
	const struct audit_anchor *anchors;
	size_t nanchors;
	int all_signatures, allow_unsigned_tail, progress;
	int json;			/* show: JSON Lines */
};

/* verify: the log against its identity, its head (always for the home's
 * log; for a copy, when one is beside it), the anchors and audit.gap.
 * fp receives the identity's fingerprint.  ENF_NO with "LOG: record N: why"
 * recorded (and res->why), ENF_FAIL when it cannot be checked. */
int audit_cmd_verify(const struct audit_cmd *c, struct audit_verify_result *res,
		     char fp[FINGERPRINT_MAX]);
/* show: the records named by sel (SEQ or FIRST-LAST each; all when nsel is
 * 0) to out, human lines or JSON.  ENF_NO when a line is malformed or a
 * named record is missing (each reported), ENF_USAGE for a bad SEQ. */
int audit_cmd_show(const struct audit_cmd *c, char **sel, size_t nsel, FILE *out);
/* head: the last complete record, hash-checked. */
int audit_cmd_head(const struct audit_cmd *c, uint64_t *seq, unsigned char hash[32]);

/* Group commit: append n records under one lock with one fsync (and one
 * signed head), in order.  seqs[i] receives each record's sequence number,
 * all 0 when the append failed (reported on stderr, as audit_append does).
 * recorded(arg), when not NULL, runs exactly once: as soon as the records
 * are durable, before the head is updated and with the log still locked
 * (every reader takes the lock, so none sees the head behind the log), or
 * once a failed append has been reported.  What waits only for the
 * records (a signature going out) need not wait for the head's write.
 * Returns ENF_OK or ENF_FAIL. */
int audit_append_many(struct keystore *ks, const struct audit_event *evs, size_t n,
		      uint64_t *seqs, void (*recorded)(void *), void *arg);

#endif
