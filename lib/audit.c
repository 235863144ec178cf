/* Appending to the audit log (enf-audit(5), APPENDING): the serialised,
 * crash-safe append that checks the log's end against the signed head
 * before it chains onto it, and the last record of a log (enf-audit head).
 * Records are in audit_rec.c, the head in audit_head.c, gaps in
 * audit_gap.c, verification in audit_verify.c. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "enf.h"
#include "audit_impl.h"
#include "crypto.h"
#include "io.h"
#include "keyfmt.h"

/* ---------------------------------------------------------------- append */

/* What the end of the log holds: the last good record and what to drop. */
struct tail {
	uint64_t seq;			/* 0: empty log */
	unsigned char hash[32];
	off_t keep;			/* bytes to keep */
	size_t dropped;
	const char *why;		/* why bytes are dropped */
	unsigned char dropped_sha[32];
};

/* Last line of buf[0..n) (n ends right after a '\n'): its start. */
static const char *last_line(const char *buf, size_t n)
{
	const char *nl = n > 1 ? memrchr(buf, '\n', n - 1) : NULL;

	return nl ? nl + 1 : buf;
}

static int tail_record(const char *line, size_t len, struct tail *t)
{
	struct audit_rec r;
	char why[128];

	if (audit_rec_parse(&r, line, len, why, sizeof why) != ENF_OK || !audit_rec_hash_ok(&r))
		return -1;
	t->seq = r.seq;
	memcpy(t->hash, r.hash, 32);
	return 0;
}

static int tail_scan(int fd, off_t size, const char *path, struct tail *t)
{
	size_t want = 3 * AUDIT_LINE_MAX, n, frag = 0;
	off_t start = size > (off_t)want ? size - (off_t)want : 0;
	char *buf;
	const char *line;
	ssize_t got;

	memset(t, 0, sizeof *t);
	t->keep = size;
	if (size == 0)
		return ENF_OK;
	n = (size_t)(size - start);
	if (!(buf = malloc(n)))
		return enf_err(ENF_FAIL, "out of memory");
	got = pread(fd, buf, n, start);
	if (got != (ssize_t)n) {
		free(buf);
		return enf_err(ENF_FAIL, "cannot read %s", path);
	}
	while (frag < n && buf[n - 1 - frag] != '\n')
		frag++;
	if (frag) {
		t->why = "incomplete last line";
		if (frag == n && start > 0)
			goto damaged;
	}
	n -= frag;
	for (int pass = 0; n > 0; pass++) {
		line = last_line(buf, n);
		if (line == buf && start > 0)
			goto damaged;
		if (tail_record(line, (size_t)(buf + n - 1 - line), t) == 0)
			break;
		if (pass == 1)
			goto damaged;
		t->why = "last record did not verify";
		frag += (size_t)(buf + n - line);
		n = (size_t)(line - buf);
	}
	if (frag) {
		t->dropped = frag;
		t->keep = size - (off_t)frag;
		hash_buf(HASH_SHA256, buf + n, frag, t->dropped_sha);
	}
	free(buf);
	return ENF_OK;
damaged:
	free(buf);
	return enf_err(ENF_FAIL, "%s: the end of the log is damaged beyond a torn record; "
		       "run enf-audit verify", path);
}

#define NOT_IN_WINDOW (-1)

/* The records from the signed head's record to the end of [p, end) (whole
 * lines): ENF_OK when they are all there and good, NOT_IN_WINDOW when the
 * head's record is before p (read further back), ENF_FAIL (message set)
 * when they are not. */
