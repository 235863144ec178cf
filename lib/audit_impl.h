/* Inside the audit module: what its parts (audit_rec.c, audit_head.c,
 * audit_gap.c, audit.c, audit_verify.c, audit_read.c) share.  Programs use
 * audit.h. */
#ifndef ENF_AUDIT_IMPL_H
#define ENF_AUDIT_IMPL_H

#include <stdint.h>
#include "audit.h"
#include "buf.h"
#include "key.h"

/* --- audit_rec.c: values, fields and the signing context --- */

/* A text value, escaped (enf-audit(5), Values); "-" for NULL or empty. */
int audit_put_value(struct wbuf *w, const char *s);
/* 64 lowercase hex digits of a 32-byte digest, or "-" for NULL. */
int audit_put_hex(struct wbuf *w, const unsigned char *d);
void audit_utc_time(int64_t when, char out[32]);
/* Sequence number: decimal from 1, no leading zero.  0 or -1. */
int audit_parse_seq(const char *s, size_t n, uint64_t *out);
/* 64 lowercase hex digits.  0 or -1. */
int audit_parse_hash(const char *s, size_t n, unsigned char out[32]);
/* Standard base64 with padding.  0 or -1. */
int audit_check_base64(const char *s, size_t n);
/* Sign / verify ctx || NUL || body with the identity (SSH signature blob). */
int audit_sign_msg(const struct privkey *key, const char *ctx, const void *body, size_t n,
		   struct wbuf *sig);
int audit_verify_msg(const struct pubkey *id, const char *ctx, const void *body, size_t n,
		     const unsigned char *sig, size_t siglen);

/* --- audit_head.c: audit.head (enf-audit(5), HEAD) --- */

/* audit.head: "enf-audit-head-1 TIPSEQ TIPHASH SSEQ SHASH SIG" where the
 * last three are the last signed record, signed by the identity (always
 * present); the tip is the last record, which may be a refusal written
 * without the key after it. */
struct audit_headfile {
	uint64_t tip;
	unsigned char tip_hash[32];
	uint64_t sseq;			/* 0: no signed head */
	unsigned char shash[32];
	char *sig;			/* base64, malloc'd */
};
void audit_headfile_free(struct audit_headfile *h);
/* ENF_OK with *present = 0 when there is no head file; ENF_NO when it is
 * not a regular file or does not parse. */
int audit_headfile_read(const char *path, struct audit_headfile *h, int *present);
int audit_headfile_sig_ok(const struct audit_headfile *h, const struct pubkey *id);
/* The head after record tip: signed with key, else old's signed part kept. */
int audit_headfile_encode(struct wbuf *w, uint64_t tip, const unsigned char tip_hash[32],
			  const struct privkey *key, const struct audit_headfile *old);
int audit_headfile_write(const char *home, const struct wbuf *w);
/* The head a log starts with, before its first record. */
int audit_headfile_genesis(const char *home, const struct privkey *key);

/* --- audit_gap.c: audit.gap (enf-audit(5), GAPS) --- */

#define GAP_MAGIC "enf-audit-gap-1"
#define GAP_SUMMARY_MAX 4096		/* bytes of the file quoted in the record */
/* A pending audit.gap, opened and locked by the appender. */
struct audit_gap {
	int fd;				/* -1: none */
	char *path;
	uint64_t lines, bytes;
	unsigned char sha[32];
	char first[GAP_SUMMARY_MAX + 1];	/* the start of the file, for the record */
	uint64_t seq;			/* the gap record's number, once built */
};
/* The trace of a record that could not be written (best effort). */
void audit_gap_note(const char *home, const struct audit_event *ev, const char *why);
/* Open and lock a pending audit.gap for the record of it (g->fd -1: none). */
int audit_gap_take(const char *home, struct audit_gap *g);
void audit_gap_close(struct audit_gap *g);
/* The detail of the op=gap record numbered seq. */
void audit_gap_detail(const struct audit_gap *g, uint64_t seq, char *out, size_t n);
/* The gap is recorded: move the file to audit.gap.SEQ. */
void audit_gap_done(const char *home, struct audit_gap *g);
/* Lines of a pending audit.gap at path (at least 1 when there is the file),
 * 0 when there is none; ENF_FAIL when it cannot be told. */
int audit_gap_pending(const char *path, uint64_t *pending);

#endif