static int walk_since_head(struct rbuf *rb, int from_start, const struct audit_headfile *h,
			   const struct pubkey *id, const char *path)
{
	struct audit_rec r;
	unsigned char prev[32];
	uint64_t expect = 0;
	const char *line;
	size_t len;
	char why[128];

	/* The genesis head signs the zero prev of record 1: the walk starts
	 * before the first record (check_since_head reads from the start). */
	if (h->sseq == 0) {
		if (!from_start)
			return NOT_IN_WINDOW;
		memcpy(prev, h->shash, 32);
		expect = 1;
	}
	while (rbuf_line(rb, &line, &len, NULL) == 0) {
		int parsed = audit_rec_parse(&r, line, len, why, sizeof why) == ENF_OK;

		if (!expect) {
			if (!parsed || r.seq < h->sseq)
				continue;
			if (r.seq > h->sseq)
				break;
			if (!audit_rec_hash_ok(&r) || memcmp(r.hash, h->shash, 32) != 0 || !r.has_sig)
				return enf_err(ENF_FAIL, "%s: record %llu differs from the signed "
					       AUDIT_HEAD_FILE, path, (unsigned long long)r.seq);
			memcpy(prev, r.hash, 32);
			expect = r.seq + 1;
			continue;
		}
		if (!parsed || r.seq != expect || memcmp(r.prev, prev, 32) != 0 ||
		    !audit_rec_hash_ok(&r))
			return enf_err(ENF_FAIL, "%s: record %llu does not follow record %llu",
				       path, (unsigned long long)expect, (unsigned long long)(expect - 1));
		/* After the signed head only a refusal, or a signed record whose
		 * head was never written (a crash), can stand: chaining onto
		 * anything else would sign what the instance never wrote. */
		if (r.has_sig ? !audit_rec_sig_ok(&r, id) : !audit_rec_may_be_unsigned(&r))
			return enf_err(ENF_FAIL, "%s: record %llu %s", path, (unsigned long long)r.seq,
				       r.has_sig ? "has a signature that does not verify" :
				       "is not signed and not a refusal");
		if (r.seq == h->tip && memcmp(r.hash, h->tip_hash, 32) != 0)
			return enf_err(ENF_FAIL, "%s: record %llu differs from " AUDIT_HEAD_FILE,
				       path, (unsigned long long)r.seq);
		memcpy(prev, r.hash, 32);
		expect++;
	}
	if (expect)
		return ENF_OK;
	return from_start ? enf_err(ENF_FAIL, "%s: record %llu, the last signed one by "
				    AUDIT_HEAD_FILE ", is missing", path,
				    (unsigned long long)h->sseq) : NOT_IN_WINDOW;
}

/* Read back from the end of the log (keep bytes) until the signed head's
 * record is in the window: usually it is the last record, or a few
 * refusals before it. */
static int check_since_head(int fd, off_t keep, const char *path, const struct audit_headfile *h,
			    const struct pubkey *id)
{
	size_t want = h->sseq ? 3 * AUDIT_LINE_MAX : (size_t)keep;

	for (;;) {
		off_t start = keep > (off_t)want ? keep - (off_t)want : 0;
		size_t n = (size_t)(keep - start);
		char *buf = malloc(n ? n : 1);
		struct rbuf rb;
		const char *skip;
		size_t skipped;
		int rc;

		if (!buf)
			return enf_err(ENF_FAIL, "out of memory");
		if (pread(fd, buf, n, start) != (ssize_t)n) {
			free(buf);
			return enf_err(ENF_FAIL, "cannot read %s", path);
		}
		rbuf_init(&rb, buf, n);
		if (start > 0)		/* skip the partial first line */
			rbuf_line(&rb, &skip, &skipped, NULL);
		rc = walk_since_head(&rb, start == 0, h, id, path);
		free(buf);
		if (rc != NOT_IN_WINDOW)
			return rc;
		want *= 4;
	}
}

/* Refuse to write over evidence: a log shorter than, or different from,
 * what the signed audit.head recorded was cut or altered, and appending
 * would hide it (and sign the result). */
static int tail_vs_head(int fd, const struct tail *t, const struct audit_headfile *h, int present,
			const struct pubkey *id, int signing, const char *path)
{
	if (!present) {
		if (t->seq || t->dropped)
			return enf_err(ENF_FAIL, "%s holds records but " AUDIT_HEAD_FILE " is missing; "
				       "not appending (see enf-audit(5), RECOVERY)", path);
		return signing ? ENF_OK : enf_err(ENF_FAIL, "%s is empty, and a record without the "
						  "instance key cannot start it", path);
	}
	if (t->dropped && !signing)
		return enf_err(ENF_FAIL, "the end of %s needs a repair, which only a writer "
			       "holding the instance key records", path);
	if (t->seq < h->tip)
		return enf_err(ENF_FAIL, "%s ends at record %llu but " AUDIT_HEAD_FILE
			       " records %llu: the log was cut short; not appending", path,
			       (unsigned long long)t->seq, (unsigned long long)h->tip);
	if (!audit_headfile_sig_ok(h, id))
		return enf_err(ENF_FAIL, AUDIT_HEAD_FILE ": its signature does not verify; "
			       "not appending to %s", path);
	return check_since_head(fd, t->keep, path, h, id);
}

static int open_log(const char *path, int *fdp)
{
	int fd;

	if (io_open_private(path, O_RDWR | O_CREAT | O_APPEND, 0600, &fd) != ENF_OK)
		return ENF_FAIL;
	while (flock(fd, LOCK_EX) < 0) {
		if (errno != EINTR) {
			close(fd);
			return enf_err(ENF_FAIL, "cannot lock %s: %s", path, strerror(errno));
		}
	}
	*fdp = fd;
	return ENF_OK;
}

/* The signatures of an append: one per record, over its hash, and the
 * new head's, over the last hash.  The chain is in the hashes, made first;
 * the signatures are independent, and each costs a fifth of an agent
 * request's work, made under the log's lock.  So they are made at once,
 * by up to SIGN_THREADS threads taking them in turn.  Without the key
 * nothing is signed (the head keeps its signed part): no thread then.
 * A thread is started for every SIGNS_PER_THREAD signatures only: a new
 * thread takes about a millisecond to run beside its creator (measured
 * in an agent's handler on a 2-CPU VM), longer than the two signatures of
 * a single record would take in turn. */
#define SIGN_THREADS 4
#define SIGNS_PER_THREAD 4
#define EXTRA_RECORDS 2		/* a repair and a gap, before the events */

struct signing {
	const struct privkey *key;
	struct wbuf *recs;		/* nrec records, each up to its hash */
	unsigned char (*hash)[32];
	size_t nrec;
	struct wbuf *head;		/* the new head, of the last record */
	uint64_t tip;
	const struct audit_headfile *old;
	atomic_size_t next;
	atomic_int failed;
};

/* Job i < nrec: record i's signature and newline; job nrec: the head. */
static void *sign_jobs(void *arg)
{
	struct signing *s = arg;
	size_t i;

	while ((i = atomic_fetch_add(&s->next, 1)) <= s->nrec) {
		int rc = i < s->nrec ?
			audit_rec_encode_signed(&s->recs[i], 0, s->key, s->hash[i]) :
			audit_headfile_encode(s->head, s->tip, s->hash[s->nrec - 1], s->key, s->old);
		if (rc != ENF_OK)
			atomic_store(&s->failed, 1);
	}
	return NULL;
}

static int sign_all(struct signing *s)
{
	pthread_t th[SIGN_THREADS - 1];
	size_t want = 1, nt = 0;	/* threads, this one included */

	if (s->key && s->nrec + 1 >= 2 * SIGNS_PER_THREAD) {
		long cpus = sysconf(_SC_NPROCESSORS_ONLN);
		want = (s->nrec + 1) / SIGNS_PER_THREAD;
		if (want > SIGN_THREADS)
			want = SIGN_THREADS;
		if (cpus >= 1 && (size_t)cpus < want)
			want = (size_t)cpus;
	}
	while (nt + 1 < want && pthread_create(&th[nt], NULL, sign_jobs, s) == 0)
		nt++;
	sign_jobs(s);
	for (size_t i = 0; i < nt; i++)
		pthread_join(th[i], NULL);
	/* A message made on a helper thread stays on it: hence this one. */
	if (atomic_load(&s->failed))
		return nt ? enf_err(ENF_FAIL, "cannot sign the audit records or their head") : ENF_FAIL;
	return ENF_OK;
}

/* The records up to their hashes, each chained to the one before. */
static int build_records(struct signing *s, const struct tail *t, struct audit_gap *g,
			 const char *instance_id, const struct audit_event *evs, size_t n,
			 uint64_t *seqs)
{
	static const unsigned char zero[32];
	int64_t now = (int64_t)time(NULL);
	const unsigned char *prev = t->seq ? t->hash : zero;
	uint64_t seq = t->seq + 1;
	int rc;

	if (t->dropped) {
		char detail[160], hex[65];
		struct audit_event rep = {
			.program = evs[0].program, .op = "repair", .outcome = "ok",
			.reason = "torn-tail", .detail = detail,
		};
		for (int i = 0; i < 32; i++)
			snprintf(hex + 2 * i, 3, "%02x", t->dropped_sha[i]);
		snprintf(detail, sizeof detail, "dropped %zu bytes (%s), sha256 %s",
			 t->dropped, t->why, hex);
		if ((rc = audit_rec_encode_hashed(&s->recs[s->nrec], seq++, now, instance_id, &rep,
						  prev, s->hash[s->nrec])))
			return rc;
		prev = s->hash[s->nrec++];
	}
	if (g->fd >= 0) {
		char detail[AUDIT_VALUE_MAX + 1];
		struct audit_event gr = {
			.program = evs[0].program, .op = "gap", .outcome = "ok",
			.reason = "unrecorded", .detail = detail,
		};
		audit_gap_detail(g, seq, detail, sizeof detail);
		if ((rc = audit_rec_encode_hashed(&s->recs[s->nrec], seq, now, instance_id, &gr,
						  prev, s->hash[s->nrec])))
			return rc;
		prev = s->hash[s->nrec++];
		g->seq = seq++;
	}
	/* Each event chained to the one before: one write, one fsync for all. */
	for (size_t i = 0; i < n; i++) {
		seqs[i] = seq++;
		if ((rc = audit_rec_encode_hashed(&s->recs[s->nrec], seqs[i], now, instance_id,
						  &evs[i], prev, s->hash[s->nrec])))
			return rc;
		prev = s->hash[s->nrec++];
	}
	s->tip = seqs[n - 1];
	return ENF_OK;
}

/* The records of the append and its head, signed, in w and hw. */
static int make_records(struct wbuf *w, struct wbuf *hw, const struct tail *t,
			struct audit_gap *g, const struct audit_headfile *old,
			const char *instance_id, const struct privkey *key,
			const struct audit_event *evs, size_t n, uint64_t *seqs)
{
	struct signing s = { .key = key, .head = hw, .old = old };
	size_t max = n + EXTRA_RECORDS;
	int rc;

	s.recs = calloc(max, sizeof *s.recs);
	s.hash = calloc(max, sizeof *s.hash);
	if (!s.recs || !s.hash)
		rc = enf_err(ENF_FAIL, "out of memory");
	else if ((rc = build_records(&s, t, g, instance_id, evs, n, seqs)) == ENF_OK &&
		 (rc = sign_all(&s)) == ENF_OK) {
		for (size_t i = 0; i < s.nrec; i++)
			wbuf_put(w, s.recs[i].p, s.recs[i].len);
		if (w->failed)
			rc = enf_err(ENF_FAIL, "out of memory");
	}
	for (size_t i = 0; s.recs && i < max; i++)
		wbuf_free(&s.recs[i]);
	free(s.recs);
	free(s.hash);
	return rc;
}

/* What runs once an append's records are durable (audit_append_many). */
struct then {
	void (*fn)(void *);
	void *arg;
};

static void then_run(struct then *t)
{
	if (t->fn)
		t->fn(t->arg);
	t->fn = NULL;
}

/* The records, then the head, each made durable before the next.  In
 * between, with the log still locked, runs what waited for the records:
 * whoever reads the log takes its lock, so none sees the head behind. */
static int write_locked(int fd, const char *path, const char *home, const struct tail *t,
			const struct wbuf *w, const struct wbuf *hw, uint64_t last,
			struct then *then)
{
	if (t->dropped && ftruncate(fd, t->keep) < 0)
		return enf_err(ENF_FAIL, "cannot repair %s: %s", path, strerror(errno));
	if (io_write_all(fd, w->p, w->len) < 0 || fsync(fd) < 0)
		return enf_err(ENF_FAIL, "cannot write %s: %s", path, strerror(errno));
	then_run(then);
	/* The record is in the log: say so, not that it was lost.  The next
	 * append finds it after the old head and catches up. */
	if (audit_headfile_write(home, hw) != ENF_OK)
		enf_warn("audit: record %llu written, but %s; the next append updates it",
			 (unsigned long long)last, enf_errmsg());
	return ENF_OK;
}

static int append_locked(int fd, const char *path, const char *home, const struct pubkey *id,
			 const char *instance_id, const struct privkey *key,
			 const struct audit_event *evs, size_t n, uint64_t *seqs, struct then *then)
{
	struct tail t;
	struct audit_headfile h;
	struct audit_gap g = { .fd = -1 };
	struct wbuf w, hw;
	struct stat st;
	char *hpath = home_path(home, AUDIT_HEAD_FILE);
	int present = 0, rc, written = 0;

	wbuf_init(&w, 0);
	wbuf_init(&hw, 0);
	memset(&h, 0, sizeof h);
	if (!hpath)
		rc = enf_err(ENF_FAIL, "out of memory");
	else if (fstat(fd, &st) < 0)
		rc = enf_err(ENF_FAIL, "cannot stat %s: %s", path, strerror(errno));
	else if ((rc = tail_scan(fd, st.st_size, path, &t)) == ENF_OK &&
		 (rc = audit_headfile_read(hpath, &h, &present)) == ENF_OK &&
		 (rc = tail_vs_head(fd, &t, &h, present, id, key != NULL, path)) == ENF_OK &&
		 (rc = present || !key ? ENF_OK : audit_headfile_genesis(home, key)) == ENF_OK &&
		 (rc = key ? audit_gap_take(home, &g) : ENF_OK) == ENF_OK &&
		 (rc = make_records(&w, &hw, &t, &g, &h, instance_id, key, evs, n, seqs)) == ENF_OK)
		written = (rc = write_locked(fd, path, home, &t, &w, &hw, seqs[n - 1], then)) ==
			ENF_OK;
	if (rc != ENF_OK && rc != ENF_FAIL)
		rc = ENF_FAIL;
	if (written && g.fd >= 0)
		audit_gap_done(home, &g);
	audit_gap_close(&g);
	audit_headfile_free(&h);
	wbuf_free(&w);
	wbuf_free(&hw);
	free(hpath);
	return rc;
}

struct audit_event audit_event_make(const char *program, const char *op, const char *outcome,
				    const char *reason)
{
	struct audit_event ev = { .program = program, .op = op, .outcome = outcome,
				  .reason = reason };

	return ev;
}

struct audit_event audit_event_result(const char *program, const char *op, int rc,
				      const char *ok_reason, const char *fail_reason)
{
	return audit_event_make(program, op, rc == ENF_OK ? "ok" : "fail",
				rc == ENF_OK ? ok_reason : fail_reason);
}

/* What may be appended at all: a record without the key only if it is a
 * refusal, and never a repair of someone else's tail. */
static int event_ok(const struct audit_event *ev, const struct privkey *key)
{
	if (!ev || !ev->program || !ev->op || !ev->outcome)
		return enf_err(ENF_FAIL, "incomplete audit event");
	if (!key && strcmp(ev->outcome, "fail") != 0)
		return enf_err(ENF_FAIL, "only a refusal (outcome fail) may be recorded without "
			       "the instance key");
	return ENF_OK;
}

/* Append n events in one locked write (n = 1 for every program but a
 * batch).  seqs[i] is each record's sequence number, or 0 for all when
 * nothing could be written; the failure is reported and left as a gap.
 * then runs once, when the records are durable or have failed. */
static int append_events(const char *home, const struct pubkey *id, const struct privkey *key,
			 const struct audit_event *evs, size_t n, uint64_t *seqs,
			 struct then then)
{
	char saved[512], instance_id[FINGERPRINT_MAX], *path = NULL;
	int fd = -1, rc = ENF_OK;

	/* The caller's pending error message must survive our own. */
	snprintf(saved, sizeof saved, "%s", enf_errmsg());
	memset(seqs, 0, n * sizeof *seqs);
	for (size_t i = 0; i < n && rc == ENF_OK; i++)
		rc = event_ok(&evs[i], key);
	if (rc != ENF_OK)
		;
	else if (!home || !id)
		rc = enf_err(ENF_FAIL, "no instance");
	else if (crypto_init() != ENF_OK)
		rc = enf_err(ENF_FAIL, "cannot initialise the crypto library");
	else if (!(path = home_path(home, AUDIT_FILE)))
		rc = enf_err(ENF_FAIL, "out of memory");
	else if ((rc = open_log(path, &fd)) == ENF_OK) {
		pubkey_fingerprint(id, instance_id);
		rc = append_locked(fd, path, home, id, instance_id, key, evs, n, seqs, &then);
	}
	if (rc != ENF_OK) {
		char why[256];

		snprintf(why, sizeof why, "%s", enf_errmsg());
		for (size_t i = 0; i < n; i++) {
			const struct audit_event *ev = &evs[i];

			enf_warn("audit: cannot write the record (%s %s %s): %s",
				 ev->program ? ev->program : "?", ev->op ? ev->op : "?",
				 ev->outcome ? ev->outcome : "?", why);
			if (home && ev->program && ev->op && ev->outcome)
				audit_gap_note(home, ev, why);
		}
		memset(seqs, 0, n * sizeof *seqs);
	}
	if (fd >= 0)
		close(fd);	/* releases the lock */
	then_run(&then);
	free(path);
	enf_err(ENF_OK, "%s", saved);
	return rc;
}

uint64_t audit_append_raw(const char *home, const struct pubkey *id,
			  const struct privkey *key, const struct audit_event *ev)
{
	uint64_t seq = 0;

	if (!ev) {
		enf_warn("audit: cannot write the record: incomplete audit event");
		return 0;
	}
	append_events(home, id, key, ev, 1, &seq, (struct then){ NULL, NULL });
	return seq;
}

static const struct privkey *writer_key(const struct keystore *ks)
{
	return ks_unlocked_role(ks) >= 0 ? ks_identity_key(ks) : NULL;
}

uint64_t audit_append(struct keystore *ks, const struct audit_event *ev)
{
	if (!ks) {
		enf_warn("audit: cannot write the record: no instance");
		return 0;
	}
	return audit_append_raw(ks_home(ks), ks_identity_pub(ks), writer_key(ks), ev);
}

int audit_append_many(struct keystore *ks, const struct audit_event *evs, size_t n,
		      uint64_t *seqs, void (*recorded)(void *), void *arg)
{
	struct then then = { recorded, arg };

	if (!ks || n == 0) {
		memset(seqs, 0, n * sizeof *seqs);
		if (n)
			enf_warn("audit: cannot write the records: no instance");
		then_run(&then);
		return n ? ENF_FAIL : ENF_OK;
	}
	return append_events(ks_home(ks), ks_identity_pub(ks), writer_key(ks), evs, n, seqs, then);
}

int audit_head(const char *log, uint64_t *seq, unsigned char hash[32])
{
	struct audit_map m;
	struct tail t;
	int rc = audit_map_open(&m, log);
	const char *line, *end;

	if (rc != ENF_OK)
		return rc;
	end = m.p ? memrchr(m.p, '\n', m.len) : NULL;	/* an empty log is not mapped */
	if (end)
		end++;
	if (!end) {
		audit_map_close(&m);
		return enf_err(ENF_NO, "%s: no complete record", log);
	}
	line = last_line(m.p, (size_t)(end - m.p));
	rc = tail_record(line, (size_t)(end - 1 - line), &t) == 0 ? ENF_OK :
		enf_err(ENF_NO, "%s: the last record is malformed or its hash is wrong", log);
	if (rc == ENF_OK) {
		*seq = t.seq;
		memcpy(hash, t.hash, 32);
	}
	audit_map_close(&m);
	return rc;
}
